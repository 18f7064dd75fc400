/**
 * The install cannot block pod creation (docs/deploying.md, src/cluster/failurePolicy.ts), against the Kubernetes
 * API test double with pod admission through the stored MutatingWebhookConfigurations (test/k8s/mutatingAdmission.ts):
 * the kyma overlay's objects applied as `kubectl apply -k` would, the service as the built CLI (`serve --kubeconfig`,
 * self-managed certificates), its Service's endpoint set only while a replica runs.
 *
 * The story, in order: installed but never ready (no endpoint: an image that does not pull, a crash) → pods are
 * created, without a sidecar; a replica serves → it writes its CA and switches the injection webhook to the annotated
 * Fail, pods are injected; a new version that cannot start (a bad configuration) changes nothing and the old replica
 * keeps serving; every replica gone → the configured Fail holds (pods that should get a sidecar are refused, as the
 * operator chose); uninstall (`kubectl delete -k`) → nothing is left that intercepts pods.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevCertificates } from '../../src/tls/devcert.js';
import { waitFor } from '../helpers/wait.js';
import { FakeApiServer, type KubeObject, type Plural } from '../k8s/fakeApiServer.js';
import { ensureBuilt, spawnServe, type ServeProcess } from '../helpers/build.js';
import { renderOverlay, type Obj } from '../manifests/render.js';

const NS = 'mesh-webhook';
const PLURALS: Record<string, Plural> = {
  Namespace: 'namespaces',
  ConfigMap: 'configmaps',
  MutatingWebhookConfiguration: 'mutatingwebhookconfigurations',
  ValidatingWebhookConfiguration: 'validatingwebhookconfigurations',
};

let api: FakeApiServer;
let dir: string;
let kubeconfig: string;
let rendered: Obj[];
const processes: ServeProcess[] = [];

beforeAll(async () => {
  ensureBuilt();
  rendered = renderOverlay('kyma');
  api = await FakeApiServer.start();
  dir = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-install-'));
  kubeconfig = await api.writeKubeconfig(dir, NS);
  api.apply('namespaces', { metadata: { name: 'shop' } });
  api.apply('namespaces', { metadata: { name: 'kube-system' } });
  api.admitPods();
}, 120_000);

afterAll(async () => {
  for (const p of processes) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
  await api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** `kubectl apply -k manifests/overlays/kyma`, for the kinds the double stores. */
function applyManifests(): void {
  for (const obj of rendered) {
    const plural = PLURALS[obj.kind];
    if (plural) api.apply(plural, obj as unknown as KubeObject);
  }
}

let podCount = 0;
/** A Deployment's pod being created in namespace shop: the double's answer (status, and the pod or the Status). */
async function createPod(
  namespace = 'shop',
  labels: Record<string, string> = { app: 'web' },
): Promise<{ status: number; body: { metadata?: { name: string }; spec?: { containers: { name: string }[]; initContainers?: { name: string }[] }; message?: string } }> {
  podCount += 1;
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: `web-${podCount}`, labels }, spec: { containers: [{ name: 'web', image: 'example.com/web:1' }] } };
  const res = await fetch(`${api.url}/api/v1/namespaces/${namespace}/pods`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(pod) });
  return { status: res.status, body: (await res.json()) as never };
}

const containerNames = (body: Awaited<ReturnType<typeof createPod>>['body']) =>
  [...(body.spec?.initContainers ?? []), ...(body.spec?.containers ?? [])].map((c) => c.name);

const failurePolicy = (plural: 'mutatingwebhookconfigurations' | 'validatingwebhookconfigurations') =>
  ((api.get(plural, 'mesh-webhook')?.webhooks as { failurePolicy?: string }[] | undefined) ?? [])[0]?.failurePolicy;

