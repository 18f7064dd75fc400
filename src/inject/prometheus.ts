/**
 * Prometheus metrics merge (Istio's pkg/kube/inject/webhook.go applyPrometheusMerge, applySecurePrometheusAnnotation):
 * the pod's `prometheus.io/*` annotations and `prometheus.istio.io/scrape-targets` are handed to the proxy as
 * ISTIO_PROMETHEUS_ANNOTATIONS and replaced by the proxy's merged endpoint on the status port, so one scrape gets the
 * application's and Envoy's metrics. Annotation keys are matched as Prometheus reads them: `prometheus.io/port`,
 * `prometheus.io.port` and `prometheus-io/port` are the same key (every character but [a-zA-Z0-9_] read as `_`).
 */
import { goAtoi, goJsonString, goQuote, goTrimSpace } from '../util/goStrings.js';
import { parseGoBool } from './annotations.js';
import { quoteValue } from './quote.js';

/**
 * The data-plane ports the proxy and agent own, with Istio's reason for each (pilot/cmd/pilot-agent/status/server.go
 * istioReservedPorts). A scrape target among them would scrape the proxy itself, or scrape Envoy twice.
 */
export const RESERVED_PROXY_PORTS: ReadonlyMap<string, string> = new Map([
  ['15000', 'Envoy admin'],
  ['15001', 'outbound traffic capture'],
  ['15004', 'pilot debug'],
  ['15006', 'inbound traffic capture'],
  ['15008', 'HBONE tunnel'],
  ['15020', 'pilot-agent status / merged Prometheus'],
  ['15021', 'Envoy health'],
  ['15053', 'DNS proxy'],
  ['15090', 'Envoy Prometheus (already merged)'],
]);

const MERGE_METRICS = 'prometheus.istio.io/merge-metrics';
const SCRAPE = 'prometheus_io_scrape';
const PATH = 'prometheus_io_path';
const PORT = 'prometheus_io_port';
const SCRAPE_TARGETS = 'prometheus_istio_io_scrape_targets';
const SECURE_PORT = 'prometheus_istio_io_secure_port';
/** What the merge removes (and stripPod, on re-injection): Istio's clearPrometheusAnnotations. */
const CLEARED = [SCRAPE, PATH, PORT, SCRAPE_TARGETS];

/** Prometheus's strutil.SanitizeLabelName: each character (code point) outside [a-zA-Z0-9_] becomes `_`. */
const sanitize = (key: string) => key.replace(/[^a-zA-Z0-9_]/gu, '_');

/** The first annotation whose key Prometheus reads as `sanitized`: [key, value]. */
function find(annotations: Record<string, string>, sanitized: string): [string, string] | undefined {
  // Sanitizing never lengthens a key: shorter keys cannot match.
  for (const k in annotations) if (k.length >= sanitized.length && sanitize(k) === sanitized) return [k, annotations[k]!];
  return undefined;
}

export function prometheusPort(annotations: Record<string, string>): string | undefined {
  return find(annotations, PORT)?.[1];
}

/** Whether the pod asks for a scrape: the first variant of prometheus.io/scrape that is a boolean, else true. */
function wantsScrape(annotations: Record<string, string>): boolean {
  for (const k in annotations) {
    if (sanitize(k) !== SCRAPE) continue;
    const scrape = parseGoBool(annotations[k]);
    if (scrape !== undefined) return scrape;
  }
  return true;
}

/** Annotations without any variant of prometheus.io/scrape, path, port and prometheus.istio.io/scrape-targets. */
export function withoutPrometheusAnnotations(annotations: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(annotations)) if (!CLEARED.includes(sanitize(k))) out[k] = v;
  return out;
}

export interface ScrapeTarget {
  port: string;
  path: string;
}

/**
 * `prometheus.istio.io/scrape-targets`, as Istio's status.ParseScrapeTargets reads it: comma-separated `port[:path]`
 * entries, each trimmed; empty entries skipped; the path after the first `:` (trimmed), `/metrics` when there is none
 * or it is empty. An entry without a port is an error (a message), which makes Istio ignore the whole annotation.
 */
export function parseScrapeTargets(raw: string): ScrapeTarget[] | string {
  const targets: ScrapeTarget[] = [];
  for (const item of raw.split(',')) {
    const entry = goTrimSpace(item);
    if (entry === '') continue;
    const colon = entry.indexOf(':');
    const port = goTrimSpace(colon < 0 ? entry : entry.slice(0, colon));
    if (port === '') return `empty port in scrape target ${goQuote(quoteValue(entry))}`;
    const path = colon < 0 ? '' : goTrimSpace(entry.slice(colon + 1));
    targets.push({ port, path: path === '' ? '/metrics' : path });
  }
  return targets;
}

/** Istio's status.IstioReservedPortReason: the reason a port (compared as text) is the proxy's, or undefined. */
export function reservedPortReason(port: string): string | undefined {
  return RESERVED_PROXY_PORTS.get(port);
}

