/**
 * Istio's injector unit-test tables (test/conformance/units/*.yaml, ported from istio/istio 86c9f01fd735; format in
 * units/FORMAT.md): each row through a real interface — the HTTPS webhook with the patch applied, a raw HTTPS
 * request, the built CLI, or the webhook with Nodes in the Kubernetes API test double. Rows with `skip` are listed in
 * units/README.md and not run. afterAll prints `istio-units: N passed, M failed`.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { startClusterIntegration } from '../../src/server/clusterIntegration.js';
import { createRuntime } from '../../src/server/runtime.js';
import { recordingLogger } from '../cluster/helpers.js';
import { ensureBuilt } from '../helpers/build.js';
import { runCliAsync } from '../helpers/cli.js';
import { removeTestCertificates, startTestServer, type TestServer } from '../helpers/https.js';
import { FakeApiServer } from '../k8s/fakeApiServer.js';
import { podReview } from '../inject/review.js';
import type { Pod } from '../../src/k8s/types.js';
import { limiter } from './cli.js';
import { isObj, type JsonObj } from './convert.js';
import { cliFlags, configKey, loadOptions, loadUnitRows, UNITS_DIR, mismatches, podFile, rowNamespace, rowPod, type Observation, type UnitRow, type Via } from './units.js';
import jsonpatch, { type Operation } from 'fast-json-patch';

const rows = loadUnitRows();
const outcomes = new Map<string, boolean>();
const servers = new Map<string, Promise<TestServer>>();
const cliLimit = limiter(3);

beforeAll(() => {
  ensureBuilt();
}, 300_000);

afterAll(async () => {
  const all = await Promise.allSettled([...servers.values()]);
  await Promise.allSettled(all.map((r) => (r.status === 'fulfilled' ? r.value.close() : undefined)));
  await removeTestCertificates();
  const passed = [...outcomes.values()].filter(Boolean).length;
  const skipped = rows.filter((r) => r.skip).length;
  console.log(`istio-units: ${passed} passed, ${outcomes.size - passed} failed (${skipped} rows out of scope, listed in units/README.md)`);
});

function serverFor(row: UnitRow): Promise<TestServer> {
  const key = configKey(row);
  let s = servers.get(key);
  if (!s) {
    s = startTestServer(createRuntime(loadConfig(loadOptions(row))), { logger: false });
    servers.set(key, s);
  }
  return s;
}

/** An AdmissionReview answer (HTTP 200 body) as an observation: the patch applied to the pod that was sent. */
function answered(status: number, json: unknown, input: JsonObj | undefined): Observation {
  const res = isObj(json) && isObj(json.response) ? json.response : undefined;
  if (!res) return { allowed: false, message: `HTTP ${status}: ${JSON.stringify(json)?.slice(0, 300)}`, status };
  const message = isObj(res.status) && typeof res.status.message === 'string' ? res.status.message : '';
  const obs: Observation = { allowed: res.allowed === true, message, status, ...(input ? { input } : {}) };
  if (input && res.allowed === true) {
    const ops = typeof res.patch === 'string' ? (JSON.parse(Buffer.from(res.patch, 'base64').toString('utf8')) as Operation[]) : [];
    obs.pod = jsonpatch.applyPatch(structuredClone(input), ops, true, false).newDocument as JsonObj;
  }
  return obs;
}

async function viaWebhook(row: UnitRow, server?: TestServer): Promise<Observation> {
  const s = server ?? (await serverFor(row));
  const pod = rowPod(row);
  const res = await s.postJson(row.path ?? '/inject', podReview(pod as unknown as Pod, rowNamespace(row)));
  if (res.status !== 200) return { allowed: false, message: `HTTP ${res.status}: ${res.text.slice(0, 300)}`, status: res.status };
  return answered(res.status, res.json, pod);
}

