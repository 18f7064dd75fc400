/**
 * `mesh-webhook outdated` with the Kyma Istio module's restart rules (kyma-project/istio internal/restarter/predicates,
 * pkg/lib/sidecars), against the Kubernetes API test double: each cluster state is built here from pods injected under
 * one configuration and checked under another. One describe per rule: CNI switched, Prometheus merge switched, proxy
 * configuration changed, pods not running and ready, Kyma's workloads first, pods deleted for owner-less ReplicaSets and
 * ReplicationControllers, a not-ready sibling ReplicaSet, custom images, the restart annotation key.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseCommandLine, UsageError } from '../../src/cli/args.js';
import { loadConfig } from '../../src/config/load.js';
import { createInjector } from '../../src/inject/index.js';
import type { Pod } from '../../src/k8s/types.js';
import { findOutdated, restartOutdated, type OutdatedReport, type PodReport } from '../../src/outdated/index.js';
import { connectOutdatedApi, KYMA_RESTARTED_AT, RESTARTED_AT } from '../../src/outdated/kube.js';
import { FakeApiServer, type KubeObject } from '../k8s/fakeApiServer.js';
import { CURRENT_IMAGE, CUSTOM_IMAGE } from './fixtureCluster.js';
import { cli, ensureBuilt, runOutdatedWith } from './helpers.js';

const NOW = new Date('2030-01-02T03:04:05.678Z');
const RESTARTED = '2030-01-02T03:04:05Z';

const injectorWith = (...sets: string[]) => createInjector(loadConfig({ sets }));
type Injector = ReturnType<typeof injectorWith>;
const CURRENT = injectorWith();
const OLD_TAG = injectorWith('values.global.tag=1.29.0-distroless');
const CNI = 'values.pilot.cni.enabled=true';
const MERGE = 'meshConfig.enablePrometheusMerge=true';
const DNS_CAPTURE = 'meshConfig.defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE="true"';
const STATS_MATCHER = 'meshConfig.defaultConfig.proxyStatsMatcher={"inclusionRegexps":[".*"]}';
const APP_METRICS = { 'prometheus.io/path': '/metrics', 'prometheus.io/port': '8080' };

let api: FakeApiServer;
let dir: string;
let kubeconfig: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mesh-webhook-outdated-kyma-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  api = await FakeApiServer.start();
  for (const ns of ['shop', 'kyma-system', 'aaa']) api.apply('namespaces', { metadata: { name: ns } });
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, api.kubeconfig('shop'));
});
afterEach(() => api.close());

interface PodOptions {
  owner?: { kind: string; name: string; uid?: string };
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  status?: Record<string, unknown>;
}

/** A pod as the API server stores it after `injector` injected it (Running, no conditions unless given). */
function addPod(injector: Injector, namespace: string, name: string, options: PodOptions = {}): KubeObject {
  const { owner } = options;
  const apiVersion = owner?.kind === 'ReplicationController' ? 'v1' : 'apps/v1';
  const pod: Pod = {
    metadata: {
      name,
      namespace,
      labels: { app: name, ...options.labels },
      annotations: { ...options.annotations },
      ...(owner ? { ownerReferences: [{ apiVersion, kind: owner.kind, name: owner.name, uid: owner.uid ?? `uid-${owner.name}`, controller: true }] } : {}),
    },
    spec: { containers: [{ name: 'app', image: 'nginx:1.27', ports: [{ containerPort: 8080 }] }] },
  };
  const outcome = injector.inject({ pod, namespace });
  if (outcome.kind !== 'injected') throw new Error(`test pod ${namespace}/${name} was not injected: ${outcome.reason}`);
  return api.apply('pods', { ...(outcome.pod as KubeObject), status: options.status ?? { phase: 'Running' } });
}

const template = (app: string) => ({ metadata: { labels: { app } }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } });

