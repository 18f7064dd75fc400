/**
 * The single entry point serve() uses for everything cluster-related: connect (kubeconfig, in-cluster, or none),
 * start the namespace/node cache, in self-managed certificate mode the certificate manager, and, once the listener
 * serves, the failure-policy switch of the webhook configurations.
 *
 * Nothing here blocks start-up for long or fails it when the API server is unreachable: the cache and the
 * certificates keep retrying in the background. Only a cluster configuration that cannot work (a kubeconfig file
 * that does not exist or does not parse) throws, as a {@link ClusterConfigError}.
 */
import { resolveCertificateMode, type CertificateMode } from '../certs/mode.js';
import {
  ClusterConfigError,
  connectCluster,
  inClusterAvailable,
  serviceAccountNamespace,
  type ClusterClient,
  type ConnectOptions,
} from '../cluster/client.js';
import { ClusterCache, type ClusterLogger, type RetryOptions } from '../cluster/cache.js';
import type { ClusterView } from '../cluster/view.js';
import {
  startSelfManagedCertificates,
  type SelfManagedCertificates,
  type SelfManagedOptions,
  type ServingCertificate,
} from '../certs/selfManaged.js';
import type { WebhookNames } from '../certs/caBundle.js';
import { serviceDnsNames } from '../certs/selfManaged.js';
import { startFailurePolicyControl, type FailurePolicyControl } from '../cluster/failurePolicy.js';

export { ClusterConfigError } from '../cluster/client.js';
export { CERTIFICATE_MODES, resolveCertificateMode, type CertificateMode } from '../certs/mode.js';
export type { ServingCertificate } from '../certs/selfManaged.js';

/** `serve`'s cluster flags, as the command line parsed them. */
export interface ServeClusterArgs {
  /** --kubeconfig FILE; absent: in-cluster when in a pod, else no cluster. */
  kubeconfig?: string;
  /** --certificates; absent: files with --cert/--key, self-managed with a cluster, dev otherwise. */
  certificates?: CertificateMode;
  /** --namespace; absent: the service account's namespace, else mesh-webhook. */
  namespace?: string;
  /** --service (default mesh-webhook). */
  service?: string;
  /** --secret (default mesh-webhook-tls). */
  secretName?: string;
  /** --webhook-config: name of both webhook configurations (default mesh-webhook). */
  webhookConfig?: string;
}

export const DEFAULT_NAMESPACE = 'mesh-webhook';
export const DEFAULT_SERVICE = 'mesh-webhook';
export const DEFAULT_SECRET = 'mesh-webhook-tls';
export const DEFAULT_WEBHOOK_CONFIG = 'mesh-webhook';
/** How long start-up waits for the first cache sync and the first certificate before going on without them. */
export const DEFAULT_INITIAL_WAIT_MS = 10_000;

/**
 * --namespace, else the service account's namespace, else `mesh-webhook`. (Not the kubeconfig context's namespace:
 * that is often `default`, and the Secret belongs next to the webhook's Service.)
 */
export function resolveNamespace(asked: string | undefined, serviceAccountRoot?: string): string {
  return asked ?? serviceAccountNamespace(serviceAccountRoot) ?? DEFAULT_NAMESPACE;
}

export interface ClusterIntegrationOptions {
  /** Already connected (serve reads its configuration through it first); else connected here as below. */
  client?: ClusterClient;
  kubeconfig?: string;
  inCluster?: boolean;
  /** Default: see {@link resolveNamespace}. */
  namespace?: string;
  service?: string;
  secretName?: string;
  /** Names of the MutatingWebhookConfiguration and ValidatingWebhookConfiguration (default both `mesh-webhook`). */
  webhookNames?: WebhookNames;
  /** Manage the serving certificate in the cluster (see src/certs/selfManaged.ts). */
  selfManagedCerts: boolean;
  logger: ClusterLogger;
  /** Called with each new self-managed certificate (the first one included). */
  onCertificate?: (tls: ServingCertificate) => void;
  /** Bounded wait at start for the cache sync and the first certificate; default 10 s. 0: do not wait. */
  initialWaitMs?: number;
  /** Tests: backoff of the informers and the certificate checks, check interval, clock, service account root. */
  retry?: RetryOptions;
  certificates?: Partial<Pick<SelfManagedOptions, 'checkIntervalMs' | 'renewBeforeMs' | 'clock' | 'caOverlapMs'>>;
  connect?: Pick<ConnectOptions, 'serviceAccountRoot' | 'env' | 'requestTimeoutMs'>;
}

/**
 * `serve`'s cluster flags as {@link startClusterIntegration} options, and the certificate mode they resolve to (a
 * cluster is "available" with --kubeconfig, or in a pod with a service account). Throws a ClusterConfigError when
 * --certificates self-managed is asked for without a cluster.
 */
