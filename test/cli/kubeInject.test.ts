import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { profileConfig } from '../../src/config/profiles.js';
import type { InjectionOutcome, InjectionRequest, Injector } from '../../src/inject/api.js';
import { injectManifests, ManifestError } from '../../src/workloads/kubeInject.js';

/** Records requests; injects a marker container, skips on `inject: "false"`, rejects on a `bad` annotation. */
function fakeInjector(): Injector & { requests: InjectionRequest[] } {
  const requests: InjectionRequest[] = [];
  return {
    config: profileConfig('kyma'),
    requests,
    inject(request): InjectionOutcome {
      requests.push(structuredClone(request));
      const { pod } = request;
      const annotations = pod.metadata?.annotations ?? {};
      if (annotations['sidecar.istio.io/inject'] === 'false') return { kind: 'skipped', reason: 'sidecar.istio.io/inject is "false"' };
      if (annotations.bad !== undefined) return { kind: 'rejected', reason: 'invalid', category: 'invalidAnnotation', message: `annotation bad: invalid value "${annotations.bad}"` };
      const injected = structuredClone(pod);
      injected.metadata = { ...injected.metadata, annotations: { ...annotations, 'sidecar.istio.io/status': '{}' } };
      injected.spec = { ...injected.spec, initContainers: [...(injected.spec?.initContainers ?? []), { name: 'istio-proxy', restartPolicy: 'Always' }] };
      return { kind: 'injected', reason: 'ok', pod: injected, patch: () => [] };
    },
  };
}

