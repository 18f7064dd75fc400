/**
 * kyma-module's cluster size from the node cache (the module's EvaluateClusterSize), against the API test double through
 * the real informers, and what a webhook with `--cluster-size auto` injects over HTTPS as nodes come and go.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { samplePod } from '../../src/admission/sample.js';
import { ClusterCache } from '../../src/cluster/cache.js';
import { clusterSizeOf } from '../../src/config/kymaModule.js';
import { loadConfig } from '../../src/config/load.js';
import { createRuntime } from '../../src/server/runtime.js';
import { startTestServer } from '../helpers/https.js';
import { waitFor } from '../helpers/wait.js';
import { admitPod } from '../inject/review.js';
import { recordingLogger, startHarness, type Harness } from './helpers.js';

const node = (name: string, cpu: string | undefined, memory: string | undefined) => ({
  metadata: { name },
  status: { nodeInfo: { kubeletVersion: 'v1.33.1' }, capacity: { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}), pods: '110' } },
});

describe('clusterSizeOf: the module rule (total capacity below 5 CPUs or below 10G memory is an evaluation cluster)', () => {
  it.each<[string, { cpu?: string; memory?: string }[], 'evaluation' | 'production']>([
    ['no node', [], 'evaluation'],
    ['exactly 5 CPUs and 10G', [{ cpu: '5', memory: '10G' }], 'production'],
    ['4900m CPU', [{ cpu: '4900m', memory: '64Gi' }], 'evaluation'],
    ['two nodes adding up to 5 CPUs', [{ cpu: '2500m', memory: '8Gi' }, { cpu: '2.5', memory: '8Gi' }], 'production'],
    // The threshold is decimal (resource.NewScaledQuantity(10, Giga)): 10G = 9536.74Mi, below 10Gi.
    ['9536Mi of memory (just below 10G)', [{ cpu: '8', memory: '9536Mi' }], 'evaluation'],
    ['9537Mi of memory (just above 10G)', [{ cpu: '8', memory: '9537Mi' }], 'production'],
    ['memory in Ki, as kubelets report it', [{ cpu: '4', memory: '8129212Ki' }, { cpu: '4', memory: '8129212Ki' }], 'production'],
    ['a node without a capacity adds nothing', [{ cpu: '4', memory: '16Gi' }, {}], 'evaluation'],
  ])('%s', (_, nodes, size) => {
    expect(clusterSizeOf(nodes)).toBe(size);
  });
});

describe('kyma-module with --cluster-size auto, in a cluster', () => {
  let h: Harness;
  let cache: ClusterCache;

  beforeEach(async () => {
    h = await startHarness();
    h.api.apply('namespaces', { metadata: { name: 'shop', labels: { 'istio-injection': 'enabled' } } });
    h.api.apply('nodes', node('small-a', '2', '4Gi'));
    cache = new ClusterCache(h.client, { logger: recordingLogger(), retry: { initialMs: 20, maxMs: 100 } });
  });

  afterEach(async () => {
    await cache.stop();
    await h.close();
  });

  it('the cache follows the nodes: unknown before the sync, evaluation, production once they add up, back again', async () => {
    expect(cache.clusterSize()).toBeUndefined();
    cache.start();
    await cache.waitForSync(20_000);
    expect(cache.clusterSize()).toBe('evaluation');
    h.api.apply('nodes', node('big', '4', '16Gi'));
    await waitFor('the added node', () => cache.clusterSize() === 'production');
    h.api.apply('nodes', node('big', '2', '16Gi')); // resized below 5 CPUs in total
    await waitFor('the resized node', () => cache.clusterSize() === 'evaluation');
    h.api.apply('nodes', node('big', '4', '16Gi'));
    await waitFor('the node grown again', () => cache.clusterSize() === 'production');
    h.api.remove('nodes', 'big');
    await waitFor('the removed node', () => cache.clusterSize() === 'evaluation');
    h.api.apply('nodes', node('odd', 'lots', undefined)); // an unreadable capacity counts as none
    await waitFor('the odd node', () => cache.state().nodes === 2);
    expect(cache.clusterSize()).toBe('evaluation');
  });

  it('injects the size the cluster has when the pod arrives, over HTTPS; explain says which and why', async () => {
    cache.start();
    await cache.waitForSync(20_000);
    const runtime = createRuntime(loadConfig({ profile: 'kyma-module' }), cache);
    const server = await startTestServer(runtime);
    const proxyResources = async () => {
      const pod = samplePod();
      pod.metadata = { ...pod.metadata, namespace: 'shop' };
      const admitted = await admitPod(server, pod, 'shop');
      const spec = admitted.pod.spec!;
      return [...(spec.initContainers ?? []), ...(spec.containers ?? [])].find((c) => c.name === 'istio-proxy')?.resources;
    };
    try {
      expect(await proxyResources()).toEqual({ requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '250m', memory: '254Mi' } });
      expect(runtime.explainer.explain(samplePod(), { namespace: 'shop' })?.clusterSize).toEqual({ size: 'evaluation', source: 'cluster' });
      h.api.apply('nodes', node('big', '8', '32Gi'));
      await waitFor('the production size', () => cache.clusterSize() === 'production');
      expect(await proxyResources()).toEqual({ requests: { cpu: '10m', memory: '192Mi' }, limits: { cpu: '1', memory: '1Gi' } });
      expect(runtime.explainer.explain(samplePod(), { namespace: 'shop' })?.clusterSize).toEqual({ size: 'production', source: 'cluster' });
    } finally {
      await server.close();
    }
  });

  it('a fixed --cluster-size wins over the cluster; no node known means production', async () => {
    cache.start();
    await cache.waitForSync(20_000);
    const fixed = createRuntime(loadConfig({ profile: 'kyma-module', clusterSize: 'production' }), cache);
    expect(fixed.explainer.explain(samplePod(), { namespace: 'shop' })?.clusterSize).toEqual({ size: 'production', source: 'configuration' });
    const noCluster = createRuntime(loadConfig({ profile: 'kyma-module' }));
    expect(noCluster.explainer.explain(samplePod(), { namespace: 'shop' })?.clusterSize).toEqual({ size: 'production', source: 'default (no node known)' });
    const pod = samplePod();
    const outcome = noCluster.injector.inject({ pod, namespace: 'shop' });
    expect(outcome.kind).toBe('injected');
    if (outcome.kind === 'injected') {
      const proxy = [...(outcome.pod.spec?.initContainers ?? []), ...(outcome.pod.spec?.containers ?? [])].find((c) => c.name === 'istio-proxy');
      expect(proxy?.resources?.requests).toEqual({ cpu: '10m', memory: '192Mi' });
    }
  });
});
