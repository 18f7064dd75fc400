/**
 * Hot reload of a real serve() under load: certificate rotation and configuration changes while 8 keep-alive client
 * loops post AdmissionReviews over CA-verified HTTPS. Zero failed requests; new connections get the new certificate;
 * answers switch to the new configuration; an invalid change keeps the last good one and is counted.
 */
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig, type LoadConfigOptions } from '../../src/config/load.js';
import { createRuntime } from '../../src/server/runtime.js';
import { CERTIFICATE_EXPIRY, CERTIFICATE_RELOADS, CONFIG_RELOADS, counterValue } from '../../src/metrics.js';
import { configBaseline } from '../../src/reload/config.js';
import { serve, type RunningServer } from '../../src/server/serve.js';
import { generateDevCertificates } from '../../src/tls/devcert.js';
import { startLoad } from '../helpers/load.js';
import { waitFor } from '../helpers/wait.js';
import { atomicWriterUpdate } from './fsutil.js';

interface Pair {
  ca: string;
  cert: string;
  key: string;
  serial: string;
  notAfter: number;
}

async function pair(): Promise<Pair> {
  const p = await generateDevCertificates(['mesh-webhook.test']);
  const x = new X509Certificate(p.cert);
  return { ...p, serial: x.serialNumber, notAfter: Math.floor(Date.parse(x.validTo) / 1000) };
}

let tmp: string;
let pairA: Pair;
let pairB: Pair;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-reload-'));
  [pairA, pairB] = await Promise.all([pair(), pair()]);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

let dirCount = 0;
async function newDir(): Promise<string> {
  const d = path.join(tmp, `d${++dirCount}`);
  await mkdir(d);
  return d;
}

/** A pino logger whose lines are kept (parsed) for assertions. */
function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/** Serial of the certificate a fresh connection gets, trusting both CAs. */
function freshSerial(server: RunningServer): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      new URL('/healthz', server.url),
      { agent: false, ca: [pairA.ca, pairB.ca], servername: 'localhost', rejectUnauthorized: true },
      (res) => {
        const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
        res.resume();
        res.on('end', () => resolve(serial));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function metricsText(server: RunningServer): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(new URL('/metrics', server.url), { agent: false, ca: [pairA.ca, pairB.ca], servername: 'localhost' }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve(text));
      })
      .on('error', reject);
  });
}

async function startServer(opts: { certDir: string; logger: Logger; load?: LoadConfigOptions }): Promise<RunningServer> {
  const load = opts.load ?? {};
  const baseline = await configBaseline(load);
  return serve({
    injector: createRuntime(loadConfig(load)),
    ...(opts.load ? { reloadConfig: { load, baseline } } : {}),
    port: 0,
    host: '127.0.0.1',
    certFile: path.join(opts.certDir, 'tls.crt'),
    keyFile: path.join(opts.certDir, 'tls.key'),
    logger: opts.logger,
    handleSignals: false,
  });
}

const PER_PHASE = 40;

describe('certificate reload', () => {
  test('rotation under load (Secret volume, new CA): zero failures, new connections get the new certificate', async () => {
    const certDir = await newDir();
    await atomicWriterUpdate(certDir, { 'tls.crt': pairA.cert, 'tls.key': pairA.key });
    const { logger, lines } = capturingLogger();
    const server = await startServer({ certDir, logger });
    const load = startLoad({ url: server.url, ca: [pairA.ca, pairB.ca] });
    try {
      load.phase = 'old';
      await waitFor('requests before the rotation', () => load.inPhase('old').filter((r) => r.fresh).length >= PER_PHASE / 4);

      load.phase = 'rotating';
      await atomicWriterUpdate(certDir, { 'tls.crt': pairB.cert, 'tls.key': pairB.key });
      await waitFor('the reload', async () => (await counterValue(server.metrics.certificateReloads, 'success')) === 1);

      load.phase = 'new';
      await waitFor('requests after the rotation', () => load.inPhase('new').filter((r) => r.fresh).length >= PER_PHASE / 4);
    } finally {
      await load.stop();
    }
    try {
      expect(load.failures()).toEqual([]);
      const serials = (phase: string) => new Set(load.inPhase(phase).filter((r) => r.fresh).map((r) => r.serial));
      expect(serials('old')).toEqual(new Set([pairA.serial]));
      expect(serials('new')).toEqual(new Set([pairB.serial]));
      expect(await freshSerial(server)).toBe(pairB.serial);
      expect(await counterValue(server.metrics.certificateReloads, 'failure')).toBe(0);
      expect(await metricsText(server)).toContain(`${CERTIFICATE_EXPIRY} ${pairB.notAfter}`);
      expect(lines.filter((l) => l['msg'] === 'serving certificate reloaded').map((l) => l['serialNumber'])).toEqual([pairB.serial]);
    } finally {
      await server.close();
    }
  });

  test('a half-written or mismatched pair is rejected with a log line and a metric; the old certificate stays', async () => {
    const certDir = await newDir();
    const certFile = path.join(certDir, 'tls.crt');
    const keyFile = path.join(certDir, 'tls.key');
    await writeFile(certFile, pairA.cert);
    await writeFile(keyFile, pairA.key);
    const { logger, lines } = capturingLogger();
    const server = await startServer({ certDir, logger });
    const load = startLoad({ url: server.url, ca: [pairA.ca, pairB.ca] });
    const failures = () => counterValue(server.metrics.certificateReloads, 'failure');
    try {
      // The new certificate is written first: it does not match the old key.
      await writeFile(certFile, pairB.cert);
      await waitFor('the mismatch to be rejected', async () => (await failures()) === 1);
      expect(await freshSerial(server)).toBe(pairA.serial);

      // The key, half written.
      await writeFile(keyFile, pairB.key.slice(0, Math.floor(pairB.key.length / 2)));
      await waitFor('the half-written key to be rejected', async () => (await failures()) === 2);
      expect(await freshSerial(server)).toBe(pairA.serial);

      // The key, complete: the pair is installed.
      await writeFile(keyFile, pairB.key);
      await waitFor('the complete pair', async () => (await counterValue(server.metrics.certificateReloads, 'success')) === 1);
      expect(await freshSerial(server)).toBe(pairB.serial);
    } finally {
      await load.stop();
      await server.close();
    }
    expect(load.failures()).toEqual([]);
    expect(load.results.length).toBeGreaterThan(0);
    const rejected = lines.filter((l) => l['msg'] === 'serving certificate reload failed; keeping the current certificate');
    expect(rejected.map((l) => l['reason'])).toEqual([
      `key file ${keyFile} does not match the certificate in ${certFile}`,
      expect.stringContaining(`key file ${keyFile}`),
    ]);
    expect(await counterValue(server.metrics.certificateReloads, 'failure')).toBe(2);
  });
});

