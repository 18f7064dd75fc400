/**
 * App probe rewrite (Istio's app_probe.go): kubelet probes and lifecycle hooks of application containers are sent to
 * the proxy's status port (`/app-health/<container>/readyz|livez|startupz`, `/app-lifecycle/<container>/prestopz|poststartz`),
 * and the proxy learns the original actions from `ISTIO_KUBE_APP_PROBERS`. Needed because with STRICT mTLS the
 * kubelet cannot reach the application directly.
 */
import type { Container, HTTPGetAction, Lifecycle, Probe } from '../k8s/types.js';
import { PROXY_CONTAINER } from './containers.js';
import { PROBE_ACTIONS, encodeStruct } from './gojson.js';

export const APP_PROBERS_ENV = 'ISTIO_KUBE_APP_PROBERS';

const PROBES = [
  ['readinessProbe', 'readyz'],
  ['livenessProbe', 'livez'],
  ['startupProbe', 'startupz'],
] as const;
const HOOKS = [
  ['preStop', 'prestopz'],
  ['postStart', 'poststartz'],
] as const;

const healthUrl = (container: string, kind: string) => `/app-health/${container}/${kind}`;
const lifecycleUrl = (container: string, kind: string) => `/app-lifecycle/${container}/${kind}`;

type Handler = { httpGet?: HTTPGetAction; tcpSocket?: { port?: number | string }; grpc?: unknown; timeoutSeconds?: number };

/** The Prober JSON of one probe for the proxy, or undefined when the proxy cannot or need not carry it. */
function proberJson(handler: Handler, ports: Map<string, number>, statusPort: number): string | undefined {
  if (handler.grpc) return proberEncode({ grpc: handler.grpc, timeoutSeconds: handler.timeoutSeconds });
  const action = handler.httpGet ? 'httpGet' : handler.tcpSocket ? 'tcpSocket' : undefined;
  if (!action) return undefined;
  const original = handler[action] as { port?: number | string };
  let port = original.port;
  if (typeof port === 'string') {
    const resolved = ports.get(port);
    if (resolved === undefined) return undefined;
    port = resolved;
  } else if (port === statusPort) {
    return undefined; // already rewritten
  }
  return proberEncode({ [action]: { ...original, port }, timeoutSeconds: handler.timeoutSeconds });
}

function proberEncode(p: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const key of ['httpGet', 'tcpSocket', 'grpc'] as const) {
    if (p[key]) parts.push(`"${key}":${encodeStruct(p[key], PROBE_ACTIONS[key])}`);
  }
  if (typeof p.timeoutSeconds === 'number' && p.timeoutSeconds !== 0) parts.push(`"timeoutSeconds":${p.timeoutSeconds}`);
  return `{${parts.join(',')}}`;
}

/**
 * `ISTIO_KUBE_APP_PROBERS` for the pod: a JSON object (keys sorted) of URL → original action. `previous` (the value of an
 * earlier injection) is merged in, its entries winning. Empty string when there is nothing to carry.
 */
export function appProbers(containers: readonly Container[], statusPort: number, previous?: string): string {
  const entries = new Map<string, string>();
  for (const c of containers) {
    if (c.name === PROXY_CONTAINER) continue;
    const ports = new Map<string, number>();
    for (const p of c.ports ?? []) if (p.name && typeof p.containerPort === 'number') ports.set(p.name, p.containerPort);
    for (const [field, kind] of PROBES) {
      const probe = c[field];
      if (!probe) continue;
      const json = proberJson(probe as Handler, ports, statusPort);
      if (json) entries.set(healthUrl(c.name, kind), json);
    }
    for (const [hook, kind] of HOOKS) {
      const handler = c.lifecycle?.[hook] as Handler | undefined;
      if (!handler || handler.grpc) continue;
      const json = proberJson(handler, ports, statusPort);
      if (json) entries.set(lifecycleUrl(c.name, kind), json);
    }
  }
  if (previous) {
    try {
      const prev = JSON.parse(previous) as Record<string, unknown>;
      for (const [url, prober] of Object.entries(prev)) entries.set(url, JSON.stringify(prober));
    } catch {
      /* an unreadable previous value is replaced */
    }
  }
  if (entries.size === 0) return '';
  const keys = [...entries.keys()].sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${entries.get(k)}`).join(',')}}`;
}

