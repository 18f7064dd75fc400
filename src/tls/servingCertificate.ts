/**
 * Which certificate `serve` starts with, from its options: the self-managed one (or, until it arrives, an interim
 * development certificate for the Service's names), the files given with --cert/--key, or development certificates
 * kept in `.dev-certs/` together with a sample AdmissionReview for the ready-to-paste curl.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sampleAdmissionReview } from '../admission/sample.js';
import { certificateBaseline } from '../reload/certificates.js';
import { shellQuote } from '../util/shellQuote.js';
import { DEFAULT_DEV_CERT_DIR, ensureDevCertificates, generateDevCertificates } from './devcert.js';
import { CertificateError, loadCertificates, type TlsMaterial } from './load.js';

export const SAMPLE_REVIEW_FILE = 'sample-review.json';
/** DNS names of the in-cluster Service, added to development certificates besides localhost/127.0.0.1/::1. */
export const DEFAULT_DEV_DNS_NAMES: readonly string[] = ['mesh-webhook.mesh-webhook.svc', 'mesh-webhook.mesh-webhook.svc.cluster.local'];

export interface CertificateSourceOptions {
  selfManaged?: { current(): TlsMaterial | undefined; interimNames: readonly string[] };
  certFile?: string;
  keyFile?: string;
  devCertDir?: string;
  devDnsNames?: readonly string[];
}

export interface ServingCertificateStart {
  tls: TlsMaterial;
  /** Files mode: the hash of the files as loaded, so a rotation before the watch starts is not missed. */
  certBaseline?: string;
  /** Development certificates: where the CA and the sample review are, and whether they were made just now. */
  dev?: { caPath: string; samplePath: string; generated: boolean };
}

/** The certificate to start with; a {@link CertificateError} names what is wrong and what to do. */
export async function startingCertificate(opts: CertificateSourceOptions): Promise<ServingCertificateStart> {
  if (opts.selfManaged) return { tls: opts.selfManaged.current() ?? (await generateDevCertificates(opts.selfManaged.interimNames)) };
  if (opts.certFile !== undefined || opts.keyFile !== undefined) {
    if (opts.certFile === undefined || opts.keyFile === undefined) {
      const missing = opts.certFile === undefined ? 'certificate file' : 'key file';
      throw new CertificateError('', `a serving certificate needs both a certificate file and a key file; the ${missing} is missing`);
    }
    // Hashed before loading, so a rotation between the load and the start of the watch is not missed.
    const certBaseline = await certificateBaseline(opts.certFile, opts.keyFile);
    return { tls: await loadCertificates(opts.certFile, opts.keyFile), certBaseline };
  }
  const dir = opts.devCertDir ?? DEFAULT_DEV_CERT_DIR;
  try {
    const certs = await ensureDevCertificates(dir, opts.devDnsNames ?? DEFAULT_DEV_DNS_NAMES);
    const samplePath = path.join(path.dirname(certs.caPath), SAMPLE_REVIEW_FILE);
    await writeFile(samplePath, JSON.stringify(sampleAdmissionReview(), null, 2) + '\n');
    return { tls: { cert: certs.cert, key: certs.key }, dev: { caPath: certs.caPath, samplePath, generated: certs.generated } };
  } catch (err) {
    // A read-only working directory, or a file where the directory should be.
    throw new CertificateError(
      dir,
      `development certificates cannot be kept in ${path.resolve(dir)} (${(err as Error).message}): run serve in a writable directory, or serve your own certificate with --cert FILE --key FILE`,
    );
  }
}

/** A path relative to the working directory when it is inside it (shorter to paste), else absolute. */
function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/** What `npm start` prints with development certificates: where it listens, the CA, and a curl to paste. */
export function developmentBanner(
  dev: NonNullable<ServingCertificateStart['dev']>,
  listener: { address: string; port: number; url: string; explain: boolean },
): string {
  const ca = shellQuote(displayPath(dev.caPath));
  const sample = shellQuote(displayPath(dev.samplePath));
  return [
    `mesh-webhook is serving https on ${listener.address}:${listener.port} (POST /inject, POST /validate, ${listener.explain ? 'POST /explain, ' : ''}GET /healthz, GET /readyz)`,
    `Development certificates ${dev.generated ? 'created' : 'reused'}; clients trust the CA in ${displayPath(dev.caPath)}`,
    `Try it with a sample AdmissionReview (a Deployment's pod in namespace default):`,
    `  curl --cacert ${ca} -H 'Content-Type: application/json' --data @${sample} ${listener.url}/inject`,
    '',
  ].join('\n');
}
