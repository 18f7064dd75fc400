/**
 * `buildServer`: the HTTPS edge of the webhook as a composition. What one AdmissionReview meets, in order
 * (docs/architecture.md walks it):
 *
 * 1. the socket: TLS 1.2+ (src/server/tls.ts), the connection cap (src/server/connections.ts), transport timeouts;
 * 2. `onRequest` (every route): when it arrived, minus any wait in a stalled event loop (src/server/hooks.ts);
 * 3. the route Fastify matched (src/server/routes.ts, one table): the admission plugin (src/server/admissionPlugin.ts)
 *    with its hooks (client certificate, overload shedding, deadline, metrics) and handlers
 *    (src/server/handlers/), or the probes plugin (src/server/probesPlugin.ts);
 * 4. the body parser (src/server/body.ts): application/json only, counted before it is parsed;
 * 5. the handler: the runtime of the request (src/server/runtime.ts) decides; src/admission/ builds the answer;
 * 6. `onSend` (every route): an early answer waits until the body has been read; while shutting down, `Connection:
 *    close`.
 *
 * Contract of the HTTP layer:
 * - every well-formed AdmissionReview gets HTTP 200 with an AdmissionReview, whatever the decision; a body that is
 *   not one (bad JSON, no request, no uid, ...) gets HTTP 200 with an AdmissionReview that denies it and says why;
 * - anything else gets a 4xx with `{ "error": "<message>" }` (src/server/replies.ts): 415, 400, 413, 404/405; never
 *   HTML, never a stack trace, and no input yields a 500;
 * - every per-endpoint concern is decided on the route Fastify matched, never on the raw URL, so `/%69nject` gets
 *   exactly what `/inject` gets;
 * - one log line per admission, validation or explanation (the handlers say which fields), never the object itself;
 * - while shutting down, /readyz answers 503 and every answer carries `Connection: close`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { performance } from 'node:perf_hooks';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import type { Logger, LoggerOptions } from 'pino';
import type { Registry } from 'prom-client';
import type { WebhookMetrics } from '../metrics.js';
import type { TlsMaterial } from '../tls/load.js';
import { admissionPlugin } from './admissionPlugin.js';
import { parseJsonBodies } from './body.js';
import { DEFAULT_MAX_CONNECTIONS, limitConnections } from './connections.js';
import { startLoopMonitor, type LoopMonitorOptions } from './health.js';
import { receivedAt } from './hooks.js';
import { createOverloadGuard, type OverloadGuard, type OverloadGuardOptions } from './overload.js';
import { probesPlugin } from './probesPlugin.js';
import { answerError, drainBody, OTHER_BODY_LIMIT, pathOf, refuse } from './replies.js';
import { runtimeReader, type RuntimeSource } from './runtime.js';
import { DEFAULT_SERVER_TIMEOUTS, clientCaOf, httpsServerOptions, rememberClientCa, secureContextOptions, type ServerTimeouts } from './tls.js';

export type WebhookServer = FastifyInstance<HttpsServer, IncomingMessage, ServerResponse, FastifyBaseLogger>;

export interface TlsOptions extends TlsMaterial {
  /** Lowest TLS version accepted; default and floor TLSv1.2. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /**
   * PEM CA bundle of the API server's client certificate (`--client-ca`): the admission routes then need a client
   * certificate that chains to it (401/403 otherwise); /healthz, /readyz and /metrics do not. See src/server/tls.ts.
   */
  clientCa?: string;
}

