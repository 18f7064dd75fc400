/**
 * Development certificates: a throw-away self-signed CA and a serving certificate it signs, so `mesh-webhook serve`
 * works over HTTPS with no setup and clients can verify it (`curl --cacert .dev-certs/ca.crt`).
 *
 * Keys are ECDSA P-256 made with Node's WebCrypto; certificates are built with @peculiar/x509. The CA key is
 * never written: when the serving certificate must be renewed, a new CA is made too.
 */
import type { X509Certificate as NodeX509Certificate, webcrypto as wc } from 'node:crypto';
import { isIP } from 'node:net';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { parseCertificatePem, parsePrivateKeyPem } from './load.js';

export { loadCertificates, CertificateError, type TlsMaterial } from './load.js';

export const DEFAULT_DEV_CERT_DIR = '.dev-certs';
/** Names every dev serving certificate is valid for. */
export const DEFAULT_DEV_NAMES: readonly string[] = ['localhost', '127.0.0.1', '::1'];

const DAY_MS = 24 * 60 * 60 * 1000;
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

const ALGORITHM: wc.EcKeyGenParams & wc.EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

function webcrypto(): wc.Crypto {
  const c = globalThis.crypto as wc.Crypto | undefined;
  if (!c?.subtle) throw new Error('WebCrypto (globalThis.crypto.subtle) is not available');
  return c;
}

let providerSet = false;
function ensureProvider(): wc.Crypto {
  const c = webcrypto();
  if (!providerSet) {
    x509.cryptoProvider.set(c);
    providerSet = true;
  }
  return c;
}

/** The SAN entries for `names`: IP literals as IP SANs, everything else as DNS names (deduplicated, in order). */
function subjectAltNames(names: readonly string[]): x509.JsonGeneralName[] {
  const seen = new Set<string>();
  const out: x509.JsonGeneralName[] = [];
  for (const raw of names) {
    const name = raw.trim();
    if (name.length === 0 || seen.has(name.toLowerCase())) continue;
    seen.add(name.toLowerCase());
    out.push({ type: isIP(name) ? 'ip' : 'dns', value: name });
  }
  return out;
}

function randomSerial(c: wc.Crypto): string {
  const bytes = c.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] as number) & 0x7f; // positive INTEGER
  return Buffer.from(bytes).toString('hex');
}

/** Make a CA and a serving certificate for `names` (PEM). */
export async function generateDevCertificates(names: readonly string[]): Promise<{ ca: string; cert: string; key: string }> {
  const c = ensureProvider();
  const now = Date.now();
  const notBefore = new Date(now - 5 * 60 * 1000); // tolerate small clock skew
  const notAfter = new Date(now + VALIDITY_DAYS * DAY_MS);

  const caKeys = (await c.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as wc.CryptoKeyPair;
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(c),
    name: `CN=mesh-webhook development CA ${new Date(now).toISOString().slice(0, 10)}, O=mesh-webhook`,
    notBefore,
    notAfter: new Date(notAfter.getTime() + DAY_MS),
    keys: caKeys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  const leafKeys = (await c.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as wc.CryptoKeyPair;
  const sans = subjectAltNames([...DEFAULT_DEV_NAMES, ...names]);
  const firstDns = sans.find((s) => s.type === 'dns')?.value ?? 'localhost';
  const leafCert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(c),
    subject: `CN=${firstDns}`,
    issuer: caCert.subject,
    notBefore,
    notAfter,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(sans),
      await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  const pkcs8 = await c.subtle.exportKey('pkcs8', leafKeys.privateKey);
  return {
    ca: caCert.toString('pem') + '\n',
    cert: leafCert.toString('pem') + '\n',
    key: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') + '\n',
  };
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
  for (const { type, value } of subjectAltNames([...DEFAULT_DEV_NAMES, ...names])) {
    const ok = type === 'ip' ? cert.checkIP(value) !== undefined : cert.checkHost(value, { subject: 'never' }) !== undefined;
    if (!ok) return `certificate does not cover ${value}`;
  }
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
