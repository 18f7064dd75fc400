/**
 * The admission plugin: `POST /inject` (and `/inject/*`, Istio's path parameters), `POST /validate`, `POST /explain`,
 * each declared once from the route table (src/server/routes.ts) with the hooks it carries, in lifecycle order:
 *
 *   onRequest:  requireClientCertificate   (with a client CA: 401/403 before anything else)
 *   preParsing: overload.shed              (under overload: "overloaded, retry" before the body is parsed)
 *   preHandler: checkDeadline              (the `?timeout=` budget, spent or not)
 *   handler:    inject | validate | explain (src/server/handlers/)
 *   onResponse: countAdmission             (the per-request metrics, once the answer is sent)
 *
 * Probes and metrics carry none of them (src/server/probesPlugin.ts). Other methods on these paths get 405 with
 * `Allow`, before any body is read; `/explain` answers 404 unless the server was built with `explain: true`.
 */
import type { FastifyInstance, FastifyPluginCallback, RouteHandlerMethod, RouteOptions } from 'fastify';
import type { OverloadGuard } from './overload.js';
import { checkDeadline, countAdmission, requireClientCertificate } from './hooks.js';
import type { HandlerContext } from './handlers/context.js';
import { explainHandler } from './handlers/explain.js';
import { injectHandler } from './handlers/inject.js';
import { validateHandler } from './handlers/validate.js';
import { methodNotAllowed, refuse } from './replies.js';
import { ADMISSION_ROUTES, BODY_LIMITS, otherMethods, type AdmissionEndpoint, type RouteConfig } from './routes.js';

export interface AdmissionPluginOptions {
  context: HandlerContext;
  /** Admission routes need a verified client certificate (the server has a client CA). */
  clientCertificates: boolean;
  /** Load shedding; absent: none. */
  overload: OverloadGuard | undefined;
  /** Serve POST /explain. */
  explain: boolean;
}

const unreachable = async () => undefined;

const EXPLAIN_OFF = 'POST /explain is not enabled on this server (mesh-webhook serve --explain turns it on)';

const plugin: FastifyPluginCallback<AdmissionPluginOptions> = (app: FastifyInstance, opts, done) => {
  const { context } = opts;
  const handlers: Record<AdmissionEndpoint, RouteHandlerMethod> = {
    inject: injectHandler(context),
    validate: validateHandler(context),
    explain: explainHandler(context),
  };
  const hooks: Pick<RouteOptions, 'onRequest' | 'preParsing' | 'preHandler' | 'onResponse'> = {
    ...(opts.clientCertificates ? { onRequest: [requireClientCertificate] } : {}),
    ...(opts.overload ? { preParsing: [opts.overload.shed] } : {}),
    preHandler: [checkDeadline(context.clock)],
    ...(context.metrics ? { onResponse: [countAdmission(context.metrics, context.clock)] } : {}),
  };

  for (const { url, endpoint } of ADMISSION_ROUTES) {
    const bodyLimit = BODY_LIMITS[endpoint];
    app.route({ method: otherMethods(['POST']), url, bodyLimit, onRequest: methodNotAllowed('POST'), handler: unreachable });
    if (endpoint === 'explain' && !opts.explain) {
      // Off unless asked for: said at once (404), before the body is read.
      app.post(url, { bodyLimit, onRequest: async (request, reply) => refuse(request, reply, 404, EXPLAIN_OFF) }, unreachable);
      continue;
    }
    app.route({ method: 'POST', url, bodyLimit, config: { endpoint } satisfies RouteConfig, ...hooks, handler: handlers[endpoint] });
  }
  done();
};

// Not encapsulated (fastify's documented `skip-override`): the routes carry their own hooks, and hooks the caller adds
// to the server later (tests) still reach them.
(plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

export const admissionPlugin = plugin;
