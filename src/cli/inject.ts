import { loadConfig } from '../config/load.js';
import { createInjector } from '../inject/index.js';
import { injectDocument } from '../workloads/kubeInject.js';
import type { InjectArgs } from './args.js';
import { eachDocument } from './manifestStream.js';
import { openManifestInputs } from './manifestInput.js';
import { pendingOutput } from './outputFile.js';

/**
 * `mesh-webhook inject`: manifests in (files in the order given, or stdin), injected manifests out (stdout or -o) as
 * one YAML stream, warnings to stderr. Read and injected one document at a time (memory bounded by the largest
 * document); the output waits in a temporary file until every document is injected, so an error prints nothing.
 */
export async function runInject(args: InjectArgs): Promise<void> {
  const injector = createInjector(loadConfig(args.config));
  const { inputs, close } = await openManifestInputs(args.filenames);
  const output = await pendingOutput(args.output);
  const warnings: string[] = [];
  try {
    // Each document ends with `---`, so the files' outputs join into one stream.
    await eachDocument('inject', inputs, async (document) => {
      const text = injectDocument(document, injector, warnings);
      if (text !== '') await output.write(text);
    });
  } catch (err) {
    await output.discard();
    throw err;
  } finally {
    await close();
  }
  for (const warning of warnings) process.stderr.write(`${warning}\n`);
  await output.commit();
}
