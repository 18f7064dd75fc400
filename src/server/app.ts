/**
 * The HTTPS edge of the webhook: a thin Fastify 5 app that turns AdmissionReview requests into `Injector.inject()`
 * calls (`/inject`) and `Validator.validate()` calls (`/validate`) and their outcomes into AdmissionReview responses
 * (src/admission/review.ts and src/admission/validation.ts do the mapping).
 *
 * Contract of the HTTP layer:
 * - every well-formed AdmissionReview gets HTTP 200 with an AdmissionReview, whatever the decision;
 * - a body that is not an AdmissionReview (bad JSON, no request, no uid, ...) gets HTTP 200 with an AdmissionReview
 *   that denies it and says why (as Istio's serveInject answers a body it cannot decode);
 * - anything else gets a 4xx with a JSON body `{ "error": "<message>" }`: 415 (not application/json), 400 (empty body,
 *   the JSON defences: nesting, prototype keys; bad input on /explain), 413 (body over the endpoint's limit, src/server/routes.ts), 404/405 (unknown
 *   route / method); never HTML, never a stack trace, and no input yields a 500;
 * - every per-endpoint concern (client certificate, overload guard, body limit, metrics label) is decided on the route
 *   Fastify matched (src/server/routes.ts), never on the raw URL, so `/%69nject` gets exactly what `/inject` gets;
 * - an object beyond the count caps (src/admission/limits.ts) is answered at once, before any decision or injection;
 * - an early answer (401/403, 415, 429) waits until the request body has been read, so closing the connection after
 *   it never resets a client that is still sending (it would see a failed call instead of the answer);
 * - one log line per admission (uid, namespace, pod name, decision, reason, durationMs), never the pod itself; one
 *   per validation (uid, operation, kind, namespace/name, mode, finding codes, allowed, durationMs); one per
 *   explanation (kind, namespace/name, decision, outcome, durationMs);
 * - `POST /explain` is served only when asked for (`explain: true`): it reads namespace labels from the cluster cache.
 * - while shutting down, /readyz answers 503 and every answer carries `Connection: close`, so clients move their
 *   keep-alive connections elsewhere while the listener still serves.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { performance } from 'node:perf_hooks';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger, LoggerOptions } from 'pino';
import type { Registry } from 'prom-client';
import {
  ADMISSION_API_VERSIONS,
  AdmissionReviewError,
  undecodableReviewDenial,
  AUDIT_ANNOTATION,
  admissionReviewJson,
  admit,
  buildAdmissionResponse,
  notAPodReason,
  parseJsonBody,
  validateAdmissionReview,
  type AdmissionApiVersion,
  type AdmissionDecision,
  type AdmissionReviewRequest,
} from '../admission/review.js';
import { validateAdmission, validationDeadlineAnswer, validationLimitAnswer, type ValidationResult } from '../admission/validation.js';
import { scanReviewIdentity, type ReviewIdentity } from '../admission/identity.js';
import { DEFAULT_ADMISSION_LIMITS, describeLimitProblem, limitProblem, tokenLimit, type LimitProblem } from '../admission/limits.js';
import { countJsonTokens, mayExceedTokens } from '../util/jsonTokens.js';
import type { ClusterView } from '../cluster/view.js';
import type { AdmissionLimits, InjectorConfig } from '../config/types.js';
import type { Injector, PodSubject } from '../inject/api.js';
import { createInjector } from '../inject/index.js';
import { compactTrace, createExplainer, type Explainer } from '../explain/index.js';
import { deployMetaFromPod } from '../inject/deployMeta.js';
import type { Pod } from '../k8s/types.js';
import { recordAdmission, recordValidation, type WebhookMetrics } from '../metrics.js';
import type { TlsMaterial } from '../tls/load.js';
import { createValidator, type Validator } from '../validate/index.js';
import { admissionBudgetMs, parseGoDuration, parseInjectPath } from './params.js';
import { ADMISSION_ROUTES, BODY_LIMITS, endpointOf, otherMethods, PROBE_ROUTES, rawTail, type RouteConfig } from './routes.js';
import { startLoopMonitor, type LoopMonitorOptions } from './health.js';
import { DEFAULT_MAX_CONNECTIONS, limitConnections } from './connections.js';
import {
  DEFAULT_SERVER_TIMEOUTS,
  clientCaOf,
  clientCertificateProblem,
  httpsServerOptions,
  rememberClientCa,
  secureContextOptions,
  type ServerTimeouts,
} from './tls.js';

/** Body limit of everything but the admission routes (theirs: src/server/routes.ts BODY_LIMITS). */
const OTHER_BODY_LIMIT = 64 * 1024;

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

