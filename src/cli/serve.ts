import { ClusterInputError, IstioObjects } from '../cluster/istioObjects.js';
import { loadConfigWithNotes, type LoadedConfig } from '../config/load.js';
import { ConfigError } from '../config/types.js';
import { configBaseline } from '../reload/config.js';
import { ClusterConfigError, connectServeCluster, serveClusterOptions, startClusterIntegration } from '../server/clusterIntegration.js';
import type { InjectorConfig } from '../config/types.js';
import { createRuntime } from '../server/runtime.js';
import { createServiceLogger } from '../server/logger.js';
import { createMetrics, trackClusterCache } from '../metrics.js';
import { DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT } from '../server/metricsListener.js';
import { ListenError } from '../server/listenError.js';
import { serve, type RunningServer } from '../server/serve.js';
import { CertificateError } from '../tls/load.js';
import type { ClusterClient } from '../cluster/client.js';
import { CONFIG_OBJECT_FLAGS, type ServeArgs } from './serveArgs.js';
import { InputError } from './errors.js';
import { listenProblem } from './startupErrors.js';

/**
 * After a graceful shutdown the event loop should empty by itself; if a forgotten handle keeps it alive, exit anyway
 * after this long (the exit code set by then is kept).
 */
const EXIT_GRACE_MS = 2_000;

/**
 * `mesh-webhook serve`: load and validate the configuration, then run the admission webhook until a signal stops it
 * (resolves once the server has shut down gracefully). The configuration and certificate files are watched and
 * reloaded on change, and so are the Istio ConfigMaps and the Kyma Istio resource the configuration is read from
 * (--injector-configmap, --mesh-configmap, --istio-cr-resource); an invalid configuration at start is an error, an
 * invalid change later keeps the last good one.
 */
export async function runServe(args: ServeArgs): Promise<void> {
  // Hashed before loading, so a change between this load and the start of the watch is not missed.
  const baseline = await configBaseline(args.config);
  const logger = createServiceLogger(args.logLevel ?? 'info');
  const readsFromCluster = CONFIG_OBJECT_FLAGS.filter((f) => args.configObjects?.[f.key] !== undefined).map((f) => `--${f.flag}`);
  let plan;
  try {
    plan = serveClusterOptions(args.cluster, { hasCertFiles: args.certFile !== undefined, readsFromCluster });
  } catch (err) {
    if (err instanceof ClusterConfigError) throw new InputError(err.message);
    throw err;
  }
  const { client, inputs } = await readConfigObjects(args, plan.options, logger);
  let loaded: LoadedConfig;
  try {
    // An invalid configuration fails here, before anything is written to the cluster (certificates, webhooks).
    loaded = loadConfigWithNotes(inputs ? inputs.merge(args.config) : args.config);
  } catch (err) {
    await inputs?.stop();
    if (inputs && err instanceof ConfigError) throw new InputError(inputs.startProblem(err));
    throw err;
  }
  const { config, notes } = loaded;
  for (const note of notes) logger.info(note);
  // Declared before the integration starts: its onCertificate may fire while it starts (the first certificate).
  let running: RunningServer | undefined;
  let cluster;
  const serviceNames = plan.serviceNames;
  try {
    cluster = await startClusterIntegration({ ...plan.options, ...(client ? { client } : {}), logger, onCertificate: (tls) => running?.setCertificates(tls) });
  } catch (err) {
    await inputs?.stop();
    if (err instanceof ClusterConfigError) throw new InputError(err.message);
    throw err;
  }
  const view = cluster.view;
  // The injector and the validator, from the same configuration and cluster view; reloaded and swapped together.
  const compile = (c: InjectorConfig) => createRuntime(c, view);
  const runtime = compile(config);
  const metrics = createMetrics();
  const cache = cluster.cache;
  if (cache) trackClusterCache(metrics, () => cache.state());
  const metricsPort = args.metricsPort ?? DEFAULT_METRICS_PORT;
  try {
    running = await serve({
      injector: runtime,
      logger,
      metrics,
      ...(metricsPort !== 0 ? { metricsListener: { port: metricsPort, host: args.metricsHost ?? DEFAULT_METRICS_HOST } } : {}),
      reloadConfig: { load: args.config, ...(inputs ? { inputs } : {}), baseline, compile },
      ...(cluster.certificates ? { selfManaged: { current: () => cluster.certificates?.current(), interimNames: serviceNames } } : {}),
      ...(args.port !== undefined ? { port: args.port } : {}),
      ...(args.host !== undefined ? { host: args.host } : {}),
      ...(args.explain ? { explain: true } : {}),
      ...(args.maxConnections !== undefined ? { maxConnections: args.maxConnections } : {}),
      ...(args.certFile !== undefined ? { certFile: args.certFile } : {}),
      ...(args.keyFile !== undefined ? { keyFile: args.keyFile } : {}),
      ...(args.clientCaFile !== undefined ? { clientCaFile: args.clientCaFile } : {}),
      ...(args.logLevel !== undefined ? { logLevel: args.logLevel } : {}),
      ...(args.shutdownDelayMs !== undefined ? { shutdownDelayMs: args.shutdownDelayMs } : {}),
      // Absent: serve() installs the overload guard with its defaults.
      ...(args.overload !== undefined ? { overload: args.overload } : {}),
    });
  } catch (err) {
    await Promise.all([cluster.stop(), inputs?.stop()]);
    if (err instanceof CertificateError) throw new InputError(err.message);
    if (err instanceof ListenError) throw new InputError(listenProblem(err));
    throw err;
  }
  // Serving now: the webhook configurations may get the failure policy the operator annotated (Ignore until then).
  const server = running;
  cluster.serving(() => server.servedCertificate());
  await running.closed.finally(() => Promise.all([cluster.stop(), inputs?.stop()]));
  setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
}

/**
 * With --injector-configmap, --mesh-configmap or --istio-cr-resource: connect, read the objects (a missing object or
 * key, a refused permission, an API server out of reach for DEFAULT_READ_WAIT_MS is one line, exit 1) and keep
 * watching them. Without: nothing.
 */
async function readConfigObjects(
  args: ServeArgs,
  connect: Parameters<typeof connectServeCluster>[0],
  logger: ReturnType<typeof createServiceLogger>,
): Promise<{ client?: ClusterClient; inputs?: IstioObjects }> {
  if (!args.configObjects) return {};
  let client: ClusterClient | undefined;
  try {
    client = await connectServeCluster(connect);
  } catch (err) {
    if (err instanceof ClusterConfigError) throw new InputError(err.message);
    throw err;
  }
  // serveClusterOptions made sure there is a cluster to connect to.
  if (!client) throw new InputError('no cluster to read the configuration from: run in a pod with a service account, or pass --kubeconfig FILE');
  const inputs = new IstioObjects(client, args.configObjects, { logger: logger.child({ component: 'cluster-config' }) });
  try {
    await inputs.start();
  } catch (err) {
    if (err instanceof ClusterInputError) throw new InputError(err.message);
    throw err;
  }
  logger.info({ sources: inputs.sources }, `configuration read from the cluster: ${inputs.sources.join(', ')} (watched)`);
  return { client, inputs };
}
