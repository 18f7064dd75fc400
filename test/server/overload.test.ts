/**
 * The overload guard (src/server/overload.ts) on the real HTTPS server: what a shed admission is answered, that
 * nothing else is shed, and the AdmissionReview identity scan it uses instead of parsing the body. The overload is
 * simulated (an injected event-loop delay, or a zero in-flight limit); no test here depends on timing of real load.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { sampleAdmissionReview } from '../../src/admission/sample.js';
import { profileConfig } from '../../src/config/profiles.js';
import { createMetrics } from '../../src/metrics.js';
import { buildServer } from '../../src/server/app.js';
import { createRuntime } from '../../src/server/runtime.js';
import { scanReviewIdentity } from '../../src/admission/identity.js';
import type { OverloadGuard, OverloadGuardOptions } from '../../src/server/overload.js';
import { httpsRequest, testCertificates, type HttpsResponse, type ReviewAnswer } from '../helpers/https.js';

const runtime = createRuntime(profileConfig('kyma'));
let closeServer: (() => Promise<void>) | undefined;

afterEach(async () => {
  await closeServer?.();
  closeServer = undefined;
});

async function start(options: OverloadGuardOptions) {
  const certs = await testCertificates();
  const metrics = createMetrics({ processMetrics: false });
  const app = buildServer({ injector: runtime, tls: { cert: certs.cert, key: certs.key }, logger: false, metrics, overload: { registry: metrics.registry, ...options } });
  const guard: OverloadGuard = app.overloadGuard!;
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  closeServer = () => app.close();
  const url = `https://127.0.0.1:${address.port}`;
  const post = (path: string, body: unknown): Promise<HttpsResponse> =>
    httpsRequest(new URL(path, url), {
      ca: certs.ca,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const get = (path: string) => httpsRequest(new URL(path, url), { ca: certs.ca });
  return { guard, post, get };
}

/** Waits until the guard sheds everything (its sampling timer has seen the injected delay). */
async function untilShedding(guard: OverloadGuard): Promise<void> {
  for (let i = 0; i < 200 && guard.state().shedRatio < 1; i++) await new Promise((r) => setTimeout(r, 5));
  expect(guard.state().shedRatio).toBe(1);
}


