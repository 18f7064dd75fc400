import { readFile, writeFile } from 'node:fs/promises';
import { loadConfig } from '../config/load.js';
import { createInjector } from '../inject/index.js';
import { injectManifests } from '../workloads/kubeInject.js';
import type { InjectArgs } from './args.js';
import { InputError } from './errors.js';

/** `mesh-webhook inject`: manifests in (file or stdin), injected manifests out (stdout or -o), warnings to stderr. */
export async function runInject(args: InjectArgs): Promise<void> {
  const injector = createInjector(loadConfig(args.config));
  const input = await readManifests(args.filename);
  const { output, warnings } = injectManifests(input, injector);
  for (const warning of warnings) process.stderr.write(`${warning}\n`);
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

/** The manifest text of `-f FILE` (`-` for stdin); a missing or unreadable file is an {@link InputError}. */
export async function readManifests(filename: string): Promise<string> {
  if (filename === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(filename, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new InputError(`manifest file ${filename} ${reason}`);
  }
}
