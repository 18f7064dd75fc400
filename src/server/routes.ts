/**
 * The routes of the admission listener, in one table. Every per-endpoint concern (the client certificate, the overload
 * guard, the body limit, the metrics label, the count caps) reads the endpoint from the route Fastify matched
 * (`request.routeOptions.config`), never from the raw URL: Fastify routes the percent-decoded path, so a check on the
 * raw text could be walked around with `/%69nject`.
 */
import type { FastifyRequest, HTTPMethods } from 'fastify';

/** The endpoints that take an AdmissionReview (or, for explain, an object) in a POST body. */
export type AdmissionEndpoint = 'inject' | 'validate' | 'explain';

/** What a route carries in its Fastify `config`: the endpoint, on the admission routes only. */
export interface RouteConfig {
  readonly endpoint?: AdmissionEndpoint;
}

const MiB = 1024 * 1024;

/**
 * Largest accepted body per endpoint. The API server accepts requests of up to 3 MiB and keeps objects of up to
 * 1.5 MiB in etcd; re-encoded as JSON an object can grow, so, like Istio's injector (pkg/kube MaxRequestBodyBytes),
 * one object may take 6 MiB. /validate also sees UPDATEs, whose review carries the object and the old object: twice.
 */
export const BODY_LIMITS: Readonly<Record<AdmissionEndpoint, number>> = Object.freeze({
  inject: 6 * MiB,
  validate: 12 * MiB,
  explain: 6 * MiB,
});

export interface AdmissionRoute {
  readonly url: string;
  readonly endpoint: AdmissionEndpoint;
}

/** POST routes of the admission endpoints (`/inject/*` carries Istio's path parameters). */
export const ADMISSION_ROUTES: readonly AdmissionRoute[] = [
  { url: '/inject', endpoint: 'inject' },
  { url: '/inject/*', endpoint: 'inject' },
  { url: '/validate', endpoint: 'validate' },
  { url: '/validate/', endpoint: 'validate' },
  { url: '/explain', endpoint: 'explain' },
];

/** GET (and HEAD) routes: liveness, readiness, and the metrics (when the server has a registry). */
export const PROBE_ROUTES = { healthz: '/healthz', readyz: '/readyz', metrics: '/metrics' } as const;

const ALL_METHODS: readonly HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'QUERY'];

/** The methods a path does not accept, for its 405 route. */
export function otherMethods(allowed: readonly HTTPMethods[]): HTTPMethods[] {
  return ALL_METHODS.filter((m) => !allowed.includes(m));
}

/** The admission endpoint of the route a request matched; undefined for probes, metrics and unknown paths. */
export function endpointOf(request: FastifyRequest): AdmissionEndpoint | undefined {
  return (request.routeOptions.config as RouteConfig | undefined)?.endpoint;
}

/**
 * The path after the route's first segment, as sent (not decoded), for Istio's path parameters
 * (`/inject/cluster/c1/net/n1`): segments are decoded one by one later, so an encoded `/` stays inside its segment.
 * The first segment is whatever spelling of `inject` the router matched.
 */
export function rawTail(url: string): string {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const slash = path.indexOf('/', 1);
  return slash === -1 ? '' : path.slice(slash);
}
