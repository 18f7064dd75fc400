/**
 * `mesh-webhook validate`: the rules of the validating webhook on manifests, for pipelines. Reads multi-document YAML
 * (and the items of v1 Lists), validates each object in its own namespace without a cluster
 * (src/validate/manifests.ts), prints one line per finding and a summary, or JSON (src/validate/format.ts), and tells
 * the caller through the exit code whether any error was found.
 *
 * The input is read twice, one document at a time (memory bounded by the largest document and the findings): first
 * for the labels of its Namespace objects (a Namespace may come after the objects in it), then object by object.
 */
import { loadConfig } from '../config/load.js';
import type { Finding } from '../validate/findings.js';
import { formatJson, formatRules, formatText } from '../validate/format.js';
import { manifestValidator } from '../validate/manifests.js';
import { documentObjects, namespaceLabelsIn, type ManifestObject } from '../workloads/manifests.js';
import type { ValidateArgs } from './args.js';
import { eachDocument } from './manifestStream.js';
import { openManifestInputs, type ManifestInput } from './manifestInput.js';

/** Runs the command; returns the exit code (1 when any error finding, else 0). */
export async function runValidate(args: ValidateArgs): Promise<number> {
  if (args.list) {
    process.stdout.write(formatRules(args.output));
    return 0;
  }
  const config = loadConfig(args.config);
  const { inputs, close } = await openManifestInputs(args.filenames, { rereadable: true });
  const findings: Finding[] = [];
  let objects = 0;
  try {
    const validate = manifestValidator(config, await namespaceLabels(inputs));
    // As when the whole input was read first: an input that cannot be read (bad YAML, no object) anywhere is the
    // error, before an object the rules cannot read.
    let cannotValidate: unknown;
    const named = inputs.length > 1;
    await eachDocument('validate (2/2)', inputs, (document, input) => {
      for (const object of documentObjects(document)) {
        objects++;
        if (cannotValidate !== undefined) continue;
        try {
          findings.push(...validate(named ? { ...object, where: `${input.name}: ${object.where}` } : object));
        } catch (err) {
          cannotValidate = err;
        }
      }
    });
    if (cannotValidate !== undefined) throw cannotValidate;
  } finally {
    await close();
  }
  const result = { findings, objects };
  process.stdout.write(args.output === 'json' ? formatJson(result) : formatText(result));
  return findings.some((f) => f.severity === 'error') ? 1 : 0;
}

/**
 * The labels the inputs' Namespace objects give their namespaces. Only documents that can hold a Namespace are
 * composed: their text says `Namespace`, or has a `\` (a double-quoted escape can spell it otherwise; an alias
 * needs its anchor, and the word, in the same document). A document that cannot be read is left to the second pass.
 */
async function namespaceLabels(inputs: readonly ManifestInput[]): Promise<Record<string, Record<string, string>>> {
  const namespaces: ManifestObject[] = [];
  await eachDocument(
    'validate (1/2)',
    inputs,
    (document) => {
      if (document.skipped || document.error !== undefined) return;
      try {
        for (const object of documentObjects(document)) if (object.object.kind === 'Namespace') namespaces.push(object);
      } catch {
        // reported by the second pass
      }
    },
    { compose: (text) => text.includes('Namespace') || text.includes('\\') },
  );
  return namespaceLabelsIn(namespaces);
}
