/**
 * `serve()`: run the webhook server the way `mesh-webhook serve` does. Loads the configured serving certificate, or
 * makes development certificates (and a sample AdmissionReview plus a ready-to-paste curl command) when none is
 * configured; reloads the certificate and configuration files when they change (src/reload/); shuts down gracefully
 * on SIGTERM/SIGINT.
 *
 * Shutdown (SIGTERM, or `shutdown()`): the drain in src/server/lifecycle.ts (not ready at once, serve on for the drain
 * delay, then close with requests in flight finishing); SIGUSR2 toggles debug logging (src/server/logLevelToggle.ts);
 * the starting certificate and the development banner come from src/tls/servingCertificate.ts, the file watches
 * from src/reload/serveFiles.ts.
 *
 * Overload: the load-shedding guard (src/server/overload.ts) is on by default: under overload, /inject answers
 * at once `allowed: false`, code 429 with a retry delay, and /validate HTTP 429 with `Retry-After`; its metrics go to
 * the server's registry. It stops with the server (app.close()).
 */
import type { Logger } from 'pino';
import { createServiceLogger } from './logger.js';
import type { LoadConfigOptions } from '../config/load.js';
import type { InjectorConfig } from '../config/types.js';
import { createMetrics, type WebhookMetrics } from '../metrics.js';
import { recordCertificateExpiry } from '../reload/certificates.js';
import type { ConfigInputs } from '../reload/config.js';
import { watchServeFiles, type ServeFiles } from '../reload/serveFiles.js';
import type { TlsMaterial } from '../tls/load.js';
import { buildServer, updateCertificates, type WebhookServer } from './app.js';
import { createRuntime, runtimeReader, type RuntimeSource, type WebhookRuntime } from './runtime.js';
import { ListenError } from './listenError.js';
import { startLifecycle } from './lifecycle.js';
import { logLevelToggle } from './logLevelToggle.js';
import { developmentBanner, startingCertificate } from '../tls/servingCertificate.js';
import { DEFAULT_METRICS_HOST, startMetricsListener, type MetricsListener } from './metricsListener.js';
import { EVENT_LOOP_DELAY, OVERLOAD_SHED, OVERLOAD_SHED_RATIO, type OverloadGuard, type OverloadGuardOptions } from './overload.js';
import { loadClientCa } from './tls.js';
import { DEFAULT_HOST, DEFAULT_PORT, DEFAULT_SHUTDOWN_DELAY_MS } from './defaults.js';

export { DEFAULT_HOST, DEFAULT_PORT, DEFAULT_SHUTDOWN_DELAY_MS };
export { DEFAULT_DEV_DNS_NAMES, SAMPLE_REVIEW_FILE } from '../tls/servingCertificate.js';
export { SHUTDOWN_TIMEOUT_MS } from './lifecycle.js';

