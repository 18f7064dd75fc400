/**
 * The `sidecar.istio.io/*`, `traffic.sidecar.istio.io/*`, `proxy.istio.io/*` ... annotations the injector honours,
 * and the validators Istio applies before injecting (an invalid value rejects the pod). One implementation, shared by
 * the injector and the validating webhook, so that validation never disagrees with injection.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { isQuantity } from './quantity.js';
import { parseProxyConfigAnnotation } from './proxyConfig.js';
import { quoteValue } from './quote.js';
import { interfaceNamesProblem } from './interfaceNames.js';
import { parseUserVolumes } from './userVolumes.js';

export const A = {
  inject: 'sidecar.istio.io/inject',
  status: 'sidecar.istio.io/status',
  interceptionMode: 'sidecar.istio.io/interceptionMode',
  statusPort: 'status.sidecar.istio.io/port',
  readinessInitialDelay: 'readiness.status.sidecar.istio.io/initialDelaySeconds',
  readinessPeriod: 'readiness.status.sidecar.istio.io/periodSeconds',
  readinessFailureThreshold: 'readiness.status.sidecar.istio.io/failureThreshold',
  readinessApplicationPorts: 'readiness.status.sidecar.istio.io/applicationPorts',
  includeOutboundIPRanges: 'traffic.sidecar.istio.io/includeOutboundIPRanges',
  excludeOutboundIPRanges: 'traffic.sidecar.istio.io/excludeOutboundIPRanges',
  includeInboundPorts: 'traffic.sidecar.istio.io/includeInboundPorts',
  excludeInboundPorts: 'traffic.sidecar.istio.io/excludeInboundPorts',
  includeOutboundPorts: 'traffic.sidecar.istio.io/includeOutboundPorts',
  excludeOutboundPorts: 'traffic.sidecar.istio.io/excludeOutboundPorts',
  excludeInterfaces: 'traffic.sidecar.istio.io/excludeInterfaces',
  kubevirtInterfaces: 'traffic.sidecar.istio.io/kubevirtInterfaces',
  rerouteVirtualInterfaces: 'istio.io/reroute-virtual-interfaces',
  mergeMetrics: 'prometheus.istio.io/merge-metrics',
  proxyConfig: 'proxy.istio.io/config',
  overrides: 'proxy.istio.io/overrides',
  proxyCPU: 'sidecar.istio.io/proxyCPU',
  proxyMemory: 'sidecar.istio.io/proxyMemory',
  proxyCPULimit: 'sidecar.istio.io/proxyCPULimit',
  proxyMemoryLimit: 'sidecar.istio.io/proxyMemoryLimit',
  rewriteAppHTTPProbers: 'sidecar.istio.io/rewriteAppHTTPProbers',
  nativeSidecar: 'sidecar.istio.io/nativeSidecar',
  proxyImage: 'sidecar.istio.io/proxyImage',
  proxyImageType: 'sidecar.istio.io/proxyImageType',
  logLevel: 'sidecar.istio.io/logLevel',
  componentLogLevel: 'sidecar.istio.io/componentLogLevel',
  agentLogLevel: 'sidecar.istio.io/agentLogLevel',
  bootstrapOverride: 'sidecar.istio.io/bootstrapOverride',
  userVolume: 'sidecar.istio.io/userVolume',
  userVolumeMount: 'sidecar.istio.io/userVolumeMount',
  capNetBindService: 'sidecar.istio.io/capNetBindService',
  enableCoreDump: 'sidecar.istio.io/enableCoreDump',
  templates: 'inject.istio.io/templates',
  defaultContainer: 'kubectl.kubernetes.io/default-container',
  defaultLogsContainer: 'kubectl.kubernetes.io/default-logs-container',
  cniNetworks: 'k8s.v1.cni.cncf.io/networks',
  rev: 'istio.io/rev',
  datadogEnv: 'apm.datadoghq.com/env',
  securePort: 'prometheus.istio.io/secure-port',
  scrapeTargets: 'prometheus.istio.io/scrape-targets',
} as const;

export const L = {
  inject: 'sidecar.istio.io/inject',
  tlsMode: 'security.istio.io/tlsMode',
  canonicalName: 'service.istio.io/canonical-name',
  canonicalRevision: 'service.istio.io/canonical-revision',
  workloadName: 'service.istio.io/workload-name',
  network: 'topology.istio.io/network',
  tunnel: 'networking.istio.io/tunnel',
} as const;

type Validator = (value: string) => string | undefined;

const INTERCEPTION_MODES = ['REDIRECT', 'TPROXY', 'NONE'];

function validateInterceptionMode(v: string): string | undefined {
  return INTERCEPTION_MODES.includes(v) ? undefined : `interceptionMode must be one of ${INTERCEPTION_MODES.join(', ')}`;
}

function validateUint(bits: 16 | 32): Validator {
  const max = 2 ** bits - 1;
  return (v) => (/^\d+$/.test(v) && Number(v) <= max ? undefined : `must be an unsigned ${bits}-bit integer (0-${max})`);
}

/** Go's netip.ParsePrefix: `addr/bits`, no zones, no leading zeros in IPv4 octets. */
function isCidr(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash < 0) return false;
  const addr = text.slice(0, slash);
  const bits = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits) || (bits.length > 1 && bits.startsWith('0'))) return false;
  if (isIPv4(addr)) return !addr.split('.').some((o) => o.length > 1 && o.startsWith('0')) && Number(bits) <= 32;
  return isIPv6(addr) && !addr.includes('%') && Number(bits) <= 128;
}

