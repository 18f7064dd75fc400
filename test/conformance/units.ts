/**
 * Istio's table-driven injector unit tests, ported as data (test/conformance/units/*.yaml, format in FORMAT.md), and
 * what it takes to run one row through a real interface: the HTTPS webhook with the patch applied, a raw HTTPS
 * request, the built CLI, or the webhook with nodes in the Kubernetes API test double.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { MESH_FILE, ROOT, VALUES_FILE } from './cases.js';
import { isObj, type Json, type JsonObj } from './convert.js';

export const UNITS_DIR = path.join(ROOT, 'test/conformance/units');

export type Via = 'webhook' | 'cli' | 'http' | 'nodes';
export const VIAS: readonly Via[] = ['webhook', 'cli', 'http', 'nodes'];

export interface RowConfig {
  profile?: 'istio' | 'kyma';
  policy?: 'enabled' | 'disabled';
  neverInjectSelector?: Json[];
  alwaysInjectSelector?: Json[];
  injectedAnnotations?: Record<string, string>;
  values?: JsonObj;
  meshConfig?: JsonObj;
  sets?: string[];
  nativeSidecars?: boolean | 'auto';
}

export interface HttpRequestSpec {
  path?: string;
  contentType?: string;
  body?: Json;
  bodyBytes?: number[];
  review?: 'v1' | 'v1beta1';
}

export interface PathCheck {
  path: string;
  equals?: Json;
  absent?: boolean;
  contains?: Json;
  matches?: string;
}

export interface Expectation {
  injected?: boolean;
  allowed?: boolean;
  message?: string;
  status?: number;
  native?: boolean;
  env?: Record<string, string | null>;
  paths?: PathCheck[];
}

export interface UnitRow {
  /** `<file stem> › <row name>`. */
  id: string;
  file: string;
  source: string;
  name: string;
  via: Via[];
  skip?: string;
  differ?: string;
  config: RowConfig;
  namespace?: string;
  namespaceLabels?: Record<string, string>;
  path?: string;
  pod?: JsonObj;
  http?: HttpRequestSpec;
  nodes?: { name?: string; kubeletVersion?: string }[];
  expect: Expectation;
}

function asVias(v: unknown, where: string): Via[] {
  const list = v === undefined ? ['webhook'] : Array.isArray(v) ? v : [v];
  for (const x of list) if (!VIAS.includes(x as Via)) throw new Error(`${where}: via ${JSON.stringify(x)} is not one of ${VIAS.join(', ')}`);
  return list as Via[];
}

/** Every row of every units/*.yaml, with the file's defaults applied; throws naming the file on a malformed one. */
export function loadUnitRows(dir = UNITS_DIR): UnitRow[] {
  const rows: UnitRow[] = [];
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  for (const file of files) {
    const doc = parseYaml(readFileSync(path.join(dir, file), 'utf8')) as unknown;
    if (!isObj(doc) || !Array.isArray(doc.rows) || typeof doc.source !== 'string') {
      throw new Error(`${file}: expected a map with \`source\` and \`rows\` (see FORMAT.md)`);
    }
    const defaults = isObj(doc.defaults) ? doc.defaults : {};
    const stem = file.replace(/\.yaml$/, '');
    for (const [i, raw] of doc.rows.entries()) {
      if (!isObj(raw)) throw new Error(`${file}: row ${i} is not a map`);
      const merged: JsonObj = { ...defaults, ...raw };
      merged.config = { ...(isObj(defaults.config) ? defaults.config : {}), ...(isObj(raw.config) ? raw.config : {}) };
      merged.expect = { ...(isObj(defaults.expect) ? defaults.expect : {}), ...(isObj(raw.expect) ? raw.expect : {}) };
      const name = typeof merged.name === 'string' ? merged.name : `#${i}`;
      const where = `${file} row ${i} (${name})`;
      rows.push({
        ...(merged as unknown as UnitRow),
        id: `${stem} › ${name}`,
        file,
        source: doc.source,
        name,
        via: asVias(merged.via, where),
      });
    }
  }
  const seen = new Set<string>();
  for (const r of rows) {
    if (seen.has(r.id)) throw new Error(`duplicate row name: ${r.id}`);
    seen.add(r.id);
  }
  return rows;
}

