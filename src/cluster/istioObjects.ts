/**
 * `serve`'s configuration from the cluster: istiod's ConfigMaps (`istio-sidecar-injector`: keys `config` and
 * `values`; `istio`: key `mesh`) and the Kyma Istio custom resource, each one named object watched through
 * {@link ResilientInformer} (a list and watch with `fieldSelector=metadata.name=NAME`).
 *
 * - **Start** ({@link IstioObjects.start}): the objects are read before the configuration is loaded. A missing object
 *   or key, a refused permission (401/403) or a kind the cluster does not serve (404: the Kyma Istio CRD not
 *   installed) is a {@link ClusterInputError} at once, one line naming the object, the flag and what to do; an API
 *   server that cannot be reached is retried with backoff for `waitMs`, then the same error with the last reason.
 * - **Watch** ({@link IstioObjects.watch}): after each event the texts the loader reads are compared with the ones the
 *   configuration was last loaded from ({@link IstioObjects.merge} records them); only a change of those calls back
 *   (a resync, a relist after an outage, a label or status change do not). A deleted object or key is a change:
 *   `merge()` then throws, which the reload counts and logs as a failure, keeping the last good configuration.
 * - Losing the API server later changes nothing: the texts stay as last seen and the watch is retried.
 */
import { describeObject, KubeApiError, KYMA_ISTIO_API, namedObjectResource, type ClusterClient, type NamedObjectRef, type WatchedObject } from './client.js';
import { DEFAULT_RETRY, ResilientInformer, type ClusterLogger, type RetryOptions } from './resilientInformer.js';
import type { IstioInputs, TextSource } from '../config/istioInputs.js';
import type { LoadConfigOptions } from '../config/load.js';
import type { ConfigError } from '../config/types.js';

/** Which objects `serve` reads its configuration from (the flags that name them). */
export interface IstioObjectRefs {
  /** `--injector-configmap`: istiod's `istio-sidecar-injector` ConfigMap (keys `config` and `values`). */
  injector?: NamedObjectRef;
  /** `--mesh-configmap`: istiod's `istio` ConfigMap (key `mesh`). */
  mesh?: NamedObjectRef;
  /** `--istio-cr-resource`: the Kyma Istio custom resource. */
  istioResource?: NamedObjectRef;
}

/** The objects could not be read at start: one line for the operator (exit 1). */
export class ClusterInputError extends Error {
  override name = 'ClusterInputError';
}

/** How long start waits for an API server it cannot reach before giving up (serve then exits; its pod restarts). */
export const DEFAULT_READ_WAIT_MS = 10_000;

export interface IstioObjectsOptions {
  logger: ClusterLogger;
  retry?: RetryOptions;
  clock?: () => number;
}

/** One watched object: what it is for, and what the informer last saw of it. */
interface Entry {
  /** Which input it gives. */
  role: keyof IstioObjectRefs;
  ref: NamedObjectRef;
  flag: string;
  /** ConfigMap keys the loader reads (the custom resource: none, its spec is read). */
  keys: readonly string[];
  /** What the flag must name (for a ConfigMap without the keys). */
  expects: string;
  /** What to do when the object does not exist. */
  absentFix: string;
  /** The object as last seen; null: not there (never listed, or deleted). */
  object: WatchedObject | null;
  informer: ResilientInformer;
}

/** `--injector-configmap NS/NAME`, in the words of a message. */
const flagValue = (e: Entry) => `${e.flag} ${e.ref.namespace}/${e.ref.name}`;

/** See the module comment. */
export class IstioObjects {
  private readonly entries: Entry[] = [];
  /** The texts (or what is missing) the configuration was last loaded from, as compared text. */
  private handled: string | undefined;
  private listener: ((trigger: string) => void) | undefined;
  /** Set while start() waits: fail it at once (a refused permission, a kind the cluster does not serve). */
  private failStart: ((err: ClusterInputError) => void) | undefined;

