/**
 * The event-loop monitor (src/server/health.ts) on its own and in buildServer: how long a request read after a stall
 * may have waited, and /readyz answering 503 while the time-weighted p99 of that wait is over the threshold, 200 again
 * once the window has passed; /healthz unaffected. (test/faults/under-load.test.ts shows the same on the real
 * service under load.)
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createRuntime } from '../../src/server/app.js';
import { startLoopMonitor } from '../../src/server/health.js';
import { startTestServer, type TestServer } from '../helpers/https.js';

function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy: the event loop is stalled
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('startLoopMonitor', () => {
  test('no lag on a responsive loop; after a stall, lag covers it (overdue heartbeat, then the late one)', async () => {
    const monitor = startLoopMonitor({ intervalMs: 10, windowMs: 1_000, thresholdMs: 100 });
    try {
      await sleep(50);
      expect(monitor.lagMs()).toBe(0);
      expect(monitor.readinessProblem()).toBeUndefined();
      block(300);
      // Still inside the stalled turn: the heartbeat is overdue.
      expect(monitor.lagMs()).toBeGreaterThanOrEqual(290);
      // The next turn: the heartbeat has just fired late; what is read right now may have waited the whole stall.
      await new Promise<void>((resolve) => setImmediate(resolve));
      await sleep(0);
      const lag = monitor.lagMs();
      expect(lag).toBeGreaterThanOrEqual(290);
      await sleep(50);
      expect(monitor.lagMs()).toBe(0);
    } finally {
      monitor.close();
    }
  });

  test('readiness: a stall longer than the threshold makes it not ready for the window, then ready again', async () => {
    const monitor = startLoopMonitor({ intervalMs: 10, windowMs: 800, thresholdMs: 100 });
    try {
      await sleep(30);
      block(150); // (150 - 100) / 800 = 6 % of the window over the threshold: over 1 %
      await sleep(20);
      expect(monitor.stats().longestMs).toBeGreaterThanOrEqual(140);
      expect(monitor.readinessProblem()).toMatch(/^event loop overloaded: requests would have waited over 100 ms during \d+(\.\d)?% of the last 0\.8s \(longest stall \d+ ms\)$/);
      await sleep(900);
      expect(monitor.readinessProblem()).toBeUndefined();
      // Stalls under the threshold do not count, however many.
      for (let i = 0; i < 5; i++) {
        block(60);
        await sleep(15);
      }
      expect(monitor.stats().stalls).toBeGreaterThan(0);
      expect(monitor.readinessProblem()).toBeUndefined();
    } finally {
      monitor.close();
    }
  });
});

describe('buildServer: /readyz reflects the loop, /healthz does not', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(createRuntime(loadConfig({})), { eventLoop: { intervalMs: 10, windowMs: 1_000, thresholdMs: 100 } });
  });
  afterAll(async () => {
    await server?.close();
  });

  test('503 with the reason after a stall, 200 once the window has passed', async () => {
    expect((await server.request('/readyz')).status).toBe(200);
    block(400);
    const ready = await server.request('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.json).toEqual({ status: 'not ready', reason: expect.stringMatching(/^event loop overloaded/) });
    expect((await server.request('/healthz')).status).toBe(200);
    await sleep(1_100);
    expect((await server.request('/readyz')).status).toBe(200);
  });

  test('eventLoop: false turns the monitor off', async () => {
    const off = await startTestServer(createRuntime(loadConfig({})), { eventLoop: false });
    try {
      block(300);
      expect((await off.request('/readyz')).status).toBe(200);
    } finally {
      await off.close();
    }
  });
});
