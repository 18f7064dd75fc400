/**
 * Istio's golden cases (test/fixtures/istio) with their configuration given in Istio's own formats instead of
 * mesh-webhook's: the istio-sidecar-injector ConfigMap (its `config` with Istio's stock templates, its `values` as
 * JSON) and the istio ConfigMap's `mesh`, written as `kubectl get -o yaml` prints the ConfigMaps for half of the
 * configurations and as the keys alone (`kubectl get -o jsonpath`) for the other half.
 *
 * - kube-inject: the built CLI with istioctl's flags (--injectConfigFile, --valuesFile, --meshConfigFile) and
 *   istioctl's switch for native sidecars (ENABLE_NATIVE_SIDECARS in its environment); one run per configuration
 *   with the cases' inputs as repeated -f, compared with their goldens in order.
 * - webhook: AdmissionReviews over HTTPS to a server loaded from the same files, native sidecars from the values'
 *   pilot.env.ENABLE_NATIVE_SIDECARS as istiod reads it.
 * Each case's `set` is applied to the values (or the effective mesh) before they are written, as an operator's
 * installation would carry it.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ensureBuilt } from '../helpers/build.js';
import { runCliAsync, type CliRun } from '../helpers/cli.js';
import { configKey, loadCases, MESH_FILE, readTestdata, ROOT, TESTDATA, VALUES_FILE, type ConformanceCase } from './cases.js';
import { limiter } from './cli.js';
import { parseYamlStream, type Json } from './convert.js';
import { firstDocsDiff, formatDiff, normalizeGo } from './normalize.js';
import { checkWebhookCase, WebhookHarness } from './webhook.js';

const ISTIO_CONFIG = path.join(ROOT, 'test/fixtures/istio-config');
type Tree = Record<string, unknown>;

/** Replaces the value at the dotted path, creating maps on the way (the cases' `set` semantics). */
function setPath(tree: Tree, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Tree;
  }
  node[keys.at(-1)!] = value;
}

interface Configuration {
  id: number;
  cases: ConformanceCase[];
  nativeSidecars: boolean;
  /** Files for --injectConfigFile, --valuesFile, --meshConfigFile. */
  injector: string;
  values: string;
  mesh: string;
  format: 'configmap' | 'keys';
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'mesh-webhook-istio-formats-'));

/** Writes one configuration's files in Istio's formats. */
function writeConfiguration(id: number, cases: ConformanceCase[]): Configuration {
  const first = cases[0]!;
  const values = parse(readFileSync(path.join(ROOT, VALUES_FILE), 'utf8')) as Tree;
  const meshSets = Object.entries(first.set).filter(([k]) => k.startsWith('meshConfig.'));
  // The chart's mesh as the istio ConfigMap holds it; the complete effective mesh when a case changes it.
  const mesh = (meshSets.length > 0 ? parse(readFileSync(path.join(ROOT, MESH_FILE), 'utf8')) : parse(readFileSync(path.join(ISTIO_CONFIG, 'mesh.yaml'), 'utf8'))) as Tree;
  for (const [key, value] of Object.entries(first.set)) {
    if (key.startsWith('values.')) setPath(values, key.slice('values.'.length), value);
    else setPath(mesh, key.slice('meshConfig.'.length), value);
  }
  setPath(values, 'pilot.env.ENABLE_NATIVE_SIDECARS', String(first.nativeSidecars));
  const format = id % 2 === 0 ? 'configmap' : 'keys';
  const file = (name: string) => path.join(dir, `${id}-${name}`);
  const valuesJson = JSON.stringify(values, null, 2);
  const meshYaml = stringify(mesh);
  if (format === 'configmap') {
    const injector = parse(readFileSync(path.join(ISTIO_CONFIG, 'istio-sidecar-injector.yaml'), 'utf8')) as Tree;
    (injector.data as Tree).values = valuesJson;
    writeFileSync(file('istio-sidecar-injector.yaml'), stringify(injector, { lineWidth: 0 }));
    const istio = parse(readFileSync(path.join(ISTIO_CONFIG, 'istio.yaml'), 'utf8')) as Tree;
    (istio.data as Tree).mesh = meshYaml;
    writeFileSync(file('istio.yaml'), stringify(istio, { lineWidth: 0 }));
    return { id, cases, nativeSidecars: first.nativeSidecars, injector: file('istio-sidecar-injector.yaml'), values: file('istio-sidecar-injector.yaml'), mesh: file('istio.yaml'), format };
  }
  copyFileSync(path.join(ISTIO_CONFIG, 'inject-config.yaml'), file('inject-config.yaml'));
  writeFileSync(file('values.json'), valuesJson);
  writeFileSync(file('mesh.yaml'), meshYaml);
  return { id, cases, nativeSidecars: first.nativeSidecars, injector: file('inject-config.yaml'), values: file('values.json'), mesh: file('mesh.yaml'), format };
}

