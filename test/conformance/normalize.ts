/**
 * Normalisation and comparison for the Istio conformance cases (test/fixtures/istio/README.md).
 *
 * - `normalizeGo`: treats Go zero-value serialisation artefacts as absent (both sides) and canonicalises
 *   resource quantities so `2000m` ≡ `2`, `1024Mi` ≡ `1Gi`.
 * - `normalizeWebhookPod`: the webhook-mode extras (status annotation removed, fieldRef.apiVersion cleared).
 * - `firstDiff`: deep equality reporting the first differing path (list order significant, key order not).
 *
 * Pure functions only.
 */
import { isObj, type Json, type JsonObj } from './convert.js';

export const STATUS_ANNOTATION = 'sidecar.istio.io/status';

// ---------------------------------------------------------------------------------------------------------------
// Quantities
// ---------------------------------------------------------------------------------------------------------------

const BINARY_SUFFIX: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};
const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

const QUANTITY_RE = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

/**
 * The exact value of a Kubernetes quantity as a plain decimal string (`"2"`, `"0.1"`, `"1073741824"`),
 * or `undefined` when `v` is not a valid quantity. Values with more precision than Kubernetes keeps are kept exact.
 */
export function canonicalQuantity(v: unknown): string | undefined {
  let s: string;
  if (typeof v === 'number' && Number.isFinite(v)) s = String(v);
  else if (typeof v === 'string') s = v.trim();
  else return undefined;
  const m = QUANTITY_RE.exec(s);
  if (!m) return undefined;
  const [, sign = '', num = '', suffix, exp] = m;
  const [intPart = '', fracPart = ''] = num.split('.');
  // value = digits × 10^scale × mult
  let digits = BigInt((intPart || '0') + fracPart);
  let scale = -fracPart.length;
  if (suffix !== undefined && suffix in BINARY_SUFFIX) digits *= BINARY_SUFFIX[suffix]!;
  else if (suffix !== undefined) scale += DECIMAL_SUFFIX[suffix]!;
  else if (exp !== undefined) scale += Number(exp);
  if (digits === 0n) return '0';
  // strip trailing zeros
  while (digits % 10n === 0n) {
    digits /= 10n;
    scale += 1;
  }
  let out: string;
  if (scale >= 0) out = digits.toString() + '0'.repeat(scale);
  else {
    const d = digits.toString();
    const pad = -scale;
    out = d.length > pad ? `${d.slice(0, d.length - pad)}.${d.slice(d.length - pad)}` : `0.${'0'.repeat(pad - d.length)}${d}`;
  }
  return sign === '-' ? `-${out}` : out;
}

