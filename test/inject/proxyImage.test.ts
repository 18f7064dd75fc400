/**
 * The image type changes the proxy's image, not istio-init's: Istio's ProxyImage / ProxyInitImage and
 * updateImageTypeIfPresent (pkg/kube/inject/inject.go). ProxyConfig `image.imageType` (here meshConfig.defaultConfig)
 * or else `values.global.variant` is the proxy's type; istio-init takes the variant only; the
 * `sidecar.istio.io/proxyImageType` annotation, when present, overrides both. Each row of Istio's TestProxyImage
 * (pkg/kube/inject/inject_test.go, istio/istio 86c9f01fd735; see test/fixtures/istio/NOTICE) with its proxy image, and
 * the istio-init image the same rule gives, through the HTTPS webhook (patch applied) and the built CLI.
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

interface Row {
  desc: string;
  hub: string;
  /** values.global.tag as --set writes it (a number-looking tag stays text). */
  tag: string;
  variant?: string;
  /** ProxyConfig image.imageType (meshConfig.defaultConfig.image.imageType). */
  pc?: string;
  /** sidecar.istio.io/proxyImageType. */
  ann?: string;
  want: string;
  /** istio-init's image (not in Istio's test; the same rule with ProxyConfig's type left out). */
  init: string;
}

// Istio's TestProxyImage, row by row (test/fixtures/istio/NOTICE); `init` added.
const ISTIO_ROWS: Row[] = [
  { desc: 'vals-only-int-tag', hub: 'registry.istio.io/release', tag: '11', want: 'registry.istio.io/release/proxyv2:11', init: 'registry.istio.io/release/proxyv2:11' },
  { desc: 'pc overrides imageType - float tag', hub: 'registry.istio.io/release', tag: '1.12', pc: 'distroless', want: 'registry.istio.io/release/proxyv2:1.12-distroless', init: 'registry.istio.io/release/proxyv2:1.12' },
  { desc: 'annotation overrides imageType', hub: 'gcr.io/gke-release/asm', tag: '1.11.2-asm.17', ann: 'distroless', want: 'gcr.io/gke-release/asm/proxyv2:1.11.2-asm.17-distroless', init: 'gcr.io/gke-release/asm/proxyv2:1.11.2-asm.17-distroless' },
  { desc: 'pc and annotation overrides imageType', hub: 'gcr.io/gke-release/asm', tag: '1.11.2-asm.17', pc: 'distroless', ann: 'debug', want: 'gcr.io/gke-release/asm/proxyv2:1.11.2-asm.17-debug', init: 'gcr.io/gke-release/asm/proxyv2:1.11.2-asm.17-debug' },
  { desc: 'pc and annotation overrides imageType, ann is default', hub: 'gcr.io/gke-release/asm', tag: '1.11.2-asm.17', pc: 'debug', ann: 'default', want: 'gcr.io/gke-release/asm/proxyv2:1.11.2-asm.17', init: 'gcr.io/gke-release/asm/proxyv2:1.11.2-asm.17' },
  { desc: 'pc overrides imageType with default, tag also has image type', hub: 'gcr.io/gke-release/asm', tag: '1.11.2-asm.17-distroless', pc: 'default', want: 'gcr.io/gke-release/asm/proxyv2:1.11.2-asm.17', init: 'gcr.io/gke-release/asm/proxyv2:1.11.2-asm.17-distroless' },
  { desc: 'ann overrides imageType with default, tag also has image type', hub: 'gcr.io/gke-release/asm', tag: '1.11.2-asm.17-distroless', ann: 'default', want: 'gcr.io/gke-release/asm/proxyv2:1.11.2-asm.17', init: 'gcr.io/gke-release/asm/proxyv2:1.11.2-asm.17' },
  { desc: 'pc overrides imageType, tag also has image type', hub: 'registry.istio.io/release', tag: '1.12-debug', pc: 'distroless', want: 'registry.istio.io/release/proxyv2:1.12-distroless', init: 'registry.istio.io/release/proxyv2:1.12-debug' },
  { desc: 'annotation overrides imageType, tag also has the same image type', hub: 'registry.istio.io/release', tag: '1.12-distroless', ann: 'distroless', want: 'registry.istio.io/release/proxyv2:1.12-distroless', init: 'registry.istio.io/release/proxyv2:1.12-distroless' },
  { desc: 'unusual tag should work', hub: 'private-repo/istio', tag: '1.12-this-is-unusual-tag', want: 'private-repo/istio/proxyv2:1.12-this-is-unusual-tag', init: 'private-repo/istio/proxyv2:1.12-this-is-unusual-tag' },
  { desc: 'unusual tag should work, default override', hub: 'private-repo/istio', tag: '1.12-this-is-unusual-tag-distroless', pc: 'default', want: 'private-repo/istio/proxyv2:1.12-this-is-unusual-tag', init: 'private-repo/istio/proxyv2:1.12-this-is-unusual-tag-distroless' },
  { desc: 'annotation overrides imageType with unusual tag', hub: 'private-repo/istio', tag: '1.12-this-is-unusual-tag', ann: 'distroless', want: 'private-repo/istio/proxyv2:1.12-this-is-unusual-tag-distroless', init: 'private-repo/istio/proxyv2:1.12-this-is-unusual-tag-distroless' },
];

