/**
 * components/istio-configmaps and components/kyma-istio-resource: the service's configuration from the cluster as
 * installed. Each renders over the base (schema-valid), adds its flags to the service's arguments (they parse as
 * `serve` parses them), and grants exactly what the service then asks: its calls, recorded by the Kubernetes API test
 * double while the service's reader (src/cluster/istioObjects.ts) reads and watches the objects the arguments name, are
 * each authorised by the rendered Role and RoleBinding under RBAC's rules (a list or watch narrowed by
 * `fieldSelector=metadata.name` is a request for that name), and a list of every ConfigMap would not be.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { parseCommandLine } from '../../src/cli/args.js';
import type { ServeArgs } from '../../src/cli/serveArgs.js';
import { IstioObjects } from '../../src/cluster/istioObjects.js';
import { loadConfig } from '../../src/config/load.js';
import { configMapFixture, recordingLogger, startHarness } from '../cluster/helpers.js';
import type { RecordedRequest } from '../k8s/fakeApiServer.js';
import { renderComposition, renderOverlay, type Obj } from './render.js';

const SUBJECT = { kind: 'ServiceAccount', name: 'mesh-webhook', namespace: 'mesh-webhook' };
const tmp = mkdtempSync(join(tmpdir(), 'mesh-webhook-istio-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}
type RoleObj = Obj & { rules: Rule[] };
type BindingObj = Obj & { roleRef: { apiGroup: string; kind: string; name: string }; subjects: { kind: string; name: string; namespace?: string }[] };

const args = (objs: Obj[]) =>
  (objs.find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: { name: string; args: string[] }[] } } } }).spec.template.spec.containers.find(
    (c) => c.name === 'mesh-webhook',
  )!.args;

/** The rendered arguments as `serve` parses them. */
function serveArgs(objs: Obj[]): ServeArgs {
  const [command, ...rest] = args(objs);
  const invocation = parseCommandLine([command!, ...rest]);
  if (invocation.command !== 'serve') throw new Error(`not serve: ${invocation.command}`);
  return invocation.args;
}

/** An API request as RBAC sees it (the API server's RequestInfo). */
interface Attributes {
  verb: string;
  apiGroup: string;
  resource: string;
  namespace: string | undefined;
  name: string | undefined;
}

