/** The API test double's own semantics, over raw HTTP (what the cluster tests rely on). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeApiServer } from './fakeApiServer.js';

let api: FakeApiServer;
beforeAll(async () => {
  api = await FakeApiServer.start({ bookmarkIntervalMs: 50 });
  api.apply('namespaces', { metadata: { name: 'ns', labels: { team: 'a' } } });
});
afterAll(async () => {
  await api.close();
});

async function call(method: string, path: string, body?: unknown, contentType = 'application/json') {
  const res = await fetch(api.url + path, {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': contentType } } : {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

/** Read watch events until `n` arrived or the stream ended. */
async function watchEvents(path: string, n: number): Promise<{ type: string; object: any }[]> {
  const res = await fetch(api.url + path);
  const reader = res.body!.getReader();
  const events: { type: string; object: any }[] = [];
  let buf = '';
  while (events.length < n) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += Buffer.from(value).toString('utf8');
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      events.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  }
  await reader.cancel();
  return events;
}

describe('FakeApiServer', () => {
  it('serves the Kyma Istio resource (namespaced, generation) and narrows lists and watches by metadata.name', async () => {
    const istio = { apiVersion: 'operator.kyma-project.io/v1alpha2', kind: 'Istio', metadata: { name: 'default' }, spec: { config: { numTrustedProxies: 1 } } };
    const base = '/apis/operator.kyma-project.io/v1alpha2/namespaces/ns/istios';
    expect((await call('POST', base, istio)).json).toMatchObject({ kind: 'Istio', metadata: { name: 'default', namespace: 'ns', generation: 1 } });
    await call('POST', base, { ...istio, metadata: { name: 'other' } });
    const list = await call('GET', `${base}?fieldSelector=metadata.name%3Ddefault`);
    expect(list.json).toMatchObject({ kind: 'IstioList', apiVersion: 'operator.kyma-project.io/v1alpha2' });
    expect(list.json.items.map((i: any) => i.metadata.name)).toEqual(['default']);
    const events = await watchEvents(`${base}?watch=true&fieldSelector=metadata.name%3Dother`, 1);
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED other']);
  });

  it('deny(): a missing permission is 403 Forbidden in the API server\'s words, for that verb only', async () => {
    api.apply('configmaps', { metadata: { name: 'cm', namespace: 'ns' }, data: {} });
    api.deny({ verb: 'list', plural: 'configmaps', namespace: 'ns' });
    try {
      expect((await call('GET', '/api/v1/namespaces/ns/configmaps')).json).toMatchObject({
        kind: 'Status',
        code: 403,
        reason: 'Forbidden',
        message: 'configmaps is forbidden: User "system:serviceaccount:mesh-webhook:mesh-webhook" cannot list resource "configmaps" in API group "" in the namespace "ns"',
      });
      expect((await call('GET', '/api/v1/namespaces/ns/configmaps/cm')).status).toBe(200); // get is another verb
      expect((await call('GET', '/api/v1/namespaces/other/configmaps')).status).toBe(200); // another namespace
    } finally {
      api.allowAll();
    }
    expect((await call('GET', '/api/v1/namespaces/ns/configmaps')).status).toBe(200);
  });

  it('lists with the current resourceVersion, items without kind', async () => {
    const { status, json } = await call('GET', '/api/v1/namespaces?labelSelector=team%3Da');
    expect(status).toBe(200);
    expect(json).toMatchObject({ kind: 'NamespaceList', apiVersion: 'v1', metadata: { resourceVersion: api.resourceVersion } });
    expect(json.items.map((i: any) => i.metadata.name)).toEqual(['ns']);
    expect(json.items[0].kind).toBeUndefined();
    expect((await call('GET', '/api/v1/namespaces?labelSelector=team%21%3Da')).json.items).toEqual([]);
  });

  it('answers Status errors with the API server reasons', async () => {
    expect((await call('GET', '/api/v1/namespaces/ns/secrets/nope')).json).toMatchObject({ kind: 'Status', code: 404, reason: 'NotFound', message: 'secrets "nope" not found' });
    const created = await call('POST', '/api/v1/namespaces/ns/secrets', { metadata: { name: 's' }, stringData: { a: 'b' } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ type: 'Opaque', data: { a: 'Yg==' } });
    expect((await call('POST', '/api/v1/namespaces/ns/secrets', { metadata: { name: 's' } })).json).toMatchObject({ code: 409, reason: 'AlreadyExists' });
    const stale = { ...created.json, metadata: { ...created.json.metadata, resourceVersion: '1' } };
    expect((await call('PUT', '/api/v1/namespaces/ns/secrets/s', stale)).json).toMatchObject({ code: 409, reason: 'Conflict' });
    expect((await call('PUT', '/api/v1/namespaces/ns/secrets/s', { ...created.json, type: 'kubernetes.io/tls' })).json).toMatchObject({ code: 422 });
    expect((await call('POST', '/api/v1/namespaces/ns/secrets', { metadata: { name: 'x' }, data: { a: '!!' } })).json).toMatchObject({ code: 400 });
    expect((await call('GET', '/api/v1/persistentvolumes')).status).toBe(404);
  });

  it('patches with JSON Patch (test failures are 422) and merge patch; strategic merge is 415', async () => {
    api.apply('mutatingwebhookconfigurations', { metadata: { name: 'w' }, webhooks: [{ name: 'a', clientConfig: {} }] });
    const p = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/w';
    const ok = await call('PATCH', p, [{ op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: 'QQ==' }], 'application/json-patch+json');
    expect(ok.json.webhooks[0].clientConfig.caBundle).toBe('QQ==');
    expect((await call('PATCH', p, [{ op: 'test', path: '/webhooks/0/name', value: 'b' }], 'application/json-patch+json')).status).toBe(422);
    const merged = await call('PATCH', p, { metadata: { labels: { x: 'y' } } }, 'application/merge-patch+json');
    expect(merged.json.metadata.labels).toEqual({ x: 'y' });
    expect((await call('PATCH', p, {}, 'application/strategic-merge-patch+json')).status).toBe(415);
    api.injectConflicts('mutatingwebhookconfigurations', 'w', 1);
    const rv = api.get('mutatingwebhookconfigurations', 'w')!.metadata.resourceVersion;
    expect((await call('PATCH', p, { metadata: { labels: { x: 'z' } } }, 'application/merge-patch+json')).json).toMatchObject({ reason: 'Conflict' });
    expect(Number(api.get('mutatingwebhookconfigurations', 'w')!.metadata.resourceVersion)).toBeGreaterThan(Number(rv));
  });

  it('watches: replays after a resourceVersion, synthetic ADDED from 0, 410 after compaction, bookmarks, timeoutSeconds', async () => {
    const rv = api.resourceVersion;
    api.apply('namespaces', { metadata: { name: 'ns', labels: { team: 'b' } } });
    api.remove('namespaces', 'ns2');
    api.apply('namespaces', { metadata: { name: 'ns2' } });
    const replay = await watchEvents(`/api/v1/namespaces?watch=true&resourceVersion=${rv}`, 2);
    expect(replay.map((e) => [e.type, e.object.metadata.name])).toEqual([
      ['MODIFIED', 'ns'],
      ['ADDED', 'ns2'],
    ]);
    expect(replay[0]!.object.kind).toBe('Namespace');
    const initial = await watchEvents('/api/v1/namespaces?watch=true', 2);
    expect(initial.map((e) => e.type)).toEqual(['ADDED', 'ADDED']);
    const bookmark = await watchEvents(`/api/v1/nodes?watch=true&resourceVersion=${api.resourceVersion}&allowWatchBookmarks=true`, 1);
    expect(bookmark[0]).toMatchObject({ type: 'BOOKMARK', object: { kind: 'Node', metadata: { resourceVersion: api.resourceVersion } } });
    const ended = await watchEvents(`/api/v1/nodes?watch=true&resourceVersion=${api.resourceVersion}&timeoutSeconds=0`, 1);
    expect(ended).toEqual([]);
    api.compact();
    const gone = await watchEvents(`/api/v1/namespaces?watch=true&resourceVersion=${rv}`, 1);
    expect(gone[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
  });

  it('goes down (refusing connections) and comes back on the same port with its state', async () => {
    const port = api.port;
    await api.down();
    await expect(fetch(api.url + '/api/v1/namespaces')).rejects.toThrow();
    await api.up();
    expect(api.port).toBe(port);
    expect((await call('GET', '/api/v1/namespaces/ns')).json.metadata.labels.team).toBe('b');
    expect(api.requests.at(-1)).toMatchObject({ method: 'GET', path: '/api/v1/namespaces/ns', query: {} });
  });
});
