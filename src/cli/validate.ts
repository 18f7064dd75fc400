/**
 * `mesh-webhook validate`: the rules of the validating webhook on manifests, for pipelines. Reads multi-document YAML
 * (and the items of v1 Lists), validates each object in its own namespace without a cluster
 * (src/validate/manifests.ts), prints one line per finding and a summary, or JSON (src/validate/format.ts), and tells
 * the caller through the exit code whether any error was found.
 */
import { loadConfig } from '../config/load.js';
import { formatJson, formatRules, formatText } from '../validate/format.js';
import { validateManifests } from '../validate/manifests.js';
import { readManifestObjects } from '../workloads/manifests.js';
import type { ValidateArgs } from './args.js';
import { readManifestFiles } from './manifestFiles.js';

/** Runs the command; returns the exit code (1 when any error finding, else 0). */
export async function runValidate(args: ValidateArgs): Promise<number> {
  if (args.list) {
    process.stdout.write(formatRules(args.output));
    return 0;
  }
  const config = loadConfig(args.config);
  const result = validateManifests(readManifestObjects(await readManifestFiles(args.filenames)), config);
  process.stdout.write(args.output === 'json' ? formatJson(result) : formatText(result));
  return result.findings.some((f) => f.severity === 'error') ? 1 : 0;
}
