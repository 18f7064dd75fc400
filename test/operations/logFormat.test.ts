/**
 * Log format of `mesh-webhook serve` (src/server/logger.ts): human-readable lines when stdout is a terminal, JSON
 * lines otherwise (a pod, a pipe, a file). The terminal is a real pseudo-terminal from util-linux `script`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultLogFormat } from '../../src/server/logger.js';
import { cliMain, ensureBuilt, nodeBin } from '../helpers/build.js';
import { httpsRequest } from '../helpers/https.js';
import { waitFor } from '../helpers/wait.js';

let dir: string;
beforeAll(async () => {
  ensureBuilt();
  dir = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-logformat-'));
}, 120_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs serve until its listening line arrives, then SIGTERM; resolves with everything it wrote. */
function serveOutput(command: string, args: string[], marker: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no listening line within 20 s:\n${out}`));
    }, 20_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (marker.test(out)) child.kill('SIGTERM');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

describe('log format', () => {
  it('a terminal gets readable lines (time, level, message, fields indented); nothing of it is JSON', async () => {
    expect(spawnSync('script', ['--version']).status, 'util-linux `script` provides the pseudo-terminal').toBe(0);
    const command = [nodeBin, cliMain, 'serve', '--port', '0', '--metrics-port', '0'].join(' ');
    const out = await serveOutput('script', ['-qec', command, '/dev/null'], /mesh-webhook listening[\s\S]*url/);
    const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
    expect(plain).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: mesh-webhook listening\r?$/m);
    expect(plain).toMatch(/^ {4}address: "127\.0\.0\.1"\r?$/m);
    expect(plain).not.toMatch(/^\{"level"/m);
  });

  it('a pipe gets JSON lines', async () => {
    const out = await serveOutput(nodeBin, [cliMain, 'serve', '--port', '0', '--metrics-port', '0'], /"msg":"mesh-webhook listening"/);
    const line = out.split('\n').find((l) => l.includes('"msg":"mesh-webhook listening"'))!;
    expect(JSON.parse(line)).toMatchObject({ level: 30, msg: 'mesh-webhook listening', address: '127.0.0.1' });
  });

  it('lines are batched, yet a quiet service writes its admission line while it runs, and every line is written at exit', async () => {
    const child = spawn(nodeBin, [cliMain, 'serve', '--port', '0', '--metrics-port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => void (out += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const lines = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      await waitFor('the listening line', () => lines().some((l) => l['msg'] === 'mesh-webhook listening'), 20_000);
      const url = lines().find((l) => l['msg'] === 'mesh-webhook listening')!['url'] as string;
      const ca = await readFile(path.join(dir, '.dev-certs', 'ca.crt'), 'utf8');
      const body = await readFile(path.join(dir, '.dev-certs', 'sample-review.json'), 'utf8');
      const admit = async (uid: string) => {
        const res = await httpsRequest(`${url}/inject`, { ca, method: 'POST', headers: { 'content-type': 'application/json' }, body: body.replace(/"uid":\s*"[^"]*"/, `"uid":"${uid}"`) });
        expect(res.status).toBe(200);
      };
      // One admission, then nothing: its line is not held back for more to come.
      await admit('quiet-1');
      await waitFor('the admission line of a quiet service', () => lines().some((l) => l['msg'] === 'admission' && l['uid'] === 'quiet-1'), 10_000);
      // A burst, then SIGTERM at once: what is still buffered is written at exit.
      await Promise.all(Array.from({ length: 20 }, (_, i) => admit(`burst-${i}`)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const burst = lines().filter((l) => l['msg'] === 'admission' && String(l['uid']).startsWith('burst-'));
      expect(burst).toHaveLength(20);
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);

  it('the default follows stdout: pretty for a terminal, json otherwise', () => {
    expect([defaultLogFormat({ isTTY: true }), defaultLogFormat({ isTTY: false }), defaultLogFormat({})]).toEqual(['pretty', 'json', 'json']);
  });
});
