/**
 * `mesh-webhook explain`: why each Pod or workload of a manifest stream would (not) get a sidecar
 * (src/explain/manifests.ts), as text or JSON (src/explain/format.ts).
 */
import { loadConfig } from '../config/load.js';
import { formatExplanationsJson, formatExplanationsText } from '../explain/format.js';
import { explainManifests } from '../explain/manifests.js';
import { readManifestObjects } from '../workloads/manifests.js';
import type { ExplainArgs } from './args.js';
import { InputError } from './errors.js';
import { readManifestFiles } from './manifestFiles.js';

/** Runs the command: 0, or an InputError (exit 1) when the input has no Pod or workload. */
export async function runExplain(args: ExplainArgs): Promise<number> {
  const config = loadConfig(args.config);
  const explanations = explainManifests(readManifestObjects(await readManifestFiles(args.filenames)), config, {
    ...(args.namespace !== undefined ? { namespace: args.namespace } : {}),
    ...(args.namespaceLabels !== undefined ? { namespaceLabels: args.namespaceLabels } : {}),
  });
  if (explanations.length === 0) {
    const input = args.filenames.length === 1 && args.filenames[0] !== '-' ? args.filenames[0] : 'the input';
    throw new InputError(`${input} has no Pod or workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, ...) to explain`);
  }
  process.stdout.write(args.output === 'json' ? formatExplanationsJson(explanations) : formatExplanationsText(explanations));
  return 0;
}
