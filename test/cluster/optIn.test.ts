/**
 * Opt-in injection as installed (manifests/components/opt-in-injection over the base), against the Kubernetes API
 * test double with pod admission through the stored MutatingWebhookConfigurations (test/k8s/mutatingAdmission.ts):
 * Istio's four webhook selectors decide which pods reach the service, and the service (built CLI, the component's
 * config, namespace labels from its cache) injects what they send. The selectors' cases are Istio's
 * (test/inject/webhookSelectors.test.ts); the service's own check when a selector sends more is tested over HTTPS in
 * test/inject/decision.test.ts.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import { loadConfig } from '../../src/config/load.js';
import { compileSettings } from '../../src/inject/settings.js';
import type { ServeProcess } from '../helpers/build.js';
import { FakeApiServer } from '../k8s/fakeApiServer.js';
import { renderComposition, renderOverlay, type Obj } from '../manifests/render.js';
import { applyRendered, configText, killReplica, serveInstalled, serviceArgs, useInstalled } from './installed.js';

/** The mesh-webhook container's arguments in the rendered Deployment (default: this composition's). */
const args = (objs: Obj[] = installed.rendered) => serviceArgs(objs);

const installed = useInstalled(['components/opt-in-injection'], 'opt-in');

describe('components/opt-in-injection', () => {
  it("the service runs the shipped config with --set values.sidecarInjectorWebhook.enableNamespacesByDefault=false", () => {
    expect(configText(installed.rendered)).toBe(configText(renderOverlay('kyma')));
    expect(args().slice(-2)).toEqual(['--set', 'values.sidecarInjectorWebhook.enableNamespacesByDefault=false']);
  });

  it("renders Istio's four webhooks for the default revision, each with mesh-webhook's own exclusions, schema-valid", () => {
    const object = installed.rendered.find((o) => o.kind === 'MutatingWebhookConfiguration')!;
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
    applyRendered(installed.api, installed.rendered);
    installed.api.apply('namespaces', { metadata: { name: 'meshed', labels: { 'istio-injection': 'enabled' } } });
    installed.api.apply('namespaces', { metadata: { name: 'plain', labels: { team: 'payments' } } });
    installed.api.apply('namespaces', { metadata: { name: 'mine', labels: { 'istio.io/rev': 'default' } } });
    installed.api.apply('namespaces', { metadata: { name: 'canary', labels: { 'istio.io/rev': 'canary' } } });
    installed.api.admitPods();
    // The service as the Deployment runs it: the shipped config and the component's --set.
    const configFile = path.join(installed.dir, 'config.yaml');
    await writeFile(configFile, configText(installed.rendered));
    const set = args().slice(-1);
    expect(compileSettings(loadConfig({ configFile, sets: set })).enableNamespacesByDefault).toBe(false);

    installed.replica = await serveInstalled(installed.api, installed.dir, ['--config', configFile, '--set', set[0]!]);

    let count = 0;
    const create = async (namespace: string, labels: Record<string, string> = {}) => {
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: `web-${++count}`, labels: { app: 'web', ...labels } }, spec: { containers: [{ name: 'web', image: 'example.com/web:1' }] } };
      const res = await fetch(`${installed.api.url}/api/v1/namespaces/${namespace}/pods`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(pod) });
      expect(res.status).toBe(201);
      const body = (await res.json()) as { spec: { containers: { name: string }[]; initContainers?: { name: string }[] } };
      return [...(body.spec.initContainers ?? []), ...body.spec.containers].map((c) => c.name).includes('istio-proxy');
    };
    const calls = () => installed.api.webhookCalls.length;

    expect(await create('meshed')).toBe(true);
    expect(installed.api.webhookCalls.at(-1)).toEqual({ webhook: 'namespace.inject.mesh-webhook.kyma-project.io', outcome: 'patched' });
    expect(await create('mine')).toBe(true);
    expect(installed.api.webhookCalls.at(-1)?.webhook).toBe('rev.namespace.inject.mesh-webhook.kyma-project.io');
    expect(await create('plain', { 'sidecar.istio.io/inject': 'true' })).toBe(true);
    expect(installed.api.webhookCalls.at(-1)?.webhook).toBe('object.inject.mesh-webhook.kyma-project.io');
    expect(await create('plain', { 'istio.io/rev': 'default' })).toBe(true);
    expect(installed.api.webhookCalls.at(-1)?.webhook).toBe('rev.object.inject.mesh-webhook.kyma-project.io');

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
    killReplica(moduleReplica);
    await moduleApi?.close();
  });

  it("runs --profile kyma-module behind opt-in-injection's webhooks, with the shipped config", () => {
    expect(args(module).slice(-4)).toEqual(['--set', 'values.sidecarInjectorWebhook.enableNamespacesByDefault=false', '--profile', 'kyma-module']);
    expect(module.find((o) => o.kind === 'MutatingWebhookConfiguration')).toEqual(installed.rendered.find((o) => o.kind === 'MutatingWebhookConfiguration'));
    expect(configText(module)).toBe(configText(renderOverlay('kyma')));
  });

  it('installed on a small cluster: opted-in pods get the evaluation size and istio-validation', async () => {
    moduleApi = await FakeApiServer.start();
    applyRendered(moduleApi, module);
    moduleApi.apply('namespaces', { metadata: { name: 'meshed', labels: { 'istio-injection': 'enabled' } } });
    // Two 2-CPU nodes: 4 CPUs in total, below the module's 5.
    for (const name of ['node-a', 'node-b']) {
      moduleApi.apply('nodes', { metadata: { name }, status: { nodeInfo: { kubeletVersion: 'v1.33.2' }, capacity: { cpu: '2', memory: '8Gi' } } });
    }
    moduleApi.admitPods();
    const configFile = path.join(installed.dir, 'module-config.yaml');
    await writeFile(configFile, configText(module));
    const moduleArgs = args(module);
    moduleReplica = await serveInstalled(moduleApi, installed.dir, ['--config', configFile, ...moduleArgs.slice(moduleArgs.indexOf('--set'))]);

    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'example.com/web:1' }] } };
    const res = await fetch(`${moduleApi.url}/api/v1/namespaces/meshed/pods`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(pod) });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { spec: { initContainers?: { name: string; resources?: unknown }[] } };
    expect(body.spec.initContainers?.map((c) => c.name)).toEqual(['istio-validation', 'istio-proxy']);
    expect(body.spec.initContainers?.[1]?.resources).toEqual({ requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '250m', memory: '254Mi' } });
  }, 90_000);
});
