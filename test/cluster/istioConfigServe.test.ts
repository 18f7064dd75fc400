/**
 * `mesh-webhook serve --injector-configmap --mesh-configmap` (and `--istio-cr-resource`) as a process of the built CLI
 * against the Kubernetes API test double holding Istio's ConfigMaps (test/fixtures/istio-config: a default
 * installation, as `kubectl get configmap -o yaml` prints them) and the Kyma Istio resource. AdmissionReviews go over
 * CA-verified HTTPS; the reload counter is read from GET /metrics.
 *
 * The story: injected per the ConfigMaps; a change is injected by the next review and counted as a success; a bad
 * change (a policy Istio does not know, values that are not JSON, a deleted ConfigMap) keeps the last good
 * configuration answering and is counted as a failure with the reason logged; labels change nothing; the --config
 * file and the ConfigMaps compose (a change of either reloads with the latest of both). Start-up refuses, in one line
 * and with exit code 1, a missing ConfigMap or key, a refused permission and a configuration the loader refuses; the
 * flags' own mistakes are usage errors (exit 2).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Container, Pod } from '../../src/k8s/types.js';
import { ensureDevCertificates, type DevCertificates } from '../../src/tls/devcert.js';
import { processFixture, spawnServe, type ServeProcess } from '../helpers/build.js';
import { runCliAsync } from '../helpers/cli.js';
import { httpsRequest, jsonPost, type WebhookClient } from '../helpers/https.js';
import { waitFor } from '../helpers/wait.js';
import { admitPod, appPod } from '../inject/review.js';
import { FakeApiServer, type KubeObject } from '../k8s/fakeApiServer.js';
import { configMapFixture } from './helpers.js';

const fixture = processFixture('mesh-webhook-istio-config-');
let api: FakeApiServer;
let kubeconfig: string;
let certs: DevCertificates;
const processes: ServeProcess[] = [];

beforeAll(async () => {
  api = await FakeApiServer.start();
  for (const name of ['mesh-webhook', 'istio-system', 'kyma-system', 'shop']) api.apply('namespaces', { metadata: { name } });
  api.apply('namespaces', { metadata: { name: 'meshed', labels: { 'istio-injection': 'enabled' } } });
  kubeconfig = await api.writeKubeconfig(fixture.tmp);
  certs = await ensureDevCertificates(path.join(fixture.tmp, 'certs'), []);
}, 120_000);

afterAll(async () => {
  for (const p of processes) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
  await api?.close();
});

const INJECTOR = configMapFixture('istio-sidecar-injector.yaml');
const MESH = configMapFixture('istio.yaml');
const injectorData = INJECTOR.data as Record<string, string>;
const fixtureValues = JSON.parse(injectorData.values!) as { global: { hub: string; tag: string; proxy: Record<string, unknown> } };

/** The injector ConfigMap with `global` of its values changed by `change` (values stay JSON, as istiod writes them). */
function injectorWith(change: (global: typeof fixtureValues.global) => void, data: Record<string, string> = {}): KubeObject {
  const values = structuredClone(fixtureValues);
  change(values.global);
  return { ...INJECTOR, data: { ...injectorData, values: JSON.stringify(values, null, 2), ...data } };
}

/** A running serve: its process, an HTTPS client, the reload counter and its log lines. */
interface Replica {
  process: ServeProcess;
  client: WebhookClient;
  reloads(result: 'success' | 'failure'): Promise<number>;
  /** Its lines `msg` once there are `count` of them (log lines are written in batches, up to 250 ms late). */
  loggedAtLeast(msg: string, count: number): Promise<Record<string, unknown>[]>;
}

