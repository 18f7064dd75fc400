/**
 * File-system helpers for the reload tests: the Kubernetes AtomicWriter's way of updating a ConfigMap/Secret volume (timestamped directory, `..data` symlink renamed over the old one).
 */
import { mkdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

let generation = 0;

/**
 * Write `files` into the volume directory `dir` like the kubelet does: a new `..<timestamp>` directory with the
 * files, a `..data_tmp` symlink to it renamed over `..data`, user-visible symlinks `name -> ..data/name` (created
 * once), and the previous timestamped directory removed.
 */
export async function atomicWriterUpdate(dir: string, files: Record<string, string>): Promise<void> {
  const stamp = `..2025_01_01_00_00_00.${process.pid}_${++generation}`;
  const stampDir = path.join(dir, stamp);
  await mkdir(stampDir, { recursive: true });
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(stampDir, name), content);
  let previous: string | undefined;
  try {
    previous = await readlink(path.join(dir, '..data'));
  } catch {
    previous = undefined;
  }
  await symlink(stamp, path.join(dir, '..data_tmp'));
  await rename(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  for (const name of Object.keys(files)) {
    try {
      await symlink(path.join('..data', name), path.join(dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  if (previous !== undefined) await rm(path.join(dir, previous), { recursive: true, force: true });
}

/** Replace `file` atomically (write a temporary file next to it, rename it over). */
export async function replaceFile(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${++generation}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, file);
}
