/**
 * The difference view of `mesh-webhook outdated --diff`: every field of what an injector put into a running pod
 * (`live`: as the cluster stores it) against what mesh-webhook injects into the same pod (`ours`: as the injector
 * renders it). Pure: data in, a list of {@link SidecarDifference} out.
 *
 * Compared:
 * - the injected containers, by name, wherever they are (istio-init, istio-validation, istio-proxy, enable-core-dump,
 *   and any other name a `sidecar.istio.io/status` annotation lists): `containers[istio-proxy]` or
 *   `initContainers[istio-proxy]` (classic or native sidecar); every field, with the lists Kubernetes keys by a field
 *   keyed the same way (`env[NAME]`, `ports[15090]`, `volumeMounts[/etc/istio/proxy]`), other lists of objects by
 *   index (`[0]`), lists of scalars (args, command, capabilities) whole; a container on one side only is one
 *   difference, one that moved between `containers` and `initContainers` is that, then its fields under ours' list;
 *   and the order of each container list when the containers both sides have are ordered differently
 *   (`containers.order`);
 * - `env[PROXY_CONFIG]` as parsed JSON, key by key (`env[PROXY_CONFIG].proxyMetadata.ISTIO_META_DNS_CAPTURE`);
 *   other env values that are JSON on both sides compared parsed (formatting aside);
 * - the injected volumes (the names either side's `sidecar.istio.io/status` lists) and image pull secrets;
 * - the labels and annotations an injector sets ({@link INJECTOR_LABELS}, {@link INJECTOR_ANNOTATIONS}, and any
 *   other key ours added to the pod it was given), `sidecar.istio.io/status` by its parsed content.
 *
 * The live pod went through the API server: ours is given its defaults first (src/k8s/defaults.ts), quantities are
 * compared canonically, Go's omitted empty values (`""`, `[]`, `readOnly: false`, ...) count as absent on both sides,
 * and what only the API server adds to containers (the service account token's `kube-api-access-*` mount) is left
 * out.
 */
import { isDeepStrictEqual } from 'node:util';
import { A, L } from '../inject/annotations.js';
import { CORE_DUMP_CONTAINER, INIT_CONTAINER, PROXY_CONTAINER, VALIDATION_CONTAINER, type ContainerList } from '../inject/containers.js';
import { canonicalQuantity } from '../inject/quantity.js';
import { apiServerContainer, apiServerVolume } from '../k8s/defaults.js';
import type { Container, JsonValue, Pod, Volume } from '../k8s/types.js';
import { isPlainObject } from '../util/json.js';

export interface SidecarDifference {
  /** JSON-path-like: `initContainers[istio-proxy].env[PROXY_CONFIG].holdApplicationUntilProxyStarts`. */
  field: string;
  /** The live pod's value; null when it has none. A whole container, volume or pull secret is `"present"`. */
  live: JsonValue;
  /** What mesh-webhook injects; null when it sets none. */
  ours: JsonValue;
}

/** The value of a whole container, volume or image pull secret that one side has. */
export const PRESENT = 'present';

/** Labels an injector sets on the pod (Istio's sidecar template and post-processing). */
export const INJECTOR_LABELS: readonly string[] = [L.tlsMode, L.canonicalName, L.canonicalRevision, L.network, L.tunnel];

/** Annotations an injector sets on the pod. */
export const INJECTOR_ANNOTATIONS: readonly string[] = [
  A.rev,
  A.status,
  A.defaultContainer,
  A.defaultLogsContainer,
  'prometheus.io/scrape',
  'prometheus.io/path',
  'prometheus.io/port',
  A.securePort,
  A.overrides,
  // Istio CNI: the settings istio-init would have taken as arguments, for the CNI plugin.
  A.interceptionMode,
  A.includeOutboundIPRanges,
  A.excludeOutboundIPRanges,
  A.includeInboundPorts,
  A.excludeInboundPorts,
  A.includeOutboundPorts,
  A.excludeOutboundPorts,
  A.kubevirtInterfaces,
  A.rerouteVirtualInterfaces,
  A.excludeInterfaces,
  A.cniNetworks,
];

