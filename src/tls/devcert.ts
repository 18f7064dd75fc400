/**
 * Development certificates: a throw-away self-signed CA and a serving certificate it signs, so `mesh-webhook serve`
 * works over HTTPS with no setup and clients can verify it (`curl --cacert .dev-certs/ca.crt`).
 *
 * Keys are ECDSA P-256 made with Node's WebCrypto; certificates are built with @peculiar/x509. The CA key is
 * never written: when the serving certificate must be renewed, a new CA is made too.
 */
import type { X509Certificate as NodeX509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DAY_MS, coversNames, createCertificateAuthority, issueServingCertificate } from '../certs/x509.js';
import { parseCertificatePem, parsePrivateKeyPem } from './load.js';

export { loadCertificates, CertificateError, type TlsMaterial } from './load.js';

export const DEFAULT_DEV_CERT_DIR = '.dev-certs';
/** Names every dev serving certificate is valid for. */
export const DEFAULT_DEV_NAMES: readonly string[] = ['localhost', '127.0.0.1', '::1'];

/** Existing files are reused only while they stay valid for longer than this. */
const MIN_REMAINING_MS = DAY_MS;
const VALIDITY_DAYS = 365;

export interface DevCertificates {
  caPath: string;
  certPath: string;
  keyPath: string;
  /** PEM text of the CA certificate (what clients trust). */
  ca: string;
  /** PEM text of the serving certificate. */
  cert: string;
  /** PEM text of the serving key (PKCS#8). */
  key: string;
  /** True when new files were written, false when valid existing ones were reused. */
  generated: boolean;
}

/** Make a CA and a serving certificate for `names` (PEM). */
export async function generateDevCertificates(names: readonly string[]): Promise<{ ca: string; cert: string; key: string }> {
  const now = Date.now();
  const notAfter = new Date(now + VALIDITY_DAYS * DAY_MS);
  const ca = await createCertificateAuthority({
    commonName: `mesh-webhook development CA ${new Date(now).toISOString().slice(0, 10)}`,
    notBefore: new Date(now),
    notAfter: new Date(notAfter.getTime() + DAY_MS),
  });
  const leaf = await issueServingCertificate({ ca, names: [...DEFAULT_DEV_NAMES, ...names], notBefore: new Date(now), notAfter });
  return { ca: ca.cert, cert: leaf.cert, key: leaf.key };
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Why existing dev files cannot be reused (undefined when they can): all three present and parsable, the serving
 * certificate signed by the CA, matching the key, covering every requested name, and both valid for more than 24h.
 */
export function devCertificatesProblem(
  files: { ca: string; cert: string; key: string; caPath: string; certPath: string; keyPath: string },
  names: readonly string[],
  now = Date.now(),
): string | undefined {
  let ca: NodeX509Certificate;
  let cert: NodeX509Certificate;
  try {
    ca = parseCertificatePem(files.ca, files.caPath);
    cert = parseCertificatePem(files.cert, files.certPath);
    const key = parsePrivateKeyPem(files.key, files.keyPath);
    if (!cert.checkPrivateKey(key)) return 'key does not match the certificate';
  } catch (err) {
    return (err as Error).message;
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'certificate is not signed by the CA';
  for (const [what, c] of [
    ['CA', ca],
    ['certificate', cert],
  ] as const) {
    if (Date.parse(c.validFrom) > now) return `${what} is not valid yet`;
    if (Date.parse(c.validTo) - now <= MIN_REMAINING_MS) return `${what} expires within 24h`;
  }
  const missing = [...DEFAULT_DEV_NAMES, ...names].find((name) => !coversNames(cert, [name]));
  if (missing !== undefined) return `certificate does not cover ${missing.trim()}`;
  return undefined;
}

async function writeAtomic(file: string, data: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, data, { mode });
  await chmod(tmp, mode);
  await rename(tmp, file);
}

/**
 * Make sure `dir` holds `ca.crt`, `tls.crt` and `tls.key` (PEM; key PKCS#8, mode 0600) valid for localhost,
 * 127.0.0.1, ::1 and `dnsNames`. Valid existing files (more than 24h left) are reused, otherwise all three are
 * regenerated.
 */
export async function ensureDevCertificates(
  dir: string = DEFAULT_DEV_CERT_DIR,
  dnsNames: readonly string[] = [],
): Promise<DevCertificates> {
  const absDir = path.resolve(dir);
  const caPath = path.join(absDir, 'ca.crt');
  const certPath = path.join(absDir, 'tls.crt');
  const keyPath = path.join(absDir, 'tls.key');

  const [ca, cert, key] = await Promise.all([readIfExists(caPath), readIfExists(certPath), readIfExists(keyPath)]);
  if (ca !== undefined && cert !== undefined && key !== undefined) {
    if (devCertificatesProblem({ ca, cert, key, caPath, certPath, keyPath }, dnsNames) === undefined) {
      return { caPath, certPath, keyPath, ca, cert, key, generated: false };
    }
  }

  const fresh = await generateDevCertificates(dnsNames);
  await mkdir(absDir, { recursive: true, mode: 0o700 });
  await writeAtomic(keyPath, fresh.key, 0o600);
  await writeAtomic(certPath, fresh.cert, 0o644);
  await writeAtomic(caPath, fresh.ca, 0o644);
  return { caPath, certPath, keyPath, ...fresh, generated: true };
}
