/**
 * Whether a pod gets a sidecar: Istio's `injectRequired` in order, plus Kyma's namespace rules.
 * Every decision carries the rule that made it, for logs, audit annotations and `explain`.
 */
import type { InjectorConfig } from '../config/types.js';
import type { Pod } from '../k8s/types.js';
import { A, L } from './annotations.js';
import { quoteValue } from './quote.js';
import { describeSelector, selectorMatches } from './labelSelector.js';

/** Namespaces Istio never injects, whatever the configuration. */
export const ISTIO_IGNORED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease', 'local-path-storage'];

export type DecisionRule =
  | 'webhookSelectors'
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
  /**
   * Istio's `sidecarInjectorWebhook.enableNamespacesByDefault`. When false (opt-in injection) and the namespace's
   * labels are known, the pod must be one Istio's webhook selectors send to the injector ({@link webhookSelects}).
   * Absent: true (every namespace, as the `kyma` profile).
   */
  enableNamespacesByDefault?: boolean;
}

/**
 * Whether one of the webhooks Istio's chart renders with `enableNamespacesByDefault: false`
 * (manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml) selects the pod, and which:
 * `rev.namespace` (namespace istio.io/rev=<revision>, no istio-injection), `rev.object` (pod istio.io/rev=<revision>
 * in a namespace with neither label), and for the default revision only `namespace` (namespace
 * istio-injection=enabled) and `object` (pod sidecar.istio.io/inject=true, no istio.io/rev, in a namespace with
 * neither label). No webhook selects a pod labelled sidecar.istio.io/inject=false.
 */
export function webhookSelects(
  nsLabels: Readonly<Record<string, string>>,
  podLabels: Readonly<Record<string, string>>,
  revision: string,
): string | undefined {
  const nsInjection = nsLabels['istio-injection'];
  const nsRevision = nsLabels['istio.io/rev'];
  const podInject = podLabels[L.inject];
  const podRevision = podLabels['istio.io/rev'];
  if (podInject === 'false') return undefined;
  if (nsRevision === revision && nsInjection === undefined) return 'rev.namespace';
  if (nsRevision === undefined && nsInjection === undefined && podRevision === revision) return 'rev.object';
  // The chart renders these two only for the default revision (values.revision empty).
  if (revision !== 'default') return undefined;
  if (nsInjection === 'enabled') return 'namespace';
  if (nsInjection === undefined && nsRevision === undefined && podInject === 'true' && podRevision === undefined) return 'object';
  return undefined;
}

/** One rule of the decision as `explain` shows it. */
export interface TraceStep {
  rule: DecisionRule;
  /** What the rule checks. */
  check: string;
  /** `decided`: this rule made the decision; `passed`: it did not apply; `not reached`: an earlier rule decided. */
  result: 'decided' | 'passed' | 'not reached';
  /** What was found (for the deciding rule: the reason). */
  detail: string;
  /** What would change the outcome of this rule. */
  change: string;
}

export interface DecisionTrace {
  decision: InjectionDecision;
  steps: TraceStep[];
}

type Verdict = { inject: boolean; reason: string } | { pass: string };

interface Rule {
  rule: DecisionRule;
  /** What the rule checks and what would change its outcome: texts for `explain`, only built when asked for. */
  check(): string;
  change(): string;
  evaluate(): Verdict;
}

