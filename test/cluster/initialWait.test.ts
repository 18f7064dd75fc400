/**
 * The bounded start-up wait: startClusterIntegration waits at most `initialWaitMs` (default 10 s) for the first cache
 * sync (and, self-managed, the first certificate), and ClusterCache.waitForSync(timeoutMs) gives up after `timeoutMs`.
 * "At most" is the point, so these tests pin the end of the wait to the millisecond: not settled at initialWaitMs − 1,
 * settled at initialWaitMs.
 *
 * Time is faked (vitest fake timers for setTimeout/clearTimeout only; setImmediate, Date and the sockets stay real), so
 * nothing here waits for real. The API server is a black hole: a TCP listener that accepts connections and never
 * answers, so the informers' first list (and the certificate manager's first read) hang and only the timeout can end
 * the wait. Its requests carry an AbortSignal.timeout of 15 s (real time, not faked), far beyond the test.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClusterCache } from '../../src/cluster/cache.js';
import type { ClusterClient, ObjectInformer } from '../../src/cluster/client.js';
import { startClusterIntegration, type ClusterIntegration } from '../../src/server/clusterIntegration.js';
import { recordingLogger } from './helpers.js';

/** Let real I/O and promise chains run (setImmediate is not faked). */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await turn();
}

/**
 * Run real event-loop turns until `cond` holds. The real-time deadline only turns a hang into a message naming `what`
 * (Date is not faked); nothing is asserted about how long it took.
 */
async function until(cond: () => boolean, what: string, deadlineMs = 60_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`never happened: ${what}`);
    await turn();
  }
}

interface BlackHole {
  url: string;
  /** Connections accepted so far. */
  connections: () => number;
  close: () => Promise<void>;
}

async function blackHole(): Promise<BlackHole> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    // Read and ignore everything: never a byte back.
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('startClusterIntegration against an API server that never answers', () => {
  let hole: BlackHole;
  let dir: string;
  let kubeconfig: string;
  let integration: ClusterIntegration | undefined;

  beforeEach(async () => {
    hole = await blackHole();
    dir = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-wait-'));
    kubeconfig = path.join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'hole', cluster: { server: hole.url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'hole', user: {} }],
        contexts: [{ name: 'hole', context: { cluster: 'hole', user: 'hole', namespace: 'mesh-webhook' } }],
        'current-context': 'hole',
      }),
    );
  });

  afterEach(async () => {
    vi.useRealTimers();
    vi.restoreAllMocks();
    // Hang up first: stop() waits for a running certificate check, which would otherwise wait for its 15 s timeout.
    await hole.close();
    await integration?.stop();
    integration = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * Start the integration under fake timers and return once its bounded wait has begun (the timers are scheduled in
   * the same synchronous step as the waitForSync call, which the spy sees).
   */
  async function startWaiting(options: { initialWaitMs?: number; selfManagedCerts: boolean }) {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const waits = vi.spyOn(ClusterCache.prototype, 'waitForSync');
    const log = recordingLogger();
    let settled = false;
    const started = startClusterIntegration({
      kubeconfig,
      namespace: 'mesh-webhook',
      selfManagedCerts: options.selfManagedCerts,
      logger: log,
      ...(options.initialWaitMs !== undefined ? { initialWaitMs: options.initialWaitMs } : {}),
      connect: { serviceAccountRoot: '/nonexistent-root' },
    }).then((i) => {
      settled = true;
      integration = i;
      return i;
    });
    await until(() => waits.mock.calls.length > 0, 'startClusterIntegration to start waiting for the cache');
    // The informers reached the black hole (so the wait really is for an API server that does not answer).
    await until(() => hole.connections() > 0, 'a connection to the API server');
    return { started, settled: () => settled, log, waits };
  }

  it.each([
    [250, false],
    [1_000, true],
  ])('initialWaitMs %d (self-managed certificates: %s): still waiting 1 ms before, done at the ms', async (waitMs, selfManagedCerts) => {
    const { started, settled, log, waits } = await startWaiting({ initialWaitMs: waitMs, selfManagedCerts });
    expect(waits.mock.calls[0]).toEqual([waitMs]);
    await vi.advanceTimersByTimeAsync(waitMs - 1);
    await turns();
    expect(settled()).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await turns();
    expect(settled()).toBe(true);
    const result = await started;
    expect(result.cache?.state().synced).toBe(false);
    const warnings = log.lines.filter((l) => l.level === 'warn').map((l) => l.msg);
    expect(warnings).toContain('cluster cache not synced yet; admission uses the configuration until it is (it keeps retrying)');
    if (selfManagedCerts) {
      expect(result.certificates?.current()).toBeUndefined();
      expect(warnings).toContain('no self-managed certificate yet; serving a temporary development certificate (not ready) until it arrives');
    }
  });

  it('the default initialWaitMs is 10 s', async () => {
    const { started, settled } = await startWaiting({ selfManagedCerts: true });
    await vi.advanceTimersByTimeAsync(9_999);
    await turns();
    expect(settled()).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await turns();
    expect(settled()).toBe(true);
    await started;
  });

  it('initialWaitMs 0: returns without waiting (no time passes at all)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const waits = vi.spyOn(ClusterCache.prototype, 'waitForSync');
    integration = await startClusterIntegration({
      kubeconfig,
      namespace: 'mesh-webhook',
      selfManagedCerts: true,
      logger: recordingLogger(),
      initialWaitMs: 0,
      connect: { serviceAccountRoot: '/nonexistent-root' },
    });
    expect(waits).not.toHaveBeenCalled();
    expect(integration.cache?.state().synced).toBe(false);
  });
});

