/**
 * The {@link ClusterView} the injector reads: namespace labels, node kubelet versions and capacities, kept in memory by two
 * informers (list, then watch). Answers are map look-ups: never an API call on the request path.
 *
 * Losing the API server never blocks or fails admission: the maps keep their last known content, each informer that
 * reported an error is restarted with exponential backoff (it resumes the watch from its last resourceVersion, or
 * lists again when that is too old), and the state ({@link ClusterCacheState}) says how fresh the data is.
 */
import type { ClusterClient, WatchedResource } from './client.js';
import { clusterSizeOf, nodeCapacity, type NodeCapacity } from '../config/kymaModule.js';
import type { ClusterSize } from '../config/types.js';
import { DEFAULT_RETRY, ResilientInformer, type ClusterLogger, type InformerHandlers, type InformerState, type RetryOptions } from './resilientInformer.js';
import { NATIVE_SIDECAR_MIN_MINOR, kubeletMinor, type ClusterView } from './view.js';

export type { ClusterLogger, InformerState, RetryOptions } from './resilientInformer.js';

export interface ClusterCacheOptions {
  logger: ClusterLogger;
  retry?: RetryOptions;
  clock?: () => number;
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
    const retry = { initialMs: options.retry?.initialMs ?? DEFAULT_RETRY.initialMs, maxMs: options.retry?.maxMs ?? DEFAULT_RETRY.maxMs };
    const informer = (resource: WatchedResource, handlers: InformerHandlers) =>
      new ResilientInformer(client.informer(resource), handlers, {
        logger: options.logger,
        retry,
        clock: options.clock ?? Date.now,
        fields: { resource },
        messages: {
          failed: `cluster cache: ${resource} informer failed; admission keeps using the last known ${resource} (or the configuration when none is known) and the watch is retried`,
          again: `cluster cache: watching ${resource} again`,
        },
      });
    this.informers = {
      namespaces: informer('namespaces', {
        upsert: (o) => {
          const name = o.metadata?.name;
          if (name) this.labels.set(name, Object.freeze({ ...(o.metadata?.labels ?? {}) }));
        },
        remove: (o) => {
          const name = o.metadata?.name;
          if (name) this.labels.delete(name);
        },
      }),
      nodes: informer('nodes', {
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
      }),
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
