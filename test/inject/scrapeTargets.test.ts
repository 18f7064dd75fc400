/**
 * Metrics merge with several scrape targets, and the secure metrics port (src/inject/prometheus.ts), by Istio's rules
 * at istio/istio 86c9f01fd735: pkg/kube/inject/webhook.go applyPrometheusMerge, getPrometheusScrapeConfiguration,
 * clearPrometheusAnnotations and applySecurePrometheusAnnotation; pilot/cmd/pilot-agent/status/server.go
 * ParseScrapeTargets and IstioReservedPortReason.
 *
 * - `prometheus.istio.io/scrape-targets` is `port[:path]` entries separated by commas, each trimmed; empty entries are
 *   skipped; a missing or empty path is `/metrics`; an entry without a port makes Istio ignore the annotation.
 * - With targets, every target port must be a port number, not the status port and not one of Istio's reserved ports
 *   (compared after Atoi, so `015000` is 15000); the first target's port and path stand in for prometheus.io/port and
 *   path in ISTIO_PROMETHEUS_ANNOTATIONS, for agents that do not read `targets`. Without targets, prometheus.io/port is
 *   checked the same way.
 * - The merge removes every spelling of prometheus.io/scrape, port, path and prometheus.istio.io/scrape-targets.
 * - `prometheus.istio.io/secure-port` is added from the proxy's ENVOY_SECURE_MERGED_METRICS_PORT unless that is empty
 *   or `0` (no secure port), or the pod set the annotation (any spelling) itself.
 *
 * Rows marked "Istio" are from TestParseScrapeTargets and TestIstioReservedPortReason (server_test.go),
 * TestGetPrometheusScrapeConfigurationMultiTarget, TestApplyPrometheusMergeScrapeTargets and
 * TestApplySecurePrometheusAnnotation (webhook_test.go) at that commit (Apache License 2.0, see
 * test/fixtures/istio/NOTICE). Through the HTTPS webhook with the patch applied; the built CLI:
 * test/cli/scrapeTargets.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createRuntime } from '../../src/server/runtime.js';
import type { Pod } from '../../src/k8s/types.js';
import { startTestServer, type TestServer } from '../helpers/https.js';
import { admitPod, appPod, container, env } from './review.js';

const TARGETS = 'prometheus.istio.io/scrape-targets';
const SCRAPE_ENV = 'ISTIO_PROMETHEUS_ANNOTATIONS';
const MERGED = { 'prometheus.io/port': '15020', 'prometheus.io/path': '/stats/prometheus', 'prometheus.io/scrape': 'true' };

let istio: TestServer;
let kyma: TestServer;
beforeAll(async () => {
  istio = await startTestServer(createRuntime(loadConfig({ profile: 'istio' })));
  kyma = await startTestServer(createRuntime(loadConfig({ profile: 'kyma' })));
});
afterAll(async () => {
  await Promise.all([istio?.close(), kyma?.close()]);
});

const scrapeEnv = (pod: Pod) => env(container(pod, 'istio-proxy'), SCRAPE_ENV);
/** The pod's annotations with `prometheus` in their key. */
function annotationsOf(pod: Pod): Record<string, string> {
  return Object.fromEntries(Object.entries(pod.metadata!.annotations!).filter(([k]) => k.includes('prometheus')));
}
const targetsPod = (targets: string, extra: Record<string, string> = {}) =>
  appPod({ annotations: { 'prometheus.io/scrape': 'true', [TARGETS]: targets, ...extra } });

