/**
 * Transport security of the admission listener: the TLS settings (versions, cipher suites, key-exchange groups),
 * the timeouts that cut off slow or silent clients, and the optional verification of the API server's client
 * certificate (`--client-ca`). src/server/app.ts applies them; docs/security.md says why.
 *
 * - TLS 1.2 and 1.3 only (1.3 is negotiated whenever the client offers it).
 * - TLS 1.2 suites: ECDHE key exchange (forward secrecy) with AEAD ciphers (AES-GCM, ChaCha20-Poly1305) only: no
 *   CBC, no static-RSA key exchange, no DHE. The server's order wins (honorCipherOrder). Both ECDSA (development and
 *   self-managed certificates) and RSA (cert-manager's default) certificates are covered.
 * - Groups: X25519MLKEM768 (post-quantum hybrid, offered by Go 1.24+ clients such as the API server) when the
 *   OpenSSL in use has it, then X25519, P-256, P-384.
 * - Client certificates (only with `clientCa`): the handshake asks for one (requestCert) but does not fail without
 *   one (rejectUnauthorized: false), because the kubelet's /healthz and /readyz probes never present one; instead the
 *   admission routes (/inject, /validate, /explain: src/server/routes.ts, decided on the route Fastify matched) answer
 *   401 when no certificate was presented and 403 when it does not chain to the client CA, before the body is read.
 *   Probes and /metrics stay reachable.
 */
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { Server } from 'node:net';
import { createSecureContext, type SecureContextOptions, type TLSSocket } from 'node:tls';
import { readFile } from 'node:fs/promises';
import { CertificateError, parseCertificatePem } from '../tls/load.js';
import { fileReadProblem } from '../util/fileError.js';

/** TLS 1.3 suites (all AEAD, all forward secret), then TLS 1.2 ECDHE + AEAD suites, in preference order. */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

function supportedGroups(): string {
  const preferred = 'X25519MLKEM768:X25519:P-256:P-384';
  try {
    createSecureContext({ ecdhCurve: preferred });
    return preferred;
  } catch {
    return 'X25519:P-256:P-384'; // an OpenSSL without ML-KEM
  }
}

/** Key-exchange groups, in preference order. */
export const TLS_ECDH_CURVE = supportedGroups();

/** Lowest TLS version accepted unless told otherwise (never lower). */
export const TLS_MIN_VERSION = 'TLSv1.2';

/**
 * Timeouts of the admission listener, in ms. The API server sends a request at once (headers and body in one write,
 * at most 3 MiB) and waits at most 30 s for the answer; anything slower is a broken or hostile client.
 */
export interface ServerTimeouts {
  /** A connection that has not completed the TLS handshake after this long is closed. */
  handshakeMs: number;
  /** The request headers must be complete this long after the request started (else 408 and close). */
  headersMs: number;
  /** The whole request, headers and body, must have arrived this long after it started (else 408 and close). */
  requestMs: number;
  /**
   * An idle keep-alive connection is closed after this long. Longer than the idle timeout of Go's HTTP client in
   * the API server would be better for races (the client closes first), but Go retries a request that met a
   * connection closed while idle, so Fastify's 72 s is kept.
   */
  keepAliveMs: number;
  /**
   * A connection with a request in progress and no traffic for this long is closed (a client that stops reading the
   * answer, or stops sending mid-request between two checks).
   */
  idleMs: number;
  /** How often Node checks headersMs and requestMs (its default, 30 s, would let a slow client stay that much longer). */
  checkIntervalMs: number;
}

export const DEFAULT_SERVER_TIMEOUTS: Readonly<ServerTimeouts> = {
  handshakeMs: 10_000,
  headersMs: 10_000,
  requestMs: 30_000,
  keepAliveMs: 72_000,
  idleMs: 60_000,
  checkIntervalMs: 1_000,
};

/** What the admission listener serves with. */
export interface TransportOptions {
  key: string;
  cert: string;
  /** Lowest TLS version; default and floor TLSv1.2. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** PEM CA bundle that the API server's client certificate must chain to; absent: no client certificates. */
  clientCa?: string;
}

/** The secure-context part (what setSecureContext replaces on certificate rotation). */
export function secureContextOptions(tls: TransportOptions): SecureContextOptions {
  return {
    key: tls.key,
    cert: tls.cert, // the whole chain as given (leaf first): intermediates are sent to the client
    minVersion: tls.minVersion ?? TLS_MIN_VERSION,
    ciphers: TLS_CIPHERS,
    ecdhCurve: TLS_ECDH_CURVE,
    honorCipherOrder: true,
    ...(tls.clientCa !== undefined ? { ca: tls.clientCa } : {}),
  };
}

/** Options for https.createServer (Fastify's `https`): TLS, client certificates, handshake and request timeouts. */
export function httpsServerOptions(tls: TransportOptions, timeouts: ServerTimeouts = DEFAULT_SERVER_TIMEOUTS): HttpsServerOptions {
  return {
    ...secureContextOptions(tls),
    ...(tls.clientCa !== undefined ? { requestCert: true, rejectUnauthorized: false } : {}),
    handshakeTimeout: timeouts.handshakeMs,
    headersTimeout: timeouts.headersMs,
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    connectionsCheckingInterval: timeouts.checkIntervalMs,
  };
}

const clientCas = new WeakMap<Server, string>();

/** Remember the client CA of a server, so a certificate rotation (setSecureContext) keeps verifying clients. */
export function rememberClientCa(server: Server, clientCa: string | undefined): void {
  if (clientCa !== undefined) clientCas.set(server, clientCa);
}

/** The client CA a server was built with (see {@link rememberClientCa}). */
export function clientCaOf(server: Server): string | undefined {
  return clientCas.get(server);
}

/**
 * Why a request on `socket` may not use an admission route, or undefined when its client certificate was verified
 * against the client CA: 401 without a certificate, 403 with one that does not verify.
 */
export function clientCertificateProblem(socket: TLSSocket): { status: 401 | 403; message: string } | undefined {
  if (socket.authorized) return undefined;
  const peer = socket.getPeerCertificate();
  if (!peer || Object.keys(peer).length === 0) {
    return { status: 401, message: 'a client certificate is required for this endpoint (the webhook verifies the API server)' };
  }
  const why = socket.authorizationError ? String(socket.authorizationError) : 'not trusted';
  return { status: 403, message: `the client certificate is not accepted: ${why}` };
}

/**
 * Read `--client-ca`: a PEM bundle with at least one CA certificate. Errors (missing, unreadable, not PEM, not a
 * certificate) are {@link CertificateError}s naming the file.
 */
export async function loadClientCa(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CertificateError(file, `client CA file ${file} ${fileReadProblem(err)}`);
  }
  const cert = parseCertificatePem(text, file);
  if (!cert.ca) throw new CertificateError(file, `client CA file ${file} holds a certificate that is not a CA (basicConstraints CA:FALSE)`);
  return text;
}
