/**
 * Self-checks of the conformance harness (no project code involved): the normaliser, the converter and the
 * comparison, against the fixtures themselves.
 */
import { describe, expect, it } from 'vitest';
import { loadCases, readTestdata } from './cases.js';
import { injectableDocs, parseYamlStream, splitDocsWebhook, toPod, webhookPods, type Json, type JsonObj } from './convert.js';
import {
  canonicalQuantity,
  checkMetaJsonEnv,
  firstDiff,
  firstDocsDiff,
  formatDiff,
  normalizeGo,
  normalizeWebhookPod,
  STATUS_ANNOTATION,
} from './normalize.js';

const cases = loadCases();
const withGolden = cases.filter((c) => c.golden !== null);

function annotations(pod: JsonObj): Record<string, unknown> {
  const meta = pod.metadata as JsonObj | undefined;
  return (meta?.annotations as Record<string, unknown> | undefined) ?? {};
}

describe('canonicalQuantity', () => {
  it.each([
    ['2000m', '2'],
    ['2', '2'],
    [2, '2'],
    ['4000m', '4'],
    ['1024Mi', '1073741824'],
    ['1Gi', '1073741824'],
    ['100m', '0.1'],
    ['0.1', '0.1'],
    ['128Mi', '134217728'],
    ['0', '0'],
    ['0m', '0'],
    ['1e3', '1000'],
    ['1k', '1000'],
    ['1.5Gi', '1610612736'],
    ['-1', '-1'],
    ['500M', '500000000'],
  ] as const)('%s → %s', (q, want) => {
    expect(canonicalQuantity(q)).toBe(want);
  });

  it.each(['', 'abc', '1Xi', '1.2.3', null, true])('rejects %j', (q) => {
    expect(canonicalQuantity(q)).toBeUndefined();
  });
});

describe('normalizeGo', () => {
  it('drops the listed Go zero-value artefacts', () => {
    const doc = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x', creationTimestamp: null },
      spec: {
        strategy: {},
        template: {
          metadata: { creationTimestamp: null },
          spec: {
            containers: [{ name: 'a', resources: {} }],
            initContainers: [{ name: 'b', resources: { limits: { cpu: '2000m', memory: '1024Mi' } } }],
            volumes: [{ name: 'd', emptyDir: {} }, { name: 'e' }],
          },
        },
      },
      status: {},
    } as Json;
    expect(normalizeGo(doc)).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x' },
      spec: {
        template: {
          spec: {
            containers: [{ name: 'a' }],
            initContainers: [{ name: 'b', resources: { limits: { cpu: '2', memory: '1073741824' } } }],
            volumes: [{ name: 'd', emptyDir: {} }, { name: 'e' }],
          },
        },
      },
    });
  });

  it('keeps containers: [], emptyDir: {}, non-empty status and other empty maps', () => {
    const pod = {
      kind: 'Pod',
      spec: { containers: [], volumes: [{ name: 'v', emptyDir: {} }], securityContext: {} },
      status: { phase: 'Pending' },
    } as Json;
    expect(normalizeGo(pod)).toEqual(pod);
  });

  it('drops all-zero workload status counters (DeploymentConfig, DaemonSet, ...) but not non-zero ones', () => {
    expect(normalizeGo({ kind: 'DaemonSet', status: { numberReady: 0, desiredNumberScheduled: 0 } })).toEqual({
      kind: 'DaemonSet',
    });
    expect(normalizeGo({ kind: 'DaemonSet', status: { numberReady: 1 } })).toEqual({
      kind: 'DaemonSet',
      status: { numberReady: 1 },
    });
  });

  it('does not modify its input', () => {
    const doc = { kind: 'Pod', status: {}, spec: { containers: [{ name: 'a', resources: {} }] } } as Json;
    const copy = structuredClone(doc);
    normalizeGo(doc);
    expect(doc).toEqual(copy);
  });
});

describe('firstDiff', () => {
  it('reports the first differing path with both values, ignoring key order', () => {
    expect(firstDiff({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 })).toBeNull();
    expect(firstDiff({ a: { b: [{ name: 'x', v: 1 }] } }, { a: { b: [{ name: 'x', v: 2 }] } })).toEqual({
      path: '$.a.b[0](x).v',
      got: 1,
      want: 2,
    });
    expect(firstDiff({ a: [1] }, { a: [1, 2] })).toEqual({ path: '$.a[1]', got: undefined, want: 2 });
    expect(firstDiff({ 'x/y': null }, {})).toEqual({ path: '$["x/y"]', got: null, want: undefined });
    expect(firstDiff([2, 1], [1, 2])?.path).toBe('$[0]');
  });
});

