/**
 * The admission metrics, scraped from a running server after a known set of requests: every counter and histogram
 * sample must match the requests sent. Also: the plain-HTTP metrics listener (--metrics-port), the cluster cache
 * gauges, the Node.js process metrics, and the command-line flags.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { samplePod } from '../../src/admission/sample.js';
import { parseCommandLine, UsageError } from '../../src/cli/args.js';
import { loadConfig } from '../../src/config/load.js';
import { ADMISSION_DURATION_BUCKETS, createMetrics, trackClusterCache, type WebhookMetrics } from '../../src/metrics.js';
import { createRuntime } from '../../src/server/runtime.js';
import { serve, type RunningServer } from '../../src/server/serve.js';
import { startTestServer, type TestServer } from '../helpers/https.js';
import { parseMetrics, podWith, review, sampleValue, type Scrape } from './helpers.js';

const REQUESTS = 'mesh_webhook_admission_requests_total';
const DURATION = 'mesh_webhook_admission_duration_seconds';

function get(url: string, method = 'GET'): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The sample pod declaring an istio-proxy with these resources (merged over the configured ones by the injector). */
function declaredProxy(resources: Record<string, Record<string, string>>) {
  const pod = samplePod();
  pod.spec = { ...pod.spec, containers: [...(pod.spec?.containers ?? []), { name: 'istio-proxy', image: 'auto', resources }] };
  return pod;
}

describe('admission metrics after a known set of requests', () => {
  let server: TestServer;
  let metrics: WebhookMetrics;
  let scrape: Scrape;

  beforeAll(async () => {
    metrics = createMetrics();
    // Metrics merged (as in the istio profile), so a reserved prometheus.io/port is a rejection.
    server = await startTestServer(createRuntime(loadConfig({ sets: ['meshConfig.enablePrometheusMerge=true'] })), { metrics });
    const inject = (uid: string, pod = samplePod()) => server.postJson('/inject', review(uid, pod));
    const answers = [
      await inject('a1'), // injected by policy
      await inject('a2'), // injected by policy
      await inject('a3', podWith({ hostNetwork: true })), // skipped: hostNetwork
      await inject('a4', podWith({ labels: { 'sidecar.istio.io/inject': 'false' } })), // skipped: podLabel
      await inject('a5', podWith({ annotations: { 'sidecar.istio.io/interceptionMode': 'BOGUS' } })), // rejected
      await inject('a7', podWith({ annotations: { 'sidecar.istio.io/interceptionMode': 'TPROXY' } })), // rejected: root proxy
      await inject('a8', podWith({ labels: Object.fromEntries(Array.from({ length: 1025 }, (_, i) => [`l${i}`, 'v'])) })), // rejected: cap
      await inject('a9', podWith({ annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '15090' } })), // rejected: reserved port
      await inject('a10', declaredProxy({ requests: { memory: '1Gi' } })), // rejected: declared istio-proxy over the limit
      await server.postJson('/inject', { ...review('a6'), request: { ...review('a6').request, kind: { group: '', version: 'v1', kind: 'ConfigMap' }, object: { kind: 'ConfigMap' } } }),
      await server.request('/inject', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }), // 415
      await server.postJson('/inject', '{not json'), // denied in an AdmissionReview, as Istio does (HTTP 200)
      await server.request('/inject', { method: 'POST', headers: { 'content-type': 'application/json' } }), // no body: 400
      await server.postJson('/validate', review('v1')), // allowed (warn mode)
      await server.request('/healthz'), // not an admission endpoint: not counted
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 415, 200, 400, 200, 200]);
    const res = await server.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    scrape = parseMetrics(res.text);
  });
  afterAll(() => server.close());

  it('counts each request once by endpoint, outcome and a bounded reason (the decision rule, a rejection category, the HTTP status)', () => {
    const counts = scrape.samples
      .filter((s) => s.name === REQUESTS)
      .map((s) => `${s.labels.endpoint} ${s.labels.outcome} ${s.labels.reason} ${s.value}`)
      .sort();
    expect(counts).toEqual(
      [
        'inject injected policy 2',
        'inject skipped hostNetwork 1',
        'inject skipped podLabel 1',
        'inject rejected invalidAnnotation 1',
        'inject rejected unsafeInjection 1',
        'inject rejected limitExceeded 1',
        'inject rejected invalidPrometheusPort 1',
        'inject rejected injectedResources 1',
        'inject skipped notAPod 1',
        'inject refused 415 1',
        'inject refused 400 1',
        'inject rejected invalidReview 1',
        'validate allowed warn 1',
      ].sort(),
    );
    expect(scrape.types.get(REQUESTS)).toBe('counter');
  });

  it('observes every answered admission request in a histogram with millisecond buckets', () => {
    expect(scrape.types.get(DURATION)).toBe('histogram');
    expect(sampleValue(scrape, `${DURATION}_count`, { endpoint: 'inject' })).toBe(13);
    expect(sampleValue(scrape, `${DURATION}_count`, { endpoint: 'validate' })).toBe(1);
    const les = scrape.samples.filter((s) => s.name === `${DURATION}_bucket` && s.labels.endpoint === 'inject').map((s) => s.labels.le);
    expect(les).toEqual([...ADMISSION_DURATION_BUCKETS.map(String), '+Inf']);
    expect(les.slice(0, 3)).toEqual(['0.0005', '0.001', '0.002']);
    expect(sampleValue(scrape, `${DURATION}_bucket`, { endpoint: 'inject', le: '+Inf' })).toBe(13);
  });

  it('exports the Node.js process metrics, the reload counters, certificate expiry and the cluster cache families', () => {
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds']) {
      expect(scrape.types.has(name), name).toBe(true);
    }
    expect(sampleValue(scrape, 'mesh_webhook_config_reloads_total', { result: 'failure' })).toBe(0);
    expect(scrape.types.get('mesh_webhook_certificate_expiry_timestamp_seconds')).toBe('gauge');
    // Without a cluster: the families exist, without samples.
    for (const name of ['mesh_webhook_cluster_cache_synced', 'mesh_webhook_cluster_cache_connected', 'mesh_webhook_cluster_cache_objects']) {
      expect(scrape.types.get(name), name).toBe('gauge');
      expect(scrape.samples.filter((s) => s.name === name)).toEqual([]);
    }
  });
});

