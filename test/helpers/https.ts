/**
 * Shared test helpers for the HTTPS edge: a CA-verified HTTPS client and a real webhook server on 127.0.0.1:0 with
 * development certificates made in a temporary directory (once per test process).
 */
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { SecureVersion } from 'node:tls';
import type { Injector } from '../../src/inject/api.js';
import { buildServer, type BuildServerOptions, type WebhookServer } from '../../src/server/app.js';
import { ensureDevCertificates, type DevCertificates } from '../../src/tls/devcert.js';

export interface HttpsResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export interface HttpsRequestOptions {
  /** PEM of the CA that must have signed the server certificate (verification is always on). */
  ca: string;
  method?: string;
  headers?: Record<string, string | number>;
  body?: string | Buffer;
  /** TLS SNI and the name checked against the certificate; default `localhost`. */
  servername?: string;
  minVersion?: SecureVersion;
  maxVersion?: SecureVersion;
  ciphers?: string;
  timeoutMs?: number;
  /**
   * The request target exactly as sent (`/./inject`, `//inject`): a URL is normalised by WHATWG URL parsing (dot
   * segments removed), this is not. Default: the URL's path and query.
   */
  rawPath?: string;
}

/**
 * One HTTPS request with the server certificate verified against `ca` (rejectUnauthorized: true) and checked for
 * the name `servername` (default localhost), whatever host the URL names. A fresh connection per request.
 */
export function httpsRequest(url: string | URL, options: HttpsRequestOptions): Promise<HttpsResponse> {
  const target = typeof url === 'string' ? new URL(url) : url;
  const servername = options.servername ?? 'localhost';
  return new Promise((resolve, reject) => {
    let settled = false;
    const req = https.request(
      target,
      {
        method: options.method ?? 'GET',
        ca: options.ca,
        rejectUnauthorized: true,
        // tls.connect checks the certificate against servername when it is set (not against the URL's IP).
        servername,
        agent: false,
        headers: options.headers ?? {},
        ...(options.minVersion ? { minVersion: options.minVersion } : {}),
        ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
        ...(options.ciphers ? { ciphers: options.ciphers } : {}),
        timeout: options.timeoutMs ?? 20_000,
        ...(options.rawPath !== undefined ? { path: options.rawPath } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          settled = true;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', (err) => {
          if (!settled) reject(err);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${target.href} timed out`)));
    // The server may answer (413) and close before the whole body is written: an error after the response
    // arrived is not the request's result.
    req.on('error', (err) => {
      if (!settled) reject(err);
    });
    if (options.body !== undefined) req.end(options.body);
    else req.end();
  });
}

let certsPromise: Promise<{ dir: string; certs: DevCertificates }> | undefined;

/** Development certificates in a temporary directory, made once per test process. */
export function testCertificates(): Promise<DevCertificates> {
  certsPromise ??= (async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-certs-'));
    const certs = await ensureDevCertificates(dir, ['mesh-webhook.mesh-webhook.svc']);
    return { dir, certs };
  })();
  return certsPromise.then((c) => c.certs);
}

/** Remove the temporary certificate directory (call from a top-level afterAll if you care). */
export async function removeTestCertificates(): Promise<void> {
  if (!certsPromise) return;
  const { dir } = await certsPromise;
  certsPromise = undefined;
  await rm(dir, { recursive: true, force: true });
}

/** The options of a POST of `body` (JSON-encoded unless a string/Buffer) as application/json. */
export function jsonPost(body: unknown, headers: Record<string, string> = {}): Omit<HttpsRequestOptions, 'ca'> {
  return { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body) };
}

/** A webhook server a test calls: over HTTPS ({@link TestServer}) or in process (test/helpers/inProcess.ts). */
export interface WebhookClient {
  app: WebhookServer;
  close: () => Promise<void>;
  /** A request to `path` (over HTTPS: CA-verified, relative to the server's URL). */
  request: (path: string, options?: Omit<HttpsRequestOptions, 'ca'>) => Promise<HttpsResponse>;
  /** POST `body` (JSON-encoded unless a string/Buffer) to `path` as application/json. */
  postJson: (path: string, body: unknown, headers?: Record<string, string>) => Promise<HttpsResponse>;
}

export interface TestServer extends WebhookClient {
  /** Base URL, `https://127.0.0.1:<port>` (the client verifies the certificate for `localhost`). */
  url: string;
  port: number;
  /** PEM of the CA to trust. */
  ca: string;
}

/** Server options of the tests: buildServer's, and `beforeStart` (add hooks before the server starts). */
export type TestServerOptions = Omit<BuildServerOptions, 'injector' | 'tls'> & { beforeStart?: (app: WebhookServer) => void };

/** buildServer() with `injector`, the test dev certificates and no logging unless `options` say otherwise. */
export async function buildTestApp(injector: BuildServerOptions['injector'], options: TestServerOptions): Promise<WebhookServer> {
  const certs = await testCertificates();
  const { beforeStart, ...serverOptions } = options;
  const app = buildServer({ logger: false, ...serverOptions, injector, tls: { cert: certs.cert, key: certs.key } });
  beforeStart?.(app);
  return app;
}

/** Start the real webhook server with `injector` on 127.0.0.1, a free port, and the test dev certificates. */
export async function startTestServer(injector: BuildServerOptions['injector'], options: TestServerOptions = {}): Promise<TestServer> {
  const certs = await testCertificates();
  const app = await buildTestApp(injector, options);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  const url = `https://127.0.0.1:${address.port}`;
  const request = (p: string, o: Omit<HttpsRequestOptions, 'ca'> = {}) => httpsRequest(new URL(p, url), { ...o, ca: certs.ca });
  return {
    url,
    port: address.port,
    ca: certs.ca,
    app,
    close: () => app.close(),
    request,
    postJson: (p, body, headers = {}) => request(p, jsonPost(body, headers)),
  };
}

export type { Injector };

/** The AdmissionReview a webhook answers, as tests read it (shed answers carry `reason` and `details`). */
export interface ReviewAnswer {
  apiVersion: string;
  kind: string;
  response: {
    uid: string;
    allowed: boolean;
    patch?: string;
    status?: { code: number; reason?: string; message: string; details?: { retryAfterSeconds: number } };
    auditAnnotations?: Record<string, string>;
  };
}
