/**
 * Prometheus metrics of the webhook (prom-client). One {@link WebhookMetrics} per server: its own registry, so
 * several servers in one process (tests) do not share counters. Served as text on `GET /metrics`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type ReloadResult = 'success' | 'failure';

export interface WebhookMetrics {
  readonly registry: Registry;
  /** `mesh_webhook_config_reloads_total{result}`: configuration reloads after a file change. */
  readonly configReloads: Counter<'result'>;
  /** `mesh_webhook_certificate_reloads_total{result}`: serving certificate reloads after a file change. */
  readonly certificateReloads: Counter<'result'>;
  /** `mesh_webhook_certificate_expiry_timestamp_seconds`: notAfter of the serving certificate in use (Unix seconds). */
  readonly certificateExpiry: Gauge;
  /** `mesh_webhook_validation_requests_total{mode,allowed}`: validated AdmissionReviews (CREATE/UPDATE) by mode and answer. */
  readonly validationRequests: Counter<'mode' | 'allowed'>;
  /** `mesh_webhook_validation_findings_total{code,severity,mode}`: findings reported by the validating endpoint. */
  readonly validationFindings: Counter<'code' | 'severity' | 'mode'>;
  /**
   * `mesh_webhook_admission_requests_total{endpoint,outcome,reason}`: requests to the admission endpoints. endpoint:
   * `inject`, `validate` or `explain`; outcome: `injected`, `skipped`, `rejected`, `error` (inject), `allowed`,
   * `denied`, `error` (validate), `explained` (explain), `refused` (answered with an HTTP error status, any endpoint)
   * or `shed` (answered "overloaded, retry" by the overload guard); reason: a bounded code (the decision rule, a
   * rejection category, the validation mode, the HTTP status), never free text.
   */
  readonly admissionRequests: Counter<'endpoint' | 'outcome' | 'reason'>;
  /** `mesh_webhook_admission_duration_seconds{endpoint}`: from the request's arrival to the answer being sent. */
  readonly admissionDuration: Histogram<'endpoint'>;
  /** Where the `mesh_webhook_cluster_cache_*` gauges read the informer cache's state (set by {@link trackClusterCache}). */
  readonly clusterCache: { source: (() => ClusterCacheMetricsState | undefined) | undefined };
}

/** The part of the cluster cache's state (src/cluster/cache.ts ClusterCacheState) the metrics read. */
export interface ClusterCacheMetricsState {
  namespaces: number;
  nodes: number;
  informers: Record<string, { synced: boolean; connected: boolean; lastSyncTime: number | undefined }>;
}

export interface CreateMetricsOptions {
  /** Node.js process metrics (prom-client collectDefaultMetrics: CPU, memory, event loop lag, GC, handles); default true. */
  processMetrics?: boolean;
}

export const CONFIG_RELOADS = 'mesh_webhook_config_reloads_total';
export const CERTIFICATE_RELOADS = 'mesh_webhook_certificate_reloads_total';
export const CERTIFICATE_EXPIRY = 'mesh_webhook_certificate_expiry_timestamp_seconds';
export const VALIDATION_REQUESTS = 'mesh_webhook_validation_requests_total';
export const VALIDATION_FINDINGS = 'mesh_webhook_validation_findings_total';
export const ADMISSION_REQUESTS = 'mesh_webhook_admission_requests_total';
export const ADMISSION_DURATION = 'mesh_webhook_admission_duration_seconds';
export const CLUSTER_CACHE_SYNCED = 'mesh_webhook_cluster_cache_synced';
export const CLUSTER_CACHE_CONNECTED = 'mesh_webhook_cluster_cache_connected';
export const CLUSTER_CACHE_LAST_SYNC = 'mesh_webhook_cluster_cache_last_sync_timestamp_seconds';
export const CLUSTER_CACHE_OBJECTS = 'mesh_webhook_cluster_cache_objects';
/** Every value of the `outcome` label of {@link ADMISSION_REQUESTS}. */
export const ADMISSION_OUTCOMES = ['injected', 'skipped', 'rejected', 'error', 'allowed', 'denied', 'explained', 'refused', 'shed'] as const;
/** Admission latency buckets, in seconds: 0.5 ms .. 10 s (the API server's default webhook timeout). */
export const ADMISSION_DURATION_BUCKETS: readonly number[] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];


