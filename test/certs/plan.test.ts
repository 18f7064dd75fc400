/** The Secret planning rules that the API-level tests do not reach: damaged or foreign content. */
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { planSecret, type CertificateMaterial, type PlanContext } from '../../src/certs/plan.js';
import { DAY_MS, createCertificateAuthority, issueServingCertificate, splitPemCertificates } from '../../src/certs/x509.js';

const NAMES = ['svc.ns.svc', 'svc.ns.svc.cluster.local', 'svc.ns', 'svc'];
const now = Date.now();
const ctx = (over: Partial<PlanContext> = {}): PlanContext => ({
  now,
  names: NAMES,
  renewBeforeMs: 30 * DAY_MS,
  caValidityMs: 3650 * DAY_MS,
  servingValidityMs: 365 * DAY_MS,
  caOverlapMs: 10 * 60 * 1000,
  caTrusted: async () => true,
  ...over,
});

async function fresh(): Promise<Required<Omit<CertificateMaterial, 'rolloverStarted'>>> {
  const plan = await planSecret(undefined, ctx());
  if (!plan) throw new Error('no plan for an empty Secret');
  return plan.material;
}

const signedBy = (leafPem: string, caPem: string) => {
  const leaf = new X509Certificate(leafPem);
  const ca = new X509Certificate(caPem);
  return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
};

describe('planSecret', () => {
  it('keeps a valid Secret as it is', async () => {
    expect(await planSecret(await fresh(), ctx())).toBeUndefined();
  });

  it('replaces an unreadable serving certificate under the same CA', async () => {
    const m = await fresh();
    const plan = await planSecret({ ...m, tlsCrt: 'garbage' }, ctx());
    expect(plan?.reason).toMatch(/tls.crt is not a certificate/);
    expect(plan?.material.caCrt).toBe(m.caCrt);
    expect(signedBy(plan!.material.tlsCrt, m.caCrt)).toBe(true);
  });

  it('re-issues when the Service name changed (names not covered)', async () => {
    const m = await fresh();
    const plan = await planSecret(m, ctx({ names: ['other.ns.svc'] }));
    expect(plan?.reason).toMatch(/does not cover all of other.ns.svc/);
    expect(new X509Certificate(plan!.material.tlsCrt).checkHost('other.ns.svc', { subject: 'never' })).toBe('other.ns.svc');
    expect(plan?.material.caCrt).toBe(m.caCrt);
  });

  it('rolls over with an overlap when ca.key is missing (a Secret made elsewhere) but the certificate is valid', async () => {
    const ca = await createCertificateAuthority({ commonName: 'someone else', notBefore: new Date(now), notAfter: new Date(now + 100 * DAY_MS) });
    const leaf = await issueServingCertificate({ ca, names: NAMES, notBefore: new Date(now), notAfter: new Date(now + 90 * DAY_MS) });
    const plan = await planSecret({ tlsCrt: leaf.cert, tlsKey: leaf.key, caCrt: ca.cert }, ctx());
    expect(plan?.reason).toMatch(/CA rollover started \(ca.key is missing/);
    expect(plan?.material.tlsCrt).toBe(leaf.cert);
    const bundle = splitPemCertificates(plan!.material.caCrt);
    expect(bundle).toHaveLength(2);
    expect(bundle[1]).toBe(ca.cert);
    expect(plan?.material.rolloverStarted).toBe(now);
  });

  it('starts over when ca.crt holds no certificate and tls.crt cannot be verified', async () => {
    const m = await fresh();
    const plan = await planSecret({ ...m, caCrt: 'not pem' }, ctx());
    expect(plan?.reason).toMatch(/new CA and serving certificate \(ca.crt holds no CA certificate/);
    expect(plan?.material.rolloverStarted).toBeUndefined();
    expect(signedBy(plan!.material.tlsCrt, plan!.material.caCrt)).toBe(true);
  });

  it('waits for the caBundle before switching during a rollover', async () => {
    const m = await fresh();
    const later = now + 3650 * DAY_MS - 100 * DAY_MS;
    const renewed = (await planSecret(m, ctx({ now: later })))!.material; // expired leaf: re-issued under the old CA
    const rollover = (await planSecret(renewed, ctx({ now: later + 71 * DAY_MS })))!.material;
    expect(rollover.rolloverStarted).toBe(later + 71 * DAY_MS);
    const t = later + 71 * DAY_MS + 60 * 60 * 1000;
    expect(await planSecret(rollover, ctx({ now: t, caTrusted: async () => false }))).toBeUndefined();
    const switched = await planSecret(rollover, ctx({ now: t }));
    expect(switched?.reason).toMatch(/switches to it/);
    expect(signedBy(switched!.material.tlsCrt, splitPemCertificates(rollover.caCrt)[0]!)).toBe(true);
  });
});