// ---- configuration -------------------------------------------------------------------------------------------------

// `values` and `meshConfig` go into files of their own, merged after Istio's test defaults (a config file is merged
// before --values/--mesh files, so its values would lose against the defaults).
const CONFIG_KEYS = ['policy', 'neverInjectSelector', 'alwaysInjectSelector', 'injectedAnnotations'] as const;

let tmpDir: string | undefined;
function scratch(): string {
  tmpDir ??= (() => {
    const d = path.join(os.tmpdir(), `mesh-webhook-units-${process.pid}`);
    mkdirSync(d, { recursive: true });
    return d;
  })();
  return tmpDir;
}

/** A config file holding the row's configuration keys (shared by the webhook and the CLI), or undefined. */
function configFile(row: UnitRow, namespaceLabels: Record<string, Record<string, string>> | undefined): string | undefined {
  const doc: JsonObj = {};
  for (const k of CONFIG_KEYS) if (row.config[k] !== undefined) doc[k] = row.config[k] as Json;
  if (namespaceLabels) doc.namespaceLabels = namespaceLabels;
  if (Object.keys(doc).length === 0) return undefined;
  const file = path.join(scratch(), `config-${configKey(row)}.yaml`);
  writeFileSync(file, toYaml(doc));
  return file;
}

function hash(text: string): string {
  let h = 5381;
  for (let i = 0; i < text.length; i++) h = ((h * 33) ^ text.charCodeAt(i)) >>> 0;
  return h.toString(36);
}

/** Rows with the same key can share a webhook server. */
export function configKey(row: UnitRow): string {
  return hash(JSON.stringify([row.config, rowNamespace(row), row.namespaceLabels ?? null]));
}

export function rowNamespace(row: UnitRow): string {
  const meta = isObj(row.pod?.metadata) ? row.pod.metadata : {};
  return row.namespace ?? (typeof meta.namespace === 'string' ? meta.namespace : 'default');
}

function labelsFor(row: UnitRow): Record<string, Record<string, string>> | undefined {
  return row.namespaceLabels ? { [rowNamespace(row)]: row.namespaceLabels } : undefined;
}

function docFile(row: UnitRow, kind: string, doc: JsonObj | undefined): string[] {
  if (doc === undefined) return [];
  const file = path.join(scratch(), `${kind}-${configKey(row)}.yaml`);
  writeFileSync(file, toYaml(doc));
  return [file];
}

/** Options for loadConfig: Istio's test defaults (values + mesh) under the istio profile, then the row's keys. */
export function loadOptions(row: UnitRow) {
  const profile = row.config.profile ?? 'istio';
  const file = configFile(row, labelsFor(row));
  const defaults = profile === 'istio';
  return {
    profile,
    ...(file ? { configFile: file } : {}),
    valuesFiles: [...(defaults ? [path.join(ROOT, VALUES_FILE)] : []), ...docFile(row, 'values', row.config.values)],
    meshFiles: [...(defaults ? [path.join(ROOT, MESH_FILE)] : []), ...docFile(row, 'mesh', row.config.meshConfig)],
    sets: row.config.sets ?? [],
    ...(row.config.nativeSidecars !== undefined ? { nativeSidecars: row.config.nativeSidecars } : {}),
  };
}