/** A fresh registry with the webhook's metrics; both reload results start at 0 so they are exported from the start. */
export function createMetrics(options: CreateMetricsOptions = {}): WebhookMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const configReloads = new Counter({
    name: CONFIG_RELOADS,
    help: 'Configuration reloads after a change of the configuration files, by result (failure: the last good configuration stays).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const certificateReloads = new Counter({
    name: CERTIFICATE_RELOADS,
    help: 'Serving certificate reloads after a change of the certificate or key file, by result (failure: the old certificate stays).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const certificateExpiry = new Gauge({
    name: CERTIFICATE_EXPIRY,
    help: 'Expiry (notAfter) of the serving certificate in use, as a Unix timestamp in seconds.',
    registers: [registry],
  });
  const validationRequests = new Counter({
    name: VALIDATION_REQUESTS,
    help: 'AdmissionReviews validated by /validate (CREATE and UPDATE), by validation mode and whether they were allowed.',
    labelNames: ['mode', 'allowed'] as const,
    registers: [registry],
  });
  const validationFindings = new Counter({
    name: VALIDATION_FINDINGS,
    help: 'Findings of the validating endpoint, by rule code, severity and the validation mode of the request.',
    labelNames: ['code', 'severity', 'mode'] as const,
    registers: [registry],
  });
  for (const result of ['success', 'failure'] as const) {
    configReloads.inc({ result }, 0);
    certificateReloads.inc({ result }, 0);
  }
  const admissionRequests = new Counter({
    name: ADMISSION_REQUESTS,
    help: 'Requests to the admission endpoints, by endpoint (inject, validate, explain), outcome (injected, skipped, rejected, allowed, denied, error, explained, refused, shed) and reason (decision rule, rejection category, validation mode or HTTP status).',
    labelNames: ['endpoint', 'outcome', 'reason'] as const,
    registers: [registry],
  });
  const admissionDuration = new Histogram({
    name: ADMISSION_DURATION,
    help: 'Time from the arrival of an admission request to its answer, in seconds, by endpoint.',
    labelNames: ['endpoint'] as const,
    buckets: [...ADMISSION_DURATION_BUCKETS],
    registers: [registry],
  });
  const clusterCache: WebhookMetrics['clusterCache'] = { source: undefined };
  // The cache gauges read the cache's state at scrape time (no samples without a cluster).
  const cacheGauge = (name: string, help: string, value: (s: ClusterCacheMetricsState, resource: string) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['resource'] as const,
      registers: [registry],
      collect() {
        this.reset();
        const state = clusterCache.source?.();
        if (!state) return;
        for (const resource of Object.keys(state.informers).sort()) {
          const v = value(state, resource);
          if (v !== undefined) this.set({ resource }, v);
        }
      },
    });
  cacheGauge(CLUSTER_CACHE_SYNCED, 'Whether the informer of the resource (namespaces, nodes) has listed at least once (1) or not (0).', (s, r) =>
    s.informers[r]?.synced ? 1 : 0,
  );
  cacheGauge(CLUSTER_CACHE_CONNECTED, 'Whether the informer of the resource is watching now (1) or retrying after an error (0).', (s, r) =>
    s.informers[r]?.connected ? 1 : 0,
  );
  cacheGauge(CLUSTER_CACHE_LAST_SYNC, 'Last time the informer of the resource received data from the API server, as a Unix timestamp in seconds.', (s, r) => {
    const t = s.informers[r]?.lastSyncTime;
    return t === undefined ? undefined : t / 1000;
  });
  cacheGauge(CLUSTER_CACHE_OBJECTS, 'Objects of the resource in the informer cache.', (s, r) =>
    r === 'namespaces' ? s.namespaces : r === 'nodes' ? s.nodes : undefined,
  );
  return {
    registry,
    configReloads,
    certificateReloads,
    certificateExpiry,
    validationRequests,
    validationFindings,
    admissionRequests,
    admissionDuration,
    clusterCache,
  };
}

/** Serve the state of the informer cache (ClusterCache.state) as the `mesh_webhook_cluster_cache_*` gauges. */
export function trackClusterCache(metrics: Pick<WebhookMetrics, 'clusterCache'>, source: () => ClusterCacheMetricsState | undefined): void {
  metrics.clusterCache.source = source;
}

/** Count one answered admission request and observe its duration. */
export function recordAdmission(
  metrics: Pick<WebhookMetrics, 'admissionRequests' | 'admissionDuration'>,
  labels: { endpoint: string; outcome: string; reason: string },
  seconds: number,
): void {
  metrics.admissionRequests.inc(labels);
  metrics.admissionDuration.observe({ endpoint: labels.endpoint }, Math.max(0, seconds));
}

/** Count one validated review and its findings. */
export function recordValidation(
  metrics: Pick<WebhookMetrics, 'validationRequests' | 'validationFindings'>,
  mode: string,
  allowed: boolean,
  findings: readonly { code: string; severity: string }[],
): void {
  metrics.validationRequests.inc({ mode, allowed: String(allowed) });
  for (const f of findings) metrics.validationFindings.inc({ code: f.code, severity: f.severity, mode });
}

/** The current value of a counter with these labels (0 when never incremented); for tests and logs. */
export async function counterValue(counter: Counter<'result'>, result: ReloadResult): Promise<number> {
  const data = await counter.get();
  return data.values.find((v) => v.labels['result'] === result)?.value ?? 0;
}