/** A Deployment with one ReplicaSet `<name>-rs` (status as given) and the Deployment's uid in its owner reference. */
function addDeployment(namespace: string, name: string, rsStatus: Record<string, unknown> = {}): { rs: string; uid: string } {
  const d = api.apply('deployments', { metadata: { name, namespace }, spec: { template: template(name) }, status: { observedGeneration: 1 } });
  const uid = d.metadata.uid!;
  api.apply('replicasets', {
    metadata: { name: `${name}-rs`, namespace, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid, controller: true }] },
    spec: { template: template(name) },
    status: rsStatus,
  });
  return { rs: `${name}-rs`, uid };
}

/** The report of the current state under `injector` (the configuration now). */
async function check(injector: Injector = CURRENT, namespace: string | undefined = 'shop'): Promise<OutdatedReport> {
  return findOutdated(await connectOutdatedApi({ kubeconfig }), injector, { namespace });
}

/** The one pod the report lists. */
function onlyPod(r: OutdatedReport): PodReport {
  const pods = r.workloads.flatMap((w) => w.pods);
  expect(pods).toHaveLength(1);
  return pods[0]!;
}

const run = (...argv: string[]) => runOutdatedWith(kubeconfig, ...argv);

const summary = (r: OutdatedReport) => r.workloads.map((w) => `${w.namespace}/${w.kind}/${w.name} ${w.action}${w.result ? ` (${w.result})` : ''}`);
const writes = () => api.requests.filter((r) => r.method === 'PATCH' || r.method === 'DELETE').map((r) => `${r.method} ${r.path}`);

describe('Istio CNI switched: istio-init against istio-validation', () => {
  it('CNI now on: a pod with istio-init is outdated', async () => {
    addPod(CURRENT, 'shop', 'web', { owner: { kind: 'StatefulSet', name: 'web' } });
    const r = await check(injectorWith(CNI));
    expect(onlyPod(r)).toMatchObject({ status: 'outdated', differences: [{ field: 'initContainer', actual: 'istio-init', expected: 'istio-validation' }] });
  });

  it('CNI now off: a pod with istio-validation is outdated', async () => {
    addPod(injectorWith(CNI), 'shop', 'web', { owner: { kind: 'StatefulSet', name: 'web' } });
    const r = await check(CURRENT);
    expect(onlyPod(r)).toMatchObject({ status: 'outdated', differences: [{ field: 'initContainer', actual: 'istio-validation', expected: 'istio-init' }] });
  });

  it('the native istio-proxy (an init container too) is not taken for either; a pod with neither is up to date', async () => {
    // Interception off: no istio-init, no istio-validation, whatever the CNI setting.
    addPod(CURRENT, 'shop', 'web', { owner: { kind: 'StatefulSet', name: 'web' }, annotations: { 'sidecar.istio.io/interceptionMode': 'NONE' } });
    const pod = api.get('pods', 'web', 'shop')!;
    expect((pod['spec'] as { initContainers: { name: string }[] }).initContainers.map((c) => c.name)).toEqual(['istio-proxy']);
    const r = await check(injectorWith(CNI));
    expect({ checked: r.checked, upToDate: r.upToDate, workloads: r.workloads }).toEqual({ checked: 1, upToDate: 1, workloads: [] });
  });
});

