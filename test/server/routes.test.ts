/**
 * Spellings of the admission paths. Fastify routes the percent-decoded path, so `/%69nject` is /inject: every
 * per-endpoint concern (client certificate, overload guard, metrics label, body limit) must follow the route Fastify
 * matched, never the raw URL. The security review found `/%69nject`, `/%76alidate` and `/%65xplain` answering 200 with
 * full results under --client-ca, processed while /inject was shed, and missing from the metrics.
 *
 * The table below says, for each spelling, which endpoint it reaches (or that it reaches none: 404). Each test sends
 * every spelling through a real HTTPS server and checks the concern against the table.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { sampleAdmissionReview } from '../../src/admission/sample.js';
import type { WebhookMetrics } from '../../src/metrics.js';
import { httpsRequest, testCertificates, type HttpsResponse } from '../helpers/https.js';
import { rawTail } from '../../src/server/routes.js';
import { closeEdgeServers, startEdgeServer } from './edgeServer.js';

type Endpoint = 'inject' | 'validate' | 'explain';

/** Path as sent → the endpoint it reaches, or null (404). Written out, not derived from the router. */
const SPELLINGS: readonly [string, Endpoint | null][] = [
  ['/inject', 'inject'],
  ['/inject?timeout=10s', 'inject'],
  ['/%69nject', 'inject'],
  ['/%69%6e%6a%65%63%74', 'inject'],
  ['/%69%6E%6A%65%63%74?timeout=10s', 'inject'],
  ['/in%6aect/cluster/c1/net/n1', 'inject'],
  ['/inject/', 'inject'],
  ['/inject/cluster/c1', 'inject'],
  ['/%69nject/cluster/c%2F1', 'inject'],
  ['/validate', 'validate'],
  ['/validate/', 'validate'],
  ['/validate?timeout=5s', 'validate'],
  ['/%76alidate', 'validate'],
  ['/%76%61%6c%69%64%61%74%65/', 'validate'],
  ['/explain', 'explain'],
  ['/%65xplain', 'explain'],
  ['/%65xplain?x=1', 'explain'],
  // Not admission routes: 404, and never processed.
  ['//inject', null],
  ['//validate', null],
  ['/inject%2F', null],
  ['/INJECT', null],
  ['/Inject', null],
  ['/VALIDATE', null],
  ['/Explain', null],
  ['/validate//', null],
  ['/explain/', null],
  ['/inject%00', null],
  ['/inject;x', null],
  ['/inject%20', null],
  ['/./inject', null],
  ['/%2e/inject', null],
  ['/x/../inject', null],
];

afterEach(closeEdgeServers);

async function start(options: Parameters<typeof startEdgeServer>[0] = {}) {
  const certs = await testCertificates();
  const { port, metrics } = await startEdgeServer({ explain: true, ...options });
  const base = `https://127.0.0.1:${port}/`;
  // The path goes out exactly as written (no URL normalisation of `/./inject` or `//inject`).
  const postBody = (path: string, body: string): Promise<HttpsResponse> =>
    httpsRequest(base, { ca: certs.ca, method: 'POST', rawPath: path, headers: { 'content-type': 'application/json' }, body });
  const post = (path: string, uid: string) => postBody(path, JSON.stringify(sampleAdmissionReview({ uid })));
  return { post, postBody, metrics };
}

async function admissionCount(metrics: WebhookMetrics): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await metrics.admissionRequests.get()).values) {
    const key = `${v.labels['endpoint']}/${v.labels['outcome']}`;
    out[key] = (out[key] ?? 0) + v.value;
  }
  return out;
}

describe('every spelling of an admission path gets exactly what its endpoint gets', () => {
  test('without concerns: a routed spelling is processed by its endpoint, anything else is 404', async () => {
    const { post } = await start();
    for (const [path, endpoint] of SPELLINGS) {
      const res = await post(path, 'plain');
      if (endpoint === null) {
        expect(res.status, path).toBe(404);
        expect((res.json as { error: string }).error, path).toMatch(/^no route for POST /);
        continue;
      }
      expect(res.status, path).toBe(200);
      const body = res.json as Record<string, unknown>;
      if (endpoint === 'explain') expect(body, path).toHaveProperty('decision');
      else expect(body, path).toMatchObject({ kind: 'AdmissionReview', response: { uid: 'plain', allowed: true } });
      if (endpoint === 'inject') expect((body as { response: { patch?: string } }).response.patch, path).toBeTruthy();
      if (endpoint === 'validate') expect((body as { response: { auditAnnotations?: Record<string, string> } }).response.auditAnnotations, path).toHaveProperty(['mesh-webhook/validation']);
    }
  });

  test('--client-ca: every routed spelling answers 401 without a client certificate; none answers 200', async () => {
    const certs = await testCertificates();
    const { post } = await start({ tls: { cert: certs.cert, key: certs.key, clientCa: certs.ca } });
    for (const [path, endpoint] of SPELLINGS) {
      const res = await post(path, 'unauthenticated');
      expect(res.status, path).toBe(endpoint === null ? 404 : 401);
      if (endpoint !== null) expect((res.json as { error: string }).error, path).toMatch(/client certificate is required/);
    }
  });

  test('overload: every routed spelling is shed; none is processed', async () => {
    const { post } = await start({ shedAll: true });
    for (const [path, endpoint] of SPELLINGS) {
      const res = await post(path, 'shed');
      if (endpoint === null) {
        expect(res.status, path).toBe(404);
      } else if (endpoint === 'inject') {
        expect(res.status, path).toBe(200);
        expect(res.json, path).toMatchObject({ response: { uid: 'shed', allowed: false, status: { code: 429 } } });
        expect((res.json as { response: { patch?: string } }).response.patch, path).toBeUndefined();
      } else {
        expect(res.status, path).toBe(429);
        expect(res.headers['retry-after'], path).toBe('1');
      }
    }
  });

  test('metrics: every routed spelling is counted under its endpoint, the others under none', async () => {
    const { post, metrics } = await start();
    for (const [path] of SPELLINGS) await post(path, 'counted');
    const expected: Record<string, number> = {};
    for (const [, endpoint] of SPELLINGS) {
      if (endpoint === null) continue;
      const outcome = endpoint === 'inject' ? 'injected' : endpoint === 'validate' ? 'allowed' : 'explained';
      expected[`${endpoint}/${outcome}`] = (expected[`${endpoint}/${outcome}`] ?? 0) + 1;
    }
    expect(await admissionCount(metrics)).toEqual(expected);
  });

  test('the body limit is the endpoint\'s under every spelling', async () => {
    const { postBody } = await start();
    // 7 MiB: over the 6 MiB of /inject and /explain, under the 12 MiB of /validate.
    const pod = { metadata: { name: 'big', annotations: { 'example.com/a': 'x'.repeat(7 * 1024 * 1024) } }, spec: { containers: [{ name: 'c', image: 'i' }] } };
    const body = JSON.stringify(sampleAdmissionReview({ uid: 'big', pod }));
    for (const [path, status] of [['/%69nject', 413], ['/inject', 413], ['/%76alidate', 200], ['/validate/', 200], ['/%65xplain', 413]] as const) {
      const res = await postBody(path, body);
      expect(res.status, path).toBe(status);
    }
  });
});

