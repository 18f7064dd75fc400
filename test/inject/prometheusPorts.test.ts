/**
 * Metrics merge (`prometheus.io/*` annotations handed to the proxy, src/inject/prometheus.ts): a `prometheus.io/port`
 * that is one of the proxy's own ports would make the proxy scrape itself, so the injector refuses the pod, naming the
 * port and why it is Istio's, in Istio's words. The table is written here literally; it is Istio's
 * (pilot/cmd/pilot-agent/status/server.go `istioReservedPorts`, used by pkg/kube/inject/webhook.go applyPrometheusMerge
 * at istio/istio 86c9f01fd735): 15000, 15001, 15004, 15006, 15008, 15020, 15021, 15053, 15090.
 *
 * As in Istio, the status port itself (15020 by default) is not refused: it is what the merge writes, so a pod that
 * already points there was merged before (re-injection) and is left as it is. With another status port, 15020 is
 * refused like the others. Scrape targets (prometheus.istio.io/scrape-targets): test/inject/scrapeTargets.test.ts.
 *
 * Through the HTTPS webhook (istio profile: merge on) with the answer's patch applied.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createRuntime } from '../../src/server/runtime.js';
import { startTestServer, type TestServer } from '../helpers/https.js';
import { admitPod, appPod, container, env } from './review.js';

const REASONS: Record<number, string> = {
  15000: 'Envoy admin',
  15001: 'outbound traffic capture',
  15004: 'pilot debug',
  15006: 'inbound traffic capture',
  15008: 'HBONE tunnel',
  15020: 'pilot-agent status / merged Prometheus',
  15021: 'Envoy health',
  15053: 'DNS proxy',
  15090: 'Envoy Prometheus (already merged)',
};
const RESERVED = [15000, 15001, 15004, 15006, 15008, 15020, 15021, 15053, 15090];
const NEIGHBOURS = [14999, 15002, 15003, 15005, 15007, 15009, 15010, 15019, 15022, 15052, 15054, 15089, 15091, 8080];

const refusal = (port: number, key = 'prometheus.io/port') =>
  `invalid prometheus scrape configuration: port ${port} is reserved for Istio (${REASONS[port]}) and cannot be scraped; set the annotation '${key}' to the application's own metrics port`;

let istio: TestServer;
let otherStatusPort: TestServer;
let kyma: TestServer;
beforeAll(async () => {
  istio = await startTestServer(createRuntime(loadConfig({ profile: 'istio' })));
  otherStatusPort = await startTestServer(createRuntime(loadConfig({ profile: 'istio', sets: ['meshConfig.defaultConfig.statusPort=15030'] })));
  kyma = await startTestServer(createRuntime(loadConfig({ profile: 'kyma' })));
});
afterAll(async () => {
  await Promise.all([istio?.close(), otherStatusPort?.close(), kyma?.close()]);
});

const scraped = (port: number, extra: Record<string, string> = {}) =>
  appPod({ annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': '/metrics', ...extra } });

describe('status port 15020 (default)', () => {
  it.each(RESERVED.filter((p) => p !== 15020))('prometheus.io/port %d is refused', async (port) => {
    const answer = await admitPod(istio, scraped(port));
    expect(answer.allowed).toBe(false);
    expect(answer.patch).toBeUndefined();
    expect(answer.message).toBe(refusal(port));
  });

  it('prometheus.io/port 15020 (the status port: merged already) is injected with the annotations as they are', async () => {
    const answer = await admitPod(istio, scraped(15020));
    expect(answer.allowed).toBe(true);
    const annotations = answer.pod.metadata!.annotations!;
    expect([annotations['prometheus.io/port'], annotations['prometheus.io/path'], annotations['prometheus.io/scrape']]).toEqual(['15020', '/metrics', 'true']);
    expect(env(container(answer.pod, 'istio-proxy'), 'ISTIO_PROMETHEUS_ANNOTATIONS')).toBeUndefined();
  });

  it.each(NEIGHBOURS)('prometheus.io/port %d is merged: the proxy scrapes it, Prometheus scrapes the proxy', async (port) => {
    const answer = await admitPod(istio, scraped(port));
    expect(answer.allowed).toBe(true);
    const annotations = answer.pod.metadata!.annotations!;
    expect([annotations['prometheus.io/port'], annotations['prometheus.io/path'], annotations['prometheus.io/scrape']]).toEqual(['15020', '/stats/prometheus', 'true']);
    expect(env(container(answer.pod, 'istio-proxy'), 'ISTIO_PROMETHEUS_ANNOTATIONS')).toBe(`{"scrape":"true","path":"/metrics","port":"${port}"}`);
  });

  it('a variant spelling of the key (prometheus.io.port) is checked the same way', async () => {
    const answer = await admitPod(istio, appPod({ annotations: { 'prometheus.io.port': '15090' } }));
    expect(answer.allowed).toBe(false);
    expect(answer.message).toBe(refusal(15090, 'prometheus.io.port'));
  });
});

describe('status port 15030', () => {
  it.each(RESERVED)('prometheus.io/port %d is refused (15020 included)', async (port) => {
    const answer = await admitPod(otherStatusPort, scraped(port));
    expect(answer.allowed).toBe(false);
    expect(answer.message).toBe(refusal(port));
  });

  it.each([15030, 15002, 15089, 15091])('prometheus.io/port %d is not refused', async (port) => {
    const answer = await admitPod(otherStatusPort, scraped(port));
    expect(answer.allowed).toBe(true);
    expect(answer.pod.metadata!.annotations!['prometheus.io/port']).toBe('15030');
  });
});

describe('merge off (kyma profile)', () => {
  it('no check without the merge; with prometheus.istio.io/merge-metrics: "true" on the pod, the same refusal', async () => {
    const off = await admitPod(kyma, scraped(15090));
    expect(off.allowed).toBe(true);
    expect(off.pod.metadata!.annotations!['prometheus.io/port']).toBe('15090');
    for (const port of RESERVED.filter((p) => p !== 15020)) {
      const on = await admitPod(kyma, scraped(port, { 'prometheus.istio.io/merge-metrics': 'true' }));
      expect(on.allowed, String(port)).toBe(false);
      expect(on.message).toBe(refusal(port));
    }
  });
});
