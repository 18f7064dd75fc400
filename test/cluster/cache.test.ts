/**
 * ClusterCache against the API test double, through the real client-node informers: the initial list, watch events,
 * an outage (answers kept, resync after), a compacted history (relist), and no API call on the request path.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { samplePod } from '../../src/admission/sample.js';
import { ClusterCache } from '../../src/cluster/cache.js';
import { loadConfig } from '../../src/config/load.js';
import { createRuntime } from '../../src/server/runtime.js';
import { startTestServer } from '../helpers/https.js';
import { waitFor } from '../helpers/wait.js';
import { admitPod } from '../inject/review.js';
import { recordingLogger, startHarness, type Harness, type RecordingLogger } from './helpers.js';

/** The sample pod, in `namespace` (its metadata.namespace is what the decision reads). */
function podIn(namespace: string, nodeName?: string) {
  const pod = samplePod();
  pod.metadata = { ...pod.metadata, namespace };
  if (nodeName !== undefined) pod.spec = { ...pod.spec, nodeName } as typeof pod.spec;
  return pod;
}

const node = (name: string, kubeletVersion: string) => ({ metadata: { name }, status: { nodeInfo: { kubeletVersion } } });

describe('ClusterCache', () => {
  let h: Harness;
  let log: RecordingLogger;
  let cache: ClusterCache;

  beforeEach(async () => {
    h = await startHarness();
    log = recordingLogger();
    h.api.apply('namespaces', { metadata: { name: 'shop', labels: { 'istio-injection': 'enabled' } } });
    h.api.apply('namespaces', { metadata: { name: 'legacy', labels: { 'istio-injection': 'disabled' } } });
    h.api.apply('nodes', node('node-a', 'v1.33.2'));
    h.api.apply('nodes', node('node-b', 'v1.32.5-gke.1'));
    cache = new ClusterCache(h.client, { logger: log, retry: { initialMs: 20, maxMs: 100 } });
  });

  afterEach(async () => {
    await cache.stop();
    await h.close();
  });

  it('knows nothing before it synced, then answers from the initial list', async () => {
    expect(cache.namespaceLabels('shop')).toBeUndefined();
    expect(cache.nativeSidecarsSupported()).toBeUndefined();
    expect(cache.state()).toMatchObject({ synced: false, namespaces: 0, nodes: 0 });
    cache.start();
    expect(await cache.waitForSync(20_000)).toBe(true);
    expect(cache.namespaceLabels('shop')).toEqual({ 'istio-injection': 'enabled', 'kubernetes.io/metadata.name': 'shop' });
    expect(cache.namespaceLabels('nowhere')).toBeUndefined();
    expect(cache.nativeSidecarsSupported('node-a')).toBe(true);
    expect(cache.nativeSidecarsSupported('node-b')).toBe(false);
    // Not scheduled, or an unknown node: every node must be 1.33+.
    expect(cache.nativeSidecarsSupported()).toBe(false);
    expect(cache.nativeSidecarsSupported('node-new')).toBe(false);
    expect(cache.state()).toMatchObject({ synced: true, connected: true, namespaces: 3, nodes: 2, lastError: undefined });
    expect(cache.state().lastSyncTime).toBeTypeOf('number');
    const lists = h.api.requests.filter((r) => r.query.watch === undefined).map((r) => r.path);
    expect(lists.sort()).toEqual(['/api/v1/namespaces', '/api/v1/nodes']);
    // client-node resumes its watches from the list's resourceVersion.
    const watches = h.api.requests.filter((r) => r.query.watch === 'true');
    expect(watches.map((w) => w.query.resourceVersion).every((rv) => rv !== undefined && Number(rv) > 0)).toBe(true);
  });

  it('follows ADDED, MODIFIED and DELETED events', async () => {
    cache.start();
    await cache.waitForSync(20_000);
    await waitFor('both watches', () => h.api.activeWatches() === 2);

    h.api.apply('namespaces', { metadata: { name: 'new', labels: { team: 'a' } } });
    await waitFor('the added namespace', () => cache.namespaceLabels('new')?.team === 'a');
    h.api.apply('namespaces', { metadata: { name: 'new', labels: { team: 'b', 'istio.io/rev': 'canary' } } });
    await waitFor('the modified labels', () => cache.namespaceLabels('new')?.team === 'b');
    expect(cache.namespaceLabels('new')).toMatchObject({ 'istio.io/rev': 'canary' });
    h.api.remove('namespaces', 'new');
    await waitFor('the deleted namespace', () => cache.namespaceLabels('new') === undefined);

    h.api.apply('nodes', node('node-b', 'v1.33.0'));
    await waitFor('the upgraded node', () => cache.nativeSidecarsSupported('node-b') === true);
    expect(cache.nativeSidecarsSupported()).toBe(true);
    h.api.apply('nodes', node('node-c', 'garbage'));
    await waitFor('the added node', () => cache.state().nodes === 3);
    expect(cache.nativeSidecarsSupported()).toBe(false); // unreadable version: counts as too old
    h.api.remove('nodes', 'node-c');
    await waitFor('the deleted node', () => cache.state().nodes === 2);
    expect(cache.nativeSidecarsSupported()).toBe(true);
  });

  it('keeps its answers while the API server is down and resyncs when it is back', async () => {
    cache.start();
    await cache.waitForSync(20_000);
    await waitFor('both watches', () => h.api.activeWatches() === 2);

    await h.api.down();
    await waitFor('the cache to notice the outage', () => !cache.state().connected);
    // While down: the last known state answers.
    expect(cache.namespaceLabels('legacy')).toMatchObject({ 'istio-injection': 'disabled' });
    expect(cache.nativeSidecarsSupported('node-a')).toBe(true);
    expect(cache.state().lastError?.message).toBeTypeOf('string');
    expect(log.lines.some((l) => l.level === 'warn' && /informer failed; admission keeps using the last known/.test(l.msg))).toBe(true);

    // Other clients change the cluster meanwhile (etcd keeps it).
    h.api.apply('namespaces', { metadata: { name: 'legacy', labels: { 'istio-injection': 'enabled' } } });
    h.api.remove('namespaces', 'shop');
    h.api.apply('nodes', node('node-b', 'v1.34.1'));
    expect(cache.namespaceLabels('legacy')).toMatchObject({ 'istio-injection': 'disabled' });

    await h.api.up();
    await waitFor('the resync', () => cache.namespaceLabels('legacy')?.['istio-injection'] === 'enabled');
    await waitFor('the deletion missed during the outage', () => cache.namespaceLabels('shop') === undefined);
    await waitFor('the node upgraded during the outage', () => cache.nativeSidecarsSupported() === true);
    await waitFor('connected again', () => cache.state().connected);
    expect(cache.state().informers.namespaces.restarts).toBeGreaterThan(0);
  });

  it('lists again when its resourceVersion was compacted during the outage (410 Expired)', async () => {
    cache.start();
    await cache.waitForSync(20_000);
    await waitFor('both watches', () => h.api.activeWatches() === 2);
    await h.api.down();
    await waitFor('the cache to notice the outage', () => !cache.state().connected);
    h.api.remove('namespaces', 'legacy');
    h.api.apply('namespaces', { metadata: { name: 'late', labels: { x: 'y' } } });
    h.api.compact();
    const before = h.api.requests.length;
    await h.api.up();
    await waitFor('the relisted namespace', () => cache.namespaceLabels('late')?.x === 'y');
    await waitFor('the namespace deleted before the compaction', () => cache.namespaceLabels('legacy') === undefined);
    const after = h.api.requests.slice(before);
    expect(after.some((r) => r.path === '/api/v1/namespaces' && r.query.watch === undefined)).toBe(true);
  });

  it('answers admissions from memory: no API call on the request path', async () => {
    cache.start();
    await cache.waitForSync(20_000);
    await waitFor('both watches', () => h.api.activeWatches() === 2);
    const config = loadConfig({ nativeSidecars: 'auto' });
    const server = await startTestServer(createRuntime(config, cache));
    try {
      const before = h.api.nonWatchRequests().length;
      const allBefore = h.api.requests.length;
      const skipped = await admitPod(server, podIn('legacy'), 'legacy');
      expect(skipped.audit).toMatch(/^skipped: .*istio-injection=disabled/);
      const native = await admitPod(server, podIn('shop', 'node-a'), 'shop');
      expect(native.audit).toMatch(/^injected/);
      expect(native.pod.spec?.initContainers?.some((c) => c.name === 'istio-proxy')).toBe(true);
      const unscheduled = await admitPod(server, podIn('shop'), 'shop'); // node-b is 1.32: classic sidecar
      expect(unscheduled.pod.spec?.containers?.some((c) => c.name === 'istio-proxy')).toBe(true);
      for (let i = 0; i < 20; i += 1) await admitPod(server, podIn(i % 2 ? 'shop' : 'legacy'), i % 2 ? 'shop' : 'legacy');
      expect(h.api.nonWatchRequests().length).toBe(before);
      expect(h.api.requests.length).toBe(allBefore);
    } finally {
      await server.close();
    }
  });
});
