/** Runs the built CLI (dist/, pinned Node 24) on a pod written to a temporary YAML file, and reads the injected pod back. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import type { Pod } from '../../src/k8s/types.js';
import { runCliAsync, type CliRun } from './cli.js';

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
      return runCliAsync(['inject', ...args, '-f', file], { cwd: dir });
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
