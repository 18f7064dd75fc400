/** serve() with self-managed certificates from startClusterIntegration, against the API double (end to end). */
import { afterEach, describe, expect, it } from 'vitest';
import { startClusterIntegration, type ClusterIntegration } from '../../src/server/clusterIntegration.js';
import { serveClusterOptions } from '../../src/server/clusterIntegration.js';
import { serve, type RunningServer } from '../../src/server/serve.js';
import { loadConfig } from '../../src/config/load.js';
import { createRuntime } from '../../src/server/runtime.js';
import { httpsRequest } from '../helpers/https.js';
import { pino } from 'pino';
import { waitFor } from '../helpers/wait.js';
import { startHarness, type Harness } from './helpers.js';

describe('serve with self-managed certificates', () => {
  let h: Harness;
  let cluster: ClusterIntegration | undefined;
  let running: RunningServer | undefined;
  afterEach(async () => {
    await running?.close();
    await cluster?.stop();
    await h.close();
  });

  async function start(initialWaitMs: number) {
    const plan = serveClusterOptions({ kubeconfig: h.kubeconfig }, { hasCertFiles: false, env: {}, serviceAccountRoot: '/nonexistent' });
    const logger = pino({ level: 'silent' });
    cluster = await startClusterIntegration({ ...plan.options, logger, initialWaitMs, retry: { initialMs: 20, maxMs: 100 }, onCertificate: (tls) => running?.setCertificates(tls) });
    running = await serve({
      injector: createRuntime(loadConfig({}), cluster.view),
      logger,
      port: 0,
      host: '127.0.0.1',
      handleSignals: false,
      selfManaged: { current: () => cluster?.certificates?.current(), interimNames: plan.serviceNames },
      out: { write: () => true } as unknown as NodeJS.WritableStream,
    });
    return running;
  }

  const bundle = () =>
    Buffer.from(((h.api.get('mutatingwebhookconfigurations', 'mesh-webhook')?.webhooks as any[])[0].clientConfig.caBundle ?? '') as string, 'base64').toString();

  it('serves the certificate the caBundle trusts, ready', async () => {
    h = await startHarness();
    h.api.apply('mutatingwebhookconfigurations', { metadata: { name: 'mesh-webhook' }, webhooks: [{ name: 'a', clientConfig: {} }] });
    h.api.apply('validatingwebhookconfigurations', { metadata: { name: 'mesh-webhook' }, webhooks: [{ name: 'b', clientConfig: {} }] });
    const r = await start(20_000);
    await waitFor('the caBundle', () => bundle() !== '');
    const res = await httpsRequest(`${r.url}/readyz`, { ca: bundle(), servername: 'mesh-webhook.mesh-webhook.svc' });
    expect(res.status).toBe(200);
  });

  it('API down at start: interim certificate and not ready, then the real one and ready', async () => {
    h = await startHarness();
    h.api.apply('mutatingwebhookconfigurations', { metadata: { name: 'mesh-webhook' }, webhooks: [{ name: 'a', clientConfig: {} }] });
    h.api.apply('validatingwebhookconfigurations', { metadata: { name: 'mesh-webhook' }, webhooks: [{ name: 'b', clientConfig: {} }] });
    await h.api.down();
    const r = await start(100);
    const https = await import('node:https');
    const status = () =>
      new Promise<number>((resolve, reject) => {
        https.get(`${r.url}/readyz`, { rejectUnauthorized: false, agent: false }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject);
      });
    expect(await status()).toBe(503);
    await h.api.up();
    await waitFor('ready', async () => bundle() !== '' && (await status()) === 200);
    const res = await httpsRequest(`${r.url}/readyz`, { ca: bundle(), servername: 'mesh-webhook.mesh-webhook.svc' });
    expect(res.status).toBe(200);
  });
});
