/**
 * A number or boolean given for a configuration field that holds text keeps its text: `--set values.global.tag=1.30`
 * is the tag `1.30` (it was the number 1.3, then refused with advice to quote "1.3"). An unquoted `tag: 1.30` in a
 * YAML file is refused with the quoting that keeps it. Through the HTTPS webhook (a server on that configuration,
 * the patch applied) and through the built CLI (`inject --set` / `--values`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { createInjector } from '../../src/inject/index.js';
import type { Pod } from '../../src/k8s/types.js';
import { cliMain, ensureBuilt, nodeBin } from '../helpers/build.js';
import { startTestServer, type TestServer } from '../helpers/https.js';
import { admitPod, appPod, container } from './review.js';

const SETS = [
  'values.global.hub=registry.example.com/mesh',
  'values.global.tag=1.30',
  'values.global.proxy.resources.requests.cpu=0.50',
  'meshConfig.defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE=true',
];

function check(pod: Pod): void {
  const proxy = container(pod, 'istio-proxy');
  expect(proxy?.image).toBe('registry.example.com/mesh/proxyv2:1.30');
  expect(proxy?.resources?.requests?.cpu).toBe('500m');
  expect(proxy?.env?.find((e) => e.name === 'ISTIO_META_DNS_CAPTURE')?.value).toBe('true');
  expect(container(pod, 'istio-init')?.image).toBe('registry.example.com/mesh/proxyv2:1.30');
}

describe('text fields set with --set keep their text', () => {
  let server: TestServer;
  const dir = mkdtempSync(join(tmpdir(), 'mesh-webhook-text-'));
  beforeAll(async () => {
    ensureBuilt();
    server = await startTestServer(createInjector(loadConfig({ profile: 'istio', sets: SETS })));
  }, 120_000);
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('through the HTTPS webhook', async () => {
    const answer = await admitPod(server, appPod(), 'shop');
    expect(answer.allowed).toBe(true);
    check(answer.pod);
  });

  it('through the CLI', () => {
    const podFile = join(dir, 'pod.json');
    writeFileSync(podFile, JSON.stringify(appPod()));
    const r = spawnSync(nodeBin, [cliMain, 'inject', '--profile', 'istio', ...SETS.flatMap((s) => ['--set', s]), '-f', podFile], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    check(parseAllDocuments(r.stdout)[0]!.toJS() as Pod);
  });

  it('the CLI refuses an unquoted YAML 1.30 for the tag, advising "1.30"', () => {
    const podFile = join(dir, 'pod2.json');
    writeFileSync(podFile, JSON.stringify(appPod()));
    const values = join(dir, 'values.yaml');
    writeFileSync(values, 'global:\n  tag: 1.30\n');
    const r = spawnSync(nodeBin, [cliMain, 'inject', '--profile', 'istio', '--values', values, '-f', podFile], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `error: config values.global.tag: in values file ${values}: must be text, but YAML reads 1.30 as the number 1.3; quote it as written: "1.30"\n`,
    );
  });
});
