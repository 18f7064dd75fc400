/**
 * The Kyma Istio custom resource (`operator.kyma-project.io/v1alpha2`, kind Istio) the way the module merges it into
 * its IstioOperator (kyma-project/istio api/v1alpha2/istio_merge.go, MergeInto), reduced to what reaches the
 * injector: the mesh settings of `spec.config` and the proxy resources of `spec.components.proxy`. The rest of the
 * resource configures istiod, the gateways and CNI, which the sidecar template does not read; it is accepted and
 * listed in a note. A key this version does not know (a newer module's field) is listed and ignored, not refused: the
 * resource comes from the cluster, where its CRD has already checked it, and refusing it would stop every replica
 * that restarts after a module upgrade.
 */
import type { JsonObject, JsonValue } from '../k8s/types.js';
import { isPlainObject } from '../util/json.js';
import { fail, optionalMap } from './validate.js';

/** What the resource changes: overlays for `values` and `meshConfig`, and the keys it sets that change nothing here. */
export interface IstioResourceOverlay {
  values: JsonObject;
  meshConfig: JsonObject;
  /** `spec.*` paths that configure something other than the injected sidecar. */
  notRead: string[];
  /** `spec.*` paths of keys this version does not know (ignored). */
  unknown: string[];
}

const ROOT = 'istioCustomResource';
const XFCC_STRATEGIES = ['APPEND_FORWARD', 'SANITIZE_SET', 'SANITIZE', 'ALWAYS_FORWARD_ONLY', 'FORWARD_ONLY'];
/** The CRD's patterns (istio_structs.go ResourceClaims, Config.TrustDomain). */
const CPU = /^([0-9]+m?|[0-9]\.[0-9]{1,3})$/;
const MEMORY = /^[0-9]+(((\.[0-9]+)?(E|P|T|G|M|k|Ei|Pi|Ti|Gi|Mi|Ki|m)?)|(e[0-9]+))$/;
const TRUST_DOMAIN = /^[a-z0-9]*([a-z0-9-_]*)?(\.[a-z0-9]*([a-z0-9-_]*[a-z0-9]*)?)*$/;
const UINT32_MAX = 4294967295;

const SPEC_KEYS = ['config', 'components', 'experimental', 'compatibilityMode', 'networkPoliciesEnabled'];
const CONFIG_KEYS = [
  'numTrustedProxies',
  'forwardClientCertDetails',
  'authorizers',
  'gatewayExternalTrafficPolicy',
  'telemetry',
  'trustDomain',
  'enableDNSProxying',
  'proxyStatsMatcher',
];
const COMPONENT_KEYS = ['pilot', 'ingressGateway', 'cni', 'proxy', 'egressGateway'];

/** Records the keys of `map` (at `path`, under the resource) that are not `keys`. */
function unknownKeys(map: JsonObject, path: string, keys: readonly string[], out: IstioResourceOverlay): void {
  for (const key of Object.keys(map)) if (!keys.includes(key)) out.unknown.push(`${path.slice(`${ROOT}.`.length)}.${key}`);
}

function setPath(root: JsonObject, path: string[], value: JsonValue): void {
  let node = root;
  for (const key of path.slice(0, -1)) {
    if (!isPlainObject(node[key])) node[key] = {};
    node = node[key] as JsonObject;
  }
  node[path[path.length - 1] as string] = value;
}

function bool(value: unknown, path: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') fail(path, value, 'true or false');
  return value;
}

/** Reads the resource (the whole object as `kubectl get istios.operator.kyma-project.io -o yaml` prints it). */
export function istioResourceOverlay(resource: unknown): IstioResourceOverlay {
  const cr = optionalMap(resource, ROOT) ?? {};
  if (cr.kind !== undefined && cr.kind !== 'Istio') fail(`${ROOT}.kind`, cr.kind, '"Istio" (the Kyma Istio custom resource)');
  if (cr.apiVersion !== undefined && (typeof cr.apiVersion !== 'string' || !cr.apiVersion.startsWith('operator.kyma-project.io/'))) {
    fail(`${ROOT}.apiVersion`, cr.apiVersion, 'operator.kyma-project.io/v1alpha2');
  }
  const spec = optionalMap(cr.spec, `${ROOT}.spec`) ?? {};
  const out: IstioResourceOverlay = { values: {}, meshConfig: {}, notRead: [], unknown: [] };
  unknownKeys(spec, `${ROOT}.spec`, SPEC_KEYS, out);
  applyConfig(optionalMap(spec.config, `${ROOT}.spec.config`) ?? {}, out);
  applyComponents(optionalMap(spec.components, `${ROOT}.spec.components`) ?? {}, out);
  const experimental = optionalMap(spec.experimental, `${ROOT}.spec.experimental`) ?? {};
  if (bool(experimental.enableAmbient, `${ROOT}.spec.experimental.enableAmbient`) === true) {
    setPath(out.meshConfig, ['defaultConfig', 'proxyMetadata', 'ISTIO_META_ENABLE_HBONE'], 'true');
  }
  for (const key of Object.keys(experimental)) if (key !== 'enableAmbient') out.notRead.push(`spec.experimental.${key}`);
  // compatibilityMode adds the module's ProxyMetaDataCompatibility, empty in this module version; it sets istiod's env.
  if (bool(spec.compatibilityMode, `${ROOT}.spec.compatibilityMode`) !== undefined) out.notRead.push('spec.compatibilityMode');
  if (spec.networkPoliciesEnabled !== undefined) out.notRead.push('spec.networkPoliciesEnabled');
  return out;
}

