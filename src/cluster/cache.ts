/**
 * The {@link ClusterView} the injector reads: namespace labels, node kubelet versions and capacities, kept in memory by two
 * informers (list, then watch). Answers are map look-ups: never an API call on the request path.
 *
 * Losing the API server never blocks or fails admission: the maps keep their last known content, each informer that
 * reported an error is restarted with exponential backoff (it resumes the watch from its last resourceVersion, or
 * lists again when that is too old), and the state ({@link ClusterCacheState}) says how fresh the data is.
 */
import type { Logger } from 'pino';
import type { ClusterClient, ObjectInformer, WatchedObject, WatchedResource } from './client.js';
import { clusterSizeOf, nodeCapacity, type NodeCapacity } from '../config/kymaModule.js';
import type { ClusterSize } from '../config/types.js';
import { NATIVE_SIDECAR_MIN_MINOR, kubeletMinor, type ClusterView } from './view.js';

export type ClusterLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface RetryOptions {
  /** First delay after an error; default 1 s. */
  initialMs?: number;
  /** Delays double up to this; default 30 s. */
  maxMs?: number;
}

export interface ClusterCacheOptions {
  logger: ClusterLogger;
  retry?: RetryOptions;
  clock?: () => number;
}

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

export interface ClusterCacheState {
  /** Both informers have listed at least once. */
  synced: boolean;
  /** Both informers are watching. */
  connected: boolean;
  /** The older of the two informers' last sync times. */
  lastSyncTime: number | undefined;
  /** The most recent error of either informer. */
  lastError: { message: string; time: number } | undefined;
  namespaces: number;
  nodes: number;
  informers: Record<WatchedResource, InformerState>;
}

/** One informer, restarted with backoff after errors, feeding a handler. */
class ResilientInformer {
  readonly state: InformerState = { synced: false, connected: false, lastSyncTime: undefined, lastError: undefined, restarts: 0 };
  private readonly informer: ObjectInformer;
  private delayMs: number;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failedSinceStart = false;
  private waiters: (() => void)[] = [];

  constructor(
    client: ClusterClient,
    readonly resource: WatchedResource,
    handlers: { upsert: (obj: WatchedObject) => void; remove: (obj: WatchedObject) => void },
    private readonly opts: { logger: ClusterLogger; retry: Required<RetryOptions>; clock: () => number },
  ) {
    this.delayMs = opts.retry.initialMs;
    this.informer = client.informer(resource);
    const touch = () => {
      this.state.lastSyncTime = opts.clock();
    };
    this.informer.on('add', (o) => {
      handlers.upsert(o);
      touch();
    });
    this.informer.on('update', (o) => {
      handlers.upsert(o);
      touch();
    });
    this.informer.on('delete', (o) => {
      handlers.remove(o);
      touch();
    });
    this.informer.on('error', (err) => this.onError(err));
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
    if (!wasConnected && this.state.restarts > 0) this.opts.logger.info({ resource: this.resource }, `cluster cache: watching ${this.resource} again`);
    for (const w of this.waiters.splice(0)) w();
  }

  private onError(err: unknown): void {
    this.failedSinceStart = true;
    if (this.stopped) return;
    const message = err instanceof Error ? err.message : String(err);
    const wasConnected = this.state.connected || this.state.restarts === 0;
    this.state.connected = false;
    this.state.lastError = { message, time: this.opts.clock() };
    if (this.timer !== undefined) return; // a restart is already scheduled
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, this.opts.retry.maxMs);
    // The first failure after working is a warning; the retries while the API stays away are debug noise.
    const log = wasConnected ? this.opts.logger.warn.bind(this.opts.logger) : this.opts.logger.debug.bind(this.opts.logger);
    log(
      { resource: this.resource, err: message, retryInMs: delay },
      `cluster cache: ${this.resource} informer failed; admission keeps using the last known ${this.resource} (or the configuration when none is known) and the watch is retried`,
    );
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

/** Namespace labels and node versions from informers; see the module comment. */
export class ClusterCache implements ClusterView {
  private readonly labels = new Map<string, Readonly<Record<string, string>>>();
  /** Kubelet minor by node name; undefined when the version is unreadable. */
  private readonly nodeMinors = new Map<string, number | undefined>();
  /** Capacity (cpu, memory) by node name: the quantities that parse. */
  private readonly nodeCapacities = new Map<string, NodeCapacity>();
  /** nativeSidecarsSupported() without a node, recomputed on node changes: every request is a plain read. */
  private allNodesNative: boolean | undefined = undefined;
  /** clusterSize(), recomputed on node changes. */
  private size: ClusterSize | undefined = undefined;
  private readonly informers: Record<WatchedResource, ResilientInformer>;
  private started = false;

