/** certs/make-certs.sh (openssl): a CA and a serving certificate for the Service DNS names, verifiable together. */
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const out = mkdtempSync(join(tmpdir(), 'make-certs-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('certs/make-certs.sh', () => {
  it('makes a CA and a serving certificate with the Service DNS names as SANs', () => {
    const script = new URL('../../certs/make-certs.sh', import.meta.url).pathname;
    execFileSync('bash', [script, 'mesh-webhook', 'mesh-system', out, '30'], { stdio: 'pipe' });
    const ca = new X509Certificate(readFileSync(join(out, 'ca.crt')));
    const cert = new X509Certificate(readFileSync(join(out, 'tls.crt')));
    expect(ca.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.subjectAltName).toBe(
      'DNS:mesh-webhook, DNS:mesh-webhook.mesh-system, DNS:mesh-webhook.mesh-system.svc, DNS:mesh-webhook.mesh-system.svc.cluster.local',
    );
    expect(cert.checkPrivateKey(createPrivateKey(readFileSync(join(out, 'tls.key'))))).toBe(true);
    expect(statSync(join(out, 'tls.key')).mode & 0o077).toBe(0);
  });
});
