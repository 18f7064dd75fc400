/**
 * The HTTPS edge end to end: the real server (src/server/app.ts) on 127.0.0.1:0 with development certificates, called
 * with a CA-verified client, injecting with the real core (`createRuntime(profileConfig('kyma'))`). The injection
 * decisions themselves are tested with the core; this file tests the HTTP mapping.
 */
import { Writable } from 'node:stream';
import jsonpatch from 'fast-json-patch';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { AUDIT_ANNOTATION, type AdmissionReviewResponse } from '../../src/admission/review.js';
import { sampleAdmissionReview, samplePod } from '../../src/admission/sample.js';
import { profileConfig } from '../../src/config/profiles.js';
import type { WebhookRuntime } from '../../src/server/runtime.js';
import { createRuntime } from '../../src/server/runtime.js';
import type { Container, Pod } from '../../src/k8s/types.js';
import { ensureDevCertificates } from '../../src/tls/devcert.js';
import { httpsRequest, removeTestCertificates, startTestServer, type HttpsResponse, type TestServer } from '../helpers/https.js';

const kyma = createRuntime(profileConfig('kyma'));
let current: WebhookRuntime | undefined = kyma;
let server: TestServer;
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  server = await startTestServer(() => current, { logger: pino({ level: 'info' }, stream) });
});

afterAll(async () => {
  await server?.close();
  await removeTestCertificates();
});

beforeEach(() => {
  current = kyma;
});

let uidCounter = 0;
function podReview(pod: Pod, options: { apiVersion?: 'admission.k8s.io/v1' | 'admission.k8s.io/v1beta1'; namespace?: string } = {}) {
  return sampleAdmissionReview({ ...options, pod, uid: `uid-${++uidCounter}` });
}

function withMeta(pod: Pod, meta: { labels?: Record<string, string>; annotations?: Record<string, string>; namespace?: string }): Pod {
  const copy = structuredClone(pod);
  copy.metadata ??= {};
  if (meta.labels) copy.metadata.labels = { ...copy.metadata.labels, ...meta.labels };
  if (meta.annotations) copy.metadata.annotations = { ...copy.metadata.annotations, ...meta.annotations };
  if (meta.namespace) copy.metadata.namespace = meta.namespace;
  return copy;
}

/** POST a review, check the envelope (HTTP 200, apiVersion/kind/uid echoed) and return it. */
async function admitOk(review: ReturnType<typeof podReview>, path = '/inject'): Promise<AdmissionReviewResponse> {
  const res = await server.postJson(path, review);
  expect(res.status, res.text).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.json as AdmissionReviewResponse;
  expect(body.apiVersion).toBe(review.apiVersion);
  expect(body.kind).toBe('AdmissionReview');
  expect(body.response.uid).toBe(review.request.uid);
  return body;
}

function applyResponsePatch(review: ReturnType<typeof podReview>, body: AdmissionReviewResponse): Pod {
  expect(body.response.allowed).toBe(true);
  expect(body.response.patchType).toBe('JSONPatch');
  expect(typeof body.response.patch).toBe('string');
  const ops = JSON.parse(Buffer.from(body.response.patch as string, 'base64').toString('utf8')) as jsonpatch.Operation[];
  expect(Array.isArray(ops)).toBe(true);
  expect(ops.length).toBeGreaterThan(0);
  return jsonpatch.applyPatch(structuredClone(review.request.object) as Pod, ops, true, false).newDocument;
}

function istioProxy(pod: Pod): Container {
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  const proxy = all.find((c) => c.name === 'istio-proxy');
  expect(proxy, 'istio-proxy container').toBeDefined();
  return proxy as Container;
}

function envOf(container: Container): Record<string, string | undefined> {
  return Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
}

function expectError(res: HttpsResponse, status: number, message: RegExp) {
  expect(res.status, res.text).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(Object.keys(res.json as object)).toEqual(['error']);
  expect((res.json as { error: string }).error).toMatch(message);
  expect(res.text).not.toMatch(/\bat .+:\d+:\d+/); // no stack trace
}

describe('AdmissionReview envelope', () => {
  test.each(['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const)('%s: apiVersion, kind and uid are echoed', async (apiVersion) => {
    const review = podReview(samplePod(), { apiVersion });
    const body = await admitOk(review);
    expect(Object.keys(body)).toEqual(['apiVersion', 'kind', 'response']);
  });

  test('application/json with parameters is accepted', async () => {
    const review = podReview(samplePod());
    const res = await server.postJson('/inject', review, { 'content-type': 'Application/JSON; charset=utf-8' });
    expect(res.status).toBe(200);
    expect((res.json as AdmissionReviewResponse).response.uid).toBe(review.request.uid);
  });
});