describe('overload guard', () => {
  test('without overload, admissions are served as usual', async () => {
    const { guard, post } = await start({ eventLoopDelayMs: () => 0, intervalMs: 5 });
    const res = await post('/inject?timeout=10s', sampleAdmissionReview({ uid: 'calm-1' }));
    expect(res.status).toBe(200);
    const answer = res.json as ReviewAnswer;
    expect(answer.response).toMatchObject({ uid: 'calm-1', allowed: true });
    expect(answer.response.patch).toBeTruthy();
    expect(guard.state().shedRatio).toBe(0);
    expect(guard.state().inFlight).toBe(0);
  });

  test('overloaded /inject: allowed false, 429 TooManyRequests with retryAfterSeconds, uid and apiVersion echoed', async () => {
    const { guard, post } = await start({ eventLoopDelayMs: () => 5_000, intervalMs: 5 });
    await untilShedding(guard);
    for (const apiVersion of ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const) {
      const res = await post('/inject?timeout=10s', sampleAdmissionReview({ apiVersion, uid: `shed-${apiVersion}` }));
      expect(res.status).toBe(200);
      const answer = res.json as ReviewAnswer;
      expect(answer.apiVersion).toBe(apiVersion);
      expect(answer.kind).toBe('AdmissionReview');
      expect(answer.response.uid).toBe(`shed-${apiVersion}`);
      expect(answer.response.allowed).toBe(false);
      expect(answer.response.patch).toBeUndefined();
      expect(answer.response.status).toMatchObject({ code: 429, reason: 'TooManyRequests', details: { retryAfterSeconds: 1 } });
      expect(answer.response.status?.message).toMatch(/overloaded .*retry/);
      expect(answer.response.auditAnnotations).toEqual({ 'mesh-webhook/injection': 'rejected: overloaded' });
    }
    expect(guard.state().shed.event_loop_delay).toBe(2);
  });

  test('overloaded /validate: HTTP 429 with Retry-After, so the failurePolicy decides', async () => {
    const { guard, post } = await start({ eventLoopDelayMs: () => 5_000, intervalMs: 5, retryAfterSeconds: 2 });
    await untilShedding(guard);
    const res = await post('/validate', sampleAdmissionReview({ uid: 'v-1' }));
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('2');
    expect((res.json as { error: string }).error).toMatch(/overloaded .*retry in 2s/);
  });

  test('health, readiness and metrics are never shed; the metrics count what was', async () => {
    const { guard, post, get } = await start({ eventLoopDelayMs: () => 5_000, intervalMs: 5 });
    await untilShedding(guard);
    await post('/inject', sampleAdmissionReview({ uid: 'm-1' }));
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz')).status).toBe(200);
    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/mesh_webhook_overload_shed_total\{endpoint="inject",reason="event_loop_delay"\} 1/);
    expect(metrics.text).toMatch(/mesh_webhook_overload_shed_ratio 1/);
  });

  test('a body with apiVersion after request (not the API server order) is parsed in full for the uid', async () => {
    const { guard, post } = await start({ eventLoopDelayMs: () => 5_000, intervalMs: 5 });
    await untilShedding(guard);
    const review = sampleAdmissionReview({ uid: 'late-version' });
    const reordered = JSON.stringify({ request: review.request, kind: review.kind, apiVersion: review.apiVersion });
    const answer = (await post('/inject', reordered)).json as ReviewAnswer;
    expect(answer.response).toMatchObject({ uid: 'late-version', allowed: false });
  });

  test('a body that is not an AdmissionReview gets HTTP 429 when shed', async () => {
    const { guard, post } = await start({ eventLoopDelayMs: () => 5_000, intervalMs: 5 });
    await untilShedding(guard);
    const res = await post('/inject', '{"hello": "world"}');
    expect(res.status).toBe(429);
  });

  test('the in-flight limit sheds whatever the delay', async () => {
    const { guard, post } = await start({ eventLoopDelayMs: () => 0, intervalMs: 5, maxInFlight: 0 });
    const answer = (await post('/inject', sampleAdmissionReview({ uid: 'cap-1' }))).json as ReviewAnswer;
    expect(answer.response).toMatchObject({ uid: 'cap-1', allowed: false, status: { code: 429 } });
    expect(answer.response.status?.message).toMatch(/admissions in flight/);
    expect(guard.state().shed.in_flight).toBe(1);
  });
});

describe('scanReviewIdentity', () => {
  const review = JSON.stringify(sampleAdmissionReview({ uid: 'scan-1' }));

  test('finds apiVersion, request.uid, and the namespace and operation before the object', () => {
    expect(scanReviewIdentity(review)).toEqual({ complete: true, found: { apiVersion: 'admission.k8s.io/v1', uid: 'scan-1', namespace: 'default', operation: 'CREATE' } });
  });

  test('asks for more text while the prefix is too short; once the uid is read, what it has is enough to answer', () => {
    for (const n of [0, 1, 10, 40, review.indexOf('scan-1') + 3]) expect(scanReviewIdentity(review.slice(0, n))).toEqual({ complete: false });
    expect(scanReviewIdentity(review.slice(0, review.indexOf('scan-1') + 8))).toEqual({ complete: false, found: { apiVersion: 'admission.k8s.io/v1', uid: 'scan-1' } });
  });

  test('stops at the object: a namespace or operation after it is not read', () => {
    const text = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', object: { metadata: { namespace: 'inner' } }, namespace: 'late' } });
    expect(scanReviewIdentity(text)).toEqual({ complete: true, found: { apiVersion: 'admission.k8s.io/v1', uid: 'u' } });
  });

  test('skips nested values, strings with escapes and literals before uid', () => {
    const text = JSON.stringify({
      kind: 'AdmissionReview',
      apiVersion: 'admission.k8s.io/v1',
      request: { kind: { group: '', x: [1, { a: '}]"\\' }] }, n: -1.5e3, t: true, z: null, uid: 'u-"1"' },
    });
    expect(scanReviewIdentity(text).found).toEqual({ apiVersion: 'admission.k8s.io/v1', uid: 'u-"1"' });
  });

  test('complete without a result when the layout is unexpected (the caller parses the body)', () => {
    expect(scanReviewIdentity('[1,2]')).toEqual({ complete: true });
    expect(scanReviewIdentity('{"apiVersion": 5}')).toEqual({ complete: true });
    expect(scanReviewIdentity(JSON.stringify({ request: { uid: 'x' }, apiVersion: 'admission.k8s.io/v1' }))).toEqual({ complete: true });
  });
});
