/**
 * Document handling for the Istio conformance cases (test/fixtures/istio/README.md):
 * splitting YAML streams, selecting injectable kinds, expanding `kind: List`, and converting a workload to the Pod
 * the webhook comparison sends (Comparison 2, steps 1-2).
 *
 * Pure functions only: no file system, no network.
 */
import { parse, parseAllDocuments } from 'yaml';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObj = { [key: string]: Json };

export function isObj(v: unknown): v is JsonObj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Kinds whose pod template kube-inject / the webhook comparison handle (plus `List`, expanded recursively). */
export const INJECTABLE_KINDS: ReadonlySet<string> = new Set([
  'Deployment',
  'DeploymentConfig',
  'DaemonSet',
  'StatefulSet',
  'Job',
  'ReplicaSet',
  'ReplicationController',
  'CronJob',
  'Pod',
]);

/** Kinds for which the workload→Pod conversion reads `spec.template` (everything but Pod, CronJob, Deployment). */
const TEMPLATE_KINDS: ReadonlySet<string> = new Set([
  'DeploymentConfig',
  'DaemonSet',
  'StatefulSet',
  'Job',
  'ReplicaSet',
  'ReplicationController',
]);

function parseOne(text: string, where: string): Json {
  try {
    return (parse(text) ?? null) as Json;
  } catch (err) {
    throw new Error(`${where}: YAML parse error: ${(err as Error).message}`);
  }
}

/**
 * Webhook-mode split (README Comparison 2, step 1): split on `"\n---"`, parse each part, drop empty parts.
 * Returns the parsed documents in order (not yet filtered by kind).
 */
export function splitDocsWebhook(text: string, where = 'input'): Json[] {
  const out: Json[] = [];
  text.split('\n---').forEach((part, i) => {
    const doc = parseOne(part, `${where} part ${i}`);
    if (doc !== null) out.push(doc);
  });
  return out;
}

/**
 * CLI-mode parse: the whole stream with a YAML stream reader; empty documents (e.g. after the trailing `---`) dropped.
 */
export function parseYamlStream(text: string, where = 'stream'): Json[] {
  const docs = parseAllDocuments(text);
  // parseAllDocuments returns an EmptyStream (array-like, no errors) for empty input.
  const out: Json[] = [];
  for (const [i, d] of Array.from(docs).entries()) {
    if (d.errors.length > 0) {
      throw new Error(`${where} doc ${i}: YAML parse error: ${d.errors[0]?.message ?? 'unknown'}`);
    }
    const v = (d.toJS() ?? null) as Json;
    if (v !== null) out.push(v);
  }
  return out;
}

/** Expand `kind: List` items recursively and keep only injectable kinds (README Comparison 2, step 1). */
export function injectableDocs(docs: readonly Json[]): JsonObj[] {
  const out: JsonObj[] = [];
  const visit = (d: Json): void => {
    if (!isObj(d)) return;
    if (d.kind === 'List' && Array.isArray(d.items)) {
      for (const item of d.items) visit(item);
      return;
    }
    if (typeof d.kind === 'string' && INJECTABLE_KINDS.has(d.kind)) out.push(d);
  };
  for (const d of docs) visit(d);
  return out;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

function objAt(o: Json | undefined, ...path: string[]): JsonObj | undefined {
  let cur: Json | undefined = o;
  for (const k of path) {
    if (!isObj(cur)) return undefined;
    cur = cur[k];
  }
  return isObj(cur) ? cur : undefined;
}

/**
 * Convert an injectable document to the Pod sent in the AdmissionReview (README Comparison 2, step 2).
 * The same conversion is applied to the input and to the golden document.
 * `apiVersion: v1` / `kind: Pod` are set on workload-derived pods (as the API server sends them); a Pod stays as is.
 */
export function toPod(doc: JsonObj): JsonObj {
  const kind = String(doc.kind ?? '');
  if (kind === 'Pod') return clone(doc);
  const wlMeta = objAt(doc, 'metadata') ?? {};
  const name = typeof wlMeta.name === 'string' ? wlMeta.name : '';
  const apiVersion = typeof doc.apiVersion === 'string' ? doc.apiVersion : '';

  let template: JsonObj | undefined;
  if (kind === 'CronJob') template = objAt(doc, 'spec', 'jobTemplate', 'spec', 'template');
  else if (kind === 'Deployment' || TEMPLATE_KINDS.has(kind)) template = objAt(doc, 'spec', 'template');
  else throw new Error(`toPod: kind ${kind} is not injectable`);

  const metadata: JsonObj = clone(objAt(template, 'metadata') ?? {});
  const spec: JsonObj = clone(objAt(template, 'spec') ?? {});

  if (kind === 'Deployment') {
    metadata.generateName = `${name}-fake-`;
    metadata.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${name}-fake`, controller: true }];
    const labels = isObj(metadata.labels) ? metadata.labels : {};
    labels['pod-template-hash'] = 'fake';
    metadata.labels = labels;
  } else {
    metadata.generateName = name;
    metadata.ownerReferences = [{ apiVersion, kind, name, controller: true }];
  }
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec };
}

/** `request.namespace` for a workload document: its `metadata.namespace`, or `""`. */
export function workloadNamespace(doc: JsonObj): string {
  const ns = objAt(doc, 'metadata')?.namespace;
  return typeof ns === 'string' ? ns : '';
}

/** The injectable documents of a YAML text (webhook split) converted to Pods, each with its request namespace. */
export function webhookPods(text: string, where = 'input'): { pod: JsonObj; namespace: string; source: JsonObj }[] {
  return injectableDocs(splitDocsWebhook(text, where)).map((d) => ({
    pod: toPod(d),
    namespace: workloadNamespace(d),
    source: d,
  }));
}