export interface ServeOptions {
  /** The runtime (src/server/runtime.ts createRuntime), or a getter read per request (see BuildServerOptions.injector). */
  injector: RuntimeSource;
  /** TCP port; default 8443; 0 picks a free one (see the returned `port`). */
  port?: number;
  /** Listen address; default {@link DEFAULT_HOST} (127.0.0.1). */
  host?: string;
  /** PEM serving certificate; with `keyFile`. When neither is set, development certificates are used. */
  certFile?: string;
  keyFile?: string;
  /**
   * PEM CA bundle (`--client-ca`): the admission routes then need the API server's client certificate, signed by it
   * (see src/server/tls.ts). Read once at start.
   */
  clientCaFile?: string;
  /** pino level (fatal, error, warn, info, debug, trace, silent); default info. Ignored when `logger` is given. */
  logLevel?: string;
  logger?: Logger;
  /** Directory of the development certificates; default `.dev-certs` in the working directory. */
  devCertDir?: string;
  /** Extra DNS names for development certificates; default {@link DEFAULT_DEV_DNS_NAMES}. */
  devDnsNames?: readonly string[];
  /** Close on SIGTERM/SIGINT; default true. */
  handleSignals?: boolean;
  /** Drain delay after SIGTERM (or `shutdown()`) before the listener closes; default {@link DEFAULT_SHUTDOWN_DELAY_MS}. */
  shutdownDelayMs?: number;
  /** Metrics to record into and serve on GET /metrics; default a fresh registry (see RunningServer.metrics). */
  metrics?: WebhookMetrics;
  /**
   * Reload the injector and validator when the configuration files of `load` (`--config`, `--values`, `--mesh`)
   * change, or the `inputs` (the Istio configuration read from the cluster); `inputs.merge(load)` must be what the
   * given injector was built from. `baseline`: configBaseline(load) taken before that build, so a change
   * in between is not missed. `compile`: default createRuntime (no cluster view).
   */
  reloadConfig?: { load: LoadConfigOptions; inputs?: ConfigInputs; baseline?: string; compile?: (config: InjectorConfig) => WebhookRuntime };
  /** Reload `certFile`/`keyFile` when they change; default true (ignored with development certificates). */
  watchCertificates?: boolean;
  /** Quiet time after a file event before reloading (config and certificates); default 100 ms. */
  reloadDebounceMs?: number;
  /** Where the startup banner goes; default process.stdout. */
  out?: NodeJS.WritableStream;
  /**
   * Self-managed certificates (startClusterIntegration().certificates): serve `current()`; until there is one, an
   * in-memory development certificate for `interimNames` (nothing is written: the root filesystem is read-only in
   * a pod) and /readyz answers 503. Their later changes arrive through setCertificates (wire onCertificate to it).
   */
  selfManaged?: { current(): TlsMaterial | undefined; interimNames: readonly string[] };
  /**
   * Also serve GET /metrics over plain HTTP on this port (0: any free one) and host (default 127.0.0.1), outside the
   * webhook's TLS (and any client-certificate requirement). Absent: no metrics listener (/metrics stays on HTTPS).
   */
  metricsListener?: { port: number; host?: string };
  /**
   * SIGUSR2 toggles the log level between the configured one and debug (debug: admission lines carry the decision
   * trace); default: as handleSignals.
   */
  logLevelSignal?: boolean;
  /**
   * Load shedding of /inject and /validate under overload (src/server/overload.ts): on by default with the guard's
   * defaults (target event-loop delay 500 ms, 1000 admissions or 64 MiB of bodies in flight). Its metrics
   * (`mesh_webhook_overload_*`) are registered in `metrics`' registry and it logs with `logger` unless these options
   * name others. `false`: off.
   */
  overload?: OverloadGuardOptions | false;
  /** Serve POST /explain (`--explain`); default false (see BuildServerOptions.explain). */
  explain?: boolean;
  /** Connections held at most (`--max-connections`); default src/server/connections.ts DEFAULT_MAX_CONNECTIONS. */
  maxConnections?: number;
}

