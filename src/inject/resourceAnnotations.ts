/**
 * Requests above limits, which the API server refuses, caught by the injector with a message that says where they
 * came from.
 *
 * The proxy's resource annotations (`sidecar.istio.io/proxyCPU`, `proxyMemory`, `proxyCPULimit`, `proxyMemoryLimit`)
 * replace the configured resources of istio-proxy and istio-init as a whole (Istio's template). Istio checks each value
 * on its own; a request above its limit passes, and the API server then refuses the pod with a message about the
 * container's resources that names neither annotation. The injector refuses such a pod itself, naming both annotations.
 */
import type { Container } from '../k8s/types.js';
import { A, quoteValue } from './annotations.js';
import { compareQuantities } from './quantity.js';

/** A request annotation whose value is above the limit annotation for the same resource. */
export interface ResourceConflict {
  resource: 'cpu' | 'memory';
  request: { annotation: string; value: string };
  limit: { annotation: string; value: string };
}

const PAIRS = [
  { resource: 'cpu', request: A.proxyCPU, limit: A.proxyCPULimit },
  { resource: 'memory', request: A.proxyMemory, limit: A.proxyMemoryLimit },
] as const;

/** Every resource whose request annotation is above its limit annotation (a value that is not a quantity is skipped: the annotation validators report it). */
export function resourceConflicts(annotations: Readonly<Record<string, string>>): ResourceConflict[] {
  const conflicts: ResourceConflict[] = [];
  for (const { resource, request, limit } of PAIRS) {
    const requested = annotations[request];
    const limited = annotations[limit];
    if (requested === undefined || limited === undefined) continue;
    const order = compareQuantities(requested, limited);
    if (order !== undefined && order > 0) {
      conflicts.push({ resource, request: { annotation: request, value: requested }, limit: { annotation: limit, value: limited } });
    }
  }
  return conflicts;
}

/** One line naming both annotations, both values and the way out; `at` prefixes each annotation's path (validator). */
export function describeResourceConflict(c: ResourceConflict, at = ''): string {
  const name = (annotation: string) => (at ? `${at}["${annotation}"]` : `annotation ${annotation}`);
  return (
    `${name(c.request.annotation)} '${quoteValue(c.request.value)}' is above ${name(c.limit.annotation)} '${quoteValue(c.limit.value)}': ` +
    `the API server refuses a container whose ${c.resource} request is above its limit; lower the request or raise the limit`
  );
}

/**
 * The first request above its limit in an injected container (`names`: the containers the template renders), after
 * the pod's declared container or `proxy.istio.io/overrides` were merged over the configured resources (e.g. a
 * declared istio-proxy asking for 1Gi of memory under the configured 128Mi limit). A message, or undefined.
 */
export function injectedResourceProblem(containers: readonly Container[], names: ReadonlySet<string>): string | undefined {
  for (const c of containers) {
    if (!names.has(c.name)) continue;
    const requests = c.resources?.requests ?? {};
    const limits = c.resources?.limits ?? {};
    for (const [resource, request] of Object.entries(requests)) {
      const limit = limits[resource];
      if (request === undefined || limit === undefined) continue;
      const order = compareQuantities(String(request), String(limit));
      if (order !== undefined && order > 0) {
        return (
          `mesh-webhook: cannot inject: container ${c.name} would request ${resource} '${quoteValue(String(request))}' above its limit ` +
          `'${quoteValue(String(limit))}' (the pod's declared ${c.name} or proxy.istio.io/overrides is merged over the configured resources), ` +
          'which the API server refuses; make the declared request fit the limit, or declare the limit too'
        );
      }
    }
  }
  return undefined;
}
