/**
 * The typed view of `values` and `meshConfig` the injector reads, computed once when a configuration is loaded.
 * Nothing here is looked up per request.
 */
import type { InjectorConfig } from '../config/types.js';
import { ConfigError } from '../config/types.js';
import type { JsonObject, JsonValue } from '../k8s/types.js';
import { isPlainObject } from '../util/json.js';
import { canonicalResources } from './quantity.js';

export interface Settings {
  hub: string;
  tag: string;
  variant: string;
  proxyImageName: string;
  proxyInitImageName: string;
  imagePullPolicy: string;
  imagePullSecrets: string[];
  clusterDomain: string;
  proxyLogLevel: string;
  proxyComponentLogLevel: string;
  agentLogLevel: string;
  logAsJson: boolean;
  /** values.global.proxy.statusPort as the template prints it (iptables -d, preStop --debug-port, probes on/off). */
  statusPortValue: string;
  includeIPRanges: string;
  excludeIPRanges: string;
  includeInboundPorts: string;
  excludeInboundPorts: string;
  includeOutboundPorts: string;
  excludeOutboundPorts: string;
  readinessInitialDelaySeconds: string;
  readinessPeriodSeconds: string;
  readinessFailureThreshold: string;
  startupProbe: { enabled: boolean; failureThreshold: number };
  privileged: boolean;
  capNetBindService: string;
  enableCoreDump: string;
  holdApplicationUntilProxyStarts: boolean;
  lifecycle: JsonObject | undefined;
  proxyResources: Record<string, Record<string, string>> | undefined;
  proxyInitResources: Record<string, Record<string, string>> | undefined;
  seccompProfile: JsonObject | undefined;
  cniEnabled: boolean;
  cniProvider: string;
  cniChained: boolean;
  pilotCertProvider: string;
  caAddress: string;
  revision: string;
  istioNamespace: string;
  clusterName: string;
  network: string;
  meshID: string;
  valuesTrustDomain: string;
  stsPort: number;
  outlierLogPath: string;
  mountMtlsCerts: boolean;
  tracer: string;
  tokenAudience: string;
  nativeNftables: boolean;
  forceApplyIptables: boolean;
  rewriteAppHTTPProbe: boolean;
  /**
   * values.sidecarInjectorWebhook.enableNamespacesByDefault: Istio's webhooks select unlabelled namespaces too (true), or
   * only namespaces and pods that opt in (false, Istio's default).
   */
  enableNamespacesByDefault: boolean;
  /**
   * Annotations added to every injected pod: values.sidecarInjectorWebhook.injectedAnnotations (what Istio's chart
   * renders into the injector's `injectedAnnotations`), then the configuration's own `injectedAnnotations` over them.
   */
  injectedAnnotations: Readonly<Record<string, string>>;
  clusterTrustBundle: boolean;
  mesh: {
    proxyListenPort: number;
    proxyInboundListenPort: number;
    trustDomain: string;
    enablePrometheusMerge: boolean;
    inboundPolicyLocalhost: boolean;
    otelSemanticConventions: boolean;
    defaultConfig: JsonObject;
  };
}

function at(root: JsonObject, path: string): JsonValue | undefined {
  let cur: JsonValue | undefined = root;
  for (const key of path.split('.')) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

/** The string entries of a map value (validated at load: src/config/validate.ts), or none. */
function stringEntries(value: JsonValue | undefined): Record<string, string> {
  return isPlainObject(value) ? Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};
}

function str(root: JsonObject, path: string, prefix: string, fallback = ''): string {
  const v = at(root, path);
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new ConfigError(`${prefix}.${path}`, `must be a string, got ${JSON.stringify(v)}`);
}

function bool(root: JsonObject, path: string, prefix: string, fallback = false): boolean {
  const v = at(root, path);
  if (v === undefined || v === null || v === '') return fallback;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw new ConfigError(`${prefix}.${path}`, `must be true or false, got ${JSON.stringify(v)}`);
}

function int(root: JsonObject, path: string, prefix: string, fallback: number): number {
  const v = at(root, path);
  if (v === undefined || v === null || v === '') return fallback;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0) return n;
  throw new ConfigError(`${prefix}.${path}`, `must be a non-negative integer, got ${JSON.stringify(v)}`);
}

function obj(root: JsonObject, path: string, prefix: string): JsonObject | undefined {
  const v = at(root, path);
  if (v === undefined || v === null) return undefined;
  if (isPlainObject(v)) return Object.keys(v).length > 0 ? v : undefined;
  throw new ConfigError(`${prefix}.${path}`, `must be a map, got ${JSON.stringify(v)}`);
}

function resources(root: JsonObject, path: string): Record<string, Record<string, string>> | undefined {
  const v = obj(root, path, 'values');
  if (!v) return undefined;
  try {
    return canonicalResources(v);
  } catch (e) {
    throw new ConfigError(`values.${path}`, (e as Error).message);
  }
}

let compilations = 0;

/** How many times settings were compiled in this process (tests: a configuration is compiled once per load). */
export function settingsCompilations(): number {
  return compilations;
}

