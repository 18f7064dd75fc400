/**
 * ProxyConfig: the mesh's `defaultConfig` overlaid with the pod's `proxy.istio.io/config` annotation, and its
 * `PROXY_CONFIG` serialisation (proto-JSON in field declaration order, with Istio's defaults left out).
 */
import { isMap, isPair, isScalar, isSeq, parseDocument } from 'yaml';
import type { JsonObject } from '../k8s/types.js';
import { FORBIDDEN_KEYS } from '../config/merge.js';
import { isPlainObject } from '../util/json.js';
import { jsonDepth } from '../util/jsonDepth.js';
import { quoteValue } from './quote.js';

type FieldType = 'string' | 'oneofString' | 'oneofEnum' | 'duration' | 'uint' | 'int' | 'bool' | 'enum' | 'stringMap' | 'message' | 'list' | 'wrapperInt' | 'wrapperBool';

/** ProxyConfig fields in proto declaration order (istio.io/api mesh/v1alpha1/proxy.proto). */
export const PROXY_CONFIG_FIELDS: ReadonlyArray<readonly [string, FieldType]> = [
  ['configPath', 'string'],
  ['binaryPath', 'string'],
  ['serviceCluster', 'oneofString'],
  ['tracingServiceName', 'oneofEnum'],
  ['drainDuration', 'duration'],
  ['discoveryAddress', 'string'],
  ['discoveryRefreshDelay', 'duration'],
  ['zipkinAddress', 'string'],
  ['statsdUdpAddress', 'string'],
  ['envoyMetricsServiceAddress', 'string'],
  ['proxyAdminPort', 'int'],
  ['availabilityZone', 'string'],
  ['controlPlaneAuthPolicy', 'enum'],
  ['customConfigFile', 'string'],
  ['statNameLength', 'int'],
  ['concurrency', 'wrapperInt'],
  ['proxyBootstrapTemplatePath', 'string'],
  ['interceptionMode', 'enum'],
  ['tracing', 'message'],
  ['sds', 'message'],
  ['envoyAccessLogService', 'message'],
  ['envoyMetricsService', 'message'],
  ['proxyMetadata', 'stringMap'],
  ['runtimeValues', 'stringMap'],
  ['statusPort', 'int'],
  ['extraStatTags', 'list'],
  ['gatewayTopology', 'message'],
  ['terminationDrainDuration', 'duration'],
  ['meshId', 'string'],
  ['readinessProbe', 'message'],
  ['proxyStatsMatcher', 'message'],
  ['holdApplicationUntilProxyStarts', 'wrapperBool'],
  ['caCertificatesPem', 'list'],
  ['image', 'message'],
  ['privateKeyProvider', 'message'],
  ['proxyHeaders', 'message'],
  ['fileFlushInterval', 'duration'],
  ['fileFlushMinSizeKb', 'uint'],
  ['statsCompression', 'wrapperBool'],
];

const FIELD_TYPES = new Map(PROXY_CONFIG_FIELDS);
const ENUMS: Record<string, readonly string[]> = {
  interceptionMode: ['REDIRECT', 'TPROXY', 'NONE'],
  controlPlaneAuthPolicy: ['NONE', 'MUTUAL_TLS', 'INHERIT'],
  tracingServiceName: ['APP_LABEL_AND_NAMESPACE', 'CANONICAL_NAME_ONLY', 'CANONICAL_NAME_AND_NAMESPACE'],
};
/** The proto3 zero value of each enum (never emitted). */
const ENUM_ZERO: Record<string, string> = { interceptionMode: 'REDIRECT', controlPlaneAuthPolicy: 'NONE' };

/** Fields Istio strips from PROXY_CONFIG when they equal the mesh default (cleanProxyConfig). */
const CLEANED_WHEN_DEFAULT = [
  'configPath',
  'binaryPath',
  'serviceCluster',
  'drainDuration',
  'terminationDrainDuration',
  'proxyAdminPort',
  'controlPlaneAuthPolicy',
  'discoveryAddress',
  'statNameLength',
  'statusPort',
];

/** Istio's mesh.DefaultProxyConfig(), the baseline PROXY_CONFIG is compared against. */
export const DEFAULT_PROXY_CONFIG: JsonObject = {
  configPath: './etc/istio/proxy',
  binaryPath: '/usr/local/bin/envoy',
  serviceCluster: 'istio-proxy',
  drainDuration: '45s',
  terminationDrainDuration: '5s',
  proxyAdminPort: 15000,
  controlPlaneAuthPolicy: 'MUTUAL_TLS',
  discoveryAddress: 'istiod.istio-system.svc:15012',
  statNameLength: 189,
  statusPort: 15020,
};

const snakeToCamel = (k: string): string => k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function checkField(name: string, type: FieldType, value: unknown): string | undefined {
  const where = `field '${name}'`;
  switch (type) {
    case 'string':
    case 'oneofString':
      return typeof value === 'string' ? undefined : `${where} must be a string`;
    case 'duration':
      return typeof value === 'string' && /^-?\d+(\.\d+)?s$/.test(value) ? undefined : `${where} must be a duration like "45s"`;
    case 'int':
    case 'uint':
    case 'wrapperInt':
      return Number.isInteger(value) && (type === 'int' || (value as number) >= 0) ? undefined : `${where} must be an integer`;
    case 'bool':
    case 'wrapperBool':
      return typeof value === 'boolean' ? undefined : `${where} must be true or false`;
    case 'enum':
    case 'oneofEnum':
      return ENUMS[name]?.includes(value as string) ? undefined : `${where} must be one of ${ENUMS[name]?.join(', ')}`;
    case 'stringMap':
      if (!isPlainObject(value)) return `${where} must be a map of strings`;
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') return `${where}.${quoteValue(k)} must be a string (quote it)`;
      }
      return undefined;
    case 'list':
      return Array.isArray(value) ? undefined : `${where} must be a list`;
    case 'message':
      return isPlainObject(value) ? undefined : `${where} must be an object`;
  }
}