function cidrList(what: string, wildcard: boolean): Validator {
  return (v) => {
    if (wildcard && v === '*') return undefined;
    if (v.length === 0) return undefined;
    for (const cidr of v.split(',')) {
      if (!isCidr(cidr)) return `${what} invalid: failed parsing cidr '${quoteValue(cidr)}'`;
    }
    return undefined;
  };
}

/**
 * Comma-separated ports, Istio's parsePorts (pkg/kube/inject/validate.go): the whole value trimmed, empty = no ports,
 * each entry trimmed and a decimal uint16 (no sign, no empty entry); 0 is refused here (Istio accepts it, but it names
 * no port).
 */
export function parsePortList(v: string): number[] | string {
  const trimmed = v.trim();
  if (trimmed.length === 0) return [];
  const ports: number[] = [];
  for (const entry of trimmed.split(',')) {
    const p = entry.trim();
    if (!/^\d+$/.test(p) || Number(p) > 65535) return `failed parsing port '${quoteValue(p)}'`;
    if (Number(p) < 1) return `port number ${p} must be in the range 1..65535`;
    ports.push(Number(p));
  }
  return ports;
}

function portList(what: string, wildcard: boolean): Validator {
  return (v) => {
    // Istio compares with "*" as it is: " * " is not the wildcard (and not a port either).
    if (wildcard && v === '*') return undefined;
    const parsed = parsePortList(v);
    return typeof parsed === 'string' ? `${what} invalid: ${parsed}` : undefined;
  };
}

const GO_BOOLS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's strconv.ParseBool; undefined when the text is not a boolean. */
export function parseGoBool(v: string | undefined): boolean | undefined {
  if (v === undefined || !GO_BOOLS.has(v)) return undefined;
  return ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v);
}

function validateBool(v: string): string | undefined {
  return parseGoBool(v) === undefined ? 'must be a boolean (true or false)' : undefined;
}

function validateQuantity(v: string): string | undefined {
  return isQuantity(v.trim()) && !/[\x00-\x1f]/.test(v) ? undefined : 'must be a Kubernetes quantity (e.g. 100m, 0.5, 128Mi, 1Gi)';
}

function validateProxyConfig(v: string): string | undefined {
  const parsed = parseProxyConfigAnnotation(v);
  return typeof parsed === 'string' ? parsed : undefined;
}

function validateUserVolumes(v: string): string | undefined {
  const parsed = parseUserVolumes(v);
  return typeof parsed === 'string' ? parsed : undefined;
}

/** Validators in the order Istio checks them; the first failure rejects the pod. */
export const ANNOTATION_VALIDATORS: ReadonlyMap<string, Validator> = new Map<string, Validator>([
  [A.interceptionMode, validateInterceptionMode],
  [A.statusPort, validateUint(16)],
  [A.readinessInitialDelay, validateUint(32)],
  [A.readinessPeriod, validateUint(32)],
  [A.readinessFailureThreshold, validateUint(32)],
  [A.includeOutboundIPRanges, cidrList('includeIPRanges', true)],
  [A.excludeOutboundIPRanges, cidrList('excludeIPRanges', false)],
  [A.includeInboundPorts, portList('includeInboundPorts', true)],
  [A.excludeInboundPorts, portList('excludeInboundPorts', false)],
  [A.excludeOutboundPorts, portList('excludeOutboundPorts', false)],
  // Not validated by Istio (its template passes the value to istio-iptables as it is, so `-u` became an argument):
  // mesh-webhook refuses what is not a port list.
  [A.includeOutboundPorts, portList('includeOutboundPorts', false)],
  [A.excludeInterfaces, interfaceNamesProblem],
  [A.kubevirtInterfaces, interfaceNamesProblem],
  [A.rerouteVirtualInterfaces, interfaceNamesProblem],
  [A.mergeMetrics, validateBool],
  [A.proxyConfig, validateProxyConfig],
  [A.proxyCPU, validateQuantity],
  [A.proxyMemory, validateQuantity],
  [A.proxyCPULimit, validateQuantity],
  [A.proxyMemoryLimit, validateQuantity],
  [A.userVolume, validateUserVolumes],
  [A.userVolumeMount, validateUserVolumes],
]);

export interface AnnotationProblem {
  annotation: string;
  value: string;
  problem: string;
}

/** Every invalid injection annotation of a pod, in validation order (empty when all are valid). */
export function validateInjectionAnnotations(annotations: Record<string, string> | undefined): AnnotationProblem[] {
  if (!annotations) return [];
  const problems: AnnotationProblem[] = [];
  for (const [annotation, validate] of ANNOTATION_VALIDATORS) {
    const value = annotations[annotation];
    if (value === undefined) continue;
    const problem = validate(String(value));
    if (problem) problems.push({ annotation, value: String(value), problem });
  }
  return problems;
}

export { MAX_QUOTED_VALUE, quoteValue } from './quote.js';

export function describeAnnotationProblem(p: AnnotationProblem): string {
  return `invalid value '${quoteValue(p.value)}' for annotation '${quoteValue(p.annotation)}': ${p.problem}`;
}