/** RequestInfo of a recorded request: a list or watch narrowed by one `metadata.name` field selector has that name. */
function attributes(r: RecordedRequest): Attributes {
  const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/.exec(r.path);
  if (!m) throw new Error(`not a resource request: ${r.path}`);
  const [, group, namespace, resource, pathName] = m;
  const watch = r.query.watch === 'true' || r.query.watch === '1';
  const selected = /^metadata\.name==?([^,]+)$/.exec(r.query.fieldSelector ?? '')?.[1];
  const verbs: Record<string, string> = { GET: pathName !== undefined ? 'get' : watch ? 'watch' : 'list', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
  return { verb: verbs[r.method]!, apiGroup: group ?? '', resource: resource!, namespace, name: pathName ?? (r.method === 'GET' ? selected : undefined) };
}

/** Whether the rendered Roles bound to the service account in the request's namespace allow it. */
function authorised(objs: Obj[], a: Attributes): boolean {
  const bound = (objs.filter((o) => o.kind === 'RoleBinding') as BindingObj[]).filter(
    (b) => b.metadata.namespace === a.namespace && b.subjects.some((s) => s.kind === SUBJECT.kind && s.name === SUBJECT.name && s.namespace === SUBJECT.namespace),
  );
  const roles = (objs.filter((o) => o.kind === 'Role') as RoleObj[]).filter(
    (r) => r.metadata.namespace === a.namespace && bound.some((b) => b.roleRef.kind === 'Role' && b.roleRef.name === r.metadata.name),
  );
  return roles.some((role) =>
    role.rules.some(
      (rule) =>
        rule.verbs.includes(a.verb) &&
        (rule.apiGroups ?? []).includes(a.apiGroup) &&
        (rule.resources ?? []).includes(a.resource) &&
        (rule.resourceNames === undefined || (a.name !== undefined && rule.resourceNames.includes(a.name))),
    ),
  );
}

function validate(objs: Obj[]): void {
  const models: Record<string, new (data: never) => { validate(): void }> = { Role, RoleBinding, ConfigMap, Deployment };
  for (const o of objs) {
    const Model = models[o.kind];
    if (Model) new Model(o as never).validate();
  }
}

/** The objects the component adds to the base (by kind, namespace and name). */
function added(objs: Obj[], base: Obj[]): string[] {
  const id = (o: Obj) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  const before = new Set(base.map(id));
  return objs.map(id).filter((i) => !before.has(i));
}

/** Every request the service's reader makes while it reads the objects of `refs` and watches them. */
async function readerRequests(refs: NonNullable<ServeArgs['configObjects']>, seed: (h: Awaited<ReturnType<typeof startHarness>>) => void): Promise<RecordedRequest[]> {
  const h = await startHarness();
  const reader = new IstioObjects(h.client, refs, { logger: recordingLogger() });
  try {
    for (const ns of ['istio-system', 'kyma-system']) h.api.apply('namespaces', { metadata: { name: ns } });
    seed(h);
    h.api.clearRequests();
    await reader.start();
    return [...h.api.requests];
  } finally {
    await reader.stop();
    await h.close();
  }
}

describe('components/istio-configmaps', () => {
  const base = renderComposition(['base'], []);
  const objs = renderComposition(['base'], ['components/istio-configmaps']);

  it('adds a Role and RoleBinding in istio-system, schema-valid; the overlays stay without it', () => {
    validate(objs);
    expect(added(objs, base)).toEqual(['Role istio-system/mesh-webhook-istio-config', 'RoleBinding istio-system/mesh-webhook-istio-config']);
    const role = objs.find((o) => o.kind === 'Role' && o.metadata.namespace === 'istio-system') as RoleObj;
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['istio-sidecar-injector', 'istio'], verbs: ['get', 'list', 'watch'] }]);
    const binding = objs.find((o) => o.kind === 'RoleBinding' && o.metadata.namespace === 'istio-system') as BindingObj;
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'mesh-webhook-istio-config' });
    expect(binding.subjects).toEqual([SUBJECT]);
    for (const overlay of ['kyma', 'staging', 'cert-manager']) expect(renderOverlay(overlay).some((o) => o.metadata.namespace === 'istio-system')).toBe(false);
  });

  it('the service reads the two ConfigMaps named in its arguments', () => {
    expect(args(objs).slice(-4)).toEqual(['--injector-configmap', 'istio-system/istio-sidecar-injector', '--mesh-configmap', 'istio-system/istio']);
    expect(serveArgs(objs).configObjects).toEqual({
      injector: { kind: 'ConfigMap', namespace: 'istio-system', name: 'istio-sidecar-injector' },
      mesh: { kind: 'ConfigMap', namespace: 'istio-system', name: 'istio' },
    });
  });

  it("its config.yaml keeps mesh-webhook's own settings and leaves policy, hub and tag to istiod's ConfigMaps", () => {
    const data = (objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'mesh-webhook-config') as unknown as { data: Record<string, string> }).data;
    const configFile = join(tmp, 'config.yaml');
    writeFileSync(configFile, data['config.yaml']!);
    const injector = configMapFixture('istio-sidecar-injector.yaml').data as Record<string, string>;
    const mesh = configMapFixture('istio.yaml').data as Record<string, string>;
    const text = (cm: string, key: string, t: string) => ({ origin: `ConfigMap istio-system/${cm}, key ${key}`, text: t });
    const values = JSON.parse(injector.values!) as { global: { hub: string; tag: string } };
    const config = loadConfig({
      configFile,
      istio: { injector: text('istio-sidecar-injector', 'config', injector.config!), values: text('istio-sidecar-injector', 'values', injector.values!), mesh: text('istio', 'mesh', mesh.mesh!) },
    });
    expect(config.values).toMatchObject({ global: { hub: values.global.hub, tag: values.global.tag } });
    expect(config.meshConfig).toMatchObject({ enablePrometheusMerge: true });
    expect(config.excludedNamespaces).toEqual(['istio-system', 'kube-system', 'mesh-webhook']);
    // The base's config.yaml is replaced (its hub and tag would override istiod's).
    expect(data['config.yaml']).not.toMatch(/hub:|tag:|policy:/);
  });

  it("RBAC: every call the service makes for them is authorised, and only for these two names", async () => {
    const refs = serveArgs(objs).configObjects!;
    const requests = await readerRequests(refs, (h) => {
      h.api.apply('configmaps', configMapFixture('istio-sidecar-injector.yaml'));
      h.api.apply('configmaps', configMapFixture('istio.yaml'));
    });
    const calls = requests.map(attributes);
    expect(new Set(calls.map((c) => `${c.verb} ${c.resource} ${c.namespace}/${c.name}`))).toEqual(
      new Set(['list configmaps istio-system/istio-sidecar-injector', 'watch configmaps istio-system/istio-sidecar-injector', 'list configmaps istio-system/istio', 'watch configmaps istio-system/istio']),
    );
    for (const call of calls) expect(authorised(objs, call), JSON.stringify(call)).toBe(true);
    // What resourceNames keeps out: every ConfigMap of istio-system, another one by name, another namespace's.
    const list = { verb: 'list', apiGroup: '', resource: 'configmaps', namespace: 'istio-system' };
    expect(authorised(objs, { ...list, name: undefined })).toBe(false);
    expect(authorised(objs, { ...list, verb: 'get', name: 'istio-ca-root-cert' })).toBe(false);
    expect(authorised(objs, { ...list, namespace: 'kube-system', name: 'istio' })).toBe(false);
    expect(authorised(objs, { ...list, verb: 'update', name: 'istio' })).toBe(false);
  });
});

