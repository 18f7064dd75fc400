import { parseAllDocuments, stringify, type Document } from 'yaml';
import type { InjectionOutcome, Injector, WorkloadRef } from '../inject/api.js';
import type { JsonObject, Pod } from '../k8s/types.js';
import { isPlainObject } from '../util/json.js';
import { isList, podTemplateShape, type PodTemplateShape } from './kinds.js';
import { describeValue } from '../util/describeValue.js';

export interface KubeInjectResult {
  /** The manifests, every document followed by `---\n` (like istioctl). */
  output: string;
  /** One line per workload left alone (host network, injection disabled, ...), for stderr. */
  warnings: string[];
}

/** A manifest that cannot be injected; the message names the document (1-based), the object and the field. */
export class ManifestError extends Error {
  constructor(
    readonly document: number,
    message: string,
  ) {
    super(message);
    this.name = 'ManifestError';
  }
}

/** Serialise as YAML 1.1-safe output: strings such as `yes`/`on` stay quoted for kubectl's YAML 1.1 reader. */
const OUTPUT_OPTIONS = { version: '1.1', lineWidth: 0 } as const;

/**
 * Offline injection of a multi-document manifest stream, like `istioctl kube-inject`: Pods and the pod templates of
 * Deployments, StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers, Jobs, CronJobs, DeploymentConfigs and
 * the items of `v1 List`s go through the injector; every other document is echoed unchanged.
 */
export function injectManifests(yamlText: string, injector: Injector): KubeInjectResult {
  const warnings: string[] = [];
  let output = '';
  let previousEnd = 0;
  parseAllDocuments(yamlText, { prettyErrors: true }).forEach((doc, i) => {
    const text = yamlText.slice(previousEnd, doc.range[2]);
    previousEnd = doc.range[2];
    const error = doc.errors[0];
    output += injectDocument({ number: i + 1, doc, text, ...(error ? { error: firstLine(error.message) } : {}) }, injector, warnings);
  });
  return { output, warnings };
}

/** One document of a manifest stream, as src/workloads/yamlStream.ts reads it. */
export interface ManifestDocument {
  /** 1-based, as `parseAllDocuments` numbers it. */
  number: number;
  doc: Document.Parsed;
  /** The text from the end of the previous document to the end of this one. */
  text: string;
  /** Its first YAML error, one line. */
  error?: string | undefined;
}

/**
 * One document of a stream injected: its output followed by `---\n` (empty for an empty document); workloads left
 * alone add a line to `warnings`. What {@link injectManifests} does for each document, for a stream read one
 * document at a time (the CLI).
 */
export function injectDocument({ number, doc, text, error }: ManifestDocument, injector: Injector, warnings: string[]): string {
  if (error !== undefined) throw new ManifestError(number, `document ${number}: invalid YAML: ${error}`);
  const obj: unknown = doc.toJS({ maxAliasCount: 100 });
  if (obj === null || obj === undefined) return ''; // empty document (e.g. a leading or trailing `---`)
  const changed = injectObject(obj, { injector, warnings, document: number, where: `document ${number}` });
  return `${changed ? stringify(obj, OUTPUT_OPTIONS) : sourceText(text, doc)}---\n`;
}

interface Context {
  injector: Injector;
  warnings: string[];
  document: number;
  /** "document 2" or "document 2, items[1]": how errors name the object. */
  where: string;
}

/** Injects one object in place; returns whether it changed. */
function injectObject(obj: unknown, ctx: Context): boolean {
  if (!isPlainObject(obj)) {
    throw new ManifestError(ctx.document, `${ctx.where}: expected a Kubernetes object (a map with apiVersion and kind); got ${describeValue(obj)}`);
  }
  const { apiVersion, kind } = obj;
  if (typeof kind !== 'string' || kind === '' || typeof apiVersion !== 'string' || apiVersion === '') {
    throw new ManifestError(ctx.document, `${ctx.where}: not a Kubernetes object: apiVersion and kind must be non-empty strings`);
  }
  if (isList(apiVersion, kind)) return injectListItems(obj, ctx);
  const shape = podTemplateShape(apiVersion, kind);
  return shape ? injectWorkload(obj, apiVersion, kind, shape, ctx) : false;
}

function injectListItems(list: JsonObject, ctx: Context): boolean {
  const { items } = list;
  if (items === undefined || items === null) return false;
  if (!Array.isArray(items)) {
    throw new ManifestError(ctx.document, `${ctx.where} (List): items must be a list; got ${describeValue(items)}`);
  }
  let changed = false;
  items.forEach((item, i) => {
    if (injectObject(item, { ...ctx, where: `${ctx.where}, items[${i}]` })) changed = true;
  });
  return changed;
}