const byConfig = new Map<string, ConformanceCase[]>();
for (const c of loadCases()) {
  const key = configKey(c);
  byConfig.set(key, [...(byConfig.get(key) ?? []), c]);
}
const configurations = [...byConfig.values()].map((cases, id) => writeConfiguration(id, cases));
const configurationOf = new Map(configurations.flatMap((conf) => conf.cases.map((c) => [c.id, conf] as const)));

const istioFlags = (conf: Configuration) => ['--profile', 'istio', '--injectConfigFile', conf.injector, '--valuesFile', conf.values, '--meshConfigFile', conf.mesh];
const cliEnv = (conf: Configuration) => ({ ...process.env, ENABLE_NATIVE_SIDECARS: String(conf.nativeSidecars) });

const runs = new Map<string, Promise<CliRun>>();
let harness: WebhookHarness | undefined;

beforeAll(async () => {
  ensureBuilt();
  const limit = limiter(4);
  for (const conf of configurations) {
    const ok = conf.cases.filter((c) => c.expectError === null);
    if (ok.length > 0) {
      const args = ['inject', ...ok.flatMap((c) => ['-f', path.join(TESTDATA, c.input)]), ...istioFlags(conf)];
      runs.set(`config-${conf.id}`, limit(() => runCliAsync(args, { env: cliEnv(conf) })));
    }
    // An error ends a kube-inject run: each error case runs alone.
    for (const c of conf.cases.filter((x) => x.expectError !== null)) {
      runs.set(c.id, limit(() => runCliAsync(['inject', '-f', path.join(TESTDATA, c.input), ...istioFlags(conf)], { env: cliEnv(conf) })));
    }
  }
  for (const p of runs.values()) p.catch(() => undefined);
  harness = await WebhookHarness.create((c) => {
    const conf = configurationOf.get(c.id)!;
    return { profile: 'istio', istio: { injector: { file: conf.injector }, values: { file: conf.values }, mesh: { file: conf.mesh } } };
  });
}, 300_000);

afterAll(async () => {
  await harness?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("Istio's golden cases, configured with Istio's own files", () => {
  it.each(configurations.filter((conf) => conf.cases.some((c) => c.expectError === null)).map((conf) => [conf.id, conf.format, conf.cases.length, conf] as const))(
    'kube-inject flags, configuration %i (%s, %i cases)',
    async (_id, _format, _n, conf) => {
      const r = await runs.get(`config-${conf.id}`)!;
      expect(r.status, r.stderr).toBe(0);
      const ok = conf.cases.filter((c) => c.expectError === null);
      for (const c of ok) if (c.expectLog !== null) expect(r.stderr).toContain(c.expectLog);
      const got = parseYamlStream(r.stdout, 'CLI output').map(normalizeGo);
      const want = ok.flatMap((c) => parseYamlStream(readTestdata(c.golden!), c.golden!)).map(normalizeGo);
      const d = firstDocsDiff(got as Json[], want as Json[]);
      if (d) throw new Error(`output differs from the goldens of ${ok.map((c) => c.id).join(', ')}: ${formatDiff(d)}`);
    },
  );

  it.each(loadCases().filter((c) => c.expectError !== null).map((c) => [c.id, c] as const))('kube-inject flags, error case %s', async (id, c) => {
    const r = await runs.get(id)!;
    expect(r.status).toBe(1);
    expect(r.stderr.toLowerCase()).toContain(c.expectError);
  });

  it.each(loadCases().filter((c) => c.mode === 'webhook+cli').map((c) => [c.id, c] as const))('webhook, %s', async (_id, c) => {
    await checkWebhookCase(harness!, c);
  });
});