export interface BuildServerOptions {
  /**
   * What requests run with (src/server/runtime.ts): a runtime, or a getter read once per request so a reloaded
   * configuration is swapped in atomically (`let current = createRuntime(cfg); injector: () => current`). A getter
   * returning undefined (or throwing) means "not loaded yet": /readyz answers 503 and admissions get HTTP 503.
   */
  injector: RuntimeSource;
  /** Serving certificate and key (PEM). Swap them later with {@link updateCertificates}. */
  tls: TlsOptions;
  /** pino options, a pino logger, or false for no logging. Default: pino at level info on stdout. */
  logger?: LoggerOptions | Logger | false;
  /** Extra readiness condition for /readyz (for example: "certificates loaded"). */
  ready?: () => boolean;
  /**
   * True once the server is shutting down (SIGTERM): /readyz answers 503 so the endpoint leaves the Service, and
   * answers carry `Connection: close` so keep-alive clients reconnect (to other replicas) after their request.
   */
  shuttingDown?: () => boolean;
  /**
   * Serve this registry's metrics on `GET /metrics` (Prometheus text format). With the WebhookMetrics (createMetrics)
   * the admission routes also count their requests, and /validate its findings, in them.
   */
  metrics?: Registry | WebhookMetrics;
  /** Monotonic clock in ms used for request deadlines and durations (tests inject one). Default performance.now. */
  clock?: () => number;
  /** Transport timeouts (handshake, headers, request, keep-alive, idle); defaults in src/server/tls.ts. */
  timeouts?: Partial<ServerTimeouts>;
  /**
   * Event-loop monitor (src/server/health.ts): request deadlines count the time a request waited in a stalled loop,
   * and /readyz answers 503 while the loop is overloaded. `false`: neither. Default on, with its defaults.
   */
  eventLoop?: LoopMonitorOptions | false;
  /**
   * Load shedding of the admission routes (src/server/overload.ts), steered by the same event-loop monitor; the guard
   * is `app.overloadGuard`. Default off here (serve() turns it on).
   */
  overload?: OverloadGuardOptions | false;
  /**
   * Connections held at most (src/server/connections.ts): beyond it a new connection closes the oldest one without a
   * request in progress. Default {@link DEFAULT_MAX_CONNECTIONS}; `false`: no cap.
   */
  maxConnections?: number | false;
  /**
   * Serve `POST /explain`. Default false: an explanation shows the namespace's labels from the cluster cache, for any
   * namespace, so it is only served when the operator asks for it (and behind the client certificate, if any).
   */
  explain?: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The overload guard of the admission routes, when the server was built with `overload`. */
    overloadGuard: OverloadGuard | undefined;
  }
}

function isLoggerInstance(value: unknown): value is Logger {
  return typeof value === 'object' && value !== null && typeof (value as Logger).child === 'function' && typeof (value as Logger).info === 'function';
}

/** Fastify's options: TLS, timeouts, limits, the logger; no request logging of its own (the handlers log one line). */
function fastifyOptions(opts: BuildServerOptions): FastifyServerOptions & { https: ReturnType<typeof httpsServerOptions> } {
  const loggerOpts = opts.logger === undefined ? { level: 'info' } : opts.logger;
  const timeouts: ServerTimeouts = { ...DEFAULT_SERVER_TIMEOUTS, ...opts.timeouts };
  return {
    // TLS 1.2+, ECDHE + AEAD suites, client certificates with clientCa, handshake/header/request timeouts.
    https: httpsServerOptions(opts.tls, timeouts),
    keepAliveTimeout: timeouts.keepAliveMs,
    connectionTimeout: timeouts.idleMs,
    ...(isLoggerInstance(loggerOpts)
      ? {
          loggerInstance: loggerOpts as FastifyBaseLogger,
          // Request loggers take the given logger's level at the time of the request (not the one it had when the
          // server was built), so changing it at runtime (SIGUSR2, see serve.ts) reaches the admission lines.
          childLoggerFactory: ((logger: FastifyBaseLogger, bindings: Record<string, unknown>, childOpts: Record<string, unknown>) =>
            logger.child(bindings, { ...childOpts, level: loggerOpts.level })) as unknown as NonNullable<FastifyServerOptions['childLoggerFactory']>,
        }
      : { logger: loggerOpts }),
    // Fastify's own "incoming request" / "request completed" lines are off (the top-level option is deprecated).
    logController: new LogController({ disableRequestLogging: true }),
    // The admission routes set their own limits (routes.ts BODY_LIMITS); anything else has no business sending more.
    bodyLimit: OTHER_BODY_LIMIT,
    // Slow or stalled clients cannot hold a request open longer than the API server's largest webhook timeout.
    requestTimeout: timeouts.requestMs,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 2048 },
    frameworkErrors: (err, request, reply) => {
      const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      request.log.info({ statusCode: status, code: err.code }, 'request refused');
      void (reply as unknown as FastifyReply).code(status).send({ error: err.code === 'FST_ERR_BAD_URL' ? 'malformed URL' : err.message });
    },
  };
}