  constructor(client: ClusterClient, refs: IstioObjectRefs, options: IstioObjectsOptions) {
    const add = (role: keyof IstioObjectRefs, flag: string, keys: readonly string[], expects: string, absentFix: string) => {
      const ref = refs[role];
      if (!ref) return;
      const what = describeObject(ref);
      // The handlers run once the informer has started, after `entry` is assigned.
      let entry: Entry;
      const informer = new ResilientInformer(
        client.informer(ref),
        {
          upsert: (o) => this.update(entry, o, 'changed'),
          remove: () => this.update(entry, null, 'deleted'),
          error: (err) => {
            if (this.failStart && isPermanent(err)) this.failStart(this.readError(entry, err));
          },
        },
        {
          logger: options.logger,
          retry: { ...DEFAULT_RETRY, ...options.retry },
          clock: options.clock ?? Date.now,
          fields: { object: what },
          messages: {
            failed: `configuration from the cluster: watching ${what} failed; the configuration loaded last stays in use and the watch is retried`,
            again: `configuration from the cluster: watching ${what} again`,
          },
        },
      );
      entry = { role, ref, flag, keys, expects, absentFix, object: null, informer };
      this.entries.push(entry);
    };
    const istiod = (flag: string) => `install Istio (istiod creates it), or name the one your istiod reads with ${flag} NAMESPACE/NAME`;
    add('injector', '--injector-configmap', ['config', 'values'], "istiod's sidecar injector ConfigMap (istio-sidecar-injector)", istiod('--injector-configmap'));
    add('mesh', '--mesh-configmap', ['mesh'], "istiod's mesh ConfigMap (istio)", istiod('--mesh-configmap'));
    add('istioResource', '--istio-cr-resource', [], 'the Kyma Istio custom resource', 'create the Kyma Istio custom resource, or name yours with --istio-cr-resource NAMESPACE/NAME');
  }

  /** `ConfigMap istio-system/istio`, ... (for the log). */
  get sources(): string[] {
    return this.entries.map((e) => describeObject(e.ref));
  }

