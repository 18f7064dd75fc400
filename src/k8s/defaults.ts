/**
 * The defaults the Kubernetes API server applies to a Pod's containers and volumes when it is created
 * (kubernetes/kubernetes pkg/apis/core/v1/defaults.go and its generated zz_generated.defaults.go, with the
 * `+default` markers of k8s.io/api/core/v1), so that a container the injector renders can be compared with the one a
 * cluster stores. Only what an injected container or volume can carry; pod-level defaults (dnsPolicy,
 * schedulerName, ...) are not the injector's and are left out. Pure: the input is not changed.
 */
import type { Container, JsonObject, Volume } from './types.js';
import { isPlainObject } from '../util/json.js';

/** v1.TerminationMessagePathDefault, v1.TerminationMessageReadFile. */
export const TERMINATION_MESSAGE_PATH = '/dev/termination-log';
export const TERMINATION_MESSAGE_POLICY = 'File';
/** The defaultMode of configMap, secret, downwardAPI and projected volumes: 0644. */
export const VOLUME_DEFAULT_MODE = 420;
/** A serviceAccountToken projection's expirationSeconds when none is given: one hour. */
export const TOKEN_EXPIRATION_SECONDS = 3600;

/**
 * The tag of an image reference (parsers.ParseImageName): `latest` when it has neither a tag nor a digest, empty
 * when it has only a digest.
 */
export function imageTag(image: string): string {
  const [name = '', digest] = image.split('@', 2);
  const lastPart = name.slice(name.lastIndexOf('/') + 1);
  const colon = lastPart.indexOf(':');
  const tag = colon >= 0 ? lastPart.slice(colon + 1) : '';
  return tag === '' && digest === undefined ? 'latest' : tag;
}

/** SetDefaults_Container: Always for an image tagged (or defaulting to) latest, else IfNotPresent. */
export function defaultImagePullPolicy(image: string | undefined): string {
  return imageTag(image ?? '') === 'latest' ? 'Always' : 'IfNotPresent';
}

const obj = (v: unknown): JsonObject | undefined => (isPlainObject(v) ? v : undefined);

/** SetDefaults_HTTPGetAction: path `/`, scheme HTTP. */
function httpGet(action: JsonObject): JsonObject {
  return { ...action, path: action['path'] || '/', scheme: action['scheme'] || 'HTTP' };
}

/** The handler of a probe or lifecycle hook: httpGet defaulted, a gRPC probe's service `""` (its `+default`). */
function handler<T extends JsonObject>(h: T): T {
  const out: JsonObject = { ...h };
  const get = obj(h['httpGet']);
  if (get) out['httpGet'] = httpGet(get);
  const grpc = obj(h['grpc']);
  if (grpc && (grpc['service'] === undefined || grpc['service'] === null)) out['grpc'] = { ...grpc, service: '' };
  return out as T;
}

/** SetDefaults_Probe: timeout 1 s, period 10 s, success threshold 1, failure threshold 3. */
function probe(p: JsonObject): JsonObject {
  return {
    ...handler(p),
    timeoutSeconds: p['timeoutSeconds'] || 1,
    periodSeconds: p['periodSeconds'] || 10,
    successThreshold: p['successThreshold'] || 1,
    failureThreshold: p['failureThreshold'] || 3,
  };
}

/** An env var: fieldRef.apiVersion v1; a resourceFieldRef without a divisor is stored with divisor "0" (the zero Quantity). */
function envVar(e: unknown): unknown {
  const env = obj(e);
  const from = obj(env?.['valueFrom']);
  if (!env || !from) return e;
  const out: JsonObject = { ...from };
  const fieldRef = obj(from['fieldRef']);
  if (fieldRef) out['fieldRef'] = { ...fieldRef, apiVersion: fieldRef['apiVersion'] || 'v1' };
  const resourceFieldRef = obj(from['resourceFieldRef']);
  if (resourceFieldRef) out['resourceFieldRef'] = { ...resourceFieldRef, divisor: resourceFieldRef['divisor'] ?? '0' };
  return { ...env, valueFrom: out };
}

/** SetDefaults_Pod: a resource with a limit and no request gets the limit as its request. */
function resources(r: unknown): JsonObject {
  const res = obj(r) ?? {};
  const limits = obj(res['limits']);
  if (!limits || Object.keys(limits).length === 0) return { ...res };
  return { ...res, requests: { ...limits, ...(obj(res['requests']) ?? {}) } };
}