function canonicalQuantityMap(m: JsonObj): JsonObj {
  const out: JsonObj = {};
  for (const [k, v] of Object.entries(m)) {
    const q = canonicalQuantity(v);
    out[k] = q === undefined ? v : q;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Go zero-value artefacts
// ---------------------------------------------------------------------------------------------------------------

function isEmptyObj(v: Json | undefined): boolean {
  return isObj(v) && Object.keys(v).length === 0;
}

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);
const EMPTY_DROPPED_KEYS = new Set(['status', 'strategy', 'updateStrategy']);

/** True when every leaf of `v` is a Go zero value (0, false, "", null, empty map/list). */
function allZero(v: Json | undefined): boolean {
  if (v === undefined || v === null || v === 0 || v === false || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isObj(v)) return Object.values(v).every(allZero);
  return false;
}

/**
 * Go zero-value artefacts treated as absent (README "Comparison 1"):
 *  `status: {}`, `strategy: {}`, `updateStrategy: {}`, container `resources: {}`, `metadata: {}` /
 *  `creationTimestamp: null`, all-zero DeploymentConfig status counters. The all-zero `status` rule is applied to
 *  every top-level object (and List item): DaemonSet/StatefulSet/ReplicaSet goldens carry the same Go artefact
 *  (`status: {replicas: 0, ...}`) as DeploymentConfig.
 * DeploymentConfig only (the same Go round-trip, see report): `spec.strategy.resources: {}`, and the zero-valued
 *  scalars `spec.test: false`, `spec.paused: false`, `spec.minReadySeconds: 0`.
 * NOT dropped: `emptyDir: {}`, `containers: []`, or any other empty value.
 * Quantities under `resources.limits` / `resources.requests` (and `resourceFieldRef.divisor`, `emptyDir.sizeLimit`)
 * are replaced by their canonical decimal value.
 *
 * Returns a new value; the input is not modified.
 */
export function normalizeGo(v: Json): Json {
  const out = walk(v, undefined);
  topLevel(out);
  return out;
}

/** Object-level fixups: a workload's all-zero `status` counters (Go ints without omitempty), DeploymentConfig spec. */
function topLevel(doc: Json): void {
  if (!isObj(doc)) return;
  if (doc.kind === 'List' && Array.isArray(doc.items)) {
    for (const item of doc.items) topLevel(item);
    return;
  }
  if (typeof doc.kind !== 'string') return;
  if (doc.status !== undefined && allZero(doc.status)) delete doc.status;
  if (doc.kind === 'DeploymentConfig') normalizeDeploymentConfig(doc);
}

function walk(v: Json, parentKey: string | undefined): Json {
  if (Array.isArray(v)) {
    const inContainerList = parentKey !== undefined && CONTAINER_LISTS.has(parentKey);
    return v.map((item) => {
      const n = walk(item, undefined);
      if (inContainerList && isObj(n) && isEmptyObj(n.resources)) delete n.resources;
      return n;
    });
  }
  if (!isObj(v)) return v;

  const out: JsonObj = {};
  for (const [k, child] of Object.entries(v)) {
    if (child === undefined) continue;
    let n = walk(child, k);
    if ((k === 'limits' || k === 'requests') && parentKey === 'resources' && isObj(n)) n = canonicalQuantityMap(n);
    if ((k === 'divisor' && parentKey === 'resourceFieldRef') || (k === 'sizeLimit' && parentKey === 'emptyDir')) {
      const q = canonicalQuantity(n);
      if (q !== undefined) n = q;
    }
    if (k === 'metadata' && isObj(n)) {
      if (n.creationTimestamp === null) delete n.creationTimestamp;
      if (isEmptyObj(n)) continue;
    }
    if (EMPTY_DROPPED_KEYS.has(k) && isEmptyObj(n)) continue;
    out[k] = n;
  }
  return out;
}

function normalizeDeploymentConfig(dc: JsonObj): void {
  const spec = dc.spec;
  if (!isObj(spec)) return;
  if (spec.test === false) delete spec.test;
  if (spec.paused === false) delete spec.paused;
  if (spec.minReadySeconds === 0) delete spec.minReadySeconds;
  const strategy = spec.strategy;
  if (isObj(strategy)) {
    if (isEmptyObj(strategy.resources)) delete strategy.resources;
    if (isEmptyObj(strategy)) delete spec.strategy;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Webhook mode
// ---------------------------------------------------------------------------------------------------------------

function podContainers(pod: JsonObj): JsonObj[] {
  const spec = pod.spec;
  if (!isObj(spec)) return [];
  const out: JsonObj[] = [];
  for (const key of CONTAINER_LISTS) {
    const list = spec[key];
    if (Array.isArray(list)) for (const c of list) if (isObj(c)) out.push(c);
  }
  return out;
}

/**
 * Webhook-mode normalisation of a Pod (README Comparison 2, step 5), on top of `normalizeGo`:
 * deletes the `sidecar.istio.io/status` annotation (and an annotations map left empty, as Go's omitempty would),
 * and clears `env[].valueFrom.fieldRef.apiVersion`. Returns a new pod.
 */
export function normalizeWebhookPod(pod: JsonObj): JsonObj {
  const p = normalizeGo(structuredClone(pod)) as JsonObj;
  const meta = p.metadata;
  if (isObj(meta) && isObj(meta.annotations)) {
    delete meta.annotations[STATUS_ANNOTATION];
    if (isEmptyObj(meta.annotations)) delete meta.annotations;
    if (isEmptyObj(meta)) delete p.metadata;
  }
  for (const c of podContainers(p)) {
    if (!Array.isArray(c.env)) continue;
    for (const e of c.env) {
      if (!isObj(e) || !isObj(e.valueFrom) || !isObj(e.valueFrom.fieldRef)) continue;
      delete e.valueFrom.fieldRef.apiVersion;
    }
  }
  return p;
}

/** Problems with `ISTIO_METAJSON_*` env vars: each must hold a JSON object. Empty list = fine. */
export function checkMetaJsonEnv(pod: JsonObj): string[] {
  const problems: string[] = [];
  for (const c of podContainers(pod)) {
    if (!Array.isArray(c.env)) continue;
    for (const e of c.env) {
      if (!isObj(e) || typeof e.name !== 'string' || !e.name.startsWith('ISTIO_METAJSON_')) continue;
      let ok = false;
      try {
        ok = typeof e.value === 'string' && isObj(JSON.parse(e.value) as Json);
      } catch {
        ok = false;
      }
      if (!ok) problems.push(`container ${String(c.name)}: env ${e.name} is not a JSON object: ${JSON.stringify(e.value)}`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------------------------

export interface Diff {
  path: string;
  got: Json | undefined;
  want: Json | undefined;
}

function keyPath(path: string, k: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`;
}

function itemPath(path: string, i: number, item: Json | undefined): string {
  const name = isObj(item) && typeof item.name === 'string' ? `(${item.name})` : '';
  return `${path}[${i}]${name}`;
}

/**
 * The first difference between `got` and `want`, or `null` when deep-equal.
 * Objects: key order ignored, a missing key differs from any value (including null). Arrays: order significant;
 * a length mismatch is reported at the first index past the shorter list (or at the array when one side is empty).
 */
export function firstDiff(got: Json | undefined, want: Json | undefined, path = '$'): Diff | null {
  if (Array.isArray(got) && Array.isArray(want)) {
    const n = Math.min(got.length, want.length);
    for (let i = 0; i < n; i++) {
      const d = firstDiff(got[i], want[i], itemPath(path, i, want[i] ?? got[i]));
      if (d) return d;
    }
    if (got.length !== want.length) {
      const i = n;
      const item = got.length > want.length ? got[i] : want[i];
      return { path: itemPath(path, i, item), got: got[i], want: want[i] };
    }
    return null;
  }
  if (isObj(got) && isObj(want)) {
    const keys = [...new Set([...Object.keys(want), ...Object.keys(got)])].sort();
    for (const k of keys) {
      const d = firstDiff(got[k], want[k], keyPath(path, k));
      if (d) return d;
    }
    return null;
  }
  if (got === want) return null;
  return { path, got, want };
}

function short(v: Json | undefined, max = 300): string {
  if (v === undefined) return '<absent>';
  const s = JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

export function formatDiff(d: Diff): string {
  return `${d.path}: got ${short(d.got)}, want ${short(d.want)}`;
}

/** Compare two lists of documents (CLI mode), reporting `doc[i]` paths. */
export function firstDocsDiff(got: readonly Json[], want: readonly Json[]): Diff | null {
  const n = Math.min(got.length, want.length);
  for (let i = 0; i < n; i++) {
    const d = firstDiff(got[i], want[i], `doc[${i}]`);
    if (d) return d;
  }
  if (got.length !== want.length) {
    return {
      path: `docs.length`,
      got: got.length,
      want: want.length,
    };
  }
  return null;
}
