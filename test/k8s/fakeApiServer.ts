/**
 * A test double of the Kubernetes API server on loopback: the few resources mesh-webhook uses, with the semantics
 * client-node and our code depend on (checked against @kubernetes/client-node 2.x's requests):
 *
 * - one global, monotonically increasing resourceVersion (like etcd's revision), `metadata.uid`,
 *   `creationTimestamp`; list metadata carries the current resourceVersion; list items omit kind/apiVersion;
 * - errors are `Status` objects with the API server's reasons and codes: 404 NotFound, 409 AlreadyExists on create,
 *   409 Conflict on a stale resourceVersion (PUT, or a PATCH that sets one), 422 for a failed JSON Patch `test`,
 *   400 BadRequest, 401 Unauthorized (with a token configured), 405, 415;
 * - watches (`?watch=true`) stream newline-delimited events; `resourceVersion` N replays the events after N, an
 *   absent or "0" one starts with synthetic ADDED events; a compacted N gets an ERROR event with a 410 Expired
 *   Status (what client-node's ListWatch turns into a relist); `timeoutSeconds` ends the stream;
 *   `allowWatchBookmarks` gets BOOKMARK events; `labelSelector` and `fieldSelector` (metadata.name/namespace);
 * - Secrets: `stringData` folded into `data`, `data` must be base64, type defaults to Opaque and is immutable;
 *   Namespaces get the `kubernetes.io/metadata.name` label; namespaced objects need their namespace to exist;
 * - PATCH with `application/json-patch+json` and `application/merge-patch+json` (strategic merge: 415);
 * - the Kyma Istio custom resource (`operator.kyma-project.io/v1alpha2` istios, namespaced), as its CRD serves it;
 * - Pods, and the workloads that own them (apps/v1 Deployments, ReplicaSets, DaemonSets, StatefulSets; batch/v1 Jobs,
 *   CronJobs): the workloads get `metadata.generation` 1 at creation, bumped by every write that changes `spec` (as
 *   their registry strategies do; `status` is whatever the test applies: no controller runs);
 * - list pagination: `limit` returns at most that many items (in namespace/name order) and an opaque
 *   `metadata.continue` token while more remain (with `remainingItemCount`); `continue` resumes after the last item
 *   returned; a malformed token is 400, one from before a `compact()` is 410 Expired.
 *
 * - Pods POSTed after `admitPods()` go through the stored MutatingWebhookConfigurations as the API server would
 *   (test/k8s/mutatingAdmission.ts: selectors, HTTPS to the Service's endpoint set with `setEndpoint`, caBundle,
 *   failurePolicy), and `webhookCalls` records what each call did.
 *
 * Test controls: {@link FakeApiServer.apply}/`remove` (emit watch events), `injectConflicts` (the next N writes of an
 * object fail with 409 as if another writer had just changed it: its resourceVersion moves on), `failNext` (answer
 * matching requests with an error status), `deny` (a missing RBAC permission: 403 Forbidden in the API server's
 * words for a verb on a resource), `down()`/`up()` (close every socket and refuse connections, then listen on
 * the same port again; the stored state survives, as etcd would), `compact()`, and `requests` (every request:
 * method, path, query) so tests can assert what was, or was not, asked.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import jsonpatch from 'fast-json-patch';
import { AdmissionRefusal, admitPodCreate, type WebhookCall, type WebhookConfiguration } from './mutatingAdmission.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; labels?: Record<string, string>; [k: string]: unknown };
  [key: string]: unknown;
};

interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  /** metadata.generation is kept (1 at creation, +1 on each change of spec). */
  generation?: boolean;
}

const RESOURCE_TYPES: readonly ResourceType[] = [
  { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false },
  { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false },
  { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true },
  { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true },
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true },
  { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true, generation: true },
  { group: 'apps', version: 'v1', plural: 'replicasets', kind: 'ReplicaSet', namespaced: true, generation: true },
  { group: 'apps', version: 'v1', plural: 'daemonsets', kind: 'DaemonSet', namespaced: true, generation: true },
  { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', namespaced: true, generation: true },
  { group: 'batch', version: 'v1', plural: 'jobs', kind: 'Job', namespaced: true, generation: true },
  { group: 'batch', version: 'v1', plural: 'cronjobs', kind: 'CronJob', namespaced: true, generation: true },
  // The Kyma Istio module's custom resource (kyma-project/istio api/v1alpha2), served as its CRD makes the API server do.
  { group: 'operator.kyma-project.io', version: 'v1alpha2', plural: 'istios', kind: 'Istio', namespaced: true, generation: true },
  {
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    plural: 'mutatingwebhookconfigurations',
    kind: 'MutatingWebhookConfiguration',
    namespaced: false,
  },
  {
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    plural: 'validatingwebhookconfigurations',
    kind: 'ValidatingWebhookConfiguration',
    namespaced: false,
  },
];