/**
 * A container as the API server stores it in a created Pod (SetDefaults_Container, SetDefaults_Pod, the generated
 * defaulters): imagePullPolicy, terminationMessagePath and -Policy, port protocol TCP, env field references,
 * requests from limits, probe and lifecycle handler defaults, and `resources: {}` when it has none.
 */
export function apiServerContainer(c: Container): Container {
  const out: Container = {
    ...c,
    imagePullPolicy: c.imagePullPolicy || defaultImagePullPolicy(c.image),
    terminationMessagePath: (c['terminationMessagePath'] as string | undefined) || TERMINATION_MESSAGE_PATH,
    terminationMessagePolicy: (c['terminationMessagePolicy'] as string | undefined) || TERMINATION_MESSAGE_POLICY,
    resources: resources(c.resources),
  };
  if (Array.isArray(c.ports)) out.ports = c.ports.map((p) => (isPlainObject(p) ? { ...p, protocol: (p.protocol as string | undefined) || 'TCP' } : p));
  if (Array.isArray(c.env)) out.env = c.env.map(envVar) as Container['env'];
  for (const field of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
    const p = obj(c[field]);
    if (p) out[field] = probe(p);
  }
  const lifecycle = obj(c.lifecycle);
  if (lifecycle) {
    const hooks: JsonObject = { ...lifecycle };
    for (const hook of ['postStart', 'preStop']) {
      const h = obj(lifecycle[hook]);
      if (h) hooks[hook] = handler(h);
    }
    out.lifecycle = hooks;
  }
  return out;
}

/** A downwardAPI item list: each fieldRef with apiVersion v1. */
function downwardItems(items: unknown): unknown {
  if (!Array.isArray(items)) return items;
  return items.map((item) => {
    const i = obj(item);
    const fieldRef = obj(i?.['fieldRef']);
    return i && fieldRef ? { ...i, fieldRef: { ...fieldRef, apiVersion: fieldRef['apiVersion'] || 'v1' } } : item;
  });
}

/** The sources a volume can have: no source at all is an emptyDir (SetDefaults_Volume). */
const SOURCE_FIELDS_EXCLUDED = new Set(['name']);

/**
 * A volume as the API server stores it: no source → `emptyDir: {}`; configMap, secret, downwardAPI and projected
 * sources with defaultMode 420; downwardAPI field references with apiVersion v1; a serviceAccountToken projection
 * with expirationSeconds 3600 when it gives none; a hostPath's type `""`.
 */
export function apiServerVolume(v: Volume): Volume {
  const sources = Object.keys(v).filter((k) => !SOURCE_FIELDS_EXCLUDED.has(k) && v[k] !== undefined && v[k] !== null);
  if (sources.length === 0) return { ...v, emptyDir: {} };
  const out: Volume = { ...v };
  for (const kind of ['configMap', 'secret'] as const) {
    const src = obj(v[kind]);
    if (src) out[kind] = { ...src, defaultMode: src['defaultMode'] ?? VOLUME_DEFAULT_MODE };
  }
  const downward = obj(v['downwardAPI']);
  if (downward) out['downwardAPI'] = { ...downward, defaultMode: downward['defaultMode'] ?? VOLUME_DEFAULT_MODE, items: downwardItems(downward['items']) as JsonObject[] };
  const projected = obj(v['projected']);
  if (projected) {
    const sourcesList = Array.isArray(projected['sources'])
      ? projected['sources'].map((s) => {
          const source = obj(s);
          if (!source) return s;
          const next: JsonObject = { ...source };
          const token = obj(source['serviceAccountToken']);
          if (token) next['serviceAccountToken'] = { ...token, expirationSeconds: token['expirationSeconds'] ?? TOKEN_EXPIRATION_SECONDS };
          const dapi = obj(source['downwardAPI']);
          if (dapi) next['downwardAPI'] = { ...dapi, items: downwardItems(dapi['items']) as JsonObject[] };
          return next;
        })
      : projected['sources'];
    out['projected'] = { ...projected, defaultMode: projected['defaultMode'] ?? VOLUME_DEFAULT_MODE, ...(sourcesList !== undefined ? { sources: sourcesList } : {}) };
  }
  const hostPath = obj(v['hostPath']);
  if (hostPath) out['hostPath'] = { ...hostPath, type: hostPath['type'] ?? '' };
  return out;
}
