/**
 * serve().shutdown() (what SIGTERM does) in process: not ready at once, serving on during the drain delay with
 * `Connection: close`, close() cuts the drain short; GET /metrics in Prometheus text format.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sampleAdmissionReview } from '../../src/admission/sample.js';
import { profileConfig } from '../../src/config/profiles.js';
import { createRuntime } from '../../src/server/runtime.js';
import { CERTIFICATE_EXPIRY, CERTIFICATE_RELOADS, CONFIG_RELOADS } from '../../src/metrics.js';
import { serve, type RunningServer } from '../../src/server/serve.js';
import { httpsRequest } from '../helpers/https.js';
import { waitFor } from '../helpers/wait.js';

const injector = createRuntime(profileConfig('kyma'));
const quiet = pino({ level: 'silent' });
const sink = () => new Writable({ write: (_c, _e, cb) => cb() });

let tmp: string;
let ca: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-shutdown-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function start(shutdownDelayMs?: number): Promise<RunningServer> {
  const running = await serve({
    injector,
    port: 0,
    host: '127.0.0.1',
    devCertDir: path.join(tmp, 'dev'),
    logger: quiet,
    handleSignals: false,
    out: sink(),
    ...(shutdownDelayMs !== undefined ? { shutdownDelayMs } : {}),
  });
  ca = await readFile(running.caPath as string, 'utf8');
  return running;
}

const get = (running: RunningServer, p: string) => httpsRequest(`${running.url}${p}`, { ca });

describe('shutdown()', () => {
  test('not ready at once, still serving during the drain delay, then closed', async () => {
    const running = await start(60_000);
    expect((await get(running, '/readyz')).status).toBe(200);
    const shutdown = running.shutdown();
    try {
      const readyz = await get(running, '/readyz');
      expect(readyz.status).toBe(503);
      expect(readyz.json).toEqual({ status: 'not ready', reason: 'shutting down' });
      expect(readyz.headers['connection']).toBe('close');
      const admission = await httpsRequest(`${running.url}/inject`, {
        ca,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(sampleAdmissionReview()),
      });
      expect(admission.status).toBe(200);
      expect(admission.headers['connection']).toBe('close');
      expect(running.app.server.listening).toBe(true);
    } finally {
      // close() ends the (60 s) drain delay at once.
      await running.close();
    }
    await shutdown;
    expect(running.app.server.listening).toBe(false);
    await running.closed;
  });

  test('a drain delay of 0 closes at once; shutdown() and close() are idempotent', async () => {
    const running = await start(0);
    await Promise.all([running.shutdown(), running.shutdown(), running.close()]);
    expect(running.app.server.listening).toBe(false);
    await expect(running.closed).resolves.toBeUndefined();
  });

  test('the default drain delay applies when none is given', async () => {
    const running = await start();
    void running.shutdown();
    await waitFor('not ready', async () => (await get(running, '/readyz')).status === 503);
    expect(running.app.server.listening).toBe(true);
    await running.close();
  });
});

describe('GET /metrics', () => {
  test('the reload counters (both results, from 0) and the certificate expiry, in Prometheus text format', async () => {
    const running = await start(0);
    try {
      const res = await get(running, '/metrics');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      for (const name of [CONFIG_RELOADS, CERTIFICATE_RELOADS]) {
        expect(res.text).toContain(`# TYPE ${name} counter`);
        expect(res.text).toContain(`${name}{result="success"} 0`);
        expect(res.text).toContain(`${name}{result="failure"} 0`);
      }
      const expiry = new RegExp(`^${CERTIFICATE_EXPIRY} (\\d+)$`, 'm').exec(res.text);
      expect(Number(expiry?.[1])).toBeGreaterThan(Date.now() / 1000);
      const post = await httpsRequest(`${running.url}/metrics`, { ca, method: 'POST' });
      expect(post.status).toBe(405);
    } finally {
      await running.close();
    }
  });
});
