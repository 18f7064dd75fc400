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
  /**
   * The control plane's revision (`values.revision`, `default` when empty): what the sidecar is rendered for, and the
   * revision served unless the configuration's `servedRevision` names another ({@link servedSelection}).
   */
  revision?: string;
  /**
   * Istio's `sidecarInjectorWebhook.enableNamespacesByDefault`: Istio's `auto.` webhook (every namespace without
   * injection labels) is registered for the default revision. Absent: true (as the `kyma` profile).
   */
  enableNamespacesByDefault?: boolean;
  /** {@link servedSelection} of this configuration, when the caller compiled it once (the injector does). */
  served?: ServedSelection;
}

/** Istio's webhook names (their prefix before `sidecar-injector.istio.io`). */
export type IstioWebhook = 'rev.namespace' | 'rev.object' | 'namespace' | 'object' | 'auto';

/** Which revision's webhook selectors the injector answers for, and which of Istio's webhooks that revision has. */
export interface ServedSelection {
  /** The revision whose selectors apply (`istio.io/rev=<revision>`). */
  revision: string;
  /** `servedRevision` (the configuration key, `--revision`): a canary; `values.revision`: the control plane's. */
  source: 'servedRevision' | 'values.revision';
  /** The webhooks Istio registers for it, in its chart's order. */
  webhooks: readonly IstioWebhook[];
}

/**
 * The revision served and its webhooks, as Istio's chart (istio-discovery mutatingwebhook.yaml) and `istioctl tag`
 * (revision-tags-mwc.yaml) register them: `rev.namespace` and `rev.object` for every revision; for the default
 * revision (and the revision tag `default`) also `namespace` and `object`, and `auto` with enableNamespacesByDefault.
 * A served revision named by `servedRevision` never gets `auto`: injection on by default is the default revision's
 * install-wide setting and must not make a canary take every unlabelled namespace (istioctl tag set creates a tag's
 * webhooks without it unless asked).
 */
export function servedSelection(config: Pick<InjectorConfig, 'servedRevision'>, valuesRevision: string, enableNamespacesByDefault: boolean | undefined): ServedSelection {
  const pinned = config.servedRevision !== undefined;
  const revision = config.servedRevision ?? (valuesRevision || 'default');
  const webhooks: IstioWebhook[] = ['rev.namespace', 'rev.object'];
  if (revision === 'default') webhooks.push('namespace', 'object');
  if (revision === 'default' && !pinned && enableNamespacesByDefault !== false) webhooks.push('auto');
  return { revision, source: pinned ? 'servedRevision' : 'values.revision', webhooks };
}

/**
 * Which of Istio's webhooks for `revision` selects the pod (manifests/charts/istio-control/istio-discovery/templates/
 * mutatingwebhook.yaml, istio/istio 86c9f01fd735): `rev.namespace` (namespace istio.io/rev=<revision>, no
 * istio-injection), `rev.object` (pod istio.io/rev=<revision> in a namespace with neither label), for the default
 * revision only `namespace` (namespace istio-injection=enabled) and `object` (pod sidecar.istio.io/inject=true, no
 * istio.io/rev, in a namespace with neither label), and with `onByDefault` (the default revision's `auto` webhook,
 * enableNamespacesByDefault: true) `auto`: a namespace with neither label (not one of Istio's ignored namespaces, when
 * the labels carry `kubernetes.io/metadata.name`) and a pod with neither sidecar.istio.io/inject nor istio.io/rev.
 * No webhook selects a pod labelled sidecar.istio.io/inject=false.
 */
export function webhookSelects(
  nsLabels: Readonly<Record<string, string>>,
  podLabels: Readonly<Record<string, string>>,
  revision: string,
  onByDefault = false,
): IstioWebhook | undefined {
  const nsInjection = nsLabels['istio-injection'];
  const nsRevision = nsLabels['istio.io/rev'];
  const podInject = podLabels[L.inject];
  const podRevision = podLabels['istio.io/rev'];
  if (podInject === 'false') return undefined;
  if (nsRevision === revision && nsInjection === undefined) return 'rev.namespace';
  if (nsRevision === undefined && nsInjection === undefined && podRevision === revision) return 'rev.object';
  // The chart renders these only for the default revision (values.revision empty, or the revision tag default).
  if (revision !== 'default') return undefined;
  if (nsInjection === 'enabled') return 'namespace';
  if (nsInjection === undefined && nsRevision === undefined && podInject === 'true' && podRevision === undefined) return 'object';
  const nsName = nsLabels['kubernetes.io/metadata.name'];
  if (
    onByDefault &&
    nsInjection === undefined &&
    nsRevision === undefined &&
    !(nsName !== undefined && ISTIO_IGNORED_NAMESPACES.includes(nsName)) &&
    podInject === undefined &&
    podRevision === undefined
  ) {
    return 'auto';
  }
  return undefined;
}