  /**
   * Read every object (list, then keep watching). Resolves once all are listed and have what the loader needs;
   * throws a {@link ClusterInputError} otherwise (and stops watching).
   */
  async start(waitMs = DEFAULT_READ_WAIT_MS): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const outcome = new Promise<ClusterInputError | undefined>((resolve) => {
      this.failStart = resolve;
      // Not unref'd: while the API server cannot be reached nothing else keeps the process alive.
      timer = setTimeout(() => resolve(this.timeoutError(waitMs)), waitMs);
      void Promise.all(this.entries.map((e) => e.informer.whenSynced())).then(() => resolve(undefined));
      for (const e of this.entries) e.informer.start();
    });
    let failure: ClusterInputError | undefined;
    try {
      failure = await outcome;
      if (!failure) {
        // Listed: an object that is not there is missing, a ConfigMap without a key is not the one asked for.
        const missing = this.entries.map((e) => this.missing(e, 'start')).find((m) => m !== undefined);
        if (missing) failure = new ClusterInputError(missing);
      }
    } finally {
      clearTimeout(timer);
      this.failStart = undefined;
    }
    if (failure) {
      await this.stop();
      throw failure;
    }
  }

  /**
   * `load` with the objects' texts as they are now (`istio.injector`, `istio.values`, `istio.mesh`,
   * `istioCustomResource`; the other inputs of `load` kept); records them as handled (the configuration about to be
   * loaded is made of them). Throws a {@link ClusterInputError} naming the object and key when one is missing (a
   * deleted ConfigMap or key).
   */
  merge(load: LoadConfigOptions): LoadConfigOptions {
    this.handled = this.fingerprint();
    const missing = this.entries.map((e) => this.missing(e, 'watch')).find((m) => m !== undefined);
    if (missing) throw new ClusterInputError(missing);
    const istio: IstioInputs = { ...load.istio };
    const out: LoadConfigOptions = { ...load };
    for (const e of this.entries) {
      const text = (key: string): TextSource => ({ origin: `${describeObject(e.ref)}, key ${key}`, text: e.object?.data?.[key] as string });
      if (e.role === 'injector') {
        istio.injector = text('config');
        istio.values = text('values');
      } else if (e.role === 'mesh') {
        istio.mesh = text('mesh');
      } else {
        out.istioCustomResource = { origin: describeObject(e.ref), text: resourceText(e.object!) };
      }
    }
    if (Object.keys(istio).length > 0) out.istio = istio;
    return out;
  }

  /**
   * From now on call `onChange` after each change of what {@link merge} would give, and once at once when it changed
   * since it was last called. Returns the function that stops the calls.
   */
  watch(onChange: (trigger: string) => void): () => void {
    this.listener = onChange;
    if (this.handled !== undefined && this.fingerprint() !== this.handled) onChange('changed while serve was starting');
    return () => {
      if (this.listener === onChange) this.listener = undefined;
    };
  }

  /**
   * A configuration error at start (the loader refused what was read), with what to do when it is about one of the
   * objects: the loader names a ConfigMap by its origin (`ConfigMap ns/name, key k`), the resource by its key path
   * (`istioCustomResource.spec...`) or its origin.
   */
  startProblem(err: ConfigError): string {
    const { message } = err;
    // The resource given with a profile other than kyma-module: the profile is what to change, not the resource.
    if (err.path === 'istioCustomResource' && message.includes('applies only to the kyma-module profile')) return message;
    const e = this.entries.find((entry) =>
      entry.keys.length > 0 ? message.includes(`${describeObject(entry.ref)}, key `) : message.includes(describeObject(entry.ref)) || /\bistioCustomResource\b/.test(message),
    );
    if (!e) return message;
    return `${message}; fix ${describeObject(e.ref)} in the cluster (serve reads it at start and follows its changes), or name another with ${e.flag}`;
  }

  async stop(): Promise<void> {
    this.listener = undefined;
    await Promise.all(this.entries.map((e) => e.informer.stop()));
  }

  private update(entry: Entry, object: WatchedObject | null, how: 'changed' | 'deleted'): void {
    entry.object = object;
    if (!this.listener || this.handled === undefined || this.fingerprint() === this.handled) return;
    const rv = object?.metadata?.resourceVersion;
    this.listener(`${describeObject(entry.ref)} ${how}${rv !== undefined ? ` (resourceVersion ${rv})` : ''}`);
  }

  /** What the loader would read, with what is missing, as one comparable text. */
  private fingerprint(): string {
    return JSON.stringify(
      this.entries.map((e) => {
        if (!e.object) return null;
        if (e.keys.length === 0) return resourceText(e.object);
        return e.keys.map((k) => (e.object?.data && Object.hasOwn(e.object.data, k) ? e.object.data[k] : null));
      }),
    );
  }

  /** Why the entry cannot be loaded, or undefined. */
  private missing(e: Entry, when: 'start' | 'watch'): string | undefined {
    const what = `${describeObject(e.ref)} (${e.flag})`;
    if (!e.object) {
      return when === 'start' ? `${what} does not exist: ${e.absentFix}` : `${what} was deleted; the last good configuration stays until it is back`;
    }
    const data = e.object.data ?? {};
    const absent = e.keys.filter((k) => !Object.hasOwn(data, k) || typeof data[k] !== 'string');
    if (absent.length === 0) return undefined;
    const keys = `key${absent.length > 1 ? 's' : ''} ${absent.join(' and ')}`;
    return when === 'start'
      ? `${what} has no ${keys}: ${e.flag} must name ${e.expects}, which has keys ${e.keys.join(' and ')}`
      : `${what} lost its ${keys}; the last good configuration stays until ${absent.length > 1 ? 'they are' : 'it is'} back`;
  }

  private readError(e: Entry, err: unknown): ClusterInputError {
    const reason = err instanceof Error ? err.message : String(err);
    const prefix = `cannot read ${describeObject(e.ref)} (${flagValue(e)})`;
    if (err instanceof KubeApiError && err.status === 404 && e.ref.kind === 'Istio') {
      return new ClusterInputError(
        `${prefix}: the cluster does not serve ${namedObjectResource(e.ref).resource} (${reason}): install the Kyma Istio module, or drop ${e.flag}`,
      );
    }
    return new ClusterInputError(`${prefix}: ${reason}`);
  }

  private timeoutError(waitMs: number): ClusterInputError {
    const waiting = this.entries.filter((e) => !e.informer.state.synced);
    const e = waiting[0] ?? this.entries[0]!;
    const last = e.informer.state.lastError?.message ?? 'no answer';
    return new ClusterInputError(
      `cannot read ${describeObject(e.ref)} (${flagValue(e)}) within ${waitMs / 1000}s: ${last}; serve needs it to load its configuration: check that the API server is reachable (--kubeconfig, or the pod's network)`,
    );
  }
}

/** Refused permissions and kinds the cluster does not serve: retrying will not help. */
function isPermanent(err: unknown): boolean {
  return err instanceof KubeApiError && (err.status === 401 || err.status === 403 || err.status === 404);
}

/**
 * The Kyma Istio resource as the loader reads it: kind, apiVersion, name and spec. Status and the other metadata
 * change without changing the configuration (the module's reconciler updates them), so they are left out; kind and
 * apiVersion are the watched ones (list items carry neither, watch events both).
 */
function resourceText(o: WatchedObject): string {
  const { group, version } = KYMA_ISTIO_API;
  return JSON.stringify({
    apiVersion: `${group}/${version}`,
    kind: 'Istio',
    metadata: { name: o.metadata?.name, namespace: o.metadata?.namespace },
    ...(o.spec !== undefined ? { spec: o.spec } : {}),
  });
}
