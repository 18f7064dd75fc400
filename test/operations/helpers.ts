/** Shared helpers of the operations tests: the built CLI, Prometheus text parsing, admission reviews. */
import { sampleAdmissionReview, samplePod } from '../../src/admission/sample.js';
import { parseCommandLine, type OutdatedArgs } from '../../src/cli/args.js';
import { runOutdated } from '../../src/cli/outdated.js';
import type { Pod } from '../../src/k8s/types.js';

export { cliMain, ensureBuilt, nodeBin, root } from '../helpers/build.js';
/** Runs the built CLI without blocking the event loop (in-process test servers keep answering meanwhile). */
export { runCliAsync as cli, type CliRun as Run } from '../helpers/cli.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  /** `# TYPE` of every metric family. */
  types: Map<string, string>;
  samples: Sample[];
}

/** Parse the Prometheus text exposition format (what prom-client writes). */
export function parseMetrics(text: string): Scrape {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      types.set(name!, type!);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { types, samples };
}

/** The value of the one sample of `name` whose labels include `labels` (undefined when none; throws when several). */
export function sampleValue(scrape: Scrape, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = scrape.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** An AdmissionReview for `pod` (default: the sample Deployment pod) in `namespace`. */
export function review(uid: string, pod: Pod = samplePod(), namespace = 'default'): ReturnType<typeof sampleAdmissionReview> {
  return sampleAdmissionReview({ uid, pod, namespace });
}

/** The sample pod with extra labels/annotations/spec fields. */
export function podWith(extra: { labels?: Record<string, string>; annotations?: Record<string, string>; hostNetwork?: boolean }): Pod {
  const pod = samplePod();
  pod.metadata = {
    ...pod.metadata,
    labels: { ...pod.metadata?.labels, ...extra.labels },
    ...(extra.annotations ? { annotations: extra.annotations } : {}),
  };
  if (extra.hostNetwork) pod.spec = { ...pod.spec, hostNetwork: true };
  return pod;
}

/** `mesh-webhook outdated --kubeconfig FILE ARGS...` as the command line parses it. */
export function outdatedArgs(kubeconfig: string, ...argv: string[]): OutdatedArgs {
  const inv = parseCommandLine(['outdated', '--kubeconfig', kubeconfig, ...argv]);
  if (inv.command !== 'outdated') throw new Error('not outdated');
  return inv.args;
}

/** `mesh-webhook outdated` in process against the cluster of `kubeconfig`: its exit code and what it printed. */
export async function runOutdatedWith(kubeconfig: string, ...argv: string[]): Promise<{ code: number; text: string }> {
  let text = '';
  const out = { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream;
  const code = await runOutdated(outdatedArgs(kubeconfig, ...argv), undefined, out);
  return { code, text };
}