describe('decisions', () => {
  test('injected: the patch applies to request.object and adds the istio-proxy sidecar', async () => {
    const review = podReview(samplePod());
    const body = await admitOk(review);
    const patched = applyResponsePatch(review, body);
    const proxy = istioProxy(patched);
    expect(proxy.image).toMatch(/proxyv2/);
    expect(patched.spec?.containers?.some((c) => c.name === 'httpbin')).toBe(true);
    expect(body.response.auditAnnotations?.[AUDIT_ANNOTATION]).toMatch(/^injected: \S/);
    expect(body.response.status).toBeUndefined();
  });

  test.each([
    ['hostNetwork', (p: Pod) => ({ ...p, spec: { ...p.spec, hostNetwork: true } }), undefined, /^skipped: hostNetwork$/],
    ['namespace kube-system', (p: Pod) => withMeta(p, { namespace: 'kube-system' }), 'kube-system', /^skipped: namespace kube-system\b/],
    [
      'label sidecar.istio.io/inject=false',
      (p: Pod) => withMeta(p, { labels: { 'sidecar.istio.io/inject': 'false' } }),
      undefined,
      /^skipped: .*sidecar\.istio\.io\/inject=false/,
    ],
  ])('skipped (%s): allowed, no patch, the reason in the audit annotation', async (_name, mutate, namespace, reason) => {
    const review = podReview(mutate(samplePod()), namespace ? { namespace } : {});
    const body = await admitOk(review);
    expect(body.response.allowed).toBe(true);
    expect(body.response.patch).toBeUndefined();
    expect(body.response.patchType).toBeUndefined();
    const audit = body.response.auditAnnotations?.[AUDIT_ANNOTATION];
    expect(audit).toMatch(/^skipped: /);
    expect(audit).toMatch(reason);
  });

  test.each([
    ['sidecar.istio.io/interceptionMode', 'BOGUS'],
    ['traffic.sidecar.istio.io/includeOutboundIPRanges', 'bad'],
  ])('rejected (%s: %s): not allowed, status 400 naming the annotation and value', async (annotation, value) => {
    const review = podReview(withMeta(samplePod(), { annotations: { [annotation]: value } }));
    const body = await admitOk(review);
    expect(body.response.allowed).toBe(false);
    expect(body.response.patch).toBeUndefined();
    expect(body.response.status?.code).toBe(400);
    expect(body.response.status?.message).toContain(annotation);
    expect(body.response.status?.message).toContain(value);
  });

  test('an object that is not a Pod is allowed untouched', async () => {
    const review = podReview(samplePod());
    review.request.kind = { group: 'apps', version: 'v1', kind: 'Deployment' };
    review.request.object = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: {} };
    const body = await admitOk(review);
    expect(body.response).toEqual({
      uid: review.request.uid,
      allowed: true,
      auditAnnotations: { [AUDIT_ANNOTATION]: 'skipped: object is not a Pod (apps/v1 Deployment)' },
    });
  });

  test('a review without request.object is allowed untouched', async () => {
    const review = podReview(samplePod());
    delete review.request.object;
    const body = await admitOk(review);
    expect(body.response.allowed).toBe(true);
    expect(body.response.patch).toBeUndefined();
    expect(body.response.auditAnnotations?.[AUDIT_ANNOTATION]).toBe('skipped: object is not a Pod (request.object is missing)');
  });

  test('an injector exception is a denial with code 500, not an HTTP 500', async () => {
    current = { ...kyma, injector: { config: kyma.injector.config, inject: () => { throw new Error('template exploded'); } } };
    const body = await admitOk(podReview(samplePod()));
    expect(body.response.allowed).toBe(false);
    expect(body.response.status).toEqual({ code: 500, message: 'mesh-webhook: internal error while injecting the sidecar: template exploded' });
  });

  test('the injector getter is read per request (configuration swap)', async () => {
    const review = podReview(samplePod());
    expect((await admitOk(review)).response.patch).toBeDefined();
    current = createRuntime({ ...profileConfig('kyma'), policy: 'disabled' });
    const body = await admitOk(podReview(samplePod()));
    expect(body.response.allowed).toBe(true);
    expect(body.response.patch).toBeUndefined();
    expect(body.response.auditAnnotations?.[AUDIT_ANNOTATION]).toMatch(/^skipped: /);
  });
});

