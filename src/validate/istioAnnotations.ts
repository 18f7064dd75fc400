/**
 * Istio's well-known annotations and labels (names and metadata only, no descriptions), for the IST0107 / IST0108 /
 * IST0135 / IST0136 checks.
 *
 * Sources, read from stored copies (facts and names only; both upstream files are Apache-2.0, Copyright Istio Authors):
 * - annotations: github.com/istio/api `annotation/annotations.yaml` @ ce96e937d0cf81510bec0ea173e2954b46322d45
 *   (2026, after istio/api#3735 "weighted waypoint canary", July 2026, and the `istio.io/ignore-policy-attachment`
 *   change for istio/istio#60122). 69 entries, in the YAML's order.
 * - labels: github.com/istio/api `label/labels.yaml` @ a01e54cb33a3c86fe89c4b60b4d87f46877e65f7 (24 entries; late 2025
 *   or later, it already has `topology.istio.io/locality`), plus the 2 labels istio/api#3735 added
 *   (`istio.io/use-waypoint-canary`, `istio.io/use-waypoint-canary-namespace`, taken from that PR and its release note
 *   `releasenotes/notes/weighted-waypoint-canary.yaml`), because no stored labels.yaml with them was found.
 * - rules: github.com/istio/istio `pkg/config/analysis/analyzers/annotations/annotations.go` (K8sAnalyzer; the newest
 *   stored version, the one that imports `maturity`; the index gave no commit for it, the older stored versions are
 *   29bcc3ca14c02eae571c3f8a879ecb5f0e03c45a and 0a617ca985f9d14a1471a674cad42175c37959be) and
 *   `pkg/config/analysis/analyzers/maturity/maturity.go` (AlphaAnalyzer).
 *
 * A `featureStatus` the YAML leaves out is 'Alpha' here: the generated Go enum's zero value is Alpha, and
 * annotations.gen.go shows Alpha for those entries.
 *
 * How istioctl uses the table (K8sAnalyzer, part of `istioctl analyze`'s default set):
 * - It looks only at metadata.annotations of Namespace, Service, Pod and Deployment (the Deployment's own metadata,
 *   not spec.template), with the kind strings "Namespace", "Service", "Pod", "Deployment".
 * - Keys outside an Istio domain are skipped (see isIstioDomain: the part before the first `/` ends with "istio.io",
 *   plus the single key `kubernetes.io/ingress.class`). So `kubectl.kubernetes.io/last-applied-configuration` and
 *   other non-Istio keys never produce findings.
 * - Keys in ALWAYS_IGNORED_ANNOTATIONS (`sidecar.istio.io/status`, `gateway.istio.io/controller-version`,
 *   `istio.io/rev`) are skipped completely (newest version; older versions did not skip them).
 * - Hidden entries are NOT skipped: AllResourceAnnotations() returns every entry, hidden and deprecated included.
 * - Per remaining key, in this order:
 *   1. not in the table -> IST0108 UnknownAnnotation; next key.
 *   2. deprecated -> IST0135 DeprecatedAnnotation (message "Annotation %q has been deprecated%s and may not work in
 *      future Istio versions.", %s = DEPRECATION_EXTRA_MESSAGES[key] or ""), except when the key is
 *      `sidecar.istio.io/inject` and the object also has a label `sidecar.istio.io/inject` (any value). No `continue`:
 *      a deprecated key goes on to steps 3-5 as well.
 *   3. resources contains 'Any' -> done with this key (no IST0107, no value validation).
 *   4. kind not in resources -> IST0107 MisplacedAnnotation, naming the allowed kinds joined with ", "; next key.
 *      (No entry lists Deployment, so every non-Any Istio annotation on a Deployment's own metadata is IST0107.)
 *   5. a value validator exists (inject.AnnotationValidation) and rejects the value -> IST0125 InvalidAnnotation.
 * - IST0136 AlphaAnnotation comes from maturity.AlphaAnalyzer, which is NOT in the default `istioctl analyze` set (its
 *   comment says it is too noisy); it runs in `istioctl x precheck`. Same four kinds, same domain rule; for each key in
 *   the table with featureStatus Alpha: skip ALWAYS_IGNORED_ANNOTATIONS; on a Pod with no init container named
 *   `istio-init` (that is, CNI) also skip CNI_DEFAULT_ANNOTATIONS; otherwise report IST0136. Deprecation, kind and
 *   hidden play no part there.
 * - No istioctl analyzer checks labels against labels.yaml; the only label it reads here is `sidecar.istio.io/inject`
 *   (the IST0135 exception above). `istio-injection` is not in labels.yaml.
 */

