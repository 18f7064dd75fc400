/**
 * `sidecar.istio.io/userVolume` and `userVolumeMount` as Istio's sidecar template renders them
 * (manifests/charts/istio-control/istio-discovery/files/injection-template.yaml: `range fromJSON` of the value, each
 * entry a list item `name: "<key or index>"` followed by the entry's own fields): a JSON map (keys sorted) or a JSON
 * list (in order, named by index unless the item has its own `name`, which also wins over a map key). Lists were
 * refused before. Through the HTTPS webhook (patch applied) and the built CLI.
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

const VOLUME = 'sidecar.istio.io/userVolume';
const MOUNT = 'sidecar.istio.io/userVolumeMount';

interface Case {
  name: string;
  annotations: Record<string, string>;
  /** The pod's last volumes (the user volumes come last) and the proxy's last mounts. */
  volumes: unknown[];
  mounts: unknown[];
}

const ACCEPTED: Case[] = [
  {
    name: 'lists of named volumes and mounts, in list order',
    annotations: {
      [VOLUME]: '[{"name":"certs","secret":{"secretName":"extra"}},{"name":"cache","emptyDir":{}}]',
      [MOUNT]: '[{"name":"certs","mountPath":"/etc/extra","readOnly":true},{"name":"cache","mountPath":"/cache"}]',
    },
    volumes: [
      { name: 'certs', secret: { secretName: 'extra' } },
      { name: 'cache', emptyDir: {} },
    ],
    mounts: [
      { name: 'certs', mountPath: '/etc/extra', readOnly: true },
      { name: 'cache', mountPath: '/cache' },
    ],
  },
  {
    name: 'list items without a name are named by their index',
    annotations: { [VOLUME]: '[{"emptyDir":{}},{"configMap":{"name":"cm"}}]', [MOUNT]: '[{"mountPath":"/a"},{"mountPath":"/b"}]' },
    volumes: [
      { name: '0', emptyDir: {} },
      { name: '1', configMap: { name: 'cm' } },
    ],
    mounts: [
      { name: '0', mountPath: '/a' },
      { name: '1', mountPath: '/b' },
    ],
  },
  {
    name: "a map entry's own name wins over its key; keys in sorted order",
    annotations: { [VOLUME]: '{"z":{"emptyDir":{}},"a":{"name":"own","emptyDir":{}}}', [MOUNT]: '{"z":{"mountPath":"/z"},"a":{"name":"own","mountPath":"/own"}}' },
    volumes: [
      { name: 'own', emptyDir: {} },
      { name: 'z', emptyDir: {} },
    ],
    mounts: [
      { name: 'own', mountPath: '/own' },
      { name: 'z', mountPath: '/z' },
    ],
  },
];

const REFUSED: [string, Record<string, string>, string][] = [
  ['a list item that is not an object', { [VOLUME]: '["x"]' }, `invalid value '["x"]' for annotation 'sidecar.istio.io/userVolume': item 0 must be a JSON object`],
  ['a name that is not a string', { [MOUNT]: '[{"name":5,"mountPath":"/x"}]' }, `invalid value '[{"name":5,"mountPath":"/x"}]' for annotation 'sidecar.istio.io/userVolumeMount': item 0: name must be a string`],
  ['a JSON string', { [VOLUME]: '"v"' }, `invalid value '"v"' for annotation 'sidecar.istio.io/userVolume': must be a JSON object (name → definition) or a list of definitions`],
];

function check(pod: Pod, c: Case): void {
  const volumes = pod.spec?.volumes ?? [];
  expect(volumes.slice(-c.volumes.length)).toEqual(c.volumes);
  const mounts = container(pod, 'istio-proxy')?.volumeMounts ?? [];
  expect(mounts.slice(-c.mounts.length)).toEqual(c.mounts);
}

let istio: TestServer;
let kyma: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'mesh-webhook-uservolumes-'));
beforeAll(async () => {
  ensureBuilt();
  istio = await startTestServer(createInjector(loadConfig({ profile: 'istio' })));
  kyma = await startTestServer(createInjector(loadConfig({})));
}, 120_000);
afterAll(async () => {
  await Promise.all([istio.close(), kyma.close()]);
  rmSync(dir, { recursive: true, force: true });
});

let count = 0;
function cli(pod: Pod, profile: string) {
  const f = join(dir, `pod${++count}.json`);
  writeFileSync(f, JSON.stringify(pod));
  return spawnSync(nodeBin, [cliMain, 'inject', '--profile', profile, '-f', f], { encoding: 'utf8' });
}

describe('userVolume / userVolumeMount: what Istio renders', () => {
  for (const c of ACCEPTED) {
    it(`${c.name} (webhook)`, async () => {
      const answer = await admitPod(istio, appPod({ annotations: c.annotations }));
      expect(answer.message).toBeUndefined();
      expect(answer.allowed).toBe(true);
      check(answer.pod, c);
    });
    it(`${c.name} (CLI)`, () => {
      const r = cli(appPod({ annotations: c.annotations }), 'istio');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      check(parseAllDocuments(r.stdout)[0]!.toJS() as Pod, c);
    });
  }
});

describe('userVolume / userVolumeMount: what Istio cannot render is refused', () => {
  for (const [name, annotations, message] of REFUSED) {
    it(`${name} (webhook)`, async () => {
      const answer = await admitPod(istio, appPod({ annotations }));
      expect(answer.allowed).toBe(false);
      expect(answer.message).toBe(message);
    });
    it(`${name} (CLI)`, () => {
      const r = cli(appPod({ annotations }), 'istio');
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(message);
    });
  }
});

describe('safety: a forbidden volume type in a list is refused too (kyma: hostPath)', () => {
  const annotations = { [VOLUME]: '[{"name":"ok","emptyDir":{}},{"name":"host","hostPath":{"path":"/"}}]' };
  const message = `invalid value '${annotations[VOLUME]}' for annotation 'sidecar.istio.io/userVolume': volume 'host' uses hostPath, which the operator does not allow (safety.forbiddenUserVolumeTypes)`;
  it('webhook', async () => {
    const answer = await admitPod(kyma, appPod({ annotations }));
    expect(answer.allowed).toBe(false);
    expect(answer.message).toBe(message);
  });
  it('CLI', () => {
    const r = cli(appPod({ annotations }), 'kyma');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
  });
});
