/**
 * Opt-in injection as installed (manifests/components/opt-in-injection over the base), against the Kubernetes API
 * test double with pod admission through the stored MutatingWebhookConfigurations (test/k8s/mutatingAdmission.ts):
 * Istio's four webhook selectors decide which pods reach the service, and the service (built CLI, the component's
 * config, namespace labels from its cache) injects what they send. The selectors' cases are Istio's
 * (test/inject/webhookSelectors.test.ts); the service's own check when a selector sends more is tested over HTTPS in
 * test/inject/decision.test.ts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import { loadConfig } from '../../src/config/load.js';
import { compileSettings } from '../../src/inject/settings.js';
import { ensureBuilt, spawnServe, type ServeProcess } from '../helpers/build.js';
import { waitFor } from '../helpers/wait.js';
import { FakeApiServer, type KubeObject, type Plural } from '../k8s/fakeApiServer.js';
import { renderComposition, renderOverlay, type Obj } from '../manifests/render.js';

const NS = 'mesh-webhook';
const PLURALS: Record<string, Plural> = {
  Namespace: 'namespaces',
  MutatingWebhookConfiguration: 'mutatingwebhookconfigurations',
  ValidatingWebhookConfiguration: 'validatingwebhookconfigurations',
};

/** The mesh-webhook container's arguments in the rendered Deployment. */
const serviceArgs = (objs: Obj[] = rendered) =>
  (objs.find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: { name: string; args: string[] }[] } } } }).spec.template.spec.containers.find(
    (c) => c.name === 'mesh-webhook',
  )!.args;

const configText = (objs: Obj[]) =>
  (objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'mesh-webhook-config') as unknown as { data: Record<string, string> }).data['config.yaml']!;

/**
 * The built service with `flags` against `cluster`, as a replica of the install: listening, the Service's endpoint
 * pointing at it, and every webhook switched to the annotated Fail.
 */
async function serveInstalled(cluster: FakeApiServer, flags: string[]): Promise<ServeProcess> {
  const kubeconfig = await cluster.writeKubeconfig(dir, NS);
  const served = spawnServe(['--kubeconfig', kubeconfig, ...flags, '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0'], dir);
  try {
    let port = 0;
    await waitFor(`the replica to listen (stderr: ${served.stderr})`, () => {
      const line = served.logs.find((l) => l.msg === 'mesh-webhook listening');
      port = typeof line?.port === 'number' ? line.port : 0;
      return port > 0;
    });
    cluster.setEndpoint(NS, 'mesh-webhook', port);
    const policies = () => ((cluster.get('mutatingwebhookconfigurations', 'mesh-webhook')?.webhooks as { failurePolicy?: string }[]) ?? []).map((w) => w.failurePolicy);
    await waitFor('the switch of every webhook to the annotated Fail', () => policies().every((p) => p === 'Fail'), 30_000);
    return served;
  } catch (err) {
    served.proc.kill('SIGKILL');
    throw err;
  }
}

let api: FakeApiServer;
let dir: string;
let replica: ServeProcess | undefined;
let rendered: Obj[];

beforeAll(async () => {
  ensureBuilt();
  rendered = renderComposition(['base'], ['components/opt-in-injection']);
  api = await FakeApiServer.start();
  dir = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-opt-in-'));
}, 120_000);

