/**
 * Load shedding for the admission endpoints: under overload, answer at once with a fast, explicit "overloaded,
 * retry" instead of answering late (or not within the API server's `?timeout=`, default 10 s).
 *
 * Node serves every request on one thread; there is no request queue we could look at. What queues is the work of
 * one event-loop turn: every connection with data is served in turn, so when N requests arrive together the last one
 * waits for the N-1 before it. The event-loop delay (how late a timer fires) is that wait, measured by the server's
 * loop monitor (perf_hooks.monitorEventLoopDelay, plus the lateness of its heartbeat: src/server/health.ts). The guard
 * samples it every `intervalMs` and keeps a
 * shed ratio: up while the delay is above `targetDelayMs`, down (slowly) once it is below half of it. That fraction of
 * new admissions is shed, spread evenly. A shed admission costs a fraction of a served one (the body is not parsed,
 * nothing is injected, the answer is a few hundred bytes), so the turn shortens and the delay of the rest falls back
 * toward the target. Two hard limits protect memory whatever the delay: admissions in flight (headers received,
 * answer not yet sent) and the sum of their bodies (Content-Length).
 *
 * What a shed admission gets (measured and argued in bench/RESULTS.md, "Overload"):
 * - `POST /inject`: HTTP 200, an AdmissionReview with `allowed: false`, `status.code: 429`, `reason: TooManyRequests`,
 *   `details.retryAfterSeconds` and a message saying to retry. The API server denies the pod creation with HTTP 429
 *   and `Retry-After` to whoever created it; client-go callers (the ReplicaSet, Job, StatefulSet controllers, kubectl)
 *   retry by themselves after that delay. The API server's request ends at once (it does not hold a seat while
 *   retrying us), and a pod is never let through without its sidecar, whatever the webhook's failurePolicy.
 *   (HTTP 429 would be a call failure instead: with failurePolicy Fail the API server retries us for the rest of its
 *   timeout, then answers "Internal error: failed calling webhook"; with Ignore it would admit the pod uninjected.)
 * - `POST /validate`: HTTP 429 with `Retry-After` and `{ "error": ... }`: a call failure on purpose, so the
 *   validating webhook's failurePolicy decides, as it does whenever the validator cannot answer (Ignore, warn-only:
 *   the object is admitted unvalidated; Fail, enforce: it is rejected).
 * - `POST /explain` (when served): HTTP 429 with `Retry-After`, as /validate.
 * Nothing else is ever shed (health, readiness, metrics). Either answer goes out once the request body has been read
 * (the server's onSend hook), so a client still sending never has its connection reset under it.
 *
 * Wiring: buildServer({ overload }) creates the guard; its shedding hook is one of the admission routes' hooks
 * (src/server/admissionPlugin.ts), and the delay it steers by comes from the server's one event-loop monitor
 * (src/server/health.ts, `takeDelayMs`). This module keeps the control loop and the decision to shed.
 */
import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest, RequestPayload } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import { readReviewIdentity } from '../admission/identity.js';
import { overloadedAnswer } from '../admission/review.js';
import { endpointOf } from './routes.js';
import { DEFAULT_MAX_IN_FLIGHT, DEFAULT_TARGET_DELAY_MS } from './defaults.js';

export interface OverloadGuardOptions {
  /**
   * Event-loop delay the guard steers to, in ms: above it the shed ratio rises, below half of it the ratio falls.
   * Default {@link DEFAULT_TARGET_DELAY_MS}. Keep it above the delay of the heaviest normal load (it is about
   * concurrency × cost of one admission), so only overload is shed.
   */
  targetDelayMs?: number;
  /** Admissions in flight beyond which every new one is shed; default {@link DEFAULT_MAX_IN_FLIGHT}. */
  maxInFlight?: number;
  /** Bytes of admission bodies in flight (by Content-Length) beyond which new ones are shed; default 64 MiB. */
  maxInFlightBytes?: number;
  /** Retry delay sent to clients (`Retry-After`, `retryAfterSeconds`); default 1. */
  retryAfterSeconds?: number;
  /** How often the delay is sampled and the ratio adjusted, in ms; default 50. */
  intervalMs?: number;
  /** Register `mesh_webhook_overload_*` metrics in this registry (the server's, so GET /metrics shows them). */
  registry?: Registry;
  /** Where entering and leaving overload is logged (one line each, at most every 5 s); default none. */
  logger?: FastifyBaseLogger;
  /** Tests: the event-loop delay in ms instead of measuring it. */
  eventLoopDelayMs?: () => number;
}