export type Plural =
  | 'namespaces'
  | 'nodes'
  | 'secrets'
  | 'configmaps'
  | 'istios'
  | 'mutatingwebhookconfigurations'
  | 'validatingwebhookconfigurations'
  | 'pods'
  | 'deployments'
  | 'replicasets'
  | 'daemonsets'
  | 'statefulsets'
  | 'jobs'
  | 'cronjobs';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  /** Sequence number over the server's life. */
  seq: number;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

interface HistoryEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  plural: string;
  namespace: string;
  rv: number;
  object: KubeObject;
}

interface Watcher {
  type: ResourceType;
  namespace: string | undefined;
  matches: (obj: KubeObject) => boolean;
  res: http.ServerResponse;
  bookmarks: boolean;
  timers: NodeJS.Timeout[];
}

/** The RBAC verb of a request (what the authoriser checks). */
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

/** A permission the service account lacks: requests with this verb on this resource (in this namespace) get 403. */
export interface Denial {
  verb: Verb;
  plural: Plural;
  /** Absent: in every namespace (and cluster-scoped). */
  namespace?: string;
}

interface FailRule {
  method?: string;
  path?: string | RegExp;
  status: number;
  remaining: number;
}

export interface FakeApiServerOptions {
  /** Serve HTTPS with this certificate (the kubeconfig then carries `ca`); default plain HTTP. */
  tls?: { cert: string; key: string; ca: string };
  /** Require `Authorization: Bearer <token>` (401 otherwise). */
  token?: string;
  /** Interval of BOOKMARK events on watches that allow them; default 1000 ms. */
  bookmarkIntervalMs?: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

function statusBody(code: number, reason: string, message: string, details?: Record<string, unknown>): KubeObject & Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {} as KubeObject['metadata'],
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

const clone = <T>(v: T): T => structuredClone(v);

function groupPrefix(t: ResourceType): string {
  return t.group === '' ? `/api/${t.version}` : `/apis/${t.group}/${t.version}`;
}

function apiVersionOf(t: ResourceType): string {
  return t.group === '' ? t.version : `${t.group}/${t.version}`;
}

/** `k8s` label selectors: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x,y)`. */
export function parseLabelSelector(text: string): (labels: Record<string, string> | undefined) => boolean {
  const tests: ((l: Record<string, string>) => boolean)[] = [];
  // Split on commas outside parentheses.
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  for (const raw of parts) {
    const p = raw.trim();
    if (p === '') continue;
    let m: RegExpExecArray | null;
    if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p))) {
      const [, key, op, list] = m as unknown as [string, string, string, string];
      const values = list.split(',').map((s) => s.trim());
      tests.push(op === 'in' ? (l) => key in l && values.includes(l[key] as string) : (l) => !(key in l) || !values.includes(l[key] as string));
    } else if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(p))) {
      const [, key, op, value] = m as unknown as [string, string, string, string];
      tests.push(op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value);
    } else if ((m = /^!([\w./-]+)$/.exec(p))) {
      const key = m[1] as string;
      tests.push((l) => !(key in l));
    } else if (/^[\w./-]+$/.test(p)) {
      tests.push((l) => p in l);
    } else {
      throw new HttpError(400, 'BadRequest', `unable to parse requirement: invalid label selector "${text}"`);
    }
  }
  return (labels) => tests.every((t) => t(labels ?? {}));
}

