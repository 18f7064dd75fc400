/**
 * The one place that talks to the Kubernetes API, through @kubernetes/client-node, behind a small interface
 * ({@link ClusterClient}) that the cache and the certificate manager use (and tests can fake).
 *
 * client-node costs ~70 MB and ~1 s to import, so it is imported lazily, inside {@link connectCluster} (and
 * {@link loadCliKubeConfig} for `mesh-webhook outdated`), and only when a cluster is configured; everything else uses
 * `import type`. Nothing else in the program may import it eagerly.
 */
import { existsSync, readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import type * as k8s from '@kubernetes/client-node';

/** Where the kubelet mounts the service account (token, ca.crt, namespace). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Every API call (not watches) is abandoned after this long, so a hung API server cannot stall a loop. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

export interface ObjectMeta {
  name: string;
  namespace?: string;
  resourceVersion?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface SecretObject {
  metadata: ObjectMeta;
  type?: string;
  /** base64 values, as the API carries them. */
  data?: Record<string, string>;
}

export type WebhookKind = 'mutating' | 'validating';

export interface WebhookConfigurationObject {
  metadata: ObjectMeta;
  /** In order (JSON Patch paths index into this list). */
  webhooks: { name: string; caBundle?: string; failurePolicy?: string }[];
}

export interface JsonPatchOperation {
  op: 'add' | 'replace' | 'remove' | 'test';
  path: string;
  value?: unknown;
}

/**
 * The fields of watched objects that are read: Namespaces and Nodes (the cache), ConfigMaps (`data`) and the Kyma
 * Istio custom resource (`spec`).
 */
export interface WatchedObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> | undefined; resourceVersion?: string };
  status?: { nodeInfo?: { kubeletVersion?: string }; capacity?: Record<string, unknown> };
  data?: Record<string, string>;
  spec?: unknown;
}

export type InformerEvent = 'add' | 'update' | 'delete';

/** A list-then-watch of one resource (client-node's ListWatch). After an `error` it stays stopped until `start()`. */
export interface ObjectInformer {
  on(event: InformerEvent, handler: (obj: WatchedObject) => void): void;
  on(event: 'error', handler: (err: unknown) => void): void;
  /** Resolves once listed (when needed) and watching, or after reporting an error. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export type WatchedResource = 'namespaces' | 'nodes';

/** The kinds of single objects that can be watched by name (serve's configuration from the cluster). */
export type NamedObjectKind = 'ConfigMap' | 'Istio';

/**
 * One named object: a ConfigMap, or the Kyma Istio custom resource (operator.kyma-project.io/v1alpha2, kind Istio,
 * plural istios).
 */
export interface NamedObjectRef {
  kind: NamedObjectKind;
  namespace: string;
  name: string;
}

/** `ConfigMap istio-system/istio`: how messages name an object. */
export const describeObject = (ref: NamedObjectRef): string => `${ref.kind} ${ref.namespace}/${ref.name}`;

/** The Kyma Istio custom resource's API (kyma-project/istio api/v1alpha2). */
export const KYMA_ISTIO_API = { group: 'operator.kyma-project.io', version: 'v1alpha2', plural: 'istios' } as const;

/** The resource (for RBAC messages) and the collection path of a named object's kind in its namespace. */
export function namedObjectResource(ref: NamedObjectRef): { resource: string; apiGroup: string; path: string } {
  if (ref.kind === 'ConfigMap') return { resource: 'configmaps', apiGroup: '', path: `/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/configmaps` };
  const { group, version, plural } = KYMA_ISTIO_API;
  return { resource: `${plural}.${group}`, apiGroup: group, path: `/apis/${group}/${version}/namespaces/${encodeURIComponent(ref.namespace)}/${plural}` };
}

export interface ClusterClient {
  /** The API server URL (for messages). */
  readonly server: string;
  /** How the connection was configured. */
  readonly source: 'kubeconfig' | 'in-cluster';
  /** The namespace of the kubeconfig context, or of the service account; undefined when neither names one. */
  readonly namespace: string | undefined;
  /**
   * A list-then-watch of every Namespace or Node, or of one named object (a list and watch of its kind in its
   * namespace with `fieldSelector=metadata.name=NAME`: RBAC's resourceNames cannot narrow list and watch, the field
   * selector narrows what is sent). Errors are {@link KubeApiError}s naming the call.
   */
  informer(target: WatchedResource | NamedObjectRef): ObjectInformer;
  /** undefined when the Secret does not exist. */
  readSecret(namespace: string, name: string): Promise<SecretObject | undefined>;
  /** Throws a {@link KubeApiError} with reason AlreadyExists when it exists. */
  createSecret(namespace: string, secret: SecretObject): Promise<SecretObject>;
  /** PUT; with `metadata.resourceVersion` set, a stale one throws a {@link KubeApiError} with reason Conflict. */
  replaceSecret(namespace: string, secret: SecretObject): Promise<SecretObject>;
  /** undefined when the configuration does not exist. */
  readWebhookConfiguration(kind: WebhookKind, name: string): Promise<WebhookConfigurationObject | undefined>;
  /** JSON Patch (`application/json-patch+json`). */
  patchWebhookConfiguration(kind: WebhookKind, name: string, ops: JsonPatchOperation[]): Promise<WebhookConfigurationObject>;
}

/** An API call that failed: `status` is the HTTP status (undefined when the server was not reached). */
export class KubeApiError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    /** The Status reason: NotFound, AlreadyExists, Conflict, Forbidden, ... */
    readonly reason: string | undefined,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export const isNotFound = (err: unknown): boolean => err instanceof KubeApiError && err.status === 404;
export const isAlreadyExists = (err: unknown): boolean => err instanceof KubeApiError && err.status === 409 && err.reason === 'AlreadyExists';
/** 409 other than AlreadyExists: someone else updated the object first. */
export const isConflict = (err: unknown): boolean => err instanceof KubeApiError && err.status === 409 && err.reason !== 'AlreadyExists';

/** The cluster connection cannot be configured as asked (bad kubeconfig, in-cluster requested outside a pod). */
export class ClusterConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterConfigError';
  }
}

