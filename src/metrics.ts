/**
 * Prometheus metrics of the webhook (prom-client). One {@link WebhookMetrics} per server: its own registry, so
 * several servers in one process (tests) do not share counters. Served as text on `GET /metrics`.
 */
import { Counter, Gauge, Registry } from 'prom-client';

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
}

export const CONFIG_RELOADS = 'mesh_webhook_config_reloads_total';
export const CERTIFICATE_RELOADS = 'mesh_webhook_certificate_reloads_total';
export const CERTIFICATE_EXPIRY = 'mesh_webhook_certificate_expiry_timestamp_seconds';
export const VALIDATION_REQUESTS = 'mesh_webhook_validation_requests_total';
export const VALIDATION_FINDINGS = 'mesh_webhook_validation_findings_total';

/** A fresh registry with the webhook's metrics; both reload results start at 0 so they are exported from the start. */
export function createMetrics(): WebhookMetrics {
  const registry = new Registry();
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
  return { registry, configReloads, certificateReloads, certificateExpiry, validationRequests, validationFindings };
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
