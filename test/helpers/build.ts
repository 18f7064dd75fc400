/**
 * For tests that run the built CLI (dist/) on the pinned Node 24: where things are, and a rebuild when dist/ is older
 * than src/ or tsconfig.json (`npm test` builds first, in pretest; a direct `vitest run` may not have).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll } from 'vitest';
import { ensureDevCertificates, type DevCertificates } from '../../src/tls/devcert.js';

export const root = path.join(import.meta.dirname, '..', '..');
export const nodeBin = path.join(root, 'node_modules', '.bin', 'node');
export const cliMain = path.join(root, 'dist', 'cli', 'main.js');

/** The newest modification time of a file, or of the files below a directory. */
function newestMtime(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(p).map((name) => newestMtime(path.join(p, name))));
}

/**
 * Builds dist/ (tsc -p tsconfig.json, as `npm run build`) when dist/cli/main.js is missing or older than a file of
 * src/ or tsconfig.json; throws with tsc's output when the build fails.
 */
export function ensureBuilt(): void {
  const sources = Math.max(newestMtime(path.join(root, 'src')), newestMtime(path.join(root, 'tsconfig.json')));
  if (existsSync(cliMain) && statSync(cliMain).mtimeMs >= sources) return;
  const tsc = spawnSync(nodeBin, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.json')], {
    encoding: 'utf8',
    timeout: 240_000,
  });
  if (tsc.status !== 0) throw new Error(`build failed (tsc exited ${tsc.status ?? tsc.signal}):\n${tsc.stdout}${tsc.stderr}`);
}

/** A `mesh-webhook serve` process of the built CLI: its JSON log lines (stdout) as they come, and its stderr. */
export interface ServeProcess {
  proc: ChildProcess;
  /** Parsed stdout lines (a line that is not JSON is kept as `{ text }`). */
  logs: Record<string, unknown>[];
  /** Everything written to stderr so far. */
  readonly stderr: string;
}

/** Spawns `mesh-webhook serve <args>` (dist/, pinned Node 24) in `cwd`; the caller stops it. */
export function spawnServe(args: string[], cwd: string): ServeProcess {
  const proc = spawn(nodeBin, [cliMain, 'serve', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  createInterface({ input: proc.stdout }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      logs.push({ text: line });
    }
  });
  return {
    proc,
    logs,
    get stderr() {
      return stderr;
    },
  };
}

/** What a test file that runs the built CLI as a process keeps: its temporary directory, certificates, the child. */
export interface ProcessFixture {
  /** A fresh temporary directory (removed after the file's tests). */
  tmp: string;
  /** Development certificates in `tmp/certs` (with `certificates: true`). */
  certs: DevCertificates;
  /** The process the tests started; killed after the file's tests if it still runs. */
  child: ChildProcess | undefined;
}

/**
 * Registers the file's beforeAll (build dist/ when stale, make the temporary directory and certificates) and afterAll
 * (kill the child if it still runs, remove the directory).
 */
export function processFixture(prefix: string, options: { certificates?: boolean } = {}): ProcessFixture {
  const fixture = { tmp: '', certs: undefined as unknown as DevCertificates, child: undefined as ChildProcess | undefined };
  beforeAll(async () => {
    ensureBuilt();
    fixture.tmp = await mkdtemp(path.join(os.tmpdir(), prefix));
    if (options.certificates) fixture.certs = await ensureDevCertificates(path.join(fixture.tmp, 'certs'), []);
  }, 120_000);
  afterAll(async () => {
    const child = fixture.child;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (fixture.tmp) await rm(fixture.tmp, { recursive: true, force: true });
  });
  return fixture;
}
