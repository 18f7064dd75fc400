/**
 * The documents of every `-f` input in order, one at a time (src/workloads/yamlStream.ts), with progress on stderr
 * (src/cli/progress.ts); with several inputs, a {@link ManifestError} is raised again with the input's name in front
 * (`b.yaml: document 2: ...`), as eachManifestFile does for whole files.
 */
import { ManifestError, type ManifestDocument } from '../workloads/kubeInject.js';
import { yamlDocuments, type YamlStreamOptions } from '../workloads/yamlStream.js';
import type { ManifestInput } from './manifestInput.js';
import { createProgress } from './progress.js';

/** `use(document, input)` for each document of each input, in order. */
export async function eachDocument(
  command: string,
  inputs: readonly ManifestInput[],
  use: (document: ManifestDocument & { skipped?: true }, input: ManifestInput) => Promise<void> | void,
  options: YamlStreamOptions = {},
): Promise<void> {
  const sizes = inputs.map((i) => i.size);
  const totalBytes = sizes.every((s) => s !== undefined) ? sizes.reduce<number>((a, b) => a + (b ?? 0), 0) : undefined;
  const progress = createProgress({ command, totalBytes, out: process.stderr });
  let bytes = 0;
  let documents = 0;
  try {
    for (const input of inputs) {
      try {
        for await (const document of yamlDocuments(input.chunks((n) => (bytes += n)), options)) {
          await use(document, input);
          progress.update(bytes, ++documents);
        }
      } catch (err) {
        if (inputs.length > 1 && err instanceof ManifestError) throw new ManifestError(err.document, `${input.name}: ${err.message}`);
        throw err;
      }
    }
  } finally {
    progress.done();
  }
}
