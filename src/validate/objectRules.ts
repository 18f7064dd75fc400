/** Rules for Namespaces, Services and Istio PeerAuthentications. */
import { isPlainObject } from '../util/json.js';
import type { Finding } from './findings.js';
import { findingsFor } from './findings.js';
import { quoteValue } from '../inject/annotations.js';
import { declaresProtocol } from './portProtocol.js';


export interface NamespaceContext {
  /** Whether injected pods get istio-init (false in CNI mode). */
  istioInit: boolean;
  /** Whether istioctl checks this Namespace's injection labels (not for istio-system, injection/injection.go). */
  analyzeInjectionLabels: boolean;
  /** Whether pods of this namespace would be injected by default (no opt-out label, not excluded). */
  injected: boolean;
}

/**
 * The injection labels istioctl counts on a Namespace (injection/injection.go): `istio-injection` when present, and
 * `istio.io/rev` and `istio.io/dataplane-mode` when present and `istio-injection` is absent or `enabled`.
 */
export function countedInjectionLabels(labels: Readonly<Record<string, string>>): string[] {
  const injection = labels['istio-injection'];
  const counted = injection === undefined ? [] : [`istio-injection=${injection}`];
  for (const key of ['istio.io/rev', 'istio.io/dataplane-mode']) {
    if (labels[key] !== undefined && (injection === undefined || injection === 'enabled')) counted.push(`${key}=${labels[key]}`);
  }
  return counted;
}

export function namespaceFindings(object: string, labels: Record<string, string>, ctx: NamespaceContext): Finding[] {
  const { out, add } = findingsFor(object);
  const injectionLabels = countedInjectionLabels(labels);
  if (ctx.analyzeInjectionLabels && injectionLabels.length > 1) {
    add('IST0123', 'metadata.labels', `more than one kind of injection label (${quoteValue(injectionLabels.join(', '))}): which one wins is undefined; keep only one`);
  }
  const enforce = labels['pod-security.kubernetes.io/enforce'];
  if ((enforce === 'baseline' || enforce === 'restricted') && ctx.istioInit && ctx.injected) {
    add('MW0301', 'metadata.labels["pod-security.kubernetes.io/enforce"]', `Pod Security "${enforce}" rejects istio-init (NET_ADMIN, NET_RAW) of every injected pod; enable Istio CNI or relax the level`);
  }
  return out;
}

/**
 * IST0118 (info) for a port Istio finds no protocol for; on an ExternalName Service IST0150 (warning) instead, also for
 * a port named exactly `tcp` (service/portname.go). Services of Istio's control plane and of gateways Istio deploys
 * are not checked (the caller skips them).
 */
export function serviceFindings(object: string, spec: unknown): Finding[] {
  const { out, add } = findingsFor(object);
  if (!isPlainObject(spec) || !Array.isArray(spec.ports)) return out;
  const externalName = spec.type === 'ExternalName';
  spec.ports.forEach((port, i) => {
    if (!isPlainObject(port)) return;
    const name = typeof port.name === 'string' ? port.name : '';
    if (declaresProtocol(port) && !(externalName && name === 'tcp')) return;
    const label = name ? `'${quoteValue(name)}'` : `${quoteValue(String(port.port))} (unnamed)`;
    if (externalName) {
      add('IST0150', `spec.ports[${i}]`, `port ${label} of an ExternalName Service: the proxy may not forward tcp-named ports and unmatched TCP traffic correctly; name it for its protocol (http-..., tls-...)`);
    } else {
      const how = typeof port.appProtocol === 'string' ? `appProtocol ${quoteValue(port.appProtocol)} is not a protocol Istio knows` : 'it does not declare a protocol';
      add('IST0118', `spec.ports[${i}]`, `port ${label}: ${how}, so Istio sniffs the protocol; name it http-..., grpc-..., tcp-... or set a known appProtocol`);
    }
  });
  return out;
}

const MTLS_MODES = ['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT'];

export interface PeerAuthenticationContext {
  /** The mesh root namespace (meshConfig.rootNamespace, default istio-system). */
  rootNamespace: string;
  /** Kyma runs STRICT mTLS: a mesh-wide policy must be STRICT. */
  requireStrictMeshWide: boolean;
}

export function peerAuthenticationFindings(object: string, namespace: string, spec: unknown, ctx: PeerAuthenticationContext): Finding[] {
  const { out, add } = findingsFor(object);
  const s = isPlainObject(spec) ? spec : {};
  const mode = isPlainObject(s.mtls) ? s.mtls.mode : undefined;
  const check = (value: unknown, path: string) => {
    if (value !== undefined && !MTLS_MODES.includes(value as string)) {
      add('MW0501', path, `mTLS mode ${quoteValue(JSON.stringify(value) ?? String(value))} is not one of ${MTLS_MODES.join(', ')}`);
    }
  };
  check(mode, 'spec.mtls.mode');
  if (isPlainObject(s.portLevelMtls)) {
    for (const [port, v] of Object.entries(s.portLevelMtls)) check(isPlainObject(v) ? v.mode : undefined, `spec.portLevelMtls["${port}"].mode`);
  }
  const selector = isPlainObject(s.selector) && isPlainObject(s.selector.matchLabels) && Object.keys(s.selector.matchLabels).length > 0;
  if (ctx.requireStrictMeshWide && namespace === ctx.rootNamespace && !selector && mode !== 'STRICT') {
    add('MW0502', 'spec.mtls.mode', `mesh-wide PeerAuthentication in ${ctx.rootNamespace} has mode ${mode === undefined ? 'unset' : quoteValue(String(mode))}; Kyma requires STRICT mesh-wide — relax per namespace or workload instead`);
  }
  return out;
}