export interface ConnectOptions {
  /** A kubeconfig file (its current context is used). */
  kubeconfig?: string;
  /**
   * Use the pod's service account. true: required (error when not in a pod); false: never; undefined: when the
   * environment has KUBERNETES_SERVICE_HOST/PORT and the token file exists.
   */
  inCluster?: boolean;
  /** Prefix of the service account paths (tests); default none, i.e. {@link SERVICE_ACCOUNT_DIR}. */
  serviceAccountRoot?: string;
  /** Per-call timeout; default {@link DEFAULT_REQUEST_TIMEOUT_MS}. */
  requestTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** Whether the process runs in a pod with a service account (the in-cluster configuration can be used). */
export function inClusterAvailable(env: NodeJS.ProcessEnv = process.env, serviceAccountRoot = ''): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && existsSync(`${serviceAccountRoot}${SERVICE_ACCOUNT_DIR}/token`));
}

/** The namespace of this pod's service account, when mounted. */
export function serviceAccountNamespace(serviceAccountRoot = ''): string | undefined {
  try {
    const ns = readFileSync(`${serviceAccountRoot}${SERVICE_ACCOUNT_DIR}/namespace`, 'utf8').trim();
    return ns === '' ? undefined : ns;
  } catch {
    return undefined;
  }
}

/**
 * Connect to the cluster given by `kubeconfig`, else the in-cluster service account; undefined when neither is
 * available (the caller runs without cluster awareness). `$KUBECONFIG` and `~/.kube/config` are deliberately not
 * read: a developer's `mesh-webhook serve` must not start writing Secrets and webhook configurations into whatever
 * cluster their shell points at. Nothing is requested here: an unreachable API server shows up in the first calls.
 */
