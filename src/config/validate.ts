import type { JsonObject } from '../k8s/types.js';
import { compareQuantities } from '../inject/quantity.js';
import { isPlainObject } from '../util/json.js';
import { checkSidecarImages } from './imageReference.js';
import { checkIstioKeys } from './istioKeys.js';
import { PROFILE_NAMES } from './profiles.js';
import { CLUSTER_SIZE_SETTINGS, ConfigError, VALIDATION_MODES, type AdmissionLimits, type InjectorConfig, type SafetySettings } from './types.js';
import { describeValue } from '../util/describeValue.js';

/** Every top-level key of an injector configuration, in documentation order (exhaustive by construction). */
const KEY_SET: Record<keyof InjectorConfig, true> = {
  profile: true,
  policy: true,
  neverInjectSelector: true,
  alwaysInjectSelector: true,
  injectedAnnotations: true,
  excludedNamespaces: true,
  nativeSidecars: true,
  namespaceLabels: true,
  values: true,
  meshConfig: true,
  validation: true,
  safety: true,
  limits: true,
  clusterSize: true,
  servedRevision: true,
};
/** Keys only some profiles or installs have (kyma-module's size, a canary's revision); every other key is required. */
const OPTIONAL_KEYS: ReadonlySet<string> = new Set<keyof InjectorConfig>(['clusterSize', 'servedRevision']);
export const CONFIG_KEYS = Object.keys(KEY_SET) as readonly (keyof InjectorConfig)[];

export function isConfigKey(key: string): key is keyof InjectorConfig {
  return Object.hasOwn(KEY_SET, key);
}

/**
 * The top-level keys of a configuration file: the configuration's, and `istioCustomResource` (kyma-module), which the
 * loader merges into `values` and `meshConfig` (src/config/kymaIstio.ts) instead of keeping it.
 */
export const CONFIG_FILE_KEYS: readonly string[] = [...CONFIG_KEYS, 'istioCustomResource'];

const POLICIES = ['enabled', 'disabled'] as const;
const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
const INTERCEPTION_MODES = ['REDIRECT', 'TPROXY', 'NONE'] as const;
const READINESS_FIELDS = ['readinessInitialDelaySeconds', 'readinessPeriodSeconds', 'readinessFailureThreshold'] as const;

/** Kubernetes resource quantity (`resource.Quantity` syntax). */
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[numkMGTPE]|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/**
 * Checks a complete injector configuration (after profile, files and flags are merged) and returns it typed.
 * Throws a {@link ConfigError} naming the first offending path, the bad value and what is expected.
 */
export function validateConfig(cfg: unknown): InjectorConfig {
  if (!isPlainObject(cfg)) throw new ConfigError('', `must be a map of ${CONFIG_KEYS.join(', ')}; got ${show(cfg)}`);
  for (const key of Object.keys(cfg)) {
    if (!isConfigKey(key)) {
      throw new ConfigError(key, `unknown key; allowed top-level keys are ${CONFIG_KEYS.join(', ')}`);
    }
  }
  for (const key of CONFIG_KEYS) {
    if (cfg[key] === undefined && !OPTIONAL_KEYS.has(key)) throw new ConfigError(key, 'is missing');
  }
  validateClusterSize(cfg.clusterSize, cfg.profile);
  if (cfg.servedRevision !== undefined) {
    const problem = labelValueProblem(cfg.servedRevision);
    if (problem !== undefined) throw new ConfigError('servedRevision', `must be ${problem}; got ${show(cfg.servedRevision)} (without the key, values.revision is served)`);
  }

  oneOf(cfg.profile, 'profile', PROFILE_NAMES);
  oneOf(cfg.policy, 'policy', POLICIES);
  selectorList(cfg.neverInjectSelector, 'neverInjectSelector');
  selectorList(cfg.alwaysInjectSelector, 'alwaysInjectSelector');
  stringMap(cfg.injectedAnnotations, 'injectedAnnotations');
  stringList(cfg.excludedNamespaces, 'excludedNamespaces');
  if (typeof cfg.nativeSidecars !== 'boolean' && cfg.nativeSidecars !== 'auto') fail('nativeSidecars', cfg.nativeSidecars, 'true, false or "auto"');
  const namespaceLabels = map(cfg.namespaceLabels, 'namespaceLabels', 'a map of namespace name to a map of labels');
  for (const [ns, labels] of Object.entries(namespaceLabels)) stringMap(labels, `namespaceLabels.${ns}`);
  const values = map(cfg.values, 'values', 'a map of Helm values');
  const meshConfig = map(cfg.meshConfig, 'meshConfig', 'a map of MeshConfig fields');
  checkIstioKeys('values', values);
  checkIstioKeys('meshConfig', meshConfig);
  validateValues(values);
  validateMeshConfig(meshConfig);
  checkSidecarImages(values, meshConfig);
  const validation = map(cfg.validation, 'validation', 'a map with the key mode');
  for (const key of Object.keys(validation)) if (key !== 'mode') fail(`validation.${key}`, key, 'absent: the only key is mode');
  oneOf(validation.mode, 'validation.mode', VALIDATION_MODES);
  validateSafety(map(cfg.safety, 'safety', `a map with the keys ${SAFETY_KEYS.join(', ')}`));
  validateLimits(map(cfg.limits, 'limits', `a map with the keys ${LIMIT_KEYS.join(', ')}`));
  return cfg as unknown as InjectorConfig;
}

