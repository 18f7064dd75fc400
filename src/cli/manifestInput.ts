/**
 * The manifests of `-f FILE` given once or more (`-` for stdin), read as streams of text in chunks, so that a stream
 * of any size is read in memory bounded by its largest document (src/workloads/yamlStream.ts). Every file is
 * checked before any is read (a missing or unreadable one is named, as when they were read whole). Stdin, which can
 * be read once, is spooled to a temporary file when the command reads its input twice (validate).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { fileReadProblem } from '../util/fileError.js';
import { InputError } from './errors.js';

/** Read size: large enough that reading is not the cost, small next to the memory bound. */
const CHUNK_BYTES = 1 << 20;

export interface ManifestInput {
  /** The path as given, or `stdin`. */
  name: string;
  /** Its size in bytes when known (a file). */
  size?: number | undefined;
  /** Its text in chunks, from the start (once for stdin unless spooled); `read(n)` is told each chunk's bytes. */
  chunks(read?: (bytes: number) => void): AsyncIterable<string>;
}

export interface ManifestInputs {
  inputs: ManifestInput[];
  /** Removes the spooled copy of stdin, if any. */
  close(): Promise<void>;
}

/** The inputs of every `-f` in order; `rereadable`: stdin is spooled to a temporary file first. */
export async function openManifestInputs(filenames: readonly string[], { rereadable = false } = {}): Promise<ManifestInputs> {
  let spoolDir: string | undefined;
  const inputs: ManifestInput[] = [];
  try {
    for (const filename of filenames) {
      if (filename !== '-') {
        inputs.push({ name: filename, size: await checkedSize(filename), chunks: (read) => decoded(createReadStream(filename, { highWaterMark: CHUNK_BYTES }), read) });
      } else if (!rereadable) {
        inputs.push({ name: 'stdin', chunks: (read) => decoded(process.stdin, read) });
      } else {
        spoolDir = await mkdtemp(join(tmpdir(), 'mesh-webhook-stdin-'));
        const spooled = join(spoolDir, 'stdin.yaml');
        await pipeline(process.stdin, createWriteStream(spooled));
        inputs.push({ name: 'stdin', chunks: (read) => decoded(createReadStream(spooled, { highWaterMark: CHUNK_BYTES }), read) });
      }
    }
  } catch (err) {
    if (spoolDir !== undefined) await rm(spoolDir, { recursive: true, force: true });
    throw err;
  }
  return { inputs, close: async () => (spoolDir === undefined ? undefined : rm(spoolDir, { recursive: true, force: true })) };
}

/** The file's size; a missing, unreadable or directory path is an {@link InputError} naming it. */
async function checkedSize(filename: string): Promise<number> {
  try {
    const handle = await open(filename, 'r');
    try {
      const stat = await handle.stat();
      if (stat.isDirectory()) throw Object.assign(new Error(`EISDIR: ${filename}`), { code: 'EISDIR' });
      return stat.size;
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new InputError(`manifest file ${filename} ${fileReadProblem(err)}`);
  }
}

/** UTF-8 text of a byte stream, as Buffer.toString('utf8') of the whole would give it (a split character waits). */
async function* decoded(bytes: AsyncIterable<Buffer | string>, read?: (bytes: number) => void): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  for await (const chunk of bytes) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    read?.(buffer.length);
    yield decoder.write(buffer);
  }
  yield decoder.end();
}
