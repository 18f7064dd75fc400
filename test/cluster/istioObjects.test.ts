/**
 * serve's configuration objects in the cluster (src/cluster/istioObjects.ts) against the API test double, through
 * the real client-node informers: what start reads and refuses (a missing object or key, a refused permission, a kind
 * the cluster does not serve, an API server out of reach), and which events count as a change of the configuration
 * (data: yes; labels, status, a resync or a relist after an outage: no; a deleted object or key: yes, and merge()
 * then names it).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClusterInputError, IstioObjects, type IstioObjectRefs } from '../../src/cluster/istioObjects.js';
import { waitFor } from '../helpers/wait.js';
import type { KubeObject } from '../k8s/fakeApiServer.js';
import { configMapFixture, recordingLogger, startHarness, type Harness, type RecordingLogger } from './helpers.js';

const INJECTOR = { kind: 'ConfigMap', namespace: 'istio-system', name: 'istio-sidecar-injector' } as const;
const MESH = { kind: 'ConfigMap', namespace: 'istio-system', name: 'istio' } as const;
const ISTIO_CR = { kind: 'Istio', namespace: 'kyma-system', name: 'default' } as const;

const istioResource = (cpu: string, status = 'Ready'): KubeObject => ({
  apiVersion: 'operator.kyma-project.io/v1alpha2',
  kind: 'Istio',
  metadata: { name: 'default', namespace: 'kyma-system' },
  spec: { components: { proxy: { k8s: { resources: { requests: { cpu } } } } } },
  status: { state: status },
});

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('IstioObjects', () => {
  let h: Harness;
  let log: RecordingLogger;
  let objects: IstioObjects | undefined;

  beforeEach(async () => {
    h = await startHarness();
    log = recordingLogger();
    for (const ns of ['istio-system', 'kyma-system']) h.api.apply('namespaces', { metadata: { name: ns } });
    h.api.apply('configmaps', configMapFixture('istio-sidecar-injector.yaml'));
    h.api.apply('configmaps', configMapFixture('istio.yaml'));
    h.api.apply('configmaps', { metadata: { name: 'unrelated', namespace: 'istio-system' }, data: { x: 'y' } });
  });

  afterEach(async () => {
    await objects?.stop();
    objects = undefined;
    await h.close();
  });

  const start = async (refs: IstioObjectRefs, waitMs?: number) => {
    objects = new IstioObjects(h.client, refs, { logger: log, retry: { initialMs: 20, maxMs: 100 } });
    await objects.start(waitMs);
    return objects;
  };

  it('reads the two ConfigMaps by name (list and watch narrowed by metadata.name) and gives their keys to the loader', async () => {
    const o = await start({ injector: INJECTOR, mesh: MESH });
    const load = o.merge({ profile: 'istio', sets: ['policy=disabled'] });
    const fixture = configMapFixture('istio-sidecar-injector.yaml').data as Record<string, string>;
    expect(load).toEqual({
      profile: 'istio',
      sets: ['policy=disabled'],
      istio: {
        injector: { origin: 'ConfigMap istio-system/istio-sidecar-injector, key config', text: fixture.config },
        values: { origin: 'ConfigMap istio-system/istio-sidecar-injector, key values', text: fixture.values },
        mesh: { origin: 'ConfigMap istio-system/istio, key mesh', text: (configMapFixture('istio.yaml').data as Record<string, string>).mesh },
      },
    });
    expect(o.sources).toEqual(['ConfigMap istio-system/istio-sidecar-injector', 'ConfigMap istio-system/istio']);
    const calls = h.api.requests.filter((r) => r.path === '/api/v1/namespaces/istio-system/configmaps');
    expect(calls.length).toBeGreaterThanOrEqual(4); // a list and a watch of each
    expect(new Set(calls.map((r) => r.query.fieldSelector))).toEqual(new Set(['metadata.name=istio-sidecar-injector', 'metadata.name=istio']));
    expect(h.api.requests.some((r) => r.path.includes('/configmaps/'))).toBe(false); // never a GET of another name
  });

  it('keeps a file input it does not replace: --meshConfigFile with --injector-configmap', async () => {
    const o = await start({ injector: INJECTOR });
    const load = o.merge({ istio: { mesh: { file: 'mesh.yaml' } } });
    expect(Object.keys(load.istio ?? {})).toEqual(['mesh', 'injector', 'values']);
    expect(load.istio?.mesh).toEqual({ file: 'mesh.yaml' });
  });

  it('calls back on a change of a key it reads, not on labels, a resync or a relist after an outage', async () => {
    const o = await start({ injector: INJECTOR, mesh: MESH });
    o.merge({});
    const changes: string[] = [];
    o.watch((c) => changes.push(c));
    await waitFor('both watches', () => h.api.activeWatches('configmaps') === 2);

    const mesh = configMapFixture('istio.yaml');
    h.api.apply('configmaps', { ...mesh, metadata: { ...mesh.metadata, labels: { changed: 'label' } } });
    h.api.apply('configmaps', { ...mesh, metadata: { ...mesh.metadata, labels: { changed: 'label' } }, data: { ...(mesh.data as object), meshNetworks: 'networks: {a: 1}' } });
    h.api.apply('configmaps', { metadata: { name: 'unrelated', namespace: 'istio-system' }, data: { x: 'z' } });
    // An outage with a compacted history: the informers list again (everything is ADDED anew to a fresh watch).
    await h.api.down();
    h.api.compact();
    await h.api.up();
    await waitFor('the watches back', () => h.api.activeWatches('configmaps') === 2, 30_000);
    expect(changes).toEqual([]);

    const data = mesh.data as Record<string, string>;
    h.api.apply('configmaps', { ...mesh, data: { ...data, mesh: `${data.mesh}enableTracing: false\n` } });
    await waitFor('the change', () => changes.length === 1);
    expect(changes[0]).toMatch(/^ConfigMap istio-system\/istio changed \(resourceVersion \d+\)$/);
    // Read by a reload (merge), the same content with other labels is no change; the next real one is.
    o.merge({});
    h.api.apply('configmaps', { ...mesh, metadata: { ...mesh.metadata, labels: { again: 'x' } }, data: { ...data, mesh: `${data.mesh}enableTracing: false\n` } });
    h.api.apply('configmaps', { ...mesh, data: { ...data, mesh: `${data.mesh}enableTracing: true\n` } });
    await waitFor('the second change', () => changes.length >= 2);
    // Events of one watch arrive in order: the label change before it called nothing.
    expect(changes).toHaveLength(2);
  });

  it('a deleted key or ConfigMap is a change whose merge() names what is missing; its return is a change again', async () => {
    const o = await start({ injector: INJECTOR, mesh: MESH });
    o.merge({});
    const changes: string[] = [];
    o.watch((c) => changes.push(c));
    const injector = configMapFixture('istio-sidecar-injector.yaml');
    const { values: _values, ...withoutValues } = injector.data as Record<string, string>;

    h.api.apply('configmaps', { ...injector, data: withoutValues });
    await waitFor('the lost key', () => changes.length === 1);
    expect(() => o.merge({})).toThrow(
      new ClusterInputError('ConfigMap istio-system/istio-sidecar-injector (--injector-configmap) lost its key values; the last good configuration stays until it is back'),
    );

    h.api.remove('configmaps', 'istio', 'istio-system');
    await waitFor('the deletion', () => changes.length === 2);
    expect(changes[1]).toMatch(/^ConfigMap istio-system\/istio deleted/);
    expect(() => o.merge({})).toThrow(/^ConfigMap istio-system\/istio-sidecar-injector \(--injector-configmap\) lost its key values/);

    h.api.apply('configmaps', injector);
    h.api.apply('configmaps', configMapFixture('istio.yaml'));
    await waitFor('both back', () => changes.length >= 3 && (() => { try { o.merge({}); return true; } catch { return false; } })());
    expect(() => o.merge({})).not.toThrow();
  });

  it('the Kyma Istio resource: a spec change is a change, a status change is not', async () => {
    h.api.apply('istios', istioResource('15m'));
    const o = await start({ istioResource: ISTIO_CR });
    const first = o.merge({ profile: 'kyma-module' });
    expect(first.istioCustomResource?.origin).toBe('Istio kyma-system/default');
    expect(JSON.parse(first.istioCustomResource!.text)).toEqual({
      apiVersion: 'operator.kyma-project.io/v1alpha2',
      kind: 'Istio',
      metadata: { name: 'default', namespace: 'kyma-system' },
      spec: { components: { proxy: { k8s: { resources: { requests: { cpu: '15m' } } } } } },
    });
    expect(h.api.requests.filter((r) => r.path === '/apis/operator.kyma-project.io/v1alpha2/namespaces/kyma-system/istios').map((r) => r.query.fieldSelector)).toContain(
      'metadata.name=default',
    );
    const changes: string[] = [];
    o.watch((c) => changes.push(c));
    await waitFor('the watch', () => h.api.activeWatches('istios') === 1);
    h.api.apply('istios', istioResource('15m', 'Processing'));
    h.api.apply('istios', istioResource('25m', 'Processing'));
    await waitFor('the spec change', () => changes.length === 1);
    expect(JSON.parse(o.merge({}).istioCustomResource!.text).spec.components.proxy.k8s.resources.requests.cpu).toBe('25m');
  });

  describe('start refuses, in one line naming the object, the flag and what to do', () => {
    it('a ConfigMap that does not exist', async () => {
      const err = await rejection(start({ injector: { ...INJECTOR, name: 'istio-sidecar-injector-canary' } }));
      expect(err).toBeInstanceOf(ClusterInputError);
      expect(err.message).toBe(
        'ConfigMap istio-system/istio-sidecar-injector-canary (--injector-configmap) does not exist: install Istio (istiod creates it), or name the one your istiod reads with --injector-configmap NAMESPACE/NAME',
      );
    });

    it('a ConfigMap without the keys the flag reads', async () => {
      const err = await rejection(start({ mesh: { ...MESH, name: 'unrelated' } }));
      expect(err.message).toBe(
        "ConfigMap istio-system/unrelated (--mesh-configmap) has no key mesh: --mesh-configmap must name istiod's mesh ConfigMap (istio), which has keys mesh",
      );
      const both = await rejection(start({ injector: { ...INJECTOR, name: 'unrelated' } }));
      expect(both.message).toMatch(/has no keys config and values: --injector-configmap must name istiod's sidecar injector ConfigMap/);
    });

    it('a permission the service account lacks (403): the permission', async () => {
      h.api.deny({ verb: 'list', plural: 'configmaps', namespace: 'istio-system' });
      const err = await rejection(start({ injector: INJECTOR }));
      expect(err.message).toBe(
        'cannot read ConfigMap istio-system/istio-sidecar-injector (--injector-configmap istio-system/istio-sidecar-injector): list ConfigMap istio-system/istio-sidecar-injector: 403 Forbidden: ' +
          'configmaps is forbidden: User "system:serviceaccount:mesh-webhook:mesh-webhook" cannot list resource "configmaps" in API group "" in the namespace "istio-system" ' +
          '(the service account needs list and watch on configmaps in namespace istio-system)',
      );
      h.api.allowAll();
      h.api.deny({ verb: 'watch', plural: 'configmaps', namespace: 'istio-system' });
      const watch = await rejection(start({ injector: INJECTOR }));
      expect(watch.message).toBe(
        'cannot read ConfigMap istio-system/istio-sidecar-injector (--injector-configmap istio-system/istio-sidecar-injector): watch ConfigMap istio-system/istio-sidecar-injector: 403 Forbidden ' +
          '(the service account needs list and watch on configmaps in namespace istio-system)',
      );
    });

    it('the Kyma Istio resource where the cluster does not serve the kind (the module is not installed)', async () => {
      h.api.failNext({ path: '/apis/operator.kyma-project.io/' }, 100, 404);
      const err = await rejection(start({ istioResource: ISTIO_CR }));
      expect(err.message).toMatch(
        /^cannot read Istio kyma-system\/default \(--istio-cr-resource kyma-system\/default\): the cluster does not serve istios\.operator\.kyma-project\.io \(list Istio kyma-system\/default: 404 .*\): install the Kyma Istio module, or drop --istio-cr-resource$/,
      );
    });

    it('an API server it cannot reach: retried until the wait is over, then the last reason', async () => {
      await h.api.down();
      const err = await rejection(start({ injector: INJECTOR }, 300));
      expect(err.message).toMatch(
        /^cannot read ConfigMap istio-system\/istio-sidecar-injector \(--injector-configmap istio-system\/istio-sidecar-injector\) within 0\.3s: list ConfigMap istio-system\/istio-sidecar-injector: cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\); serve needs it to load its configuration: check that the API server is reachable \(--kubeconfig, or the pod's network\)$/,
      );
    });
  });

  it('the API server lost later: nothing changes, the watch is retried and logged, the texts stay', async () => {
    const o = await start({ injector: INJECTOR });
    const before = o.merge({});
    const changes: string[] = [];
    o.watch((c) => changes.push(c));
    await waitFor('the watch', () => h.api.activeWatches('configmaps') === 1);
    await h.api.down();
    await waitFor('the warning', () => log.lines.some((l) => l.level === 'warn' && l.msg.startsWith('configuration from the cluster: watching ConfigMap istio-system/istio-sidecar-injector failed')));
    expect(o.merge({})).toEqual(before);
    await h.api.up();
    await waitFor('watching again', () => log.lines.some((l) => l.msg === 'configuration from the cluster: watching ConfigMap istio-system/istio-sidecar-injector again'), 30_000);
    expect(changes).toEqual([]);
  });
});