describe('Prometheus merge switched: the prometheus.io annotations', () => {
  it('merge now on: the pod keeps its own scrape annotations and is outdated', async () => {
    addPod(CURRENT, 'shop', 'web', { owner: { kind: 'StatefulSet', name: 'web' }, annotations: APP_METRICS });
    const r = await check(injectorWith(MERGE));
    expect(onlyPod(r).differences).toEqual([
      { field: 'annotations.prometheus.io/scrape', actual: null, expected: 'true' },
      { field: 'annotations.prometheus.io/path', actual: '/metrics', expected: '/stats/prometheus' },
      { field: 'annotations.prometheus.io/port', actual: '8080', expected: '15020' },
    ]);
  });

  it('merge now off: the merged annotations are outdated; expected are the pod\'s own, restored from ISTIO_PROMETHEUS_ANNOTATIONS', async () => {
    const stored = addPod(injectorWith(MERGE), 'shop', 'web', { owner: { kind: 'StatefulSet', name: 'web' }, annotations: APP_METRICS });
    expect(stored.metadata['annotations']).toMatchObject({ 'prometheus.io/path': '/stats/prometheus', 'prometheus.io/port': '15020', 'prometheus.io/scrape': 'true' });
    const r = await check(CURRENT);
    expect(onlyPod(r).differences).toEqual([
      { field: 'annotations.prometheus.io/scrape', actual: 'true', expected: null },
      { field: 'annotations.prometheus.io/path', actual: '/stats/prometheus', expected: '/metrics' },
      { field: 'annotations.prometheus.io/port', actual: '15020', expected: '8080' },
    ]);
  });

  it('merged pods under a configuration that still merges are up to date (the merge is undone before re-injection)', async () => {
    const merge = injectorWith(MERGE);
    addPod(merge, 'shop', 'web', { owner: { kind: 'StatefulSet', name: 'web' }, annotations: APP_METRICS });
    addPod(merge, 'shop', 'bare', { owner: { kind: 'StatefulSet', name: 'bare' } }); // no scrape annotations of its own
    const r = await check(merge);
    expect({ checked: r.checked, upToDate: r.upToDate, outdated: r.outdated }).toEqual({ checked: 2, upToDate: 2, outdated: 0 });
  });

  it('a pod that opts out with prometheus.istio.io/merge-metrics=false is not outdated when the merge is on', async () => {
    const annotations = { ...APP_METRICS, 'prometheus.istio.io/merge-metrics': 'false' };
    addPod(CURRENT, 'shop', 'web', { owner: { kind: 'StatefulSet', name: 'web' }, annotations });
    const r = await check(injectorWith(MERGE));
    expect({ checked: r.checked, upToDate: r.upToDate, outdated: r.outdated }).toEqual({ checked: 1, upToDate: 1, outdated: 0 });
  });
});

describe('proxy configuration changed: PROXY_CONFIG and the proxyMetadata variables', () => {
  it('a proxyMetadata key added to meshConfig.defaultConfig (DNS proxying)', async () => {
    addPod(CURRENT, 'shop', 'web', { owner: { kind: 'StatefulSet', name: 'web' } });
    const r = await check(injectorWith(DNS_CAPTURE));
    expect(onlyPod(r).differences).toEqual([{ field: 'proxyConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE', actual: null, expected: 'true' }]);
  });

  it('a proxyMetadata variable changed on the proxy alone is reported as env', async () => {
    const stored = addPod(injectorWith(DNS_CAPTURE), 'shop', 'web', { owner: { kind: 'StatefulSet', name: 'web' } });
    const proxy = (stored['spec'] as { initContainers: { name: string; env: { name: string; value?: string }[] }[] }).initContainers.find((c) => c.name === 'istio-proxy')!;
    proxy.env.find((e) => e.name === 'ISTIO_META_DNS_CAPTURE')!.value = 'false';
    api.apply('pods', stored);
    const r = await check(injectorWith(DNS_CAPTURE));
    expect(onlyPod(r).differences).toEqual([{ field: 'env.ISTIO_META_DNS_CAPTURE', actual: 'false', expected: 'true' }]);
  });

  it('another top-level setting (the proxy stats matcher) is reported by its key, as JSON', async () => {
    addPod(injectorWith(STATS_MATCHER), 'shop', 'web', { owner: { kind: 'StatefulSet', name: 'web' } });
    const r = await check(CURRENT);
    expect(onlyPod(r).differences).toEqual([{ field: 'proxyConfig.proxyStatsMatcher', actual: '{"inclusionRegexps":[".*"]}', expected: null }]);
  });
});

