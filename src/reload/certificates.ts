/**
 * Serving certificate reload: the `--cert`/`--key` files (a mounted Secret, cert-manager) are watched like the
 * configuration (src/reload/watchFiles.ts) and a new pair is installed for new TLS handshakes without a restart
 * (`apply`, i.e. RunningServer.setCertificates). Established connections keep the certificate they negotiated, so
 * requests in flight during a rotation are not disturbed.
 *
 * A pair is installed only when both files parse and the key belongs to the certificate. Writers that replace the two
 * files one after the other briefly leave a new certificate with the old key (or a half-written file): that state is
 * rejected with a log line and `mesh_webhook_certificate_reloads_total{result="failure"}`, the old certificate stays,
 * and the write of the second file triggers another check that installs the complete pair.
 */
import { createSecureContext } from 'node:tls';
import type { WebhookMetrics } from '../metrics.js';
import { CertificateError, parseCertificatePem, parsePrivateKeyPem, type TlsMaterial } from '../tls/load.js';
import { fileReadProblem } from '../util/fileError.js';
import type { ReloadLogger } from './config.js';
import { snapshotFiles, watchFiles, type FileSnapshot, type FileWatcher, type SnapshotFile } from './watchFiles.js';

export interface CertificateReloaderOptions {
  certFile: string;
  keyFile: string;
  /** Install the new pair (RunningServer.setCertificates). */
  apply: (tls: TlsMaterial) => void;
  logger: ReloadLogger;
  metrics: WebhookMetrics;
  /** {@link certificateBaseline} taken before the running pair was loaded; absent: the watcher's first read. */
  baseline?: string;
  debounceMs?: number;
  pollIntervalMs?: number;
}

export interface CertificateReloader {
  readonly ready: Promise<void>;
  check(): Promise<void>;
  close(): void;
}

/** A validated certificate/key pair. */
export interface CertificatePair {
  tls: TlsMaterial;
  /** The leaf certificate's serial number (hex, upper case, as X509Certificate.serialNumber). */
  serialNumber: string;
  /** The leaf certificate's notAfter. */
  notAfter: Date;
}

/** Hash of the certificate and key files now: take it before loading them and pass it as `baseline`. */
export async function certificateBaseline(certFile: string, keyFile: string): Promise<string> {
  return (await snapshotFiles([certFile, keyFile])).hash;
}

function text(file: SnapshotFile, what: string): string {
  if (file.content === undefined) {
    throw new CertificateError(file.path, `${what} file ${file.path} ${fileReadProblem(file.error ?? new Error('unknown error'))}`);
  }
  return file.content.toString('utf8');
}

/**
 * Check a certificate (chain, leaf first) and key given as PEM text: both parse, the key matches the certificate,
 * and Node accepts them for a TLS context. Throws a {@link CertificateError} naming the file.
 */
export function validateCertificatePair(cert: string, key: string, certFile: string, keyFile: string): CertificatePair {
  const x509 = parseCertificatePem(cert, certFile);
  const privateKey = parsePrivateKeyPem(key, keyFile);
  if (!x509.checkPrivateKey(privateKey)) {
    throw new CertificateError(keyFile, `key file ${keyFile} does not match the certificate in ${certFile}`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new CertificateError(certFile, `certificate ${certFile} with key ${keyFile} is not usable for TLS: ${(err as Error).message}`);
  }
  return { tls: { cert, key }, serialNumber: x509.serialNumber, notAfter: new Date(x509.validTo) };
}

/** Set the expiry gauge from a PEM certificate (the first one of the chain). */
export function recordCertificateExpiry(metrics: WebhookMetrics, certPem: string, file = 'certificate'): Date {
  const notAfter = new Date(parseCertificatePem(certPem, file).validTo);
  metrics.certificateExpiry.set(Math.floor(notAfter.getTime() / 1000));
  return notAfter;
}

/**
 * Validate the snapshot's pair and apply it; on any error keep the current one. Returns whether it was applied.
 * Logs one line and counts the result either way.
 */
export function reloadCertificates(
  opts: Pick<CertificateReloaderOptions, 'certFile' | 'keyFile' | 'apply' | 'logger' | 'metrics'>,
  snapshot: FileSnapshot,
): boolean {
  const [certEntry, keyEntry] = snapshot.files;
  const files = { certFile: opts.certFile, keyFile: opts.keyFile };
  let pair: CertificatePair;
  try {
    if (certEntry === undefined || keyEntry === undefined) throw new Error('internal: snapshot without both files');
    pair = validateCertificatePair(text(certEntry, 'certificate'), text(keyEntry, 'key'), opts.certFile, opts.keyFile);
    opts.apply(pair.tls);
  } catch (err) {
    opts.metrics.certificateReloads.inc({ result: 'failure' });
    opts.logger.error(
      { ...files, reason: err instanceof Error ? err.message : String(err) },
      'serving certificate reload failed; keeping the current certificate',
    );
    return false;
  }
  opts.metrics.certificateReloads.inc({ result: 'success' });
  opts.metrics.certificateExpiry.set(Math.floor(pair.notAfter.getTime() / 1000));
  const fields = { ...files, serialNumber: pair.serialNumber, notAfter: pair.notAfter.toISOString() };
  if (pair.notAfter.getTime() <= Date.now()) opts.logger.warn(fields, 'serving certificate reloaded, but it has expired');
  else opts.logger.info(fields, 'serving certificate reloaded');
  return true;
}

/** Watch the certificate and key files and reload the pair on change. */
export function watchCertificates(opts: CertificateReloaderOptions): CertificateReloader {
  const watcher: FileWatcher = watchFiles({
    files: [opts.certFile, opts.keyFile],
    onChange: (snapshot) => {
      reloadCertificates(opts, snapshot);
    },
    logger: opts.logger,
    ...(opts.baseline !== undefined ? { baseline: opts.baseline } : {}),
    ...(opts.debounceMs !== undefined ? { debounceMs: opts.debounceMs } : {}),
    ...(opts.pollIntervalMs !== undefined ? { pollIntervalMs: opts.pollIntervalMs } : {}),
  });
  return { ready: watcher.ready, check: () => watcher.check(), close: () => watcher.close() };
}
