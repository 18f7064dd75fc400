/**
 * For tests that run the built CLI (dist/) on the pinned Node 24: where things are, and a rebuild when dist/ is older
 * than src/ (`npm test` builds first, in pretest; a direct `vitest run` may not have).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

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
