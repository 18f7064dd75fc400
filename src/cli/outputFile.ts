/**
 * Output written as it is made, but shown only when the whole run succeeds (`inject`: on an error nothing is
 * printed and `-o FILE` is left as it was): it goes to a temporary file in os.tmpdir() (TMPDIR), copied to stdout
 * or to FILE at the end, and always removed. Copying rather than renaming writes FILE as writeFile did: through a
 * symlink, keeping its mode, onto a device or pipe, across file systems.
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { InputError } from './errors.js';

export interface PendingOutput {
  write(text: string): Promise<void>;
  /** Copies what was written to stdout (no `target`) or to `target`, then removes the temporary file. */
  commit(): Promise<void>;
  /** Removes the temporary file. */
  discard(): Promise<void>;
}

export async function pendingOutput(target: string | undefined): Promise<PendingOutput> {
  const dir = await mkdtemp(join(tmpdir(), 'mesh-webhook-out-'));
  const file = join(dir, 'output.yaml');
  const stream: WriteStream = createWriteStream(file);
  let failed: Error | undefined;
  stream.on('error', (err) => {
    failed = err;
  });
  const closed = async (): Promise<void> => {
    if (!stream.closed) await new Promise<void>((resolve) => stream.end(resolve));
    if (failed) throw new InputError(`cannot write the output (temporary file in ${tmpdir()}): ${failed.message}`);
  };
  const remove = () => rm(dir, { recursive: true, force: true });
  return {
    async write(text) {
      if (failed) await closed();
      if (!stream.write(text)) await Promise.race([once(stream, 'drain'), once(stream, 'close')]);
    },
    async commit() {
      try {
        await closed();
        if (target === undefined) {
          for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
            if (!process.stdout.write(chunk as Buffer)) await once(process.stdout, 'drain');
          }
          return;
        }
        try {
          await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), createWriteStream(target));
        } catch (err) {
          throw new InputError(`cannot write ${target}: ${(err as Error).message}`);
        }
      } finally {
        await remove();
      }
    },
    async discard() {
      stream.destroy();
      await remove();
    },
  };
}