const containers = '      containers:\n      - name: app\n        image: app\n';
const deployment = (name: string, extra = '') =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n${extra}spec:\n  template:\n    metadata:\n      labels: {app: ${name}}\n    spec:\n${containers}`;

function docs(output: string): unknown[] {
  return parseAllDocuments(output)
    .map((d) => d.toJS() as unknown)
    .filter((d) => d !== null);
}

function manifestError(fn: () => unknown): ManifestError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ManifestError);
    return err as ManifestError;
  }
  throw new Error('expected a ManifestError');
}

describe('injectManifests', () => {
  it('injects a Deployment template and passes the workload to the injector', () => {
    const injector = fakeInjector();
    const { output, warnings } = injectManifests(deployment('hello', '  namespace: team\n'), injector);
    expect(warnings).toEqual([]);
    expect(injector.requests[0]).toEqual({
      pod: { metadata: { labels: { app: 'hello' } }, spec: { containers: [{ name: 'app', image: 'app' }] } },
      namespace: 'team',
      workload: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'hello', namespace: 'team' },
    });
    expect(output.endsWith('---\n')).toBe(true);
    const [out] = docs(output) as { spec: { template: { metadata: { annotations: object }; spec: { initContainers: { name: string }[] } } } }[];
    expect(out?.spec.template.spec.initContainers[0]?.name).toBe('istio-proxy');
    expect(out?.spec.template.metadata.annotations).toEqual({ 'sidecar.istio.io/status': '{}' });
  });

  it('injects a Pod document without a workload reference', () => {
    const injector = fakeInjector();
    const { output } = injectManifests(`apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: ns\nspec:\n  containers:\n  - name: app\nstatus: {}\n`, injector);
    expect(injector.requests[0]?.workload).toBeUndefined();
    expect(injector.requests[0]?.namespace).toBe('ns');
    const [pod] = docs(output) as Record<string, Record<string, unknown>>[];
    expect(pod?.apiVersion).toBe('v1');
    expect(pod?.status).toEqual({});
    expect(pod?.spec?.initContainers).toHaveLength(1);
  });

  it('passes other kinds through unchanged, comments included, and drops empty documents', () => {
    const service = '# the service\napiVersion: v1\nkind: Service\nmetadata:\n  name: s # name\nspec:\n  ports: [{port: 80}]\n';
    const { output } = injectManifests(`---\n${service}---\n---\n`, fakeInjector());
    expect(output).toBe(`${service}---\n`);
    expect(injectManifests('', fakeInjector()).output).toBe('');
  });

  it('echoes documents without their markers and directives', () => {
    const input = '%YAML 1.2\n---\nkind: A\napiVersion: v1\n...\n--- # b\nkind: B\napiVersion: v1\n--- {kind: C, apiVersion: v1}\n';
    expect(injectManifests(input, fakeInjector()).output).toBe(
      'kind: A\napiVersion: v1\n---\n# b\nkind: B\napiVersion: v1\n---\n{kind: C, apiVersion: v1}\n---\n',
    );
  });

  it('passes a same-named kind from another API group through', () => {
    const injector = fakeInjector();
    injectManifests(deployment('x').replace('apps/v1', 'example.com/v1'), injector);
    expect(injector.requests).toHaveLength(0);
  });

  it('handles every workload kind', () => {
    const template = `  template:\n    spec:\n${containers}`;
    const kinds = [
      ['apps/v1', 'StatefulSet'], ['apps/v1', 'DaemonSet'], ['apps/v1', 'ReplicaSet'], ['v1', 'ReplicationController'],
      ['batch/v1', 'Job'], ['apps.openshift.io/v1', 'DeploymentConfig'], ['v1', 'DeploymentConfig'], ['extensions/v1beta1', 'Deployment'],
    ];
    const input = kinds.map(([v, k]) => `apiVersion: ${v}\nkind: ${k}\nmetadata:\n  name: w\nspec:\n${template}`).join('---\n');
    const injector = fakeInjector();
    const out = docs(injectManifests(input, injector).output) as { spec: { template: { spec: { initContainers?: unknown[] } } } }[];
    expect(injector.requests.map((r) => r.workload?.kind)).toEqual(kinds.map(([, k]) => k));
    for (const d of out) expect(d.spec.template.spec.initContainers).toHaveLength(1);
  });

  it('reproduces the CronJob quirk: pod metadata lives on spec.jobTemplate', () => {
    const cron = `apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: c\nspec:\n  schedule: "* * * * *"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n          - name: hello\n`;
    const injector = fakeInjector();
    const [out] = docs(injectManifests(cron, injector).output) as { spec: { jobTemplate: Record<string, any> } }[];
    expect(injector.requests[0]?.workload?.kind).toBe('CronJob');
    expect(out?.spec.jobTemplate.metadata).toEqual({ annotations: { 'sidecar.istio.io/status': '{}' } });
    expect(out?.spec.jobTemplate.spec.template.metadata).toEqual({});
    expect(out?.spec.jobTemplate.spec.template.spec.initContainers).toHaveLength(1);
  });

  it('processes List items recursively', () => {
    const list = `apiVersion: v1\nkind: List\nitems:\n- ${deployment('a').replaceAll('\n', '\n  ').trimEnd()}\n- apiVersion: v1\n  kind: Service\n  metadata: {name: s}\n- apiVersion: v1\n  kind: List\n  items:\n  - ${deployment('b').replaceAll('\n', '\n    ').trimEnd()}\n`;
    const injector = fakeInjector();
    const [out] = docs(injectManifests(list, injector).output) as { items: Record<string, any>[] }[];
    expect(injector.requests.map((r) => r.workload?.name)).toEqual(['a', 'b']);
    expect(out?.items[0]?.spec.template.spec.initContainers).toHaveLength(1);
    expect(out?.items[1]).toEqual({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } });
    expect(out?.items[2]?.items[0].spec.template.spec.initContainers).toHaveLength(1);
  });

  it('warns about host-network workloads in the istioctl format and leaves them alone', () => {
    const hostNet = deployment('hello-host-network', '  namespace: sample\n') + '      hostNetwork: true\n';
    const injector = fakeInjector();
    const { output, warnings } = injectManifests(hostNet, injector);
    expect(warnings).toEqual(['Skipping injection because Deployment "sample/hello-host-network" has host networking enabled']);
    expect(injector.requests).toHaveLength(0);
    expect(output).toBe(`${hostNet}---\n`);
    expect(injectManifests(deployment('n') + '      hostNetwork: true\n', injector).warnings[0]).toContain('Deployment "n" has');
  });

  it('warns about other skips with the reason', () => {
    const skipped = deployment('off').replace('labels: {app: off}', 'annotations: {sidecar.istio.io/inject: "false"}');
    const { output, warnings } = injectManifests(skipped, fakeInjector());
    expect(warnings).toEqual(['Skipping injection of Deployment "off": sidecar.istio.io/inject is "false"']);
    expect(output).toBe(`${skipped}---\n`);
  });

  it('names the document, kind and name of a rejected workload', () => {
    const bad = deployment('broken', '  namespace: ns\n').replace('labels: {app: broken}', 'annotations: {bad: "x"}');
    const err = manifestError(() => injectManifests(`${deployment('ok')}---\n${bad}`, fakeInjector()));
    expect(err.document).toBe(2);
    expect(err.message).toBe('document 2 (Deployment "ns/broken"): annotation bad: invalid value "x"');
  });

  it('names the document of a YAML error', () => {
    const err = manifestError(() => injectManifests(`${deployment('ok')}---\nkind: [\n`, fakeInjector()));
    expect(err.message).toMatch(/^document 2: invalid YAML: .*line \d+/);
  });

  it.each([
    ['spec: 3\n', 'spec.template is missing'.replace('is missing', 'is missing'), 'spec must be a map; got number 3'],
    ['spec: {}\n', '', 'spec.template is missing'],
    ['spec:\n  template:\n    spec: []\n', '', 'spec.template.spec must be a pod spec'],
    ['spec:\n  template:\n    spec: {}\n', '', 'spec.template.spec.containers must be a non-empty list of containers; got nothing'],
    ['spec:\n  template:\n    spec:\n      containers: []\n', '', 'spec.template.spec.containers must be a non-empty list'],
    ['spec:\n  template:\n    spec:\n      containers: [3]\n', '', 'spec.template.spec.containers[0] must be a container'],
    ['spec:\n  template:\n    spec:\n      containers: [{image: x}]\n', '', 'spec.template.spec.containers[0].name must be a non-empty string'],
    ['spec:\n  template:\n    metadata: 1\n    spec:\n      containers: [{name: x}]\n', '', 'spec.template.metadata must be a map'],
    ['spec:\n  template:\n    spec:\n      containers: [{name: x}]\n      initContainers: {}\n', '', 'spec.template.spec.initContainers must be a list'],
  ])('names the bad field: %j', (spec, _unused, message) => {
    const err = manifestError(() => injectManifests(`apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n${spec}`, fakeInjector()));
    expect(err.message).toContain('document 1 (Deployment "d"): ');
    expect(err.message).toContain(message);
  });

  it('rejects documents that are not Kubernetes objects', () => {
    expect(manifestError(() => injectManifests('- a\n', fakeInjector())).message).toContain('document 1: expected a Kubernetes object');
    expect(manifestError(() => injectManifests('a: 1\n', fakeInjector())).message).toContain('apiVersion and kind');
    expect(manifestError(() => injectManifests('apiVersion: v1\nkind: List\nitems: {}\n', fakeInjector())).message).toContain('items must be a list');
  });

  it('quotes YAML 1.1 booleans in its output so kubectl reads them as strings', () => {
    const { output } = injectManifests(deployment('q').replace('labels: {app: q}', 'labels: {flag: "on", other: "yes"}'), fakeInjector());
    expect(output).toContain('flag: "on"');
    expect(output).toContain('other: "yes"');
  });
});