/** mergeConfig: the meshConfig the module's meshConfigBuilder writes. */
function applyConfig(config: JsonObject, out: IstioResourceOverlay): void {
  const at = `${ROOT}.spec.config`;
  unknownKeys(config, at, CONFIG_KEYS, out);
  const trusted = config.numTrustedProxies;
  if (trusted !== undefined && trusted !== null) {
    if (typeof trusted !== 'number' || !Number.isInteger(trusted) || trusted < 0 || trusted > UINT32_MAX) {
      fail(`${at}.numTrustedProxies`, trusted, `an integer 0..${UINT32_MAX}`);
    }
    setPath(out.meshConfig, ['defaultConfig', 'gatewayTopology', 'numTrustedProxies'], trusted);
  }
  const xfcc = config.forwardClientCertDetails;
  if (xfcc !== undefined && xfcc !== null) {
    if (typeof xfcc !== 'string' || !XFCC_STRATEGIES.includes(xfcc)) fail(`${at}.forwardClientCertDetails`, xfcc, `one of ${XFCC_STRATEGIES.join(', ')}`);
    setPath(out.meshConfig, ['defaultConfig', 'gatewayTopology', 'forwardClientCertDetails'], xfcc);
  }
  // BuildPrometheusMergeConfig always writes the resource's value: false when the resource does not set it.
  const telemetry = optionalMap(config.telemetry, `${at}.telemetry`) ?? {};
  const metrics = optionalMap(telemetry.metrics, `${at}.telemetry.metrics`) ?? {};
  out.meshConfig.enablePrometheusMerge = bool(metrics.prometheusMerge, `${at}.telemetry.metrics.prometheusMerge`) ?? false;
  const domain = config.trustDomain;
  if (domain !== undefined && domain !== null) {
    if (typeof domain !== 'string' || domain.length < 1 || domain.length > 255 || !TRUST_DOMAIN.test(domain)) {
      fail(`${at}.trustDomain`, domain, 'a trust domain of 1 to 255 characters (lower-case letters, digits, "-", "_", ".")');
    }
    out.meshConfig.trustDomain = domain;
  }
  const dns = bool(config.enableDNSProxying, `${at}.enableDNSProxying`);
  if (dns !== undefined) setPath(out.meshConfig, ['defaultConfig', 'proxyMetadata', 'ISTIO_META_DNS_CAPTURE'], String(dns));
  const matcher = optionalMap(config.proxyStatsMatcher, `${at}.proxyStatsMatcher`) ?? {};
  const regexps = matcher.inclusionRegexps;
  if (regexps !== undefined && regexps !== null) {
    if (!Array.isArray(regexps) || regexps.some((r) => typeof r !== 'string')) fail(`${at}.proxyStatsMatcher.inclusionRegexps`, regexps, 'a list of regular expressions');
    if (regexps.length > 0) setPath(out.meshConfig, ['defaultConfig', 'proxyStatsMatcher', 'inclusionRegexps'], [...regexps]);
  }
  for (const key of ['authorizers', 'gatewayExternalTrafficPolicy']) if (config[key] !== undefined) out.notRead.push(`spec.config.${key}`);
}

/** mergeResources: the proxy's resources become values.global.proxy.resources, one quantity at a time. */
function applyComponents(components: JsonObject, out: IstioResourceOverlay): void {
  const at = `${ROOT}.spec.components`;
  unknownKeys(components, at, COMPONENT_KEYS, out);
  for (const key of Object.keys(components)) if (key !== 'proxy') out.notRead.push(`spec.components.${key}`);
  const proxy = optionalMap(components.proxy, `${at}.proxy`);
  if (!proxy) return;
  const k8s = optionalMap(proxy.k8s, `${at}.proxy.k8s`) ?? {};
  unknownKeys(k8s, `${at}.proxy.k8s`, ['resources'], out);
  const resources = optionalMap(k8s.resources, `${at}.proxy.k8s.resources`) ?? {};
  unknownKeys(resources, `${at}.proxy.k8s.resources`, ['limits', 'requests'], out);
  for (const block of ['limits', 'requests'] as const) {
    const claims = optionalMap(resources[block], `${at}.proxy.k8s.resources.${block}`) ?? {};
    unknownKeys(claims, `${at}.proxy.k8s.resources.${block}`, ['cpu', 'memory'], out);
    for (const [name, pattern, example] of [['cpu', CPU, '100m or 0.5'], ['memory', MEMORY, '128Mi or 1Gi']] as const) {
      const value = claims[name];
      if (value === undefined || value === null) continue;
      if (typeof value !== 'string' || !pattern.test(value)) fail(`${at}.proxy.k8s.resources.${block}.${name}`, value, `a quoted ${name} quantity such as ${example}`);
      setPath(out.values, ['global', 'proxy', 'resources', block, name], value);
    }
  }
}
