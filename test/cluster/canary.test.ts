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
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, spawnServe, type ServeProcess } from '../helpers/build.js';
import { waitFor } from '../helpers/wait.js';
import { FakeApiServer, type KubeObject, type Plural } from '../k8s/fakeApiServer.js';
import type { WebhookCall } from '../k8s/mutatingAdmission.js';
import { renderComposition, type Obj } from '../manifests/render.js';
import { istiodInjector } from '../migration/istioWebhooks.js';

const NS = 'mesh-webhook';
const PLURALS: Record<string, Plural> = {
  Namespace: 'namespaces',
  MutatingWebhookConfiguration: 'mutatingwebhookconfigurations',
  ValidatingWebhookConfiguration: 'validatingwebhookconfigurations',
};

const serviceArgs = (objs: Obj[]) =>
  (objs.find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: { name: string; args: string[] }[] } } } }).spec.template.spec.containers.find(
    (c) => c.name === 'mesh-webhook',
  )!.args;
const configText = (objs: Obj[]) => (objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'mesh-webhook-config') as unknown as { data: Record<string, string> }).data['config.yaml']!;

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

let api: FakeApiServer;
let dir: string;
let replica: ServeProcess | undefined;
let rendered: Obj[];

beforeAll(async () => {
  ensureBuilt();
  rendered = renderComposition(['base'], ['components/canary']);
  api = await FakeApiServer.start();
  dir = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-canary-'));
}, 120_000);

afterAll(async () => {
  if (replica && replica.proc.exitCode === null && replica.proc.signalCode === null) replica.proc.kill('SIGKILL');
  await api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('components/canary installed beside istiod', () => {
  it('one injector per pod; a namespace moves to the canary with one label change, and back', async () => {
    for (const obj of rendered) {
      const plural = PLURALS[obj.kind];
      if (plural) api.apply(plural, obj as unknown as KubeObject);
    }
    api.apply('mutatingwebhookconfigurations', istiodConfiguration());
    const namespace = (name: string, labels: Record<string, string>) => api.apply('namespaces', { metadata: { name, labels } });
    namespace('legacy', { 'istio-injection': 'enabled' });
    namespace('moved', { 'istio.io/rev': 'mesh-webhook' });
    namespace('both', { 'istio-injection': 'enabled', 'istio.io/rev': 'mesh-webhook' });
    namespace('plain', { team: 'payments' });
    api.admitPods();

    const configFile = path.join(dir, 'config.yaml');
    await writeFile(configFile, configText(rendered));
    const args = serviceArgs(rendered);
    expect(args.slice(-2)).toEqual(['--revision', 'mesh-webhook']);
    const kubeconfig = await api.writeKubeconfig(dir, NS);
    replica = spawnServe(['--kubeconfig', kubeconfig, '--config', configFile, '--revision', 'mesh-webhook', '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0'], dir);
    let port = 0;
    await waitFor(`the replica to listen (stderr: ${replica.stderr})`, () => {
      const line = replica!.logs.find((l) => l.msg === 'mesh-webhook listening');
      port = typeof line?.port === 'number' ? line.port : 0;
      return port > 0;
    });
    api.setEndpoint(NS, 'mesh-webhook', port);
    const policies = () => ((api.get('mutatingwebhookconfigurations', 'mesh-webhook')?.webhooks as { failurePolicy?: string }[]) ?? []).map((w) => w.failurePolicy);
    await waitFor('the switch of the canary webhooks to the annotated Fail', () => policies().every((p) => p === 'Fail'), 30_000);

    let count = 0;
    /** Creates a pod; the webhook calls it caused and whether it has istio-proxy. */
    const create = async (ns: string, labels: Record<string, string> = {}): Promise<{ calls: string[]; sidecar: boolean }> => {
      const before = api.webhookCalls.length;
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: `web-${++count}`, labels: { app: 'web', ...labels } }, spec: { containers: [{ name: 'web', image: 'example.com/web:1' }] } };
      const res = await fetch(`${api.url}/api/v1/namespaces/${ns}/pods`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(pod) });
      expect(res.status).toBe(201);
      const body = (await res.json()) as { spec: { containers: { name: string }[]; initContainers?: { name: string }[] } };
      const calls = api.webhookCalls.slice(before).map((c: WebhookCall) => `${c.webhook} ${c.outcome}`);
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
