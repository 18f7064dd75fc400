/**
 * A small PKI for transport tests, built with @peculiar/x509: a root CA, an intermediate CA it signs, and leaf
 * certificates (serving or client) the intermediate (or the root) signs; ECDSA P-256 or RSA 2048 keys.
 */
import type { webcrypto as wc } from 'node:crypto';
import * as x509 from '@peculiar/x509';

type Algorithm = 'ecdsa' | 'rsa';

const ALGORITHMS: Record<Algorithm, wc.EcKeyGenParams | wc.RsaHashedKeyGenParams> = {
  ecdsa: { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as wc.EcKeyGenParams,
  rsa: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
};
const SIGNING: Record<Algorithm, wc.EcdsaParams | wc.Algorithm> = {
  ecdsa: { name: 'ECDSA', hash: 'SHA-256' } as wc.EcdsaParams,
  rsa: { name: 'RSASSA-PKCS1-v1_5' },
};

const crypto = globalThis.crypto as unknown as wc.Crypto;
x509.cryptoProvider.set(crypto);

export interface Issued {
  /** PEM of this certificate alone. */
  cert: string;
  /** PKCS#8 PEM private key. */
  key: string;
  /** Subject common name. */
  name: string;
  algorithm: Algorithm;
  x509: x509.X509Certificate;
  keys: wc.CryptoKeyPair;
}

let serial = 1;
const nextSerial = () => (serial++).toString(16).padStart(2, '0');

async function keyPair(algorithm: Algorithm): Promise<wc.CryptoKeyPair> {
  return (await crypto.subtle.generateKey(ALGORITHMS[algorithm], true, ['sign', 'verify'])) as wc.CryptoKeyPair;
}

async function pem(keys: wc.CryptoKeyPair): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY') + '\n';
}

const notBefore = () => new Date(Date.now() - 60_000);
const notAfter = () => new Date(Date.now() + 24 * 3600_000);

export async function rootCa(name: string, algorithm: Algorithm = 'ecdsa'): Promise<Issued> {
  const keys = await keyPair(algorithm);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: `CN=${name}`,
    notBefore: notBefore(),
    notAfter: notAfter(),
    keys,
    signingAlgorithm: SIGNING[algorithm],
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: await pem(keys), name, algorithm, x509: cert, keys };
}

async function issue(
  issuer: Issued,
  name: string,
  algorithm: Algorithm,
  extensions: (keys: wc.CryptoKeyPair) => Promise<x509.Extension[]>,
): Promise<Issued> {
  const keys = await keyPair(algorithm);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: nextSerial(),
    subject: `CN=${name}`,
    issuer: issuer.x509.subject,
    notBefore: notBefore(),
    notAfter: notAfter(),
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: SIGNING[issuer.algorithm],
    extensions: [
      ...(await extensions(keys)),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.x509.publicKey),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: await pem(keys), name, algorithm, x509: cert, keys };
}

export function intermediateCa(issuer: Issued, name: string, algorithm: Algorithm = 'ecdsa'): Promise<Issued> {
  return issue(issuer, name, algorithm, async () => [
    new x509.BasicConstraintsExtension(true, 0, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ]);
}

/** A serving certificate for localhost and 127.0.0.1. */
export function servingCertificate(issuer: Issued, algorithm: Algorithm = 'ecdsa'): Promise<Issued> {
  return issue(issuer, 'localhost', algorithm, async () => [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | (algorithm === 'rsa' ? x509.KeyUsageFlags.keyEncipherment : 0), true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    new x509.SubjectAlternativeNameExtension([
      { type: 'dns', value: 'localhost' },
      { type: 'ip', value: '127.0.0.1' },
    ]),
  ]);
}

/** A client certificate (clientAuth), as the API server would present (CN=kube-apiserver). */
export function clientCertificate(issuer: Issued, name = 'kube-apiserver'): Promise<Issued> {
  return issue(issuer, name, 'ecdsa', async () => [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
  ]);
}