function injectWorkload(obj: JsonObject, apiVersion: string, kind: string, shape: PodTemplateShape, ctx: Context): boolean {
  const meta = isPlainObject(obj.metadata) ? obj.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '';
  const namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : undefined;
  const fail = (message: string): never => {
    throw new ManifestError(ctx.document, `${ctx.where} (${kind} "${qualified(namespace, name)}"): ${message}`);
  };

  const template = shape.template.length === 0 ? obj : mapAt(obj, shape.template, fail);
  const specPath = [...shape.template, 'spec'].join('.');
  const podSpec = template.spec;
  if (!isPlainObject(podSpec)) fail(`${specPath} must be a pod spec (a map with containers); got ${describeValue(podSpec)}`);
  checkContainers(podSpec as JsonObject, specPath, fail);
  const metadataOwner = shape.metadataOwner ? mapAt(obj, shape.metadataOwner, fail) : template;
  const podMeta = metadataOwner.metadata ?? {};
  if (!isPlainObject(podMeta)) fail(`${[...(shape.metadataOwner ?? shape.template), 'metadata'].join('.')} must be a map; got ${describeValue(podMeta)}`);

  const pod = clone<Pod>({ metadata: podMeta, spec: podSpec });
  // istioctl names the object by the template's own name when it has one, else the workload's.
  const podName = typeof pod.metadata?.name === 'string' && pod.metadata.name !== '' ? pod.metadata.name : name;
  const label = `${kind} "${qualified(namespace, podName)}"`;
  if (pod.spec?.hostNetwork === true) {
    ctx.warnings.push(`Skipping injection because ${label} has host networking enabled`);
    return false;
  }

  const isPod = shape.template.length === 0;
  const workload: WorkloadRef | undefined = isPod ? undefined : { apiVersion, kind, name, ...(namespace ? { namespace } : {}) };
  const podNamespace = typeof pod.metadata?.namespace === 'string' && pod.metadata.namespace !== '' ? pod.metadata.namespace : namespace;
  let outcome: InjectionOutcome;
  try {
    outcome = ctx.injector.inject({ pod, ...(podNamespace ? { namespace: podNamespace } : {}), ...(workload ? { workload } : {}) });
  } catch (err) {
    return fail(`injection failed: ${(err as Error).message}`);
  }

  switch (outcome.kind) {
    case 'skipped':
      ctx.warnings.push(`Skipping injection of ${label}: ${outcome.reason}`);
      return false;
    case 'rejected':
      return fail(outcome.message);
    case 'injected':
      setMetadata(metadataOwner, (outcome.pod.metadata ?? {}) as JsonObject);
      template.spec = (outcome.pod.spec ?? {}) as JsonObject;
      // CronJob quirk (istioctl): the pod template keeps its own metadata, written as `{}` when it had none.
      if (shape.metadataOwner && template.metadata === undefined) setMetadata(template, {});
      return true;
  }
}

/** Sets `metadata`, placing a new one first (where people expect it) rather than after `spec`. */
function setMetadata(owner: JsonObject, metadata: JsonObject): void {
  if (Object.hasOwn(owner, 'metadata')) {
    owner.metadata = metadata;
    return;
  }
  const rest = { ...owner };
  for (const key of Object.keys(owner)) delete owner[key];
  Object.assign(owner, { metadata }, rest);
}

/** A pod spec needs at least one named container; init containers, when present, must be named too. */
function checkContainers(spec: JsonObject, specPath: string, fail: (message: string) => never): void {
  const { containers, initContainers } = spec;
  if (!Array.isArray(containers) || containers.length === 0) {
    fail(`${specPath}.containers must be a non-empty list of containers; got ${describeValue(containers)}`);
  }
  checkNamed(containers as unknown[], `${specPath}.containers`, fail);
  if (initContainers === undefined || initContainers === null) return;
  if (!Array.isArray(initContainers)) fail(`${specPath}.initContainers must be a list of containers; got ${describeValue(initContainers)}`);
  checkNamed(initContainers as unknown[], `${specPath}.initContainers`, fail);
}

function checkNamed(list: unknown[], path: string, fail: (message: string) => never): void {
  list.forEach((c, i) => {
    if (!isPlainObject(c)) fail(`${path}[${i}] must be a container (a map); got ${describeValue(c)}`);
    else if (typeof c.name !== 'string' || c.name === '') fail(`${path}[${i}].name must be a non-empty string`);
  });
}

/** The map at `path` under `root`; a missing or non-map step is an error naming that field. */
function mapAt(root: JsonObject, path: readonly string[], fail: (message: string) => never): JsonObject {
  let node = root;
  path.forEach((key, i) => {
    const next = node[key];
    if (!isPlainObject(next)) {
      const field = path.slice(0, i + 1).join('.');
      fail(next === undefined || next === null ? `${field} is missing` : `${field} must be a map; got ${describeValue(next)}`);
    }
    node = next as JsonObject;
  });
  return node;
}

/**
 * A document echoed byte for byte as it came in (like istioctl), minus its directives and `---`/`...` markers:
 * the output gets its own `---` separators.
 */
function sourceText(text: string, doc: Document.Parsed): string {
  let out = text;
  if (doc.directives.docStart) {
    const marker = /^---(?=\s|$)[ \t]*(\r?\n)?/m.exec(out);
    if (marker) out = out.slice(marker.index + marker[0].length);
  }
  if (doc.directives.docEnd) {
    const ends = [...out.matchAll(/^\.\.\.(?=\s|$).*(\r?\n)?/gm)];
    const last = ends[ends.length - 1];
    if (last) out = out.slice(0, last.index) + out.slice(last.index + last[0].length);
  }
  return out.endsWith('\n') ? out : `${out}\n`;
}

function qualified(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

function clone<T>(v: unknown): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

function firstLine(message: string): string {
  return (message.split('\n', 1)[0] ?? message).replace(/:$/, '');
}