describe("Istio's path parameters (/inject/cluster/<c>/net/<n>) under every spelling", () => {
  test('rawTail: the path after the first segment, as sent; never the query', () => {
    expect(rawTail('/inject')).toBe('');
    expect(rawTail('/inject?timeout=10s')).toBe('');
    expect(rawTail('/inject?x=/cluster/evil')).toBe('');
    expect(rawTail('/inject/')).toBe('/');
    expect(rawTail('/inject/cluster/c1/net/n1?timeout=10s&x=/cluster/evil')).toBe('/cluster/c1/net/n1');
    expect(rawTail('/%69nject/cluster/c%2F1')).toBe('/cluster/c%2F1');
  });

  /** The ISTIO_META_CLUSTER_ID and ISTIO_META_NETWORK the answer's patch gives istio-proxy. */
  function clusterEnv(res: HttpsResponse): Record<string, string> {
    const patch = (res.json as { response?: { patch?: string } }).response?.patch;
    expect(patch, 'a patch').toBeTypeOf('string');
    const text = Buffer.from(patch as string, 'base64').toString('utf8');
    const out: Record<string, string> = {};
    for (const m of text.matchAll(/\{"name":"(ISTIO_META_CLUSTER_ID|ISTIO_META_NETWORK)","value":"([^"]*)"\}/g)) out[m[1] as string] = m[2] as string;
    return out;
  }

  test.each<[string, Record<string, string>]>([
    ['/inject/cluster/c1/net/n1?timeout=10s&x=/cluster/evil', { ISTIO_META_CLUSTER_ID: 'c1', ISTIO_META_NETWORK: 'n1' }],
    ['/in%6aect/cluster/c1/net/n1', { ISTIO_META_CLUSTER_ID: 'c1', ISTIO_META_NETWORK: 'n1' }],
    ['/%69nject/cluster/c%2F1', { ISTIO_META_CLUSTER_ID: 'c/1' }],
    ['/inject?x=/cluster/evil/net/evil', { ISTIO_META_CLUSTER_ID: 'Kubernetes' }],
    ['/%69nject', { ISTIO_META_CLUSTER_ID: 'Kubernetes' }],
  ])('%s', async (path, expected) => {
    const { post } = await start();
    const res = await post(path, 'path-params');
    expect(res.status).toBe(200);
    expect(clusterEnv(res)).toEqual(expected);
  });
});

describe('the route table is the one place a path is named', () => {
  /** Every .ts file under src/, with its text. */
  function sources(dir = path.join(import.meta.dirname, '../../src')): { file: string; text: string }[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [{ file: path.join(dir, e.name), text: readFileSync(path.join(dir, e.name), 'utf8') }] : [],
    );
  }

  // The edge (src/server, src/cli, src/tls); src/inject has its own '/metrics' (the default prometheus.io/path).
  test('no module of the edge but src/server/routes.ts writes a route of the listener as a string', () => {
    const routes = ['/inject', '/inject/*', '/validate', '/validate/', '/explain', '/healthz', '/readyz', '/metrics'];
    const edge = ['server', 'cli', 'tls'].flatMap((dir) => sources(path.join(import.meta.dirname, '../../src', dir)));
    const found = edge
      .filter(({ file }) => !file.endsWith(path.join('server', 'routes.ts')))
      .flatMap(({ file, text }) => routes.filter((r) => text.includes(`'${r}'`) || text.includes(`"${r}"`)).map((r) => `${path.basename(file)}: ${r}`));
    expect(found).toEqual([]);
    // The check would see one: the table itself names them.
    const table = edge.find(({ file }) => file.endsWith(path.join('server', 'routes.ts')))!;
    expect(routes.every((r) => table.text.includes(`'${r}'`))).toBe(true);
  });
});