describe('configuration reload', () => {
  const configYaml = (tag: string) => `values:\n  global:\n    tag: ${tag}\n`;

  test('ConfigMap volume updates under load: valid changes switch the image, an invalid one keeps the last good config', async () => {
    const certDir = await newDir();
    await atomicWriterUpdate(certDir, { 'tls.crt': pairA.cert, 'tls.key': pairA.key });
    const configDir = await newDir();
    await atomicWriterUpdate(configDir, { 'config.yaml': configYaml('tag-a') });
    const { logger, lines } = capturingLogger();
    const server = await startServer({ certDir, logger, load: { configFile: path.join(configDir, 'config.yaml') } });
    const successes = () => counterValue(server.metrics.configReloads, 'success');
    const failures = () => counterValue(server.metrics.configReloads, 'failure');

    const load = startLoad({ url: server.url, ca: [pairA.ca] });
    try {
      load.phase = 'a';
      await waitFor('answers with config a', () => load.inPhase('a').length >= PER_PHASE);

      load.phase = 'a→b';
      await atomicWriterUpdate(configDir, { 'config.yaml': configYaml('tag-b') });
      await waitFor('the reload of config b', async () => (await successes()) === 1);
      load.phase = 'b';
      await waitFor('answers with config b', () => load.inPhase('b').length >= PER_PHASE);

      load.phase = 'b→invalid';
      await atomicWriterUpdate(configDir, { 'config.yaml': `${configYaml('tag-c')}policy: sometimes\n` });
      await waitFor('the invalid config to be rejected', async () => (await failures()) === 1);
      load.phase = 'invalid';
      await waitFor('answers after the invalid change', () => load.inPhase('invalid').length >= PER_PHASE);

      load.phase = 'invalid→d';
      await atomicWriterUpdate(configDir, { 'config.yaml': configYaml('tag-d') });
      await waitFor('the reload of config d', async () => (await successes()) === 2);
      load.phase = 'd';
      await waitFor('answers with config d', () => load.inPhase('d').length >= PER_PHASE);
    } finally {
      await load.stop();
    }
    try {
      expect(load.failures()).toEqual([]);
      const tags = (phase: string) => [...new Set(load.inPhase(phase).flatMap((r) => r.proxyTags))].sort();
      expect(tags('a')).toEqual(['tag-a']);
      expect(tags('b')).toEqual(['tag-b']);
      expect(tags('invalid')).toEqual(['tag-b']);
      expect(tags('d')).toEqual(['tag-d']);
      // Every answer is one whole configuration: never a mix of tags within one patch.
      expect(load.results.filter((r) => r.proxyTags.length !== 1)).toEqual([]);

      const text = await metricsText(server);
      expect(text).toContain(`${CONFIG_RELOADS}{result="success"} 2`);
      expect(text).toContain(`${CONFIG_RELOADS}{result="failure"} 1`);
      expect(text).toContain(`${CERTIFICATE_RELOADS}{result="failure"} 0`);
      const failed = lines.filter((l) => l['msg'] === 'configuration reload failed; keeping the last good configuration');
      expect(failed).toHaveLength(1);
      expect(failed[0]?.['reason']).toMatch(/^config policy: .*"sometimes"/);
    } finally {
      await server.close();
    }
  });

  test('an editor writing the file in place; the CLI flags (--set) are applied again on reload', async () => {
    const certDir = await newDir();
    await atomicWriterUpdate(certDir, { 'tls.crt': pairA.cert, 'tls.key': pairA.key });
    const configDir = await newDir();
    const configFile = path.join(configDir, 'config.yaml');
    await writeFile(configFile, configYaml('tag-1'));
    const { logger } = capturingLogger();
    const server = await startServer({ certDir, logger, load: { configFile, sets: ['values.global.hub=registry.test/hub'] } });
    const load = startLoad({ url: server.url, ca: [pairA.ca], concurrency: 2 });
    try {
      await writeFile(configFile, '');
      await writeFile(configFile, configYaml('tag-2'));
      await waitFor('answers with the new file', () => load.results.some((r) => r.proxyTags.includes('tag-2')));
      load.phase = 'after';
      await waitFor('more answers', () => load.inPhase('after').length >= 10);
    } finally {
      await load.stop();
      await server.close();
    }
    expect(load.failures()).toEqual([]);
    expect(await counterValue(server.metrics.configReloads, 'failure')).toBe(0);
    expect([...new Set(load.inPhase('after').flatMap((r) => r.proxyImages))]).toEqual(['registry.test/hub/proxyv2:tag-2']);
  });
});