/** Start a replica (`mesh-webhook serve` against the double); resolves with its HTTPS port once it listens. */
async function startReplica(extra: string[] = []): Promise<{ replica: ServeProcess; port: number }> {
  const replica = spawnServe(['--kubeconfig', kubeconfig, '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', ...extra], dir);
  processes.push(replica);
  let port = 0;
  await waitFor(`the replica to listen (stderr: ${replica.stderr})`, () => {
    const line = replica.logs.find((l) => l.msg === 'mesh-webhook listening');
    port = typeof line?.port === 'number' ? line.port : 0;
    return port > 0;
  });
  return { replica, port };
}

function exited(p: ServeProcess): Promise<number | null> {
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) return Promise.resolve(p.proc.exitCode);
  return new Promise((resolve) => p.proc.once('exit', (code) => resolve(code)));
}

describe('an install that cannot block pod creation', () => {
  let first: { replica: ServeProcess; port: number };

  it('the manifest as it was (failurePolicy Fail from the start) blocks every pod while no replica is ready', async () => {
    applyManifests();
    const config = api.get('mutatingwebhookconfigurations', 'mesh-webhook')!;
    (config.webhooks as { failurePolicy: string }[])[0]!.failurePolicy = 'Fail';
    api.apply('mutatingwebhookconfigurations', config);
    const answer = await createPod();
    expect(answer.status).toBe(500);
    expect(answer.body.message).toBe(
      'Internal error occurred: failed calling webhook "inject.mesh-webhook.kyma-project.io": failed to call webhook: ' +
        'Post "https://mesh-webhook.mesh-webhook.svc:443/inject?timeout=10s": no endpoints available for service "mesh-webhook"',
    );
  });

  it('installed, never ready (no endpoint): pods are created, without a sidecar', async () => {
    applyManifests();
    expect(failurePolicy('mutatingwebhookconfigurations')).toBe('Ignore');
    const answer = await createPod();
    expect(answer.status).toBe(201);
    expect(containerNames(answer.body)).toEqual(['web']);
    expect(api.webhookCalls.at(-1)).toEqual({ webhook: 'inject.mesh-webhook.kyma-project.io', outcome: 'ignored-failure', detail: 'no endpoints available for service "mesh-webhook"' });
  });

  it('a replica serving a certificate the caBundle does not trust switches nothing, and blocks nothing', async () => {
    // Files mode with a certificate of another CA (cert-manager's not issued into the caBundle yet, say).
    const other = await ensureDevCertificates(path.join(dir, 'other-ca'), ['mesh-webhook.mesh-webhook.svc']);
    const untrusted = await startReplica(['--certificates', 'files', '--cert', other.certPath, '--key', other.keyPath]);
    api.setEndpoint(NS, 'mesh-webhook', untrusted.port);
    await waitFor(
      'the replica to see that the caBundle does not trust it',
      () => untrusted.replica.logs.filter((l) => String(l.msg).includes('keeps its failurePolicy until its caBundle trusts')).length >= 1,
    );
    const answer = await createPod();
    expect(answer.status).toBe(201);
    expect(containerNames(answer.body)).toEqual(['web']);
    expect(api.webhookCalls.at(-1)?.outcome).toBe('ignored-failure');
    expect(failurePolicy('mutatingwebhookconfigurations')).toBe('Ignore');
    untrusted.replica.proc.kill('SIGTERM');
    expect(await exited(untrusted.replica)).toBe(0);
    api.setEndpoint(NS, 'mesh-webhook', undefined);
    expect(failurePolicy('mutatingwebhookconfigurations')).toBe('Ignore');
  }, 60_000);

  it('once a replica serves with a trusted certificate, the injection webhook gets the annotated Fail and pods are injected', async () => {
    first = await startReplica();
    api.setEndpoint(NS, 'mesh-webhook', first.port);
    await waitFor('the switch to the annotated failurePolicy Fail', () => failurePolicy('mutatingwebhookconfigurations') === 'Fail', 30_000);
    // Validation is annotated Ignore (warn-only): left as it is.
    expect(failurePolicy('validatingwebhookconfigurations')).toBe('Ignore');
    await waitFor(
      'the log line of the switch',
      () => first.replica.logs.some((l) => String(l.msg).startsWith('failure policy: MutatingWebhookConfiguration mesh-webhook now has the failurePolicy')),
    );
    const answer = await createPod();
    expect(answer.status).toBe(201);
    expect(containerNames(answer.body)).toContain('istio-proxy');
    expect(api.webhookCalls.at(-1)).toEqual({ webhook: 'inject.mesh-webhook.kyma-project.io', outcome: 'patched' });
  }, 60_000);

  it('pods the selectors exclude are never sent: kube-system, and pods labelled sidecar.istio.io/inject=false', async () => {
    const calls = api.webhookCalls.length;
    const system = await createPod('kube-system');
    const optedOut = await createPod('shop', { app: 'web', 'sidecar.istio.io/inject': 'false' });
    expect([system.status, optedOut.status]).toEqual([201, 201]);
    expect([containerNames(system.body), containerNames(optedOut.body)]).toEqual([['web'], ['web']]);
    expect(api.webhookCalls.length).toBe(calls);
  });

  it('the manifests applied again (replaced: Ignore, no caBundle): the running replica restores its CA and Fail', async () => {
    // The double replaces the whole object (kubectl replace); kubectl apply's 3-way merge would keep the caBundle.
    applyManifests();
    expect(failurePolicy('mutatingwebhookconfigurations')).toBe('Ignore');
    await waitFor('caBundle and Fail restored', () => failurePolicy('mutatingwebhookconfigurations') === 'Fail', 45_000);
    const answer = await createPod();
    expect(containerNames(answer.body)).toContain('istio-proxy');
  }, 60_000);

  it('an upgrade whose new pods cannot start changes nothing: the old replica keeps serving', async () => {
    const before = api.get('mutatingwebhookconfigurations', 'mesh-webhook')!.metadata.resourceVersion;
    const broken = spawnServe(['--kubeconfig', kubeconfig, '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--set', 'values.global.proxy.resources.requests.cpu=500m'], dir);
    processes.push(broken);
    expect(await exited(broken)).toBe(1);
    expect(broken.stderr.trim().split('\n')).toHaveLength(1);
    expect(api.get('mutatingwebhookconfigurations', 'mesh-webhook')!.metadata.resourceVersion).toBe(before);
    const answer = await createPod();
    expect(answer.status).toBe(201);
    expect(containerNames(answer.body)).toContain('istio-proxy');
  }, 60_000);

  it('every replica gone: the configured Fail holds (a pod that should get a sidecar is refused)', async () => {
    first.replica.proc.kill('SIGTERM');
    expect(await exited(first.replica)).toBe(0);
    api.setEndpoint(NS, 'mesh-webhook', undefined);
    expect(failurePolicy('mutatingwebhookconfigurations')).toBe('Fail');
    const answer = await createPod();
    expect(answer.status).toBe(500);
    expect(answer.body.message).toContain('failed calling webhook "inject.mesh-webhook.kyma-project.io"');
  }, 60_000);

  it('uninstall (kubectl delete -k): nothing is left that intercepts pods', async () => {
    for (const obj of rendered) {
      const plural = PLURALS[obj.kind];
      if (plural) api.remove(plural, obj.metadata.name, obj.metadata.namespace);
    }
    // What the service created at runtime lives in its namespace (the Secret), which the namespace deletion removes;
    // it created nothing cluster-scoped.
    expect(api.get('mutatingwebhookconfigurations', 'mesh-webhook')).toBeUndefined();
    expect(api.get('validatingwebhookconfigurations', 'mesh-webhook')).toBeUndefined();
    const calls = api.webhookCalls.length;
    const answer = await createPod();
    expect(answer.status).toBe(201);
    expect(containerNames(answer.body)).toEqual(['web']);
    expect(api.webhookCalls.length).toBe(calls);
  });
});