/** Every rule of the decision in order, with its outcome: the single source of both the decision and `explain`. */
export function traceInjection(input: DecisionInput, config: InjectorConfig, withSteps = true): DecisionTrace {
  const { pod, namespace } = input;
  const nsLabels = input.namespaceLabels ?? config.namespaceLabels[namespace];
  const revision = input.revision ?? 'default';
  const labels = pod.metadata?.labels ?? {};
  const annotations = pod.metadata?.annotations ?? {};
  const fromLabel = Object.hasOwn(labels, L.inject);
  const selectorValue = fromLabel ? labels[L.inject] : annotations[A.inject];
  const source = fromLabel ? `label ${L.inject}` : `annotation ${A.inject}`;
  const explicit = selectorValue === 'true' || selectorValue === 'false';
  const nsRevision = nsLabels?.['istio.io/rev'];
  const optIn = input.enableNamespacesByDefault === false;

  const rules: Rule[] = [
    {
      // Opt-in injection: Istio's injector relies on its webhooks' selectors; we check them too when the namespace's
      // labels are known, so a selector that sends more than it should cannot inject everywhere. Unknown labels (the
      // CLI, no cluster): Istio's decision, as its golden cases expect.
      rule: 'webhookSelectors',
      check: () => (optIn ? "opt-in injection: Istio's webhook selectors (namespace and pod labels)" : 'injection on by default: every namespace is selected'),
      change: () =>
        `kubectl label namespace ${namespace} istio-injection=enabled, or label the pod ${L.inject}: "true"` +
        (revision !== 'default' ? ` (this injector serves revision ${revision}: istio.io/rev=${revision})` : ''),
      evaluate: () => {
        if (!optIn) return { pass: 'enableNamespacesByDefault: true' };
        if (!nsLabels) return { pass: "namespace labels unknown: Istio's decision" };
        if (labels[L.inject] === 'false') return { pass: `pod label ${L.inject}=false (decided below)` };
        const by = webhookSelects(nsLabels, labels, revision);
        if (by !== undefined) return { pass: `selected by Istio's ${by}.sidecar-injector.istio.io webhook` };
        return {
          inject: false,
          reason: `opt-in injection: namespace ${namespace} is not labelled istio-injection=enabled (or istio.io/rev=${revision}) and the pod is not labelled ${L.inject}=true`,
        };
      },
    },
    {
      rule: 'hostNetwork',
      check: () => 'spec.hostNetwork',
      change: () => 'pods on the host network are never injected; drop spec.hostNetwork to get a sidecar',
      evaluate: () => (pod.spec?.hostNetwork === true ? { inject: false, reason: 'hostNetwork' } : { pass: 'hostNetwork is not set' }),
    },
    {
      rule: 'ignoredNamespace',
      check: () => `namespace in ${ISTIO_IGNORED_NAMESPACES.join(', ')}`,
      change: () => 'these system namespaces are never injected; run the workload in another namespace',
      evaluate: () =>
        ISTIO_IGNORED_NAMESPACES.includes(namespace)
          ? { inject: false, reason: `namespace ${namespace} is never injected` }
          : { pass: `namespace ${namespace || '(none)'} is not a system namespace` },
    },
    {
      rule: 'excludedNamespace',
      check: () => `namespace in excludedNamespaces (${config.excludedNamespaces.join(', ') || 'none'})`,
      change: () => `remove ${namespace} from the configuration's excludedNamespaces`,
      evaluate: () =>
        config.excludedNamespaces.includes(namespace)
          ? { inject: false, reason: `namespace ${namespace} is excluded (excludedNamespaces)` }
          : { pass: 'not excluded' },
    },
    {
      rule: 'namespaceInjectionDisabled',
      check: () => 'namespace label istio-injection=disabled',
      change: () => `kubectl label namespace ${namespace} istio-injection-`,
      evaluate: () =>
        nsLabels?.['istio-injection'] === 'disabled'
          ? { inject: false, reason: `namespace ${namespace} has label istio-injection=disabled` }
          : { pass: nsLabels ? `istio-injection=${nsLabels['istio-injection'] ?? '(unset)'}` : 'namespace labels unknown' },
    },
    {
      rule: 'gardenerKubeSystem',
      check: () => 'namespace label gardener.cloud/purpose=kube-system',
      change: () => "Gardener's kube-system is never injected; run the workload in another namespace",
      evaluate: () =>
        nsLabels?.['gardener.cloud/purpose'] === 'kube-system'
          ? { inject: false, reason: `namespace ${namespace} has label gardener.cloud/purpose=kube-system` }
          : { pass: 'not a Gardener kube-system namespace' },
    },
    {
      // A namespace bound to another Istio revision belongs to that revision's injector (istio-injection wins, as in
      // Istio's webhook selectors).
      rule: 'namespaceRevision',
      check: () => `namespace label istio.io/rev names this injector's revision (${revision})`,
      change: () => `kubectl label namespace ${namespace} istio.io/rev=${revision} --overwrite (or remove the label)`,
      evaluate: () =>
        nsRevision !== undefined && nsLabels?.['istio-injection'] === undefined && nsRevision !== revision
          ? { inject: false, reason: `namespace ${namespace} has label istio.io/rev=${nsRevision}, this injector serves revision ${revision}` }
          : { pass: nsRevision === undefined ? 'no istio.io/rev label' : `istio.io/rev=${nsRevision}` },
    },
    {
      rule: fromLabel ? 'podLabel' : 'podAnnotation',
      check: () => `pod label ${L.inject} (wins), else the annotation`,
      change: () => `set the pod label ${L.inject}: "${selectorValue === 'true' ? 'false' : 'true'}"`,
      evaluate: () =>
        explicit
          ? { inject: selectorValue === 'true', reason: `${source}=${selectorValue}` }
          : { pass: selectorValue ? `${source}=${quoteValue(JSON.stringify(selectorValue))} is not "true" or "false": ignored` : 'not set' },
    },
    {
      rule: 'neverInjectSelector',
      check: () => `neverInjectSelector (${config.neverInjectSelector.length} selector(s))`,
      change: () => `set the pod label ${L.inject}: "true", or change the pod labels or the selector`,
      evaluate: () => {
        const hit = config.neverInjectSelector.find((sel) => selectorMatches(sel, labels));
        return hit ? { inject: false, reason: `pod labels match neverInjectSelector ${describeSelector(hit)}` } : { pass: 'no match' };
      },
    },
    {
      rule: 'alwaysInjectSelector',
      check: () => `alwaysInjectSelector (${config.alwaysInjectSelector.length} selector(s))`,
      change: () => `set the pod label ${L.inject}: "false", or change the pod labels or the selector`,
      evaluate: () => {
        const hit = config.alwaysInjectSelector.find((sel) => selectorMatches(sel, labels));
        return hit ? { inject: true, reason: `pod labels match alwaysInjectSelector ${describeSelector(hit)}` } : { pass: 'no match' };
      },
    },
    {
      rule: 'policy',
      check: () => `policy (${config.policy})`,
      change: () =>
        config.policy === 'enabled'
          ? `set the pod label ${L.inject}: "false" or the namespace label istio-injection=disabled`
          : `set the pod label ${L.inject}: "true", or policy: enabled`,
      evaluate: () => {
        const ignored = selectorValue !== undefined && selectorValue !== '' && !explicit ? ` (ignored ${source}=${quoteValue(JSON.stringify(selectorValue))}: use "true" or "false")` : '';
        return { inject: config.policy === 'enabled', reason: `policy ${config.policy}${ignored}` };
      },
    },
  ];

  if (!withSteps) {
    // The request path: the first rule that decides, no texts for `explain`.
    for (const r of rules) {
      const v = r.evaluate();
      if (!('pass' in v)) return { decision: { inject: v.inject, rule: r.rule, reason: v.reason }, steps: [] };
    }
  }
  const steps: TraceStep[] = [];
  let decision: InjectionDecision | undefined;
  for (const r of rules) {
    if (decision) {
      steps.push({ rule: r.rule, check: r.check(), result: 'not reached', detail: '', change: r.change() });
      continue;
    }
    const v = r.evaluate();
    if ('pass' in v) {
      steps.push({ rule: r.rule, check: r.check(), result: 'passed', detail: v.pass, change: r.change() });
    } else {
      decision = { inject: v.inject, rule: r.rule, reason: v.reason };
      steps.push({ rule: r.rule, check: r.check(), result: 'decided', detail: v.reason, change: r.change() });
    }
  }
  return { decision: decision!, steps };
}

export function decideInjection(input: DecisionInput, config: InjectorConfig): InjectionDecision {
  return traceInjection(input, config, false).decision;
}
