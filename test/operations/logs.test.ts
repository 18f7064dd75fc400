/**
 * The admission log line (uid, namespace, pod, workload, decision, reason, duration; never the pod spec) and the
 * runtime log level: SIGUSR2 switches between the configured level and debug, where the line carries the decision
 * trace.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createRuntime } from '../../src/server/runtime.js';
import { serve, type RunningServer } from '../../src/server/serve.js';
import { httpsRequest } from '../helpers/https.js';
import { podWith, review } from './helpers.js';

type Line = Record<string, unknown>;

describe('admission log lines and SIGUSR2', () => {
  const lines: Line[] = [];
  let running: RunningServer;
  let dir: string;
  let ca: string;
  let listenersBefore: number;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-logs-'));
    listenersBefore = process.listenerCount('SIGUSR2');
    const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
    running = await serve({
      injector: createRuntime(loadConfig({})),
      port: 0,
      host: '127.0.0.1',
      handleSignals: false,
      logLevelSignal: true,
      logger,
      devCertDir: dir,
      out: { write: () => true } as unknown as NodeJS.WritableStream,
    });
    ca = await readFile(path.join(dir, 'ca.crt'), 'utf8');
  });
  afterAll(async () => {
    await running.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function admit(uid: string, pod = podWith({})): Promise<Line> {
    const res = await httpsRequest(`${running.url}/inject`, { ca, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(review(uid, pod)) });
    expect(res.status).toBe(200);
    const found = lines.filter((l) => l.msg === 'admission' && l.uid === uid);
    expect(found, `one admission line for ${uid}`).toHaveLength(1);
    return found[0]!;
  }

  it('logs one line per admission with the workload from the owner references, and no pod spec', async () => {
    const line = await admit('log-1');
    expect(line).toMatchObject({
      level: 30,
      uid: 'log-1',
      namespace: 'default',
      pod: 'httpbin-5c7d8f9b6-',
      workload: 'Deployment/httpbin',
      decision: 'injected',
      reason: 'policy enabled',
    });
    expect(typeof line.durationMs).toBe('number');
    expect(line.trace).toBeUndefined();
    const text = JSON.stringify(line);
    expect(text).not.toContain('go-httpbin'); // the container image: no spec in the log
    expect(text).not.toContain('readinessProbe');
  });

  it('logs the namespace and workload as the injector resolved them: the pod\'s namespace before the request\'s', async () => {
    const pod = podWith({});
    pod.metadata = { ...pod.metadata, namespace: 'shop' };
    const res = await httpsRequest(`${running.url}/inject`, {
      ca,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(review('log-ns', pod, 'default')),
    });
    expect(res.status).toBe(200);
    const line = lines.find((l) => l.msg === 'admission' && l.uid === 'log-ns')!;
    // The injector decides for namespace shop (metadata.namespace wins over request.namespace, as in Istio).
    expect(line).toMatchObject({ namespace: 'shop', workload: 'Deployment/httpbin', decision: 'injected' });
  });

  it('SIGUSR2 switches to debug, where the line carries the decision trace, and back', async () => {
    expect(process.listenerCount('SIGUSR2')).toBe(listenersBefore + 1);
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(lines.at(-1)).toMatchObject({ msg: 'log level changed (SIGUSR2)', from: 'info', to: 'debug', configured: 'info' });

    const skipped = await admit('log-2', podWith({ labels: { 'sidecar.istio.io/inject': 'false' } }));
    expect(skipped).toMatchObject({ decision: 'skipped', reason: 'label sidecar.istio.io/inject=false' });
    expect(skipped.trace).toEqual([
      'webhookSelectors: passed (enableNamespacesByDefault: true)',
      'hostNetwork: passed (hostNetwork is not set)',
      'ignoredNamespace: passed (namespace default is not a system namespace)',
      'excludedNamespace: passed (not excluded)',
      'namespaceInjectionDisabled: passed (namespace labels unknown)',
      'gardenerKubeSystem: passed (not a Gardener kube-system namespace)',
      'namespaceRevision: passed (no istio.io/rev label)',
      'podLabel: decided (label sidecar.istio.io/inject=false)',
    ]);
    const injected = await admit('log-3');
    expect((injected.trace as string[]).at(-1)).toBe('policy: decided (policy enabled)');
    // A rejected pod: the decision was to inject, the annotation check refused it; the trace shows the decision.
    const rejected = await admit('log-3b', podWith({ annotations: { 'sidecar.istio.io/interceptionMode': 'BOGUS' } }));
    expect(rejected).toMatchObject({ decision: 'rejected', reason: 'invalid annotation sidecar.istio.io/interceptionMode' });
    expect((rejected.trace as string[]).at(-1)).toBe('policy: decided (policy enabled)');

    expect(running.toggleDebugLogging()).toBe('info');
    expect(lines.at(-1)).toMatchObject({ msg: 'log level changed (SIGUSR2)', from: 'debug', to: 'info' });
    expect((await admit('log-4')).trace).toBeUndefined();
  });

  it('the configured level debug toggles to info', async () => {
    const out: Line[] = [];
    const logger = pino({ level: 'debug' }, { write: (s: string) => void out.push(JSON.parse(s) as Line) });
    const other = await serve({
      injector: createRuntime(loadConfig({})),
      port: 0,
      host: '127.0.0.1',
      handleSignals: false,
      logger,
      devCertDir: dir,
      out: { write: () => true } as unknown as NodeJS.WritableStream,
    });
    try {
      expect(other.toggleDebugLogging()).toBe('info');
      expect(logger.level).toBe('info');
      expect(other.toggleDebugLogging()).toBe('debug');
    } finally {
      await other.close();
    }
  });

  it('close() removes the SIGUSR2 handler', async () => {
    const before = process.listenerCount('SIGUSR2');
    const other = await serve({
      injector: createRuntime(loadConfig({})),
      port: 0,
      host: '127.0.0.1',
      handleSignals: false,
      logLevelSignal: true,
      logger: pino({ level: 'silent' }),
      devCertDir: dir,
      out: { write: () => true } as unknown as NodeJS.WritableStream,
    });
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1);
    await other.close();
    expect(process.listenerCount('SIGUSR2')).toBe(before);
  });
});