afterAll(async () => {
  if (replica && replica.proc.exitCode === null && replica.proc.signalCode === null) replica.proc.kill('SIGKILL');
  await api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('components/opt-in-injection', () => {
  it("the service runs the shipped config with --set values.sidecarInjectorWebhook.enableNamespacesByDefault=false", () => {
    expect(configText(rendered)).toBe(configText(renderOverlay('kyma')));
    expect(serviceArgs().slice(-2)).toEqual(['--set', 'values.sidecarInjectorWebhook.enableNamespacesByDefault=false']);
  });

  it("renders Istio's four webhooks for the default revision, each with mesh-webhook's own exclusions, schema-valid", () => {
    const object = rendered.find((o) => o.kind === 'MutatingWebhookConfiguration')!;
    expect(() => new MutatingWebhookConfiguration(object as never).validate()).not.toThrow();
    const mwc = object as unknown as {
      webhooks: { name: string; failurePolicy: string; clientConfig: { service: { path: string } }; namespaceSelector: { matchExpressions: { key: string }[] } }[];
    };
    expect(mwc.webhooks.map((w) => w.name)).toEqual([
      'rev.namespace.inject.mesh-webhook.kyma-project.io',
      'rev.object.inject.mesh-webhook.kyma-project.io',
      'namespace.inject.mesh-webhook.kyma-project.io',
      'object.inject.mesh-webhook.kyma-project.io',
    ]);
    for (const w of mwc.webhooks) {
      expect(w.failurePolicy).toBe('Ignore');
      expect(w.clientConfig.service.path).toBe('/inject');
      expect(w.namespaceSelector.matchExpressions.slice(0, 2).map((e) => e.key)).toEqual(['kubernetes.io/metadata.name', 'gardener.cloud/purpose']);
    }
  });

  it('installed: only namespaces and pods that opt in get a sidecar; the rest are never sent', async () => {
    for (const obj of rendered) {
      const plural = PLURALS[obj.kind];
      if (plural) api.apply(plural, obj as unknown as KubeObject);
    }
    api.apply('namespaces', { metadata: { name: 'meshed', labels: { 'istio-injection': 'enabled' } } });
    api.apply('namespaces', { metadata: { name: 'plain', labels: { team: 'payments' } } });
    api.apply('namespaces', { metadata: { name: 'mine', labels: { 'istio.io/rev': 'default' } } });
    api.apply('namespaces', { metadata: { name: 'canary', labels: { 'istio.io/rev': 'canary' } } });
    api.admitPods();
    // The service as the Deployment runs it: the shipped config and the component's --set.
    const configFile = path.join(dir, 'config.yaml');
    await writeFile(configFile, configText(rendered));
    const set = serviceArgs().slice(-1);
    expect(compileSettings(loadConfig({ configFile, sets: set })).enableNamespacesByDefault).toBe(false);

    replica = await serveInstalled(api, ['--config', configFile, '--set', set[0]!]);

    let count = 0;
    const create = async (namespace: string, labels: Record<string, string> = {}) => {
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: `web-${++count}`, labels: { app: 'web', ...labels } }, spec: { containers: [{ name: 'web', image: 'example.com/web:1' }] } };
      const res = await fetch(`${api.url}/api/v1/namespaces/${namespace}/pods`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(pod) });
      expect(res.status).toBe(201);
      const body = (await res.json()) as { spec: { containers: { name: string }[]; initContainers?: { name: string }[] } };
      return [...(body.spec.initContainers ?? []), ...body.spec.containers].map((c) => c.name).includes('istio-proxy');
    };
    const calls = () => api.webhookCalls.length;

    expect(await create('meshed')).toBe(true);
    expect(api.webhookCalls.at(-1)).toEqual({ webhook: 'namespace.inject.mesh-webhook.kyma-project.io', outcome: 'patched' });
    expect(await create('mine')).toBe(true);
    expect(api.webhookCalls.at(-1)?.webhook).toBe('rev.namespace.inject.mesh-webhook.kyma-project.io');
    expect(await create('plain', { 'sidecar.istio.io/inject': 'true' })).toBe(true);
    expect(api.webhookCalls.at(-1)?.webhook).toBe('object.inject.mesh-webhook.kyma-project.io');
    expect(await create('plain', { 'istio.io/rev': 'default' })).toBe(true);
    expect(api.webhookCalls.at(-1)?.webhook).toBe('rev.object.inject.mesh-webhook.kyma-project.io');

    const before = calls();
    expect(await create('plain')).toBe(false);
    expect(await create('canary')).toBe(false);
    expect(await create('meshed', { 'sidecar.istio.io/inject': 'false' })).toBe(false);
    expect(calls()).toBe(before); // none of them was sent
  }, 90_000);
});

describe('components/kyma-module', () => {
  const module = renderComposition(['base'], ['components/kyma-module']);
  let moduleApi: FakeApiServer | undefined;
  let moduleReplica: ServeProcess | undefined;

  afterAll(async () => {
    if (moduleReplica && moduleReplica.proc.exitCode === null && moduleReplica.proc.signalCode === null) moduleReplica.proc.kill('SIGKILL');
    await moduleApi?.close();
  });

  it("runs --profile kyma-module behind opt-in-injection's webhooks, with the shipped config", () => {
    expect(serviceArgs(module).slice(-4)).toEqual(['--set', 'values.sidecarInjectorWebhook.enableNamespacesByDefault=false', '--profile', 'kyma-module']);
    expect(module.find((o) => o.kind === 'MutatingWebhookConfiguration')).toEqual(rendered.find((o) => o.kind === 'MutatingWebhookConfiguration'));
    expect(configText(module)).toBe(configText(renderOverlay('kyma')));
  });

  it('installed on a small cluster: opted-in pods get the evaluation size and istio-validation', async () => {
    moduleApi = await FakeApiServer.start();
    for (const obj of module) {
      const plural = PLURALS[obj.kind];
      if (plural) moduleApi.apply(plural, obj as unknown as KubeObject);
    }
    moduleApi.apply('namespaces', { metadata: { name: 'meshed', labels: { 'istio-injection': 'enabled' } } });
    // Two 2-CPU nodes: 4 CPUs in total, below the module's 5.
    for (const name of ['node-a', 'node-b']) {
      moduleApi.apply('nodes', { metadata: { name }, status: { nodeInfo: { kubeletVersion: 'v1.33.2' }, capacity: { cpu: '2', memory: '8Gi' } } });
    }
    moduleApi.admitPods();
    const configFile = path.join(dir, 'module-config.yaml');
    await writeFile(configFile, configText(module));
    const args = serviceArgs(module);
    moduleReplica = await serveInstalled(moduleApi, ['--config', configFile, ...args.slice(args.indexOf('--set'))]);

    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'example.com/web:1' }] } };
    const res = await fetch(`${moduleApi.url}/api/v1/namespaces/meshed/pods`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(pod) });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { spec: { initContainers?: { name: string; resources?: unknown }[] } };
    expect(body.spec.initContainers?.map((c) => c.name)).toEqual(['istio-validation', 'istio-proxy']);
    expect(body.spec.initContainers?.[1]?.resources).toEqual({ requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '250m', memory: '254Mi' } });
  }, 90_000);
});