/**
 * What a request runs with: the injector (`/inject`) and the validator (`/validate`), compiled from one configuration
 * and swapped together on reload, so a request never sees one configuration's injector with another's validator.
 */
export interface WebhookRuntime {
  readonly injector: Injector;
  readonly validator: Validator;
  /** Decision traces for `POST /explain` and the debug log (derived from the injector when absent). */
  readonly explainer?: Explainer;
  /** Count caps checked before any work on an object (default {@link DEFAULT_ADMISSION_LIMITS}). */
  readonly limits?: AdmissionLimits;
}

/** Compile a configuration into the injector and the validator (same config, same cluster view). */
export function createRuntime(config: InjectorConfig, cluster?: ClusterView): WebhookRuntime {
  // One compilation per load, shared by the three.
  const injector = createInjector(config, cluster);
  return {
    injector,
    validator: createValidator(config, cluster, injector),
    explainer: createExplainer(injector, cluster ? { cluster } : {}),
    limits: config.limits,
  };
}

/** Explainers derived for runtimes without one (from the injector's configuration, no cluster view), cached. */
const derivedExplainers = new WeakMap<Injector, Explainer>();

/** The runtime's explainer, or one derived from its injector. */
export function explainerOf(runtime: WebhookRuntime): Explainer {
  if (runtime.explainer) return runtime.explainer;
  let explainer = derivedExplainers.get(runtime.injector);
  if (!explainer) {
    explainer = createExplainer(runtime.injector);
    derivedExplainers.set(runtime.injector, explainer);
  }
  return explainer;
}

function isRuntime(value: Injector | WebhookRuntime): value is WebhookRuntime {
  return 'validator' in value && 'injector' in value;
}

/** Validators derived for plain injectors (compiled once per injector, not per request). */
const derived = new WeakMap<Injector, WebhookRuntime>();

/**
 * A runtime for what callers hand in: a runtime as it is, a plain Injector with a validator compiled from the
 * injector's own configuration (no cluster view: namespace labels come from config `namespaceLabels`), cached.
 */
export function asRuntime(value: Injector | WebhookRuntime): WebhookRuntime {
  if (isRuntime(value)) return value;
  let runtime = derived.get(value);
  if (!runtime) {
    runtime = { injector: value, validator: createValidator(value.config), limits: value.config.limits };
    derived.set(value, runtime);
  }
  return runtime;
}

/** An Injector or a {@link WebhookRuntime}. */
export type RuntimeValue = Injector | WebhookRuntime;

export interface BuildServerOptions {
  /**
   * What requests run with: a {@link WebhookRuntime} (injector and validator) or a plain Injector (its validator is
   * compiled from the injector's configuration), as a getter read once per request so a reloaded configuration can be
   * swapped in atomically (`let current = createRuntime(cfg); injector: () => current`). A plain value is accepted
   * too (fixed for the server's life). A getter returning undefined (or throwing) means "not loaded yet": /readyz
   * answers 503 and admissions get HTTP 503.
   */
  injector: (() => RuntimeValue | undefined) | RuntimeValue;
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
   * the validating endpoint also counts its requests and findings in them.
   */
  metrics?: Registry | WebhookMetrics;
  /** Monotonic clock in ms used for request deadlines and durations (tests inject one). Default performance.now. */
  clock?: () => number;
  /** Transport timeouts (handshake, headers, request, keep-alive, idle); defaults in src/server/tls.ts. */
  timeouts?: Partial<ServerTimeouts>;
  /**
   * Event-loop monitor (src/server/health.ts): request deadlines count the time a request waited in a stalled loop,
   * and /readyz answers 503 while the loop is overloaded. `false`: off. Default on, with its defaults.
   */
  eventLoop?: LoopMonitorOptions | false;
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
  interface FastifyRequest {
    /** Clock reading when the request headers arrived (see BuildServerOptions.clock). */
    meshReceivedAt: number;
    /** The outcome of an admission request for the metrics (set by the /inject and /validate handlers). */
    meshAdmission: { outcome: string; reason: string } | null;
  }
}