export interface RunningServer {
  /** The bound port (useful with port 0). */
  port: number;
  /** The bound address (as given by the server socket). */
  address: string;
  /** Base URL clients can use (`https://localhost:<port>` for wildcard addresses). */
  url: string;
  /** Development CA file, when development certificates are used. */
  caPath?: string;
  /** Sample AdmissionReview file, when development certificates are used. */
  samplePath?: string;
  app: WebhookServer;
  metrics: WebhookMetrics;
  /** The overload guard (its state: shed ratio, admissions in flight); absent with `overload: false`. */
  overload?: OverloadGuard;
  /** `http://host:port/metrics` of the plain-HTTP metrics listener, when there is one. */
  metricsUrl?: string;
  /** What SIGUSR2 does: switch the log level between the configured one and debug; returns the new level. */
  toggleDebugLogging(): string;
  /** Swap the runtime (configuration reload). Requests already running keep the one they started with. */
  setInjector(runtime: WebhookRuntime): void;
  /** The runtime requests start with now (undefined while a getter given as `injector` has none). */
  runtime(): WebhookRuntime | undefined;
  /**
   * Swap the serving certificate for new connections (throws, keeping the current one, when Node rejects the pair)
   * and record its expiry in the metrics.
   */
  setCertificates(tls: TlsMaterial): void;
  /** The certificate (PEM) new connections get now. */
  servedCertificate(): string;
  /**
   * What SIGTERM does: not ready at once, keep serving for the drain delay (`delayMs`, default the server's), then
   * close(). Idempotent; resolves when closed.
   */
  shutdown(delayMs?: number): Promise<void>;
  /**
   * Stop watching files, stop accepting connections, finish in-flight requests, release signal handlers. Cuts a
   * running drain delay short. Idempotent.
   */
  close(): Promise<void>;
  /** Settles when the server has closed (after close(), shutdown() or a signal); rejects when closing failed. */
  closed: Promise<void>;
}

function urlHost(address: string): string {
  if (address === '0.0.0.0' || address === '::' || address === '') return 'localhost';
  return address.includes(':') ? `[${address}]` : address;
}

/**
 * The overload guard's options with the server's registry and a child of its logger unless `options` name others. A
 * registry reused from an earlier server (a second serve() with the same WebhookMetrics) still holds that server's
 * guard metrics: they are replaced (prom-client refuses a name twice), so the counter starts again at 0.
 */
function overloadOptions(metrics: WebhookMetrics, logger: Logger, options: OverloadGuardOptions = {}): OverloadGuardOptions {
  const registry = options.registry ?? metrics.registry;
  for (const name of [OVERLOAD_SHED, OVERLOAD_SHED_RATIO, EVENT_LOOP_DELAY]) registry.removeSingleMetric(name);
  return { ...options, registry, logger: options.logger ?? logger.child({ component: 'overload' }) };
}

