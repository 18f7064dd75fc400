/**
 * serve(): the `mesh-webhook serve` entry point — development certificates, the sample review and the printed curl
 * command (run as printed when curl is installed), configured certificate files, graceful close on SIGTERM.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AUDIT_ANNOTATION, validateAdmissionReview, type AdmissionReviewResponse } from '../../src/admission/review.js';
import { profileConfig } from '../../src/config/profiles.js';
import { createRuntime } from '../../src/server/runtime.js';
import { SAMPLE_REVIEW_FILE, serve, type RunningServer } from '../../src/server/serve.js';
import { ensureDevCertificates } from '../../src/tls/devcert.js';
import { CertificateError } from '../../src/tls/load.js';
import { httpsRequest } from '../helpers/https.js';

const run = promisify(execFile);
const injector = createRuntime(profileConfig('kyma'));
const quiet = pino({ level: 'silent' });

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-serve-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function capture(): { out: Writable; text: () => string } {
  const chunks: string[] = [];
  return {
    out: new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk.toString('utf8'));
        cb();
      },
    }),
    text: () => chunks.join(''),
  };
}

async function hasCurl(): Promise<boolean> {
  try {
    await run('curl', ['--version']);
    return true;
  } catch {
    return false;
  }
}

describe('serve with development certificates', () => {
  let running: RunningServer;
  let banner: string;
  const certDir = () => path.join(tmp, 'dev');

  beforeAll(async () => {
    const c = capture();
    running = await serve({ injector, port: 0, host: '127.0.0.1', devCertDir: certDir(), logger: quiet, handleSignals: false, out: c.out });
    banner = c.text();
  });
  afterAll(async () => {
    await running?.close();
  });

  test('listens on the requested address and a real port', () => {
    expect(running.address).toBe('127.0.0.1');
    expect(running.port).toBeGreaterThan(0);
    expect(running.url).toBe(`https://127.0.0.1:${running.port}`);
    expect(running.caPath).toBe(path.join(certDir(), 'ca.crt'));
    expect(running.samplePath).toBe(path.join(certDir(), SAMPLE_REVIEW_FILE));
  });

  test('prints where the CA is and a curl command that posts the sample review', () => {
    expect(banner).toContain(`clients trust the CA in ${running.caPath}`);
    expect(banner).toContain(
      `curl --cacert ${running.caPath} -H 'Content-Type: application/json' --data @${running.samplePath} https://127.0.0.1:${running.port}/inject`,
    );
  });

  test('the sample is a v1 AdmissionReview of a Deployment-owned pod in namespace default', async () => {
    const review = validateAdmissionReview(JSON.parse(await readFile(running.samplePath as string, 'utf8')));
    expect(review.apiVersion).toBe('admission.k8s.io/v1');
    expect(review.request.namespace).toBe('default');
    const pod = review.request.object as { metadata: { ownerReferences: { kind: string }[] } };
    expect(pod.metadata.ownerReferences[0]?.kind).toBe('ReplicaSet');
  });

  test('the printed curl command works as pasted', async () => {
    const line = banner.split('\n').find((l) => l.trim().startsWith('curl '));
    expect(line).toBeDefined();
    let stdout: string;
    if (await hasCurl()) {
      ({ stdout } = await run('sh', ['-c', line as string], { timeout: 20_000 }));
    } else {
      const ca = await readFile(running.caPath as string, 'utf8');
      const res = await httpsRequest(`${running.url}/inject`, {
        ca,
        servername: '127.0.0.1',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: await readFile(running.samplePath as string),
      });
      stdout = res.text;
    }
    const body = JSON.parse(stdout) as AdmissionReviewResponse;
    expect(body.response.allowed).toBe(true);
    expect(body.response.patchType).toBe('JSONPatch');
    expect(body.response.auditAnnotations?.[AUDIT_ANNOTATION]).toMatch(/^injected: /);
  });

  test('a second start reuses the certificates', async () => {
    const before = await readFile(path.join(certDir(), 'tls.crt'), 'utf8');
    const c = capture();
    const second = await serve({ injector, port: 0, host: '127.0.0.1', devCertDir: certDir(), logger: quiet, handleSignals: false, out: c.out });
    try {
      expect(c.text()).toContain('Development certificates reused');
      expect(await readFile(path.join(certDir(), 'tls.crt'), 'utf8')).toBe(before);
    } finally {
      await second.close();
    }
  });

  test('setInjector swaps the configuration for the next requests', async () => {
    const ca = await readFile(running.caPath as string, 'utf8');
    const post = async () => {
      const res = await httpsRequest(`${running.url}/inject`, {
        ca,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: await readFile(running.samplePath as string),
      });
      return (res.json as AdmissionReviewResponse).response;
    };
    expect((await post()).patch).toBeDefined();
    running.setInjector(createRuntime({ ...profileConfig('kyma'), policy: 'disabled' }));
    try {
      expect((await post()).patch).toBeUndefined();
    } finally {
      running.setInjector(injector);
    }
  });
});

describe('serve with configured certificate files', () => {
  test('uses them and prints no development banner', async () => {
    const certs = await ensureDevCertificates(path.join(tmp, 'configured'), ['webhook.example']);
    const c = capture();
    const running = await serve({
      injector,
      port: 0,
      host: '127.0.0.1',
      certFile: certs.certPath,
      keyFile: certs.keyPath,
      logger: quiet,
      handleSignals: false,
      out: c.out,
    });
    try {
      expect(c.text()).toBe('');
      expect(running.caPath).toBeUndefined();
      const res = await httpsRequest(`${running.url}/healthz`, { ca: certs.ca, servername: 'webhook.example' });
      expect(res.status).toBe(200);
    } finally {
      await running.close();
    }
  });

  test('a certificate without a key (or a missing file) is a clear error', async () => {
    await expect(serve({ injector, port: 0, certFile: '/nonexistent/tls.crt', handleSignals: false, logger: quiet })).rejects.toThrow(
      /key file is missing/,
    );
    const err = await serve({
      injector,
      port: 0,
      host: '127.0.0.1',
      certFile: path.join(tmp, 'missing.crt'),
      keyFile: path.join(tmp, 'missing.key'),
      handleSignals: false,
      logger: quiet,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CertificateError);
    expect((err as Error).message).toContain(path.join(tmp, 'missing.crt'));
  });
});

describe('signals', () => {
  test('SIGTERM closes the server gracefully and releases the handlers', async () => {
    const before = process.listenerCount('SIGTERM');
    const running = await serve({ injector, port: 0, host: '127.0.0.1', devCertDir: path.join(tmp, 'dev'), logger: quiet, out: capture().out });
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    expect(running.app.server.listening).toBe(true);
    process.emit('SIGTERM', 'SIGTERM');
    await running.close(); // idempotent: resolves when the signal-triggered close is done
    expect(running.app.server.listening).toBe(false);
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });
});