describe('parsing prometheus.istio.io/scrape-targets (Istio: TestParseScrapeTargets), as the proxy is told', () => {
  const rows: [row: string, targets: string, scrapeEnv: string | undefined][] = [
    ['Istio: single target', '8080:/metrics', '{"scrape":"true","path":"/metrics","port":"8080","targets":[{"port":"8080","path":"/metrics"}]}'],
    [
      'Istio: two targets',
      '8080:/metrics,9100:/custom',
      '{"scrape":"true","path":"/metrics","port":"8080","targets":[{"port":"8080","path":"/metrics"},{"port":"9100","path":"/custom"}]}',
    ],
    ['Istio: no path defaults to /metrics', '8080', '{"scrape":"true","path":"/metrics","port":"8080","targets":[{"port":"8080","path":"/metrics"}]}'],
    [
      'Istio: empty path component defaults to /metrics',
      '8080:,9100:/custom',
      '{"scrape":"true","path":"/metrics","port":"8080","targets":[{"port":"8080","path":"/metrics"},{"port":"9100","path":"/custom"}]}',
    ],
    [
      'Istio: whitespace trimmed',
      ' 8080:/metrics , 9100:/custom ',
      '{"scrape":"true","path":"/metrics","port":"8080","targets":[{"port":"8080","path":"/metrics"},{"port":"9100","path":"/custom"}]}',
    ],
    ['Istio: empty string returns nil', '', '{"scrape":"true","path":"","port":""}'],
    ['Istio: only commas returns nil', ',,,', '{"scrape":"true","path":"","port":""}'],
    ['Istio: empty port is an error (the annotation is ignored)', ':/metrics', '{"scrape":"true","path":"","port":""}'],
    ['Istio: mixed valid and invalid stops at first empty port (all ignored)', '8080:/metrics,:/bad,9100:/custom', '{"scrape":"true","path":"","port":""}'],
    [
      'Istio: duplicate ports accepted',
      '8080:/metrics,8080:/other',
      '{"scrape":"true","path":"/metrics","port":"8080","targets":[{"port":"8080","path":"/metrics"},{"port":"8080","path":"/other"}]}',
    ],
    [
      'Istio: path with query string preserved verbatim',
      '8080:/metrics?foo=bar',
      '{"scrape":"true","path":"/metrics?foo=bar","port":"8080","targets":[{"port":"8080","path":"/metrics?foo=bar"}]}',
    ],
    ['only the first colon separates the path', '8080: /a:b ', '{"scrape":"true","path":"/a:b","port":"8080","targets":[{"port":"8080","path":"/a:b"}]}'],
    [
      "'<', '>' and '&' as Go's encoding/json writes them",
      '8080:/m?a=<1>&b',
      '{"scrape":"true","path":"/m?a=\\u003c1\\u003e\\u0026b","port":"8080","targets":[{"port":"8080","path":"/m?a=\\u003c1\\u003e\\u0026b"}]}',
    ],
    ['a signed port (Go\'s Atoi accepts it) is passed on as written', '+8080', '{"scrape":"true","path":"/metrics","port":"+8080","targets":[{"port":"+8080","path":"/metrics"}]}'],
  ];

  it.each(rows)('%s', async (_row, targets, expected) => {
    const answer = await admitPod(istio, targetsPod(targets));
    expect(answer.allowed).toBe(true);
    expect(scrapeEnv(answer.pod)).toBe(expected);
    // Istio: "happy path strips prometheus.istio.io/scrape-targets annotation" (ignored or not, it is removed).
    expect(annotationsOf(answer.pod)).toEqual(MERGED);
  });
});

describe('targets and the prometheus.io annotations together (Istio: TestGetPrometheusScrapeConfigurationMultiTarget)', () => {
  const rows: [row: string, annotations: Record<string, string>, scrapeEnv: string | undefined][] = [
    [
      'Istio: scrape-targets only',
      { [TARGETS]: '8080:/metrics,9100:/custom' },
      '{"scrape":"","path":"/metrics","port":"8080","targets":[{"port":"8080","path":"/metrics"},{"port":"9100","path":"/custom"}]}',
    ],
    [
      'Istio: scrape-targets with legacy port annotation',
      { 'prometheus.io/port': '8080', 'prometheus.io/path': '/metrics', [TARGETS]: '8080:/metrics,9100:/custom' },
      '{"scrape":"","path":"/metrics","port":"8080","targets":[{"port":"8080","path":"/metrics"},{"port":"9100","path":"/custom"}]}',
    ],
    ['Istio: legacy only, no targets', { 'prometheus.io/port': '8080', 'prometheus.io/path': '/health' }, '{"scrape":"","path":"/health","port":"8080"}'],
    ['Istio: whitespace trimmed in scrape-targets', { [TARGETS]: ' 8080:/metrics , 9100:/custom ' }, '{"scrape":"","path":"/metrics","port":"8080","targets":[{"port":"8080","path":"/metrics"},{"port":"9100","path":"/custom"}]}'],
    ['Istio: malformed scrape-targets is left out', { [TARGETS]: ':/metrics' }, undefined],
    ['malformed scrape-targets: the legacy annotations are used', { 'prometheus.io/port': '9102', [TARGETS]: ':/metrics' }, '{"scrape":"","path":"","port":"9102"}'],
    [
      "the first target's port and path replace the legacy ones (for agents that do not read targets)",
      { 'prometheus.io/port': '9102', 'prometheus.io/path': '/old', [TARGETS]: '9100:/custom,8080' },
      '{"scrape":"","path":"/custom","port":"9100","targets":[{"port":"9100","path":"/custom"},{"port":"8080","path":"/metrics"}]}',
    ],
    [
      'with targets the legacy port is not checked (only the targets are)',
      { 'prometheus.io/port': '15000', [TARGETS]: '8080' },
      '{"scrape":"","path":"/metrics","port":"8080","targets":[{"port":"8080","path":"/metrics"}]}',
    ],
    [
      'a variant spelling of the targets key (prometheus-istio-io/scrape-targets) is read and removed',
      { 'prometheus-istio-io/scrape-targets': '9100:/custom' },
      '{"scrape":"","path":"/custom","port":"9100","targets":[{"port":"9100","path":"/custom"}]}',
    ],
  ];

  it.each(rows)('%s', async (_row, annotations, expected) => {
    const answer = await admitPod(istio, appPod({ annotations }));
    expect(answer.allowed).toBe(true);
    expect(scrapeEnv(answer.pod)).toBe(expected);
    expect(annotationsOf(answer.pod)).toEqual(MERGED);
  });
});