/** The same configuration as CLI flags. */
export function cliFlags(row: UnitRow): string[] {
  const o = loadOptions(row);
  return [
    '--profile',
    o.profile,
    ...(o.configFile ? ['--config', o.configFile] : []),
    ...o.valuesFiles.flatMap((f) => ['--values', f]),
    ...o.meshFiles.flatMap((f) => ['--mesh', f]),
    ...o.sets.flatMap((s) => ['--set', s]),
    ...(o.nativeSidecars !== undefined ? ['--native-sidecars', String(o.nativeSidecars)] : []),
  ];
}

/** The row's pod with a name, its namespace and, when the spec has none, one application container. */
export function rowPod(row: UnitRow): JsonObj {
  const pod = structuredClone(row.pod ?? {}) as JsonObj;
  pod.apiVersion ??= 'v1';
  pod.kind ??= 'Pod';
  const meta = (isObj(pod.metadata) ? pod.metadata : (pod.metadata = {})) as JsonObj;
  meta.name ??= 'unit';
  meta.namespace ??= rowNamespace(row);
  const spec = (isObj(pod.spec) ? pod.spec : (pod.spec = {})) as JsonObj;
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) spec.containers = [{ name: 'app', image: 'docker.io/library/app:1.0' }];
  return pod;
}

/** A file with the row's pod, for `inject -f`. */
export function podFile(row: UnitRow): string {
  const file = path.join(scratch(), `pod-${hash(row.id)}.yaml`);
  writeFileSync(file, toYaml(rowPod(row)));
  return file;
}

// ---- paths and expectations ----------------------------------------------------------------------------------------

type Step = { key: string } | { index: number } | { field: string; value: string };

/** `spec.containers[name=istio-proxy].env[0]`, `metadata.annotations["a.b/c"]` → steps. */
export function parsePath(text: string): Step[] {
  const steps: Step[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`path ${JSON.stringify(text)}: ${why} at ${i}`);
  };
  while (i < text.length) {
    if (text[i] === '.') {
      i++;
      continue;
    }
    if (text[i] === '[') {
      const end = text.indexOf(']', text[i + 1] === '"' ? text.indexOf('"', i + 2) : i);
      if (end < 0) fail('unclosed [');
      const inner = text.slice(i + 1, end);
      if (/^\d+$/.test(inner)) steps.push({ index: Number(inner) });
      else if (/^".*"$/.test(inner)) steps.push({ key: inner.slice(1, -1) });
      else {
        const eq = inner.indexOf('=');
        if (eq <= 0) fail('expected [n], ["key"] or [field=value]');
        steps.push({ field: inner.slice(0, eq), value: inner.slice(eq + 1) });
      }
      i = end + 1;
      continue;
    }
    const m = /^[^.[\]]+/.exec(text.slice(i));
    if (!m) fail('unexpected character');
    steps.push({ key: m![0] });
    i += m![0].length;
  }
  return steps;
}

/** The value at `text` in `doc`, or undefined. */
export function valueAt(doc: Json | undefined, text: string): Json | undefined {
  let cur: Json | undefined = doc;
  for (const step of parsePath(text)) {
    if (cur === undefined || cur === null) return undefined;
    if ('key' in step) cur = isObj(cur) && Object.hasOwn(cur, step.key) ? cur[step.key] : undefined;
    else if ('index' in step) cur = Array.isArray(cur) ? cur[step.index] : undefined;
    else cur = Array.isArray(cur) ? cur.find((e) => isObj(e) && String(e[step.field]) === step.value) : undefined;
  }
  return cur;
}

const show = (v: unknown): string => (v === undefined ? 'absent' : JSON.stringify(v));

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The injected istio-proxy (container or native sidecar) of a pod, or undefined. */
export function proxyOf(pod: JsonObj): JsonObj | undefined {
  const spec = isObj(pod.spec) ? pod.spec : {};
  for (const list of [spec.containers, spec.initContainers]) {
    if (!Array.isArray(list)) continue;
    const c = list.find((x) => isObj(x) && x.name === 'istio-proxy');
    if (isObj(c)) return c;
  }
  return undefined;
}

