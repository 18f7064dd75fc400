/**
 * `mesh-webhook outdated --diff` (the built CLI) against the Kubernetes API test double holding pods istiod injected:
 * Istio's golden output made into the pods a cluster stores (test/operations/istiodPods.ts). Against mesh-webhook
 * configured as that Istio nothing differs; against the Kyma profile every differing field is listed; what istiod set
 * and mesh-webhook would not is listed as live only.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createInjector } from '../../src/inject/index.js';
import type { OutdatedReport } from '../../src/outdated/index.js';
import { FakeApiServer, type KubeObject } from '../k8s/fakeApiServer.js';
import { cli, ensureBuilt } from './helpers.js';
import { applyIstiodWorkload, applyWorkload, readTestdata, replicaSetPod, storedPod } from './istiodPods.js';

/** mesh-webhook as the Istio of the golden files (the conformance suite's defaults). */
const AS_ISTIO = ['--profile', 'istio', '--values', 'test/fixtures/istio/defaults/values.yaml', '--mesh', 'test/fixtures/istio/defaults/mesh.yaml'];
const ISTIO_CNI = ['--set', 'values.pilot.cni.enabled=true', '--set', 'values.pilot.cni.provider=default', '--set', 'values.global.network=network1'];
const ISTIO_IMAGE = 'registry.istio.io/testing/proxyv2:latest';
const KYMA_IMAGE = 'europe-docker.pkg.dev/kyma-project/prod/external/istio/proxyv2:1.30.2-distroless';

let api: FakeApiServer;
let dir: string;
let kubeconfig: string;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'mesh-webhook-outdated-diff-'));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  api = await FakeApiServer.start();
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, api.kubeconfig('default'));
});
afterEach(() => api.close());