export { DEFAULT_MAX_IN_FLIGHT, DEFAULT_TARGET_DELAY_MS };
export const DEFAULT_MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024;
export const OVERLOAD_SHED = 'mesh_webhook_overload_shed_total';
export const OVERLOAD_SHED_RATIO = 'mesh_webhook_overload_shed_ratio';
export const EVENT_LOOP_DELAY = 'mesh_webhook_overload_event_loop_delay_seconds';

export type ShedReason = 'event_loop_delay' | 'in_flight' | 'in_flight_bytes';

export interface OverloadState {
  /** Largest event-loop delay of the last sampling interval, ms. */
  delayMs: number;
  /** Fraction of new admissions being shed (0..1). */
  shedRatio: number;
  inFlight: number;
  inFlightBytes: number;
  /** Admissions shed since start, by reason. */
  shed: Record<ShedReason, number>;
}

export interface OverloadGuard {
  state(): OverloadState;
  /** Stop sampling (also done when the server closes). */
  close(): void;
  /**
   * The preParsing hook of the admission routes: after the headers, before the body is read and parsed (what makes
   * shedding cheap). A shed request is answered here; any other goes on, counted in flight until its answer is sent.
   */
  shed(request: FastifyRequest, reply: FastifyReply, payload: RequestPayload, done: (err: Error | null, value?: RequestPayload) => void): void;
}

const LOG_EVERY_MS = 5_000;

/**
 * Start the guard's control loop. `measuredDelayMs`: the largest event-loop delay since it was last called (the
 * server's loop monitor); `opts.eventLoopDelayMs` replaces it in tests.
 */
