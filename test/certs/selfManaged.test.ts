/**
 * Self-managed certificates against the API test double: creation, caBundle patching, replicas agreeing on one
 * certificate (creation race, renewal race with injected conflicts), renewal with a fake clock, CA rollover with an
 * overlap, and an API server that is down at start. Clocks are fake where validity matters; nothing asserts timing.
 */
import { X509Certificate } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectCluster, type ClusterClient } from '../../src/cluster/client.js';
import {
  DEFAULT_CA_OVERLAP_MS,
  ROLLOVER_ANNOTATION,
  startSelfManagedCertificates,
  type SelfManagedCertificates,
  type SelfManagedOptions,
  type ServingCertificate,
} from '../../src/certs/selfManaged.js';
import { DAY_MS, splitPemCertificates } from '../../src/certs/x509.js';
import { buildServer, updateCertificates } from '../../src/server/app.js';
import { generateDevCertificates } from '../../src/tls/devcert.js';
import { httpsRequest } from '../helpers/https.js';
import { NAMESPACE, recordingLogger, startHarness, type Harness, type RecordingLogger } from '../cluster/helpers.js';
import { waitFor } from '../helpers/wait.js';

const SECRET = 'mesh-webhook-tls';
const NAMES = ['mesh-webhook.mesh-webhook.svc', 'mesh-webhook.mesh-webhook.svc.cluster.local', 'mesh-webhook.mesh-webhook', 'mesh-webhook'];

function webhookConfigs(h: Harness): void {
  const cc = { service: { name: 'mesh-webhook', namespace: NAMESPACE, path: '/inject' } };
  h.api.apply('mutatingwebhookconfigurations', { metadata: { name: 'mesh-webhook' }, webhooks: [{ name: 'inject.mesh-webhook.kyma-project.io', clientConfig: cc }] });
  h.api.apply('validatingwebhookconfigurations', {
    metadata: { name: 'mesh-webhook' },
    webhooks: [
      { name: 'a.mesh-webhook.kyma-project.io', clientConfig: cc },
      { name: 'b.mesh-webhook.kyma-project.io', clientConfig: { ...cc, caBundle: Buffer.from('stale').toString('base64') } },
    ],
  });
}