const KNOWN_CONTAINERS = [INIT_CONTAINER, VALIDATION_CONTAINER, PROXY_CONTAINER, CORE_DUMP_CONTAINER];
const LISTS: readonly ContainerList[] = ['initContainers', 'containers'];
const PROXY_CONFIG_ENV = 'PROXY_CONFIG';
/** Where the service account admission mounts the API token into every container: not the injector's. */
const SERVICE_ACCOUNT_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
const SERVICE_ACCOUNT_VOLUME = /^kube-api-access-/;

/** Lists Kubernetes keys by a field of their items (the patch merge keys), by the name of the list. */
const LIST_KEYS: Record<string, (item: Record<string, unknown>) => string | undefined> = {
  env: (i) => str(i['name']),
  ports: (i) => (i['containerPort'] === undefined ? undefined : `${String(i['containerPort'])}${i['protocol'] && i['protocol'] !== 'TCP' ? `/${String(i['protocol'])}` : ''}`),
  volumeMounts: (i) => str(i['mountPath']),
  volumeDevices: (i) => str(i['devicePath']),
  resizePolicy: (i) => str(i['resourceName']),
  claims: (i) => str(i['name']),
  httpHeaders: (i) => str(i['name']),
  items: (i) => str(i['path']),
};

/** Fields Go omits when false or 0 (not pointers): absent and zero are the same stored value. */
const OMITTED_ZERO = new Set(['readOnly', 'stdin', 'stdinOnce', 'tty', 'initialDelaySeconds', 'hostPort']);

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The leaves of one side (path → value), and the items of its keyed lists (`env[NAME]`, `ports[15090]`) whole. */
class Leaves extends Map<string, JsonValue> {
  readonly items = new Map<string, JsonValue>();
}

/** Flattens `value` at `path` into leaves: objects by key, keyed lists by key, other object lists by index. */
function flatten(value: unknown, path: string, key: string, out: Leaves): void {
  if (value === undefined || value === null || value === '') return;
  if (OMITTED_ZERO.has(key) && (value === false || value === 0)) return;
  if (Array.isArray(value)) {
    if (value.length === 0) return;
    const keyOf = Object.hasOwn(LIST_KEYS, key) ? LIST_KEYS[key] : undefined;
    if (value.every(isPlainObject) && keyOf) {
      const seen = new Map<string, number>();
      value.forEach((item, i) => {
        let k = keyOf(item) ?? String(i);
        const n = (seen.get(k) ?? 0) + 1;
        seen.set(k, n);
        if (n > 1) k = `${k}#${n}`;
        flattenItem(item, `${path}[${k}]`, key, out);
      });
    } else if (value.some(isPlainObject)) {
      value.forEach((item, i) => flatten(item, `${path}[${i}]`, '', out));
    } else {
      out.set(path, value as JsonValue);
    }
    return;
  }
  if (isPlainObject(value)) {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined);
    if (keys.length === 0) {
      out.set(path, {});
      return;
    }
    for (const k of keys) flatten(value[k], `${path}.${k}`, k, out);
    return;
  }
  out.set(path, value as JsonValue);
}

/** One item of a keyed list: an env var is its value (`env[NAME]`) unless it takes it from somewhere (`.valueFrom`). */
function flattenItem(item: Record<string, unknown>, path: string, list: string, out: Leaves): void {
  let fields = item;
  if (list === 'env') {
    if (item['valueFrom'] === undefined) {
      const value = typeof item['value'] === 'string' ? item['value'] : '';
      out.set(path, value);
      out.items.set(path, value);
      return;
    }
    const { name: _name, ...rest } = item;
    fields = rest;
  }
  out.items.set(path, fields as JsonValue);
  const keys = Object.keys(fields).filter((k) => fields[k] !== undefined);
  if (keys.length === 0) out.set(path, {});
  for (const k of keys) flatten(fields[k], `${path}.${k}`, k, out);
}