/** Istio's port check of one scrape port: a port number, not the agent's, not reserved; the problem or undefined. */
function scrapePortProblem(port: string, agentPort: string, target: boolean): string | undefined {
  const n = goAtoi(port);
  const what = target ? 'target port' : 'port';
  if (n === undefined || n < 1 || n > 65535) return `invalid ${what} ${goQuote(quoteValue(port))}`;
  const canonical = String(n);
  if (canonical === agentPort) return `${what} ${quoteValue(port)} conflicts with agent port`;
  const reason = reservedPortReason(canonical);
  if (reason !== undefined) return `${what} ${quoteValue(port)} is reserved for Istio (${reason}) and cannot be scraped`;
  return undefined;
}

export type PrometheusMerge =
  | { kind: 'unchanged' }
  | { kind: 'merged'; annotations: Record<string, string>; proxyEnv?: string }
  | { kind: 'error'; message: string; reason: string; annotation: string };

/**
 * Istio's applyPrometheusMerge. Nothing changes when the pod turns scraping off, the merge is off (the pod's
 * prometheus.istio.io/merge-metrics, else the mesh setting), or prometheus.io/port is already the status port (merged
 * before). Otherwise the scrape configuration is checked: with scrape targets, every target port (the first target's
 * port and path then stand in for prometheus.io/port and path, for agents that do not read targets); without, the
 * prometheus.io/port. It is handed to the proxy as JSON (`proxyEnv`, unless every field is empty) and the scrape
 * annotations are replaced by the status port's merged endpoint.
 */
export function mergePrometheus(annotations: Record<string, string>, statusPort: number, meshEnabled: boolean): PrometheusMerge {
  if (!wantsScrape(annotations)) return { kind: 'unchanged' };
  const enabled = parseGoBool(annotations[MERGE_METRICS]) ?? meshEnabled;
  if (!enabled) return { kind: 'unchanged' };
  const agentPort = String(statusPort);
  const portAnnotation = find(annotations, PORT);
  if (portAnnotation?.[1] === agentPort) return { kind: 'unchanged' };

  const scrape = find(annotations, SCRAPE)?.[1] ?? '';
  let path = find(annotations, PATH)?.[1] ?? '';
  let port = portAnnotation?.[1] ?? '';
  const targetsAnnotation = find(annotations, SCRAPE_TARGETS);
  // Istio logs an unparsable scrape-targets annotation and goes on without it (the merge still removes it).
  const parsed = targetsAnnotation ? parseScrapeTargets(targetsAnnotation[1]) : [];
  const targets = typeof parsed === 'string' ? [] : parsed;

  if (targets.length > 0) {
    port = targets[0]!.port;
    path = targets[0]!.path;
    for (const target of targets) {
      const problem = scrapePortProblem(target.port, agentPort, true);
      if (problem) {
        return {
          kind: 'error',
          reason: 'invalid prometheus scrape targets',
          annotation: targetsAnnotation![0],
          message: `invalid prometheus scrape targets: ${problem}; list the application's own metrics ports in the annotation '${quoteValue(targetsAnnotation![0])}'`,
        };
      }
    }
  } else if (port !== '') {
    const problem = scrapePortProblem(port, agentPort, false);
    if (problem) {
      return {
        kind: 'error',
        reason: 'invalid prometheus scrape configuration',
        annotation: portAnnotation![0],
        message: `invalid prometheus scrape configuration: ${problem}; set the annotation '${quoteValue(portAnnotation![0])}' to the application's own metrics port`,
      };
    }
  }

  let proxyEnv: string | undefined;
  if (scrape !== '' || path !== '' || port !== '' || targets.length > 0) {
    // Istio's status.PrometheusScrapeConfiguration as encoding/json writes it: targets omitted when empty.
    const fields = [`"scrape":${goJsonString(scrape)}`, `"path":${goJsonString(path)}`, `"port":${goJsonString(port)}`];
    if (targets.length > 0) fields.push(`"targets":[${targets.map((t) => `{"port":${goJsonString(t.port)},"path":${goJsonString(t.path)}}`).join(',')}]`);
    proxyEnv = `{${fields.join(',')}}`;
  }
  const merged = withoutPrometheusAnnotations(annotations);
  merged['prometheus.io/port'] = agentPort;
  merged['prometheus.io/path'] = '/stats/prometheus';
  merged['prometheus.io/scrape'] = 'true';
  return { kind: 'merged', annotations: merged, proxyEnv };
}

/**
 * Istio's applySecurePrometheusAnnotation: the port Prometheus scrapes over mTLS, from the proxy's
 * ENVOY_SECURE_MERGED_METRICS_PORT (the first that is neither empty nor `0`, which means none), unless the pod set
 * prometheus.istio.io/secure-port (any spelling) itself. Undefined when nothing is to be added.
 */
export function securePrometheusPort(annotations: Record<string, string>, proxyEnv: readonly { name: string; value?: string }[] | undefined): string | undefined {
  if (find(annotations, SECURE_PORT)) return undefined;
  const env = proxyEnv?.find((e) => e.name === 'ENVOY_SECURE_MERGED_METRICS_PORT' && e.value !== undefined && e.value !== '' && e.value !== '0');
  return env?.value;
}