  constructor(client: ClusterClient, options: ClusterCacheOptions) {
    const opts = {
      logger: options.logger,
      retry: { initialMs: options.retry?.initialMs ?? 1000, maxMs: options.retry?.maxMs ?? 30_000 },
      clock: options.clock ?? Date.now,
    };
    this.informers = {
      namespaces: new ResilientInformer(
        client,
        'namespaces',
        {
          upsert: (o) => {
            const name = o.metadata?.name;
            if (name) this.labels.set(name, Object.freeze({ ...(o.metadata?.labels ?? {}) }));
          },
          remove: (o) => {
            const name = o.metadata?.name;
            if (name) this.labels.delete(name);
          },
        },
        opts,
      ),
      nodes: new ResilientInformer(
        client,
        'nodes',
        {
          upsert: (o) => {
            const name = o.metadata?.name;
            if (!name) return;
            this.nodeMinors.set(name, kubeletMinor(o.status?.nodeInfo?.kubeletVersion));
            this.nodeCapacities.set(name, nodeCapacity(o.status?.capacity));
            this.recomputeNodes();
          },
          remove: (o) => {
            const name = o.metadata?.name;
            if (name && this.nodeMinors.delete(name)) {
              this.nodeCapacities.delete(name);
              this.recomputeNodes();
            }
          },
        },
        opts,
      ),
    };
  }

  /** Start both informers (returns at once; see {@link waitForSync}). Idempotent. */
  start(): this {
    if (this.started) return this;
    this.started = true;
    this.informers.namespaces.start();
    this.informers.nodes.start();
    return this;
  }

  /**
   * Resolves true once both informers have listed, or false after `timeoutMs` (the cache keeps trying in the
   * background; until then the injector falls back to its configuration).
   */
  async waitForSync(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const synced = Promise.all([this.informers.namespaces.whenSynced(), this.informers.nodes.whenSynced()]).then(() => this.state().synced);
    try {
      return await Promise.race([synced, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    await Promise.all([this.informers.namespaces.stop(), this.informers.nodes.stop()]);
  }

  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined {
    return this.labels.get(namespace);
  }

  /**
   * The node's kubelet is 1.33+ (when the node is known), else every known node's is. A node whose version cannot
   * be read counts as too old: a classic sidecar works everywhere, a native one only where the kubelet supports it.
   */
  nativeSidecarsSupported(nodeName?: string): boolean | undefined {
    if (nodeName !== undefined && this.nodeMinors.has(nodeName)) {
      const minor = this.nodeMinors.get(nodeName);
      return minor !== undefined && minor >= NATIVE_SIDECAR_MIN_MINOR;
    }
    return this.allNodesNative;
  }

  /** The Kyma Istio module's cluster size from every known node's capacity; undefined when no node is known. */
  clusterSize(): ClusterSize | undefined {
    return this.size;
  }

  private recomputeNodes(): void {
    if (this.nodeMinors.size === 0) {
      this.allNodesNative = undefined;
      this.size = undefined;
      return;
    }
    this.size = clusterSizeOf(this.nodeCapacities.values());
    let all = true;
    for (const minor of this.nodeMinors.values()) {
      if (minor === undefined || minor < NATIVE_SIDECAR_MIN_MINOR) {
        all = false;
        break;
      }
    }
    this.allNodesNative = all;
  }

  /** For readiness and metrics. */
  state(): ClusterCacheState {
    const ns = this.informers.namespaces.state;
    const nodes = this.informers.nodes.state;
    const errors = [ns.lastError, nodes.lastError].filter((e): e is NonNullable<typeof e> => e !== undefined);
    return {
      synced: ns.synced && nodes.synced,
      connected: ns.connected && nodes.connected,
      lastSyncTime: ns.lastSyncTime === undefined || nodes.lastSyncTime === undefined ? undefined : Math.min(ns.lastSyncTime, nodes.lastSyncTime),
      lastError: errors.sort((a, b) => b.time - a.time)[0],
      namespaces: this.labels.size,
      nodes: this.nodeMinors.size,
      informers: { namespaces: { ...ns }, nodes: { ...nodes } },
    };
  }
}
