/**
 * serve() installs the overload guard (src/server/overload.ts) by default: its metrics on GET /metrics (HTTPS and the
 * plain-HTTP listener), shed answers under a forced overload (an injected event-loop delay, never real load), the
 * probes never shed, `overload: false` turns it off; and `mesh-webhook serve` (the built CLI) wires its flags through.
 * Real HTTPS through the real server with a CA-verified client; nothing here depends on wall-clock timing.
 */
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sampleAdmissionReview } from '../../src/admission/sample.js';
import { profileConfig } from '../../src/config/profiles.js';
import { createRuntime } from '../../src/server/runtime.js';
import { createMetrics } from '../../src/metrics.js';
import { EVENT_LOOP_DELAY, OVERLOAD_SHED, OVERLOAD_SHED_RATIO, type OverloadGuard } from '../../src/server/overload.js';
import { serve, type RunningServer, type ServeOptions } from '../../src/server/serve.js';
import { ensureDevCertificates, type DevCertificates } from '../../src/tls/devcert.js';
import { ensureBuilt, spawnServe } from '../helpers/build.js';
import { httpsRequest, type HttpsResponse, type ReviewAnswer } from '../helpers/https.js';
import { waitFor } from '../helpers/wait.js';

const injector = createRuntime(profileConfig('kyma'));
const quiet = pino({ level: 'silent' });
const nowhere = { write: () => true } as unknown as NodeJS.WritableStream;

let tmp: string;
let certs: DevCertificates;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-serve-overload-'));
  certs = await ensureDevCertificates(path.join(tmp, 'certs'), []);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});


/** serve() on 127.0.0.1:0 with the configured certificate files, quiet, no signal handlers. */
function start(extra: Partial<ServeOptions> = {}): Promise<RunningServer> {
  return serve({
    injector,
    port: 0,
    host: '127.0.0.1',
    certFile: certs.certPath,
    keyFile: certs.keyPath,
    handleSignals: false,
    logger: quiet,
    out: nowhere,
    ...extra,
  });
}

const get = (running: RunningServer, p: string): Promise<HttpsResponse> => httpsRequest(new URL(p, running.url), { ca: certs.ca });
const post = (running: RunningServer, p: string, uid: string): Promise<HttpsResponse> =>
  httpsRequest(new URL(p, running.url), {
    ca: certs.ca,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(sampleAdmissionReview({ uid })),
  });