describe('path parameters', () => {
  test('/inject/cluster/c1/net/n1 reaches the core as proxy metadata', async () => {
    const review = podReview(samplePod());
    const env = envOf(istioProxy(applyResponsePatch(review, await admitOk(review, '/inject/cluster/c1/net/n1'))));
    expect(env['ISTIO_META_CLUSTER_ID']).toBe('c1');
    expect(env['ISTIO_META_NETWORK']).toBe('n1');
  });

  test('the legacy :ENV: form and --slash-- work too', async () => {
    const review = podReview(samplePod());
    const env = envOf(istioProxy(applyResponsePatch(review, await admitOk(review, '/inject/:ENV:cluster=east--slash--1:ENV:net=n2'))));
    expect(env['ISTIO_META_CLUSTER_ID']).toBe('east/1');
    expect(env['ISTIO_META_NETWORK']).toBe('n2');
  });

  test('without parameters the patch is exactly the core\'s patch for the pod and namespace', async () => {
    const review = podReview(samplePod());
    const body = await admitOk(review, '/inject?timeout=10s');
    const direct = kyma.injector.inject({ pod: structuredClone(review.request.object) as Pod, namespace: 'default' });
    expect(direct.kind).toBe('injected');
    const sent = JSON.parse(Buffer.from(body.response.patch as string, 'base64').toString('utf8')) as unknown;
    expect(sent).toEqual(direct.kind === 'injected' ? direct.patch() : undefined);
    const env = envOf(istioProxy(applyResponsePatch(review, body)));
    expect(env['ISTIO_META_CLUSTER_ID']).not.toBe('c1');
  });
});