/** Why none of the served revision's webhooks selects the pod (labels known, the pod not labelled inject=false). */
function notSelectedReason(
  namespace: string,
  nsLabels: Readonly<Record<string, string>>,
  podLabels: Readonly<Record<string, string>>,
  served: ServedSelection,
): string {
  const { revision } = served;
  if (served.source === 'servedRevision' || revision !== 'default') {
    const by = served.source === 'servedRevision' ? ' (servedRevision)' : '';
    return `revision ${revision}${by}: namespace ${namespace} is not labelled istio.io/rev=${revision} without istio-injection, and the pod is not labelled istio.io/rev=${revision} in a namespace with neither label`;
  }
  if (!served.webhooks.includes('auto')) {
    return `opt-in injection: namespace ${namespace} is not labelled istio-injection=enabled (or istio.io/rev=${revision}) and the pod is not labelled ${L.inject}=true`;
  }
  // Injection on by default: what keeps Istio's auto webhook (and the others) from selecting the pod.
  const nsInjection = nsLabels['istio-injection'];
  if (nsInjection !== undefined) return `namespace ${namespace} has label istio-injection=${nsInjection}: Istio's webhooks select only istio-injection=enabled`;
  const podRevision = podLabels['istio.io/rev'];
  if (podRevision !== undefined) return `pod label istio.io/rev=${podRevision} names another revision than ${revision}: that revision's injector owns the pod`;
  return `pod label ${L.inject}=${podLabels[L.inject] ?? ''} is not "true" or "false": Istio's webhooks do not select the pod`;
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
  const nsLabels = input.namespaceLabels ?? (Object.hasOwn(config.namespaceLabels, namespace) ? config.namespaceLabels[namespace] : undefined);
  const served = input.served ?? servedSelection(config, input.revision ?? 'default', input.enableNamespacesByDefault);
  const revision = served.revision;
  const pinned = served.source === 'servedRevision';
  const onByDefault = served.webhooks.includes('auto');
  const labels = pod.metadata?.labels ?? {};
  const annotations = pod.metadata?.annotations ?? {};
  const fromLabel = Object.hasOwn(labels, L.inject);
  const selectorValue = fromLabel ? labels[L.inject] : annotations[A.inject];
  const source = fromLabel ? `label ${L.inject}` : `annotation ${A.inject}`;
  const explicit = selectorValue === 'true' || selectorValue === 'false';
  const nsRevision = nsLabels?.['istio.io/rev'];
  const servedBy = pinned ? `revision ${revision} (servedRevision)` : `revision ${revision}`;

  const rules: Rule[] = [
    {
      // Istio's injector relies on its webhooks' selectors; we check them too when the namespace's labels are known,
      // so a webhook configuration that sends more than it should cannot inject everywhere. Unknown labels (the CLI,
      // no cluster): Istio's decision, as its golden cases expect; but a served revision (a canary beside istiod)
      // injects only what it knows its selectors send.
      rule: 'webhookSelectors',
      check: () =>
        onByDefault
          ? `injection on by default: Istio's webhooks for ${servedBy} (${served.webhooks.join(', ')})`
          : `opt-in injection: Istio's webhooks for ${servedBy} (${served.webhooks.join(', ')}; namespace and pod labels)`,
      change: () =>
        revision === 'default' && !pinned
          ? `kubectl label namespace ${namespace} istio-injection=enabled, or label the pod ${L.inject}: "true"`
          : `kubectl label namespace ${namespace} istio.io/rev=${revision} istio-injection- --overwrite, or label the pod istio.io/rev=${revision} in a namespace with neither label`,
      evaluate: () => {
        if (!nsLabels) {
          if (pinned) {
            return {
              inject: false,
              reason: `namespace labels unknown: revision ${revision} (servedRevision) is injected only where Istio's webhooks for it select the pod, which depends on the labels of namespace ${namespace || '(none)'}`,
            };
          }
          return { pass: onByDefault ? 'enableNamespacesByDefault: true' : "namespace labels unknown: Istio's decision" };
        }
        const mode = onByDefault ? 'enableNamespacesByDefault: true; ' : '';
        if (labels[L.inject] === 'false') return { pass: `${mode}pod label ${L.inject}=false (decided below)` };
        const by = webhookSelects(nsLabels, labels, revision, onByDefault);
        if (by !== undefined) return { pass: `${mode}selected by Istio's ${by}.sidecar-injector.istio.io webhook` };
        // On by default, the namespace rules below decide what they cover, with their own reasons.
        const decidedBelow =
          ISTIO_IGNORED_NAMESPACES.includes(namespace) ||
          nsLabels['istio-injection'] === 'disabled' ||
          (nsRevision !== undefined && nsLabels['istio-injection'] === undefined && nsRevision !== revision);
        if (onByDefault && decidedBelow) return { pass: `${mode}not selected (decided below)` };
        return { inject: false, reason: notSelectedReason(namespace, nsLabels, labels, served) };
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
