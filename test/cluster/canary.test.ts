/**
 * The canary installed beside istiod (manifests/components/canary over the base; docs/migration.md, step 1), against
 * the Kubernetes API test double with pod admission through the stored MutatingWebhookConfigurations
 * (test/k8s/mutatingAdmission.ts): istiod's configuration as its chart registers it (test/migration/istioWebhooks.ts;
 * registered here with failurePolicy Ignore and no endpoint, so a call to istiod shows as `ignored-failure` instead of
 * refusing the pod), and the built service as the canary's replica. For each pod the API server calls one injector:
 * istiod for what it selects, mesh-webhook for revision mesh-webhook. Moving a namespace is one `kubectl label`; until
 * the service's namespace cache has the new labels, a pod there is sent to mesh-webhook and skipped (the transition
 * window of docs/migration.md); moving it back goes to istiod at once.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import type { KubeObject } from '../k8s/fakeApiServer.js';
import type { WebhookCall } from '../k8s/mutatingAdmission.js';
import { istiodInjector } from '../migration/istioWebhooks.js';
import { applyRendered, configText, serveInstalled, serviceArgs, useInstalled } from './installed.js';

/** istiod's opt-in configuration as a stored object: its chart's selectors, a Service without endpoints, Ignore. */
function istiodConfiguration(): KubeObject {
  const { configuration } = istiodInjector({ revision: '', enableNamespacesByDefault: false });
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: configuration.metadata.name, labels: { 'istio.io/rev': 'default', app: 'sidecar-injector' } },
    webhooks: configuration.webhooks.map((w) => ({
      ...w,
      clientConfig: { service: { name: 'istiod', namespace: 'istio-system', path: '/inject', port: 443 } },
      sideEffects: 'None',
      admissionReviewVersions: ['v1'],
      failurePolicy: 'Ignore',
    })),
  } as unknown as KubeObject;
}

const installed = useInstalled(['components/canary'], 'canary');

describe('components/canary installed beside istiod', () => {
  it('one injector per pod; a namespace moves to the canary with one label change, and back', async () => {
    applyRendered(installed.api, installed.rendered);
    installed.api.apply('mutatingwebhookconfigurations', istiodConfiguration());
    const namespace = (name: string, labels: Record<string, string>) => installed.api.apply('namespaces', { metadata: { name, labels } });
    namespace('legacy', { 'istio-injection': 'enabled' });
    namespace('moved', { 'istio.io/rev': 'mesh-webhook' });
    namespace('both', { 'istio-injection': 'enabled', 'istio.io/rev': 'mesh-webhook' });
    namespace('plain', { team: 'payments' });
    installed.api.admitPods();

    const configFile = path.join(installed.dir, 'config.yaml');
    await writeFile(configFile, configText(installed.rendered));
    const args = serviceArgs(installed.rendered);
    expect(args.slice(-2)).toEqual(['--revision', 'mesh-webhook']);
    installed.replica = await serveInstalled(installed.api, installed.dir, ['--config', configFile, '--revision', 'mesh-webhook']);

    let count = 0;
    /** Creates a pod; the webhook calls it caused and whether it has istio-proxy. */
    const create = async (ns: string, labels: Record<string, string> = {}): Promise<{ calls: string[]; sidecar: boolean }> => {
      const before = installed.api.webhookCalls.length;
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: `web-${++count}`, labels: { app: 'web', ...labels } }, spec: { containers: [{ name: 'web', image: 'example.com/web:1' }] } };
      const res = await fetch(`${installed.api.url}/api/v1/namespaces/${ns}/pods`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(pod) });
      expect(res.status).toBe(201);
      const body = (await res.json()) as { spec: { containers: { name: string }[]; initContainers?: { name: string }[] } };
      const calls = installed.api.webhookCalls.slice(before).map((c: WebhookCall) => `${c.webhook} ${c.outcome}`);
      return { calls, sidecar: [...(body.spec.initContainers ?? []), ...body.spec.containers].some((c) => c.name === 'istio-proxy') };
    };
    const ISTIOD_NAMESPACE = 'namespace.sidecar-injector.istio.io ignored-failure';
    const OURS_NAMESPACE = 'rev.namespace.inject.mesh-webhook.kyma-project.io';

    expect(await create('moved')).toEqual({ calls: [`${OURS_NAMESPACE} patched`], sidecar: true });
    expect(await create('plain', { 'istio.io/rev': 'mesh-webhook' })).toEqual({ calls: ['rev.object.inject.mesh-webhook.kyma-project.io patched'], sidecar: true });
    expect(await create('legacy')).toEqual({ calls: [ISTIOD_NAMESPACE], sidecar: false });
    // istio-injection wins over istio.io/rev, for Istio and for the canary.
    expect(await create('both')).toEqual({ calls: [ISTIOD_NAMESPACE], sidecar: false });
    expect(await create('legacy', { 'istio.io/rev': 'mesh-webhook' })).toEqual({ calls: [ISTIOD_NAMESPACE], sidecar: false });
    expect(await create('plain', { 'sidecar.istio.io/inject': 'true' })).toEqual({ calls: ['object.sidecar-injector.istio.io ignored-failure'], sidecar: false });
    expect(await create('plain')).toEqual({ calls: [], sidecar: false });
    expect(await create('moved', { 'sidecar.istio.io/inject': 'false' })).toEqual({ calls: [], sidecar: false });

    // Step 1: kubectl label namespace legacy istio-injection- istio.io/rev=mesh-webhook --overwrite. The API server
    // sends its pods to mesh-webhook at once; mesh-webhook injects them once its namespace cache has the labels, and
    // skips the ones before (never istiod, never both).
    namespace('legacy', { 'istio.io/rev': 'mesh-webhook' });
    const attempts: { calls: string[]; sidecar: boolean }[] = [];
    await waitFor('a pod of the moved namespace injected by mesh-webhook', async () => {
      const a = await create('legacy');
      attempts.push(a);
      return a.sidecar;
    });
    for (const a of attempts) expect(a.calls).toEqual([`${OURS_NAMESPACE} ${a.sidecar ? 'patched' : 'allowed'}`]);

    // Rollback of that namespace: back to istiod with the next pod (the API server reads the labels, not our cache).
    namespace('legacy', { 'istio-injection': 'enabled' });
    expect(await create('legacy')).toEqual({ calls: [ISTIOD_NAMESPACE], sidecar: false });
  }, 90_000);
});