describe('every target port is checked (Istio: TestApplyPrometheusMergeScrapeTargets, TestIstioReservedPortReason)', () => {
  const reserved: [port: string, reason: string][] = [
    ['15000', 'Envoy admin'],
    ['15001', 'outbound traffic capture'],
    ['15004', 'pilot debug'],
    ['15006', 'inbound traffic capture'],
    ['15008', 'HBONE tunnel'],
    ['15021', 'Envoy health'],
    ['15053', 'DNS proxy'],
    ['15090', 'Envoy Prometheus (already merged)'],
  ];
  const targetsRefusal = (problem: string) =>
    `invalid prometheus scrape targets: ${problem}; list the application's own metrics ports in the annotation 'prometheus.istio.io/scrape-targets'`;

  it.each(reserved)('Istio: reserved port %s refused in second place', async (port, reason) => {
    const answer = await admitPod(istio, targetsPod(`8080:/metrics,${port}:/metrics`));
    expect(answer.allowed).toBe(false);
    expect(answer.patch).toBeUndefined();
    expect(answer.message).toBe(targetsRefusal(`target port ${port} is reserved for Istio (${reason}) and cannot be scraped`));
    expect(answer.audit).toBe('rejected: invalid prometheus scrape targets');
  });

  const refused: [row: string, targets: string, problem: string][] = [
    ['Istio: agent port rejected independently of reserved check', '15020:/metrics', 'target port 15020 conflicts with agent port'],
    ['a leading zero is the same port (Atoi)', '8080,015000', 'target port 015000 is reserved for Istio (Envoy admin) and cannot be scraped'],
    ['a leading zero on the agent port', '015020', 'target port 015020 conflicts with agent port'],
    ['not a number', '8080,http:/metrics', 'invalid target port "http"'],
    ['port 0', '0', 'invalid target port "0"'],
    ['above 65535', '65536:/metrics', 'invalid target port "65536"'],
    ['negative', '-1', 'invalid target port "-1"'],
    ['a decimal point', '80.0', 'invalid target port "80.0"'],
    ['the first failing target is named', '15090,15000', 'target port 15090 is reserved for Istio (Envoy Prometheus (already merged)) and cannot be scraped'],
  ];

  it.each(refused)('%s', async (_row, targets, problem) => {
    const answer = await admitPod(istio, targetsPod(targets));
    expect(answer.allowed).toBe(false);
    expect(answer.message).toBe(targetsRefusal(problem));
  });

  it.each(['80', '8080', '9090', '15002', '15007', '15091', '15099'])('Istio: non-reserved port %s is scraped', async (port) => {
    const answer = await admitPod(istio, targetsPod(`${port}:/metrics`));
    expect(answer.allowed).toBe(true);
    expect(scrapeEnv(answer.pod)).toBe(`{"scrape":"true","path":"/metrics","port":"${port}","targets":[{"port":"${port}","path":"/metrics"}]}`);
  });

  it('the legacy prometheus.io/port: the same checks, in the words of the scrape configuration', async () => {
    const cases: [string, string][] = [
      ['015020', 'port 015020 conflicts with agent port'],
      ['http', 'invalid port "http"'],
      ['0', 'invalid port "0"'],
      ['+15090', 'port +15090 is reserved for Istio (Envoy Prometheus (already merged)) and cannot be scraped'],
    ];
    for (const [port, problem] of cases) {
      const answer = await admitPod(istio, appPod({ annotations: { 'prometheus.io/port': port } }));
      expect(answer.allowed, port).toBe(false);
      expect(answer.message).toBe(`invalid prometheus scrape configuration: ${problem}; set the annotation 'prometheus.io/port' to the application's own metrics port`);
      expect(answer.audit).toBe('rejected: invalid prometheus scrape configuration');
    }
  });
});

