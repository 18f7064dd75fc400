/**
 * The hooks of the server, each one concern, composed per route (src/server/admissionPlugin.ts lists them in one line
 * per route, as fastify routes carry their hooks). What they leave on the request is declared here.
 */
import type { TLSSocket } from 'node:tls';
import type { FastifyReply, FastifyRequest, onRequestHookHandler, onResponseHookHandler, preHandlerHookHandler } from 'fastify';
import { recordAdmission, type WebhookMetrics } from '../metrics.js';
import type { LoopMonitor } from './health.js';
import { admissionBudgetMs, parseGoDuration } from './params.js';
import { refuse } from './replies.js';
import { endpointOf } from './routes.js';
import { clientCertificateProblem } from './tls.js';

/** The deadline of an admission: whether its budget was spent before the handler ran, and the budget as text. */
export interface Deadline {
  expired: boolean;
  timeout: string;
}

/** How an admission request ended, for its metrics: the outcome and a bounded reason. */
export interface AdmissionLabels {
  outcome: string;
  reason: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Clock reading when the request arrived, minus any wait in a stalled event loop ({@link receivedAt}). */
    meshReceivedAt: number;
    /** The admission's deadline ({@link checkDeadline}); undefined before that hook ran. */
    meshDeadline: Deadline | undefined;
    /** How the admission ended, set by its handler or the overload guard ({@link countAdmission}). */
    meshAdmission: AdmissionLabels | null;
  }
}

/** Milliseconds since the request arrived, rounded to 0.01 ms (the `durationMs` of the log lines). */
export function elapsedMs(request: FastifyRequest, clock: () => number): number {
  return Math.round((clock() - request.meshReceivedAt) * 100) / 100;
}

/**
 * onRequest, every route: when the request arrived. Minus the time it may have waited in a stalled event loop, or since
 * its connection was accepted (the first request on a connection); see src/server/health.ts.
 */
export function receivedAt(clock: () => number, loop: LoopMonitor | undefined): onRequestHookHandler {
  return (request, _reply, done) => {
    request.meshReceivedAt = clock() - (loop?.waitedMs(request.raw.socket) ?? 0);
    done();
  };
}

/** onRequest, admission routes with a client CA: a verified client certificate, or 401/403 (src/server/tls.ts). */
export const requireClientCertificate: onRequestHookHandler = (request, reply, done) => {
  const problem = clientCertificateProblem(request.raw.socket as TLSSocket);
  if (problem) refuse(request, reply, problem.status, problem.message);
  else done();
};

/**
 * preHandler, admission routes: the API server stops waiting after `?timeout=` (default 10 s) from when it sent the
 * request. The core is synchronous and fast, so the only way to overrun is time spent before the handler runs
 * (queueing, a slow body); the handlers answer an expired request at once ("deadline passed, retry").
 */
export function checkDeadline(clock: () => number): preHandlerHookHandler {
  return (request, _reply, done) => {
    const query = request.query as Record<string, unknown> | undefined;
    const timeoutText = typeof query?.['timeout'] === 'string' ? (query['timeout'] as string) : undefined;
    const budgetMs = admissionBudgetMs(timeoutText);
    const expired = clock() - request.meshReceivedAt >= budgetMs;
    const timeout = timeoutText !== undefined && (parseGoDuration(timeoutText.trim()) ?? 0) > 0 ? timeoutText.trim() : `${budgetMs / 1000}s`;
    request.meshDeadline = { expired, timeout };
    done();
  };
}

/**
 * onResponse, admission routes: every answer counted once, when it has been sent: the handler's outcome, and any HTTP
 * error status (415, 400, 413, 503, ...) as outcome "refused" with the status as reason.
 */
export function countAdmission(metrics: WebhookMetrics, clock: () => number): onResponseHookHandler {
  return (request: FastifyRequest, reply: FastifyReply, done) => {
    const endpoint = endpointOf(request);
    if (endpoint !== undefined) {
      const status = reply.statusCode;
      const labels =
        request.meshAdmission && (status < 400 || request.meshAdmission.outcome === 'shed')
          ? { endpoint, ...request.meshAdmission }
          : { endpoint, outcome: 'refused', reason: String(status) };
      recordAdmission(metrics, labels, (clock() - request.meshReceivedAt) / 1000);
    }
    done();
  };
}
