/**
 * `serve()`: run the webhook server the way `mesh-webhook serve` does. Loads the configured serving certificate, or
 * makes development certificates (and a sample AdmissionReview plus a ready-to-paste curl command) when none is
 * configured; closes gracefully on SIGTERM/SIGINT.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { sampleAdmissionReview } from '../admission/sample.js';
import type { Injector } from '../inject/api.js';
import { DEFAULT_DEV_CERT_DIR, ensureDevCertificates } from '../tls/devcert.js';
import { CertificateError, loadCertificates, type TlsMaterial } from '../tls/load.js';
import { buildServer, updateCertificates, type WebhookServer } from './app.js';

export const DEFAULT_PORT = 8443;
export const DEFAULT_HOST = '0.0.0.0';
/** DNS names of the in-cluster Service, added to development certificates besides localhost/127.0.0.1/::1. */
export const DEFAULT_DEV_DNS_NAMES: readonly string[] = [
  'mesh-webhook.mesh-webhook.svc',
  'mesh-webhook.mesh-webhook.svc.cluster.local',
];
export const SAMPLE_REVIEW_FILE = 'sample-review.json';
/** After SIGTERM/SIGINT, in-flight requests get this long before the process exits anyway. */
const SHUTDOWN_TIMEOUT_MS = 15_000;

export interface ServeOptions {
  /** The injector, or a getter read per request (see BuildServerOptions.injector). */
  injector: Injector | (() => Injector | undefined);
  /** TCP port; default 8443; 0 picks a free one (see the returned `port`). */
  port?: number;
  /** Listen address; default 0.0.0.0. */
  host?: string;
  /** PEM serving certificate; with `keyFile`. When neither is set, development certificates are used. */
  certFile?: string;
  keyFile?: string;
  /** pino level (fatal, error, warn, info, debug, trace, silent); default info. Ignored when `logger` is given. */
  logLevel?: string;
  logger?: Logger;
  /** Directory of the development certificates; default `.dev-certs` in the working directory. */
  devCertDir?: string;
  /** Extra DNS names for development certificates; default {@link DEFAULT_DEV_DNS_NAMES}. */
  devDnsNames?: readonly string[];
  /** Close on SIGTERM/SIGINT; default true. */
  handleSignals?: boolean;
  /** Where the startup banner goes; default process.stdout. */
  out?: NodeJS.WritableStream;
}

export interface RunningServer {
  /** The bound port (useful with port 0). */
  port: number;
  /** The bound address (as given by the server socket). */
  address: string;
  /** Base URL clients can use (`https://localhost:<port>` for wildcard addresses). */
  url: string;
  /** Development CA file, when development certificates are used. */
  caPath?: string;
  /** Sample AdmissionReview file, when development certificates are used. */
  samplePath?: string;
  app: WebhookServer;
  /** Swap the injector (configuration reload); requests already running keep the one they started with. */
  setInjector(injector: Injector): void;
  /** Swap the serving certificate for new connections. */
  setCertificates(tls: TlsMaterial): void;
  /** Stop accepting connections, finish in-flight requests, release signal handlers. Idempotent. */
  close(): Promise<void>;
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A path relative to the working directory when it is inside it (shorter to paste), else absolute. */
function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

function urlHost(address: string): string {
  if (address === '0.0.0.0' || address === '::' || address === '') return 'localhost';
  return address.includes(':') ? `[${address}]` : address;
}

/** Start the webhook server; resolves once it listens. */
export async function serve(opts: ServeOptions): Promise<RunningServer> {
  const port = opts.port ?? DEFAULT_PORT;
  const host = opts.host ?? DEFAULT_HOST;
  const out = opts.out ?? process.stdout;
  const logger = opts.logger ?? pino({ level: opts.logLevel ?? 'info' });

  let tls: TlsMaterial;
  let dev: { caPath: string; samplePath: string; generated: boolean } | undefined;
  if (opts.certFile !== undefined || opts.keyFile !== undefined) {
    if (opts.certFile === undefined || opts.keyFile === undefined) {
      const missing = opts.certFile === undefined ? 'certificate file' : 'key file';
      throw new CertificateError('', `a serving certificate needs both a certificate file and a key file; the ${missing} is missing`);
    }
    tls = await loadCertificates(opts.certFile, opts.keyFile);
  } else {
    const certs = await ensureDevCertificates(opts.devCertDir ?? DEFAULT_DEV_CERT_DIR, opts.devDnsNames ?? DEFAULT_DEV_DNS_NAMES);
    tls = { cert: certs.cert, key: certs.key };
    const samplePath = path.join(path.dirname(certs.caPath), SAMPLE_REVIEW_FILE);
    await writeFile(samplePath, JSON.stringify(sampleAdmissionReview(), null, 2) + '\n');
    dev = { caPath: certs.caPath, samplePath, generated: certs.generated };
  }

  const initial = opts.injector;
  let getInjector: () => Injector | undefined = typeof initial === 'function' ? initial : () => initial;
  let shuttingDown = false;

  const app = buildServer({
    injector: () => getInjector(),
    tls,
    logger,
    ready: () => !shuttingDown,
  });
  await app.listen({ port, host });

  const bound = app.server.address();
  const boundPort = bound !== null && typeof bound === 'object' ? bound.port : port;
  const boundAddress = bound !== null && typeof bound === 'object' ? bound.address : host;
  const url = `https://${urlHost(boundAddress)}:${boundPort}`;

  let closing: Promise<void> | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutting down');
    // If in-flight requests do not finish in time, do not hang the pod's termination.
    const timer = setTimeout(() => {
      logger.error('graceful shutdown timed out; exiting');
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    close()
      .catch((err: unknown) => {
        logger.error({ err }, 'error while shutting down');
        process.exitCode = 1;
      })
      .finally(() => clearTimeout(timer));
  };
  const handleSignals = opts.handleSignals ?? true;
  if (handleSignals) {
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }

  function close(): Promise<void> {
    closing ??= (async () => {
      shuttingDown = true;
      if (handleSignals) {
        process.removeListener('SIGTERM', onSignal);
        process.removeListener('SIGINT', onSignal);
      }
      await app.close();
    })();
    return closing;
  }

  if (dev) {
    const ca = shellQuote(displayPath(dev.caPath));
    const sample = shellQuote(displayPath(dev.samplePath));
    out.write(
      [
        `mesh-webhook is serving https on ${boundAddress}:${boundPort} (POST /inject, GET /healthz, GET /readyz)`,
        `Development certificates ${dev.generated ? 'created' : 'reused'}; clients trust the CA in ${displayPath(dev.caPath)}`,
        `Try it with a sample AdmissionReview (a Deployment's pod in namespace default):`,
        `  curl --cacert ${ca} -H 'Content-Type: application/json' --data @${sample} ${url}/inject`,
        '',
      ].join('\n'),
    );
  }

  return {
    port: boundPort,
    address: boundAddress,
    url,
    ...(dev ? { caPath: dev.caPath, samplePath: dev.samplePath } : {}),
    app,
    setInjector(injector: Injector) {
      getInjector = () => injector;
    },
    setCertificates(material: TlsMaterial) {
      updateCertificates(app, material);
    },
    close,
  };
}
