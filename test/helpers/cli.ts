/**
 * Runs the built CLI (dist/cli/main.js on the pinned Node 24) as a child process: synchronously, or asynchronously
 * when the test process must keep serving meanwhile (in-process test servers, many runs at once). Both kill a run
 * that hangs (status null, `signal` set).
 */
import { spawn, spawnSync } from 'node:child_process';
import { cliMain, nodeBin, root } from './build.js';

export interface CliRun {
  status: number | null;
  /** Only when the process was killed (a hang past the timeout). */
  signal?: NodeJS.Signals;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Working directory; the repository root when not given. */
  cwd?: string | undefined;
  /** Standard input (empty when not given). */
  input?: string | undefined;
  /** The environment instead of this process's. */
  env?: NodeJS.ProcessEnv | undefined;
  /** Kill the run after this long; 60 s when not given. */
  timeoutMs?: number | undefined;
}

const DEFAULT_TIMEOUT_MS = 60_000;

function result(status: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string): CliRun {
  return { status, ...(signal ? { signal } : {}), stdout, stderr };
}

/** `mesh-webhook <args>`, waiting for it. */
export function runCli(args: readonly string[], options: CliOptions = {}): CliRun {
  const r = spawnSync(nodeBin, [cliMain, ...args], {
    encoding: 'utf8',
    cwd: options.cwd ?? root,
    input: options.input ?? '',
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxBuffer: 256 * 1024 * 1024,
    ...(options.env ? { env: options.env } : {}),
  });
  return result(r.status, r.signal, r.stdout, r.stderr);
}

/** `mesh-webhook <args>`, its outcome as a promise. */
export function runCliAsync(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBin, [cliMain, ...args], {
      cwd: options.cwd ?? root,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      ...(options.env ? { env: options.env } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve(result(status, signal, Buffer.concat(out).toString('utf8'), Buffer.concat(err).toString('utf8'))));
    child.stdin.on('error', () => undefined); // EPIPE: the CLI exited without reading its input
    child.stdin.end(options.input ?? '');
  });
}