export function createOverloadGuard(opts: OverloadGuardOptions, measuredDelayMs: () => number): OverloadGuard {
  const targetMs = opts.targetDelayMs ?? DEFAULT_TARGET_DELAY_MS;
  const maxInFlight = opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const maxInFlightBytes = opts.maxInFlightBytes ?? DEFAULT_MAX_IN_FLIGHT_BYTES;
  const retryAfter = Math.max(1, Math.round(opts.retryAfterSeconds ?? 1));
  const intervalMs = opts.intervalMs ?? 50;
  const logger = opts.logger;

  const metrics = opts.registry
    ? {
        shed: new Counter({
          name: OVERLOAD_SHED,
          help: 'Admissions answered "overloaded, retry" without being processed, by endpoint and reason (event_loop_delay, in_flight, in_flight_bytes).',
          labelNames: ['endpoint', 'reason'] as const,
          registers: [opts.registry],
        }),
        ratio: new Gauge({ name: OVERLOAD_SHED_RATIO, help: 'Fraction of new admissions being shed (0 when not overloaded).', registers: [opts.registry] }),
        delay: new Gauge({ name: EVENT_LOOP_DELAY, help: 'Largest event-loop delay of the last sampling interval, in seconds.', registers: [opts.registry] }),
      }
    : undefined;

  const sampleDelayMs = opts.eventLoopDelayMs ?? measuredDelayMs;
  let delayMs = 0;
  let ratio = 0;
  let credit = 0;
  let inFlight = 0;
  let inFlightBytes = 0;
  const shed: Record<ShedReason, number> = { event_loop_delay: 0, in_flight: 0, in_flight_bytes: 0 };
  let shedSinceLog = 0;
  let overloadedSince: number | undefined;
  let lastLog = 0;

  const timer = setInterval(() => {
    const d = sampleDelayMs();
    delayMs = d;
    // Up fast (in proportion to how far over the target), down slowly (about 2.5 s from all to none at 50 ms).
    if (d > targetMs) ratio = Math.min(1, ratio + 0.1 * Math.min(5, d / targetMs));
    else if (d < targetMs / 2) ratio = Math.max(0, ratio - 0.02);
    if (ratio === 0) credit = 0;
    metrics?.ratio.set(ratio);
    metrics?.delay.set(d / 1000);

    if (logger) {
      const now = performance.now();
      const shedding = ratio > 0 || shedSinceLog > 0;
      if (shedding && overloadedSince === undefined) {
        overloadedSince = now;
        lastLog = now;
        logger.warn({ eventLoopDelayMs: Math.round(d), shedRatio: round2(ratio), inFlight }, 'overloaded: shedding admissions ("overloaded, retry")');
      } else if (shedding && now - lastLog >= LOG_EVERY_MS) {
        lastLog = now;
        logger.warn({ eventLoopDelayMs: Math.round(d), shedRatio: round2(ratio), inFlight, shed: shedSinceLog }, 'overloaded: still shedding admissions');
        shedSinceLog = 0;
      } else if (!shedding && overloadedSince !== undefined) {
        logger.info({ overloadedMs: Math.round(now - overloadedSince), shed: shedSinceLog }, 'no longer overloaded');
        overloadedSince = undefined;
        shedSinceLog = 0;
      }
    }
  }, intervalMs);
  timer.unref();

  const close = () => clearInterval(timer);

  const shedHook: OverloadGuard['shed'] = (request, reply, payload, done) => {
    const raw = request.raw;
    const endpoint = endpointOf(request);
    if (endpoint === undefined) return done(null, payload);
    const length = Number(raw.headers['content-length']) || 0;
    let reason: ShedReason | undefined;
    if (inFlight >= maxInFlight) reason = 'in_flight';
    else if (inFlightBytes + length > maxInFlightBytes && inFlight > 0) reason = 'in_flight_bytes';
    else if (ratio > 0) {
      credit += ratio;
      if (credit >= 1) {
        credit -= 1;
        reason = 'event_loop_delay';
      }
    }
    if (reason === undefined || length > request.routeOptions.bodyLimit) {
      inFlight++;
      inFlightBytes += length;
      reply.raw.once('close', () => {
        inFlight--;
        inFlightBytes -= length;
      });
      return done(null, payload);
    }

    shed[reason]++;
    shedSinceLog++;
    // Counted by the server's admission metrics as outcome "shed" (not as a refused request), whatever the status.
    request.meshAdmission = { outcome: 'shed', reason };
    metrics?.shed.inc({ endpoint, reason });
    const why = reason === 'event_loop_delay' ? `requests wait ${Math.round(delayMs)} ms` : reason === 'in_flight' ? `${inFlight} admissions in flight` : `${Math.round(inFlightBytes / 1048576)} MiB of admissions in flight`;
    const message = `mesh-webhook is overloaded (${why}); retry in ${retryAfter}s`;
    // The server's onSend hook reads the rest of the body before this answer goes out (src/server/app.ts).
    if (endpoint !== 'inject') {
      tooManyRequests(reply, retryAfter, message);
      return;
    }
    readReviewIdentity(payload, (identity) => {
      if (reply.sent) return;
      if (!identity) tooManyRequests(reply, retryAfter, message);
      else void reply.code(200).type('application/json; charset=utf-8').send(overloadedAnswer(identity, message, retryAfter));
    });
  };

  return {
    state: () => ({ delayMs, shedRatio: ratio, inFlight, inFlightBytes, shed: { ...shed } }),
    close,
    shed: shedHook,
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function tooManyRequests(reply: FastifyReply, retryAfter: number, message: string): void {
  void reply.code(429).header('retry-after', String(retryAfter)).type('application/json; charset=utf-8').send({ error: message });
}