export function serveClusterOptions(
  args: ServeClusterArgs | undefined,
  ctx: {
    hasCertFiles: boolean;
    /** Flags that read from the cluster (`--injector-configmap`, ...): each needs one. */
    readsFromCluster?: readonly string[];
    env?: NodeJS.ProcessEnv;
    serviceAccountRoot?: string;
  },
): {
  mode: CertificateMode;
  /** DNS names for an interim (in-memory development) certificate: the Service's names. */
  serviceNames: string[];
  options: Omit<ClusterIntegrationOptions, 'logger' | 'onCertificate'>;
} {
  const clusterAvailable = args?.kubeconfig !== undefined || inClusterAvailable(ctx.env, ctx.serviceAccountRoot);
  const mode = resolveCertificateMode(args?.certificates, { hasCertFiles: ctx.hasCertFiles, clusterAvailable });
  if (mode === 'self-managed' && !clusterAvailable) {
    throw new ClusterConfigError('--certificates self-managed needs a cluster: run in a pod with a service account, or pass --kubeconfig FILE');
  }
  const reader = ctx.readsFromCluster?.[0];
  if (reader !== undefined && !clusterAvailable) {
    throw new ClusterConfigError(`${reader} reads the configuration from the cluster, and there is none: run in a pod with a service account, or pass --kubeconfig FILE`);
  }
  const namespace = resolveNamespace(args?.namespace, ctx.serviceAccountRoot);
  const service = args?.service ?? DEFAULT_SERVICE;
  const webhook = args?.webhookConfig ?? DEFAULT_WEBHOOK_CONFIG;
  return {
    mode,
    serviceNames: serviceDnsNames(service, namespace),
    options: {
      ...(args?.kubeconfig !== undefined ? { kubeconfig: args.kubeconfig } : {}),
      namespace,
      service,
      secretName: args?.secretName ?? DEFAULT_SECRET,
      webhookNames: { mutating: webhook, validating: webhook },
      selfManagedCerts: mode === 'self-managed',
      ...(ctx.serviceAccountRoot !== undefined || ctx.env !== undefined
        ? { connect: { ...(ctx.serviceAccountRoot !== undefined ? { serviceAccountRoot: ctx.serviceAccountRoot } : {}), ...(ctx.env ? { env: ctx.env } : {}) } }
        : {}),
    },
  };
}

export interface ClusterIntegration {
  /** What the injector reads (createInjector(config, view)); undefined without a cluster. */
  view: ClusterView | undefined;
  cache?: ClusterCache;
  client?: ClusterClient;
  /** In self-managed mode: `current()` is the certificate to serve once there is one. */
  certificates?: SelfManagedCertificates;
  namespace: string;
  /**
   * Call once the HTTPS listener serves: from then on the webhook configurations get the failure policy their
   * annotation names as soon as their caBundle trusts `servedCertificate()` (src/cluster/failurePolicy.ts). Without a
   * cluster: nothing.
   */
  serving(servedCertificate: () => string | undefined): void;
  stop(): Promise<void>;
}

/** The connection {@link startClusterIntegration} makes (undefined: no cluster), for a caller that needs it first. */
export function connectServeCluster(options: Pick<ClusterIntegrationOptions, 'kubeconfig' | 'inCluster' | 'connect'>): Promise<ClusterClient | undefined> {
  return connectCluster({
    ...(options.kubeconfig !== undefined ? { kubeconfig: options.kubeconfig } : {}),
    ...(options.inCluster !== undefined ? { inCluster: options.inCluster } : {}),
    ...options.connect,
  });
}

/**
 * Connect and start. Without a cluster (no --kubeconfig, not in a pod) resolves `{view: undefined}` and logs
 * "no cluster: running without cluster awareness". Waits at most `initialWaitMs` for the first sync and the first
 * certificate; what is not there by then arrives later (onCertificate).
 */
export async function startClusterIntegration(options: ClusterIntegrationOptions): Promise<ClusterIntegration> {
  const { logger } = options;
  const client = options.client ?? (await connectServeCluster(options));
  const namespace = resolveNamespace(options.namespace, options.connect?.serviceAccountRoot);
  if (!client) {
    logger.info('no cluster: running without cluster awareness (namespace labels and node versions come from the configuration)');
    return { view: undefined, namespace, serving: () => undefined, stop: async () => undefined };
  }
  logger.info({ server: client.server, source: client.source, namespace }, `cluster: ${client.source} configuration, API server ${client.server}`);

  const cache = new ClusterCache(client, { logger, ...(options.retry ? { retry: options.retry } : {}) }).start();
  let certificates: SelfManagedCertificates | undefined;
  let failurePolicy: FailurePolicyControl | undefined;
  const webhookNames = options.webhookNames ?? { mutating: DEFAULT_WEBHOOK_CONFIG, validating: DEFAULT_WEBHOOK_CONFIG };
  if (options.selfManagedCerts) {
    certificates = startSelfManagedCertificates({
      client,
      namespace,
      secretName: options.secretName ?? DEFAULT_SECRET,
      service: options.service ?? DEFAULT_SERVICE,
      webhookNames,
      onCertificate: (tls) => options.onCertificate?.(tls),
      logger,
      ...(options.retry ? { retry: options.retry } : {}),
      ...options.certificates,
    });
  }

  const waitMs = options.initialWaitMs ?? DEFAULT_INITIAL_WAIT_MS;
  if (waitMs > 0) {
    const [synced, cert] = await Promise.all([cache.waitForSync(waitMs), certificates ? certificates.waitForCertificate(waitMs) : Promise.resolve(undefined)]);
    if (!synced) {
      logger.warn(
        { waitedMs: waitMs, lastError: cache.state().lastError?.message },
        'cluster cache not synced yet; admission uses the configuration until it is (it keeps retrying)',
      );
    }
    if (certificates && !cert) {
      logger.warn(
        { waitedMs: waitMs, lastError: certificates.state().lastError?.message },
        'no self-managed certificate yet; serving a temporary development certificate (not ready) until it arrives',
      );
    }
  }

  return {
    view: cache,
    cache,
    client,
    ...(certificates ? { certificates } : {}),
    namespace,
    serving(servedCertificate) {
      failurePolicy ??= startFailurePolicyControl({
        client,
        names: webhookNames,
        servedCertificate,
        logger,
        // A caBundle that lost the CA (e.g. `kubectl replace` of the manifests) gets it again before the hourly check.
        ...(certificates ? { onWaiting: () => void certificates?.checkNow() } : {}),
      });
    },
    async stop() {
      await Promise.all([cache.stop(), certificates?.stop(), failurePolicy?.stop()]);
    },
  };
}
