/**
 * What `mesh-webhook serve` exposes by default: it listens on 127.0.0.1 (so `npm start` is not reachable from the
 * network; the Deployment asks for 0.0.0.0), POST /explain only with --explain, and at most --max-connections
 * connections. Flags through the parser, and the defaults through a real `serve` process.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseCommandLine, UsageError, type ServeArgs } from '../../src/cli/args.js';
import { USAGE } from '../../src/cli/usage.js';
import { DEFAULT_MAX_CONNECTIONS } from '../../src/server/connections.js';
import { DEFAULT_HOST } from '../../src/server/serve.js';
import { DEFAULT_METRICS_HOST } from '../../src/server/metricsListener.js';
import { sampleAdmissionReview } from '../../src/admission/sample.js';
import { ensureBuilt, spawnServe, type ServeProcess } from '../helpers/build.js';
import { waitFor } from '../helpers/wait.js';

const serveArgs = (...argv: string[]): ServeArgs => {
  const inv = parseCommandLine(['serve', ...argv]);
  if (inv.command !== 'serve') throw new Error(`not serve: ${inv.command}`);
  return inv.args;
};

describe('serve flags', () => {
  test('defaults: local only, no /explain, the connection cap of serve()', () => {
    expect(DEFAULT_HOST).toBe('127.0.0.1');
    expect(DEFAULT_METRICS_HOST).toBe('127.0.0.1');
    expect(DEFAULT_MAX_CONNECTIONS).toBe(1000);
    const args = serveArgs();
    expect('explain' in args).toBe(false);
    expect('maxConnections' in args).toBe(false);
    expect('host' in args).toBe(false);
  });

  test('--explain and --max-connections', () => {
    expect(serveArgs('--explain').explain).toBe(true);
    expect(serveArgs('--max-connections', '50').maxConnections).toBe(50);
    expect(serveArgs('--max-connections=1').maxConnections).toBe(1);
    // (`--max-connections -1` is a parse error of its own: -1 reads as a flag.)
    for (const bad of ['0', '1.5', 'many', '', '1000001']) {
      expect(() => serveArgs('--max-connections', bad), bad).toThrow(UsageError);
      expect(() => serveArgs('--max-connections', bad), bad).toThrow(`--max-connections must be an integer 1..1000000; got "${bad}"`);
    }
  });

  test('the help text states the defaults and why', () => {
    expect(USAGE.serve).toContain('--host H                  listen address (default 127.0.0.1: this machine only; in a pod');
    expect(USAGE.serve).toContain('--explain                 serve POST /explain');
    expect(USAGE.serve).toContain('--max-connections N       connections held at most');
    expect(USAGE.serve).toContain('(default 1000)');
  });
});

describe('a real serve', () => {
  let tmp: string;
  let served: ServeProcess | undefined;
  beforeAll(async () => {
    ensureBuilt();
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-exposure-'));
  }, 120_000);
  afterAll(async () => {
    served?.proc.kill('SIGKILL');
    await rm(tmp, { recursive: true, force: true });
  });

  test('without --host it listens on 127.0.0.1 only; /explain answers 404 naming --explain', async () => {
    served = spawnServe(['--port', '0', '--metrics-port', '0', '--shutdown-delay', '0s'], tmp);
    const s = served;
    await waitFor('the listening line', () => s.logs.some((l) => l['msg'] === 'mesh-webhook listening') || s.proc.exitCode !== null, 20_000);
    const line = s.logs.find((l) => l['msg'] === 'mesh-webhook listening');
    expect(line, s.stderr).toMatchObject({ address: '127.0.0.1' });
    const ca = readFileSync(path.join(tmp, '.dev-certs', 'ca.crt'), 'utf8');
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port: line?.['port'] as number, path: '/explain', method: 'POST', ca, servername: 'localhost', agent: false, headers: { 'content-type': 'application/json' } },
        (r) => {
          let body = '';
          r.setEncoding('utf8').on('data', (c: string) => (body += c));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(sampleAdmissionReview()));
    });
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toEqual({ error: 'POST /explain is not enabled on this server (mesh-webhook serve --explain turns it on)' });
    s.proc.kill('SIGTERM');
    await new Promise((r) => s.proc.once('exit', r));
  }, 60_000);
});
