/**
 * The manifests of `-f FILE` given once or more (`-` for stdin), read in the order given as kubectl does; a file
 * that cannot be read is named. Reading the objects in them: src/workloads/manifests.ts.
 */
import { readFile } from 'node:fs/promises';
import { fileReadProblem } from '../util/fileError.js';
import type { ManifestFile } from '../workloads/manifests.js';
import { InputError } from './errors.js';

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
