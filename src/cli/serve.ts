import { loadConfigWithNotes } from '../config/load.js';
import { configBaseline } from '../reload/config.js';
import { ClusterConfigError, serveClusterOptions, startClusterIntegration } from '../server/clusterIntegration.js';
import type { InjectorConfig } from '../config/types.js';
import { createRuntime } from '../server/runtime.js';
import { createServiceLogger } from '../server/logger.js';
import { createMetrics, trackClusterCache } from '../metrics.js';
import { DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT } from '../server/metricsListener.js';
import { ListenError } from '../server/listenError.js';
import { serve, type RunningServer } from '../server/serve.js';
import { CertificateError } from '../tls/load.js';
import type { ServeArgs } from './serveArgs.js';
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
 * reloaded on change; an invalid configuration at start is an error, an invalid change later keeps the last good one.
 */
export async function runServe(args: ServeArgs): Promise<void> {
  // Hashed before loading, so a change between this load and the start of the watch is not missed.
  const baseline = await configBaseline(args.config);
  const { config, notes } = loadConfigWithNotes(args.config); // invalid configuration: fail before connecting anywhere
  const logger = createServiceLogger(args.logLevel ?? 'info');
  for (const note of notes) logger.info(note);
  // Declared before the integration starts: its onCertificate may fire while it starts (the first certificate).
  let running: RunningServer | undefined;
  let cluster;
  let serviceNames: string[];
  try {
    const plan = serveClusterOptions(args.cluster, { hasCertFiles: args.certFile !== undefined });
    serviceNames = plan.serviceNames;
    cluster = await startClusterIntegration({ ...plan.options, logger, onCertificate: (tls) => running?.setCertificates(tls) });
  } catch (err) {
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
      reloadConfig: { load: args.config, baseline, compile },
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
    await cluster.stop();
    if (err instanceof CertificateError) throw new InputError(err.message);
    if (err instanceof ListenError) throw new InputError(listenProblem(err));
    throw err;
  }
  // Serving now: the webhook configurations may get the failure policy the operator annotated (Ignore until then).
  const server = running;
  cluster.serving(() => server.servedCertificate());
  await running.closed.finally(() => cluster.stop());
  setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
}
