/**
 * Transport security of the admission listener (src/server/tls.ts, applied by buildServer): TLS 1.3 preferred and
 * 1.2 with ECDHE + AEAD suites only (no CBC, no static-RSA or DHE key exchange), for ECDSA and RSA certificates; the
 * certificate chain served whole (root CA → intermediate → leaf, the client trusting only the root); the same after a
 * certificate rotation; `--client-ca`: the admission routes need the API server's client certificate (401 without,
 * 403 with one from another CA), probes do not; plain HTTP on the port gets no HTTP answer, and the plain-HTTP
 * metrics listener has no admission routes.
 */
import http from 'node:http';
import https from 'node:https';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tls, { type PeerCertificate, type DetailedPeerCertificate } from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sampleAdmissionReview } from '../../src/admission/sample.js';
import { parseCommandLine } from '../../src/cli/args.js';
import { loadConfig } from '../../src/config/load.js';
import { createMetrics } from '../../src/metrics.js';
import { buildServer, updateCertificates, type TlsOptions, type WebhookServer } from '../../src/server/app.js';
import { createRuntime } from '../../src/server/runtime.js';
import { serve } from '../../src/server/serve.js';
import { TLS_CIPHERS } from '../../src/server/tls.js';
import { CertificateError } from '../../src/tls/load.js';
import { clientCertificate, intermediateCa, rootCa, servingCertificate, type Issued } from './pki.js';

const runtime = createRuntime(loadConfig({}));

interface Pki {
  root: Issued;
  intermediate: Issued;
  leaf: Issued;
  /** leaf + intermediate, as a cert file with its chain. */
  chain: string;
}

async function pki(algorithm: 'ecdsa' | 'rsa', name: string): Promise<Pki> {
  const root = await rootCa(`${name} root`, algorithm);
  const intermediate = await intermediateCa(root, `${name} intermediate`, algorithm);
  const leaf = await servingCertificate(intermediate, algorithm);
  return { root, intermediate, leaf, chain: leaf.cert + intermediate.cert };
}

let ec: Pki;
let rsa: Pki;
let clientRoot: Issued;
let otherRoot: Issued;
let apiServer: Issued;
let stranger: Issued;
beforeAll(async () => {
  [ec, rsa, clientRoot, otherRoot] = await Promise.all([pki('ecdsa', 'ec'), pki('rsa', 'rsa'), rootCa('kube client CA'), rootCa('other CA')]);
  [apiServer, stranger] = await Promise.all([clientCertificate(clientRoot), clientCertificate(otherRoot, 'not-the-apiserver')]);
}, 60_000);

const servers: WebhookServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function start(tlsOptions: TlsOptions, extra: { metrics?: boolean } = {}): Promise<{ app: WebhookServer; port: number }> {
  const app = buildServer({ injector: runtime, tls: tlsOptions, logger: false, explain: true, ...(extra.metrics ? { metrics: createMetrics() } : {}) });
  servers.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return { app, port: address.port };
}

interface Handshake {
  protocol: string | null;
  cipher: string;
  chain: string[];
}

/** A raw TLS handshake with `127.0.0.1:port`, verifying against `ca`; resolves what was negotiated or the error code. */
function handshake(port: number, options: tls.ConnectionOptions): Promise<Handshake | { error: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...options }, () => {
      const chain: string[] = [];
      let c: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      while (c && Object.keys(c).length > 0) {
        chain.push((c.subject as PeerCertificate['subject']).CN as string);
        if (c.issuerCertificate === c) break;
        c = c.issuerCertificate;
      }
      resolve({ protocol: socket.getProtocol(), cipher: socket.getCipher().name, chain });
      socket.end();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
  });
}

interface Answer {
  status: number;
  body: unknown;
}

