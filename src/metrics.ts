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
}

export const CONFIG_RELOADS = 'mesh_webhook_config_reloads_total';
export const CERTIFICATE_RELOADS = 'mesh_webhook_certificate_reloads_total';
export const CERTIFICATE_EXPIRY = 'mesh_webhook_certificate_expiry_timestamp_seconds';

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
  for (const result of ['success', 'failure'] as const) {
    configReloads.inc({ result }, 0);
    certificateReloads.inc({ result }, 0);
  }
  return { registry, configReloads, certificateReloads, certificateExpiry };
}

/** The current value of a counter with these labels (0 when never incremented); for tests and logs. */
export async function counterValue(counter: Counter<'result'>, result: ReloadResult): Promise<number> {
  const data = await counter.get();
  return data.values.find((v) => v.labels['result'] === result)?.value ?? 0;
}