describe('conversion', () => {
  it('converts a Deployment to a fake-ReplicaSet-owned pod', () => {
    const [doc] = injectableDocs(splitDocsWebhook(readTestdata('hello.yaml')));
    const pod = toPod(doc!);
    expect(pod.metadata).toMatchObject({
      generateName: 'hello-fake-',
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'hello-fake', controller: true }],
      labels: { app: 'hello', 'pod-template-hash': 'fake' },
    });
    expect((pod.spec as JsonObj).containers).toHaveLength(1);
  });

  it('converts other workloads to pods owned by the workload itself', () => {
    const [doc] = injectableDocs(splitDocsWebhook(readTestdata('statefulset.yaml')));
    const pod = toPod(doc!);
    const meta = pod.metadata as JsonObj;
    expect(meta.generateName).toBe((doc!.metadata as JsonObj).name);
    expect(meta.ownerReferences).toEqual([
      { apiVersion: doc!.apiVersion, kind: 'StatefulSet', name: (doc!.metadata as JsonObj).name, controller: true },
    ]);
  });

  it('expands Lists and drops non-injectable kinds', () => {
    expect(injectableDocs(splitDocsWebhook(readTestdata('list.yaml'))).map((d) => d.kind)).toEqual([
      'Deployment',
      'Deployment',
    ]);
    expect(injectableDocs(splitDocsWebhook(readTestdata('hello-service.yaml')))).toEqual([]);
    expect(webhookPods(readTestdata('deploymentconfig-multi.yaml')).map((p) => p.source.kind)).toEqual([
      'DeploymentConfig',
    ]);
  });
});

describe('fixtures through the harness', () => {
  it.each(withGolden.map((c) => [c.id, c] as const))('%s: golden equals itself (CLI + webhook normalisation)', (_, c) => {
    const a = parseYamlStream(readTestdata(c.golden!)).map(normalizeGo);
    const b = parseYamlStream(readTestdata(c.golden!)).map(normalizeGo);
    expect(firstDocsDiff(a, b)).toBeNull();
    if (c.mode === 'webhook+cli') {
      const pods = webhookPods(readTestdata(c.golden!));
      expect(pods.length).toBe(webhookPods(readTestdata(c.input)).length);
      for (const { pod } of pods) {
        expect(checkMetaJsonEnv(pod)).toEqual([]);
        const n = normalizeWebhookPod(pod);
        expect(annotations(n)[STATUS_ANNOTATION]).toBeUndefined();
        expect(firstDiff(n, normalizeWebhookPod(pod))).toBeNull();
      }
    }
  });

  // Goldens without a status annotation are the "not injected" cases: the raw input must already match them.
  const notInjected = withGolden.filter((c) =>
    parseYamlStream(readTestdata(c.golden!)).every((d) => !JSON.stringify(d).includes(STATUS_ANNOTATION)),
  );

  it('finds the not-injected cases', () => {
    expect(notInjected.map((c) => c.id).sort()).toEqual(
      [
        '23-hello-service.yaml.injected',
        '55-hello-host-network-with-ns.yaml.injected',
        '84-hello-host-network.yaml.injected',
        '85-hello-ignore.yaml.injected',
      ].sort(),
    );
  });

  it.each(notInjected.map((c) => [c.id, c] as const))('%s: input ≡ golden after normalisation', (_, c) => {
    const inp = parseYamlStream(readTestdata(c.input)).map(normalizeGo);
    const gold = parseYamlStream(readTestdata(c.golden!)).map(normalizeGo);
    const d = firstDocsDiff(inp, gold);
    expect(d && formatDiff(d)).toBeNull();
    if (c.mode === 'webhook+cli') {
      const ip = webhookPods(readTestdata(c.input));
      const gp = webhookPods(readTestdata(c.golden!));
      ip.forEach(({ pod }, i) => {
        const dd = firstDiff(normalizeWebhookPod(pod), normalizeWebhookPod(gp[i]!.pod));
        expect(dd && formatDiff(dd)).toBeNull();
      });
    }
  });

  it('every injected golden differs from its input (the comparison is not vacuous)', () => {
    for (const c of withGolden.filter((x) => !notInjected.includes(x))) {
      const inp = parseYamlStream(readTestdata(c.input)).map(normalizeGo);
      const gold = parseYamlStream(readTestdata(c.golden!)).map(normalizeGo);
      expect(firstDocsDiff(inp, gold), c.id).not.toBeNull();
    }
  });
});