describe('refused requests are 4xx JSON, never HTML or a stack', () => {
  const review = () => podReview(samplePod());

  test('415 for another media type or none', async () => {
    expectError(
      await server.request('/inject', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(review()) }),
      415,
      /Content-Type must be application\/json, got "text\/plain"/,
    );
    expectError(
      await server.request('/inject', { method: 'POST', headers: { 'content-type': 'application/jsonp' }, body: '{}' }),
      415,
      /application\/jsonp/,
    );
    expectError(await server.request('/inject', { method: 'POST', body: JSON.stringify(review()) }), 415, /got none/);
  });

  test('400 for an empty body and the JSON defences (nesting, prototype keys)', async () => {
    expectError(await server.postJson('/inject', ''), 400, /request body is empty/);
    expectError(await server.postJson('/inject', `{"a":${'['.repeat(200)}${']'.repeat(200)}}`), 400, /nested deeper than 128 levels/);
    expectError(await server.postJson('/inject', '{"__proto__": {"polluted": true}}'), 400, /forbidden key/);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
  test('413 for a body over the endpoint\'s limit: 6 MiB for /inject, 12 MiB for /validate, 64 KiB elsewhere', async () => {
    const big = Buffer.alloc(7 * 1024 * 1024, 0x20);
    expectError(await server.postJson('/inject', big), 413, /larger than the limit of 6291456 bytes of \/inject$/);
    expectError(await server.postJson('/validate', Buffer.alloc(12 * 1024 * 1024 + 1, 0x20)), 413, /larger than the limit of 12582912 bytes of \/validate$/);
    expectError(await server.postJson('/nope', Buffer.alloc(64 * 1024 + 1, 0x20)), 413, /larger than the limit of 65536 bytes/);
    // Without Content-Length (chunked) the limit is enforced while reading.
    expectError(
      await server.request('/inject', { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, body: big }),
      413,
      /larger than the limit/,
    );
  });

  test('404 for unknown routes, 405 for wrong methods, 400 for malformed URLs', async () => {
    expectError(await server.request('/nope'), 404, /no route for GET \/nope/);
    expectError(await server.request('/mutate', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }), 404, /no route/);
    const get = await server.request('/inject');
    expectError(get, 405, /method GET is not allowed on \/inject/);
    expect(get.headers['allow']).toBe('POST');
    expectError(await server.request('/inject/cluster/c1', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' }), 405, /PUT/);
    expectError(await server.request('/healthz', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }), 405, /GET/);
    expectError(await server.request('/%zz'), 400, /malformed URL/);
  });
});

// Istio's serveInject (pkg/kube/inject/webhook.go) answers a body it cannot decode with an AdmissionReview whose
// response is not allowed and carries the error (toAdmissionResponse; TestRunAndServe "bad content": 200, allowed
// false): the API server shows that message to the user, where an HTTP 400 would only say the call failed.
describe('a body that is not an AdmissionReview is denied with an AdmissionReview (HTTP 200, allowed: false)', () => {
  const review = () => podReview(samplePod());
  const denial = (uid: string, message: string, apiVersion = 'admission.k8s.io/v1') => ({
    apiVersion,
    kind: 'AdmissionReview',
    response: { uid, allowed: false, status: { message, code: 400 } },
  });
  const expectDenial = (res: HttpsResponse, expected: ReturnType<typeof denial>) => {
    expect(res.status, res.text).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json).toEqual(expected);
  };

  test('bytes that are not JSON, truncated JSON, JSON that is not an object', async () => {
    expectDenial(await server.postJson('/inject', Buffer.from([0, 1, 2, 3, 4, 5])), denial('', 'mesh-webhook: request body is not valid JSON: Unexpected token \'\u0000\', "\u0000\u0001\u0002\u0003\u0004\u0005" is not valid JSON'));
    expectDenial(await server.postJson('/inject', '{"apiVersion": "admission.k8s.io/v1",'), denial('', 'mesh-webhook: request body is not valid JSON: Expected double-quoted property name in JSON at position 37 (line 1 column 38)'));
    expectDenial(await server.postJson('/inject', 'null'), denial('', 'mesh-webhook: request body must be an AdmissionReview JSON object, got null'));
    expectDenial(await server.postJson('/validate', '[]'), denial('', 'mesh-webhook: request body must be an AdmissionReview JSON object, got a list'));
  });

  test('a review without request or uid, or with an empty uid, or a bad apiVersion/kind: the field named, apiVersion and uid echoed when usable', async () => {
    const noRequest = review() as unknown as Record<string, unknown>;
    delete noRequest['request'];
    expectDenial(await server.postJson('/inject', noRequest), denial('', 'mesh-webhook: request is missing; an AdmissionReview sent to a webhook must carry request'));
    const noUid = review();
    delete (noUid.request as Partial<typeof noUid.request>).uid;
    expectDenial(await server.postJson('/inject', noUid), denial('', 'mesh-webhook: request.uid is missing'));
    const emptyUid = podReview(samplePod(), { apiVersion: 'admission.k8s.io/v1beta1' });
    emptyUid.request.uid = '';
    expectDenial(await server.postJson('/inject', emptyUid), denial('', 'mesh-webhook: request.uid must not be empty', 'admission.k8s.io/v1beta1'));
    expectDenial(await server.postJson('/validate', emptyUid), denial('', 'mesh-webhook: request.uid must not be empty', 'admission.k8s.io/v1beta1'));
    const numericUid = review() as unknown as { request: { uid: unknown } };
    numericUid.request.uid = 7;
    expectDenial(await server.postJson('/inject', numericUid), denial('', 'mesh-webhook: request.uid must be a string, got number 7'));
    const v2 = { ...review(), apiVersion: 'admission.k8s.io/v2' };
    v2.request.uid = 'uid-v2';
    expectDenial(
      await server.postJson('/inject', v2),
      denial('uid-v2', 'mesh-webhook: apiVersion "admission.k8s.io/v2" is not supported; expected one of admission.k8s.io/v1, admission.k8s.io/v1beta1'),
    );
    const pod = { ...review(), kind: 'Pod' };
    pod.request.uid = 'uid-pod';
    expectDenial(await server.postJson('/inject', pod), denial('uid-pod', 'mesh-webhook: kind "Pod" is not supported; expected "AdmissionReview"'));
  });

});

describe('?timeout=', () => {
  // A clock that advances 6s per reading: arrival = t, handler start = t + 6s. No real waiting.
  let slow: TestServer;
  beforeAll(async () => {
    let t = 0;
    slow = await startTestServer(() => kyma, { clock: () => (t += 6_000) });
  });
  afterAll(async () => {
    await slow?.close();
  });

  test('a request whose deadline passed before processing is denied with code 504', async () => {
    const review = podReview(samplePod());
    const res = await slow.postJson('/inject?timeout=5s', review);
    expect(res.status).toBe(200);
    const body = res.json as AdmissionReviewResponse;
    expect(body.response).toEqual({
      uid: review.request.uid,
      allowed: false,
      status: { code: 504, message: 'mesh-webhook: request deadline (5s) passed before processing; retry' },
    });
  });

  test('without a valid timeout the budget is 10s', async () => {
    let t = 0;
    const slower = await startTestServer(() => kyma, { clock: () => (t += 12_000) });
    try {
      for (const path of ['/inject', '/inject?timeout=bogus']) {
        const res = await slower.postJson(path, podReview(samplePod()));
        const body = res.json as AdmissionReviewResponse;
        expect(body.response.allowed).toBe(false);
        expect(body.response.status?.message).toBe('mesh-webhook: request deadline (10s) passed before processing; retry');
      }
    } finally {
      await slower.close();
    }
  });

  test.each(['10s', '1m30s', 'bogus', ''])('timeout=%j leaves enough budget (invalid values mean 10s)', async (timeout) => {
    const review = podReview(samplePod());
    const res = await slow.postJson(`/inject?timeout=${timeout}`, review);
    const body = res.json as AdmissionReviewResponse;
    expect(body.response.allowed).toBe(true);
    expect(body.response.patchType).toBe('JSONPatch');
  });
});

