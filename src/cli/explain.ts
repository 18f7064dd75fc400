/**
 * `mesh-webhook explain`: why each Pod or workload of a manifest stream would (not) get a sidecar. The same explainer
 * as `POST /explain` (src/explain/), with namespace labels from the command line, Namespace objects in the input, or
 * the configuration, in that order of precedence.
 */
import { loadConfig } from '../config/load.js';
import type { InjectorConfig } from '../config/types.js';
import { createExplainer, type Explanation, type LabelSource } from '../explain/index.js';
import { formatExplanationsJson, formatExplanationsText } from '../explain/format.js';
import { createInjector } from '../inject/index.js';
import { asString, isPlainObject } from '../util/json.js';
import { apiGroup } from '../workloads/kinds.js';
import type { ExplainArgs } from './args.js';
import { InputError } from './errors.js';
import { readManifestFiles } from './manifestFiles.js';
import { readManifestObjects, readObjects, type ManifestObject } from './validate.js';

export const DEFAULT_EXPLAIN_NAMESPACE = 'default';

type Obj = Record<string, unknown>;

export interface ExplainManifestOptions {
  namespace?: string;
  namespaceLabels?: Record<string, string>;
}

/** The explanation of every Pod and workload of a manifest stream (or the objects read from several) (other kinds are left out), in input order. */
export function explainManifests(input: string | readonly ManifestObject[], config: InjectorConfig, options: ExplainManifestOptions = {}): Explanation[] {
  const objects = typeof input === 'string' ? readObjects(input) : input;
  const fallback = options.namespace ?? DEFAULT_EXPLAIN_NAMESPACE;
  const sources = new Map<string, LabelSource>();
  const labels: Record<string, Record<string, string>> = {};
  for (const { object } of objects) {
    if (object.kind !== 'Namespace' || apiGroup(asString(object.apiVersion)) !== '') continue;
    const meta = isPlainObject(object.metadata) ? object.metadata : {};
    const name = asString(meta.name);
    if (!name) continue;
    const own: Record<string, string> = {};
    if (isPlainObject(meta.labels)) for (const [k, v] of Object.entries(meta.labels)) if (typeof v === 'string') own[k] = v;
    labels[name] = own;
    sources.set(name, 'input');
  }
  if (options.namespaceLabels) {
    for (const { object } of objects) {
      const meta = isPlainObject(object.metadata) ? object.metadata : {};
      const ns = object.kind === 'Namespace' ? '' : asString(meta.namespace) || fallback;
      if (!ns) continue;
      labels[ns] = { ...options.namespaceLabels };
      sources.set(ns, 'command line');
    }
  }
  const effective = Object.keys(labels).length > 0 ? { ...config, namespaceLabels: { ...config.namespaceLabels, ...labels } } : config;
  const explainer = createExplainer(createInjector(effective), { labelSource: (ns) => sources.get(ns) });
  const out: Explanation[] = [];
  for (const { object } of objects) {
    const e = explainer.explain(object, { namespace: fallback });
    if (e) out.push(e);
  }
  return out;
}

/** Runs the command: 0, or an InputError (exit 1) when the input has no Pod or workload. */
export async function runExplain(args: ExplainArgs): Promise<number> {
  const config = loadConfig(args.config);
  const explanations = explainManifests(readManifestObjects(await readManifestFiles(args.filenames)), config, {
    ...(args.namespace !== undefined ? { namespace: args.namespace } : {}),
    ...(args.namespaceLabels !== undefined ? { namespaceLabels: args.namespaceLabels } : {}),
  });
  if (explanations.length === 0) {
    const input = args.filenames.length === 1 && args.filenames[0] !== '-' ? args.filenames[0] : 'the input';
    throw new InputError(`${input} has no Pod or workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, ...) to explain`);
  }
  process.stdout.write(args.output === 'json' ? formatExplanationsJson(explanations) : formatExplanationsText(explanations));
  return 0;
}