/** kyma-module's size as the loader sets it (src/config/load.ts reads the written `auto`/`evaluation`/`production`). */
function validateClusterSize(choice: unknown, profile: unknown): void {
  if (choice === undefined) return;
  if (profile !== 'kyma-module') throw new ConfigError('clusterSize', `applies only to the kyma-module profile; the profile is ${String(profile)}`);
  if (!isPlainObject(choice) || !(CLUSTER_SIZE_SETTINGS as readonly unknown[]).includes(choice.setting)) {
    fail('clusterSize', choice, `one of ${CLUSTER_SIZE_SETTINGS.join(', ')}`);
  }
  if (choice.setting === 'auto') map(choice.evaluationValues, 'clusterSize.evaluationValues', 'the evaluation size\'s Helm values');
}

/** A Kubernetes label value: at most 63 characters, alphanumerics, `-`, `_` and `.`, starting and ending alphanumeric. */
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/**
 * What makes `v` no revision name (Istio's revisions and tags are the values of the label `istio.io/rev`): undefined
 * for a non-empty label value, else what is expected (for `servedRevision` and `--revision`).
 */
export function labelValueProblem(v: unknown): string | undefined {
  if (typeof v === 'string' && LABEL_VALUE.test(v)) return undefined;
  if (v === '') return 'a revision name (not empty)';
  return 'a revision name, as a Kubernetes label value: at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit';
}

/** Every key of `limits`, in documentation order (exhaustive by construction). */
const LIMIT_KEY_SET: Record<keyof AdmissionLimits, true> = {
  labels: true,
  annotations: true,
  annotationBytes: true,
  containers: true,
  env: true,
  ports: true,
  volumes: true,
  volumeMounts: true,
  jsonTokens: true,
};
export const LIMIT_KEYS = Object.keys(LIMIT_KEY_SET) as readonly (keyof AdmissionLimits)[];
/** Largest value of a limit: far beyond what a body within the size limits can hold. */
const LIMIT_MAX = 100_000_000;

function validateLimits(limits: JsonObject): void {
  for (const key of Object.keys(limits)) {
    if (!Object.hasOwn(LIMIT_KEY_SET, key)) fail(`limits.${key}`, key, `absent: the keys are ${LIMIT_KEYS.join(', ')}`);
  }
  for (const key of LIMIT_KEYS) {
    const v = limits[key];
    if (v === undefined) throw new ConfigError(`limits.${key}`, 'is missing');
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > LIMIT_MAX) fail(`limits.${key}`, v, `an integer 1..${LIMIT_MAX}`);
  }
}

/** Every key of `safety`, in documentation order (exhaustive by construction). */
const SAFETY_KEY_SET: Record<keyof SafetySettings, true> = {
  allowedProxyImagePrefixes: true,
  forbiddenUserVolumeTypes: true,
  limitInjectedPrivileges: true,
  lockInjectedCommands: true,
  forbiddenInjectedEnv: true,
  stripOnlyInjectedContainers: true,
};
export const SAFETY_KEYS = Object.keys(SAFETY_KEY_SET) as readonly (keyof SafetySettings)[];

/** An environment variable name (anything but `=` and control characters), or a prefix: such a name ending in `*`. */
const ENV_PATTERN = /^[^=*\x00-\x20\x7f]+\*?$/;

function validateSafety(safety: JsonObject): void {
  for (const key of Object.keys(safety)) {
    if (!Object.hasOwn(SAFETY_KEY_SET, key)) fail(`safety.${key}`, key, `absent: the keys are ${SAFETY_KEYS.join(', ')}`);
  }
  for (const key of SAFETY_KEYS) if (safety[key] === undefined) throw new ConfigError(`safety.${key}`, 'is missing');
  stringList(safety.allowedProxyImagePrefixes, 'safety.allowedProxyImagePrefixes');
  stringList(safety.forbiddenUserVolumeTypes, 'safety.forbiddenUserVolumeTypes');
  boolean(safety.limitInjectedPrivileges, 'safety.limitInjectedPrivileges');
  boolean(safety.lockInjectedCommands, 'safety.lockInjectedCommands');
  boolean(safety.stripOnlyInjectedContainers, 'safety.stripOnlyInjectedContainers');
  stringList(safety.forbiddenInjectedEnv, 'safety.forbiddenInjectedEnv');
  (safety.forbiddenInjectedEnv as string[]).forEach((name, i) => {
    if (!ENV_PATTERN.test(name)) {
      fail(`safety.forbiddenInjectedEnv[${i}]`, name, 'an environment variable name (no "=", spaces or control characters), or a prefix ending in "*" such as "LD_*"');
    }
  });
}