export type ResourceKind =
  | 'Any'
  | 'AuthorizationPolicy'
  | 'BackendTLSPolicy'
  | 'BackendTrafficPolicy'
  | 'Deployment'
  | 'Gateway'
  | 'GatewayClass'
  | 'HorizontalPodAutoscaler'
  | 'Ingress'
  | 'MutatingWebhookConfiguration'
  | 'Namespace'
  | 'Node'
  | 'Pod'
  | 'PodDisruptionBudget'
  | 'Service'
  | 'ServiceAccount'
  | 'ServiceEntry'
  | 'WorkloadEntry';

export type FeatureStatus = 'Alpha' | 'Beta' | 'Stable';

/** The kinds whose metadata istioctl's annotation analyzers read, as the kind strings they compare with. */
export type AnalyzedKind = 'Namespace' | 'Service' | 'Pod' | 'Deployment';
export const ANALYZED_KINDS: readonly AnalyzedKind[] = ['Namespace', 'Service', 'Pod', 'Deployment'];

export interface KnownAnnotation {
  name: string;
  resources: readonly ResourceKind[];
  deprecated: boolean;
  featureStatus: FeatureStatus;
  hidden: boolean;
}

export interface KnownLabel {
  name: string;
  resources: readonly ResourceKind[];
  deprecated: boolean;
  featureStatus: FeatureStatus;
  hidden: boolean;
}

interface Flags {
  deprecated?: boolean;
  hidden?: boolean;
}

function entry(name: string, featureStatus: FeatureStatus, resources: readonly ResourceKind[], flags: Flags = {}): KnownAnnotation {
  return { name, featureStatus, resources, deprecated: flags.deprecated ?? false, hidden: flags.hidden ?? false };
}

function byName<T extends { name: string }>(entries: readonly T[]): ReadonlyMap<string, T> {
  return new Map(entries.map((e) => [e.name, e]));
}

const D = { deprecated: true } as const;
const H = { hidden: true } as const;
const DH = { deprecated: true, hidden: true } as const;

