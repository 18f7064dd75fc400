import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { devCertificatesProblem, ensureDevCertificates } from '../../src/tls/devcert.js';
import { CertificateError, loadCertificates } from '../../src/tls/load.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-devcert-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('ensureDevCertificates', () => {
  const names = ['mesh-webhook.mesh-webhook.svc', 'mesh-webhook.mesh-webhook.svc.cluster.local'];

  test('writes a CA, a serving certificate signed by it and a PKCS#8 key with mode 0600', async () => {
    const dir = path.join(tmp, 'a');
    const certs = await ensureDevCertificates(dir, names);
    expect(certs.generated).toBe(true);
    expect(certs.caPath).toBe(path.join(dir, 'ca.crt'));
    expect(certs.certPath).toBe(path.join(dir, 'tls.crt'));
    expect(certs.keyPath).toBe(path.join(dir, 'tls.key'));
    expect(await readFile(certs.caPath, 'utf8')).toBe(certs.ca);
    expect(await readFile(certs.certPath, 'utf8')).toBe(certs.cert);
    expect(await readFile(certs.keyPath, 'utf8')).toBe(certs.key);
    expect((await stat(certs.keyPath)).mode & 0o777).toBe(0o600);

    expect(certs.key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const key = createPrivateKey(certs.key);
    expect(key.asymmetricKeyType).toBe('ec');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');

    const ca = new X509Certificate(certs.ca);
    const cert = new X509Certificate(certs.cert);
    expect(ca.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkPrivateKey(key)).toBe(true);
    for (const host of ['localhost', ...names]) expect(cert.checkHost(host, { subject: 'never' })).toBe(host);
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkIP('::1')).toBe('::1');
    expect(cert.checkHost('example.com')).toBeUndefined();
    expect(cert.keyUsage).toContain('1.3.6.1.5.5.7.3.1'); // serverAuth
  });

  test('reuses valid files, regenerates when a name is missing or a file is broken', async () => {
    const dir = path.join(tmp, 'b');
    const first = await ensureDevCertificates(dir, names);
    const again = await ensureDevCertificates(dir, names);
    expect(again.generated).toBe(false);
    expect(again.cert).toBe(first.cert);

    const moreNames = await ensureDevCertificates(dir, [...names, 'other.example']);
    expect(moreNames.generated).toBe(true);
    expect(new X509Certificate(moreNames.cert).checkHost('other.example')).toBe('other.example');

    await writeFile(path.join(dir, 'tls.key'), 'not a key');
    const repaired = await ensureDevCertificates(dir, names);
    expect(repaired.generated).toBe(true);
    expect(repaired.key).toMatch(/BEGIN PRIVATE KEY/);
  });

  test('files expiring within 24h are not reused', async () => {
    const dir = path.join(tmp, 'c');
    const certs = await ensureDevCertificates(dir, []);
    const files = { ...certs };
    expect(devCertificatesProblem(files, [])).toBeUndefined();
    const validTo = Date.parse(new X509Certificate(certs.cert).validTo);
    expect(devCertificatesProblem(files, [], validTo - 23 * 3600_000)).toBe('certificate expires within 24h');
    expect(devCertificatesProblem(files, [], validTo - 25 * 3600_000)).toBeUndefined();
    const other = await ensureDevCertificates(path.join(tmp, 'c2'), []);
    expect(devCertificatesProblem({ ...files, ca: other.ca }, [])).toBe('certificate is not signed by the CA');
    expect(devCertificatesProblem({ ...files, key: other.key }, [])).toBe('key does not match the certificate');
  });
});

describe('loadCertificates', () => {
  async function expectError(p: Promise<unknown>, file: string, message: RegExp) {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CertificateError);
    expect((err as CertificateError).file).toBe(file);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(file);
  }

  test('loads a matching PEM pair', async () => {
    const certs = await ensureDevCertificates(path.join(tmp, 'd'), []);
    expect(await loadCertificates(certs.certPath, certs.keyPath)).toEqual({ cert: certs.cert, key: certs.key });
  });

  test('names the file that is missing, not PEM, broken or not matching', async () => {
    const certs = await ensureDevCertificates(path.join(tmp, 'e'), []);
    const other = await ensureDevCertificates(path.join(tmp, 'e2'), []);
    const missing = path.join(tmp, 'nope.crt');
    await expectError(loadCertificates(missing, certs.keyPath), missing, /does not exist/);
    await expectError(loadCertificates(certs.certPath, path.join(tmp, 'nope.key')), path.join(tmp, 'nope.key'), /key file .* does not exist/);
    const text = path.join(tmp, 'text.crt');
    await writeFile(text, 'hello');
    await expectError(loadCertificates(text, certs.keyPath), text, /is not PEM/);
    await expectError(loadCertificates(certs.certPath, text), text, /key file .* is not PEM/);
    const broken = path.join(tmp, 'broken.crt');
    await writeFile(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    await expectError(loadCertificates(broken, certs.keyPath), broken, /invalid certificate/);
    await expectError(loadCertificates(certs.certPath, other.keyPath), other.keyPath, /does not match the certificate/);
    await expectError(loadCertificates(tmp, certs.keyPath), tmp, /is a directory/);
    if (process.getuid?.() !== 0) {
      const locked = path.join(tmp, 'locked.key');
      await writeFile(locked, certs.key);
      await chmod(locked, 0o000);
      await expectError(loadCertificates(certs.certPath, locked), locked, /not readable/);
    }
  });
});
