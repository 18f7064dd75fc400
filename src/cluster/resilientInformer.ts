/**
 * One informer (a list, then a watch: {@link ObjectInformer}) restarted with exponential backoff after every error,
 * feeding handlers. What the cache of namespaces and nodes (src/cluster/cache.ts) and the watches of single named
 * objects (serve's configuration from the cluster, src/cluster/istioObjects.ts) are built on.
 *
 * After an error the informer resumes the watch from its last resourceVersion, or lists again when that is too old
 * (client-node's ListWatch; a relist reports the objects gone meanwhile as deletions). The first failure after working
 * is logged as a warning, the retries while the API server stays away at debug level, the recovery at info.
 */
import type { Logger } from 'pino';
import type { ObjectInformer, WatchedObject } from './client.js';

export type ClusterLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface RetryOptions {
  /** First delay after an error; default 1 s. */
  initialMs?: number;
  /** Delays double up to this; default 30 s. */
  maxMs?: number;
}

export const DEFAULT_RETRY: Required<RetryOptions> = { initialMs: 1000, maxMs: 30_000 };

export interface InformerState {
  /** Listed at least once (the map holds the cluster's content as of then, kept up to date by the watch). */
  synced: boolean;
  /** Watching now: no error since the last successful (re)start. */
  connected: boolean;
  /** Last time data came from the API server (a list, or a watch event). */
  lastSyncTime: number | undefined;
  lastError: { message: string; time: number } | undefined;
  /** Restarts after errors. */
  restarts: number;
}

export interface InformerHandlers {
  upsert: (obj: WatchedObject) => void;
  remove: (obj: WatchedObject) => void;
  /** Every error, before the restart is scheduled (the informer's own KubeApiError, or what the client threw). */
  error?: (err: unknown) => void;
}

export interface ResilientInformerOptions {
  logger: ClusterLogger;
  retry: Required<RetryOptions>;
  clock: () => number;
  /** Fields of every log line (`{resource: 'nodes'}`, `{object: 'ConfigMap istio-system/istio'}`). */
  fields: Record<string, string>;
  /** The log messages: after a failure (what is kept meanwhile), and once watching again. */
  messages: { failed: string; again: string };
}

/** One informer, restarted with backoff after errors, feeding handlers. */
export class ResilientInformer {
  readonly state: InformerState = { synced: false, connected: false, lastSyncTime: undefined, lastError: undefined, restarts: 0 };
  private delayMs: number;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failedSinceStart = false;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly informer: ObjectInformer,
    private readonly handlers: InformerHandlers,
    private readonly opts: ResilientInformerOptions,
  ) {
    this.delayMs = opts.retry.initialMs;
    const touch = () => {
      this.state.lastSyncTime = opts.clock();
    };
    informer.on('add', (o) => {
      handlers.upsert(o);
      touch();
    });
    informer.on('update', (o) => {
      handlers.upsert(o);
      touch();
    });
    informer.on('delete', (o) => {
      handlers.remove(o);
      touch();
    });
    informer.on('error', (err) => this.onError(err));
  }

  /** Resolves once listed, or at stop. */
  whenSynced(): Promise<void> {
    if (this.state.synced || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  start(): void {
    this.stopped = false;
    void this.run();
  }

  private async run(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    this.failedSinceStart = false;
    try {
      await this.informer.start();
    } catch (err) {
      this.onError(err);
      return;
    }
    if (this.failedSinceStart || this.stopped) return;
    const wasConnected = this.state.connected;
    this.state.connected = true;
    this.state.synced = true;
    this.state.lastSyncTime = this.opts.clock();
    this.delayMs = this.opts.retry.initialMs;
    if (!wasConnected && this.state.restarts > 0) this.opts.logger.info({ ...this.opts.fields }, this.opts.messages.again);
    for (const w of this.waiters.splice(0)) w();
  }

  private onError(err: unknown): void {
    this.failedSinceStart = true;
    if (this.stopped) return;
    const message = err instanceof Error ? err.message : String(err);
    const wasConnected = this.state.connected || this.state.restarts === 0;
    this.state.connected = false;
    this.state.lastError = { message, time: this.opts.clock() };
    this.handlers.error?.(err);
    if (this.timer !== undefined || this.stopped) return; // a restart is already scheduled (or the handler stopped it)
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, this.opts.retry.maxMs);
    // The first failure after working is a warning; the retries while the API stays away are debug noise.
    const log = wasConnected ? this.opts.logger.warn.bind(this.opts.logger) : this.opts.logger.debug.bind(this.opts.logger);
    log({ ...this.opts.fields, err: message, retryInMs: delay }, this.opts.messages.failed);
    this.state.restarts += 1;
    this.timer = setTimeout(() => void this.run(), delay);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.state.connected = false;
    for (const w of this.waiters.splice(0)) w();
    await this.informer.stop();
  }
}
