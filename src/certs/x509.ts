/**
 * Certificate building blocks shared by self-managed certificates (and meant for the development certificates of
 * src/tls/devcert.ts too, which has the same CA + serving certificate shape): an ECDSA P-256 CA, a serving
 * certificate it signs for a list of names, PEM bundles. Keys are made with Node's WebCrypto and certificates with
 * @peculiar/x509; keys are exported as PKCS#8 PEM.
 */
import { X509Certificate as NodeX509Certificate, createPrivateKey, type webcrypto as wc } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

export const EC_P256: wc.EcKeyGenParams & wc.EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
export const DAY_MS = 24 * 60 * 60 * 1000;
/** notBefore is set this far in the past, to tolerate clock skew between the issuer and its clients. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** A certificate and its private key, PEM (key PKCS#8). */
export interface CertAndKey {
  cert: string;
  key: string;
}

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
export function subjectAltNames(names: readonly string[]): x509.JsonGeneralName[] {
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

async function exportKeyPem(c: wc.Crypto, key: wc.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await c.subtle.exportKey('pkcs8', key), 'PRIVATE KEY') + '\n';
}

/** A self-signed ECDSA P-256 CA valid from `notBefore` (minus clock skew) to `notAfter`. */
export async function createCertificateAuthority(params: { commonName: string; notBefore: Date; notAfter: Date }): Promise<CertAndKey> {
  const c = ensureProvider();
  const keys = (await c.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as wc.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(c),
    name: `CN=${params.commonName}, O=mesh-webhook`,
    notBefore: new Date(params.notBefore.getTime() - CLOCK_SKEW_MS),
    notAfter: params.notAfter,
    keys,
    signingAlgorithm: EC_P256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: await exportKeyPem(c, keys.privateKey) };
}

/**
 * A serving certificate (serverAuth) for `names` (DNS names and IPs; the first DNS name is the CN), signed by `ca`
 * (an ECDSA P-256 CA as made by {@link createCertificateAuthority}), with a fresh P-256 key.
 */
export async function issueServingCertificate(params: { ca: CertAndKey; names: readonly string[]; notBefore: Date; notAfter: Date }): Promise<CertAndKey> {
  const c = ensureProvider();
  const caCert = new x509.X509Certificate(params.ca.cert);
  const caKey = await c.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(params.ca.key), EC_P256, false, ['sign']);
  const keys = (await c.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as wc.CryptoKeyPair;
  const sans = subjectAltNames(params.names);
  const firstDns = sans.find((s) => s.type === 'dns')?.value ?? 'localhost';
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(c),
    subject: `CN=${firstDns}`,
    issuer: caCert.subject,
    notBefore: new Date(params.notBefore.getTime() - CLOCK_SKEW_MS),
    notAfter: params.notAfter,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: EC_P256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(sans),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: await exportKeyPem(c, keys.privateKey) };
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The certificates of a PEM bundle, each as its own PEM block (newline-terminated). */
export function splitPemCertificates(text: string): string[] {
  return (text.match(PEM_CERT) ?? []).map((b) => b.trim() + '\n');
}

/** Parse a PEM certificate; undefined when it is not one. */
export function tryParseCertificate(pem: string): NodeX509Certificate | undefined {
  try {
    return new NodeX509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** Whether `keyPem` is the private key of `cert`. */
export function keyMatches(cert: NodeX509Certificate, keyPem: string): boolean {
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/** `cert` covers every name (DNS via checkHost without the CN fallback, IPs via checkIP). */
export function coversNames(cert: NodeX509Certificate, names: readonly string[]): boolean {
  return subjectAltNames(names).every(({ type, value }) =>
    type === 'ip' ? cert.checkIP(value) !== undefined : cert.checkHost(value, { subject: 'never' }) !== undefined,
  );
}

/** `cert` was signed by `ca` (issuer name and signature). */
export function issuedBy(cert: NodeX509Certificate, ca: NodeX509Certificate): boolean {
  try {
    return cert.checkIssued(ca) && cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}

export function notAfter(cert: NodeX509Certificate): number {
  return Date.parse(cert.validTo);
}

export function notBefore(cert: NodeX509Certificate): number {
  return Date.parse(cert.validFrom);
}
