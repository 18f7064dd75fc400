import { writeFile } from 'node:fs/promises';
import { loadConfig } from '../config/load.js';
import { createInjector } from '../inject/index.js';
import { injectManifests } from '../workloads/kubeInject.js';
import type { InjectArgs } from './args.js';
import { InputError } from './errors.js';
import { eachManifestFile } from '../workloads/manifests.js';
import { readManifestFiles } from './manifestFiles.js';

/**
 * `mesh-webhook inject`: manifests in (files in the order given, or stdin), injected manifests out (stdout or -o) as
 * one YAML stream, warnings to stderr.
 */
export async function runInject(args: InjectArgs): Promise<void> {
  const injector = createInjector(loadConfig(args.config));
  const files = await readManifestFiles(args.filenames);
  const results = eachManifestFile(files, (file) => injectManifests(file.text, injector));
  for (const warning of results.flatMap((r) => r.warnings)) process.stderr.write(`${warning}\n`);
  // Each document ends with `---`, so the files' outputs join into one stream.
  const output = results.map((r) => r.output).join('');
  if (args.output === undefined) {
    process.stdout.write(output);
    return;
  }
  try {
    await writeFile(args.output, output);
  } catch (err) {
    throw new InputError(`cannot write ${args.output}: ${(err as Error).message}`);
  }
}
