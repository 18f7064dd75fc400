/**
 * The Kubernetes API calls `mesh-webhook outdated` makes, behind a small interface ({@link OutdatedApi}) the core
 * (src/outdated/index.ts) uses and tests can point at the API test double: list pods and ReplicaSets (paginated), get a
 * ReplicaSet, Job or workload, patch a workload's pod template, and delete a pod. Objects come back as plain JSON, exactly as the API server
 * sends them (no client-side models), so the injector sees the same pod the webhook would.
 *
 * The connection is configured by @kubernetes/client-node's KubeConfig (kubeconfig files, exec plugins, in-cluster),
 * loaded lazily by src/cluster/client.ts; the requests themselves are plain node:http(s) requests with the options it
 * computes.
 */
import http from 'node:http';
import https from 'node:https';
import { ClusterConfigError, KubeApiError, loadCliKubeConfig, toKubeApiError } from '../cluster/client.js';
import { kubeconfigSource } from './kubeconfigSource.js';

export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion?: string; kind?: string; name?: string; uid?: string; controller?: boolean }[];
    [key: string]: unknown;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [key: string]: unknown;
};

/** Kinds `outdated` reads or restarts, and where they live. */
export const RESOURCES = {
  ReplicaSet: { prefix: '/apis/apps/v1', plural: 'replicasets' },
  Deployment: { prefix: '/apis/apps/v1', plural: 'deployments' },
  DaemonSet: { prefix: '/apis/apps/v1', plural: 'daemonsets' },
  StatefulSet: { prefix: '/apis/apps/v1', plural: 'statefulsets' },
  Job: { prefix: '/apis/batch/v1', plural: 'jobs' },
  CronJob: { prefix: '/apis/batch/v1', plural: 'cronjobs' },
  ReplicationController: { prefix: '/api/v1', plural: 'replicationcontrollers' },
} as const;
export type ReadableKind = keyof typeof RESOURCES;
export type RestartableKind = 'Deployment' | 'DaemonSet' | 'StatefulSet';
export const RESTARTABLE_KINDS: readonly RestartableKind[] = ['Deployment', 'DaemonSet', 'StatefulSet'];

/** The pod template annotation `kubectl rollout restart` sets: a new value rolls the workload's pods (the default). */
export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
/** The one the Kyma Istio module's restarter sets (kyma-project/istio pkg/lib/annotations): `--restart-annotation`. */
export const KYMA_RESTARTED_AT = 'istio-operator.kyma-project.io/restartedAt';

export interface OutdatedApi {
  /** The API server URL (for messages). */
  readonly server: string;
  /** The kubeconfig context's namespace (or the service account's), when it names one. */
  readonly contextNamespace: string | undefined;
  /** Every pod of `namespace`, or of every namespace when undefined (paginated). */
  listPods(namespace: string | undefined): Promise<KubeObject[]>;
  /** Every ReplicaSet of `namespace` (paginated). */
  listReplicaSets(namespace: string): Promise<KubeObject[]>;
  /** Every node (paginated): kyma-module's cluster size. */
  listNodes(): Promise<KubeObject[]>;
  /** undefined when it does not exist. */
  get(kind: ReadableKind, namespace: string, name: string): Promise<KubeObject | undefined>;
  /** Set the pod template annotation `annotation` (kubectl.kubernetes.io/restartedAt, ...) to `restartedAt` (a JSON merge patch). */
  restart(kind: RestartableKind, namespace: string, name: string, restartedAt: string, annotation: string): Promise<KubeObject>;
  /** Delete a pod (its controller creates it again); false when it was already gone. */
  deletePod(namespace: string, name: string): Promise<boolean>;
}

export interface ConnectOutdatedOptions {
  /** A kubeconfig file; absent: the service account in a pod, else $KUBECONFIG or ~/.kube/config. */
  kubeconfig?: string;
  /** Per-request timeout; default 30 s. */
  timeoutMs?: number;
  /** Pods per page; default 500. */
  pageSize?: number;
}

/**
 * There is no cluster to talk to: no usable kubeconfig (missing, no current context, a plain-HTTP server the client
 * refuses, credentials that cannot be obtained), or the API server could not be reached (refused, unknown host, TLS,
 * timeout). The message names what was tried and what to do. An API server that answers with an error (403, ...)
 * is a {@link KubeApiError} instead.
 */
export class ClusterUnreachableError extends Error {
  override name = 'ClusterUnreachableError';
}

const CHECK_CONTEXT = 'check the current context (kubectl config current-context), or pass --kubeconfig FILE';