/**
 * Build the webhook's HTTPS server (not listening yet: call `listen({ port, host })`). Routes: src/server/routes.ts.
 */
export function buildServer(opts: BuildServerOptions): WebhookServer {
  const clock = opts.clock ?? (() => performance.now());
  const runtime = runtimeReader(opts.injector);
  const shuttingDown = opts.shuttingDown ?? (() => false);
  const webhookMetrics = opts.metrics && 'validationRequests' in opts.metrics ? opts.metrics : undefined;
  const registry = webhookMetrics ? webhookMetrics.registry : (opts.metrics as Registry | undefined);

  const app = Fastify(fastifyOptions(opts)) as unknown as WebhookServer;
  rememberClientCa(app.server, opts.tls.clientCa);
  if (opts.maxConnections !== false) {
    limitConnections(app.server, {
      maxConnections: opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      ...(registry ? { registry } : {}),
      logger: app.log.child({ component: 'connections' }),
    });
  }

  // One event-loop monitor: deadlines and readiness (unless `eventLoop: false`) and the overload guard's delay.
  const overloadOptions = opts.overload === false ? undefined : opts.overload;
  const monitor = opts.eventLoop !== false || overloadOptions ? startLoopMonitor(opts.eventLoop || {}) : undefined;
  const loop = opts.eventLoop === false ? undefined : monitor;
  const overload = overloadOptions && monitor ? createOverloadGuard(overloadOptions, monitor.takeDelayMs) : undefined;
  app.decorate('overloadGuard', overload);
  app.addHook('onClose', (_instance, done) => {
    overload?.close();
    monitor?.close();
    done();
  });
  loop?.watchConnections(app.server);

  app.decorateRequest('meshReceivedAt', 0);
  app.decorateRequest('meshDeadline', undefined);
  app.decorateRequest('meshAdmission', null);
  app.addHook('onRequest', receivedAt(clock, loop));
  parseJsonBodies(app, () => runtime()?.limits);
  app.setErrorHandler(answerError);
  app.setNotFoundHandler((request, reply) => refuse(request, reply, 404, `no route for ${request.method} ${pathOf(request.url)}`));
  app.addHook('onSend', async (request, reply, payload) => {
    // An answer before the body was read (401/403, 415, 429, 405): read the rest first, or close a connection whose
    // body is not worth reading (413 closes by itself).
    if (!request.raw.complete && reply.statusCode !== 413) {
      const read = await drainBody(request.raw, request.routeOptions.bodyLimit ?? OTHER_BODY_LIMIT);
      if (!read) void reply.header('connection', 'close');
    }
    if (shuttingDown()) void reply.header('connection', 'close');
    return payload;
  });

  void app.register(probesPlugin, { runtime, shuttingDown, ready: opts.ready, loop, registry });
  void app.register(admissionPlugin, {
    context: { runtime, clock, metrics: webhookMetrics },
    clientCertificates: opts.tls.clientCa !== undefined,
    overload,
    explain: opts.explain === true,
  });
  return app;
}

/**
 * Replace the serving certificate of a (listening or not yet listening) server; new TLS handshakes use it,
 * established connections keep the old one. For certificate rotation (cert-manager, file watch).
 */
export function updateCertificates(app: WebhookServer, tls: TlsOptions): void {
  const clientCa = tls.clientCa ?? clientCaOf(app.server);
  app.server.setSecureContext(secureContextOptions({ ...tls, ...(clientCa !== undefined ? { clientCa } : {}) }));
}