function parseFieldSelector(text: string): (obj: KubeObject) => boolean {
  const tests: ((o: KubeObject) => boolean)[] = [];
  for (const raw of text.split(',')) {
    const p = raw.trim();
    if (p === '') continue;
    const m = /^(metadata\.name|metadata\.namespace)\s*(==|=|!=)\s*(.*)$/.exec(p);
    if (!m) throw new HttpError(400, 'BadRequest', `field label not supported: ${p}`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    const get = (o: KubeObject) => (field === 'metadata.name' ? o.metadata.name : (o.metadata.namespace ?? ''));
    tests.push(op === '!=' ? (o) => get(o) !== value : (o) => get(o) === value);
  }
  return (o) => tests.every((t) => t(o));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7386 JSON Merge Patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export class FakeApiServer {
  /** Every request received, in order. */
  readonly requests: RecordedRequest[] = [];
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly store = new Map<string, KubeObject>();
  private readonly history: HistoryEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly conflicts = new Map<string, number>();
  private readonly failRules: FailRule[] = [];
  private readonly denials: Denial[] = [];
  private rv = 1000;
  private compactedRv = 0;
  /** Pod admission through the mutating webhooks (admitPods): Service `namespace/name` → loopback port. */
  private admission: Map<string, number> | undefined;
  /** What each webhook call did, in order (admitPods). */
  readonly webhookCalls: WebhookCall[] = [];
  private seq = 0;
  private listening = false;
  private boundPort = 0;

  private constructor(private readonly options: FakeApiServerOptions) {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.sendError(res, new HttpError(500, 'InternalError', `test double failed: ${String(err)}`));
        else res.destroy();
      });
    };
    this.server = options.tls ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, handler) : http.createServer(handler);
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /** Start on 127.0.0.1 and a free port. */
  static async start(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    const s = new FakeApiServer(options);
    await s.up();
    return s;
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `${this.options.tls ? 'https' : 'http'}://127.0.0.1:${this.boundPort}`;
  }

  /** The current (latest) resourceVersion. */
  get resourceVersion(): string {
    return String(this.rv);
  }

  /** Open watch streams, optionally only those of one resource. */
  activeWatches(plural?: Plural): number {
    let n = 0;
    for (const w of this.watchers) if (plural === undefined || w.type.plural === plural) n += 1;
    return n;
  }

  /** Requests other than watches (the ones a request path must never cause). */
  nonWatchRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.query.watch !== 'true' && r.query.watch !== '1');
  }

  /** A kubeconfig (JSON, which is YAML) for this server; namespace goes into the context. */
  kubeconfig(namespace = 'default'): string {
    const cluster: Record<string, unknown> = { server: this.url };
    if (this.options.tls) cluster['certificate-authority-data'] = Buffer.from(this.options.tls.ca).toString('base64');
    else cluster['insecure-skip-tls-verify'] = true;
    return JSON.stringify(
      {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'fake', cluster }],
        users: [{ name: 'fake', user: this.options.token ? { token: this.options.token } : {} }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake', namespace } }],
        'current-context': 'fake',
      },
      null,
      2,
    );
  }

  /** Write {@link kubeconfig} to `dir/kubeconfig` and return its path. */
  async writeKubeconfig(dir: string, namespace?: string): Promise<string> {
    const file = path.join(dir, 'kubeconfig');
    await writeFile(file, this.kubeconfig(namespace));
    return file;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Test controls

  /** Create or replace an object (as another client would), emitting ADDED or MODIFIED. Returns the stored copy. */
  apply(plural: Plural, obj: KubeObject): KubeObject {
    const type = this.typeOf(plural);
    const ns = type.namespaced ? (obj.metadata.namespace ?? 'default') : undefined;
    const key = this.key(type, ns, obj.metadata.name);
    const existing = this.store.get(key);
    const next = this.normalise(type, clone(obj), ns);
    if (existing) {
      next.metadata.uid = existing.metadata.uid;
      next.metadata.creationTimestamp = existing.metadata.creationTimestamp;
    }
    this.setGeneration(type, next, existing);
    return clone(this.commit(type, key, next, existing ? 'MODIFIED' : 'ADDED'));
  }

  /** Delete an object, emitting DELETED; false when it did not exist. */
  remove(plural: Plural, name: string, namespace?: string): boolean {
    const type = this.typeOf(plural);
    const key = this.key(type, type.namespaced ? (namespace ?? 'default') : undefined, name);
    const existing = this.store.get(key);
    if (!existing) return false;
    this.deleteKey(type, key, existing);
    return true;
  }

  /** A copy of a stored object. */
  get(plural: Plural, name: string, namespace?: string): KubeObject | undefined {
    const type = this.typeOf(plural);
    const obj = this.store.get(this.key(type, type.namespaced ? (namespace ?? 'default') : undefined, name));
    return obj ? clone(obj) : undefined;
  }

  /** The next `count` updates (PUT or PATCH) of the object fail with 409 Conflict, each after bumping the
   * object's resourceVersion (a MODIFIED event with unchanged content), as when another writer got there first. */
  injectConflicts(plural: Plural, name: string, count: number, namespace?: string): void {
    const type = this.typeOf(plural);
    this.conflicts.set(this.key(type, type.namespaced ? (namespace ?? 'default') : undefined, name), count);
  }

  /** Answer the next `count` requests matching method/path (substring or RegExp) with `status`. */
  failNext(match: { method?: string; path?: string | RegExp }, count: number, status = 500): void {
    this.failRules.push({ ...match, status, remaining: count });
  }

  /**
   * Take a permission away, as a missing RBAC rule would: matching requests get the API server's 403 Forbidden Status
   * (`configmaps "x" is forbidden: User "..." cannot get resource "configmaps" in API group "" in the namespace "y"`).
   */
  deny(denial: Denial): void {
    this.denials.push(denial);
  }

  /** Give every permission back. */
  allowAll(): void {
    this.denials.length = 0;
  }

  /**
   * From now on, a Pod POSTed to the double goes through the MutatingWebhookConfigurations it stores, as the API
   * server would (test/k8s/mutatingAdmission.ts). Services have no endpoints until {@link setEndpoint} gives them one.
   */
  admitPods(): void {
    this.admission ??= new Map();
  }

  /** The loopback port that serves Service `namespace/name` (its ready endpoint); undefined: none (pods not ready). */
  setEndpoint(namespace: string, name: string, port: number | undefined): void {
    this.admitPods();
    if (port === undefined) this.admission!.delete(`${namespace}/${name}`);
    else this.admission!.set(`${namespace}/${name}`, port);
  }

  private async admitPod(namespace: string, body: unknown): Promise<unknown> {
    if (!this.admission || !isPlainObject(body) || !isPlainObject(body.metadata)) return body;
    const routes = this.admission;
    const configurations = this.objectsOf(this.typeOf('mutatingwebhookconfigurations'), undefined) as unknown as WebhookConfiguration[];
    const ns = this.store.get(this.key(this.typeOf('namespaces'), undefined, namespace));
    try {
      const { pod, calls } = await admitPodCreate({
        configurations: clone(configurations),
        namespace,
        namespaceLabels: ns?.metadata.labels ?? {},
        pod: clone(body) as KubeObject,
        endpoint: (n, name) => routes.get(`${n}/${name}`),
      });
      this.webhookCalls.push(...calls);
      return pod;
    } catch (err) {
      if (err instanceof AdmissionRefusal) throw new HttpError(err.status, err.reason, err.message);
      throw err;
    }
  }

  /** Forget the event history: watches from an older resourceVersion get 410 Expired. */
  compact(): void {
    this.history.length = 0;
    this.compactedRv = this.rv;
  }

  /** Send a BOOKMARK now on every watch that allows them. */
  sendBookmarks(): void {
    for (const w of this.watchers) if (w.bookmarks) this.writeEvent(w, 'BOOKMARK', this.bookmarkObject(w.type));
  }

  /** End every open watch stream normally (as the API server does at its request timeout). */
  endWatches(): void {
    for (const w of [...this.watchers]) this.endWatch(w);
  }

  /** Go down: stop listening (new connections are refused) and destroy every open connection, watches included. */
  async down(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    for (const w of [...this.watchers]) {
      this.clearWatch(w);
      w.res.destroy();
    }
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.server.closeAllConnections();
    await closed;
  }

  /** Come back on the same port (the first call picks a free one). */
  async up(): Promise<void> {
    if (this.listening) return;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.boundPort, '127.0.0.1', () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.boundPort = (this.server.address() as AddressInfo).port;
    this.listening = true;
  }

  async close(): Promise<void> {
    await this.down();
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Store

  private typeOf(plural: string): ResourceType {
    const t = RESOURCE_TYPES.find((r) => r.plural === plural);
    if (!t) throw new Error(`the test double does not know resource ${plural}`);
    return t;
  }

  private key(type: ResourceType, ns: string | undefined, name: string): string {
    return `${type.plural}/${ns ?? ''}/${name}`;
  }

  /** Defaults and validation every write gets (what the API server's strategies do). */
  private normalise(type: ResourceType, obj: KubeObject, ns: string | undefined): KubeObject {
    obj.apiVersion = apiVersionOf(type);
    obj.kind = type.kind;
    if (!isPlainObject(obj.metadata)) throw new HttpError(400, 'BadRequest', 'metadata is required');
    if (type.namespaced) obj.metadata.namespace = ns;
    else delete obj.metadata.namespace;
    if (type.plural === 'namespaces') {
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name };
      obj.status ??= { phase: 'Active' };
    }
    if (type.plural === 'secrets') {
      obj.type ??= 'Opaque';
      const data: Record<string, string> = { ...((obj.data as Record<string, string> | undefined) ?? {}) };
      for (const [k, v] of Object.entries(data)) {
        if (typeof v !== 'string' || !BASE64.test(v)) {
          throw new HttpError(400, 'BadRequest', `Secret in version "v1" cannot be handled as a Secret: illegal base64 data at key ${JSON.stringify(k)}`);
        }
      }
      for (const [k, v] of Object.entries((obj.stringData as Record<string, string> | undefined) ?? {})) {
        data[k] = Buffer.from(String(v)).toString('base64');
      }
      delete obj.stringData;
      obj.data = data;
    }
    return obj;
  }

  private commit(type: ResourceType, key: string, obj: KubeObject, event: 'ADDED' | 'MODIFIED'): KubeObject {
    this.rv += 1;
    obj.metadata.resourceVersion = String(this.rv);
    obj.metadata.uid ??= randomUUID();
    obj.metadata.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    this.store.set(key, obj);
    this.emit(type, event, obj);
    return obj;
  }

  private deleteKey(type: ResourceType, key: string, existing: KubeObject): KubeObject {
    this.store.delete(key);
    this.rv += 1;
    const gone = clone(existing);
    gone.metadata.resourceVersion = String(this.rv);
    this.emit(type, 'DELETED', gone);
    return gone;
  }

  private emit(type: ResourceType, event: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject): void {
    const e: HistoryEvent = { type: event, plural: type.plural, namespace: obj.metadata.namespace ?? '', rv: this.rv, object: clone(obj) };
    this.history.push(e);
    for (const w of this.watchers) {
      if (w.type.plural !== type.plural) continue;
      if (w.namespace !== undefined && w.namespace !== e.namespace) continue;
      if (w.matches(obj)) this.writeEvent(w, event, e.object);
    }
  }

  /** Consume one injected conflict for `key`, if any: bump the object and throw 409. */
  private takeConflict(type: ResourceType, key: string, name: string): void {
    const n = this.conflicts.get(key) ?? 0;
    if (n <= 0) return;
    this.conflicts.set(key, n - 1);
    const existing = this.store.get(key);
    if (existing) this.commit(type, key, existing, 'MODIFIED');
    throw this.conflictError(type, name);
  }

  private conflictError(type: ResourceType, name: string): HttpError {
    return new HttpError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${type.plural}${type.group ? '.' + type.group : ''} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      { name, ...(type.group ? { group: type.group } : {}), kind: type.plural },
    );
  }

  private notFound(type: ResourceType, name: string): HttpError {
    return new HttpError(404, 'NotFound', `${type.plural}${type.group ? '.' + type.group : ''} "${name}" not found`, {
      name,
      ...(type.group ? { group: type.group } : {}),
      kind: type.plural,
    });
  }

  // ---------------------------------------------------------------------------------------------------------------
  // HTTP

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams.entries());
    const method = (req.method ?? 'GET').toUpperCase();
    const contentType = req.headers['content-type'];
    this.seq += 1;
    this.requests.push({ method, path: url.pathname, query, ...(contentType ? { contentType } : {}), seq: this.seq });
    const body = await readBody(req);
    try {
      if (this.options.token !== undefined && req.headers.authorization !== `Bearer ${this.options.token}`) {
        throw new HttpError(401, 'Unauthorized', 'Unauthorized');
      }
      for (const rule of this.failRules) {
        if (rule.remaining <= 0) continue;
        if (rule.method !== undefined && rule.method.toUpperCase() !== method) continue;
        if (rule.path !== undefined && !(typeof rule.path === 'string' ? url.pathname.includes(rule.path) : rule.path.test(url.pathname))) continue;
        rule.remaining -= 1;
        throw new HttpError(rule.status, rule.status === 503 ? 'ServiceUnavailable' : 'InternalError', `injected failure (${rule.status})`);
      }
      const route = this.route(url.pathname);
      if (!route) throw new HttpError(404, 'NotFound', 'the server could not find the requested resource');
      const { type, namespace, name } = route;
      this.authorize(method, query, type, namespace, name);
      if (type.namespaced && namespace !== undefined && method !== 'GET' && !this.store.has(this.key(this.typeOf('namespaces'), undefined, namespace))) {
        throw new HttpError(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
      }
      if (name === undefined) {
        if (method === 'GET' && (query.watch === 'true' || query.watch === '1')) return this.watch(type, namespace, query, res);
        if (method === 'GET') return this.send(res, 200, this.list(type, namespace, query));
        if (method === 'POST') {
          const object = type.plural === 'pods' && namespace !== undefined ? await this.admitPod(namespace, parseJson(body, contentType)) : parseJson(body, contentType);
          return this.send(res, 201, this.create(type, namespace, object));
        }
        throw new HttpError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
      }
      const key = this.key(type, namespace, name);
      switch (method) {
        case 'GET': {
          const obj = this.store.get(key);
          if (!obj) throw this.notFound(type, name);
          return this.send(res, 200, obj);
        }
        case 'PUT':
          return this.send(res, 200, this.replace(type, namespace, name, parseJson(body, contentType)));
        case 'PATCH':
          return this.send(res, 200, this.patch(type, namespace, name, body, contentType));
        case 'DELETE': {
          const obj = this.store.get(key);
          if (!obj) throw this.notFound(type, name);
          return this.send(res, 200, this.deleteKey(type, key, obj));
        }
        default:
          throw new HttpError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
      }
    } catch (err) {
      if (err instanceof HttpError) return this.sendError(res, err);
      throw err;
    }
  }

  /** 403 for a request a {@link deny} rule matches, in the API server's words. */
  private authorize(method: string, query: Record<string, string>, type: ResourceType, namespace: string | undefined, name: string | undefined): void {
    const watching = query.watch === 'true' || query.watch === '1';
    const verbs: Record<string, Verb> = { GET: name === undefined ? (watching ? 'watch' : 'list') : 'get', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
    const verb = verbs[method];
    const denied = this.denials.some(
      (d) => d.verb === verb && d.plural === type.plural && (d.namespace === undefined || d.namespace === namespace),
    );
    if (!denied || verb === undefined) return;
    const subject = `${type.plural}${name !== undefined ? ` "${name}"` : ''}`;
    const where = namespace !== undefined ? ` in the namespace "${namespace}"` : ' at the cluster scope';
    throw new HttpError(
      403,
      'Forbidden',
      `${subject} is forbidden: User "system:serviceaccount:mesh-webhook:mesh-webhook" cannot ${verb} resource "${type.plural}" in API group "${type.group}"${where}`,
      { ...(name !== undefined ? { name } : {}), ...(type.group ? { group: type.group } : {}), kind: type.plural },
    );
  }

  private route(pathname: string): { type: ResourceType; namespace?: string; name?: string } | undefined {
    for (const type of RESOURCE_TYPES) {
      const prefix = groupPrefix(type);
      if (!pathname.startsWith(prefix + '/')) continue;
      const rest = pathname.slice(prefix.length + 1).split('/').map(decodeURIComponent);
      if (type.namespaced) {
        if (rest[0] === 'namespaces' && rest.length >= 3 && rest[2] === type.plural && rest.length <= 4) {
          return { type, namespace: rest[1] as string, ...(rest[3] !== undefined ? { name: rest[3] } : {}) };
        }
        if (rest[0] === type.plural && rest.length === 1) return { type };
      } else if (rest[0] === type.plural && rest.length <= 2) {
        return { type, ...(rest[1] !== undefined ? { name: rest[1] } : {}) };
      }
    }
    return undefined;
  }

  private selector(query: Record<string, string>): (o: KubeObject) => boolean {
    const labels = query.labelSelector ? parseLabelSelector(query.labelSelector) : () => true;
    const fields = query.fieldSelector ? parseFieldSelector(query.fieldSelector) : () => true;
    return (o) => labels(o.metadata.labels) && fields(o);
  }

  private objectsOf(type: ResourceType, namespace: string | undefined): KubeObject[] {
    const out: KubeObject[] = [];
    for (const obj of this.store.values()) {
      if (obj.kind !== type.kind) continue;
      if (namespace !== undefined && obj.metadata.namespace !== namespace) continue;
      out.push(obj);
    }
    return out.sort((a, b) => `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name}`));
  }

  private list(type: ResourceType, namespace: string | undefined, query: Record<string, string>): unknown {
    const matches = this.selector(query);
    const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    let all = this.objectsOf(type, namespace).filter(matches);
    if (query.continue) {
      let token: { rv?: unknown; after?: unknown };
      try {
        token = JSON.parse(Buffer.from(query.continue, 'base64url').toString('utf8')) as { rv?: unknown; after?: unknown };
      } catch {
        throw new HttpError(400, 'BadRequest', 'continue key is not valid: illegal base64 data');
      }
      if (typeof token.rv !== 'number' || typeof token.after !== 'string') throw new HttpError(400, 'BadRequest', 'continue key is not valid');
      if (token.rv < this.compactedRv) {
        throw new HttpError(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
      }
      const after = token.after;
      all = all.filter((o) => keyOf(o) > after);
    }
    const limit = query.limit !== undefined && /^\d+$/.test(query.limit) && Number(query.limit) > 0 ? Number(query.limit) : undefined;
    const page = limit !== undefined ? all.slice(0, limit) : all;
    const more = limit !== undefined && all.length > limit;
    const items = page.map((o) => {
      const { apiVersion: _a, kind: _k, ...rest } = o;
      return rest;
    });
    const metadata: Record<string, unknown> = { resourceVersion: String(this.rv) };
    if (more) {
      metadata.continue = Buffer.from(JSON.stringify({ rv: this.rv, after: keyOf(page[page.length - 1]!) })).toString('base64url');
      metadata.remainingItemCount = all.length - page.length;
    }
    return { kind: `${type.kind}List`, apiVersion: apiVersionOf(type), metadata, items };
  }

  private create(type: ResourceType, namespace: string | undefined, body: unknown): KubeObject {
    if (!isPlainObject(body) || !isPlainObject(body.metadata)) throw new HttpError(400, 'BadRequest', 'the body must be an object with metadata');
    const obj = clone(body) as KubeObject;
    const name = obj.metadata.name;
    if (typeof name !== 'string' || name === '') {
      throw new HttpError(422, 'Invalid', `${type.kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
    }
    if (type.namespaced && obj.metadata.namespace !== undefined && obj.metadata.namespace !== namespace) {
      throw new HttpError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    }
    if (obj.metadata.resourceVersion) throw new HttpError(400, 'BadRequest', 'resourceVersion should not be set on objects to be created');
    const key = this.key(type, namespace, name);
    if (this.store.has(key)) {
      throw new HttpError(409, 'AlreadyExists', `${type.plural}${type.group ? '.' + type.group : ''} "${name}" already exists`, {
        name,
        ...(type.group ? { group: type.group } : {}),
        kind: type.plural,
      });
    }
    delete obj.metadata.uid;
    delete obj.metadata.creationTimestamp;
    const created = this.normalise(type, obj, namespace);
    this.setGeneration(type, created, undefined);
    return this.commit(type, key, created, 'ADDED');
  }

  private replace(type: ResourceType, namespace: string | undefined, name: string, body: unknown): KubeObject {
    if (!isPlainObject(body) || !isPlainObject(body.metadata)) throw new HttpError(400, 'BadRequest', 'the body must be an object with metadata');
    const obj = clone(body) as KubeObject;
    if (obj.metadata.name !== name) throw new HttpError(400, 'BadRequest', 'the name of the object does not match the name on the URL');
    if (type.namespaced && obj.metadata.namespace !== undefined && obj.metadata.namespace !== namespace) {
      throw new HttpError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    }
    const key = this.key(type, namespace, name);
    const existing = this.store.get(key);
    if (!existing) throw this.notFound(type, name);
    this.takeConflict(type, key, name);
    return this.update(type, key, name, existing, obj);
  }

  /** The update every PUT and PATCH ends in: optimistic concurrency on a given resourceVersion, immutable fields. */
  private update(type: ResourceType, key: string, name: string, existing: KubeObject, obj: KubeObject): KubeObject {
    const given = obj.metadata.resourceVersion;
    if (given !== undefined && given !== '' && given !== existing.metadata.resourceVersion) throw this.conflictError(type, name);
    if (obj.metadata.uid !== undefined && obj.metadata.uid !== existing.metadata.uid) {
      throw new HttpError(409, 'Conflict', `Precondition failed: UID in precondition: ${String(obj.metadata.uid)}, UID in object meta: ${String(existing.metadata.uid)}`);
    }
    const next = this.normalise(type, obj, existing.metadata.namespace);
    if (type.plural === 'secrets' && next.type !== existing.type) {
      throw new HttpError(422, 'Invalid', `Secret "${name}" is invalid: type: Invalid value: "${String(next.type)}": field is immutable`);
    }
    next.metadata.uid = existing.metadata.uid;
    next.metadata.creationTimestamp = existing.metadata.creationTimestamp;
    this.setGeneration(type, next, existing);
    return this.commit(type, key, next, 'MODIFIED');
  }

  /** Workloads: generation 1 when created, +1 when `spec` changes, else unchanged (whatever the writer sent). */
  private setGeneration(type: ResourceType, next: KubeObject, existing: KubeObject | undefined): void {
    if (!type.generation) return;
    if (!existing) {
      next.metadata.generation = 1;
      return;
    }
    const previous = typeof existing.metadata.generation === 'number' ? existing.metadata.generation : 1;
    next.metadata.generation = JSON.stringify(existing.spec) === JSON.stringify(next.spec) ? previous : previous + 1;
  }

  private patch(type: ResourceType, namespace: string | undefined, name: string, body: string, contentType: string | undefined): KubeObject {
    const key = this.key(type, namespace, name);
    const existing = this.store.get(key);
    if (!existing) throw this.notFound(type, name);
    const ct = (contentType ?? '').split(';')[0]?.trim();
    let patched: unknown;
    if (ct === 'application/json-patch+json') {
      const ops = parseJson(body, 'application/json');
      if (!Array.isArray(ops)) throw new HttpError(400, 'BadRequest', 'a JSON Patch must be an array of operations');
      try {
        patched = jsonpatch.applyPatch(clone(existing), ops as jsonpatch.Operation[], true, false).newDocument;
      } catch (err) {
        const e = err as { name?: string; message?: string };
        const decode = ['OPERATION_NOT_AN_OBJECT', 'OPERATION_OP_INVALID', 'OPERATION_PATH_INVALID', 'SEQUENCE_NOT_AN_ARRAY'].includes(e.name ?? '');
        throw new HttpError(decode ? 400 : 422, decode ? 'BadRequest' : 'Invalid', String(e.message ?? err).split('\n')[0] ?? 'invalid patch');
      }
    } else if (ct === 'application/merge-patch+json') {
      patched = mergePatch(existing, parseJson(body, 'application/json'));
    } else {
      throw new HttpError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json (strategic merge patch is not implemented by the test double)`);
    }
    const obj = patched as KubeObject;
    if (!isPlainObject(obj) || !isPlainObject(obj.metadata) || obj.metadata.name !== name) {
      throw new HttpError(422, 'Invalid', `${type.kind} "${name}" is invalid: metadata.name: Invalid value: the name cannot change`);
    }
    this.takeConflict(type, key, name);
    return this.update(type, key, name, existing, obj);
  }

  private watch(type: ResourceType, namespace: string | undefined, query: Record<string, string>, res: http.ServerResponse): void {
    const matches = this.selector(query);
    const rvText = query.resourceVersion ?? '';
    if (rvText !== '' && !/^\d+$/.test(rvText)) throw new HttpError(400, 'BadRequest', `invalid resource version: ${rvText}`);
    const w: Watcher = { type, namespace, matches, res, bookmarks: query.allowWatchBookmarks === 'true', timers: [] };
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'cache-control': 'no-cache, private' });
    res.flushHeaders();
    const from = rvText === '' ? 0 : Number(rvText);
    if (from === 0) {
      for (const obj of this.objectsOf(type, namespace)) if (matches(obj)) this.writeEvent(w, 'ADDED', obj);
    } else if (from < this.compactedRv) {
      this.writeEvent(w, 'ERROR', statusBody(410, 'Expired', `too old resource version: ${from} (${this.compactedRv})`));
      res.end();
      return;
    } else {
      for (const e of this.history) {
        if (e.rv <= from || e.plural !== type.plural) continue;
        if (namespace !== undefined && e.namespace !== namespace) continue;
        if (matches(e.object)) this.writeEvent(w, e.type, e.object);
      }
    }
    this.watchers.add(w);
    res.on('close', () => this.clearWatch(w));
    if (query.timeoutSeconds !== undefined) {
      const s = Number(query.timeoutSeconds);
      if (Number.isFinite(s) && s >= 0) w.timers.push(setTimeout(() => this.endWatch(w), s * 1000));
    }
    if (w.bookmarks) {
      w.timers.push(setInterval(() => this.writeEvent(w, 'BOOKMARK', this.bookmarkObject(type)), this.options.bookmarkIntervalMs ?? 1000));
    }
  }

  private bookmarkObject(type: ResourceType): KubeObject {
    return { kind: type.kind, apiVersion: apiVersionOf(type), metadata: { name: '', resourceVersion: String(this.rv) } };
  }

  private writeEvent(w: Watcher, type: WatchEventType, object: unknown): void {
    if (!w.res.writableEnded) w.res.write(JSON.stringify({ type, object }) + '\n');
  }

  private clearWatch(w: Watcher): void {
    for (const t of w.timers) clearTimeout(t);
    w.timers.length = 0;
    this.watchers.delete(w);
  }

  private endWatch(w: Watcher): void {
    this.clearWatch(w);
    w.res.end();
  }

  private send(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private sendError(res: http.ServerResponse, err: HttpError): void {
    this.send(res, err.status, statusBody(err.status, err.reason, err.message, err.details));
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(body: string, contentType: string | undefined): unknown {
  const ct = (contentType ?? '').split(';')[0]?.trim();
  if (ct !== 'application/json') {
    throw new HttpError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json`);
  }
  try {
    return JSON.parse(body);
  } catch (err) {
    throw new HttpError(400, 'BadRequest', `the body is not JSON: ${(err as Error).message}`);
  }
}