describe('cluster cache gauges', () => {
  it('read the cache state at scrape time', async () => {
    const metrics = createMetrics({ processMetrics: false });
    let synced = false;
    trackClusterCache(metrics, () => ({
      namespaces: 7,
      nodes: 3,
      informers: {
        namespaces: { synced, connected: synced, lastSyncTime: synced ? 1_700_000_000_500 : undefined },
        nodes: { synced: true, connected: false, lastSyncTime: 1_700_000_001_000 },
      },
    }));
    let s = parseMetrics(await metrics.registry.metrics());
    expect(sampleValue(s, 'mesh_webhook_cluster_cache_synced', { resource: 'namespaces' })).toBe(0);
    expect(sampleValue(s, 'mesh_webhook_cluster_cache_last_sync_timestamp_seconds', { resource: 'namespaces' })).toBeUndefined();
    synced = true;
    s = parseMetrics(await metrics.registry.metrics());
    expect(sampleValue(s, 'mesh_webhook_cluster_cache_synced', { resource: 'namespaces' })).toBe(1);
    expect(sampleValue(s, 'mesh_webhook_cluster_cache_connected', { resource: 'namespaces' })).toBe(1);
    expect(sampleValue(s, 'mesh_webhook_cluster_cache_connected', { resource: 'nodes' })).toBe(0);
    expect(sampleValue(s, 'mesh_webhook_cluster_cache_last_sync_timestamp_seconds', { resource: 'namespaces' })).toBe(1_700_000_000.5);
    expect(sampleValue(s, 'mesh_webhook_cluster_cache_objects', { resource: 'namespaces' })).toBe(7);
    expect(sampleValue(s, 'mesh_webhook_cluster_cache_objects', { resource: 'nodes' })).toBe(3);
    expect(s.types.has('process_cpu_user_seconds_total')).toBe(false);
  });
});

describe('the plain-HTTP metrics listener (serve --metrics-port)', () => {
  let running: RunningServer;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-metrics-'));
    running = await serve({
      injector: createRuntime(loadConfig({})),
      port: 0,
      host: '127.0.0.1',
      metricsListener: { port: 0, host: '127.0.0.1' },
      handleSignals: false,
      logger: pino({ level: 'silent' }),
      devCertDir: dir,
      out: { write: () => true } as unknown as NodeJS.WritableStream,
    });
  });
  afterAll(async () => {
    await running.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the same registry over plain HTTP: an admission on HTTPS shows up there', async () => {
    expect(running.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const { httpsRequest } = await import('../helpers/https.js');
    const ca = await import('node:fs/promises').then((fs) => fs.readFile(path.join(dir, 'ca.crt'), 'utf8'));
    const answer = await httpsRequest(`${running.url}/inject`, {
      ca,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(review('m1')),
    });
    expect(answer.status).toBe(200);
    const res = await get(running.metricsUrl!);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    const s = parseMetrics(res.text);
    expect(sampleValue(s, REQUESTS, { endpoint: 'inject', outcome: 'injected', reason: 'policy' })).toBe(1);
    expect(s.types.has('process_cpu_user_seconds_total')).toBe(true);
  });

  it('serves nothing else: 404 for other paths, 405 for other methods', async () => {
    const base = running.metricsUrl!.replace(/\/metrics$/, '');
    expect((await get(`${base}/inject`, 'POST')).status).toBe(404);
    const post = await get(running.metricsUrl!, 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect(JSON.parse(post.text)).toEqual({ error: 'method POST is not allowed on /metrics; use GET, HEAD' });
  });
});

describe('metrics flags', () => {
  it('--metrics-port and --metrics-host', () => {
    expect(parseCommandLine(['serve', '--metrics-port', '0'])).toMatchObject({ command: 'serve', args: { metricsPort: 0 } });
    expect(parseCommandLine(['serve', '--metrics-port', '9191', '--metrics-host', '127.0.0.1'])).toMatchObject({
      args: { metricsPort: 9191, metricsHost: '127.0.0.1' },
    });
    const args = parseCommandLine(['serve']);
    expect(args).toMatchObject({ command: 'serve' });
    expect((args as { args: Record<string, unknown> }).args.metricsPort).toBeUndefined();
    expect(() => parseCommandLine(['serve', '--metrics-port', 'x'])).toThrow(UsageError);
    expect(() => parseCommandLine(['serve', '--metrics-port', '70000'])).toThrow(/--metrics-port must be an integer 0..65535 \(0 = no metrics listener\)/);
  });
});