function injectionStatus(pod: JsonObj): Json | undefined {
  return valueAt(pod, 'metadata.annotations["sidecar.istio.io/status"]');
}

function isNative(pod: JsonObj): boolean {
  const spec = isObj(pod.spec) ? pod.spec : {};
  return Array.isArray(spec.initContainers) && spec.initContainers.some((c) => isObj(c) && c.name === 'istio-proxy' && c.restartPolicy === 'Always');
}

/** What a row observed: the answer (or exit), the resulting pod, and for raw requests the HTTP status. */
export interface Observation {
  allowed: boolean;
  message: string;
  status?: number;
  /** The pod after the answer (patched / CLI output); undefined when there is none. */
  pod?: JsonObj;
  /** The pod the row sent. */
  input?: JsonObj;
}

/** Every way `obs` differs from the row's expectation (empty: the row passes). */
export function mismatches(row: UnitRow, obs: Observation): string[] {
  const e = row.expect;
  const out: string[] = [];
  if (e.status !== undefined && obs.status !== e.status) out.push(`HTTP status ${obs.status}, want ${e.status}`);
  if (e.allowed !== undefined && obs.allowed !== e.allowed) out.push(`allowed ${obs.allowed}, want ${e.allowed} (${obs.message.slice(0, 300)})`);
  if (e.message !== undefined && !obs.message.toLowerCase().includes(e.message.toLowerCase())) {
    out.push(`message ${JSON.stringify(obs.message.slice(0, 300))} does not contain ${JSON.stringify(e.message)}`);
  }
  const needsPod = e.injected !== undefined || e.native !== undefined || e.env !== undefined || e.paths !== undefined;
  if (!needsPod) return out;
  if (!obs.pod) {
    out.push(`no resulting pod (allowed ${obs.allowed}: ${obs.message.slice(0, 300)})`);
    return out;
  }
  // Injected: the answer added Istio's injection marker (a pod may declare its own istio-proxy to be merged).
  const injected = injectionStatus(obs.pod) !== undefined && (obs.input === undefined || injectionStatus(obs.input) === undefined);
  if (e.injected !== undefined && injected !== e.injected) out.push(`injected ${injected}, want ${e.injected}`);
  if (e.native !== undefined && isNative(obs.pod) !== e.native) out.push(`native sidecar ${isNative(obs.pod)}, want ${e.native}`);
  if (e.env) {
    const proxy = proxyOf(obs.pod);
    const env = Array.isArray(proxy?.env) ? proxy.env : [];
    for (const [name, want] of Object.entries(e.env)) {
      const entry = env.find((x) => isObj(x) && x.name === name);
      const got = isObj(entry) ? (entry.value ?? '') : undefined;
      if (want === null ? got !== undefined : got !== want) out.push(`istio-proxy env ${name} = ${show(got)}, want ${want === null ? 'absent' : show(want)}`);
    }
  }
  for (const c of e.paths ?? []) {
    const got = c.path === 'proxy' || c.path.startsWith('proxy.') ? valueAt(proxyOf(obs.pod), c.path.slice(6)) : valueAt(obs.pod, c.path);
    if (c.absent && got !== undefined) out.push(`${c.path} = ${show(got)}, want absent`);
    if (c.equals !== undefined && !deepEqual(got, c.equals)) out.push(`${c.path} = ${show(got)}, want ${show(c.equals)}`);
    if (c.contains !== undefined) {
      const ok = Array.isArray(got)
        ? got.some((x) => deepEqual(x, c.contains))
        : typeof got === 'string' && typeof c.contains === 'string' && got.includes(c.contains);
      if (!ok) out.push(`${c.path} = ${show(got)} does not contain ${show(c.contains)}`);
    }
    if (c.matches !== undefined && !(typeof got === 'string' && new RegExp(c.matches).test(got))) out.push(`${c.path} = ${show(got)} does not match /${c.matches}/`);
  }
  return out;
}
