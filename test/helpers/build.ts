/**
 * For tests that run the built CLI (dist/) on the pinned Node 24: where things are, and a rebuild when dist/ is older
 * than src/ (`npm test` builds first, in pretest; a direct `vitest run` may not have).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

export const root = path.join(import.meta.dirname, '..', '..');
export const nodeBin = path.join(root, 'node_modules', '.bin', 'node');
export const cliMain = path.join(root, 'dist', 'cli', 'main.js');

function newestMtime(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(p).map((name) => newestMtime(path.join(p, name))));
}

/** Build dist/ when it is missing or older than src/. */
export function ensureBuilt(): void {
  if (existsSync(cliMain) && newestMtime(path.join(root, 'dist')) >= newestMtime(path.join(root, 'src'))) return;
  const tsc = spawnSync(nodeBin, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.json')], { encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`build failed:\n${tsc.stdout}${tsc.stderr}`);
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
