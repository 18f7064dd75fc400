/**
 * The manifests of `-f FILE` given once or more (`-` for stdin), read in the order given as kubectl does. With more
 * than one file, an error in a manifest names its file; a file that cannot be read always does.
 */
import { readFile } from 'node:fs/promises';
import { fileReadProblem } from '../util/fileError.js';
import { ManifestError } from '../workloads/kubeInject.js';
import { InputError } from './errors.js';

export interface ManifestFile {
  /** The path as given, or `stdin`. */
  name: string;
  text: string;
}

/** The text of every `-f` in order; a missing or unreadable file is an {@link InputError} naming it. */
export async function readManifestFiles(filenames: readonly string[]): Promise<ManifestFile[]> {
  const files: ManifestFile[] = [];
  for (const filename of filenames) files.push({ name: filename === '-' ? 'stdin' : filename, text: await readManifestText(filename) });
  return files;
}

async function readManifestText(filename: string): Promise<string> {
  if (filename === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(filename, 'utf8');
  } catch (err) {
    throw new InputError(`manifest file ${filename} ${fileReadProblem(err)}`);
  }
}

/**
 * `use(file)` for each file in order; when there are several, a {@link ManifestError} is raised again with the
 * file's name in front (`b.yaml: document 2: ...`).
 */
export function eachManifestFile<T>(files: readonly ManifestFile[], use: (file: ManifestFile) => T): T[] {
  return files.map((file) => {
    try {
      return use(file);
    } catch (err) {
      if (files.length > 1 && err instanceof ManifestError) throw new ManifestError(err.document, `${file.name}: ${err.message}`);
      throw err;
    }
  });
}