/** Quantities in canonical form (resources and resourceFieldRef divisors), the rest unchanged. */
function canonical(path: string, value: JsonValue): JsonValue {
  if ((/\.resources\.(limits|requests)\./.test(path) || path.endsWith('.divisor')) && (typeof value === 'string' || typeof value === 'number')) {
    try {
      return canonicalQuantity(value);
    } catch {
      return value;
    }
  }
  return value;
}

function parseJson(text: JsonValue): unknown {
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Same stored value: equal, or JSON text (an object or list) that parses to the same value. */
function same(a: JsonValue, b: JsonValue): boolean {
  if (isDeepStrictEqual(a, b)) return true;
  const pa = parseJson(a);
  const pb = parseJson(b);
  return typeof pa === 'object' && pa !== null && isDeepStrictEqual(pa, pb);
}

/** Leaves of a JSON object (PROXY_CONFIG, sidecar.istio.io/status): nested keys joined by dots, lists whole. */
function jsonLeaves(value: Record<string, unknown>, prefix: string, out: Leaves): void {
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    if (isPlainObject(v) && Object.keys(v).length > 0) jsonLeaves(v, `${prefix}.${k}`, out);
    else out.set(`${prefix}.${k}`, v as JsonValue);
  }
}

/** PROXY_CONFIG key by key when it is a JSON object on both sides; otherwise compared as text. */
function expandProxyConfig(live: Leaves, ours: Leaves): void {
  for (const path of new Set([...live.keys(), ...ours.keys()])) {
    if (!path.endsWith(`.env[${PROXY_CONFIG_ENV}]`)) continue;
    const a = parseJson(live.get(path) ?? null);
    const b = parseJson(ours.get(path) ?? null);
    if (!isPlainObject(a) || !isPlainObject(b)) continue;
    live.delete(path);
    ours.delete(path);
    jsonLeaves(a, path, live);
    jsonLeaves(b, path, ours);
  }
}

/** Whether `leaves` has a value below `path` (`path.x`, `path[k]`). */
const hasBelow = (leaves: Leaves, path: string): boolean => [...leaves.keys()].some((k) => k.startsWith(`${path}.`) || k.startsWith(`${path}[`));

const isEmptyObject = (v: JsonValue): boolean => isPlainObject(v) && Object.keys(v).length === 0;