describe('only running, ready pods are compared and restarted', () => {
  it('a Pending pod and a pod with a condition not True are listed as not compared and never restarted', async () => {
    addPod(OLD_TAG, 'shop', 'pending', { owner: { kind: 'StatefulSet', name: 'pending' }, status: { phase: 'Pending' } });
    addPod(OLD_TAG, 'shop', 'unready', {
      owner: { kind: 'StatefulSet', name: 'unready' },
      status: { phase: 'Running', conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: 'False' }] },
    });
    addPod(OLD_TAG, 'shop', 'ready', {
      owner: { kind: 'StatefulSet', name: 'ready' },
      status: { phase: 'Running', conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: 'True' }] },
    });
    for (const name of ['pending', 'unready', 'ready']) api.apply('statefulsets', { metadata: { name, namespace: 'shop' }, spec: { template: template(name) } });
    const { code, text } = await run('--restart', '--dry-run=false', '-o', 'json');
    expect(code).toBe(0);
    const r = JSON.parse(text) as OutdatedReport;
    expect({ checked: r.checked, outdated: r.outdated, notReady: r.notReady }).toEqual({
      checked: 1,
      outdated: 1,
      notReady: [
        { namespace: 'shop', name: 'pending', reason: 'phase Pending' },
        { namespace: 'shop', name: 'unready', reason: 'condition Ready is False' },
      ],
    });
    expect(summary(r)).toEqual(['shop/StatefulSet/ready restart (restarted)']);
    expect(writes()).toEqual(['PATCH /apis/apps/v1/namespaces/shop/statefulsets/ready']);
    expect((await run()).text).toContain(
      '1 pod(s) with a sidecar checked in namespace shop: 0 up to date, 1 outdated (2 pending or not ready pod(s) not compared, never restarted: shop/pending (phase Pending), shop/unready (condition Ready is False))',
    );
  });
});

describe("Kyma's own workloads first", () => {
  beforeEach(() => {
    // Alphabetically the customer's Deployment in namespace aaa comes first.
    addDeployment('aaa', 'customer');
    addPod(OLD_TAG, 'aaa', 'customer-rs-1', { owner: { kind: 'ReplicaSet', name: 'customer-rs' } });
    addDeployment('aaa', 'module');
    addPod(OLD_TAG, 'aaa', 'module-rs-1', { owner: { kind: 'ReplicaSet', name: 'module-rs' }, labels: { 'kyma-project.io/module': 'serverless' } });
    addDeployment('kyma-system', 'operator');
    addPod(OLD_TAG, 'kyma-system', 'operator-rs-1', { owner: { kind: 'ReplicaSet', name: 'operator-rs' } });
  });

  it('are listed first, marked, and restarted first under --max-restarts', async () => {
    const { text } = await run('-A', '--restart', '--dry-run=false', '--max-restarts', '1', '-o', 'json');
    const r = JSON.parse(text) as OutdatedReport;
    expect(r.workloads.map((w) => `${w.namespace}/${w.name} kyma=${w.kyma} ${w.action}${w.result ? ` (${w.result})` : ''}`)).toEqual([
      'aaa/module kyma=true restart (restarted)',
      'kyma-system/operator kyma=true deferred',
      'aaa/customer kyma=false deferred',
    ]);
    expect(writes()).toEqual(['PATCH /apis/apps/v1/namespaces/aaa/deployments/module']);
    const listed = (await run('-A')).text.split('\n');
    expect(listed[1]).toBe('Deployment aaa/module (via ReplicaSet module-rs) [Kyma]: 1 outdated pod(s); restart: kubectl rollout restart deployment/module -n aaa');
    expect(listed[5]).toBe('Deployment aaa/customer (via ReplicaSet customer-rs): 1 outdated pod(s); restart: kubectl rollout restart deployment/customer -n aaa');
  });

  it('a failed Kyma workload defers the customer workloads, as the module stops after Kyma\'s', async () => {
    api.failNext({ method: 'PATCH', path: '/deployments/module' }, 1, 500);
    const { code, text } = await run('-A', '--restart', '--dry-run=false', '-o', 'json');
    expect(code).toBe(1);
    const r = JSON.parse(text) as OutdatedReport;
    expect(summary(r)).toEqual([
      'aaa/Deployment/module restart (failed: restart Deployment aaa/module: 500 InternalError: injected failure (500))',
      'kyma-system/Deployment/operator restart (restarted)',
      'aaa/Deployment/customer deferred',
    ]);
    expect(r.workloads[2]!.detail).toBe("Kyma workload Deployment aaa/module failed to restart: customer workloads wait until Kyma's are restarted");
    expect(r.restart).toMatchObject({ restarted: 1, deferred: 1, failed: 1 });
  });
});