/**
 * Largest ProxyConfig document accepted (characters). A real one is a few hundred bytes (a few KiB with extra CA
 * certificates); the YAML parser needs about a microsecond per byte, so this bounds what one annotation costs.
 */
export const MAX_PROXY_CONFIG_LENGTH = 64 * 1024;
/** Deepest nesting of flow collections in a ProxyConfig document (the real ones nest 4 levels). */
const MAX_PROXY_CONFIG_DEPTH = 64;
/** YAML aliases expanded at most (billion-laughs documents fail instead of expanding). */
const MAX_ALIAS_COUNT = 100;

/** The first key that occurs twice in one map of the document, found in linear time (the parser's own check is quadratic). */
function duplicateKey(root: unknown): string | undefined {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        if (isScalar(pair.key)) {
          const id = `${typeof pair.key.value}:${String(pair.key.value)}`;
          if (seen.has(id)) return String(pair.key.value);
          seen.add(id);
        }
        stack.push(pair.key, pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) stack.push(item);
    }
  }
  return undefined;
}

/** YAML (or JSON) text to a JS value, bounded in time and memory: throws on syntax errors and duplicate keys. */
function parseBoundedYaml(text: string): unknown {
  // uniqueKeys off: the parser compares every key with every other; duplicateKey() does the same check in linear time.
  const doc = parseDocument(text, { uniqueKeys: false });
  const error = doc.errors[0];
  if (error) throw error;
  const duplicate = duplicateKey(doc.contents);
  if (duplicate !== undefined) throw new Error(`Map keys must be unique: '${quoteValue(duplicate)}' appears twice`);
  const value: unknown = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  try {
    JSON.stringify(value);
  } catch {
    // `&a {x: *a}`: the parser builds a cyclic object (Go's YAML parser refuses it too).
    throw new Error('an alias refers to the node that contains it (a recursive alias)');
  }
  return value;
}

/**
 * Parses and checks a ProxyConfig document (YAML or JSON; proto field names in lowerCamel or snake_case).
 * Returns the normalised object, or a message saying what is wrong.
 */
export function parseProxyConfigAnnotation(text: string): JsonObject | string {
  if (text.length > MAX_PROXY_CONFIG_LENGTH) {
    return `is ${text.length} characters long; a ProxyConfig may have at most ${MAX_PROXY_CONFIG_LENGTH}`;
  }
  // Flow collections ([...], {...}) nest as deep as the parser's stack allows: refused early, cheaply.
  if (jsonDepth(text, MAX_PROXY_CONFIG_DEPTH) > MAX_PROXY_CONFIG_DEPTH) return `is nested deeper than ${MAX_PROXY_CONFIG_DEPTH} levels`;
  let parsed: unknown;
  try {
    parsed = parseBoundedYaml(text);
  } catch (e) {
    return `not valid YAML or JSON: ${quoteValue((e as Error).message.split('\n')[0] ?? '')}`;
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isPlainObject(parsed)) return 'must be a ProxyConfig object (YAML or JSON)';
  const out: JsonObject = {};
  for (const [rawKey, value] of Object.entries(parsed)) {
    const key = snakeToCamel(rawKey);
    if (FORBIDDEN_KEYS.has(rawKey)) return `unknown field '${quoteValue(rawKey)}'`;
    const type = FIELD_TYPES.get(key);
    if (!type) return `unknown ProxyConfig field '${quoteValue(rawKey)}'`;
    if (value === null) continue;
    const problem = checkField(key, type, value);
    if (problem) return problem;
    out[key] = value as JsonObject[string];
  }
  return out;
}

/** Overlays `overlay` onto `base` as Istio merges ProxyConfigs: proxyMetadata key by key, other fields replaced. */
export function mergeProxyConfig(base: JsonObject, overlay: JsonObject): JsonObject {
  const out: JsonObject = { ...base, ...overlay };
  if (isPlainObject(base.proxyMetadata) && isPlainObject(overlay.proxyMetadata)) {
    out.proxyMetadata = { ...base.proxyMetadata, ...overlay.proxyMetadata };
  }
  return out;
}

function isDefaultValued(name: string, type: FieldType, value: unknown): boolean {
  if (value === undefined || value === null) return true;
  switch (type) {
    case 'string':
    case 'duration':
      return value === '' || (type === 'duration' && value === '0s');
    case 'int':
    case 'uint':
      return value === 0;
    case 'bool':
      return value === false;
    case 'enum':
      return value === ENUM_ZERO[name];
    case 'stringMap':
    case 'list':
      return Array.isArray(value) ? value.length === 0 : Object.keys(value as object).length === 0;
    default:
      return false; // messages, wrappers and oneof members are emitted whenever set
  }
}

function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeysDeep(value[k])]),
  );
}

/** JSON.stringify with Go's HTML-safe escaping of <, > and & (and U+2028/2029). */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `PROXY_CONFIG`: the effective ProxyConfig as compact proto-JSON without Istio's defaults (`{}` by default). */
export function proxyConfigJson(effective: JsonObject): string {
  const parts: string[] = [];
  for (const [name, type] of PROXY_CONFIG_FIELDS) {
    const value = effective[name];
    if (isDefaultValued(name, type, value)) continue;
    if (CLEANED_WHEN_DEFAULT.includes(name) && value === DEFAULT_PROXY_CONFIG[name]) continue;
    const encoded = type === 'stringMap' ? sortKeysDeep(value) : value;
    parts.push(`${goJson(name)}:${goJson(encoded)}`);
  }
  return `{${parts.join(',')}}`;
}
