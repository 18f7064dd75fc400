/**
 * Watching a few files for content changes, the way Kubernetes volumes change them.
 *
 * A ConfigMap or Secret volume holds `config.yaml -> ..data/config.yaml` and `..data -> ..2025_01_01_00_00_00.123`;
 * the kubelet writes a new timestamped directory and renames a new `..data` symlink over the old one, so the file
 * itself is never written and an inotify watch on it (or on its resolved target) sees nothing useful. Editors and
 * `kubectl cp`-style tools on the other hand write the file in place (truncate, then write) or write a temporary
 * file and rename it over the original.
 *
 * All of these are seen by watching the file's *directory* (`fs.watch`, non-recursive): any event there (whatever
 * its file name: a symlink may point at another file of the directory) starts a debounce timer, and when it fires
 * the files are read (symlinks followed) and hashed. Only a content hash different from the last one handled calls
 * `onChange`, so the kubelet's several renames, editors' temporary files, and changes of other files in the
 * directory cost one read and no reload. A safety-net poll re-checks periodically (missed events, a watch that could
 * not be set up, e.g. when inotify watches are exhausted).
 *
 * Checks never overlap: an event during a check queues one more check. After `onChange` the files are hashed again,
 * and if they changed meanwhile another check follows, so a consumer that reads the files itself (the config loader
 * does) cannot stay on content it read half-written.
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** Default quiet time after the last file event before the files are read. */
export const DEFAULT_DEBOUNCE_MS = 100;
/** Default interval of the safety-net poll. */
export const DEFAULT_POLL_INTERVAL_MS = 60_000;

export interface SnapshotFile {
  /** The path as given (not resolved). */
  path: string;
  /** The content, when the file could be read. */
  content?: Buffer;
  /** Why it could not be read (ENOENT while a writer replaces it, EACCES, EISDIR, ...). */
  error?: NodeJS.ErrnoException;
}

export interface FileSnapshot {
  /** One entry per watched path, in the order given. */
  files: readonly SnapshotFile[];
  /** sha256 (hex) over the paths and contents (or read error codes); equal hashes mean equal contents. */
  hash: string;
}

/** Minimal logger (pino's Logger fits). */
export interface WatchLogger {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** Read the files (following symlinks) and hash them together. Never throws: unreadable files are recorded. */
export async function snapshotFiles(paths: readonly string[]): Promise<FileSnapshot> {
  const files = await Promise.all(
    paths.map(async (p): Promise<SnapshotFile> => {
      try {
        return { path: p, content: await readFile(p) };
      } catch (err) {
        return { path: p, error: err as NodeJS.ErrnoException };
      }
    }),
  );
  const hash = createHash('sha256');
  for (const f of files) {
    hash.update(`${f.path.length}:${f.path}\0`);
    if (f.content !== undefined) hash.update(`ok ${f.content.length}:`).update(f.content);
    else hash.update(`error ${f.error?.code ?? 'unknown'}`);
    hash.update('\0');
  }
  return { files, hash: hash.digest('hex') };
}

export interface WatchFilesOptions {
  /** Files to watch (their directories are watched). */
  files: readonly string[];
  /**
   * Called after a change, with the new contents. Calls never overlap. A throw is logged; the content is still
   * considered handled (the same content does not call again).
   */
  onChange: (snapshot: FileSnapshot) => void | Promise<void>;
  /**
   * Hash (from {@link snapshotFiles}) of the contents the caller already uses, taken *before* it read them: the first
   * check compares with it, so a change between the caller's load and the watch is not missed. Absent: the first
   * read is the baseline and does not call `onChange`.
   */
  baseline?: string;
  /** Quiet time after the last event before reading; default {@link DEFAULT_DEBOUNCE_MS}. */
  debounceMs?: number;
  /** Safety-net poll interval; default {@link DEFAULT_POLL_INTERVAL_MS}; 0 turns it off. */
  pollIntervalMs?: number;
  logger?: WatchLogger;
}

export interface FileWatcher {
  /** Resolves when the directory watches are set up and the first check (baseline) is done. */
  readonly ready: Promise<void>;
  /** Check the files now; resolves when this check (and its `onChange`, if any) is done. */
  check(): Promise<void>;
  /** How many checks (reads of the files) have completed, whether or not they found a change. */
  readonly checks: number;
  /** Stop watching; pending timers are cancelled and no `onChange` starts afterwards. Idempotent. */
  close(): void;
}

/** Watch `files` for content changes (see the module comment). */
export function watchFiles(opts: WatchFilesOptions): FileWatcher {
  const files = [...opts.files];
  const debounceMs = opts.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  // Writers that never pause must not postpone the reload for ever.
  const maxWaitMs = Math.max(debounceMs * 10, 1_000);
  const pollIntervalMs = opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const logger = opts.logger;
  const dirs = [...new Set(files.map((f) => path.dirname(path.resolve(f))))];
  const watchers = new Map<string, FSWatcher>();
  const failedDirs = new Set<string>();

  let closed = false;
  let lastHash = opts.baseline;
  let timer: NodeJS.Timeout | undefined;
  let firstEventAt = 0;
  let checks = 0;

  const ensureWatches = () => {
    for (const dir of dirs) {
      if (closed || watchers.has(dir)) continue;
      try {
        // Not persistent: a forgotten watcher must not keep the process alive (the server does that).
        const w = watch(dir, { persistent: false }, () => schedule());
        w.on('error', (err) => {
          logger?.warn({ err, dir }, 'file watch failed; relying on the periodic check until it can be set up again');
          w.close();
          if (watchers.get(dir) === w) watchers.delete(dir);
          schedule();
        });
        watchers.set(dir, w);
        failedDirs.delete(dir);
      } catch (err) {
        if (!failedDirs.has(dir)) {
          failedDirs.add(dir);
          logger?.warn({ err, dir }, 'cannot watch directory; relying on the periodic check');
        }
      }
    }
  };

  function schedule(): void {
    if (closed) return;
    const now = Date.now();
    if (timer === undefined) firstEventAt = now;
    else clearTimeout(timer);
    const wait = Math.max(0, Math.min(debounceMs, firstEventAt + maxWaitMs - now));
    timer = setTimeout(() => {
      timer = undefined;
      void check();
    }, wait);
  }

  async function runOnce(): Promise<void> {
    if (closed) return;
    const snapshot = await snapshotFiles(files);
    if (closed) return;
    if (lastHash === undefined || snapshot.hash === lastHash) {
      lastHash = snapshot.hash;
      checks += 1;
      return;
    }
    logger?.debug({ files, hash: snapshot.hash }, 'watched files changed');
    try {
      await opts.onChange(snapshot);
    } catch (err) {
      logger?.warn({ err, files }, 'handling a file change failed');
    }
    lastHash = snapshot.hash;
    // The consumer may have read the files itself; if they changed since our read, look again.
    const after = await snapshotFiles(files);
    checks += 1;
    if (after.hash !== snapshot.hash) schedule();
  }

  let current: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  function check(): Promise<void> {
    if (queued) return queued;
    if (!current) {
      current = runOnce().finally(() => {
        current = undefined;
      });
      return current;
    }
    queued = current.then(() => {
      queued = undefined;
      return check();
    });
    return queued;
  }

  ensureWatches();
  const ready = check();
  const poll =
    pollIntervalMs > 0
      ? setInterval(() => {
          ensureWatches();
          void check();
        }, pollIntervalMs).unref()
      : undefined;

  return {
    ready,
    check,
    get checks() {
      return checks;
    },
    close() {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      if (poll !== undefined) clearInterval(poll);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