describe('pods of owner-less ReplicaSets and of ReplicationControllers are deleted', () => {
  beforeEach(() => {
    api.apply('replicasets', { metadata: { name: 'loose', namespace: 'shop' }, spec: { template: template('loose') } });
    addPod(OLD_TAG, 'shop', 'loose-1', { owner: { kind: 'ReplicaSet', name: 'loose' } });
    addPod(OLD_TAG, 'shop', 'loose-2', { owner: { kind: 'ReplicaSet', name: 'loose' } });
    addPod(CURRENT, 'shop', 'loose-3', { owner: { kind: 'ReplicaSet', name: 'loose' } }); // up to date: kept
    addPod(OLD_TAG, 'shop', 'legacy-1', { owner: { kind: 'ReplicationController', name: 'legacy' } });
  });

  it('a dry run only says it would delete them', async () => {
    const r = await restartOutdated(await connectOutdatedApi({ kubeconfig }), await check(), { dryRun: true, maxRestarts: 5 });
    expect(summary(r)).toEqual(['shop/ReplicaSet/loose delete-pods (would delete 2 pod(s))', 'shop/ReplicationController/legacy delete-pods (would delete 1 pod(s))']);
    expect(r.workloads[0]!.detail).toBe('kubectl delete pod loose-1 loose-2 -n shop (the ReplicaSet creates them again)');
    expect(r.restart).toMatchObject({ restarted: 2, deletedPods: 3 });
    expect(writes()).toEqual([]);
    expect((await run('--restart')).text).toContain(
      'ReplicaSet shop/loose: 2 outdated pod(s); would delete 2 pod(s) (kubectl delete pod loose-1 loose-2 -n shop (the ReplicaSet creates them again))',
    );
  });

  it('--dry-run=false deletes the outdated pods, one workload each against --max-restarts', async () => {
    const r = await restartOutdated(await connectOutdatedApi({ kubeconfig }), await check(), { dryRun: false, maxRestarts: 1 });
    expect(summary(r)).toEqual(['shop/ReplicaSet/loose delete-pods (deleted 2 pod(s))', 'shop/ReplicationController/legacy deferred']);
    expect(writes()).toEqual(['DELETE /api/v1/namespaces/shop/pods/loose-1', 'DELETE /api/v1/namespaces/shop/pods/loose-2']);
    expect(api.get('pods', 'loose-1', 'shop')).toBeUndefined();
    expect(api.get('pods', 'loose-3', 'shop')).toBeDefined();
    api.clearRequests();
    const next = await run('--restart', '--dry-run=false');
    expect(next.text).toContain('ReplicationController shop/legacy: 1 outdated pod(s); deleted 1 pod(s) (kubectl delete pod legacy-1 -n shop (the ReplicationController creates them again))');
    expect(next.text).toContain('1 workload(s) restarted (1 pod(s) deleted)');
    expect(writes()).toEqual(['DELETE /api/v1/namespaces/shop/pods/legacy-1']);
  });
});

describe("a Deployment with another ReplicaSet that is not ready (the module's rule)", () => {
  it('is not restarted while that ReplicaSet rolls out; one whose other ReplicaSet is scaled down is', async () => {
    const { uid } = addDeployment('shop', 'web', { replicas: 1, readyReplicas: 1 });
    addPod(OLD_TAG, 'shop', 'web-rs-1', { owner: { kind: 'ReplicaSet', name: 'web-rs', uid: 'x' } });
    api.apply('replicasets', {
      metadata: { name: 'web-new', namespace: 'shop', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid, controller: true }] },
      spec: { template: template('web') },
      status: { replicas: 2, readyReplicas: 1 },
    });
    const { uid: apiUid } = addDeployment('shop', 'api');
    addPod(OLD_TAG, 'shop', 'api-rs-1', { owner: { kind: 'ReplicaSet', name: 'api-rs' } });
    api.apply('replicasets', {
      metadata: { name: 'api-old', namespace: 'shop', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'api', uid: apiUid, controller: true }] },
      spec: { template: template('api') },
      status: { replicas: 0 },
    });
    const r = await restartOutdated(await connectOutdatedApi({ kubeconfig }), await check(), { dryRun: false, maxRestarts: 5 });
    expect(summary(r)).toEqual(['shop/Deployment/api restart (restarted)', 'shop/Deployment/web rollout-in-progress']);
    expect(r.workloads[1]!.detail).toBe('its ReplicaSet web-new is not ready (1/2 replicas): not restarted while it rolls out');
    expect(writes()).toEqual(['PATCH /apis/apps/v1/namespaces/shop/deployments/api']);
    expect(api.requests.filter((q) => q.path === '/apis/apps/v1/namespaces/shop/replicasets')).toHaveLength(1); // one list per namespace
  });
});