async function startServe(flags: string[]): Promise<Replica> {
  const served = spawnServe(
    ['--kubeconfig', kubeconfig, '--certificates', 'files', '--cert', certs.certPath, '--key', certs.keyPath, '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--shutdown-delay', '0s', ...flags],
    fixture.tmp,
  );
  processes.push(served);
  let port = 0;
  await waitFor(`serve to listen (stderr: ${served.stderr})`, () => {
    const line = served.logs.find((l) => l.msg === 'mesh-webhook listening');
    port = typeof line?.port === 'number' ? line.port : 0;
    return port > 0 || served.proc.exitCode !== null;
  });
  if (port === 0) throw new Error(`serve exited ${served.proc.exitCode}: ${served.stderr}`);
  const url = `https://127.0.0.1:${port}`;
  const request: WebhookClient['request'] = (p, o = {}) => httpsRequest(`${url}${p}`, { ...o, ca: certs.ca });
  const client: WebhookClient = { app: undefined as never, close: async () => undefined, request, postJson: (p, body, headers) => request(p, jsonPost(body, headers)) };
  return {
    process: served,
    client,
    async reloads(result) {
      const text = (await request('/metrics')).text;
      const m = new RegExp(`^mesh_webhook_config_reloads_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(text);
      return m ? Number(m[1]) : NaN;
    },
    async loggedAtLeast(msg, count) {
      const lines = () => served.logs.filter((l) => l.msg === msg);
      await waitFor(`${count} log lines "${msg}"`, () => lines().length >= count);
      return lines();
    },
  };
}

async function stop(r: Replica): Promise<void> {
  const exited = new Promise((resolve) => r.process.proc.once('exit', resolve));
  r.process.proc.kill('SIGTERM');
  await exited;
}

const proxyOf = (pod: Pod): Container | undefined => [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === 'istio-proxy');

/** The istio-proxy container the webhook injects into a new pod in `namespace` (labelled istio-injection=enabled: Istio's values inject opted-in namespaces only). */
async function injectedProxy(r: Replica, namespace = 'meshed'): Promise<Container> {
  const admitted = await admitPod(r.client, appPod(), namespace);
  const proxy = proxyOf(admitted.pod);
  if (!admitted.allowed || !proxy) throw new Error(`not injected: ${admitted.message ?? admitted.audit}`);
  return proxy;
}

describe('serve --injector-configmap --mesh-configmap', () => {
  let r: Replica;
  let configFile: string;

  beforeAll(async () => {
    api.apply('configmaps', INJECTOR);
    api.apply('configmaps', MESH);
    configFile = path.join(fixture.tmp, 'config.yaml');
    await writeFile(configFile, 'values:\n  global:\n    proxy:\n      resources:\n        limits:\n          memory: 512Mi\n');
    r = await startServe(['--injector-configmap', 'istio-sidecar-injector', '--mesh-configmap', 'istio-system/istio', '--config', configFile]);
  }, 60_000);

  afterAll(async () => {
    if (r) await stop(r);
  });

  it('injects what the ConfigMaps say (their hub, tag and resources), under the --config file', async () => {
    const proxy = await injectedProxy(r);
    expect(proxy.image).toBe(`${fixtureValues.global.hub}/proxyv2:${fixtureValues.global.tag}`);
    expect(proxy.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '2', memory: '512Mi' } });
    const read = r.process.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('configuration read from the cluster'));
    expect(read?.sources).toEqual(['ConfigMap istio-system/istio-sidecar-injector', 'ConfigMap istio-system/istio']);
    expect(await r.reloads('success')).toBe(0);
  });

  it('a ConfigMap change is injected by the next review and counted as a success', async () => {
    api.apply('configmaps', injectorWith((g) => {
      g.tag = '1.30.9';
      (g.proxy.resources as { requests: Record<string, string> }).requests.cpu = '50m';
    }));
    await waitFor('the reload', async () => (await r.reloads('success')) === 1);
    const proxy = await injectedProxy(r);
    expect(proxy.image).toBe(`${fixtureValues.global.hub}/proxyv2:1.30.9`);
    expect(proxy.resources?.requests).toEqual({ cpu: '50m', memory: '128Mi' });
    expect((await r.loggedAtLeast('configuration reloaded', await r.reloads('success'))).at(-1)).toMatchObject({
      sources: ['ConfigMap istio-system/istio-sidecar-injector', 'ConfigMap istio-system/istio'],
      change: expect.stringMatching(/^ConfigMap istio-system\/istio-sidecar-injector changed \(resourceVersion \d+\)$/),
    });
  });

  it('a bad change keeps the last good configuration answering, counted as a failure with the reason logged', async () => {
    // The last good values (the previous test's), with a bad key beside them.
    const good = injectorWith((g) => {
      g.tag = '1.30.9';
      (g.proxy.resources as { requests: Record<string, string> }).requests.cpu = '50m';
    });
    const goodData = good.data as Record<string, string>;

    api.apply('configmaps', { ...good, data: { ...goodData, config: injectorData.config!.replace('policy: enabled', 'policy: sometimes') } });
    await waitFor('the refused policy', async () => (await r.reloads('failure')) === 1);
    expect((await injectedProxy(r)).image).toBe(`${fixtureValues.global.hub}/proxyv2:1.30.9`);

    api.apply('configmaps', { ...good, data: { ...goodData, values: '{"global": {"tag": ' } });
    await waitFor('the values that are not JSON', async () => (await r.reloads('failure')) === 2);
    expect((await injectedProxy(r)).image).toBe(`${fixtureValues.global.hub}/proxyv2:1.30.9`);

    api.remove('configmaps', 'istio-sidecar-injector', 'istio-system');
    await waitFor('the deleted ConfigMap', async () => (await r.reloads('failure')) === 3);
    const proxy = await injectedProxy(r);
    expect(proxy.image).toBe(`${fixtureValues.global.hub}/proxyv2:1.30.9`);
    expect(proxy.resources?.requests).toEqual({ cpu: '50m', memory: '128Mi' });

    const reasons = (await r.loggedAtLeast('configuration reload failed; keeping the last good configuration', 3)).map((l) => l.reason as string);
    expect(reasons).toHaveLength(3);
    expect(reasons[0]).toMatch(/ConfigMap istio-system\/istio-sidecar-injector, key config/);
    expect(reasons[0]).toMatch(/sometimes/);
    expect(reasons[1]).toMatch(/ConfigMap istio-system\/istio-sidecar-injector, key values/);
    expect(reasons[2]).toBe(
      'ConfigMap istio-system/istio-sidecar-injector (--injector-configmap) was deleted; the last good configuration stays until it is back',
    );
    expect(await r.reloads('success')).toBe(1);

    // Back (as istiod would write it again): reloaded.
    api.apply('configmaps', injectorWith((g) => void (g.tag = '1.30.10')));
    await waitFor('the ConfigMap back', async () => (await r.reloads('success')) === 2);
    expect((await injectedProxy(r)).image).toBe(`${fixtureValues.global.hub}/proxyv2:1.30.10`);
  });

  it('labels change nothing; the --config file and the ConfigMaps compose: either change reloads with the latest of both', async () => {
    const current = api.get('configmaps', 'istio-sidecar-injector', 'istio-system')!;
    api.apply('configmaps', { ...current, metadata: { ...current.metadata, labels: { ...current.metadata.labels, touched: 'yes' } } });

    await writeFile(configFile, 'values:\n  global:\n    proxy:\n      resources:\n        limits:\n          memory: 600Mi\n');
    await waitFor('the file reload', async () => (await r.reloads('success')) === 3);
    let proxy = await injectedProxy(r);
    expect(proxy.image).toBe(`${fixtureValues.global.hub}/proxyv2:1.30.10`); // the ConfigMap's latest
    expect(proxy.resources?.limits).toEqual({ cpu: '2', memory: '600Mi' });

    api.apply('configmaps', injectorWith((g) => void (g.tag = '1.30.11')));
    await waitFor('the ConfigMap reload', async () => (await r.reloads('success')) === 4);
    proxy = await injectedProxy(r);
    expect(proxy.image).toBe(`${fixtureValues.global.hub}/proxyv2:1.30.11`);
    expect(proxy.resources?.limits).toEqual({ cpu: '2', memory: '600Mi' }); // the file's latest
    // The label change (before the file change) reloaded nothing: only the file and the tag counted.
    expect(await r.loggedAtLeast('configuration reloaded', 4)).toHaveLength(4);
    expect(await r.reloads('failure')).toBe(3);
  });

  it('the API server lost and back: admission goes on with the last configuration, and the next change is followed', async () => {
    await api.down();
    try {
      expect((await injectedProxy(r)).image).toBe(`${fixtureValues.global.hub}/proxyv2:1.30.11`);
      // Changed meanwhile (etcd keeps it): seen when the watch is back.
      api.apply('configmaps', injectorWith((g) => void (g.tag = '1.30.12')));
    } finally {
      await api.up();
    }
    await waitFor('the change made during the outage', async () => (await r.reloads('success')) === 5, 60_000);
    expect((await injectedProxy(r)).image).toBe(`${fixtureValues.global.hub}/proxyv2:1.30.12`);
    await waitFor('the failed watch logged', () =>
      r.process.logs.some((l) => l.level === 40 && String(l.msg).startsWith('configuration from the cluster: watching ConfigMap istio-system/istio-sidecar-injector failed')),
    );
  }, 90_000);

  it('the mesh ConfigMap: a change of its mesh key is a reload', async () => {
    const mesh = MESH.data as Record<string, string>;
    api.apply('configmaps', { ...MESH, data: { ...mesh, mesh: mesh.mesh!.replace('enablePrometheusMerge: true', 'enablePrometheusMerge: false') } });
    await waitFor('the mesh reload', async () => (await r.reloads('success')) === 6);
    expect((await r.loggedAtLeast('configuration reloaded', 6)).at(-1)?.change).toMatch(/^ConfigMap istio-system\/istio changed/);
  });
});

describe('serve --profile kyma-module --istio-cr-resource', () => {
  const resource = (requests: Record<string, string>, state = 'Ready'): KubeObject => ({
    apiVersion: 'operator.kyma-project.io/v1alpha2',
    kind: 'Istio',
    metadata: { name: 'default', namespace: 'kyma-system' },
    spec: { components: { proxy: { k8s: { resources: { requests } } } } },
    status: { state },
  });

  it("the resource's proxy resources are injected, followed as the resource changes; an invalid one keeps the last good", async () => {
    api.apply('istios', resource({ cpu: '30m' }));
    const r = await startServe(['--profile', 'kyma-module', '--cluster-size', 'production', '--istio-cr-resource', 'default']);
    try {
      // kyma-module production: 10m/192Mi, 1/1Gi; the resource's cpu request over it.
      expect((await injectedProxy(r, 'meshed')).resources).toEqual({ requests: { cpu: '30m', memory: '192Mi' }, limits: { cpu: '1', memory: '1Gi' } });

      api.apply('istios', resource({ cpu: '30m' }, 'Processing')); // the module's reconciler writes its status
      api.apply('istios', resource({ cpu: '40m', memory: '256Mi' }, 'Processing'));
      await waitFor('the reload', async () => (await r.reloads('success')) >= 1);
      expect(await r.reloads('success')).toBe(1); // the status change before it reloaded nothing
      expect((await injectedProxy(r, 'meshed')).resources?.requests).toEqual({ cpu: '40m', memory: '256Mi' });

      api.apply('istios', resource({ cpu: 'lots' }));
      await waitFor('the refused resource', async () => (await r.reloads('failure')) === 1);
      expect((await injectedProxy(r, 'meshed')).resources?.requests).toEqual({ cpu: '40m', memory: '256Mi' });
      const reason = (await r.loggedAtLeast('configuration reload failed; keeping the last good configuration', 1)).at(-1)?.reason;
      expect(reason).toMatch(/spec\.components\.proxy\.k8s\.resources\.requests\.cpu/);
    } finally {
      await stop(r);
    }
  }, 60_000);
});

describe('start-up: one line, exit code 1, before anything is served', () => {
  const serve = (flags: string[], extra: string[] = ['--kubeconfig', kubeconfig]) =>
    runCliAsync(['serve', ...extra, '--certificates', 'files', '--cert', certs.certPath, '--key', certs.keyPath, '--port', '0', '--metrics-port', '0', ...flags], {
      cwd: fixture.tmp,
      timeoutMs: 40_000,
    });

  // Each of these reads its own objects: they run together; the permission test runs alone (it changes the double's RBAC).
  it.concurrent('a ConfigMap that does not exist', async () => {
    expect(await serve(['--injector-configmap', 'istio-system/istio-sidecar-injector-canary'])).toMatchObject({
      status: 1,
      stdout: expect.not.stringContaining('listening'),
      stderr:
        'error: ConfigMap istio-system/istio-sidecar-injector-canary (--injector-configmap) does not exist: install Istio (istiod creates it), or name the one your istiod reads with --injector-configmap NAMESPACE/NAME\n',
    });
  });

  it.concurrent('a ConfigMap without its key', async () => {
    api.apply('configmaps', { metadata: { name: 'half', namespace: 'istio-system' }, data: { config: injectorData.config! } });
    expect(await serve(['--injector-configmap', 'half'])).toMatchObject({
      status: 1,
      stderr: "error: ConfigMap istio-system/half (--injector-configmap) has no key values: --injector-configmap must name istiod's sidecar injector ConfigMap (istio-sidecar-injector), which has keys config and values\n",
    });
  });

  it.concurrent('a configuration the loader refuses names the ConfigMap and its key', async () => {
    api.apply('configmaps', { metadata: { name: 'sometimes', namespace: 'istio-system' }, data: { config: injectorData.config!.replace('policy: enabled', 'policy: sometimes'), values: injectorData.values! } });
    expect(await serve(['--injector-configmap', 'sometimes'])).toMatchObject({
      status: 1,
      stderr:
        'error: config policy: ConfigMap istio-system/sometimes, key config: policy must be enabled or disabled; got "sometimes" (istiod would log an error and never inject); ' +
        'fix ConfigMap istio-system/sometimes in the cluster (serve reads it at start and follows its changes), or name another with --injector-configmap\n',
    });
  });

  it.concurrent('a Kyma Istio resource the loader refuses names the resource', async () => {
    api.apply('istios', {
      apiVersion: 'operator.kyma-project.io/v1alpha2',
      kind: 'Istio',
      metadata: { name: 'broken', namespace: 'kyma-system' },
      spec: { components: { proxy: { k8s: { resources: { limits: { memory: 'lots' } } } } } },
    });
    const run = await serve(['--profile', 'kyma-module', '--cluster-size', 'production', '--istio-cr-resource', 'kyma-system/broken']);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(
      /^error: config istioCustomResource\.spec\.components\.proxy\.k8s\.resources\.limits\.memory: .*"lots"; fix Istio kyma-system\/broken in the cluster \(serve reads it at start and follows its changes\), or name another with --istio-cr-resource\n$/,
    );
  });

  it.concurrent('the resource with a config file whose profile is not kyma-module: the profile is what to change', async () => {
    api.apply('istios', { apiVersion: 'operator.kyma-project.io/v1alpha2', kind: 'Istio', metadata: { name: 'default', namespace: 'kyma-system' }, spec: {} });
    const configFile = path.join(fixture.tmp, 'kyma-config.yaml');
    await writeFile(configFile, 'profile: kyma\n');
    const run = await serve(['--config', configFile, '--istio-cr-resource', 'default']);
    expect(run).toMatchObject({ status: 1 });
    expect(run.stderr).toMatch(/^error: config istioCustomResource: Istio kyma-system\/default applies only to the kyma-module profile .*; the profile is kyma\n$/);
  });

  it('a permission the service account lacks', async () => {
    api.apply('configmaps', MESH);
    api.deny({ verb: 'list', plural: 'configmaps', namespace: 'istio-system' });
    try {
      const run = await serve(['--mesh-configmap', 'istio']);
      expect(run).toMatchObject({ status: 1 });
      expect(run.stderr).toMatch(/^error: cannot read ConfigMap istio-system\/istio \(--mesh-configmap istio-system\/istio\): list ConfigMap istio-system\/istio: 403 Forbidden: .* \(the service account needs list and watch on configmaps in namespace istio-system\)\n$/);
    } finally {
      api.allowAll();
    }
  });

  // These last ones do not touch the double: they run together (the first mostly waits out its 10 s).
  it.concurrent('an API server it cannot reach: retried for 10 s, then the last reason', async () => {
    const gone = await FakeApiServer.start();
    const unreachable = await gone.writeKubeconfig(path.join(fixture.tmp, 'certs'));
    await gone.close();
    const run = await serve(['--injector-configmap', 'istio-sidecar-injector'], ['--kubeconfig', unreachable]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(
      /^error: cannot read ConfigMap istio-system\/istio-sidecar-injector \(--injector-configmap istio-system\/istio-sidecar-injector\) within 10s: list ConfigMap istio-system\/istio-sidecar-injector: cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\); serve needs it to load its configuration: check that the API server is reachable \(--kubeconfig, or the pod's network\)\n$/,
    );
  });

  it.concurrent('no cluster to read from', async () => {
    expect(await serve(['--mesh-configmap', 'istio'], [])).toMatchObject({
      status: 1,
      stderr: 'error: --mesh-configmap reads the configuration from the cluster, and there is none: run in a pod with a service account, or pass --kubeconfig FILE\n',
    });
  });

  it.each([
    [['--injector-configmap', 'a/b/c'], `--injector-configmap must be [NAMESPACE/]NAME (namespace istio-system when left out; lower-case letters, digits, '-', '.'); got "a/b/c"`],
    [['--mesh-configmap', 'Istio'], `--mesh-configmap must be [NAMESPACE/]NAME (namespace istio-system when left out; lower-case letters, digits, '-', '.'); got "Istio"`],
    [['--injector-configmap', 'x', '--valuesFile', 'v.json'], "--injector-configmap and --valuesFile both give Istio's values configuration: use one (the ConfigMap in the cluster is watched)"],
    [['--mesh-configmap', 'x', '--meshConfigFile', 'm.yaml'], "--mesh-configmap and --meshConfigFile both give Istio's mesh configuration: use one (the ConfigMap in the cluster is watched)"],
    [['--injector-configmap', 'x', '--operatorFileName', 'iop.yaml'], "--injector-configmap and --operatorFileName both give the injector's values: use one (the ConfigMap in the cluster is watched)"],
    [['--profile', 'kyma-module', '--istio-cr-resource', 'default', '--istio-cr', 'cr.yaml'], '--istio-cr-resource and --istio-cr both give the Kyma Istio custom resource: use one (the resource in the cluster is watched)'],
    [['--istio-cr-resource', 'default'], "--istio-cr-resource applies only to --profile kyma-module (the Kyma Istio module's resource); the profile is kyma (the default)"],
  ])('usage error (exit 2): %j', { concurrent: true }, async (flags, message) => {
    const run = await serve(flags);
    expect(run.status).toBe(2);
    expect(run.stderr.split('\n')[0]).toBe(`error: ${message}`);
  });
});