describe('when nothing is merged, the annotations stay', () => {
  it('Istio: prometheus.io/port already the status port (merged before): nothing changes, the targets annotation stays', async () => {
    const annotations = { 'prometheus.io/port': '15020', [TARGETS]: '8080:/metrics' };
    const answer = await admitPod(istio, appPod({ annotations }));
    expect(answer.allowed).toBe(true);
    expect(annotationsOf(answer.pod)).toEqual(annotations);
    expect(scrapeEnv(answer.pod)).toBeUndefined();
  });

  it('prometheus.io/scrape: "false": nothing is merged or checked', async () => {
    const annotations = { 'prometheus.io/scrape': 'false', [TARGETS]: '15000:/metrics' };
    const answer = await admitPod(istio, appPod({ annotations }));
    expect(answer.allowed).toBe(true);
    expect(annotationsOf(answer.pod)).toEqual(annotations);
  });

  it('merge off (kyma profile): the targets annotation is left to the pod; with merge-metrics "true", merged', async () => {
    const off = await admitPod(kyma, targetsPod('15000:/metrics'));
    expect(off.allowed).toBe(true);
    expect(annotationsOf(off.pod)).toEqual({ 'prometheus.io/scrape': 'true', [TARGETS]: '15000:/metrics' });
    const on = await admitPod(kyma, targetsPod('9100', { 'prometheus.istio.io/merge-metrics': 'true' }));
    expect(on.allowed).toBe(true);
    expect(annotationsOf(on.pod)).toEqual({ ...MERGED, 'prometheus.istio.io/merge-metrics': 'true' });
    expect(scrapeEnv(on.pod)).toBe('{"scrape":"true","path":"/metrics","port":"9100","targets":[{"port":"9100","path":"/metrics"}]}');
  });
});

describe('prometheus.istio.io/secure-port (Istio: TestApplySecurePrometheusAnnotation)', () => {
  const withMetadata = (metadata: Record<string, string>, annotations: Record<string, string> = {}) =>
    appPod({ annotations: { 'proxy.istio.io/config': JSON.stringify({ proxyMetadata: metadata }), ...annotations } });
  const secure = (pod: Pod) => pod.metadata!.annotations!['prometheus.istio.io/secure-port'];

  it('Istio: sidecar: auto-annotates from ENVOY_SECURE_MERGED_METRICS_PORT', async () => {
    const answer = await admitPod(istio, withMetadata({ ENVOY_SECURE_METRICS_PORT: '15091', ENVOY_SECURE_MERGED_METRICS_PORT: '15092' }));
    expect(answer.allowed).toBe(true);
    expect(secure(answer.pod)).toBe('15092');
  });

  it('Istio: user-set annotation is not overwritten (any spelling of the key)', async () => {
    const own = await admitPod(istio, withMetadata({ ENVOY_SECURE_MERGED_METRICS_PORT: '15092' }, { 'prometheus.istio.io/secure-port': '19999' }));
    expect(secure(own.pod)).toBe('19999');
    const variant = await admitPod(istio, withMetadata({ ENVOY_SECURE_MERGED_METRICS_PORT: '15092' }, { 'prometheus-istio-io/secure-port': '19999' }));
    expect(secure(variant.pod)).toBeUndefined();
    expect(variant.pod.metadata!.annotations!['prometheus-istio-io/secure-port']).toBe('19999');
  });

  it('Istio: disabled (port=0) does not annotate; nor does an empty value', async () => {
    for (const value of ['0', '']) {
      const answer = await admitPod(istio, withMetadata({ ENVOY_SECURE_MERGED_METRICS_PORT: value }));
      expect(answer.allowed, value).toBe(true);
      // The proxy has the variable (an empty value is left out of the JSON, as Kubernetes writes it).
      const proxyEnv = container(answer.pod, 'istio-proxy')!.env!.find((e) => e.name === 'ENVOY_SECURE_MERGED_METRICS_PORT');
      expect(proxyEnv, value).toEqual(value === '' ? { name: 'ENVOY_SECURE_MERGED_METRICS_PORT' } : { name: 'ENVOY_SECURE_MERGED_METRICS_PORT', value });
      expect(secure(answer.pod), value).toBeUndefined();
    }
  });

  it('Istio: no env var: no annotation', async () => {
    const answer = await admitPod(istio, withMetadata({ SOME_OTHER_VAR: 'value' }));
    expect(secure(answer.pod)).toBeUndefined();
  });

  it('from the mesh-wide proxyMetadata too, with the merge off (kyma profile)', async () => {
    const server = await startTestServer(
      createRuntime(loadConfig({ profile: 'kyma', sets: ['meshConfig.defaultConfig.proxyMetadata.ENVOY_SECURE_MERGED_METRICS_PORT="15092"'] })),
    );
    try {
      const answer = await admitPod(server, appPod());
      expect(secure(answer.pod)).toBe('15092');
    } finally {
      await server.close();
    }
  });
});