/** A compact `Kind/name` of the pod's owner, from ownerReferences and generateName only (never the spec). */
function workloadOf(pod: unknown, namespace: string): string | undefined {
  if (typeof pod !== 'object' || pod === null) return undefined;
  try {
    const meta = deployMetaFromPod(pod as Pod, namespace);
    return meta.name ? `${meta.kind}/${meta.name}` : undefined;
  } catch {
    return undefined;
  }
}

function isLoggerInstance(value: unknown): value is Logger {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Logger).child === 'function' &&
    typeof (value as Logger).info === 'function'
  );
}

function errorBody(message: string): { error: string } {
  return { error: message };
}

/** The URL path without query string. */
function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function mediaTypeOf(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  return value.split(';', 1)[0]?.trim().toLowerCase();
}

/** The 415 message, one wording for every endpoint. */
function unsupportedMediaType(request: FastifyRequest): string {
  const ct = request.headers['content-type'];
  return `Content-Type must be application/json, got ${ct === undefined ? 'none' : JSON.stringify(ct)}`;
}

/**
 * A body that was not parsed because it has more JSON tokens than its endpoint's limit: what an answer can still say
 * about it (the review's identity, read from the start of the text).
 */
class UnparsedBody {
  constructor(
    readonly problem: LimitProblem,
    readonly identity: ReviewIdentity | undefined,
  ) {}
}

/** An admission body that is not JSON: what is wrong with it, for the denial that answers it. */
class UndecodableBody {
  constructor(readonly message: string) {}
}

/** Where the identity of an unparsed review is looked for: the API server writes it first. */
const IDENTITY_PREFIX_BYTES = 64 * 1024;

function unparsedBody(body: Buffer, max: number): UnparsedBody {
  const found = scanReviewIdentity(body.toString('utf8', 0, Math.min(body.length, IDENTITY_PREFIX_BYTES))).found;
  const identity = found && (ADMISSION_API_VERSIONS as readonly string[]).includes(found.apiVersion) && found.uid !== '' ? found : undefined;
  return new UnparsedBody({ limit: 'jsonTokens', path: 'the request body', count: max + 1, exact: false, max }, identity);
}

/** Map any error reaching Fastify's error handler to a status and a client-safe message. */
function classifyError(err: unknown, request: FastifyRequest): { status: number; message: string } {
  if (err instanceof AdmissionReviewError) return { status: 400, message: err.message };
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; statusCode?: unknown; message?: unknown };
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, message: unsupportedMediaType(request) };
    case 'FST_ERR_CTP_BODY_TOO_LARGE': {
      const limit = request.routeOptions.bodyLimit ?? OTHER_BODY_LIMIT;
      return { status: 413, message: `request body is larger than the limit of ${limit} bytes of ${request.routeOptions.url ?? 'this path'}` };
    }
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, message: 'request body length does not match the Content-Length header' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, message: 'request body is empty; expected an AdmissionReview JSON object' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, message: 'request body is not valid JSON' };
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    return { status, message: typeof e.message === 'string' && e.message ? e.message : 'bad request' };
  }
  return { status: 500, message: 'internal server error' };
}

/**
 * Resolves once the rest of a request body has been read and discarded (true), or false when it is not worth reading:
 * larger than `limit` (by Content-Length, or once that much has arrived), or the connection failed. An answer sent
 * before the body was read, on a connection that then closes (`Connection: close`, shutdown), would otherwise reset a
 * client that is still sending, and the client would see a failed call instead of the answer.
 */