async function viaHttp(row: UnitRow): Promise<Observation> {
  const s = await serverFor(row);
  const h = row.http ?? {};
  const pod = rowPod(row);
  let body: string | Buffer | undefined;
  if (h.review) body = JSON.stringify(podReview(pod as unknown as Pod, rowNamespace(row), h.review === 'v1' ? 'admission.k8s.io/v1' : 'admission.k8s.io/v1beta1'));
  else if (h.bodyBytes) body = Buffer.from(h.bodyBytes);
  else if (h.body !== undefined) body = typeof h.body === 'string' ? h.body : JSON.stringify(h.body);
  const res = await s.request(h.path ?? row.path ?? '/inject', {
    method: 'POST',
    headers: { 'content-type': h.contentType ?? 'application/json' },
    ...(body !== undefined ? { body } : {}),
  });
  if (res.status !== 200) return { allowed: false, message: res.text.slice(0, 300), status: res.status };
  return answered(res.status, res.json, h.review ? pod : undefined);
}

async function viaCli(row: UnitRow): Promise<Observation> {
  const r = await cliLimit(() => runCliAsync(['inject', '-f', podFile(row), ...cliFlags(row)]));
  if (r.status !== 0) return { allowed: false, message: r.stderr.trim() };
  const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as unknown);
  const pod = docs.find(isObj);
  return { allowed: true, message: r.stderr.trim(), input: rowPod(row), ...(pod ? { pod } : {}) };
}

async function viaNodes(row: UnitRow): Promise<Observation> {
  const api = await FakeApiServer.start();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-units-k8s-'));
  let integration: Awaited<ReturnType<typeof startClusterIntegration>> | undefined;
  let server: TestServer | undefined;
  try {
    for (const [i, n] of (row.nodes ?? []).entries()) {
      api.apply('nodes', { metadata: { name: n.name ?? `node-${i + 1}` }, status: { nodeInfo: { kubeletVersion: n.kubeletVersion ?? '' } } });
    }
    const kubeconfig = await api.writeKubeconfig(dir, 'mesh-webhook');
    integration = await startClusterIntegration({ kubeconfig, namespace: 'mesh-webhook', selfManagedCerts: false, logger: recordingLogger(), connect: { serviceAccountRoot: '/nonexistent-root' } });
    server = await startTestServer(createRuntime(loadConfig(loadOptions(row)), integration.view), { logger: false });
    return await viaWebhook(row, server);
  } finally {
    await server?.close();
    await integration?.stop();
    await api.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const RUN: Record<Via, (row: UnitRow) => Promise<Observation>> = { webhook: (r) => viaWebhook(r), http: viaHttp, cli: viaCli, nodes: viaNodes };

const byFile = new Map<string, UnitRow[]>();
for (const r of rows) byFile.set(r.file, [...(byFile.get(r.file) ?? []), r]);

for (const [file, fileRows] of byFile) {
  describe(`${file} (${fileRows[0]!.source})`, () => {
    for (const row of fileRows) {
      // Out-of-scope rows are not tests: units/README.md lists them with their reasons (checked below).
      if (row.skip) continue;
      it(`${row.name} [${row.via.join('+')}]`, async () => {
        const problems: string[] = [];
        try {
          for (const via of row.via) {
            const obs = await RUN[via](row);
            for (const p of mismatches(row, obs)) problems.push(`${via}: ${p}`);
          }
        } catch (err) {
          problems.push(`error: ${(err as Error).message}`);
        }
        outcomes.set(row.id, problems.length === 0);
        if (problems.length > 0) throw new Error(`${row.id}\n  ${problems.join('\n  ')}`);
      }, 60_000);
    }
  });
}

describe('units/README.md', () => {
  it('lists every row that is out of scope or that we deliberately run differently, with its reason', () => {
    const readme = readFileSync(path.join(UNITS_DIR, 'README.md'), 'utf8');
    const missing = rows.filter((r) => (r.skip || r.differ) && !readme.includes(`${r.file.replace(/\.yaml$/, '')} › ${r.name}`)).map((r) => r.id);
    expect(missing).toEqual([]);
  });
});
