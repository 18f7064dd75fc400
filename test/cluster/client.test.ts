/**
 * The client-node adapter against the API test double: what client-node really sends, and how answers map to
 * KubeApiError reasons. Also the connection choices (kubeconfig, in-cluster, none).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClusterConfigError,
  KubeApiError,
  SERVICE_ACCOUNT_DIR,
  connectCluster,
  isAlreadyExists,
  isConflict,
  isNotFound,
} from '../../src/cluster/client.js';
import { generateDevCertificates } from '../../src/tls/devcert.js';
import { FakeApiServer } from '../k8s/fakeApiServer.js';
import { NAMESPACE, startHarness, type Harness } from './helpers.js';

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('connectCluster', () => {
  it('is undefined with no kubeconfig outside a pod (no cluster awareness), whatever $KUBECONFIG says', async () => {
    expect(await connectCluster({ env: { KUBECONFIG: '/nonexistent' }, serviceAccountRoot: '/nonexistent-root' })).toBeUndefined();
  });

  it('names a kubeconfig file that does not exist and says what to do', async () => {
    const err = await rejection(connectCluster({ kubeconfig: '/nonexistent/kubeconfig' }));
    expect(err).toBeInstanceOf(ClusterConfigError);
    expect((err as Error).message).toMatch(/\/nonexistent\/kubeconfig does not exist; pass an existing file to --kubeconfig/);
  });

  it('names a kubeconfig file that cannot be used', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-kc-'));
    try {
      const garbage = path.join(dir, 'garbage');
      await writeFile(garbage, 'clusters: [unterminated');
      expect(await rejection(connectCluster({ kubeconfig: garbage }))).toBeInstanceOf(ClusterConfigError);
      const empty = path.join(dir, 'empty');
      await writeFile(empty, 'apiVersion: v1\nkind: Config\n');
      const err = await rejection(connectCluster({ kubeconfig: empty }));
      expect(err).toBeInstanceOf(ClusterConfigError);
      expect((err as Error).message).toMatch(/no current context with a cluster/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses an explicit in-cluster request outside a pod', async () => {
    const err = await rejection(connectCluster({ inCluster: true, env: {}, serviceAccountRoot: '/nonexistent-root' }));
    expect(err).toBeInstanceOf(ClusterConfigError);
    expect((err as Error).message).toMatch(/not a pod with a service account/);
  });

  it('uses the service account in a pod: HTTPS with its CA, its token, its namespace', async () => {
    const tls = await generateDevCertificates([]);
    const api = await FakeApiServer.start({ tls, token: 'sa-token' });
    const root = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-sa-'));
    const saDir = path.join(root, SERVICE_ACCOUNT_DIR);
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    try {
      await mkdir(saDir, { recursive: true });
      await writeFile(path.join(saDir, 'token'), 'sa-token');
      await writeFile(path.join(saDir, 'ca.crt'), tls.ca);
      await writeFile(path.join(saDir, 'namespace'), 'team-a');
      // client-node's loadFromCluster reads these from process.env.
      process.env.KUBERNETES_SERVICE_HOST = '127.0.0.1';
      process.env.KUBERNETES_SERVICE_PORT = String(api.port);
      const client = await connectCluster({ serviceAccountRoot: root, env: process.env });
      expect(client?.source).toBe('in-cluster');
      expect(client?.namespace).toBe('team-a');
      api.apply('namespaces', { metadata: { name: 'team-a' } });
      await client!.createSecret('team-a', { metadata: { name: 's' }, type: 'Opaque', data: { a: 'Yg==' } });
      expect((await client!.readSecret('team-a', 's'))?.data).toEqual({ a: 'Yg==' });
    } finally {
      if (saved.host === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
      else process.env.KUBERNETES_SERVICE_HOST = saved.host;
      if (saved.port === undefined) delete process.env.KUBERNETES_SERVICE_PORT;
      else process.env.KUBERNETES_SERVICE_PORT = saved.port;
      await api.close();
      await rm(root, { recursive: true, force: true });
    }
  });

  it('reports a wrong token as 401 with a hint at RBAC and the service account', async () => {
    const api = await FakeApiServer.start({ token: 'right' });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-k8s-'));
    try {
      const kubeconfig = await api.writeKubeconfig(dir);
      await writeFile(kubeconfig, (await import('node:fs')).readFileSync(kubeconfig, 'utf8').replace('"right"', '"wrong"'));
      const client = await connectCluster({ kubeconfig });
      const err = await rejection(client!.readSecret('default', 'x'));
      expect(err).toBeInstanceOf(KubeApiError);
      expect((err as KubeApiError).status).toBe(401);
      expect((err as Error).message).toMatch(/read Secret default\/x: 401 Unauthorized.*RBAC/);
    } finally {
      await api.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('ClusterClient against the API double', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('reads a missing Secret as undefined, creates, then reports AlreadyExists', async () => {
    expect(await h.client.readSecret(NAMESPACE, 'one')).toBeUndefined();
    const created = await h.client.createSecret(NAMESPACE, { metadata: { name: 'one' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'YQ==' } });
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(created.metadata.resourceVersion)).toBeGreaterThan(0);
    const err = await rejection(h.client.createSecret(NAMESPACE, { metadata: { name: 'one' }, type: 'kubernetes.io/tls', data: {} }));
    expect(isAlreadyExists(err)).toBe(true);
    expect(isConflict(err)).toBe(false);
    expect((err as Error).message).toMatch(/409 AlreadyExists: secrets "one" already exists/);
    const post = h.api.requests.filter((r) => r.method === 'POST').at(-1);
    expect(post).toMatchObject({ path: `/api/v1/namespaces/${NAMESPACE}/secrets`, contentType: 'application/json' });
  });

  it('replaces with the observed resourceVersion, and a stale one is a Conflict', async () => {
    const s = await h.client.createSecret(NAMESPACE, { metadata: { name: 'two' }, type: 'Opaque', data: { v: 'MQ==' } });
    const updated = await h.client.replaceSecret(NAMESPACE, { ...s, data: { v: 'Mg==' } });
    expect(Number(updated.metadata.resourceVersion)).toBeGreaterThan(Number(s.metadata.resourceVersion));
    const err = await rejection(h.client.replaceSecret(NAMESPACE, { ...s, data: { v: 'Mw==' } }));
    expect(isConflict(err)).toBe(true);
    expect((err as KubeApiError).reason).toBe('Conflict');
    expect(Buffer.from((await h.client.readSecret(NAMESPACE, 'two'))!.data!.v!, 'base64').toString()).toBe('2');
  });

  it('creating in a namespace that does not exist is NotFound', async () => {
    const err = await rejection(h.client.createSecret('nowhere', { metadata: { name: 'x' }, data: {} }));
    expect(isNotFound(err)).toBe(true);
    expect((err as Error).message).toMatch(/namespaces "nowhere" not found/);
  });

  it('reads webhook configurations and JSON-patches them (application/json-patch+json)', async () => {
    h.api.apply('mutatingwebhookconfigurations', {
      metadata: { name: 'wh' },
      webhooks: [{ name: 'a.example.com', clientConfig: { service: { name: 'svc', namespace: NAMESPACE } } }],
    });
    expect(await h.client.readWebhookConfiguration('validating', 'wh')).toBeUndefined();
    const c = await h.client.readWebhookConfiguration('mutating', 'wh');
    expect(c?.webhooks).toEqual([{ name: 'a.example.com' }]);
    const patched = await h.client.patchWebhookConfiguration('mutating', 'wh', [
      { op: 'replace', path: '/metadata/resourceVersion', value: c!.metadata.resourceVersion },
      { op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: 'Q0E=' },
    ]);
    expect(patched.webhooks[0]?.caBundle).toBe('Q0E=');
    const req = h.api.requests.filter((r) => r.method === 'PATCH').at(-1);
    expect(req).toMatchObject({ path: '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/wh', contentType: 'application/json-patch+json' });
    // The same patch again carries a stale resourceVersion now.
    const err = await rejection(
      h.client.patchWebhookConfiguration('mutating', 'wh', [{ op: 'replace', path: '/metadata/resourceVersion', value: c!.metadata.resourceVersion }]),
    );
    expect(isConflict(err)).toBe(true);
  });

  it('says the API server cannot be reached when it is down', async () => {
    await h.api.down();
    try {
      const err = await rejection(h.client.readSecret(NAMESPACE, 'one'));
      expect(err).toBeInstanceOf(KubeApiError);
      expect((err as KubeApiError).status).toBeUndefined();
      expect((err as Error).message).toMatch(/read Secret mesh-webhook\/one: cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:\d+/);
    } finally {
      await h.api.up();
    }
    expect(await h.client.readSecret(NAMESPACE, 'one')).toBeDefined();
  });
});
