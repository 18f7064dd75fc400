import type { WebhookMetrics } from '../../metrics.js';
import type { WebhookRuntime } from '../runtime.js';

/** What the admission handlers read: the runtime of the request (read once), the clock, the metrics. */
export interface HandlerContext {
  runtime(): WebhookRuntime | undefined;
  clock(): number;
  metrics: WebhookMetrics | undefined;
}
