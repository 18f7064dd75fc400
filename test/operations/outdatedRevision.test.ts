/**
 * `mesh-webhook outdated --revision NAME`: a served revision only selects pods, the sidecar is rendered for
 * values.revision all the same, so outdated compares every injected pod as without it (during a canary, the pods
 * istiod injected are compared with what mesh-webhook would inject). The namespaces' labels are not read.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import type { OutdatedReport } from '../../src/outdated/index.js';
import { FakeApiServer } from '../k8s/fakeApiServer.js';
import { runOutdatedWith } from './helpers.js';
import { loadFixture } from './fixtureCluster.js';

let api: FakeApiServer;
let dir: string;
let kubeconfig: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mesh-webhook-outdated-revision-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  api = await FakeApiServer.start();
  loadFixture(api);
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, api.kubeconfig('shop'));
});
afterEach(() => api.close());

async function report(...argv: string[]): Promise<OutdatedReport> {
  const r = await runOutdatedWith(kubeconfig, ...argv, '-o', 'json');
  expect(r.code).toBe(0);
  return JSON.parse(r.text) as OutdatedReport;
}

it('compares every injected pod, as without --revision', async () => {
  const plain = await report('-A');
  const canary = await report('-A', '--revision', 'mesh-webhook');
  expect(plain.outdated).toBeGreaterThan(0);
  expect(canary).toEqual(plain);
  const notes = canary.workloads.flatMap((w) => w.pods.flatMap((p) => p.notes));
  expect(notes.filter((n) => n.includes('would not inject'))).toEqual([]);
});