function compareLeaves(live: Leaves, ours: Leaves, out: SidecarDifference[]): void {
  const found: SidecarDifference[] = [];
  // An item of a keyed list on one side only is one difference, not one per field.
  const oneSided: string[] = [];
  for (const [path, value] of live.items) if (!ours.items.has(path)) (oneSided.push(path), found.push({ field: path, live: value, ours: null }));
  for (const [path, value] of ours.items) if (!live.items.has(path)) (oneSided.push(path), found.push({ field: path, live: null, ours: value }));
  const inOneSided = (path: string) => oneSided.some((p) => path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`));
  for (const path of new Set([...live.keys(), ...ours.keys()])) {
    if (inOneSided(path)) continue;
    const a = canonical(path, live.get(path) ?? null);
    const b = canonical(path, ours.get(path) ?? null);
    if (same(a, b)) continue;
    // `emptyDir: {}` against `emptyDir: {medium: Memory}`: the fields below say what differs.
    if ((isEmptyObject(a) && b === null && hasBelow(ours, path)) || (isEmptyObject(b) && a === null && hasBelow(live, path))) continue;
    found.push({ field: path, live: a, ours: b });
  }
  out.push(...found.sort((x, y) => (x.field < y.field ? -1 : x.field > y.field ? 1 : 0)));
}

const isServiceAccountMount = (m: unknown): boolean =>
  isPlainObject(m) && (m['mountPath'] === SERVICE_ACCOUNT_MOUNT_PATH || (typeof m['name'] === 'string' && SERVICE_ACCOUNT_VOLUME.test(m['name'])));

/** A container without what only the API server adds to it (the service account token mount). */
function withoutApiServerParts(c: Container): Container {
  if (!Array.isArray(c.volumeMounts)) return c;
  return { ...c, volumeMounts: c.volumeMounts.filter((m) => !isServiceAccountMount(m)) };
}

function containerLeaves(c: Container, path: string): Leaves {
  const out = new Leaves();
  const { name: _name, ...fields } = c;
  for (const [k, v] of Object.entries(fields)) flatten(v, `${path}.${k}`, k, out);
  return out;
}

interface Status {
  containers: string[];
  volumes: string[];
  imagePullSecrets: string[];
}

function statusOf(pod: Pod): Status {
  const parsed = parseJson(pod.metadata?.annotations?.[A.status] ?? null);
  const names = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  const s = isPlainObject(parsed) ? parsed : {};
  return { containers: [...names(s['initContainers']), ...names(s['containers'])], volumes: names(s['volumes']), imagePullSecrets: names(s['imagePullSecrets']) };
}

/** Where each container of the pod is: its list and the container. */
function containersOf(pod: Pod): Map<string, { list: ContainerList; container: Container }> {
  const found = new Map<string, { list: ContainerList; container: Container }>();
  for (const list of LISTS) {
    const items: unknown = pod.spec?.[list];
    if (!Array.isArray(items)) continue;
    for (const c of items) {
      if (isPlainObject(c) && typeof c['name'] === 'string' && !found.has(c['name'])) found.set(c['name'], { list, container: c as unknown as Container });
    }
  }
  return found;
}

const unique = (names: Iterable<string>): string[] => [...new Set(names)];

function compareContainers(live: Pod, ours: Pod, names: string[], out: SidecarDifference[]): void {
  const liveContainers = containersOf(live);
  const ourContainers = containersOf(ours);
  for (const name of names) {
    const a = liveContainers.get(name);
    const b = ourContainers.get(name);
    if (!a && !b) continue;
    if (!a || !b || a.list !== b.list) {
      if (a) out.push({ field: `${a.list}[${name}]`, live: PRESENT, ours: null });
      if (b) out.push({ field: `${b.list}[${name}]`, live: null, ours: PRESENT });
      if (!a || !b) continue;
    }
    const path = `${b.list}[${name}]`;
    const liveLeaves = containerLeaves(withoutApiServerParts(a.container), path);
    const ourLeaves = containerLeaves(apiServerContainer(b.container), path);
    expandProxyConfig(liveLeaves, ourLeaves);
    compareLeaves(liveLeaves, ourLeaves, out);
  }
}

/** The order of each container list, when the containers both pods have in it come in another order. */
function compareOrder(live: Pod, ours: Pod, out: SidecarDifference[]): void {
  for (const list of LISTS) {
    const namesIn = (pod: Pod) => (Array.isArray(pod.spec?.[list]) ? pod.spec[list].map((c) => (isPlainObject(c) ? c.name : undefined)).filter((n): n is string => typeof n === 'string') : []);
    const a = namesIn(live);
    const b = namesIn(ours);
    const common = (xs: string[], other: string[]) => xs.filter((n) => other.includes(n));
    if (!isDeepStrictEqual(common(a, b), common(b, a))) out.push({ field: `${list}.order`, live: a.join(','), ours: b.join(',') });
  }
}

function volumesByName(pod: Pod): Map<string, Volume> {
  const found = new Map<string, Volume>();
  const items: unknown = pod.spec?.volumes;
  if (Array.isArray(items)) for (const v of items) if (isPlainObject(v) && typeof v['name'] === 'string' && !found.has(v['name'])) found.set(v['name'], v as Volume);
  return found;
}

function compareVolumes(live: Pod, ours: Pod, names: string[], out: SidecarDifference[]): void {
  const liveVolumes = volumesByName(live);
  const ourVolumes = volumesByName(ours);
  for (const name of names) {
    const a = liveVolumes.get(name);
    const b = ourVolumes.get(name);
    const path = `volumes[${name}]`;
    if (!a && !b) continue;
    if (!a || !b) {
      out.push({ field: path, live: a ? PRESENT : null, ours: b ? PRESENT : null });
      continue;
    }
    const leaves = (v: Volume) => {
      const l = new Leaves();
      const { name: _n, ...fields } = v;
      for (const [k, x] of Object.entries(fields)) flatten(x, `${path}.${k}`, k, l);
      return l;
    };
    compareLeaves(leaves(a), leaves(apiServerVolume(b)), out);
  }
}

function pullSecretNames(pod: Pod): Set<string> {
  const items: unknown = pod.spec?.imagePullSecrets;
  return new Set(Array.isArray(items) ? items.map((s) => (isPlainObject(s) ? s['name'] : undefined)).filter((n): n is string => typeof n === 'string') : []);
}

function comparePullSecrets(live: Pod, ours: Pod, names: string[], out: SidecarDifference[]): void {
  const a = pullSecretNames(live);
  const b = pullSecretNames(ours);
  for (const name of names) {
    if (a.has(name) !== b.has(name)) out.push({ field: `imagePullSecrets[${name}]`, live: a.has(name) ? PRESENT : null, ours: b.has(name) ? PRESENT : null });
  }
}

type MetaField = 'labels' | 'annotations';

function metaOf(pod: Pod | undefined, field: MetaField): Record<string, unknown> {
  const m: unknown = pod?.metadata?.[field];
  return isPlainObject(m) ? m : {};
}

function compareMetadata(live: Pod, ours: Pod, input: Pod | undefined, field: MetaField, known: readonly string[], out: SidecarDifference[]): void {
  const a = metaOf(live, field);
  const b = metaOf(ours, field);
  const given = metaOf(input, field);
  // What ours set: the known keys, and any key whose value ours changed from the pod it was given.
  const added = input ? Object.keys(b).filter((k) => !isDeepStrictEqual(b[k], given[k])) : [];
  const keys = unique([...known, ...added]).sort();
  for (const key of keys) {
    const path = `${field}[${key}]`;
    const va = typeof a[key] === 'string' ? a[key] : null;
    const vb = typeof b[key] === 'string' ? b[key] : null;
    if (field === 'annotations' && key === A.status) {
      const pa = parseJson(va);
      const pb = parseJson(vb);
      if (isPlainObject(pa) && isPlainObject(pb)) {
        const la = new Leaves();
        const lb = new Leaves();
        jsonLeaves(pa, path, la);
        jsonLeaves(pb, path, lb);
        compareLeaves(la, lb, out);
        continue;
      }
    }
    if (va !== vb) out.push({ field: path, live: va, ours: vb });
  }
}

export interface SidecarDiffInput {
  /** The running pod, as the cluster stores it. */
  live: Pod;
  /** What mesh-webhook injects into it, as the injector renders it (before the API server's defaults). */
  ours: Pod;
  /** The pod ours was injected from (the live pod without its injection): its labels and annotations are not ours. */
  input?: Pod;
}

/**
 * Every difference between the injected parts of `live` and of `ours`: containers (init containers first), the
 * container order, volumes, image pull secrets, annotations, labels.
 */
export function sidecarDifferences({ live, ours, input }: SidecarDiffInput): SidecarDifference[] {
  const out: SidecarDifference[] = [];
  const liveStatus = statusOf(live);
  const ourStatus = statusOf(ours);
  const present = new Set([...containersOf(live).keys(), ...containersOf(ours).keys()]);
  const containerNames = unique([...liveStatus.containers, ...ourStatus.containers, ...KNOWN_CONTAINERS.filter((n) => present.has(n))]);
  compareContainers(live, ours, containerNames, out);
  compareOrder(live, ours, out);
  compareVolumes(live, ours, unique([...liveStatus.volumes, ...ourStatus.volumes]), out);
  comparePullSecrets(live, ours, unique([...liveStatus.imagePullSecrets, ...ourStatus.imagePullSecrets]), out);
  compareMetadata(live, ours, input, 'annotations', INJECTOR_ANNOTATIONS, out);
  compareMetadata(live, ours, input, 'labels', INJECTOR_LABELS, out);
  return out;
}