/** Start the webhook server; resolves once it listens. A listener that cannot bind is a {@link ListenError}. */
export async function serve(opts: ServeOptions): Promise<RunningServer> {
  const port = opts.port ?? DEFAULT_PORT;
  const host = opts.host ?? DEFAULT_HOST;
  const out = opts.out ?? process.stdout;
  const logger = opts.logger ?? createServiceLogger(opts.logLevel ?? 'info');

  const metrics = opts.metrics ?? createMetrics();
  const shutdownDelayMs = opts.shutdownDelayMs ?? DEFAULT_SHUTDOWN_DELAY_MS;
  const { tls, certBaseline, dev } = await startingCertificate(opts);

  recordCertificateExpiry(metrics, tls.cert);
  const clientCa = opts.clientCaFile !== undefined ? await loadClientCa(opts.clientCaFile) : undefined;

  // One getter for every request; a reload replaces what it reads with one assignment (setInjector).
  let currentRuntime = runtimeReader(opts.injector);
  let shuttingDown = false;

  const app = buildServer({
    injector: () => currentRuntime(),
    tls: clientCa !== undefined ? { ...tls, clientCa } : tls,
    logger,
    shuttingDown: () => shuttingDown,
    metrics,
    ...(opts.selfManaged ? { ready: () => opts.selfManaged?.current() !== undefined } : {}),
    ...(opts.explain ? { explain: true } : {}),
    ...(opts.maxConnections !== undefined ? { maxConnections: opts.maxConnections } : {}),
    overload: opts.overload === false ? false : overloadOptions(metrics, logger, opts.overload),
  });
  const overload: OverloadGuard | undefined = app.overloadGuard;
  try {
    await app.listen({ port, host });
  } catch (err) {
    await app.close().catch(() => {});
    throw new ListenError('webhook', host, port, err);
  }
  let metricsListener: MetricsListener | undefined;
  if (opts.metricsListener) {
    try {
      metricsListener = await startMetricsListener({ registry: metrics.registry, ...opts.metricsListener });
    } catch (err) {
      await app.close();
      throw new ListenError('metrics', opts.metricsListener.host ?? DEFAULT_METRICS_HOST, opts.metricsListener.port, err);
    }
  }

  const bound = app.server.address();
  const boundPort = bound !== null && typeof bound === 'object' ? bound.port : port;
  const boundAddress = bound !== null && typeof bound === 'object' ? bound.address : host;
  const url = `https://${urlHost(boundAddress)}:${boundPort}`;

  // One assignment swaps the pair: a request reads the getter once and keeps what it got.
  const setInjector = (runtime: WebhookRuntime) => {
    currentRuntime = () => runtime;
  };
  let servedCertificate = tls.cert;
  const setCertificates = (material: TlsMaterial) => {
    updateCertificates(app, material);
    servedCertificate = material.cert;
    recordCertificateExpiry(metrics, material.cert);
  };
  // A certificate that arrived while the server was starting (before the caller could wire setCertificates).
  const arrived = opts.selfManaged?.current();
  if (arrived && arrived.cert !== tls.cert) setCertificates(arrived);

  let files: ServeFiles;
  try {
    files = await watchServeFiles<WebhookRuntime>({
      ...(opts.reloadConfig
        ? { config: { ...opts.reloadConfig, compile: opts.reloadConfig.compile ?? ((config: InjectorConfig) => createRuntime(config)), apply: setInjector } }
        : {}),
      ...(opts.certFile !== undefined && opts.keyFile !== undefined && (opts.watchCertificates ?? true)
        ? { certificates: { certFile: opts.certFile, keyFile: opts.keyFile, ...(certBaseline !== undefined ? { baseline: certBaseline } : {}), apply: setCertificates } }
        : {}),
      logger: logger.child({ component: 'reload' }),
      metrics,
      ...(opts.reloadDebounceMs !== undefined ? { debounceMs: opts.reloadDebounceMs } : {}),
    });
  } catch (err) {
    await metricsListener?.close();
    await app.close();
    throw err;
  }

  const handleSignals = opts.handleSignals ?? true;
  const logLevelSignal = opts.logLevelSignal ?? handleSignals;
  // SIGUSR2: the configured level <-> debug (src/server/logLevelToggle.ts).
  const toggleDebugLogging = logLevelToggle(logger);
  // SIGTERM/SIGINT, the drain and close() (src/server/lifecycle.ts).
  const lifecycle = startLifecycle({
    logger,
    shutdownDelayMs,
    handleSignals,
    onShuttingDown: () => {
      shuttingDown = true;
    },
    async closeResources() {
      files.close();
      if (logLevelSignal) process.removeListener('SIGUSR2', toggleDebugLogging);
      await Promise.all([app.close(), metricsListener?.close()]);
    },
  });

  if (logLevelSignal) process.on('SIGUSR2', toggleDebugLogging);

  logger.info({ address: boundAddress, port: boundPort, url }, 'mesh-webhook listening');
  if (metricsListener) logger.info({ address: metricsListener.address, port: metricsListener.port, url: metricsListener.url }, 'metrics listening');

  if (dev) out.write(developmentBanner(dev, { address: boundAddress, port: boundPort, url, explain: opts.explain === true }));

  return {
    port: boundPort,
    address: boundAddress,
    url,
    ...(dev ? { caPath: dev.caPath, samplePath: dev.samplePath } : {}),
    app,
    metrics,
    ...(overload ? { overload } : {}),
    ...(metricsListener ? { metricsUrl: metricsListener.url } : {}),
    toggleDebugLogging,
    setInjector,
    runtime: () => currentRuntime(),
    setCertificates,
    servedCertificate: () => servedCertificate,
    shutdown: (delayMs?: number) => lifecycle.shutdown(delayMs),
    close: lifecycle.close,
    closed: lifecycle.closed,
  };
}