export async function connectOutdatedApi(options: ConnectOutdatedOptions = {}): Promise<OutdatedApi> {
  const source = kubeconfigSource(options.kubeconfig);
  if (source.problem !== undefined) throw new ClusterUnreachableError(source.problem);
  let kc: Awaited<ReturnType<typeof loadCliKubeConfig>>;
  try {
    kc = await loadCliKubeConfig(options.kubeconfig);
  } catch (err) {
    if (err instanceof ClusterConfigError) throw new ClusterUnreachableError(`${err.message} (tried ${source.description})`);
    throw err;
  }
  const cluster = kc.getCurrentCluster()!;
  const server = cluster.server.replace(/\/+$/, '');
  const context = `context "${kc.getCurrentContext()}" of ${source.description}`;
  if (server.startsWith('http://') && cluster.skipTLSVerify !== true) {
    // client-node refuses plain HTTP unless the cluster entry sets insecure-skip-tls-verify.
    throw new ClusterUnreachableError(
      `the API server of ${context} is ${server}, plain HTTP, which the Kubernetes client refuses unless that cluster sets insecure-skip-tls-verify: put the API server's https:// address in the kubeconfig, or ${CHECK_CONTEXT}`,
    );
  }
  const contextNamespace = kc.getContextObject(kc.getCurrentContext())?.namespace || undefined;
  const unreachable = (err: KubeApiError) => new ClusterUnreachableError(`${err.message}, the server of ${context}: ${CHECK_CONTEXT}`);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const pageSize = options.pageSize ?? 500;

  async function call(method: string, path: string, what: string, body?: unknown, contentType?: string): Promise<unknown> {
    const url = new URL(server + path);
    const opts: https.RequestOptions = { method, timeout: timeoutMs };
    try {
      await kc.applyToHTTPSOptions(opts);
    } catch (err) {
      // Credentials (an exec plugin, a token file) or TLS material of the context that cannot be used.
      throw new ClusterUnreachableError(`${what}: cannot use the credentials of ${context}: ${(err as Error).message}: ${CHECK_CONTEXT}`);
    }
    const text = body === undefined ? undefined : JSON.stringify(body);
    opts.headers = {
      ...(opts.headers ?? {}),
      accept: 'application/json',
      ...(text !== undefined ? { 'content-type': contentType ?? 'application/json', 'content-length': Buffer.byteLength(text) } : {}),
    };
    const mod = url.protocol === 'http:' ? http : https;
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = mod.request(url, opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { name: 'TimeoutError' })));
      req.on('error', (err) => reject(unreachable(toKubeApiError(err, what, server))));
      req.end(text);
    });
    if (answer.status >= 200 && answer.status < 300) {
      try {
        return JSON.parse(answer.text) as unknown;
      } catch {
        throw new KubeApiError(`${what}: the API server answered with something that is not JSON`, answer.status, undefined);
      }
    }
    throw toKubeApiError({ code: answer.status, body: answer.text }, what, server);
  }

  async function listAll(base: string, what: string): Promise<KubeObject[]> {
    const items: KubeObject[] = [];
    let cont: string | undefined;
    do {
      const query = new URLSearchParams({ limit: String(pageSize), ...(cont ? { continue: cont } : {}) });
      const list = (await call('GET', `${base}?${query}`, what)) as { items?: KubeObject[]; metadata?: { continue?: string } };
      for (const item of list.items ?? []) items.push(item);
      cont = list.metadata?.continue || undefined;
    } while (cont);
    return items;
  }

  return {
    server,
    contextNamespace,
    listPods(namespace) {
      const base = namespace === undefined ? '/api/v1/pods' : `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`;
      return listAll(base, namespace === undefined ? 'list pods in all namespaces' : `list pods in namespace ${namespace}`);
    },
    listNodes() {
      return listAll('/api/v1/nodes', 'list nodes');
    },
    listReplicaSets(namespace) {
      return listAll(`${RESOURCES.ReplicaSet.prefix}/namespaces/${encodeURIComponent(namespace)}/replicasets`, `list replicasets in namespace ${namespace}`);
    },
    async get(kind, namespace, name) {
      const r = RESOURCES[kind];
      try {
        return (await call('GET', `${r.prefix}/namespaces/${encodeURIComponent(namespace)}/${r.plural}/${encodeURIComponent(name)}`, `read ${kind} ${namespace}/${name}`)) as KubeObject;
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 404) return undefined;
        throw err;
      }
    },
    async restart(kind, namespace, name, restartedAt, annotation) {
      const r = RESOURCES[kind];
      const patch = { spec: { template: { metadata: { annotations: { [annotation]: restartedAt } } } } };
      return (await call(
        'PATCH',
        `${r.prefix}/namespaces/${encodeURIComponent(namespace)}/${r.plural}/${encodeURIComponent(name)}`,
        `restart ${kind} ${namespace}/${name}`,
        patch,
        'application/merge-patch+json',
      )) as KubeObject;
    },
    async deletePod(namespace, name) {
      try {
        await call('DELETE', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`, `delete pod ${namespace}/${name}`);
        return true;
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 404) return false;
        throw err;
      }
    },
  };
}
