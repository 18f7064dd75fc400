/**
 * A kustomize composition installed on the Kubernetes API test double, with the built service as its replica:
 * what test/cluster/optIn.test.ts and canary.test.ts share (the objects applied, the service's arguments and config
 * as the Deployment runs them, a replica listening with the Service's endpoint on it and its webhooks switched to
 * the annotated Fail).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { ensureBuilt, spawnServe, type ServeProcess } from '../helpers/build.js';
import { waitFor } from '../helpers/wait.js';
import { FakeApiServer, type KubeObject, type Plural } from '../k8s/fakeApiServer.js';
import { renderComposition, type Obj } from '../manifests/render.js';

export const NS = 'mesh-webhook';

const PLURALS: Record<string, Plural> = {
  Namespace: 'namespaces',
  MutatingWebhookConfiguration: 'mutatingwebhookconfigurations',
  ValidatingWebhookConfiguration: 'validatingwebhookconfigurations',
};

/** Stores the rendered Namespaces and webhook configurations in the double. */
export function applyRendered(api: FakeApiServer, rendered: Obj[]): void {
  for (const obj of rendered) {
    const plural = PLURALS[obj.kind];
    if (plural) api.apply(plural, obj as unknown as KubeObject);
  }
}

/** The mesh-webhook container's arguments in the rendered Deployment. */
export const serviceArgs = (objs: Obj[]): string[] =>
  (objs.find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: { name: string; args: string[] }[] } } } }).spec.template.spec.containers.find(
    (c) => c.name === 'mesh-webhook',
  )!.args;

/** The config.yaml the rendered ConfigMap ships. */
export const configText = (objs: Obj[]): string =>
  (objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'mesh-webhook-config') as unknown as { data: Record<string, string> }).data['config.yaml']!;

/**
 * The built service with `flags` against `cluster`, as a replica of the install: listening, the Service's endpoint
 * pointing at it, and every webhook switched to the annotated Fail. Killed when it does not come up.
 */
export async function serveInstalled(cluster: FakeApiServer, dir: string, flags: string[]): Promise<ServeProcess> {
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

/** A replica that is still running is killed (a test that failed half-way must not leave it behind). */
export function killReplica(replica: ServeProcess | undefined): void {
  if (replica && replica.proc.exitCode === null && replica.proc.signalCode === null) replica.proc.kill('SIGKILL');
}

export interface Installed {
  api: FakeApiServer;
  dir: string;
  rendered: Obj[];
  /** Set by the test that starts it; killed after the file's tests. */
  replica: ServeProcess | undefined;
}

/**
 * The file's installation: before its tests, `components` rendered over the base, a double and a temporary
 * directory; after them, the replica killed and both removed.
 */
export function useInstalled(components: string[], prefix: string): Installed {
  const installed = { replica: undefined } as Installed;
  beforeAll(async () => {
    ensureBuilt();
    installed.rendered = renderComposition(['base'], components);
    installed.api = await FakeApiServer.start();
    installed.dir = await mkdtemp(path.join(os.tmpdir(), `mesh-webhook-${prefix}-`));
  }, 120_000);
  afterAll(async () => {
    killReplica(installed.replica);
    await installed.api?.close();
    if (installed.dir) await rm(installed.dir, { recursive: true, force: true });
  });
  return installed;
}