describe('custom proxy images', () => {
  it('a pod with sidecar.istio.io/proxyImage is never restarted, however much it differs', async () => {
    addDeployment('shop', 'custom');
    addPod(OLD_TAG, 'shop', 'custom-rs-1', { owner: { kind: 'ReplicaSet', name: 'custom-rs' }, annotations: { 'sidecar.istio.io/proxyImage': CUSTOM_IMAGE } });
    const r = await restartOutdated(await connectOutdatedApi({ kubeconfig }), await check(injectorWith(CNI)), { dryRun: false, maxRestarts: 5 });
    expect(summary(r)).toEqual(['shop/Deployment/custom none']);
    expect(r.outdated).toBe(0);
    expect(onlyPod(r)).toMatchObject({ status: 'custom-image', differences: [{ field: 'image', actual: CUSTOM_IMAGE, expected: CURRENT_IMAGE }, { field: 'initContainer' }] });
    expect(writes()).toEqual([]);
  });
});

describe('the restart annotation key', () => {
  beforeEach(() => {
    addDeployment('shop', 'web');
    addPod(OLD_TAG, 'shop', 'web-rs-1', { owner: { kind: 'ReplicaSet', name: 'web-rs' } });
  });

  it('--restart-annotation KEY is the annotation the patch sets', async () => {
    const conn = await connectOutdatedApi({ kubeconfig });
    const r = await restartOutdated(conn, await check(), { dryRun: false, maxRestarts: 5, annotation: KYMA_RESTARTED_AT, now: () => NOW });
    expect(r.restart).toMatchObject({ annotation: KYMA_RESTARTED_AT, restarted: 1 });
    expect(r.workloads[0]!.detail).toBe(
      `kubectl patch deployment/web -n shop --type merge -p '{"spec":{"template":{"metadata":{"annotations":{"${KYMA_RESTARTED_AT}":"${RESTARTED}"}}}}}'`,
    );
    expect((api.get('deployments', 'web', 'shop')!['spec'] as any).template.metadata.annotations).toEqual({ [KYMA_RESTARTED_AT]: RESTARTED });
  });

  it('through the CLI; without the flag kubectl.kubernetes.io/restartedAt', async () => {
    const { code } = await run('--restart', '--dry-run=false', '--restart-annotation', 'example.com/rolled');
    expect(code).toBe(0);
    const annotations = (api.get('deployments', 'web', 'shop')!['spec'] as any).template.metadata.annotations;
    expect(Object.keys(annotations)).toEqual(['example.com/rolled']);
    expect(annotations['example.com/rolled']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    await api.close();
    api = await FakeApiServer.start();
    api.apply('namespaces', { metadata: { name: 'shop' } });
    writeFileSync(kubeconfig, api.kubeconfig('shop'));
    addDeployment('shop', 'web');
    addPod(OLD_TAG, 'shop', 'web-rs-1', { owner: { kind: 'ReplicaSet', name: 'web-rs' } });
    await run('--restart', '--dry-run=false');
    expect(Object.keys((api.get('deployments', 'web', 'shop')!['spec'] as any).template.metadata.annotations)).toEqual([RESTARTED_AT]);
  });

  it('is checked as an annotation key', () => {
    for (const key of ['restartedAt', KYMA_RESTARTED_AT, 'example.com/a_b.c-d', `${'a'.repeat(63)}`]) {
      expect(parseCommandLine(['outdated', '--restart', '--restart-annotation', key])).toMatchObject({ args: { restartAnnotation: key } });
    }
    for (const key of ['', '/x', 'a/', 'a/b/c', 'Example.com/x', '-x', 'x-', 'a b', `${'a'.repeat(64)}`, `${'a'.repeat(254)}/x`]) {
      expect(() => parseCommandLine(['outdated', '--restart', `--restart-annotation=${key}`])).toThrow(
        `--restart-annotation must be an annotation key, [prefix/]name: an optional DNS subdomain prefix, then at most 63 letters, digits, '-', '_' or '.' starting and ending with a letter or digit; got "${key}"`,
      );
    }
    expect(() => parseCommandLine(['outdated', '--restart-annotation', 'x'])).toThrow(new UsageError('--restart-annotation goes with --restart', 'outdated'));
    expect(parseCommandLine(['outdated', '--restart'])).toMatchObject({ args: { restart: true } });
    expect('restartAnnotation' in (parseCommandLine(['outdated', '--restart']) as { args: object }).args).toBe(false);
  });

  describe('the built CLI', () => {
    beforeAll(() => ensureBuilt(), 120_000);
    it('a bad --restart-annotation is a usage error: exit 2, one line naming the flag', async () => {
      const r = await cli(['outdated', '--kubeconfig', kubeconfig, '--restart', '--restart-annotation', 'not a key']);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n')[0]).toBe(
        `error: --restart-annotation must be an annotation key, [prefix/]name: an optional DNS subdomain prefix, then at most 63 letters, digits, '-', '_' or '.' starting and ending with a letter or digit; got "not a key"`,
      );
      expect(writes()).toEqual([]);
    });
  });
});

