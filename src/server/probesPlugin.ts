/**
 * The probes plugin: `GET /healthz` (the process answers), `GET /readyz` (a runtime is loaded, the extra readiness
 * condition holds, the server is not shutting down, the event loop is not overloaded) and `GET /metrics` (Prometheus
 * text) when the server has a registry. No client certificate, no shedding, no admission metrics. Other methods on
 * these paths get 405 with `Allow`.
 */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import type { Registry } from 'prom-client';
import type { LoopMonitor } from './health.js';
import { methodNotAllowed } from './replies.js';
import { otherMethods, PROBE_ROUTES } from './routes.js';
import type { WebhookRuntime } from './runtime.js';

export interface ProbesPluginOptions {
  runtime: () => WebhookRuntime | undefined;
  shuttingDown: () => boolean;
  ready: (() => boolean) | undefined;
  loop: LoopMonitor | undefined;
  registry: Registry | undefined;
}

const plugin: FastifyPluginCallback<ProbesPluginOptions> = (app: FastifyInstance, opts, done) => {
  app.get(PROBE_ROUTES.healthz, async () => ({ status: 'ok' }));

  app.get(PROBE_ROUTES.readyz, async (_request, reply) => {
    if (opts.shuttingDown()) return reply.code(503).send({ status: 'not ready', reason: 'shutting down' });
    if (opts.runtime() === undefined) return reply.code(503).send({ status: 'not ready', reason: 'injector not loaded' });
    if (opts.ready && !opts.ready()) return reply.code(503).send({ status: 'not ready' });
    const stalled = opts.loop?.readinessProblem();
    if (stalled !== undefined) return reply.code(503).send({ status: 'not ready', reason: stalled });
    return { status: 'ready' };
  });

  const { registry } = opts;
  if (registry) {
    app.get(PROBE_ROUTES.metrics, async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  }

  for (const url of Object.values(PROBE_ROUTES).filter((p) => p !== PROBE_ROUTES.metrics || registry)) {
    app.route({ method: otherMethods(['GET', 'HEAD']), url, onRequest: methodNotAllowed('GET, HEAD'), handler: async () => undefined });
  }
  done();
};

(plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

export const probesPlugin = plugin;