/** Typed checks of the `values` fields the injector reads; everything else passes through to the template. */
function validateValues(values: JsonObject): void {
  const webhook = optionalMap(values.sidecarInjectorWebhook, 'values.sidecarInjectorWebhook');
  if (webhook && webhook.injectedAnnotations !== undefined && webhook.injectedAnnotations !== null) {
    stringMap(webhook.injectedAnnotations, 'values.sidecarInjectorWebhook.injectedAnnotations');
  }
  const global = optionalMap(values.global, 'values.global');
  if (!global) return;
  imageRef(global.hub, 'values.global.hub');
  imageRef(global.tag, 'values.global.tag');

  const proxy = optionalMap(global.proxy, 'values.global.proxy');
  if (proxy) {
    imageRef(proxy.image, 'values.global.proxy.image');
    if (proxy.statusPort !== undefined) port(proxy.statusPort, 'values.global.proxy.statusPort');
    for (const field of READINESS_FIELDS) {
      if (proxy[field] !== undefined) nonNegativeInteger(proxy[field], `values.global.proxy.${field}`);
    }
    resources(proxy.resources, 'values.global.proxy.resources');
  }
  const proxyInit = optionalMap(global.proxy_init, 'values.global.proxy_init');
  if (proxyInit) {
    imageRef(proxyInit.image, 'values.global.proxy_init.image');
    resources(proxyInit.resources, 'values.global.proxy_init.resources');
  }
}

function validateMeshConfig(mesh: JsonObject): void {
  if (mesh.enablePrometheusMerge !== undefined) boolean(mesh.enablePrometheusMerge, 'meshConfig.enablePrometheusMerge');
  const defaultConfig = optionalMap(mesh.defaultConfig, 'meshConfig.defaultConfig');
  if (!defaultConfig) return;
  if (defaultConfig.interceptionMode !== undefined) {
    oneOf(defaultConfig.interceptionMode, 'meshConfig.defaultConfig.interceptionMode', INTERCEPTION_MODES);
  }
  if (defaultConfig.statusPort !== undefined) port(defaultConfig.statusPort, 'meshConfig.defaultConfig.statusPort');
}

// ---- building blocks ------------------------------------------------------------------------------------------

/** A bad value in a configuration error: its type, and what a list or map holds (src/util/describeValue.ts). */
export function show(v: unknown): string {
  return describeValue(v, { content: true });
}

/** Throws a ConfigError: `<path>: must be <expected>; got <the value>`. */
export function fail(path: string, v: unknown, expected: string): never {
  throw new ConfigError(path, `must be ${expected}; got ${show(v)}`);
}

function map(v: unknown, path: string, expected = 'a map'): JsonObject {
  if (!isPlainObject(v)) fail(path, v, expected);
  return v;
}

/** A map that may be absent (`undefined`/`null`: the template treats it as empty). */
export function optionalMap(v: unknown, path: string): JsonObject | undefined {
  if (v === undefined || v === null) return undefined;
  return map(v, path);
}

function boolean(v: unknown, path: string): void {
  if (typeof v !== 'boolean') fail(path, v, 'true or false');
}

function oneOf(v: unknown, path: string, allowed: readonly string[]): void {
  if (typeof v !== 'string' || !allowed.includes(v)) fail(path, v, `one of ${allowed.join(', ')}`);
}

function stringMap(v: unknown, path: string): void {
  const m = map(v, path, 'a map of string to string');
  for (const [k, value] of Object.entries(m)) {
    if (typeof value !== 'string') fail(`${path}.${k}`, value, 'a string (quote numbers and booleans)');
  }
}

function stringList(v: unknown, path: string): void {
  if (!Array.isArray(v)) fail(path, v, 'a list of strings');
  v.forEach((item, i) => {
    if (typeof item !== 'string') fail(`${path}[${i}]`, item, 'a string');
  });
}

/**
 * Image hub/tag/name: a string when set. `--set` keeps the text of these fields and YAML files are refused with the
 * text as written before this; a number here came from JSON inside a map, whose text is gone (1.30 is 1.3 already).
 */
