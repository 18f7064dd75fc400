/**
 * The event-loop monitor (src/server/health.ts) on its own and in buildServer: how long a request read after a stall
 * may have waited, and /readyz answering 503 while the time-weighted p99 of that wait is over the threshold, 200 again
 * once the window has passed; /healthz unaffected. (test/faults/under-load.test.ts shows the same on the real
 * service under load.)
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createRuntime } from '../../src/server/runtime.js';
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
    // Periods of 100 ms: a busy or slow CI machine fires timers tens of ms late, which must not count as a stall.
    const monitor = startLoopMonitor({ intervalMs: 100, windowMs: 2_000, thresholdMs: 300 });
    try {
      await sleep(250);
      expect(monitor.lagMs()).toBe(0);
      expect(monitor.readinessProblem()).toBeUndefined();
      block(600);
      // Still inside the stalled turn: the heartbeat is overdue.
      expect(monitor.lagMs()).toBeGreaterThanOrEqual(590);
      // The next turn: the heartbeat has just fired late; what is read right now may have waited the whole stall.
      await new Promise<void>((resolve) => setImmediate(resolve));
      await sleep(0);
      const lag = monitor.lagMs();
      expect(lag).toBeGreaterThanOrEqual(590);
      await sleep(250);
      expect(monitor.lagMs()).toBe(0);
    } finally {
      monitor.close();
    }
  });

  test('readiness: a stall longer than the threshold makes it not ready for the window, then ready again', async () => {
    const monitor = startLoopMonitor({ intervalMs: 100, windowMs: 1_500, thresholdMs: 300 });
    try {
      await sleep(150);
      block(500); // (500 - 300) / 1500 = 13 % of the window over the threshold: over 1 %
      await sleep(120);
      expect(monitor.stats().longestMs).toBeGreaterThanOrEqual(490);
      expect(monitor.readinessProblem()).toMatch(/^event loop overloaded: requests would have waited over 300 ms during \d+(\.\d)?% of the last 1\.5s \(longest stall \d+ ms\)$/);
      await sleep(1_700);
      expect(monitor.readinessProblem()).toBeUndefined();
      // Stalls under the threshold do not count, however many.
      for (let i = 0; i < 5; i++) {
        block(250);
        await sleep(110);
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
    server = await startTestServer(createRuntime(loadConfig({})), { eventLoop: { intervalMs: 100, windowMs: 1_500, thresholdMs: 300 } });
  });
  afterAll(async () => {
    await server?.close();
  });

  test('503 with the reason after a stall, 200 once the window has passed', async () => {
    expect((await server.request('/readyz')).status).toBe(200);
    block(800);
    const ready = await server.request('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.json).toEqual({ status: 'not ready', reason: expect.stringMatching(/^event loop overloaded/) });
    expect((await server.request('/healthz')).status).toBe(200);
    await sleep(1_700);
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
