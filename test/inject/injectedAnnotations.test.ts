/**
 * values.sidecarInjectorWebhook.injectedAnnotations: Istio's chart renders them into the injector's
 * `injectedAnnotations`, added to every injected pod (the Kyma Istio module puts
 * `sidecar.istio.io/statsEvictionInterval` there). The configuration's own `injectedAnnotations` win on the same key.
 * Over HTTPS with the patch applied; refused at load when an entry is not text.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/types.js';
import { createRuntime } from '../../src/server/runtime.js';
import { startTestServer, type TestServer } from '../helpers/https.js';
import { admitPod, appPod } from './review.js';

describe('values.sidecarInjectorWebhook.injectedAnnotations', () => {
  let server: TestServer;
  beforeAll(async () => {
    const config = loadConfig({
      sets: [
        'values.sidecarInjectorWebhook.injectedAnnotations={"sidecar.istio.io/statsEvictionInterval":"60s","team":"from-values"}',
        'injectedAnnotations={"team":"from-config"}',
      ],
    });
    server = await startTestServer(createRuntime(config));
  });
  afterAll(() => server.close());

  it('are added to every injected pod; the configuration key wins on the same annotation', async () => {
    const answer = await admitPod(server, appPod());
    expect(answer.audit).toMatch(/^injected/);
    expect(answer.pod.metadata!.annotations).toMatchObject({ 'sidecar.istio.io/statsEvictionInterval': '60s', team: 'from-config' });
  });

  it('are not added to a pod that is not injected', async () => {
    const answer = await admitPod(server, appPod({ labels: { 'sidecar.istio.io/inject': 'false' } }));
    expect(answer.pod.metadata!.annotations?.['sidecar.istio.io/statsEvictionInterval']).toBeUndefined();
  });

  it('an entry that is not text is refused at load, naming it', () => {
    expect(() => loadConfig({ sets: ['values.sidecarInjectorWebhook.injectedAnnotations={"a":{"b":1}}'] })).toThrow(ConfigError);
    expect(() => loadConfig({ sets: ['values.sidecarInjectorWebhook.injectedAnnotations={"a":{"b":1}}'] })).toThrow(
      'config values.sidecarInjectorWebhook.injectedAnnotations.a: must be a string (quote numbers and booleans); got the map {"b":1}',
    );
    // --set keeps text as text: a number-like value stays the string it was written as.
    expect(loadConfig({ sets: ['values.sidecarInjectorWebhook.injectedAnnotations.retries=3'] }).values).toMatchObject({
      sidecarInjectorWebhook: { injectedAnnotations: { retries: '3' } },
    });
  });
});