function imageRef(v: unknown, path: string): void {
  if (v === undefined || typeof v === 'string') return;
  if (typeof v === 'number' || typeof v === 'boolean') fail(path, v, 'a string: write it in quotes exactly as meant (e.g. "1.30", not 1.30)');
  fail(path, v, 'a string');
}

function nonNegativeInteger(v: unknown, path: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail(path, v, 'an integer >= 0');
}

function port(v: unknown, path: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) fail(path, v, 'an integer port 0..65535');
}

export function isQuantity(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v) && QUANTITY.test(String(v));
  return typeof v === 'string' && QUANTITY.test(v);
}

/** `{requests, limits}` of resource name → quantity; `null` anywhere means "leave it out" (Istio's omitNil). */
function resources(v: unknown, path: string): void {
  if (v === undefined || v === null) return;
  const m = map(v, path, 'a map with requests and/or limits');
  for (const [section, amounts] of Object.entries(m)) {
    if (section !== 'requests' && section !== 'limits') {
      throw new ConfigError(`${path}.${section}`, 'unknown key; expected requests and/or limits');
    }
    if (amounts === null || amounts === undefined) continue;
    const byResource = map(amounts, `${path}.${section}`, 'a map of resource name (cpu, memory, ...) to quantity');
    for (const [resource, quantity] of Object.entries(byResource)) {
      if (quantity !== null && !isQuantity(quantity)) {
        fail(`${path}.${section}.${resource}`, quantity, 'a Kubernetes quantity such as "100m", "128Mi", "1Gi" or null');
      }
    }
  }
  requestsWithinLimits(m, path);
}

/**
 * The API server refuses a container whose request is above its limit, so a configuration that makes every injected
 * container like that is refused at load (e.g. `--set values.global.proxy.resources.requests.cpu=500m` merged over a
 * 200m limit), naming both values and the two ways out.
 */
function requestsWithinLimits(m: JsonObject, path: string): void {
  const requests = isPlainObject(m.requests) ? m.requests : {};
  const limits = isPlainObject(m.limits) ? m.limits : {};
  for (const [resource, request] of Object.entries(requests)) {
    const limit = limits[resource];
    if (request === null || limit === null || limit === undefined) continue;
    const order = compareQuantities(request as string | number, limit as string | number);
    if (order !== undefined && order > 0) {
      throw new ConfigError(
        `${path}.requests.${resource}`,
        `${show(request)} is above ${path}.limits.${resource} ${show(limit)}; the API server would refuse every injected pod: lower the request or raise the limit`,
      );
    }
  }
}

function selectorList(v: unknown, path: string): void {
  if (!Array.isArray(v)) fail(path, v, 'a list of label selectors ({matchLabels, matchExpressions})');
  v.forEach((selector, i) => labelSelector(selector, `${path}[${i}]`));
}

function labelSelector(v: unknown, path: string): void {
  const selector = map(v, path, 'a label selector ({matchLabels, matchExpressions})');
  for (const key of Object.keys(selector)) {
    if (key !== 'matchLabels' && key !== 'matchExpressions') {
      throw new ConfigError(`${path}.${key}`, 'unknown key; a label selector has matchLabels and matchExpressions');
    }
  }
  if (selector.matchLabels !== undefined) stringMap(selector.matchLabels, `${path}.matchLabels`);
  if (selector.matchExpressions === undefined) return;
  const expressions = selector.matchExpressions;
  if (!Array.isArray(expressions)) fail(`${path}.matchExpressions`, expressions, 'a list of {key, operator, values}');
  expressions.forEach((expr, i) => selectorRequirement(expr, `${path}.matchExpressions[${i}]`));
}

function selectorRequirement(v: unknown, path: string): void {
  const req = map(v, path, 'a requirement {key, operator, values}');
  for (const key of Object.keys(req)) {
    if (key !== 'key' && key !== 'operator' && key !== 'values') {
      throw new ConfigError(`${path}.${key}`, 'unknown key; a requirement has key, operator and values');
    }
  }
  if (typeof req.key !== 'string' || req.key === '') fail(`${path}.key`, req.key, 'a non-empty label key');
  oneOf(req.operator, `${path}.operator`, SELECTOR_OPERATORS);
  const needsValues = req.operator === 'In' || req.operator === 'NotIn';
  if (req.values !== undefined) stringList(req.values, `${path}.values`);
  const count = Array.isArray(req.values) ? req.values.length : 0;
  if (needsValues && count === 0) fail(`${path}.values`, req.values, `a non-empty list of strings for operator ${req.operator}`);
  if (!needsValues && count > 0) fail(`${path}.values`, req.values, `empty for operator ${req.operator}`);
}
