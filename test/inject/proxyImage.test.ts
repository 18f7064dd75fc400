/**
 * The image type changes the proxy's image, not istio-init's: Istio's ProxyImage / ProxyInitImage and
 * updateImageTypeIfPresent (pkg/kube/inject/inject.go). ProxyConfig `image.imageType` (here meshConfig.defaultConfig)
 * or else `values.global.variant` is the proxy's type; istio-init takes the variant only; the
 * `sidecar.istio.io/proxyImageType` annotation, when present, overrides both. Each row of Istio's TestProxyImage
 * (pkg/kube/inject/inject_test.go, istio/istio 86c9f01fd735; see test/fixtures/istio/NOTICE) with its proxy image, and
 * the istio-init image the same rule gives, through the HTTPS webhook (patch applied) and the built CLI
 * (test/cli/fidelity.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createRuntime } from '../../src/server/runtime.js';
import { startTestServer, type TestServer } from '../helpers/https.js';
import { admitPod } from './review.js';
import { check, podOf, ROWS, sets } from './proxyImage.rows.js';

const servers: TestServer[] = [];
beforeAll(async () => {
  for (const row of ROWS) servers.push(await startTestServer(createRuntime(loadConfig({ profile: 'istio', sets: sets(row) }))));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
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