export async function connectCluster(options: ConnectOptions = {}): Promise<ClusterClient | undefined> {
  const env = options.env ?? process.env;
  const root = options.serviceAccountRoot ?? '';
  let source: ClusterClient['source'];
  if (options.kubeconfig !== undefined) {
    source = 'kubeconfig';
  } else if (options.inCluster === true || (options.inCluster === undefined && inClusterAvailable(env, root))) {
    if (!inClusterAvailable(env, root)) {
      throw new ClusterConfigError(
        `in-cluster configuration requested, but this is not a pod with a service account (KUBERNETES_SERVICE_HOST/PORT unset or ${root}${SERVICE_ACCOUNT_DIR}/token missing); pass --kubeconfig FILE instead`,
      );
    }
    source = 'in-cluster';
  } else {
    return undefined;
  }

  const file = options.kubeconfig as string;
  if (source === 'kubeconfig' && !existsSync(file)) {
    throw new ClusterConfigError(`kubeconfig file ${file} does not exist; pass an existing file to --kubeconfig`);
  }
  const k = await import('@kubernetes/client-node');
  const kc = new k.KubeConfig();
  if (source === 'kubeconfig') {
    try {
      kc.loadFromFile(file);
    } catch (err) {
      throw new ClusterConfigError(`kubeconfig file ${file} cannot be used: ${(err as Error).message}`);
    }
  } else {
    // client-node reads KUBERNETES_SERVICE_HOST/PORT from process.env itself.
    kc.loadFromCluster(root);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new ClusterConfigError(`kubeconfig file ${options.kubeconfig ?? ''} has no current context with a cluster; set current-context`);
  }
  const contextNamespace = kc.getContextObject(kc.getCurrentContext())?.namespace;
  const namespace = contextNamespace || (source === 'in-cluster' ? serviceAccountNamespace(root) : undefined);
  return new ClientNodeCluster(k, kc, source, cluster.server, namespace, options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
}

/**
 * A KubeConfig for the command-line tools (`mesh-webhook outdated`), loaded lazily like {@link connectCluster}: the
 * given kubeconfig file, else the service account when in a pod, else what kubectl would use ($KUBECONFIG,
 * ~/.kube/config). Throws a {@link ClusterConfigError} when it cannot be used.
 */
export async function loadCliKubeConfig(kubeconfig: string | undefined): Promise<k8s.KubeConfig> {
  if (kubeconfig !== undefined && !existsSync(kubeconfig)) {
    throw new ClusterConfigError(`kubeconfig file ${kubeconfig} does not exist; pass an existing file to --kubeconfig`);
  }
  const k = await import('@kubernetes/client-node');
  const kc = new k.KubeConfig();
  try {
    if (kubeconfig !== undefined) kc.loadFromFile(kubeconfig);
    else if (inClusterAvailable()) kc.loadFromCluster();
    else kc.loadFromDefault();
  } catch (err) {
    throw new ClusterConfigError(`the kubeconfig cannot be used: ${(err as Error).message}`);
  }
  if (!kc.getCurrentCluster()) throw new ClusterConfigError('the kubeconfig has no current context with a cluster; set current-context or pass --kubeconfig');
  return kc;
}

type ClientNode = typeof k8s;

class ClientNodeCluster implements ClusterClient {
  private readonly core: k8s.CoreV1Api;
  private readonly admission: k8s.AdmissionregistrationV1Api;
  private readonly custom: k8s.CustomObjectsApi;

  constructor(
    private readonly k: ClientNode,
    private readonly kc: k8s.KubeConfig,
    readonly source: ClusterClient['source'],
    readonly server: string,
    readonly namespace: string | undefined,
    private readonly timeoutMs: number,
  ) {
    this.core = kc.makeApiClient(k.CoreV1Api);
    this.admission = kc.makeApiClient(k.AdmissionregistrationV1Api);
    this.custom = kc.makeApiClient(k.CustomObjectsApi);
  }

  /** Per-call options: abort after the timeout (middleware of the observable kind the object API runs). */
  private options(): k8s.ConfigurationOptions {
    const timeoutMs = this.timeoutMs;
    const { Observable } = this.k;
    const middleware: k8s.ObservableMiddleware = {
      pre: (ctx) => {
        ctx.setSignal(AbortSignal.timeout(timeoutMs));
        return new Observable(Promise.resolve(ctx));
      },
      post: (res) => new Observable(Promise.resolve(res)),
    };
    return { middleware: [middleware], middlewareMergeStrategy: 'append' };
  }

  /** `fn`, its error as a {@link KubeApiError} naming `what` (a 403 with `forbidden` as the fix when given). */
  private async call<T>(what: string, fn: () => Promise<T>, forbidden?: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toKubeApiError(err, what, this.server, forbidden);
    }
  }

  informer(target: WatchedResource | NamedObjectRef): ObjectInformer {
    let path: string;
    let list: () => Promise<unknown>;
    let fieldSelector: string | undefined;
    let what: string;
    let forbidden: string | undefined;
    if (target === 'namespaces' || target === 'nodes') {
      path = `/api/v1/${target}`;
      what = target;
      list =
        target === 'namespaces'
          ? () => this.call('list namespaces', () => this.core.listNamespace({}, this.options()))
          : () => this.call('list nodes', () => this.core.listNode({}, this.options()));
    } else {
      const { namespace, name } = target;
      const { path: collection, resource } = namedObjectResource(target);
      path = collection;
      fieldSelector = `metadata.name=${name}`;
      what = describeObject(target);
      forbidden = `the service account needs list and watch on ${resource} in namespace ${namespace}`;
      list =
        target.kind === 'ConfigMap'
          ? () => this.call(`list ${what}`, () => this.core.listNamespacedConfigMap({ namespace, fieldSelector }, this.options()), forbidden)
          : () =>
              this.call(
                `list ${what}`,
                () => this.custom.listNamespacedCustomObject({ ...KYMA_ISTIO_API, namespace, fieldSelector }, this.options()) as Promise<unknown>,
                forbidden,
              );
    }
    const lw = new this.k.ListWatch<k8s.KubernetesObject>(
      path,
      new this.k.Watch(this.kc),
      list as () => Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>,
      false,
      undefined,
      fieldSelector,
    );
    const server = this.server;
    return {
      on: (event: InformerEvent | 'error', handler: (arg: never) => void) => {
        if (event === 'error') {
          // A refused watch request is client-node's bare Error('Forbidden') with statusCode: name the call.
          lw.on('error', (err: unknown) => (handler as (e: unknown) => void)(watchError(err, `watch ${what}`, server, forbidden)));
        } else {
          lw.on(event as 'add', handler as (obj: k8s.KubernetesObject) => void);
        }
      },
      start: () => lw.start(),
      stop: () => lw.stop(),
    };
  }

  async readSecret(namespace: string, name: string): Promise<SecretObject | undefined> {
    try {
      const s = await this.call(`read Secret ${namespace}/${name}`, () => this.core.readNamespacedSecret({ name, namespace }, this.options()));
      return plainSecret(s);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async createSecret(namespace: string, secret: SecretObject): Promise<SecretObject> {
    const s = await this.call(`create Secret ${namespace}/${secret.metadata.name}`, () =>
      this.core.createNamespacedSecret({ namespace, body: secret as k8s.V1Secret }, this.options()),
    );
    return plainSecret(s);
  }

  async replaceSecret(namespace: string, secret: SecretObject): Promise<SecretObject> {
    const name = secret.metadata.name;
    const s = await this.call(`update Secret ${namespace}/${name}`, () =>
      this.core.replaceNamespacedSecret({ name, namespace, body: secret as k8s.V1Secret }, this.options()),
    );
    return plainSecret(s);
  }

  async readWebhookConfiguration(kind: WebhookKind, name: string): Promise<WebhookConfigurationObject | undefined> {
    try {
      const c =
        kind === 'mutating'
          ? await this.call(`read MutatingWebhookConfiguration ${name}`, () => this.admission.readMutatingWebhookConfiguration({ name }, this.options()))
          : await this.call(`read ValidatingWebhookConfiguration ${name}`, () =>
              this.admission.readValidatingWebhookConfiguration({ name }, this.options()),
            );
      return plainWebhookConfiguration(c);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async patchWebhookConfiguration(kind: WebhookKind, name: string, ops: JsonPatchOperation[]): Promise<WebhookConfigurationObject> {
    // client-node sends a patch body as application/json-patch+json unless told otherwise (its first preference).
    const c =
      kind === 'mutating'
        ? await this.call(`patch MutatingWebhookConfiguration ${name}`, () =>
            this.admission.patchMutatingWebhookConfiguration({ name, body: ops }, this.options()),
          )
        : await this.call(`patch ValidatingWebhookConfiguration ${name}`, () =>
            this.admission.patchValidatingWebhookConfiguration({ name, body: ops }, this.options()),
          );
    return plainWebhookConfiguration(c);
  }
}

function plainMeta(m: k8s.V1ObjectMeta | undefined): ObjectMeta {
  return {
    name: m?.name ?? '',
    ...(m?.namespace !== undefined ? { namespace: m.namespace } : {}),
    ...(m?.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}),
    ...(m?.uid !== undefined ? { uid: m.uid } : {}),
    ...(m?.labels !== undefined ? { labels: { ...m.labels } } : {}),
    ...(m?.annotations !== undefined ? { annotations: { ...m.annotations } } : {}),
  };
}

function plainSecret(s: k8s.V1Secret): SecretObject {
  return {
    metadata: plainMeta(s.metadata),
    ...(s.type !== undefined ? { type: s.type } : {}),
    ...(s.data !== undefined ? { data: { ...s.data } } : {}),
  };
}

function plainWebhookConfiguration(c: k8s.V1MutatingWebhookConfiguration | k8s.V1ValidatingWebhookConfiguration): WebhookConfigurationObject {
  return {
    metadata: plainMeta(c.metadata),
    webhooks: (c.webhooks ?? []).map((w) => ({
      name: w.name,
      ...(w.clientConfig?.caBundle !== undefined ? { caBundle: w.clientConfig.caBundle } : {}),
      ...(w.failurePolicy !== undefined ? { failurePolicy: w.failurePolicy } : {}),
    })),
  };
}

/**
 * An informer's error as a {@link KubeApiError}: the list's are already; a watch request the server refused is
 * client-node's `Error(statusText)` with `statusCode` (its Status body unread); anything else is a network error.
 */
function watchError(err: unknown, what: string, server: string, forbidden: string | undefined): unknown {
  if (err instanceof KubeApiError) return err;
  const statusCode = (err as { statusCode?: unknown } | undefined)?.statusCode;
  if (typeof statusCode === 'number') return toKubeApiError({ code: statusCode, body: undefined }, what, server, forbidden);
  return toKubeApiError(err, what, server, forbidden);
}

/**
 * client-node's ApiException (status + Status body) or a network error, as a {@link KubeApiError}. `forbidden`: the
 * permission to name for a 403 (default, and for a 401: a pointer to the manifests' RBAC).
 */
export function toKubeApiError(err: unknown, what: string, server: string, forbidden?: string): KubeApiError {
  if (err instanceof KubeApiError) return err;
  const e = err as { code?: unknown; body?: unknown; name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (typeof e?.code === 'number' && e.code >= 100) {
    let reason: string | undefined;
    let message: string | undefined;
    try {
      const status = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as { reason?: string; message?: string } | undefined;
      reason = status?.reason;
      message = status?.message;
    } catch {
      // not a Status body
    }
    const hint =
      e.code === 403 && forbidden !== undefined
        ? ` (${forbidden})`
        : e.code === 401 || e.code === 403
          ? ' (check the service account and its RBAC: the manifests grant what mesh-webhook needs)'
          : '';
    const label = reason ?? STATUS_CODES[e.code] ?? 'error';
    return new KubeApiError(`${what}: ${e.code} ${label}${message ? `: ${message}` : ''}${hint}`, e.code, reason);
  }
  const cause = e?.cause?.code ?? e?.cause?.message ?? (e?.name === 'TimeoutError' || e?.name === 'AbortError' ? 'timed out' : e?.message);
  return new KubeApiError(`${what}: cannot reach the Kubernetes API at ${server} (${cause ?? String(err)})`, undefined, undefined);
}
