/** Runs the built CLI (dist/, pinned Node 24) on a pod written to a temporary YAML file, and reads the injected pod back. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import type { Pod } from '../../src/k8s/types.js';
import { cliMain, nodeBin } from './build.js';

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface CliPods {
  /** `mesh-webhook inject <args> -f <the pod as YAML>`. */
  inject(pod: Pod, args?: readonly string[]): Promise<CliRun>;
  remove(): void;
}

export function cliPods(prefix: string): CliPods {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let count = 0;
  return {
    inject(pod, args = []) {
      const file = join(dir, `pod${++count}.yaml`);
      writeFileSync(file, stringify(pod));
      return new Promise((resolve, reject) => {
        const child = spawn(nodeBin, [cliMain, 'inject', ...args, '-f', file], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on('data', (c: Buffer) => out.push(c));
        child.stderr.on('data', (c: Buffer) => err.push(c));
        child.on('error', reject);
        child.on('close', (status) => resolve({ status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
      });
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The one pod of `inject`'s output (a YAML stream). */
export function injectedPod(stdout: string): Pod {
  const docs = parseAllDocuments(stdout).map((d) => d.toJS() as Pod | null).filter((d): d is Pod => d !== null);
  if (docs.length !== 1) throw new Error(`expected one document, got ${docs.length}`);
  return docs[0]!;
}
