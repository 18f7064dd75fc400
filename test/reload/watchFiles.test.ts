/**
 * watchFiles(): every way a mounted file changes reaches onChange exactly once per new content; no-ops do not.
 */
import { mkdir, mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { snapshotFiles, watchFiles, type FileSnapshot, type FileWatcher } from '../../src/reload/watchFiles.js';
import { waitFor } from '../helpers/wait.js';
import { atomicWriterUpdate, replaceFile } from './fsutil.js';

let dir: string;
let watcher: FileWatcher | undefined;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-watch-'));
});
afterEach(async () => {
  watcher?.close();
  watcher = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** Start a watcher that records the contents of every onChange call. */
async function watch(files: string[], baseline?: string): Promise<{ seen: string[][]; w: FileWatcher }> {
  const seen: string[][] = [];
  const w = watchFiles({
    files,
    debounceMs: 20,
    pollIntervalMs: 0,
    onChange: (s: FileSnapshot) => {
      seen.push(s.files.map((f) => f.content?.toString('utf8') ?? `<${f.error?.code}>`));
    },
    ...(baseline !== undefined ? { baseline } : {}),
  });
  watcher = w;
  await w.ready;
  return { seen, w };
}

describe('watchFiles', () => {
  test('a file written in place (truncate and write, as editors do)', async () => {
    const file = path.join(dir, 'config.yaml');
    await writeFile(file, 'a: 1\n');
    const { seen } = await watch([file]);
    await writeFile(file, 'a: 2\n');
    await waitFor('the change', () => seen.length > 0);
    expect(seen).toEqual([['a: 2\n']]);
  });

  test('a file replaced by rename', async () => {
    const file = path.join(dir, 'config.yaml');
    await writeFile(file, 'a: 1\n');
    const { seen } = await watch([file]);
    await replaceFile(file, 'a: 2\n');
    await waitFor('the change', () => seen.length > 0);
    expect(seen).toEqual([['a: 2\n']]);
  });

  test('a ConfigMap volume: the ..data symlink swapped by the kubelet', async () => {
    await atomicWriterUpdate(dir, { 'config.yaml': 'a: 1\n', 'other.yaml': 'x\n' });
    const file = path.join(dir, 'config.yaml');
    const { seen } = await watch([file]);
    await atomicWriterUpdate(dir, { 'config.yaml': 'a: 2\n', 'other.yaml': 'x\n' });
    await waitFor('the first change', () => seen.length > 0);
    await atomicWriterUpdate(dir, { 'config.yaml': 'a: 3\n', 'other.yaml': 'x\n' });
    await waitFor('the second change', () => seen.length > 1);
    expect(seen).toEqual([['a: 2\n'], ['a: 3\n']]);
  });

  test('a symlink retargeted to another file of the directory', async () => {
    await writeFile(path.join(dir, 'v1.yaml'), 'a: 1\n');
    await writeFile(path.join(dir, 'v2.yaml'), 'a: 2\n');
    const file = path.join(dir, 'config.yaml');
    await symlink('v1.yaml', file);
    const { seen } = await watch([file]);
    await unlink(file);
    await symlink('v2.yaml', file);
    await waitFor('the change', () => seen.length > 0);
    expect(seen.at(-1)).toEqual(['a: 2\n']);
  });

  test('the same content written again, or another file of the directory changing, is not a change', async () => {
    const file = path.join(dir, 'config.yaml');
    await writeFile(file, 'a: 1\n');
    const { seen, w } = await watch([file]);
    let before = w.checks;
    await writeFile(file, 'a: 1\n');
    await waitFor('a check after the rewrite', () => w.checks > before);
    before = w.checks;
    await writeFile(path.join(dir, 'unrelated.txt'), 'noise');
    await waitFor('a check after the unrelated write', () => w.checks > before);
    expect(seen).toEqual([]);
  });

  test('a burst of writes is one change with the final content', async () => {
    const file = path.join(dir, 'config.yaml');
    await writeFile(file, 'a: 0\n');
    const { seen } = await watch([file]);
    for (let i = 1; i <= 20; i++) writeFileSync(file, `a: ${i}\n`);
    await waitFor('the change', () => seen.length > 0);
    expect(seen).toEqual([['a: 20\n']]);
  });

  test('several files: one snapshot of all of them; a missing file is reported, its creation is a change', async () => {
    const a = path.join(dir, 'tls.crt');
    const b = path.join(dir, 'tls.key');
    await writeFile(a, 'cert-1');
    const { seen } = await watch([a, b]);
    await writeFile(b, 'key-1');
    await waitFor('the key file', () => seen.length > 0);
    await unlink(a);
    await waitFor('the removal', () => seen.length > 1);
    expect(seen).toEqual([
      ['cert-1', 'key-1'],
      ['<ENOENT>', 'key-1'],
    ]);
  });

  test('a baseline taken before the caller loaded: a change before the watch started is not missed', async () => {
    const file = path.join(dir, 'config.yaml');
    await writeFile(file, 'a: 1\n');
    const { hash } = await snapshotFiles([file]);
    await writeFile(file, 'a: 2\n'); // changed after the caller's load, before the watch
    const { seen } = await watch([file], hash);
    expect(seen).toEqual([['a: 2\n']]);
  });

  test('after close() nothing is called', async () => {
    const file = path.join(dir, 'config.yaml');
    await writeFile(file, 'a: 1\n');
    const { seen, w } = await watch([file]);
    w.close();
    await writeFile(file, 'a: 2\n');
    await w.check();
    expect(seen).toEqual([]);
  });

  test('a periodic check finds changes without file events (directory not watchable)', async () => {
    // A file in a directory that does not exist yet: the watch cannot be set up, the poll still sees the file.
    const sub = path.join(dir, 'later');
    const file = path.join(sub, 'config.yaml');
    const seen: string[] = [];
    const w = watchFiles({
      files: [file],
      pollIntervalMs: 20,
      onChange: (s) => {
        seen.push(s.files[0]?.content?.toString('utf8') ?? '<missing>');
      },
      logger: { warn: () => {}, debug: () => {} },
    });
    watcher = w;
    await w.ready;
    await mkdir(sub);
    await writeFile(file, 'a: 1\n');
    await waitFor('the poll to find the file', () => seen.length > 0);
    expect(seen[0]).toBe('a: 1\n');
  });
});
