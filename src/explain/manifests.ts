/**
 * Explanations of a manifest stream (`mesh-webhook explain`): why each Pod or workload would (not) get a sidecar,
 * with namespace labels from the command line, Namespace objects in the input, or the configuration, in that order of
 * precedence. The same explainer as `POST /explain`.
 */
import type { InjectorConfig } from '../config/types.js';
import { createInjector } from '../inject/index.js';
import { asString, isPlainObject } from '../util/json.js';
import { namespaceLabelsIn, readObjects, type ManifestObject } from '../workloads/manifests.js';
import { createExplainer, type Explanation, type LabelSource } from './index.js';

/** The namespace of objects that name none, unless the command line gives one. */
export const DEFAULT_EXPLAIN_NAMESPACE = 'default';

export interface ExplainManifestOptions {
  namespace?: string;
  namespaceLabels?: Record<string, string>;
}

/** The explanation of every Pod and workload of a manifest stream (other kinds are left out), in input order. */
export function explainManifests(input: string | readonly ManifestObject[], config: InjectorConfig, options: ExplainManifestOptions = {}): Explanation[] {
  const objects = typeof input === 'string' ? readObjects(input) : input;
  const fallback = options.namespace ?? DEFAULT_EXPLAIN_NAMESPACE;
  const labels = namespaceLabelsIn(objects);
  const sources = new Map<string, LabelSource>(Object.keys(labels).map((name) => [name, 'input']));
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
