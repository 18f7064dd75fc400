/**
 * Prometheus metrics merge: the pod's `prometheus.io/*` annotations are handed to the proxy (ISTIO_PROMETHEUS_ANNOTATIONS)
 * and replaced by the proxy's merged endpoint on the status port, so one scrape gets app and Envoy metrics.
 */
import { parseGoBool } from './annotations.js';
import { quoteValue } from './quote.js';

/** Ports the proxy owns: a scrape port among them would loop metrics through the proxy. */
export const RESERVED_PROXY_PORTS: readonly number[] = [15000, 15001, 15004, 15006, 15008, 15020, 15021, 15053, 15090];

const MERGE_METRICS = 'prometheus.istio.io/merge-metrics';
const SCRAPE_TARGETS = 'prometheus.istio.io/scrape-targets';
const sanitize = (k: string) => k.replace(/[^a-zA-Z0-9_]/g, '_');
const SCRAPE = 'prometheus_io_scrape';
const PATH = 'prometheus_io_path';
const PORT = 'prometheus_io_port';

function find(annotations: Record<string, string>, sanitized: string): string | undefined {
  // sanitize keeps the length: only keys of the same length can match.
  for (const k in annotations) if (k.length === sanitized.length && sanitize(k) === sanitized) return annotations[k];
  return undefined;
}

export function prometheusPort(annotations: Record<string, string>): string | undefined {
  return find(annotations, PORT);
}

/** Annotations without any variant of prometheus.io/scrape, path and port. */
export function withoutPrometheusAnnotations(annotations: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(annotations)) if (![SCRAPE, PATH, PORT].includes(sanitize(k))) out[k] = v;
  return out;
}

export type PrometheusMerge =
  | { kind: 'unchanged' }
  | { kind: 'merged'; annotations: Record<string, string>; proxyEnv?: string }
  | { kind: 'error'; message: string };

export function mergePrometheus(annotations: Record<string, string>, statusPort: number, meshEnabled: boolean): PrometheusMerge {
  const scrape = find(annotations, SCRAPE);
  if (parseGoBool(scrape) === false) return { kind: 'unchanged' };
  const enabled = parseGoBool(annotations[MERGE_METRICS]) ?? meshEnabled;
  if (!enabled) return { kind: 'unchanged' };
  const target = String(statusPort);
  const port = find(annotations, PORT);
  if (port === target) return { kind: 'unchanged' };
  if (port !== undefined && port !== '') {
    const n = Number(port);
    if (!/^\d+$/.test(port) || n < 1 || n > 65535) {
      return { kind: 'error', message: `invalid value '${quoteValue(port)}' for annotation 'prometheus.io/port': must be a port number (1-65535)` };
    }
    if (RESERVED_PROXY_PORTS.includes(n)) {
      return {
        kind: 'error',
        message: `invalid value '${port}' for annotation 'prometheus.io/port': port ${n} is reserved by the Istio proxy (${RESERVED_PROXY_PORTS.join(', ')}); expose the application's metrics on another port`,
      };
    }
  }
  const path = find(annotations, PATH);
  const parts: string[] = [];
  if (scrape || path || port || annotations[SCRAPE_TARGETS]) {
    parts.push(`"scrape":${JSON.stringify(scrape ?? '')}`, `"path":${JSON.stringify(path ?? '')}`, `"port":${JSON.stringify(port ?? '')}`);
    const targets = annotations[SCRAPE_TARGETS];
    if (targets) {
      const list = targets
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean)
        .map((t) => {
          const [p = '', ...rest] = t.split(':');
          return `{"port":${JSON.stringify(p)},"path":${JSON.stringify(rest.join(':'))}}`;
        });
      parts.push(`"targets":[${list.join(',')}]`);
    }
  }
  const merged = withoutPrometheusAnnotations(annotations);
  merged['prometheus.io/port'] = target;
  merged['prometheus.io/path'] = '/stats/prometheus';
  merged['prometheus.io/scrape'] = 'true';
  return { kind: 'merged', annotations: merged, proxyEnv: parts.length ? `{${parts.join(',')}}` : undefined };
}