function plainGet(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** Until the guard sheds every new admission (its sampling timer has seen the injected delay). */
async function untilShedding(guard: OverloadGuard | undefined): Promise<void> {
  expect(guard).toBeDefined();
  await waitFor('the guard to shed everything', () => guard!.state().shedRatio === 1);
}

describe('serve() with the overload guard on (the default)', () => {
  let running: RunningServer;
  beforeAll(async () => {
    running = await start({ metricsListener: { port: 0, host: '127.0.0.1' } });
  });
  afterAll(async () => {
    await running?.close();
  });

  test('exposes the mesh_webhook_overload_* metrics on /metrics (HTTPS and the plain-HTTP listener)', async () => {
    expect(running.overload).toBeDefined();
    const https = await get(running, '/metrics');
    expect(https.status).toBe(200);
    const plain = await plainGet(running.metricsUrl!);
    expect(plain.status).toBe(200);
    for (const text of [https.text, plain.text]) {
      expect(text).toContain(`# TYPE ${OVERLOAD_SHED} counter`);
      expect(text).toContain(`# TYPE ${OVERLOAD_SHED_RATIO} gauge`);
      expect(text).toMatch(new RegExp(`^${OVERLOAD_SHED_RATIO} 0$`, 'm'));
      expect(text).toContain(`# TYPE ${EVENT_LOOP_DELAY} gauge`);
    }
  });

  test('without overload, admissions are served as before', async () => {
    const res = await post(running, '/inject?timeout=10s', 'calm-1');
    expect(res.status).toBe(200);
    expect((res.json as ReviewAnswer).response).toMatchObject({ uid: 'calm-1', allowed: true });
    expect((res.json as ReviewAnswer).response.patch).toBeTruthy();
    expect((await post(running, '/validate', 'calm-2')).status).toBe(200);
    expect(running.overload?.state().shed).toEqual({ event_loop_delay: 0, in_flight: 0, in_flight_bytes: 0 });
  });
});

describe('serve() under a forced overload (overload: { eventLoopDelayMs: () => 10_000 })', () => {
  let running: RunningServer;
  const lines: Record<string, unknown>[] = [];
  beforeAll(async () => {
    const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
    running = await start({ logger, overload: { eventLoopDelayMs: () => 10_000, intervalMs: 5 } });
    await untilShedding(running.overload);
  });
  afterAll(async () => {
    await running?.close();
  });

  test('/inject: HTTP 200, allowed false, code 429 TooManyRequests with retryAfterSeconds, for the request uid', async () => {
    const res = await post(running, '/inject?timeout=10s', 'shed-1');
    expect(res.status).toBe(200);
    const answer = res.json as ReviewAnswer;
    expect(answer).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' });
    expect(answer.response).toMatchObject({
      uid: 'shed-1',
      allowed: false,
      status: { code: 429, reason: 'TooManyRequests', details: { retryAfterSeconds: 1 } },
    });
    expect(answer.response.patch).toBeUndefined();
    expect(answer.response.status?.message).toMatch(/overloaded .*retry in 1s/);
  });

  test('/validate: HTTP 429 with Retry-After', async () => {
    const res = await post(running, '/validate', 'shed-2');
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('1');
    expect((res.json as { error: string }).error).toMatch(/overloaded .*retry in 1s/);
  });

  test('/healthz, /readyz and /metrics still answer; the metrics count what was shed', async () => {
    expect((await get(running, '/healthz')).status).toBe(200);
    expect((await get(running, '/readyz')).status).toBe(200);
    await post(running, '/inject', 'shed-3');
    const metrics = await get(running, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(new RegExp(`^${OVERLOAD_SHED_RATIO} 1$`, 'm'));
    expect(metrics.text).toMatch(new RegExp(`^${OVERLOAD_SHED}\\{endpoint="inject",reason="event_loop_delay"\\} [1-9]`, 'm'));
    expect(metrics.text).toMatch(new RegExp(`^${OVERLOAD_SHED}\\{endpoint="validate",reason="event_loop_delay"\\} [1-9]`, 'm'));
    // In the admission counter as outcome "shed" (not as refused requests, which page as errors), both endpoints.
    for (const endpoint of ['inject', 'validate']) {
      expect(metrics.text).toMatch(new RegExp(`^mesh_webhook_admission_requests_total\\{endpoint="${endpoint}",outcome="shed",reason="event_loop_delay"\\} [1-9]`, 'm'));
    }
    expect(metrics.text).not.toMatch(/^mesh_webhook_admission_requests_total\{[^}]*outcome="refused"/m);
  });

  test('entering overload is logged through the server logger', async () => {
    await waitFor('the overload log line', () => lines.some((l) => l['msg'] === 'overloaded: shedding admissions ("overloaded, retry")'));
    const line = lines.find((l) => l['msg'] === 'overloaded: shedding admissions ("overloaded, retry")');
    expect(line).toMatchObject({ level: 40, component: 'overload' });
  });
});

describe('serve() options', () => {
  test('overload: false leaves the guard off: no overload metrics, nothing shed', async () => {
    const running = await start({ overload: false });
    try {
      expect(running.overload).toBeUndefined();
      const metrics = await get(running, '/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.text).toContain('mesh_webhook_admission_requests_total');
      expect(metrics.text).not.toContain('mesh_webhook_overload_');
      const res = await post(running, '/inject?timeout=10s', 'off-1');
      expect((res.json as ReviewAnswer).response).toMatchObject({ uid: 'off-1', allowed: true });
    } finally {
      await running.close();
    }
  });

  test('the in-flight limit passes through: maxInFlight 0 sheds every admission', async () => {
    const running = await start({ overload: { maxInFlight: 0, eventLoopDelayMs: () => 0 } });
    try {
      const answer = (await post(running, '/inject', 'cap-1')).json as ReviewAnswer;
      expect(answer.response).toMatchObject({ uid: 'cap-1', allowed: false, status: { code: 429 } });
      expect(answer.response.status?.message).toMatch(/admissions in flight/);
      expect(running.overload?.state().shed.in_flight).toBe(1);
    } finally {
      await running.close();
    }
  });

  test('a second server with the same WebhookMetrics registers the overload metrics again', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const first = await start({ metrics });
    await first.close();
    const second = await start({ metrics });
    try {
      const text = (await get(second, '/metrics')).text;
      expect(text.match(new RegExp(`^# TYPE ${OVERLOAD_SHED_RATIO} gauge$`, 'gm'))).toHaveLength(1);
    } finally {
      await second.close();
    }
  });

  test('a port already in use is an error, and the half-built server is closed', async () => {
    const first = await start();
    try {
      const err = await start({ port: first.port }).catch((e: unknown) => e);
      expect((err as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
    } finally {
      await first.close();
    }
  });
});

describe('mesh-webhook serve (the built CLI)', () => {
  let child: ChildProcess | undefined;
  beforeAll(() => ensureBuilt(), 120_000);
  afterAll(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  /** Starts `mesh-webhook serve` with `flags`, returns its GET /metrics text (HTTPS, CA-verified), stops it. */
  async function metricsOf(flags: string[]): Promise<string> {
    const served = spawnServe(
      // --metrics-port 0: no plain-HTTP listener; /metrics stays on the HTTPS port.
      ['--port', '0', '--host', '127.0.0.1', '--metrics-port', '0', '--cert', certs.certPath, '--key', certs.keyPath, '--shutdown-delay', '0', ...flags],
      tmp,
    );
    const { proc, logs } = served;
    child = proc;
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    try {
      await waitFor('the listening log line', () => logs.some((l) => l['msg'] === 'mesh-webhook listening') || proc.exitCode !== null, 20_000);
      const port = logs.find((l) => l['msg'] === 'mesh-webhook listening')?.['port'];
      expect(typeof port, served.stderr).toBe('number');
      const res = await httpsRequest(`https://127.0.0.1:${port as number}/metrics`, { ca: certs.ca });
      expect(res.status).toBe(200);
      return res.text;
    } finally {
      proc.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(served.stderr).toBe('');
    }
  }

  test('installs the guard by default; --no-overload-guard leaves it off; tuning flags are accepted', async () => {
    expect(await metricsOf([])).toContain(`# TYPE ${OVERLOAD_SHED_RATIO} gauge`);
    expect(await metricsOf(['--no-overload-guard'])).not.toContain('mesh_webhook_overload_');
    expect(await metricsOf(['--overload-target-delay', '1s', '--overload-max-in-flight', '50'])).toContain(`# TYPE ${OVERLOAD_SHED} counter`);
  }, 60_000);
});
