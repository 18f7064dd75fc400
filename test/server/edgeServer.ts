/**
 * A real HTTPS webhook server for the edge tests (routes, early answers): the Kyma profile, no logging, no event-loop
 * monitor, its own metrics, and optionally an overload guard that sheds every admission (an injected delay far above
 * the target). Servers are closed by closeEdgeServers() (call it from afterEach).
 */
import { profileConfig } from '../../src/config/profiles.js';
import { createMetrics, type WebhookMetrics } from '../../src/metrics.js';
import { buildServer, type BuildServerOptions } from '../../src/server/app.js';
import { createRuntime } from '../../src/server/runtime.js';
import { testCertificates } from '../helpers/https.js';

const runtime = createRuntime(profileConfig('kyma'));
const closers: (() => Promise<void>)[] = [];

export async function closeEdgeServers(): Promise<void> {
  await Promise.all(closers.splice(0).map((close) => close()));
}

export interface EdgeServer {
  port: number;
  /** PEM of the CA the server certificate chains to. */
  ca: string;
  metrics: WebhookMetrics;
}

export async function startEdgeServer(options: Partial<BuildServerOptions> & { shedAll?: boolean } = {}): Promise<EdgeServer> {
  const certs = await testCertificates();
  const { shedAll, ...rest } = options;
  const metrics = createMetrics({ processMetrics: false });
  const app = buildServer({
    injector: runtime,
    tls: { cert: certs.cert, key: certs.key, ...(rest.tls ?? {}) },
    logger: false,
    metrics,
    eventLoop: false,
    ...(shedAll ? { overload: { eventLoopDelayMs: () => 100_000, intervalMs: 5 } } : {}),
    ...rest,
  });
  const guard = app.overloadGuard;
  await app.listen({ host: '127.0.0.1', port: 0 });
  closers.push(async () => {
    guard?.close();
    await app.close();
  });
  if (guard) {
    for (let i = 0; i < 400 && guard.state().shedRatio < 1; i++) await new Promise((r) => setTimeout(r, 5));
    if (guard.state().shedRatio < 1) throw new Error('the overload guard did not start shedding');
  }
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return { port: address.port, ca: certs.ca, metrics };
}