function drainBody(raw: IncomingMessage, limit: number): Promise<boolean> {
  if (raw.complete || raw.readableEnded) return Promise.resolve(true);
  const declared = Number(raw.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(false);
  return new Promise((resolve) => {
    let seen = 0;
    const finish = (ok: boolean) => {
      raw.removeListener('data', onData);
      raw.removeListener('end', onEnd);
      raw.removeListener('error', onFail);
      raw.removeListener('close', onClose);
      resolve(ok);
    };
    const onData = (chunk: Buffer | string) => {
      seen += chunk.length;
      if (seen > limit) finish(false);
    };
    const onEnd = () => finish(true);
    const onFail = () => finish(false);
    const onClose = () => finish(raw.complete);
    raw.on('data', onData);
    raw.once('end', onEnd);
    raw.once('error', onFail);
    raw.once('close', onClose);
    raw.resume();
  });
}

/**
 * Build the webhook's HTTPS server (not listening yet: call `listen({ port, host })`).
 * Routes (src/server/routes.ts): `POST /inject`, `POST /inject/*` (Istio path parameters), `POST /validate` (and
 * `/validate/`), `POST /explain` when `explain` is set, `GET /healthz`, `GET /readyz`, and `GET /metrics` when
 * `metrics` is given; other methods on these paths get 405 with `Allow`.
 */
export function buildServer(opts: BuildServerOptions): WebhookServer {
  const clock = opts.clock ?? (() => performance.now());
  const runtimeOption = opts.injector;
  const getRuntime: () => RuntimeValue | undefined = typeof runtimeOption === 'function' ? runtimeOption : () => runtimeOption;
  /** The runtime for one request: read once, so the request uses one consistent injector/validator pair. */
  const currentRuntime = (): WebhookRuntime | undefined => {
    try {
      const value = getRuntime() ?? undefined;
      return value === undefined ? undefined : asRuntime(value);
    } catch {
      return undefined;
    }
  };

  const loggerOpts = opts.logger === undefined ? { level: 'info' } : opts.logger;
  const timeouts: ServerTimeouts = { ...DEFAULT_SERVER_TIMEOUTS, ...opts.timeouts };
  const app = Fastify({
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
            logger.child(bindings, { ...childOpts, level: (loggerOpts as Logger).level })) as unknown as NonNullable<FastifyServerOptions['childLoggerFactory']>,
        }
      : { logger: loggerOpts }),
    // Fastify's own "incoming request" / "request completed" lines are off: the handler logs one line per
    // admission instead. (The top-level `disableRequestLogging` option is deprecated since Fastify 5.12.)
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
      void (reply as unknown as FastifyReply).code(status).send(errorBody(err.code === 'FST_ERR_BAD_URL' ? 'malformed URL' : err.message));
    },
  }) as unknown as WebhookServer;

  rememberClientCa(app.server, opts.tls.clientCa);
  if (opts.maxConnections !== false) {
    const registry = opts.metrics && 'validationRequests' in opts.metrics ? opts.metrics.registry : opts.metrics;
    limitConnections(app.server, {
      maxConnections: opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      ...(registry ? { registry } : {}),
      logger: app.log.child({ component: 'connections' }),
    });
  }
  const loop = opts.eventLoop === false ? undefined : startLoopMonitor(opts.eventLoop);
  if (loop) app.addHook('onClose', (_instance, done) => (loop.close(), done()));
  loop?.watchConnections(app.server);
  app.decorateRequest('meshReceivedAt', 0);
  app.decorateRequest('meshAdmission', null);
  app.addHook('onRequest', (request, _reply, done) => {
    // Minus the time the request may have waited in a stalled event loop, or since its connection was accepted
    // (the first request on a connection); see src/server/health.ts.
    request.meshReceivedAt = clock() - (loop?.waitedMs(request.raw.socket) ?? 0);
    done();
  });

  // Only application/json bodies are parsed (media type compared exactly, parameters such as charset ignored);
  // any other Content-Type fails with FST_ERR_CTP_INVALID_MEDIA_TYPE, mapped to 415 below. The limit is the route's.
  // A large admission body is counted before it is parsed: beyond the endpoint's token limit it is not parsed at all
  // (parsing is where a body of small keys costs its memory and time), and the handler answers from its identity.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    const endpoint = endpointOf(request);
    if (endpoint !== undefined) {
      const max = tokenLimit(currentRuntime()?.limits ?? DEFAULT_ADMISSION_LIMITS, endpoint);
      if (mayExceedTokens(bytes.length, max) && countJsonTokens(bytes, max + 1) > max) return done(null, unparsedBody(bytes, max));
    }
    try {
      done(null, parseJsonBody(bytes));
    } catch (err) {
      // Not JSON: the admission endpoints deny it with an AdmissionReview (readReview), as Istio does.
      if (err instanceof AdmissionReviewError && err.deniable && endpoint !== undefined && endpoint !== 'explain') {
        done(null, new UndecodableBody(err.message));
      } else done(err as Error, undefined);
    }
  });

  function refuse(request: FastifyRequest, reply: FastifyReply, status: number, message: string): FastifyReply {
    request.log.info({ statusCode: status, method: request.method, path: pathOf(request.url), error: message }, 'request refused');
    return reply.code(status).type('application/json; charset=utf-8').send(errorBody(message));
  }

  // With a client CA, the admission routes need a verified client certificate; probes and metrics do not. Decided on
  // the matched route: `/%69nject` is /inject.
  if (opts.tls.clientCa !== undefined) {
    app.addHook('onRequest', (request, reply, done) => {
      const problem = endpointOf(request) !== undefined ? clientCertificateProblem(request.raw.socket as TLSSocket) : undefined;
      if (problem) refuse(request, reply, problem.status, problem.message);
      else done();
    });
  }

  app.setErrorHandler((err, request, reply) => {
    const { status, message } = classifyError(err, request);
    if (status >= 500) {
      request.log.error({ err, method: request.method, path: pathOf(request.url) }, 'unexpected error');
      return reply.code(500).type('application/json; charset=utf-8').send(errorBody(message));
    }
    return refuse(request, reply, status, message);
  });

  app.setNotFoundHandler((request, reply) => refuse(request, reply, 404, `no route for ${request.method} ${pathOf(request.url)}`));

  const shuttingDown = opts.shuttingDown ?? (() => false);
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

  app.get(PROBE_ROUTES.healthz, async () => ({ status: 'ok' }));

  app.get(PROBE_ROUTES.readyz, async (_request, reply) => {
    if (shuttingDown()) return reply.code(503).send({ status: 'not ready', reason: 'shutting down' });
    if (currentRuntime() === undefined) return reply.code(503).send({ status: 'not ready', reason: 'injector not loaded' });
    if (opts.ready && !opts.ready()) return reply.code(503).send({ status: 'not ready' });
    const stalled = loop?.readinessProblem();
    if (stalled !== undefined) return reply.code(503).send({ status: 'not ready', reason: stalled });
    return { status: 'ready' };
  });

  const metricsOption = opts.metrics;
  const webhookMetrics = metricsOption && 'validationRequests' in metricsOption ? metricsOption : undefined;
  const registry = webhookMetrics ? webhookMetrics.registry : (metricsOption as Registry | undefined);
  if (registry) {
    app.get(PROBE_ROUTES.metrics, async (_request, reply) => {
      const text = await registry.metrics();
      return reply.type(registry.contentType).send(text);
    });
  }

  // 405 with Allow for the other methods on every known path, answered before any body is parsed.
  const methodNotAllowed = async (request: FastifyRequest, reply: FastifyReply) => {
    const allow = (request.routeOptions.config as RouteConfig).allow ?? '';
    void reply.header('allow', allow);
    return refuse(request, reply, 405, `method ${request.method} is not allowed on ${pathOf(request.url)}; use ${allow}`);
  };
  const unreachable = async () => undefined;
  for (const url of Object.values(PROBE_ROUTES).filter((p) => p !== PROBE_ROUTES.metrics || registry)) {
    app.route({ method: otherMethods(['GET', 'HEAD']), url, config: { allow: 'GET, HEAD' } satisfies RouteConfig, onRequest: methodNotAllowed, handler: unreachable });
  }
  for (const { url, endpoint } of ADMISSION_ROUTES) {
    const route = { url, bodyLimit: BODY_LIMITS[endpoint], config: { allow: 'POST' } satisfies RouteConfig, onRequest: methodNotAllowed, handler: unreachable };
    app.route({ ...route, method: otherMethods(['POST']) });
  }

  // Every answer of an admission endpoint is counted once, when it has been sent: the handlers' outcomes, and any
  // HTTP error status (415, 400, 413, 503, ...) as outcome "refused" with the status as reason.
  if (webhookMetrics?.admissionRequests) {
    app.addHook('onResponse', (request, reply, done) => {
      const endpoint = endpointOf(request);
      if (endpoint !== undefined) {
        const status = reply.statusCode;
        const labels =
          request.meshAdmission && (status < 400 || request.meshAdmission.outcome === 'shed')
            ? { endpoint, ...request.meshAdmission }
            : { endpoint, outcome: 'refused', reason: String(status) };
        recordAdmission(webhookMetrics, labels, (clock() - request.meshReceivedAt) / 1000);
      }
      done();
    });
  }

  /**
   * The AdmissionReview of a request, or the 4xx answer already sent (same checks for /inject and /validate). A body
   * beyond the token limit comes back as its identity with the problem (`over`), or is refused when it has none.
   */
  const readReview = (request: FastifyRequest, reply: FastifyReply): { review: AdmissionReviewRequest; over?: LimitProblem } | { refused: FastifyReply } => {
    if (mediaTypeOf(request.headers['content-type']) !== 'application/json') {
      return { refused: refuse(request, reply, 415, unsupportedMediaType(request)) };
    }
    if (request.body === undefined) {
      return { refused: refuse(request, reply, 400, 'request body is empty; expected an AdmissionReview JSON object') };
    }
    if (request.body instanceof UnparsedBody) {
      const { problem, identity } = request.body;
      if (identity === undefined) {
        return { refused: refuse(request, reply, 413, `${describeLimitProblem(problem)}; nor does it start with an AdmissionReview's apiVersion and request.uid`) };
      }
      const { apiVersion, uid, namespace, operation } = identity;
      const partial = { uid, ...(namespace !== undefined ? { namespace } : {}), ...(operation !== undefined ? { operation } : {}) };
      return { review: { apiVersion: apiVersion as AdmissionApiVersion, kind: 'AdmissionReview', request: partial }, over: problem };
    }
    // Not an AdmissionReview we can process: denied with an AdmissionReview (HTTP 200, allowed: false, the problem in
    // status.message) that the API server shows to the user, as Istio's serveInject answers a body it cannot decode.
    const deny = (message: string) => {
      request.meshAdmission = { outcome: endpointOf(request) === 'validate' ? 'denied' : 'rejected', reason: 'invalidReview' };
      request.log.info({ statusCode: 200, path: pathOf(request.url), allowed: false, error: message }, 'invalid review denied');
      return { refused: reply.code(200).send(undecodableReviewDenial(request.body, message)) };
    };
    if (request.body instanceof UndecodableBody) return deny(request.body.message);
    try {
      return { review: validateAdmissionReview(request.body) };
    } catch (err) {
      if (err instanceof AdmissionReviewError) return deny(err.message);
      throw err;
    }
  };

  /** The `?timeout=` of a request: its budget, and whether it was spent before the handler ran. */
  const deadlineOf = (request: FastifyRequest): { expired: boolean; timeout: string } => {
    const query = request.query as Record<string, unknown> | undefined;
    const timeoutText = typeof query?.['timeout'] === 'string' ? (query['timeout'] as string) : undefined;
    const budgetMs = admissionBudgetMs(timeoutText);
    const expired = clock() - request.meshReceivedAt >= budgetMs;
    const timeout = timeoutText !== undefined && (parseGoDuration(timeoutText.trim()) ?? 0) > 0 ? timeoutText.trim() : `${budgetMs / 1000}s`;
    return { expired, timeout };
  };

  const injectHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    const parsed = readReview(request, reply);
    if ('refused' in parsed) return parsed.refused;
    const { review } = parsed;
    const pod = review.request.object as { metadata?: { name?: unknown; generateName?: unknown; namespace?: unknown } } | undefined;
    const meta = typeof pod === 'object' && pod !== null ? pod.metadata : undefined;
    // The one log line of this admission (level error when the injector threw, with the error and its stack).
    // The namespace as the injector resolves it (the pod's, else the request's); the injector's own when it ran.
    const requestNamespace = typeof review.request.namespace === 'string' ? review.request.namespace : '';
    const podNamespace = (typeof meta?.namespace === 'string' && meta.namespace) || requestNamespace;
    const logAdmission = (decision: AdmissionDecision, reason: string, err?: unknown, trace?: () => string[] | undefined, subject?: PodSubject) => {
      const name = typeof meta?.name === 'string' && meta.name ? meta.name : undefined;
      const generateName = typeof meta?.generateName === 'string' ? meta.generateName : undefined;
      const namespace = (subject?.namespace ?? podNamespace) || undefined;
      // The injector's resolution when it read the pod; before it ran (deadline, caps), the same rule on the pod.
      const workload = subject ? subject.workload : workloadOf(pod, podNamespace);
      // At debug level the line also carries the decision trace (every rule evaluated, in order).
      const steps = trace && (request.log.level === 'debug' || request.log.level === 'trace') ? trace() : undefined;
      const fields = {
        uid: review.request.uid,
        namespace,
        pod: name ?? generateName,
        ...(workload !== undefined ? { workload } : {}),
        decision,
        reason,
        durationMs: Math.round((clock() - request.meshReceivedAt) * 100) / 100,
        ...(steps !== undefined ? { trace: steps } : {}),
      };
      if (err === undefined) request.log.info(fields, 'admission');
      else request.log.error({ ...fields, err }, 'admission');
    };

    // Deadline: the API server stops waiting after `?timeout=` (default 10s) from when it sent the request. The core
    // is synchronous and fast, so the only way to overrun is time spent before the handler runs (queueing, slow
    // body). If the budget is already spent, answering now is still better than computing a patch nobody will
    // apply: we answer HTTP 200 `allowed: false` with status code 504 and a message asking to retry. With
    // failurePolicy Fail a late answer rejects the pod anyway, so this only makes the reason explicit (and, with
    // failurePolicy Ignore, a deliberate denial is the safe side: the pod is not created without its sidecar).
    const deadline = deadlineOf(request);
    if (deadline.expired) {
      const timeout = deadline.timeout;
      const message = `mesh-webhook: request deadline (${timeout}) passed before processing; retry`;
      logAdmission('rejected', `request deadline (${timeout}) passed before processing`);
      request.meshAdmission = { outcome: 'rejected', reason: 'deadlineExceeded' };
      return buildAdmissionResponse(review, { allowed: false, status: { message, code: 504 } });
    }

    const runtime = currentRuntime();
    if (runtime === undefined) return refuse(request, reply, 503, 'mesh-webhook is not ready: no injector configuration loaded');

    // A pod beyond the count caps is refused before anything reads it whole (the decision, the template, the patch).
    const over = parsed.over ?? (notAPodReason(review.request) === undefined ? limitProblem(review.request.object, runtime.limits ?? DEFAULT_ADMISSION_LIMITS) : undefined);
    if (over) {
      const reason = `limit exceeded: ${over.limit}`;
      logAdmission('rejected', reason);
      request.meshAdmission = { outcome: 'rejected', reason: 'limitExceeded' };
      return buildAdmissionResponse(review, {
        allowed: false,
        status: { message: `mesh-webhook: cannot inject: ${describeLimitProblem(over)}`, code: 400 },
        auditAnnotations: { [AUDIT_ANNOTATION]: `rejected: ${reason}` },
      });
    }

    const result = admit(runtime.injector, review, parseInjectPath(`/inject${rawTail(request.url)}`));
    const trace = () => {
      if (result.subject === undefined) return undefined; // not a Pod, an unreadable pod, or the injector threw
      try {
        return compactTrace(explainerOf(runtime).trace(review.request.object as Pod, result.subject.namespace));
      } catch {
        return undefined;
      }
    };
    logAdmission(result.decision, result.reason, result.decision === 'error' ? result.error : undefined, trace, result.subject);
    request.meshAdmission =
      result.decision === 'injected' || result.decision === 'skipped'
        ? { outcome: result.decision, reason: result.rule ?? 'notAPod' }
        : { outcome: result.decision, reason: result.category ?? 'internalError' };
    return reply.type('application/json; charset=utf-8').send(admissionReviewJson(result.review));
  };

  const validateHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    const parsed = readReview(request, reply);
    if ('refused' in parsed) return parsed.refused;
    const { review } = parsed;
    const runtime = currentRuntime();
    if (runtime === undefined) return refuse(request, reply, 503, 'mesh-webhook is not ready: no configuration loaded');

    // Same deadline rule as /inject; the validator is synchronous and fast, so only queueing can overrun it. An object
    // beyond the count caps is not validated (src/admission/validation.ts says what is answered then).
    const deadline = deadlineOf(request);
    const over = deadline.expired ? undefined : (parsed.over ?? limitProblem(review.request.object, runtime.limits ?? DEFAULT_ADMISSION_LIMITS));
    const result: ValidationResult = deadline.expired
      ? validationDeadlineAnswer(runtime.validator, review, deadline.timeout)
      : over
        ? validationLimitAnswer(runtime.validator, review, describeLimitProblem(over))
        : validateAdmission(runtime.validator, review);

    if (result.checked && result.mode !== undefined && webhookMetrics) recordValidation(webhookMetrics, result.mode, result.allowed, result.findings);
    request.meshAdmission = {
      outcome: result.error !== undefined ? 'error' : result.allowed ? 'allowed' : 'denied',
      reason: deadline.expired ? 'deadlineExceeded' : over ? 'limitExceeded' : result.checked && result.mode !== undefined ? result.mode : 'notChecked',
    };
    // The one log line of this review (level error when the validator threw).
    const fields = {
      uid: review.request.uid,
      operation: result.operation || undefined,
      kind: result.subject.kind,
      namespace: result.subject.namespace,
      name: result.subject.name,
      ...(review.request.dryRun === true ? { dryRun: true } : {}),
      mode: result.mode,
      findings: result.findings.map((f) => f.code),
      allowed: result.allowed,
      ...(result.reason !== undefined ? { reason: result.reason } : {}),
      durationMs: Math.round((clock() - request.meshReceivedAt) * 100) / 100,
    };
    if (result.error === undefined) request.log.info(fields, 'validation');
    else request.log.error({ ...fields, err: result.error }, 'validation');
    return result.review;
  };

  // POST /explain: the decision trace of a posted AdmissionReview (its request.object), Pod or workload, as JSON.
  const explainHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    if (mediaTypeOf(request.headers['content-type']) !== 'application/json') return refuse(request, reply, 415, unsupportedMediaType(request));
    if (request.body instanceof UnparsedBody) return refuse(request, reply, 400, `cannot explain: ${describeLimitProblem(request.body.problem)}`);
    const body = request.body as Record<string, unknown> | undefined;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return refuse(request, reply, 400, 'request body must be an AdmissionReview, a Pod or a workload (a JSON object)');
    }
    let object: unknown = body;
    let namespace: string | undefined;
    let uid: string | undefined;
    if (body['kind'] === 'AdmissionReview') {
      let review: AdmissionReviewRequest;
      try {
        review = validateAdmissionReview(body);
      } catch (err) {
        if (err instanceof AdmissionReviewError) return refuse(request, reply, 400, err.message);
        throw err;
      }
      object = review.request.object;
      uid = review.request.uid;
      namespace = typeof review.request.namespace === 'string' && review.request.namespace !== '' ? review.request.namespace : undefined;
    }
    const runtime = currentRuntime();
    if (runtime === undefined) return refuse(request, reply, 503, 'mesh-webhook is not ready: no configuration loaded');
    const over = limitProblem(object, runtime.limits ?? DEFAULT_ADMISSION_LIMITS);
    if (over) return refuse(request, reply, 400, `cannot explain: ${describeLimitProblem(over)}`);
    const explanation = explainerOf(runtime).explain(object, namespace !== undefined ? { namespace } : {});
    if (explanation === undefined) {
      return refuse(request, reply, 400, 'the object is not a Pod or a workload with a pod template (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, ...)');
    }
    request.meshAdmission = { outcome: 'explained', reason: explanation.decision.rule };
    request.log.info(
      {
        ...(uid !== undefined ? { uid } : {}),
        kind: explanation.kind,
        namespace: explanation.namespace,
        name: explanation.name,
        decision: explanation.decision.inject ? 'inject' : 'skip',
        rule: explanation.decision.rule,
        outcome: explanation.injector.outcome,
        durationMs: Math.round((clock() - request.meshReceivedAt) * 100) / 100,
      },
      'explanation',
    );
    return explanation;
  };

  const handlers = { inject: injectHandler, validate: validateHandler, explain: explainHandler } as const;
  for (const { url, endpoint } of ADMISSION_ROUTES) {
    if (endpoint === 'explain' && !opts.explain) {
      // Off unless asked for: say so at once (404), before the body is parsed.
      const off = 'POST /explain is not enabled on this server (mesh-webhook serve --explain turns it on)';
      app.post(url, { bodyLimit: BODY_LIMITS[endpoint], onRequest: async (request, reply) => refuse(request, reply, 404, off) }, unreachable);
      continue;
    }
    app.post(url, { bodyLimit: BODY_LIMITS[endpoint], config: { endpoint } satisfies RouteConfig }, handlers[endpoint]);
  }

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