export function compileSettings(config: InjectorConfig): Settings {
  compilations += 1;
  const v = config.values;
  const m = config.meshConfig;
  const V = (p: string, fb = '') => str(v, p, 'values', fb);
  const secrets = at(v, 'global.imagePullSecrets');
  if (secrets !== undefined && secrets !== null && !(Array.isArray(secrets) && secrets.every((s) => typeof s === 'string'))) {
    throw new ConfigError('values.global.imagePullSecrets', 'must be a list of Secret names');
  }
  const defaultConfig = obj(m, 'defaultConfig', 'meshConfig') ?? {};
  const providers = at(m, 'extensionProviders');
  const otel =
    Array.isArray(providers) &&
    providers.some((p) => isPlainObject(p) && isPlainObject(p.opentelemetry) && p.opentelemetry.serviceAttributeEnrichment === 'OTEL_SEMANTIC_CONVENTIONS');
  const inboundMode = str(m, 'inboundTrafficPolicy.mode', 'meshConfig');
  const pilotEnv = obj(v, 'pilot.env', 'values') ?? {};
  return {
    hub: V('global.hub'),
    tag: V('global.tag'),
    variant: V('global.variant'),
    proxyImageName: V('global.proxy.image', 'proxyv2'),
    proxyInitImageName: V('global.proxy_init.image', 'proxyv2'),
    imagePullPolicy: V('global.imagePullPolicy'),
    imagePullSecrets: Array.isArray(secrets) ? (secrets as string[]) : [],
    clusterDomain: V('global.proxy.clusterDomain', 'cluster.local'),
    proxyLogLevel: V('global.proxy.logLevel', 'warning'),
    proxyComponentLogLevel: V('global.proxy.componentLogLevel', 'misc:error'),
    agentLogLevel: V('global.logging.level', 'default:info'),
    logAsJson: bool(v, 'global.logAsJson', 'values'),
    statusPortValue: V('global.proxy.statusPort', '15020'),
    includeIPRanges: V('global.proxy.includeIPRanges', '*'),
    excludeIPRanges: V('global.proxy.excludeIPRanges'),
    includeInboundPorts: V('global.proxy.includeInboundPorts', '*'),
    excludeInboundPorts: V('global.proxy.excludeInboundPorts'),
    includeOutboundPorts: V('global.proxy.includeOutboundPorts'),
    excludeOutboundPorts: V('global.proxy.excludeOutboundPorts'),
    readinessInitialDelaySeconds: V('global.proxy.readinessInitialDelaySeconds', '0'),
    readinessPeriodSeconds: V('global.proxy.readinessPeriodSeconds', '15'),
    readinessFailureThreshold: V('global.proxy.readinessFailureThreshold', '4'),
    startupProbe: {
      enabled: bool(v, 'global.proxy.startupProbe.enabled', 'values', true),
      failureThreshold: int(v, 'global.proxy.startupProbe.failureThreshold', 'values', 600),
    },
    privileged: bool(v, 'global.proxy.privileged', 'values'),
    capNetBindService: V('global.proxy.capNetBindService'),
    enableCoreDump: V('global.proxy.enableCoreDump'),
    holdApplicationUntilProxyStarts: bool(v, 'global.proxy.holdApplicationUntilProxyStarts', 'values'),
    lifecycle: obj(v, 'global.proxy.lifecycle', 'values'),
    proxyResources: resources(v, 'global.proxy.resources'),
    proxyInitResources: resources(v, 'global.proxy_init.resources'),
    seccompProfile: obj(v, 'global.proxy.seccompProfile', 'values'),
    cniEnabled: bool(v, 'pilot.cni.enabled', 'values'),
    cniProvider: V('pilot.cni.provider', 'default'),
    cniChained: bool(v, 'pilot.cni.chained', 'values', true),
    pilotCertProvider: V('global.pilotCertProvider', 'istiod'),
    caAddress: V('global.caAddress'),
    revision: V('revision'),
    istioNamespace: V('global.istioNamespace', 'istio-system'),
    clusterName: V('global.multiCluster.clusterName'),
    network: V('global.network'),
    meshID: V('global.meshID'),
    valuesTrustDomain: V('global.trustDomain'),
    stsPort: int(v, 'global.sts.servicePort', 'values', 0),
    outlierLogPath: V('global.proxy.outlierLogPath'),
    mountMtlsCerts: bool(v, 'global.mountMtlsCerts', 'values'),
    tracer: V('global.proxy.tracer'),
    tokenAudience: V('global.sds.token.aud', 'istio-ca'),
    nativeNftables: bool(v, 'global.nativeNftables', 'values'),
    forceApplyIptables: bool(v, 'global.proxy_init.forceApplyIptables', 'values'),
    rewriteAppHTTPProbe: bool(v, 'sidecarInjectorWebhook.rewriteAppHTTPProbe', 'values'),
    enableNamespacesByDefault: bool(v, 'sidecarInjectorWebhook.enableNamespacesByDefault', 'values'),
    injectedAnnotations: { ...stringEntries(at(v, 'sidecarInjectorWebhook.injectedAnnotations')), ...config.injectedAnnotations },
    clusterTrustBundle: String(pilotEnv.ENABLE_CLUSTER_TRUST_BUNDLE_API ?? '') === 'true',
    mesh: {
      proxyListenPort: int(m, 'proxyListenPort', 'meshConfig', 15001) || 15001,
      proxyInboundListenPort: int(m, 'proxyInboundListenPort', 'meshConfig', 15006) || 15006,
      trustDomain: str(m, 'trustDomain', 'meshConfig'),
      enablePrometheusMerge: bool(m, 'enablePrometheusMerge', 'meshConfig', true),
      inboundPolicyLocalhost: inboundMode === 'LOCALHOST',
      otelSemanticConventions: otel,
      defaultConfig,
    },
  };
}
