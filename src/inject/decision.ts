/**
 * Whether a pod gets a sidecar: Istio's `injectRequired` in order, plus Kyma's namespace rules.
 * Every decision carries the rule that made it, for logs, audit annotations and `explain`.
 */
import type { InjectorConfig } from '../config/types.js';
import type { Pod } from '../k8s/types.js';
import { A, L } from './annotations.js';
import { describeSelector, selectorMatches } from './labelSelector.js';

/** Namespaces Istio never injects, whatever the configuration. */
export const ISTIO_IGNORED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease', 'local-path-storage'];

export type DecisionRule =
  | 'hostNetwork'
  | 'ignoredNamespace'
  | 'excludedNamespace'
  | 'namespaceInjectionDisabled'
  | 'gardenerKubeSystem'
  | 'namespaceRevision'
  | 'podLabel'
  | 'podAnnotation'
  | 'neverInjectSelector'
  | 'alwaysInjectSelector'
  | 'policy';

export interface InjectionDecision {
  inject: boolean;
  rule: DecisionRule;
  reason: string;
}

export interface DecisionInput {
  pod: Pod;
  /** The pod's effective namespace (metadata.namespace, else request.namespace). */
  namespace: string;
  /** Labels of the pod's namespace when known (cluster cache); else the config's `namespaceLabels` are used. */
  namespaceLabels?: Readonly<Record<string, string>>;
  /** The Istio revision this injector serves (`default` when values.revision is empty). */
  revision?: string;
}

const decided = (inject: boolean, rule: DecisionRule, reason: string): InjectionDecision => ({ inject, rule, reason });

export function decideInjection(input: DecisionInput, config: InjectorConfig): InjectionDecision {
  const { pod, namespace } = input;
  if (pod.spec?.hostNetwork === true) return decided(false, 'hostNetwork', 'hostNetwork');
  if (ISTIO_IGNORED_NAMESPACES.includes(namespace)) {
    return decided(false, 'ignoredNamespace', `namespace ${namespace} is never injected`);
  }
  if (config.excludedNamespaces.includes(namespace)) {
    return decided(false, 'excludedNamespace', `namespace ${namespace} is excluded (excludedNamespaces)`);
  }
  const nsLabels = input.namespaceLabels ?? config.namespaceLabels[namespace];
  if (nsLabels?.['istio-injection'] === 'disabled') {
    return decided(false, 'namespaceInjectionDisabled', `namespace ${namespace} has label istio-injection=disabled`);
  }
  if (nsLabels?.['gardener.cloud/purpose'] === 'kube-system') {
    return decided(false, 'gardenerKubeSystem', `namespace ${namespace} has label gardener.cloud/purpose=kube-system`);
  }
  // A namespace bound to another Istio revision belongs to that revision's injector (istio-injection wins, as in
  // Istio's webhook selectors).
  const nsRevision = nsLabels?.['istio.io/rev'];
  const revision = input.revision ?? 'default';
  if (nsRevision !== undefined && nsLabels?.['istio-injection'] === undefined && nsRevision !== revision) {
    return decided(false, 'namespaceRevision', `namespace ${namespace} has label istio.io/rev=${nsRevision}, this injector serves revision ${revision}`);
  }

  const labels = pod.metadata?.labels ?? {};
  const annotations = pod.metadata?.annotations ?? {};
  const fromLabel = Object.hasOwn(labels, L.inject);
  const selectorValue = fromLabel ? labels[L.inject] : annotations[A.inject];
  const source = fromLabel ? `label ${L.inject}` : `annotation ${A.inject}`;
  const rule: DecisionRule = fromLabel ? 'podLabel' : 'podAnnotation';
  let useDefault = true;
  let inject = false;
  let why = '';
  if (selectorValue === 'true' || selectorValue === 'false') {
    useDefault = false;
    inject = selectorValue === 'true';
    why = `${source}=${selectorValue}`;
  }

  if (useDefault) {
    for (const selector of config.neverInjectSelector) {
      if (selectorMatches(selector, labels)) {
        return decided(false, 'neverInjectSelector', `pod labels match neverInjectSelector ${describeSelector(selector)}`);
      }
    }
    for (const selector of config.alwaysInjectSelector) {
      if (selectorMatches(selector, labels)) {
        return decided(true, 'alwaysInjectSelector', `pod labels match alwaysInjectSelector ${describeSelector(selector)}`);
      }
    }
    const ignored =
      selectorValue !== undefined && selectorValue !== '' ? ` (ignored ${source}=${JSON.stringify(selectorValue)}: use "true" or "false")` : '';
    return config.policy === 'enabled'
      ? decided(true, 'policy', `policy enabled${ignored}`)
      : decided(false, 'policy', `policy disabled${ignored}`);
  }
  return decided(inject, rule, why);
}