/** istio/api annotation/annotations.yaml @ ce96e937, in file order. */
const ANNOTATIONS: readonly KnownAnnotation[] = [
  entry('prometheus.istio.io/merge-metrics', 'Alpha', ['Pod']),
  entry('alpha.istio.io/kubernetes-serviceaccounts', 'Alpha', ['Service'], DH),
  entry('alpha.istio.io/canonical-serviceaccounts', 'Alpha', ['Service'], DH),
  entry('networking.istio.io/exportTo', 'Alpha', ['Service']),
  entry('sidecar.istio.io/inject', 'Beta', ['Pod'], D),
  entry('sidecar.istio.io/status', 'Alpha', ['Pod']),
  entry('sidecar.istio.io/rewriteAppHTTPProbers', 'Alpha', ['Pod']),
  entry('sidecar.istio.io/discoveryAddress', 'Alpha', ['Pod'], D),
  entry('sidecar.istio.io/proxyImage', 'Alpha', ['Pod']),
  entry('sidecar.istio.io/proxyImageType', 'Alpha', ['Pod']),
  entry('sidecar.istio.io/proxyCPU', 'Alpha', ['Pod']),
  entry('sidecar.istio.io/proxyCPULimit', 'Alpha', ['Pod']),
  entry('sidecar.istio.io/proxyMemory', 'Alpha', ['Pod']),
  entry('sidecar.istio.io/proxyMemoryLimit', 'Alpha', ['Pod']), // featureStatus absent in the YAML
  entry('sidecar.istio.io/interceptionMode', 'Alpha', ['Pod']),
  entry('sidecar.istio.io/bootstrapOverride', 'Alpha', ['Pod']),
  entry('sidecar.istio.io/statsInclusionPrefixes', 'Alpha', ['Pod'], D),
  entry('sidecar.istio.io/statsInclusionSuffixes', 'Alpha', ['Pod'], D),
  entry('sidecar.istio.io/statsInclusionRegexps', 'Alpha', ['Pod'], D),
  entry('sidecar.istio.io/statsHistogramBuckets', 'Alpha', ['Pod']),
  entry('sidecar.istio.io/statsFlushInterval', 'Alpha', ['Pod']),
  entry('sidecar.istio.io/statsEvictionInterval', 'Alpha', ['Pod']),
  entry('sidecar.istio.io/statsHistogramBins', 'Alpha', ['Pod']),
  entry('sidecar.istio.io/userVolume', 'Alpha', ['Pod']),
  entry('sidecar.istio.io/userVolumeMount', 'Alpha', ['Pod']), // featureStatus absent in the YAML
  entry('status.sidecar.istio.io/port', 'Alpha', ['Pod']),
  entry('sidecar.istio.io/logLevel', 'Alpha', ['Pod']),
  entry('sidecar.istio.io/componentLogLevel', 'Alpha', ['Pod']),
  entry('sidecar.istio.io/agentLogLevel', 'Alpha', ['Pod']),
  entry('sidecar.istio.io/nativeSidecar', 'Alpha', ['Pod']),
  entry('readiness.status.sidecar.istio.io/initialDelaySeconds', 'Alpha', ['Pod']),
  entry('readiness.status.sidecar.istio.io/periodSeconds', 'Alpha', ['Pod']),
  entry('readiness.status.sidecar.istio.io/failureThreshold', 'Alpha', ['Pod']),
  entry('readiness.status.sidecar.istio.io/applicationPorts', 'Alpha', ['Pod']),
  entry('traffic.istio.io/nodeSelector', 'Stable', ['Service']),
  entry('traffic.sidecar.istio.io/includeOutboundIPRanges', 'Alpha', ['Pod']),
  entry('traffic.sidecar.istio.io/excludeOutboundIPRanges', 'Alpha', ['Pod']),
  entry('traffic.sidecar.istio.io/includeInboundPorts', 'Alpha', ['Pod']), // featureStatus absent in the YAML
  entry('traffic.sidecar.istio.io/excludeInboundPorts', 'Alpha', ['Pod']),
  entry('traffic.sidecar.istio.io/excludeInterfaces', 'Alpha', ['Pod']),
  entry('traffic.sidecar.istio.io/includeOutboundPorts', 'Alpha', ['Pod']),
  entry('traffic.sidecar.istio.io/excludeOutboundPorts', 'Alpha', ['Pod']),
  entry('traffic.sidecar.istio.io/kubevirtInterfaces', 'Alpha', ['Pod'], D),
  entry('kubernetes.io/ingress.class', 'Stable', ['Ingress']),
  entry('galley.istio.io/analyze-suppress', 'Alpha', ['Any']),
  entry('proxy.istio.io/config', 'Beta', ['Pod']),
  entry('istio.io/dry-run', 'Alpha', ['AuthorizationPolicy']),
  entry('istio.io/rev', 'Alpha', ['Pod']),
  entry('istio.io/ignore-policy-attachment', 'Alpha', ['BackendTLSPolicy', 'BackendTrafficPolicy']),
  entry('proxy.istio.io/overrides', 'Alpha', ['Pod'], H),
  entry('inject.istio.io/templates', 'Alpha', ['Pod']),
  entry('sidecar.istio.io/extraStatTags', 'Alpha', ['Pod'], D),
  entry('istio.io/autoRegistrationGroup', 'Alpha', ['WorkloadEntry'], H),
  entry('istio.io/workloadController', 'Alpha', ['WorkloadEntry'], H),
  entry('istio.io/connectedAt', 'Alpha', ['WorkloadEntry'], H),
  entry('istio.io/disconnectedAt', 'Alpha', ['WorkloadEntry'], H),
  entry('topology.istio.io/controlPlaneClusters', 'Alpha', ['Namespace']),
  entry('gateway.istio.io/controller-version', 'Alpha', ['Any'], H),
  entry('ambient.istio.io/redirection', 'Beta', ['Pod']),
  entry('ambient.istio.io/waypoint-inbound-binding', 'Alpha', ['GatewayClass', 'Gateway'], H),
  entry('gateway.istio.io/service-account', 'Alpha', ['Gateway'], H),
  entry('gateway.istio.io/name-override', 'Alpha', ['Gateway'], H),
  entry('networking.istio.io/service-type', 'Alpha', ['Gateway'], H),
  entry('networking.istio.io/traffic-distribution', 'Alpha', ['Namespace', 'Service', 'ServiceEntry']),
  entry('istio.io/use-waypoint-canary-weight', 'Alpha', ['Service', 'ServiceEntry', 'Namespace']),
  entry('ambient.istio.io/bypass-inbound-capture', 'Alpha', ['Pod']),
  entry('istio.io/reroute-virtual-interfaces', 'Alpha', ['Pod']),
  entry('ambient.istio.io/dns-capture', 'Alpha', ['Pod'], H),
  entry('sidecar.istio.io/statsCompression', 'Alpha', ['Pod'], D),
];

/** Every annotation in istio/api's annotations.yaml, by name (hidden and deprecated ones included, as istioctl does). */
export const ISTIO_ANNOTATIONS: ReadonlyMap<string, KnownAnnotation> = byName(ANNOTATIONS);

