/**
 * Loading PEM serving certificates from disk, with errors that name the file and say what is wrong.
 */
import { fileReadProblem } from '../util/fileError.js';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** PEM text of a serving certificate (chain allowed) and its private key. */
export interface TlsMaterial {
  cert: string;
  key: string;
}

export class CertificateError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = 'CertificateError';
  }
}

async function readPem(file: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CertificateError(file, `${what} file ${file} ${fileReadProblem(err)}`);
  }
  return text;
}

/** The first certificate of a PEM file, parsed; throws a {@link CertificateError} naming the file. */
export function parseCertificatePem(text: string, file: string): X509Certificate {
  if (!/-----BEGIN CERTIFICATE-----/.test(text)) {
    throw new CertificateError(file, `certificate file ${file} is not PEM: no "-----BEGIN CERTIFICATE-----" block`);
  }
  try {
    return new X509Certificate(text);
  } catch (err) {
    throw new CertificateError(file, `certificate file ${file} holds an invalid certificate: ${(err as Error).message}`);
  }
}

/** A PEM private key, parsed; throws a {@link CertificateError} naming the file. */
export function parsePrivateKeyPem(text: string, file: string): KeyObject {
  if (!/-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/.test(text)) {
    throw new CertificateError(file, `key file ${file} is not PEM: no "-----BEGIN PRIVATE KEY-----" block`);
  }
  try {
    return createPrivateKey(text);
  } catch (err) {
    throw new CertificateError(file, `key file ${file} holds an invalid private key: ${(err as Error).message}`);
  }
}

/**
 * Read a PEM certificate (or chain, leaf first) and its PEM private key. Errors name the file: missing,
 * unreadable, not PEM, unparsable, or a key that does not belong to the certificate.
 */
export async function loadCertificates(certPath: string, keyPath: string): Promise<TlsMaterial> {
  // Both read at once, but the certificate's problem is reported first whichever read fails first (Promise.all would
  // report the faster failure: a different message from one run to the next when both files are missing).
  const [certRead, keyRead] = await Promise.allSettled([readPem(certPath, 'certificate'), readPem(keyPath, 'key')]);
  if (certRead.status === 'rejected') throw certRead.reason;
  if (keyRead.status === 'rejected') throw keyRead.reason;
  const cert = certRead.value;
  const key = keyRead.value;
  const x509 = parseCertificatePem(cert, certPath);
  const privateKey = parsePrivateKeyPem(key, keyPath);
  if (!x509.checkPrivateKey(privateKey)) {
    throw new CertificateError(keyPath, `key file ${keyPath} does not match the certificate in ${certPath}`);
  }
  return { cert, key };
}
