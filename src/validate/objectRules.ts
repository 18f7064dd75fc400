/** Rules for Namespaces, Services and Istio PeerAuthentications. */
import type { Finding } from './findings.js';
import { findingsFor } from './findings.js';
import { quoteValue } from '../inject/annotations.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface NamespaceContext {
  /** Whether injected pods get istio-init (false in CNI mode). */
  istioInit: boolean;
  /** Whether pods of this namespace would be injected by default (no opt-out label, not excluded). */
  injected: boolean;
}

export function namespaceFindings(object: string, labels: Record<string, string>, ctx: NamespaceContext): Finding[] {
  const { out, add } = findingsFor(object);
  if (labels['istio-injection'] !== undefined && labels['istio.io/rev'] !== undefined) {
    add('IST0123', 'metadata.labels', `both istio-injection=${quoteValue(labels['istio-injection']!)} and istio.io/rev=${quoteValue(labels['istio.io/rev']!)}: istio-injection wins; keep one label`);
  }
  const enforce = labels['pod-security.kubernetes.io/enforce'];
  if ((enforce === 'baseline' || enforce === 'restricted') && ctx.istioInit && ctx.injected) {
    add('MW0301', 'metadata.labels["pod-security.kubernetes.io/enforce"]', `Pod Security "${enforce}" rejects istio-init (NET_ADMIN, NET_RAW) of every injected pod; enable Istio CNI or relax the level`);
  }
  return out;
}

/** Protocols Istio recognises in a Service port name (`<protocol>[-<suffix>]`) or appProtocol. */
const PROTOCOLS = ['http', 'http2', 'https', 'grpc', 'grpc-web', 'tcp', 'tls', 'mongo', 'mysql', 'redis', 'udp', 'h2c', 'ws', 'wss'];

function declaresProtocol(name: string): boolean {
  const lower = name.toLowerCase();
  return PROTOCOLS.some((p) => lower === p || lower.startsWith(`${p}-`));
}

export function serviceFindings(object: string, spec: unknown): Finding[] {
  const { out, add } = findingsFor(object);
  if (!isObj(spec) || !Array.isArray(spec.ports)) return out;
  spec.ports.forEach((port, i) => {
    if (!isObj(port) || (typeof port.appProtocol === 'string' && port.appProtocol !== '')) return;
    const name = typeof port.name === 'string' ? port.name : '';
    if (!declaresProtocol(name)) {
      add('IST0118', `spec.ports[${i}]`, `port ${name ? `'${quoteValue(name)}'` : `${quoteValue(String(port.port))} (unnamed)`} does not declare a protocol; name it http-..., grpc-..., tcp-... or set appProtocol`);
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
  const s = isObj(spec) ? spec : {};
  const mode = isObj(s.mtls) ? s.mtls.mode : undefined;
  const check = (value: unknown, path: string) => {
    if (value !== undefined && !MTLS_MODES.includes(value as string)) {
      add('MW0501', path, `mTLS mode ${quoteValue(JSON.stringify(value) ?? String(value))} is not one of ${MTLS_MODES.join(', ')}`);
    }
  };
  check(mode, 'spec.mtls.mode');
  if (isObj(s.portLevelMtls)) {
    for (const [port, v] of Object.entries(s.portLevelMtls)) check(isObj(v) ? v.mode : undefined, `spec.portLevelMtls["${port}"].mode`);
  }
  const selector = isObj(s.selector) && isObj(s.selector.matchLabels) && Object.keys(s.selector.matchLabels).length > 0;
  if (ctx.requireStrictMeshWide && namespace === ctx.rootNamespace && !selector && mode !== 'STRICT') {
    add('MW0502', 'spec.mtls.mode', `mesh-wide PeerAuthentication in ${ctx.rootNamespace} has mode ${mode === undefined ? 'unset' : quoteValue(String(mode))}; Kyma requires STRICT mesh-wide — relax per namespace or workload instead`);
  }
  return out;
}