/** istio/api label/labels.yaml @ a01e54cb, in file order, then the two labels of istio/api#3735. */
const LABELS: readonly KnownLabel[] = [
  entry('security.istio.io/tlsMode', 'Alpha', ['Pod'], DH),
  entry('service.istio.io/canonical-name', 'Alpha', ['Pod']),
  entry('networking.istio.io/gatewayPort', 'Alpha', ['Service']),
  entry('service.istio.io/canonical-revision', 'Alpha', ['Pod']),
  entry('service.istio.io/workload-name', 'Alpha', ['Pod', 'WorkloadEntry']),
  entry('istio.io/rev', 'Beta', ['Namespace', 'Gateway', 'Pod']),
  entry('istio.io/tag', 'Alpha', ['MutatingWebhookConfiguration']),
  entry('operator.istio.io/component', 'Alpha', ['Any'], H),
  entry('operator.istio.io/managed', 'Alpha', ['Any'], H),
  entry('operator.istio.io/version', 'Alpha', ['Any'], H),
  entry('topology.istio.io/subzone', 'Beta', ['Node']),
  entry('topology.istio.io/network', 'Beta', ['Namespace', 'Pod', 'Service']),
  entry('topology.istio.io/cluster', 'Alpha', ['Pod']),
  entry('topology.istio.io/locality', 'Alpha', ['Pod']),
  entry('sidecar.istio.io/inject', 'Beta', ['Pod']),
  entry('gateway.istio.io/managed', 'Stable', ['ServiceAccount', 'Deployment', 'Service']),
  entry('gateway.networking.k8s.io/gateway-name', 'Stable', ['ServiceAccount', 'Deployment', 'Service', 'PodDisruptionBudget', 'HorizontalPodAutoscaler']),
  entry('gateway.networking.k8s.io/gateway-class-name', 'Stable', ['ServiceAccount', 'Deployment', 'Service', 'PodDisruptionBudget', 'HorizontalPodAutoscaler']),
  entry('istio.io/dataplane-mode', 'Stable', ['Pod', 'Namespace']),
  entry('istio.io/use-waypoint', 'Stable', ['Pod', 'WorkloadEntry', 'Service', 'ServiceEntry', 'Namespace']),
  entry('istio.io/use-waypoint-namespace', 'Beta', ['Pod', 'WorkloadEntry', 'Service', 'ServiceEntry', 'Namespace']),
  entry('istio.io/ingress-use-waypoint', 'Beta', ['Service', 'ServiceEntry', 'Namespace']),
  entry('istio.io/waypoint-for', 'Stable', ['GatewayClass', 'Gateway']),
  entry('networking.istio.io/enable-autoallocate-ip', 'Beta', ['ServiceEntry']),
  // istio/api#3735 (July 2026): Alpha, on Service, ServiceEntry and Namespace; not in the stored labels.yaml above.
  entry('istio.io/use-waypoint-canary', 'Alpha', ['Service', 'ServiceEntry', 'Namespace']),
  entry('istio.io/use-waypoint-canary-namespace', 'Alpha', ['Service', 'ServiceEntry', 'Namespace']),
];

/** Every label in istio/api's labels.yaml (plus istio/api#3735), by name. */
export const ISTIO_LABELS: ReadonlyMap<string, KnownLabel> = byName(LABELS);

/** The labels users put on pods and namespaces: those whose resources include Pod, Namespace or Any. */
export const ISTIO_POD_LABELS: ReadonlyMap<string, KnownLabel> = byName(
  LABELS.filter((l) => l.resources.some((r) => r === 'Pod' || r === 'Namespace' || r === 'Any')),
);

/** maturity.AlwaysIgnoredAnnotations: skipped by IST0136 and (newest annotations.go) by the whole K8sAnalyzer. */
export const ALWAYS_IGNORED_ANNOTATIONS: ReadonlySet<string> = new Set([
  'sidecar.istio.io/status',
  'gateway.istio.io/controller-version',
  'istio.io/rev',
]);

/** maturity.conditionallyIgnoredAnnotations: IST0136 skips these on a Pod without an `istio-init` init container. */
export const CNI_DEFAULT_ANNOTATIONS: ReadonlySet<string> = new Set([
  'sidecar.istio.io/interceptionMode',
  'traffic.sidecar.istio.io/includeInboundPorts',
  'traffic.sidecar.istio.io/excludeInboundPorts',
  'traffic.sidecar.istio.io/includeOutboundIPRanges',
]);

/** annotations.go deprecationExtraMessages: the `%s` of the IST0135 message. */
export const DEPRECATION_EXTRA_MESSAGES: ReadonlyMap<string, string> = new Map([
  ['sidecar.istio.io/inject', ' in favor of the "sidecar.istio.io/inject" label'],
]);

/**
 * true when the key is in an Istio annotation domain the analyzer checks (same rule as istioctl's istioAnnotation):
 * `kubernetes.io/ingress.class`, or the text before the first `/` (the whole key if there is none) ends with
 * "istio.io". A plain suffix test, as in Go's strings.HasSuffix: `notistio.io/x` counts, `istio.io.example/x` does not.
 */
export function isIstioDomain(key: string): boolean {
  if (key === 'kubernetes.io/ingress.class') return true;
  const slash = key.indexOf('/');
  const prefix = slash === -1 ? key : key.slice(0, slash);
  return prefix.endsWith('istio.io');
}