describe('TLS', () => {
  test('TLS 1.2 and 1.3 clients are served', async () => {
    for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
      const res = await httpsRequest(`${server.url}/healthz`, { ca: server.ca, minVersion: v, maxVersion: v });
      expect(res.status).toBe(200);
    }
  });

  test('a TLS 1.1-only client is refused', async () => {
    // SECLEVEL=0 lets this client's OpenSSL actually offer TLS 1.1, so the refusal comes from the server.
    const err = await httpsRequest(`${server.url}/healthz`, {
      ca: server.ca,
      minVersion: 'TLSv1.1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT:@SECLEVEL=0',
    }).then(
      () => undefined,
      (e: unknown) => e as NodeJS.ErrnoException,
    );
    expect(err).toBeDefined();
    expect(err?.code).toBe('EPROTO');
    expect(err?.message).toMatch(/protocol version/);
  });

  test('the certificate is verified: a client trusting another CA is refused', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const os = await import('node:os');
    const dir = await mkdtemp(`${os.tmpdir()}/mesh-webhook-otherca-`);
    try {
      const other = await ensureDevCertificates(dir, []);
      const err = await httpsRequest(`${server.url}/healthz`, { ca: other.ca }).then(
        () => undefined,
        (e: unknown) => e as NodeJS.ErrnoException,
      );
      expect(err?.code).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the certificate is valid for the in-cluster service name', async () => {
    const res = await httpsRequest(`${server.url}/healthz`, { ca: server.ca, servername: 'mesh-webhook.mesh-webhook.svc' });
    expect(res.status).toBe(200);
  });
});

describe('health', () => {
  test('/healthz is 200 ok', async () => {
    const res = await server.request('/healthz');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ok' });
  });

  test('/readyz is 200 with an injector, 503 without; admissions are 503 then', async () => {
    expect((await server.request('/readyz')).status).toBe(200);
    current = undefined;
    const res = await server.request('/readyz');
    expect(res.status).toBe(503);
    expect(res.json).toMatchObject({ status: 'not ready' });
    expect((await server.request('/healthz')).status).toBe(200);
    expectError(await server.postJson('/inject', podReview(samplePod())), 503, /not ready/);
  });

  test('/readyz follows the ready() option', async () => {
    let ready = false;
    const s = await startTestServer(() => kyma, { ready: () => ready });
    try {
      expect((await s.request('/readyz')).status).toBe(503);
      ready = true;
      expect((await s.request('/readyz')).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});

describe('logging', () => {
  test('one line per admission with uid, namespace, pod, decision, reason, durationMs; never the pod spec', async () => {
    const before = logLines.length;
    const review = podReview(samplePod());
    await admitOk(review);
    const rejected = podReview(withMeta(samplePod(), { annotations: { 'sidecar.istio.io/interceptionMode': 'BOGUS' } }));
    await admitOk(rejected);
    await server.request('/healthz');
    const lines = logLines.slice(before);
    expect(lines).toHaveLength(2);
    const [first, second] = lines as [Record<string, unknown>, Record<string, unknown>];
    expect(first).toMatchObject({ msg: 'admission', uid: review.request.uid, namespace: 'default', pod: 'httpbin-5c7d8f9b6-', decision: 'injected' });
    expect(typeof first['reason']).toBe('string');
    expect(typeof first['durationMs']).toBe('number');
    expect(second).toMatchObject({ uid: rejected.request.uid, decision: 'rejected' });
    const text = JSON.stringify(lines);
    expect(text).not.toContain('go-httpbin'); // the container image: no pod spec in logs
    expect(text).not.toContain('containers');
    expect(logLines.some((l) => l['msg'] === 'incoming request' || l['msg'] === 'request completed')).toBe(false);
  });
});
