/** The API test double's pods and workloads, over raw HTTP: generation, list pagination, merge patches, routes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeApiServer } from '../k8s/fakeApiServer.js';

let api: FakeApiServer;
beforeAll(async () => {
  api = await FakeApiServer.start();
  api.apply('namespaces', { metadata: { name: 'a' } });
  api.apply('namespaces', { metadata: { name: 'b' } });
});
afterAll(() => api.close());

async function call(method: string, path: string, body?: unknown, contentType = 'application/json') {
  const res = await fetch(api.url + path, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': contentType } } : {}) });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

describe('pods and workloads in the API test double', () => {
  it('serves apps/v1 and batch/v1 workloads with generation 1, bumped only by spec changes', async () => {
    const created = await call('POST', '/apis/apps/v1/namespaces/a/deployments', { metadata: { name: 'd', generation: 7 }, spec: { replicas: 1 } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'a', generation: 1 } });
    const labelled = await call('PATCH', '/apis/apps/v1/namespaces/a/deployments/d', { metadata: { labels: { x: 'y' } } }, 'application/merge-patch+json');
    expect(labelled.json.metadata.generation).toBe(1);
    const scaled = await call('PATCH', '/apis/apps/v1/namespaces/a/deployments/d', { spec: { replicas: 3 } }, 'application/merge-patch+json');
    expect(scaled.json.metadata.generation).toBe(2);
    expect(scaled.json.metadata.labels).toEqual({ x: 'y' });
    const status = await call('PATCH', '/apis/apps/v1/namespaces/a/deployments/d', { status: { observedGeneration: 2 } }, 'application/merge-patch+json');
    expect(status.json.metadata.generation).toBe(2);
    for (const [path, kind] of [
      ['/apis/apps/v1/namespaces/a/replicasets', 'ReplicaSet'],
      ['/apis/apps/v1/namespaces/a/daemonsets', 'DaemonSet'],
      ['/apis/apps/v1/namespaces/a/statefulsets', 'StatefulSet'],
      ['/apis/batch/v1/namespaces/a/jobs', 'Job'],
      ['/apis/batch/v1/namespaces/a/cronjobs', 'CronJob'],
    ] as const) {
      const r = await call('POST', path, { metadata: { name: 'w' }, spec: {} });
      expect(r.json, kind).toMatchObject({ kind, metadata: { generation: 1 } });
      expect((await call('GET', `${path}/w`)).json.kind).toBe(kind);
    }
    const pod = await call('POST', '/api/v1/namespaces/a/pods', { metadata: { name: 'p' }, spec: { containers: [] } });
    expect(pod.json).toMatchObject({ apiVersion: 'v1', kind: 'Pod' });
    expect(pod.json.metadata.generation).toBeUndefined();
    expect((await call('PATCH', '/apis/apps/v1/namespaces/a/deployments/d', { spec: {} }, 'application/strategic-merge-patch+json')).status).toBe(415);
    expect((await call('GET', '/apis/apps/v1/namespaces/a/deployments/nope')).json).toMatchObject({ code: 404, message: 'deployments.apps "nope" not found' });
  });

  it('paginates lists with limit and continue, across namespaces in namespace/name order', async () => {
    for (const [ns, name] of [['b', 'p1'], ['b', 'p2'], ['a', 'p3'], ['b', 'p0']] as const) api.apply('pods', { metadata: { name, namespace: ns }, spec: {} });
    const names: string[] = [];
    const remaining: unknown[] = [];
    let cont: string | undefined;
    do {
      const page = await call('GET', `/api/v1/pods?limit=2${cont ? `&continue=${cont}` : ''}`);
      names.push(...page.json.items.map((i: any) => `${i.metadata.namespace}/${i.metadata.name}`));
      remaining.push(page.json.metadata.remainingItemCount);
      cont = page.json.metadata.continue;
    } while (cont);
    expect(names).toEqual(['a/p', 'a/p3', 'b/p0', 'b/p1', 'b/p2']);
    expect(remaining).toEqual([3, 1, undefined]);
    expect((await call('GET', '/api/v1/pods')).json.items).toHaveLength(5);
    expect((await call('GET', '/api/v1/namespaces/b/pods?limit=10')).json.metadata.continue).toBeUndefined();
    expect((await call('GET', '/api/v1/pods?continue=%%%')).status).toBe(400);
    const first = await call('GET', '/api/v1/pods?limit=1');
    api.apply('pods', { metadata: { name: 'p9', namespace: 'a' }, spec: {} });
    api.compact(); // the list's resourceVersion is now older than the compaction
    expect((await call('GET', `/api/v1/pods?limit=1&continue=${first.json.metadata.continue}`)).json).toMatchObject({ code: 410, reason: 'Expired' });
  });
});