describe("kyma-module's cluster size (the module's restarter evaluates it before comparing)", () => {
  const moduleInjector = (size: 'evaluation' | 'production') => createInjector(loadConfig({ profile: 'kyma-module', clusterSize: size }));
  const smallNode = (name: string) => ({ metadata: { name }, status: { capacity: { cpu: '2', memory: '8Gi' } } });

  it('auto reads the nodes: on a small cluster, pods with the production resources are outdated, evaluation ones are not', async () => {
    api.apply('nodes', smallNode('node-a'));
    addPod(moduleInjector('production'), 'shop', 'big', { owner: { kind: 'StatefulSet', name: 'big' } });
    addPod(moduleInjector('evaluation'), 'shop', 'small', { owner: { kind: 'StatefulSet', name: 'small' } });
    const { code, text } = await run('--profile', 'kyma-module', '-o', 'json');
    expect(code).toBe(0);
    const report = JSON.parse(text) as OutdatedReport;
    expect(report.clusterSize).toBe('evaluation');
    expect(report).toMatchObject({ checked: 2, upToDate: 1, outdated: 1 });
    expect(onlyPod(report)).toMatchObject({
      name: 'big',
      differences: [
        { field: 'resources.requests.memory', actual: '192Mi', expected: '32Mi' },
        { field: 'resources.limits.cpu', actual: '1', expected: '250m' },
        { field: 'resources.limits.memory', actual: '1Gi', expected: '254Mi' },
      ],
    });
    expect((await run('--profile', 'kyma-module')).text).toContain('Kyma Istio module size evaluation, from the nodes\' capacity');
  });

  it('a fixed --cluster-size does not read the nodes; no permission on nodes is one line naming both ways out', async () => {
    addPod(moduleInjector('production'), 'shop', 'big', { owner: { kind: 'StatefulSet', name: 'big' } });
    api.failNext({ method: 'GET', path: '/api/v1/nodes' }, 1, 403);
    await expect(run('--profile', 'kyma-module')).rejects.toThrow(/grant list on nodes or pass --cluster-size evaluation\|production$/);
    const before = api.requests.filter((r) => r.path === '/api/v1/nodes').length;
    const fixed = await run('--profile', 'kyma-module', '--cluster-size', 'production', '-o', 'json');
    expect(JSON.parse(fixed.text)).toMatchObject({ checked: 1, upToDate: 1, outdated: 0 });
    expect(api.requests.filter((r) => r.path === '/api/v1/nodes').length).toBe(before);
  });
});