/** A client whose informers do what the test says: never list, or list at once. */
function stubClient(behaviour: 'never' | 'at once'): ClusterClient {
  const informer = (): ObjectInformer => ({
    on: () => undefined,
    start: () => (behaviour === 'never' ? new Promise<void>(() => undefined) : Promise.resolve()),
    stop: () => Promise.resolve(),
  });
  const unused = () => Promise.reject(new Error('not used'));
  return {
    server: 'stub',
    source: 'kubeconfig',
    namespace: undefined,
    informer,
    readSecret: unused,
    createSecret: unused,
    replaceSecret: unused,
    readWebhookConfiguration: unused,
    patchWebhookConfiguration: unused,
  };
}

describe('ClusterCache.waitForSync', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each([1, 200, 10_000])('informers that never list: false after exactly %d ms', async (timeoutMs) => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const cache = new ClusterCache(stubClient('never'), { logger: recordingLogger() }).start();
    let result: boolean | undefined;
    const waiting = cache.waitForSync(timeoutMs).then((r) => (result = r));
    await vi.advanceTimersByTimeAsync(timeoutMs - 1);
    await turns(5);
    expect(result).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await turns(5);
    expect(result).toBe(false);
    await waiting;
    expect(vi.getTimerCount()).toBe(0);
    await cache.stop();
  });

  it('informers that list at once: true without waiting for the timeout, and the timer is cleared', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const cache = new ClusterCache(stubClient('at once'), { logger: recordingLogger() }).start();
    let result: boolean | undefined;
    const waiting = cache.waitForSync(60_000).then((r) => (result = r));
    await turns(5);
    expect(result).toBe(true);
    await waiting;
    expect(vi.getTimerCount()).toBe(0);
    await cache.stop();
  });

  it('stopped while waiting: resolves false at once (not after the timeout)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const cache = new ClusterCache(stubClient('never'), { logger: recordingLogger() }).start();
    let result: boolean | undefined;
    const waiting = cache.waitForSync(60_000).then((r) => (result = r));
    await cache.stop();
    await turns(5);
    expect(result).toBe(false);
    await waiting;
  });
});