async function outdated(...argv: string[]) {
  const r = await cli(['outdated', '--kubeconfig', kubeconfig, '-n', 'default', '--diff', ...argv]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

async function report(...argv: string[]): Promise<OutdatedReport> {
  return JSON.parse(await outdated('-o', 'json', ...argv)) as OutdatedReport;
}

const hello = (r: OutdatedReport) => {
  expect(r.workloads.map((w) => `${w.kind} ${w.namespace}/${w.name}`)).toEqual(['Deployment default/hello']);
  return r.workloads[0]!;
};

describe('a pod istiod injected, against mesh-webhook configured as that Istio', () => {
  it('classic sidecar (hello-old-version, --native-sidecars false): no difference, and the up-to-date workload is listed', async () => {
    applyIstiodWorkload(api, 'hello-old-version.yaml.injected', 'hello.yaml', { namespace: 'default' });
    const r = await report(...AS_ISTIO, '--native-sidecars', 'false');
    expect(hello(r)).toEqual({
      kind: 'Deployment',
      namespace: 'default',
      name: 'hello',
      via: 'ReplicaSet hello-5d8f7',
      kyma: false,
      restartable: true,
      action: 'none',
      detail: 'its pods are up to date',
      pods: [],
      diff: { pod: 'hello-5d8f7-abcde', differences: [], notes: [], compared: true },
    });
    const text = await outdated(...AS_ISTIO, '--native-sidecars', 'false');
    expect(text.split('\n')).toEqual([
      `Current istio-proxy: ${ISTIO_IMAGE} (requests cpu=100m memory=128Mi, limits cpu=2 memory=1Gi)`,
      'Deployment default/hello (via ReplicaSet hello-5d8f7): 0 outdated pod(s); its pods are up to date',
      '    diff         pod hello-5d8f7-abcde (live -> mesh-webhook): no difference',
      '1 pod(s) with a sidecar checked in namespace default: 1 up to date, 0 outdated',
      '--diff: 0 of 1 workload(s) would get another injection from mesh-webhook (one pod compared per workload)',
      '',
    ]);
  });

  it.each([
    ['native sidecar', 'hello.yaml.injected', 'hello.yaml', []],
    ['app probes and lifecycle hooks rewritten to the proxy', 'hello-probes.yaml.injected', 'hello-probes.yaml', []],
    ['TCP probes rewritten', 'tcp-probes.yaml.injected', 'tcp-probes.yaml', []],
    ['Istio CNI: istio-validation, the CNI annotations, the network label', 'hello.yaml.cni.injected', 'hello.yaml', ISTIO_CNI],
  ])('%s (%s, --native-sidecars true): no difference', async (_what, golden, input, flags) => {
    const pod = applyIstiodWorkload(api, golden, input, { namespace: 'default' });
    const r = await report(...AS_ISTIO, ...flags, '--native-sidecars', 'true');
    expect(r.workloads.map((w) => [w.kind, w.name, w.diff])).toEqual([['Deployment', pod.metadata.name.replace(/-5d8f7-abcde$/, ''), { pod: pod.metadata.name, differences: [], notes: [], compared: true }]]);
  });

  it('reads the ReplicaSet once, for the owner and for the pod template, and nothing else', async () => {
    applyIstiodWorkload(api, 'hello-old-version.yaml.injected', 'hello.yaml', { namespace: 'default' });
    api.clearRequests();
    await report(...AS_ISTIO, '--native-sidecars', 'false');
    expect(api.requests.map((q) => `${q.method} ${q.path}`)).toEqual(['GET /api/v1/namespaces/default/pods', 'GET /apis/apps/v1/namespaces/default/replicasets/hello-5d8f7']);
  });
});

describe('the same pod against the default (kyma) profile', () => {
  it('lists every differing field: istio-init and istio-proxy images, pull policies and resources, native sidecar, hold-application, tracing, seccomp, Prometheus merge, status', async () => {
    applyIstiodWorkload(api, 'hello-old-version.yaml.injected', 'hello.yaml', { namespace: 'default' });
    const w = hello(await report());
    expect(w.action).toBe('restart');
    expect(w.diff).toEqual({
      pod: 'hello-5d8f7-abcde',
      compared: true,
      notes: [],
      differences: [
        { field: 'initContainers[istio-init].image', live: ISTIO_IMAGE, ours: KYMA_IMAGE },
        { field: 'initContainers[istio-init].imagePullPolicy', live: 'Always', ours: 'IfNotPresent' },
        { field: 'initContainers[istio-init].resources.limits.cpu', live: '2', ours: '100m' },
        { field: 'initContainers[istio-init].resources.limits.memory', live: '1Gi', ours: '50Mi' },
        { field: 'initContainers[istio-init].resources.requests.cpu', live: '100m', ours: '10m' },
        { field: 'initContainers[istio-init].resources.requests.memory', live: '128Mi', ours: '10Mi' },
        { field: 'initContainers[istio-init].securityContext.seccompProfile.type', live: null, ours: 'RuntimeDefault' },
        // A classic sidecar becomes a native one; its fields are then compared where it will be.
        { field: 'containers[istio-proxy]', live: 'present', ours: null },
        { field: 'initContainers[istio-proxy]', live: null, ours: 'present' },
        { field: 'initContainers[istio-proxy].env[PROXY_CONFIG].holdApplicationUntilProxyStarts', live: null, ours: true },
        { field: 'initContainers[istio-proxy].env[PROXY_CONFIG].tracing.zipkin.address', live: null, ours: 'zipkin.kyma-system:9411' },
        { field: 'initContainers[istio-proxy].image', live: ISTIO_IMAGE, ours: KYMA_IMAGE },
        { field: 'initContainers[istio-proxy].imagePullPolicy', live: 'Always', ours: 'IfNotPresent' },
        { field: 'initContainers[istio-proxy].lifecycle.preStop.exec.command', live: null, ours: ['pilot-agent', 'request', '--debug-port=15020', 'POST', 'drain'] },
        { field: 'initContainers[istio-proxy].resources.limits.cpu', live: '2', ours: '200m' },
        { field: 'initContainers[istio-proxy].resources.limits.memory', live: '1Gi', ours: '128Mi' },
        { field: 'initContainers[istio-proxy].resources.requests.cpu', live: '100m', ours: '20m' },
        { field: 'initContainers[istio-proxy].resources.requests.memory', live: '128Mi', ours: '32Mi' },
        { field: 'initContainers[istio-proxy].restartPolicy', live: null, ours: 'Always' },
        { field: 'initContainers[istio-proxy].securityContext.seccompProfile.type', live: null, ours: 'RuntimeDefault' },
        { field: 'annotations[prometheus.io/path]', live: '/stats/prometheus', ours: null },
        { field: 'annotations[prometheus.io/port]', live: '15020', ours: null },
        { field: 'annotations[prometheus.io/scrape]', live: 'true', ours: null },
        { field: 'annotations[sidecar.istio.io/status].containers', live: ['istio-proxy'], ours: null },
        { field: 'annotations[sidecar.istio.io/status].initContainers', live: ['istio-init'], ours: ['istio-init', 'istio-proxy'] },
      ],
    });
  });

  it('as text: one line per field, live -> mesh-webhook', async () => {
    applyIstiodWorkload(api, 'hello-old-version.yaml.injected', 'hello.yaml', { namespace: 'default' });
    const lines = (await outdated()).split('\n');
    expect(lines).toContain('    diff         pod hello-5d8f7-abcde (live -> mesh-webhook): 25 difference(s)');
    expect(lines).toContain(`        initContainers[istio-proxy].image: ${ISTIO_IMAGE} -> ${KYMA_IMAGE}`);
    expect(lines).toContain('        containers[istio-proxy]: present -> (none)');
    expect(lines).toContain('        initContainers[istio-proxy].env[PROXY_CONFIG].holdApplicationUntilProxyStarts: (none) -> true');
    expect(lines).toContain('        initContainers[istio-proxy].lifecycle.preStop.exec.command: (none) -> ["pilot-agent","request","--debug-port=15020","POST","drain"]');
    expect(lines).toContain('        annotations[sidecar.istio.io/status].initContainers: ["istio-init"] -> ["istio-init","istio-proxy"]');
    expect(lines).toContain('--diff: 1 of 1 workload(s) would get another injection from mesh-webhook (one pod compared per workload)');
  });
});

describe('a pod mesh-webhook injected itself (Kyma profile, app probes rewritten), as the cluster stores it', () => {
  /** The webhook saw the pod the API server had defaulted, and the API server defaulted what it answered. */
  function injectedByMeshWebhook(sets: string[]): KubeObject {
    const pod = storedPod(replicaSetPod('hello', readTestdata('hello-probes.yaml').spec.template, { namespace: 'default' }));
    const outcome = createInjector(loadConfig({ sets })).inject({ pod, namespace: 'default' });
    if (outcome.kind !== 'injected') throw new Error(outcome.kind);
    return storedPod(outcome.pod);
  }

  it('no difference under the configuration that injected it', async () => {
    applyWorkload(api, 'hello-probes.yaml', injectedByMeshWebhook([]), { namespace: 'default' });
    expect(hello(await report()).diff).toEqual({ pod: 'hello-5d8f7-abcde', differences: [], notes: [], compared: true });
  });

  it('an older proxy tag: the two images, nothing else', async () => {
    applyWorkload(api, 'hello-probes.yaml', injectedByMeshWebhook(['values.global.tag=1.29.0-distroless']), { namespace: 'default' });
    const old = KYMA_IMAGE.replace('1.30.2', '1.29.0');
    expect(hello(await report()).diff!.differences).toEqual([
      { field: 'initContainers[istio-init].image', live: old, ours: KYMA_IMAGE },
      { field: 'initContainers[istio-proxy].image', live: old, ours: KYMA_IMAGE },
    ]);
  });
});

describe('what istiod set and mesh-webhook would not', () => {
  it('is listed as live only: an extra env var, an extra limit', async () => {
    applyIstiodWorkload(api, 'hello-old-version.yaml.injected', 'hello.yaml', {
      namespace: 'default',
      edit: (pod) => {
        const proxy = pod.spec.containers.find((c: { name: string }) => c.name === 'istio-proxy');
        proxy.env.push({ name: 'ISTIO_META_EXTRA', value: 'from-istiod' });
        proxy.resources.limits['ephemeral-storage'] = '1Gi';
        proxy.resources.requests['ephemeral-storage'] = '1Gi';
      },
    });
    expect(hello(await report(...AS_ISTIO, '--native-sidecars', 'false')).diff!.differences).toEqual([
      { field: 'containers[istio-proxy].env[ISTIO_META_EXTRA]', live: 'from-istiod', ours: null },
      { field: 'containers[istio-proxy].resources.limits.ephemeral-storage', live: '1Gi', ours: null },
      { field: 'containers[istio-proxy].resources.requests.ephemeral-storage', live: '1Gi', ours: null },
    ]);
  });

  it("istiod's CNI annotations, unless the pod template declares them", async () => {
    applyIstiodWorkload(api, 'hello.yaml.cni.injected', 'hello.yaml', { namespace: 'default' });
    const cniOff = [
      { field: 'initContainers[istio-validation]', live: 'present', ours: null },
      { field: 'initContainers[istio-proxy].env[ISTIO_META_NETWORK]', live: 'network1', ours: null },
      { field: 'initContainers[istio-init]', live: null, ours: 'present' },
      { field: 'annotations[sidecar.istio.io/interceptionMode]', live: 'REDIRECT', ours: null },
      { field: 'annotations[sidecar.istio.io/status].initContainers', live: ['istio-validation', 'istio-proxy'], ours: ['istio-init', 'istio-proxy'] },
      { field: 'annotations[traffic.sidecar.istio.io/excludeInboundPorts]', live: '15020', ours: null },
      { field: 'annotations[traffic.sidecar.istio.io/includeInboundPorts]', live: '*', ours: null },
      { field: 'annotations[traffic.sidecar.istio.io/includeOutboundIPRanges]', live: '*', ours: null },
      { field: 'labels[topology.istio.io/network]', live: 'network1', ours: null },
    ];
    expect(hello(await report(...AS_ISTIO, '--native-sidecars', 'true')).diff!.differences).toEqual(cniOff);

    // The workload itself asks for interceptionMode: it is the pod's own, and mesh-webhook keeps it.
    const rs = api.get('replicasets', 'hello-5d8f7', 'default')!;
    (rs.spec as any).template.metadata.annotations = { 'sidecar.istio.io/interceptionMode': 'REDIRECT' };
    api.apply('replicasets', rs);
    expect(hello(await report(...AS_ISTIO, '--native-sidecars', 'true')).diff!.differences).toEqual(
      cniOff.filter((d) => d.field !== 'annotations[sidecar.istio.io/interceptionMode]'),
    );
  });
});

describe('pods it cannot compare, and pods without a template', () => {
  it('a pod the configuration would reject: not compared, with the reason; exit 0, no stack', async () => {
    applyIstiodWorkload(api, 'hello-old-version.yaml.injected', 'hello.yaml', {
      namespace: 'default',
      edit: (pod) => {
        pod.metadata.annotations['sidecar.istio.io/proxyCPU'] = 'lots';
      },
    });
    const w = hello(await report(...AS_ISTIO, '--native-sidecars', 'false'));
    expect(w.diff).toMatchObject({ pod: 'hello-5d8f7-abcde', differences: [], compared: false });
    expect(w.diff!.notes).toEqual([expect.stringMatching(/^the current configuration would reject this pod: .*sidecar\.istio\.io\/proxyCPU/)]);
    expect((await outdated(...AS_ISTIO, '--native-sidecars', 'false')).split('\n')).toContain('    diff         pod hello-5d8f7-abcde (live -> mesh-webhook): not compared');
  });

  it('a ReplicaSet that is gone: compared, the labels and annotations taken as the pod\'s own, and said so', async () => {
    applyIstiodWorkload(api, 'hello-old-version.yaml.injected', 'hello.yaml', { namespace: 'default' });
    api.remove('replicasets', 'hello-5d8f7', 'default');
    const r = await report(...AS_ISTIO, '--native-sidecars', 'false');
    expect(r.workloads.map((w) => `${w.kind} ${w.name}`)).toEqual(['ReplicaSet hello-5d8f7']);
    expect(r.workloads[0]!.diff).toEqual({
      pod: 'hello-5d8f7-abcde',
      differences: [],
      notes: [
        "ReplicaSet hello-5d8f7 no longer exists: the labels and annotations the injector sets (service.istio.io/canonical-name, kubectl.kubernetes.io/default-container, ...) are taken as the pod's own",
      ],
      compared: true,
    });
  });
});

describe('--diff on the command line', () => {
  it('takes no value: a usage error, exit 2', async () => {
    const r = await cli(['outdated', '--kubeconfig', kubeconfig, '--diff=yes']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')[0]).toBe("error: Option '--diff' does not take an argument");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