// Ours, on the same rule: the variant is the type when ProxyConfig names none, and an empty annotation still counts.
const OWN_ROWS: Row[] = [
  { desc: 'variant distroless, pc debug: the proxy is debug, istio-init distroless', hub: 'example.com/mesh', tag: '1.30.2', variant: 'distroless', pc: 'debug', want: 'example.com/mesh/proxyv2:1.30.2-debug', init: 'example.com/mesh/proxyv2:1.30.2-distroless' },
  { desc: 'an unpublished variant is replaced by the pc type, not stacked under it', hub: 'example.com/mesh', tag: '1.30.2', variant: 'fips', pc: 'debug', want: 'example.com/mesh/proxyv2:1.30.2-debug', init: 'example.com/mesh/proxyv2:1.30.2-fips' },
  { desc: 'an empty annotation overrides the variant: the bare tag for both', hub: 'example.com/mesh', tag: '1.30.2', variant: 'distroless', ann: '', want: 'example.com/mesh/proxyv2:1.30.2', init: 'example.com/mesh/proxyv2:1.30.2' },
];

const ROWS = [...ISTIO_ROWS, ...OWN_ROWS];

function sets(row: Row): string[] {
  return [
    `values.global.hub=${row.hub}`,
    `values.global.tag=${row.tag}`,
    `values.global.variant=${row.variant ?? ''}`,
    ...(row.pc !== undefined ? [`meshConfig.defaultConfig.image={"imageType":"${row.pc}"}`] : []),
  ];
}

function podOf(row: Row): Pod {
  return appPod(row.ann !== undefined ? { annotations: { 'sidecar.istio.io/proxyImageType': row.ann } } : {});
}

function check(pod: Pod, row: Row): void {
  expect(container(pod, 'istio-proxy')?.image).toBe(row.want);
  expect(container(pod, 'istio-init')?.image).toBe(row.init);
}

const servers: TestServer[] = [];
const dir = mkdtempSync(join(tmpdir(), 'mesh-webhook-proxyimage-'));
beforeAll(async () => {
  ensureBuilt();
  for (const row of ROWS) servers.push(await startTestServer(createInjector(loadConfig({ profile: 'istio', sets: sets(row) }))));
}, 120_000);
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe('proxy and istio-init images by image type (HTTPS webhook)', () => {
  ROWS.forEach((row, i) => {
    it(row.desc, async () => {
      const answer = await admitPod(servers[i]!, podOf(row));
      expect(answer.allowed).toBe(true);
      check(answer.pod, row);
    });
  });
});

describe('proxy and istio-init images by image type (CLI)', () => {
  ROWS.forEach((row, i) => {
    it(row.desc, () => {
      const f = join(dir, `pod${i}.json`);
      writeFileSync(f, JSON.stringify(podOf(row)));
      const r = spawnSync(nodeBin, [cliMain, 'inject', '--profile', 'istio', ...sets(row).flatMap((s) => ['--set', s]), '-f', f], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      check(parseAllDocuments(r.stdout)[0]!.toJS() as Pod, row);
    });
  });
});