function post(port: number, p: string, options: { ca: string; cert?: Issued; body?: string; method?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: p,
        method: options.method ?? 'POST',
        servername: 'localhost',
        ca: options.ca,
        agent: false,
        ...(options.cert ? { cert: options.cert.cert, key: options.cert.key } : {}),
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = text;
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const reviewBody = () => JSON.stringify(sampleAdmissionReview({ uid: 'tls-test' }));

describe('protocol versions and cipher suites', () => {
  test('the configured suites are TLS 1.3 AEAD and TLS 1.2 ECDHE + AES-GCM/ChaCha20 only', () => {
    for (const suite of TLS_CIPHERS.split(':')) {
      expect(suite).toMatch(/^(TLS_(AES_128_GCM|AES_256_GCM|CHACHA20_POLY1305)_SHA(256|384)|ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305))$/);
    }
  });

  test.each(['ecdsa', 'rsa'] as const)('%s certificate: TLS 1.3 when offered, ECDHE + AEAD with TLS 1.2, nothing weaker', async (kind) => {
    const p = kind === 'ecdsa' ? ec : rsa;
    const { port } = await start({ cert: p.chain, key: p.leaf.key });
    const ca = p.root.cert;

    const modern = await handshake(port, { ca });
    expect(modern).toMatchObject({ protocol: 'TLSv1.3' });

    const tls12 = await handshake(port, { ca, maxVersion: 'TLSv1.2' });
    expect(tls12).toMatchObject({ protocol: 'TLSv1.2' });
    expect((tls12 as Handshake).cipher).toMatch(/^ECDHE-(ECDSA|RSA)-(AES128-GCM|AES256-GCM|CHACHA20-POLY1305)/);

    // Each weak family on its own, offered by a TLS 1.2 client: the handshake fails.
    const alg = kind === 'ecdsa' ? 'ECDSA' : 'RSA';
    const weak = [
      `ECDHE-${alg}-AES128-SHA256`, // CBC
      `ECDHE-${alg}-AES256-SHA`, // CBC, SHA-1
      'AES128-GCM-SHA256', // static RSA key exchange: no forward secrecy
      'AES256-SHA256', // static RSA + CBC
      'DHE-RSA-AES128-GCM-SHA256', // finite-field DHE
    ];
    for (const cipher of weak) {
      const result = await handshake(port, { ca, maxVersion: 'TLSv1.2', ciphers: `${cipher}:@SECLEVEL=0` });
      expect(result, cipher).toHaveProperty('error');
    }
    // TLS 1.1 and older: refused.
    expect(await handshake(port, { ca, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' })).toHaveProperty('error');
  });
});

describe('certificate chain', () => {
  test('a cert file with its intermediate is served whole: a client trusting only the root verifies it', async () => {
    const { port } = await start({ cert: ec.chain, key: ec.leaf.key });
    const result = await handshake(port, { ca: ec.root.cert });
    expect(result).toMatchObject({ protocol: 'TLSv1.3' });
    expect((result as Handshake).chain.slice(0, 3)).toEqual(['localhost', 'ec intermediate', 'ec root']);
    expect((await post(port, '/inject', { ca: ec.root.cert, body: reviewBody() })).status).toBe(200);
  });

  test('control: the leaf alone does not verify against the root (the intermediate is what makes it work)', async () => {
    const { port } = await start({ cert: ec.leaf.cert, key: ec.leaf.key });
    expect(await handshake(port, { ca: ec.root.cert })).toEqual({ error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  test('after a certificate rotation: the new chain is served whole, the cipher policy still holds', async () => {
    const { app, port } = await start({ cert: ec.chain, key: ec.leaf.key });
    updateCertificates(app, { cert: rsa.chain, key: rsa.leaf.key });
    const result = await handshake(port, { ca: rsa.root.cert, maxVersion: 'TLSv1.2' });
    expect(result).toMatchObject({ protocol: 'TLSv1.2', chain: ['localhost', 'rsa intermediate', 'rsa root'] });
    expect((result as Handshake).cipher).toMatch(/^ECDHE-RSA-(AES128-GCM|AES256-GCM|CHACHA20)/);
    expect(await handshake(port, { ca: rsa.root.cert, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA256:@SECLEVEL=0' })).toHaveProperty('error');
    expect(await handshake(port, { ca: rsa.root.cert, maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256:@SECLEVEL=0' })).toHaveProperty('error');
  });
});

describe('client certificates (--client-ca)', () => {
  test('admission routes need a certificate from the client CA; probes and metrics do not', async () => {
    const { port } = await start({ cert: ec.chain, key: ec.leaf.key, clientCa: clientRoot.cert }, { metrics: true });
    const ca = ec.root.cert;
    for (const p of ['/inject', '/inject/cluster/c1/net/n1', '/validate', '/validate/', '/explain', '/inject?timeout=10s']) {
      const none = await post(port, p, { ca, body: reviewBody() });
      expect(none.status, p).toBe(401);
      expect(none.body).toEqual({ error: expect.stringMatching(/client certificate is required/) });
      const wrong = await post(port, p, { ca, cert: stranger, body: reviewBody() });
      expect(wrong.status, p).toBe(403);
      expect(wrong.body).toEqual({ error: expect.stringMatching(/client certificate is not accepted/) });
    }
    const ok = await post(port, '/inject', { ca, cert: apiServer, body: reviewBody() });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ kind: 'AdmissionReview', response: { uid: 'tls-test', allowed: true, patchType: 'JSONPatch' } });
    expect((await post(port, '/validate', { ca, cert: apiServer, body: reviewBody() })).status).toBe(200);
    // The kubelet's probes and Prometheus present no certificate.
    for (const p of ['/healthz', '/readyz', '/metrics']) expect((await post(port, p, { ca, method: 'GET' })).status, p).toBe(200);
  });

  test('a certificate rotation keeps verifying client certificates', async () => {
    const { app, port } = await start({ cert: ec.chain, key: ec.leaf.key, clientCa: clientRoot.cert });
    updateCertificates(app, { cert: rsa.chain, key: rsa.leaf.key });
    const ca = rsa.root.cert;
    expect((await post(port, '/inject', { ca, cert: apiServer, body: reviewBody() })).status).toBe(200);
    expect((await post(port, '/inject', { ca, body: reviewBody() })).status).toBe(401);
    expect((await post(port, '/inject', { ca, cert: stranger, body: reviewBody() })).status).toBe(403);
  });

  test('without --client-ca no certificate is asked for', async () => {
    const { port } = await start({ cert: ec.chain, key: ec.leaf.key });
    expect((await post(port, '/inject', { ca: ec.root.cert, body: reviewBody() })).status).toBe(200);
  });

  test('--client-ca on the command line, and a bad file is a CertificateError naming it', async () => {
    const invocation = parseCommandLine(['serve', '--client-ca', '/etc/mesh-webhook/client-ca.crt']);
    expect(invocation).toMatchObject({ command: 'serve', args: { clientCaFile: '/etc/mesh-webhook/client-ca.crt' } });
    expect(() => parseCommandLine(['serve', '--client-ca', ''])).toThrow(/--client-ca needs a file name/);

    const dir = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-clientca-'));
    try {
      await writeFile(path.join(dir, 'tls.crt'), ec.chain);
      await writeFile(path.join(dir, 'tls.key'), ec.leaf.key);
      await writeFile(path.join(dir, 'leaf.crt'), apiServer.cert);
      await writeFile(path.join(dir, 'ca.crt'), clientRoot.cert);
      const base = { injector: runtime, port: 0, host: '127.0.0.1', certFile: path.join(dir, 'tls.crt'), keyFile: path.join(dir, 'tls.key'), handleSignals: false, watchCertificates: false, logLevel: 'silent' };
      await expect(serve({ ...base, clientCaFile: path.join(dir, 'missing.crt') })).rejects.toThrow(CertificateError);
      await expect(serve({ ...base, clientCaFile: path.join(dir, 'missing.crt') })).rejects.toThrow(/missing\.crt/);
      await expect(serve({ ...base, clientCaFile: path.join(dir, 'leaf.crt') })).rejects.toThrow(/not a CA/);
      const running = await serve({ ...base, clientCaFile: path.join(dir, 'ca.crt') });
      try {
        expect((await post(running.port, '/inject', { ca: ec.root.cert, body: reviewBody() })).status).toBe(401);
        expect((await post(running.port, '/inject', { ca: ec.root.cert, cert: apiServer, body: reviewBody() })).status).toBe(200);
      } finally {
        await running.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('no plain HTTP for admission', () => {
  function plain(port: number, p: string, method = 'POST'): Promise<string> {
    return new Promise((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, path: p, method, headers: { 'content-type': 'application/json' }, timeout: 5_000 }, (res) =>
        resolve(`answered ${res.statusCode}`),
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      req.end(method === 'POST' ? reviewBody() : undefined);
    });
  }

  test('plain HTTP to the webhook port gets no HTTP answer (the connection is dropped)', async () => {
    const { port } = await start({ cert: ec.chain, key: ec.leaf.key });
    for (const p of ['/inject', '/validate']) expect(await plain(port, p)).toMatch(/^(ECONNRESET|EPIPE|HPE_INVALID_CONSTANT|socket hang up)$/);
    expect(await plain(port, '/healthz', 'GET')).toMatch(/^(ECONNRESET|EPIPE|HPE_INVALID_CONSTANT|socket hang up)$/);
  });

  test('the plain-HTTP metrics listener serves /metrics only: no admission routes', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-plain-'));
    try {
      await writeFile(path.join(dir, 'tls.crt'), ec.chain);
      await writeFile(path.join(dir, 'tls.key'), ec.leaf.key);
      const running = await serve({
        injector: runtime,
        port: 0,
        host: '127.0.0.1',
        certFile: path.join(dir, 'tls.crt'),
        keyFile: path.join(dir, 'tls.key'),
        handleSignals: false,
        watchCertificates: false,
        logLevel: 'silent',
        metricsListener: { port: 0, host: '127.0.0.1' },
      });
      try {
        const metricsUrl = (running as unknown as { metricsUrl?: string }).metricsUrl;
        expect(metricsUrl).toMatch(/^http:/);
        const metricsPort = Number(new URL(metricsUrl as string).port);
        for (const p of ['/inject', '/validate', '/explain']) expect(await plain(metricsPort, p)).toBe('answered 404');
        expect(await plain(metricsPort, '/metrics', 'GET')).toBe('answered 200');
        expect(await plain(running.port, '/inject')).toMatch(/^(ECONNRESET|EPIPE|HPE_INVALID_CONSTANT|socket hang up)$/);
      } finally {
        await running.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