function rewriteHandler<T extends Handler & Record<string, unknown>>(handler: T, url: string, statusPort: number): T | undefined {
  if (handler.httpGet) {
    const httpGet: HTTPGetAction = { ...handler.httpGet, port: statusPort, path: url };
    if (httpGet.scheme === 'HTTPS') httpGet.scheme = 'HTTP';
    return { ...handler, httpGet };
  }
  if (handler.tcpSocket || handler.grpc) {
    const { tcpSocket: _t, grpc: _g, ...rest } = handler;
    return { ...rest, httpGet: { path: url, port: statusPort } } as T;
  }
  return undefined;
}

/** The container with its probes and lifecycle hooks pointed at the status port (the same object when nothing changes). */
export function rewriteContainerProbes(c: Container, statusPort: number): Container {
  if (c.name === PROXY_CONTAINER) return c;
  let out = c;
  for (const [field, kind] of PROBES) {
    const probe = c[field];
    if (!probe) continue;
    const rewritten = rewriteHandler(probe as Probe & Handler, healthUrl(c.name, kind), statusPort);
    if (rewritten) out = { ...out, [field]: rewritten };
  }
  if (c.lifecycle) {
    let lifecycle: Lifecycle = c.lifecycle;
    for (const [hook, kind] of HOOKS) {
      const handler = c.lifecycle[hook];
      if (!handler || (handler as Handler).grpc) continue;
      const rewritten = rewriteHandler(handler as Handler & Record<string, unknown>, lifecycleUrl(c.name, kind), statusPort);
      if (rewritten) lifecycle = { ...lifecycle, [hook]: rewritten };
    }
    if (lifecycle !== c.lifecycle) out = { ...out, lifecycle };
  }
  return out;
}

/** `handler` with its original action back when it is the rewritten one (an httpGet to `url`). */
function restoredHandler<T>(handler: T, url: string, original: unknown): T {
  const h = handler as Handler & Record<string, unknown>;
  if (typeof original !== 'object' || original === null || h?.httpGet?.path !== url) return handler;
  const saved = original as Record<string, unknown>;
  const action = (['httpGet', 'tcpSocket', 'grpc'] as const).find((a) => typeof saved[a] === 'object' && saved[a] !== null);
  if (!action) return handler;
  const { httpGet: _rewritten, ...rest } = h;
  return { ...rest, [action]: saved[action] } as T;
}

/**
 * The inverse of {@link rewriteContainerProbes}: the container's probes and lifecycle hooks with the actions the
 * rewrite replaced given back, from `probers` (the parsed `ISTIO_KUBE_APP_PROBERS`, URL → original action).
 */
export function restoreContainerProbes(c: Container, probers: Readonly<Record<string, unknown>>): Container {
  if (c.name === PROXY_CONTAINER) return c;
  let out = c;
  for (const [field, kind] of PROBES) {
    const url = healthUrl(c.name, kind);
    if (c[field] && Object.hasOwn(probers, url)) out = { ...out, [field]: restoredHandler(c[field], url, probers[url]) };
  }
  if (c.lifecycle) {
    let lifecycle: Lifecycle = c.lifecycle;
    for (const [hook, kind] of HOOKS) {
      const url = lifecycleUrl(c.name, kind);
      if (c.lifecycle[hook] && Object.hasOwn(probers, url)) lifecycle = { ...lifecycle, [hook]: restoredHandler(c.lifecycle[hook], url, probers[url]) };
    }
    if (lifecycle !== c.lifecycle) out = { ...out, lifecycle };
  }
  return out;
}