function secretData(h: Harness): Record<string, string> {
  const s = h.api.get('secrets', SECRET, NAMESPACE);
  if (!s) throw new Error('no Secret');
  return Object.fromEntries(Object.entries(s.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

function caBundles(h: Harness): string[] {
  return (['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'] as const).flatMap((p) =>
    ((h.api.get(p, 'mesh-webhook')?.webhooks ?? []) as { clientConfig: { caBundle?: string } }[]).map((w) =>
      Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString('utf8'),
    ),
  );
}

const writes = (h: Harness, from = 0) => h.api.requests.slice(from).filter((r) => r.method !== 'GET');

interface Replica {
  certs: SelfManagedCertificates;
  log: RecordingLogger;
  seen: ServingCertificate[];
}

describe('self-managed certificates', () => {
  let h: Harness;
  let now: number;
  const replicas: Replica[] = [];

  function startReplica(client: ClusterClient = h.client, extra: Partial<SelfManagedOptions> = {}): Replica {
    const log = recordingLogger();
    const seen: ServingCertificate[] = [];
    const certs = startSelfManagedCertificates({
      client,
      namespace: NAMESPACE,
      secretName: SECRET,
      service: 'mesh-webhook',
      webhookNames: { mutating: 'mesh-webhook', validating: 'mesh-webhook' },
      onCertificate: (tls) => seen.push(tls),
      logger: log,
      clock: () => now,
      retry: { initialMs: 20, maxMs: 200 },
      ...extra,
    });
    const r = { certs, log, seen };
    replicas.push(r);
    return r;
  }

  beforeEach(async () => {
    h = await startHarness();
    webhookConfigs(h);
    now = Date.now();
  });

  afterEach(async () => {
    await Promise.all(replicas.splice(0).map((r) => r.certs.stop()));
    await h.close();
  });

  it('first start: creates the Secret, patches every caBundle, serves a certificate the API server would trust', async () => {
    const r = startReplica();
    const tls = await r.certs.waitForCertificate(20_000);
    expect(tls).toBeDefined();
    // The certificate is handed over before the caBundles are patched; a second check queues after the first.
    expect(await r.certs.checkNow()).toEqual({ patched: [], missing: [] });
    const secret = h.api.get('secrets', SECRET, NAMESPACE)!;
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(secret.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'mesh-webhook' });
    const data = secretData(h);
    expect(Object.keys(data).sort()).toEqual(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    expect(tls).toMatchObject({ cert: data['tls.crt'], key: data['tls.key'], ca: data['ca.crt'] });
    expect(r.seen).toHaveLength(1);

    const ca = new X509Certificate(data['ca.crt']!);
    const leaf = new X509Certificate(data['tls.crt']!);
    expect(ca.ca).toBe(true);
    expect(ca.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(leaf.checkIssued(ca) && leaf.verify(ca.publicKey)).toBe(true);
    expect(Date.parse(ca.validTo) - now).toBeGreaterThan(3649 * DAY_MS);
    expect(Date.parse(leaf.validTo) - now).toBeGreaterThan(364 * DAY_MS);
    expect(Date.parse(leaf.validTo) - now).toBeLessThanOrEqual(365 * DAY_MS);
    for (const name of NAMES) expect(leaf.checkHost(name, { subject: 'never' })).toBe(name);
    expect(tls!.notAfter.getTime()).toBe(Date.parse(leaf.validTo));

    // Every webhook of both configurations, including the one with a stale bundle.
    expect(caBundles(h)).toEqual([data['ca.crt'], data['ca.crt'], data['ca.crt']]);
    const patches = h.api.requests.filter((r) => r.method === 'PATCH');
    expect(patches.map((p) => p.contentType)).toEqual(['application/json-patch+json', 'application/json-patch+json']);

    // Nothing to do on the next check: no write at all.
    const mark = h.api.requests.length;
    expect(await r.certs.checkNow()).toEqual({ patched: [], missing: [] });
    expect(writes(h, mark)).toEqual([]);

    // What the API server does: verify the webhook's certificate against the caBundle, for the Service's name.
    const app = buildServer({ injector: () => undefined, tls: { cert: tls!.cert, key: tls!.key }, logger: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const port = (app.server.address() as { port: number }).port;
      const res = await httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca: caBundles(h)[0]!, servername: 'mesh-webhook.mesh-webhook.svc' });
      expect(res.status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('two replicas starting together agree on one certificate, through conflicts on the configurations', async () => {
    const other = await connectCluster({ kubeconfig: h.kubeconfig });
    h.api.injectConflicts('mutatingwebhookconfigurations', 'mesh-webhook', 2);
    h.api.injectConflicts('validatingwebhookconfigurations', 'mesh-webhook', 1);
    const a = startReplica();
    const b = startReplica(other);
    const [ta, tb] = await Promise.all([a.certs.waitForCertificate(20_000), b.certs.waitForCertificate(20_000)]);
    const data = secretData(h);
    expect(ta?.cert).toBe(data['tls.crt']);
    expect(tb?.cert).toBe(data['tls.crt']);
    const created = [...a.log.lines, ...b.log.lines].filter((l) => /created a CA and a serving certificate/.test(l.msg));
    expect(created).toHaveLength(1);
    expect(h.api.requests.filter((r) => r.method === 'POST')).toHaveLength(2); // one of them got AlreadyExists
    expect(h.api.requests.filter((r) => r.method === 'PUT')).toHaveLength(0);
    await Promise.all([a.certs.checkNow(), b.certs.checkNow()]); // let both finish patching
    expect(caBundles(h)).toEqual([data['ca.crt'], data['ca.crt'], data['ca.crt']]);
  });

  it('renews the serving certificate 30 days before expiry, keeping the CA: no caBundle patch; racing replicas converge', async () => {
    const other = await connectCluster({ kubeconfig: h.kubeconfig });
    const a = startReplica();
    const b = startReplica(other);
    await Promise.all([a.certs.waitForCertificate(20_000), b.certs.waitForCertificate(20_000)]);
    await Promise.all([a.certs.checkNow(), b.certs.checkNow()]);
    const before = secretData(h);

    now += 334 * DAY_MS; // 31 days left: not yet
    expect((await a.certs.checkNow()).wrote).toBeUndefined();
    now += 2 * DAY_MS; // 29 days left
    h.api.injectConflicts('secrets', SECRET, 1, NAMESPACE);
    const mark = h.api.requests.length;
    const [ra, rb] = await Promise.all([a.certs.checkNow(), b.certs.checkNow()]);
    expect([ra.wrote, rb.wrote].filter((w) => w !== undefined)).toEqual([expect.stringMatching(/serving certificate renewed .*same CA/)]);
    const after = secretData(h);
    expect(after['tls.crt']).not.toBe(before['tls.crt']);
    expect(after['ca.crt']).toBe(before['ca.crt']);
    expect(after['ca.key']).toBe(before['ca.key']);
    expect(a.certs.current()?.cert).toBe(after['tls.crt']);
    expect(b.certs.current()?.cert).toBe(after['tls.crt']);
    expect(writes(h, mark).filter((r) => r.method === 'PATCH')).toEqual([]);
    expect(writes(h, mark).filter((r) => r.method === 'PUT').length).toBeGreaterThanOrEqual(2); // the injected conflict, then the win
    expect([...a.log.lines, ...b.log.lines].some((l) => /another replica wrote .* first; reading it again/.test(l.msg))).toBe(true);
    expect(caBundles(h).every((b) => b === before['ca.crt'])).toBe(true);
    expect(a.seen.at(-1)?.cert).toBe(after['tls.crt']);
    const leaf = new X509Certificate(after['tls.crt']!);
    expect(Date.parse(leaf.validTo) - now).toBeGreaterThan(364 * DAY_MS);
  });

  it('rolls the CA over with an overlap: bundle old+new first, the serving certificate switches after', async () => {
    const r = startReplica();
    await r.certs.waitForCertificate(20_000);
    const t0 = now;
    const first = secretData(h);

    now = t0 + 3650 * DAY_MS - 60 * DAY_MS; // the 1-year certificate expired long ago; the CA has 60 days
    expect((await r.certs.checkNow()).wrote).toMatch(/new serving certificate .*expired/);
    const beforeRollover = secretData(h);
    expect(beforeRollover['ca.crt']).toBe(first['ca.crt']);
    expect(Date.parse(new X509Certificate(beforeRollover['tls.crt']!).validTo)).toBe(Date.parse(new X509Certificate(first['ca.crt']!).validTo)); // capped at the CA

    now = t0 + 3650 * DAY_MS - 29 * DAY_MS; // the CA is within 30 days of expiry
    const started = await r.certs.checkNow();
    expect(started.wrote).toMatch(/CA rollover started/);
    const overlap = secretData(h);
    const bundle = splitPemCertificates(overlap['ca.crt']!);
    expect(bundle).toHaveLength(2);
    expect(bundle[1]).toBe(first['ca.crt']);
    expect(overlap['tls.crt']).toBe(beforeRollover['tls.crt']); // not switched yet
    expect(h.api.get('secrets', SECRET, NAMESPACE)?.metadata.annotations).toHaveProperty([ROLLOVER_ANNOTATION]);
    expect(started.patched).toEqual(['MutatingWebhookConfiguration mesh-webhook', 'ValidatingWebhookConfiguration mesh-webhook']);
    expect(caBundles(h).every((b) => b === overlap['ca.crt'])).toBe(true);
    expect(r.certs.current()?.cert).toBe(beforeRollover['tls.crt']);

    now += DEFAULT_CA_OVERLAP_MS / 2;
    expect((await r.certs.checkNow()).wrote).toBeUndefined(); // overlap not over

    // Someone re-applies the validating configuration with the old bundle: no switch while it does not trust the new CA.
    const vwc = h.api.get('validatingwebhookconfigurations', 'mesh-webhook')!;
    (vwc.webhooks as { clientConfig: { caBundle?: string } }[])[0]!.clientConfig.caBundle = Buffer.from(first['ca.crt']!).toString('base64');
    h.api.apply('validatingwebhookconfigurations', vwc);
    now += DEFAULT_CA_OVERLAP_MS;
    const repaired = await r.certs.checkNow();
    expect(repaired.wrote).toBeUndefined();
    expect(repaired.patched).toEqual(['ValidatingWebhookConfiguration mesh-webhook']);

    const switched = await r.certs.checkNow();
    expect(switched.wrote).toMatch(/switches to it/);
    expect(switched.patched).toEqual([]); // the bundle did not change
    const after = secretData(h);
    const newCa = new X509Certificate(bundle[0]!);
    const leaf = new X509Certificate(after['tls.crt']!);
    expect(leaf.checkIssued(newCa) && leaf.verify(newCa.publicKey)).toBe(true);
    expect(after['ca.crt']).toBe(overlap['ca.crt']);
    expect(h.api.get('secrets', SECRET, NAMESPACE)?.metadata.annotations ?? {}).not.toHaveProperty([ROLLOVER_ANNOTATION]);
    expect(r.certs.current()?.cert).toBe(after['tls.crt']);

    now = Date.parse(new X509Certificate(first['ca.crt']!).validTo) + 60_000; // the old CA expired
    const dropped = await r.certs.checkNow();
    expect(dropped.wrote).toMatch(/expired CA removed/);
    expect(secretData(h)['ca.crt']).toBe(bundle[0]);
    expect(caBundles(h).every((b) => b === bundle[0])).toBe(true);
  });

  it('API server down at start: retries without crashing, the server keeps its interim certificate, then switches', async () => {
    await h.api.down();
    const dev = await generateDevCertificates([]);
    const app = buildServer({ injector: () => undefined, tls: { cert: dev.cert, key: dev.key }, logger: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const port = (app.server.address() as { port: number }).port;
      const r = startReplica(h.client, { onCertificate: (tls) => updateCertificates(app, tls) });
      await waitFor('two failed checks', () => r.log.lines.filter((l) => /check failed .*cannot reach the Kubernetes API/.test(l.msg)).length >= 2);
      expect(r.certs.current()).toBeUndefined();
      expect(r.certs.state().lastError?.message).toMatch(/read Secret mesh-webhook\/mesh-webhook-tls: cannot reach/);
      // Meanwhile the interim (development) certificate is served.
      expect((await httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca: dev.ca })).status).toBe(200);

      await h.api.up();
      const tls = await r.certs.waitForCertificate(20_000);
      expect(tls?.cert).toBe(secretData(h)['tls.crt']);
      await waitFor('the caBundles', () => caBundles(h).every((b) => b === tls?.ca));
      const res = await httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca: tls!.ca, servername: 'mesh-webhook.mesh-webhook.svc' });
      expect(res.status).toBe(200);
      expect(r.certs.state().lastError).toBeUndefined();
    } finally {
      await app.close();
    }
  });

  it('warns once about a missing webhook configuration and patches it when it appears', async () => {
    h.api.remove('validatingwebhookconfigurations', 'mesh-webhook');
    const r = startReplica();
    await r.certs.waitForCertificate(20_000);
    const result = await r.certs.checkNow();
    expect(result.missing).toEqual(['ValidatingWebhookConfiguration mesh-webhook']);
    expect(r.log.lines.filter((l) => l.level === 'warn' && /not found, so the API server cannot verify this webhook yet; apply the webhook manifests/.test(l.msg))).toHaveLength(1);
    webhookConfigs(h);
    const later = await r.certs.checkNow();
    expect(later.patched).toContain('ValidatingWebhookConfiguration mesh-webhook');
    expect(caBundles(h).every((b) => b === r.certs.current()?.ca)).toBe(true);
  });

  it('refuses to take over a Secret of another type, saying what to do', async () => {
    h.api.apply('secrets', { metadata: { name: SECRET, namespace: NAMESPACE }, type: 'Opaque', data: {} });
    const r = startReplica();
    await waitFor('the failed check', () => r.certs.state().lastError !== undefined);
    expect(r.certs.state().lastError?.message).toMatch(/exists with type Opaque, not kubernetes.io\/tls; delete it \(kubectl -n mesh-webhook delete secret mesh-webhook-tls\)/);
    expect(r.certs.current()).toBeUndefined();
  });
});
