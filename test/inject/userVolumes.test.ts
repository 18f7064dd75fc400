/**
 * `sidecar.istio.io/userVolume` and `userVolumeMount` as Istio's sidecar template renders them
 * (manifests/charts/istio-control/istio-discovery/files/injection-template.yaml: `range fromJSON` of the value, each
 * entry a list item `name: "<key or index>"` followed by the entry's own fields): a JSON map (keys sorted) or a JSON
 * list (in order, named by index unless the item has its own `name`, which also wins over a map key). Lists were
 * refused before. Through the HTTPS webhook (patch applied); the built CLI in test/cli/fidelity.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createRuntime } from '../../src/server/runtime.js';
import { startTestServer, type TestServer } from '../helpers/https.js';
import { admitPod, appPod, container } from './review.js';
import { ACCEPTED, check, HOST_PATH_LIST, HOST_PATH_MESSAGE, NULL_VALUES, REFUSED } from './userVolumes.cases.js';

let istio: TestServer;
let kyma: TestServer;
beforeAll(async () => {
  istio = await startTestServer(createRuntime(loadConfig({ profile: 'istio' })));
  kyma = await startTestServer(createRuntime(loadConfig({})));
});
afterAll(async () => {
  await Promise.all([istio.close(), kyma.close()]);
});

describe('userVolume / userVolumeMount: what Istio renders', () => {
  for (const c of ACCEPTED) {
    it(c.name, async () => {
      const answer = await admitPod(istio, appPod({ annotations: c.annotations }));
      expect(answer.message).toBeUndefined();
      expect(answer.allowed).toBe(true);
      check(answer.pod, c);
    });
  }
});

it('JSON null adds no volume and no mount', async () => {
  const plain = await admitPod(istio, appPod());
  const answer = await admitPod(istio, appPod({ annotations: NULL_VALUES }));
  expect(answer.allowed).toBe(true);
  expect(answer.pod.spec?.volumes).toEqual(plain.pod.spec?.volumes);
  expect(container(answer.pod, 'istio-proxy')?.volumeMounts).toEqual(container(plain.pod, 'istio-proxy')?.volumeMounts);
});

describe('userVolume / userVolumeMount: what Istio cannot render is refused', () => {
  for (const [name, annotations, message] of REFUSED) {
    it(name, async () => {
      const answer = await admitPod(istio, appPod({ annotations }));
      expect(answer.allowed).toBe(false);
      expect(answer.message).toBe(message);
    });
  }
});

it('safety: a forbidden volume type in a list is refused too (kyma: hostPath)', async () => {
  const answer = await admitPod(kyma, appPod({ annotations: HOST_PATH_LIST }));
  expect(answer.allowed).toBe(false);
  expect(answer.message).toBe(HOST_PATH_MESSAGE);
});