describe('components/kyma-istio-resource (with components/kyma-module)', () => {
  const base = renderComposition(['base'], ['components/kyma-module']);
  const objs = renderComposition(['base'], ['components/kyma-module', 'components/kyma-istio-resource']);

  it('adds a Role and RoleBinding in kyma-system, schema-valid', () => {
    validate(objs);
    expect(added(objs, base)).toEqual(['Role kyma-system/mesh-webhook-istio-resource', 'RoleBinding kyma-system/mesh-webhook-istio-resource']);
    const role = objs.find((o) => o.kind === 'Role' && o.metadata.namespace === 'kyma-system') as RoleObj;
    expect(role.rules).toEqual([{ apiGroups: ['operator.kyma-project.io'], resources: ['istios'], resourceNames: ['default'], verbs: ['get', 'list', 'watch'] }]);
    expect((objs.find((o) => o.kind === 'RoleBinding' && o.metadata.namespace === 'kyma-system') as BindingObj).subjects).toEqual([SUBJECT]);
  });

  it('the service reads the resource named in its arguments, with the kyma-module profile', () => {
    expect(args(objs).slice(-4)).toEqual(['--profile', 'kyma-module', '--istio-cr-resource', 'kyma-system/default']);
    const parsed = serveArgs(objs);
    expect(parsed.config.profile).toBe('kyma-module');
    expect(parsed.configObjects).toEqual({ istioResource: { kind: 'Istio', namespace: 'kyma-system', name: 'default' } });
  });

  it('RBAC: every call the service makes for it is authorised, and only for that name', async () => {
    const requests = await readerRequests(serveArgs(objs).configObjects!, (h) => {
      h.api.apply('istios', { metadata: { name: 'default', namespace: 'kyma-system' }, spec: {} });
    });
    const calls = requests.map(attributes);
    expect(new Set(calls.map((c) => `${c.verb} ${c.apiGroup} ${c.resource} ${c.namespace}/${c.name}`))).toEqual(
      new Set(['list operator.kyma-project.io istios kyma-system/default', 'watch operator.kyma-project.io istios kyma-system/default']),
    );
    for (const call of calls) expect(authorised(objs, call), JSON.stringify(call)).toBe(true);
    expect(authorised(objs, { verb: 'list', apiGroup: 'operator.kyma-project.io', resource: 'istios', namespace: 'kyma-system', name: undefined })).toBe(false);
  });
});
