/**
 * `serve`'s defaults in one dependency-free module: the server reads them, and so does the CLI's help text without
 * loading the server stack (Fastify, prom-client).
 */

/** HTTPS port of the webhook. */
export const DEFAULT_PORT = 8443;
/** This machine only: `npm start` is not reachable from the network. A pod asks for all interfaces (`--host 0.0.0.0`). */
export const DEFAULT_HOST = '127.0.0.1';
/** Connections the webhook listener keeps open at most. */
export const DEFAULT_MAX_CONNECTIONS = 1000;
/**
 * After SIGTERM, how long the server keeps serving (not ready) before it closes the listener: the time the endpoint
 * controller and kube-proxy need to stop sending new connections here.
 */
export const DEFAULT_SHUTDOWN_DELAY_MS = 5_000;
/** Plain-HTTP /metrics listener. */
export const DEFAULT_METRICS_PORT = 9090;
/** This machine only unless asked (`--metrics-host 0.0.0.0`, as the Deployment does so Prometheus can scrape it). */
export const DEFAULT_METRICS_HOST = '127.0.0.1';
/** The overload guard: the event-loop delay it keeps admissions under, and the admissions in flight at most. */
export const DEFAULT_TARGET_DELAY_MS = 500;
export const DEFAULT_MAX_IN_FLIGHT = 1000;
