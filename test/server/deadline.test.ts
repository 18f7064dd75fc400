/**
 * The request deadline at the HTTPS edge (src/server/hooks.ts checkDeadline, src/server/handlers/): a request whose `?timeout=` budget (default 10 s) is
 * already spent when its handler runs is answered at once with `allowed: false`, status code 504 ("request deadline
 * ... passed before processing; retry"), on /inject and on /validate (enforce mode). Exactly at the boundary: with
 * budget − 1 ms spent the request is processed normally; with the budget spent (and 1 ms more) it gets the deadline
 * answer.
 *
 * No real waiting: the server's clock stands still, except that each request spends the elapsed time of its case
 * right after its arrival was stamped (steppedClock, test/helpers/inProcess.ts), so every later reading of the
 * clock (checkDeadline included) sees exactly `meshReceivedAt + elapsed`. Answered in process: no socket matters here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdmissionReviewResponse } from '../../src/admission/review.js';
import { loadConfig } from '../../src/config/load.js';
import { createRuntime } from '../../src/server/runtime.js';
import { startInProcessServer, steppedClock, type InProcessServer } from '../helpers/inProcess.js';
import { appPod, podReview } from '../inject/review.js';

/** The time the next request "spends" before its handler runs, and the server's clock that it moves. */
let nextElapsedMs = 0;
const stepped = steppedClock(() => nextElapsedMs);
let server: InProcessServer;

beforeAll(async () => {
  const runtime = createRuntime(loadConfig({ profile: 'kyma', sets: ['validation.mode=enforce'] }));
  server = await startInProcessServer(runtime, stepped.options);
});

afterAll(async () => {
  await server?.close();
});

/** POST `review` to `path` with the handler seeing `elapsedMs` spent since the request arrived. */
async function postAfter(path: string, review: unknown, elapsedMs: number): Promise<AdmissionReviewResponse['response']> {
  nextElapsedMs = elapsedMs;
  try {
    const res = await server.postJson(path, review);
    expect(res.status).toBe(200);
    return (res.json as AdmissionReviewResponse).response;
  } finally {
    nextElapsedMs = 0;
  }
}

/** A pod the validator has nothing to say about (allowed in enforce mode) and the injector injects. */
function cleanPod() {
  return appPod();
}

/** A pod the validator denies in enforce mode (MW0101: the app listens on the proxy's inbound capture port). */
function deniedPod() {
  const pod = appPod();
  pod.spec!.containers![0]!.ports = [{ name: 'http', containerPort: 15006 }];
  return pod;
}

// [query, budget in ms, how the deadline message names the budget]
const BUDGETS: [string, number, string][] = [
  ['?timeout=10s', 10_000, '10s'],
  ['?timeout=1500ms', 1_500, '1500ms'],
  ['', 10_000, '10s'],
];

describe.each(BUDGETS)('deadline with %j (budget %d ms)', (query, budgetMs, shown) => {
  const deadlineStatus = { code: 504, message: `mesh-webhook: request deadline (${shown}) passed before processing; retry` };

  it('/inject: budget − 1 ms spent: injected as usual', async () => {
    const review = podReview(cleanPod());
    const response = await postAfter(`/inject${query}`, review, budgetMs - 1);
    expect(response.uid).toBe(review.request.uid);
    expect(response.allowed).toBe(true);
    expect(response.patchType).toBe('JSONPatch');
    expect(response.status).toBeUndefined();
  });

  it.each([0, 1])('/inject: budget + %d ms spent: the deadline answer (allowed: false, 504, no patch)', async (over) => {
    const review = podReview(cleanPod());
    const response = await postAfter(`/inject${query}`, review, budgetMs + over);
    expect(response).toEqual({ uid: review.request.uid, allowed: false, status: deadlineStatus });
  });

  it('/validate (enforce): budget − 1 ms spent: validated as usual (a clean pod allowed, a bad one denied with 403)', async () => {
    const ok = await postAfter(`/validate${query}`, podReview(cleanPod()), budgetMs - 1);
    expect(ok.allowed).toBe(true);
    expect(ok.status).toBeUndefined();
    const bad = await postAfter(`/validate${query}`, podReview(deniedPod()), budgetMs - 1);
    expect(bad.allowed).toBe(false);
    expect(bad.status?.code).toBe(403);
    expect(bad.status?.message).toContain('MW0101');
  });

  it.each([0, 1])('/validate (enforce): budget + %d ms spent: the deadline answer, whatever the pod', async (over) => {
    for (const pod of [cleanPod(), deniedPod()]) {
      const review = podReview(pod);
      const response = await postAfter(`/validate${query}`, review, budgetMs + over);
      expect(response.uid).toBe(review.request.uid);
      expect(response.allowed).toBe(false);
      expect(response.status).toEqual(deadlineStatus);
      expect(response.auditAnnotations?.['mesh-webhook/validation']).toBe(`enforce: not validated: request deadline (${shown}) passed before processing`);
    }
  });
});

describe('the clock harness itself', () => {
  it('a request with nothing spent is processed (the hook does not move the clock by itself)', async () => {
    const before = stepped.now();
    const response = await postAfter('/inject?timeout=1ms', podReview(cleanPod()), 0);
    expect(response.allowed).toBe(true);
    expect(stepped.now()).toBe(before);
  });

  it('a 1 ms budget: 0 ms spent is in time, 1 ms is not', async () => {
    expect((await postAfter('/inject?timeout=1ms', podReview(cleanPod()), 0)).allowed).toBe(true);
    const late = await postAfter('/inject?timeout=1ms', podReview(cleanPod()), 1);
    expect(late.status).toEqual({ code: 504, message: 'mesh-webhook: request deadline (1ms) passed before processing; retry' });
  });
});
