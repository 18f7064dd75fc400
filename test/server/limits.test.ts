/**
 * The count caps (src/admission/limits.ts) through the endpoints (in process: no socket matters here): a pod at each cap is injected, one past
 * it is refused at once with a message naming the field, the count, the limit and the setting; /validate answers by
 * mode and operation; /explain refuses. The caps are written out here, not imported. The cost they bound is measured
 * in bench/ (hostile bodies under the Deployment's memory limit), not here.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { limitProblem } from '../../src/admission/limits.js';
import type { AdmissionLimits } from '../../src/config/types.js';
import { profileConfig } from '../../src/config/profiles.js';
import { loadConfig } from '../../src/config/load.js';
import type { Container, Pod } from '../../src/k8s/types.js';
import { createRuntime } from '../../src/server/runtime.js';
import { startInProcessServer, type InProcessServer } from '../helpers/inProcess.js';
import { admitPod, appPod, podReview } from '../inject/review.js';
import { deployment, NS } from '../validate/examples.js';
import { postValidate, validationReview, type Obj } from '../validate/helpers.js';

let server: InProcessServer;
let enforcing: InProcessServer;
beforeAll(async () => {
  server = await startInProcessServer(createRuntime(profileConfig('kyma')), { explain: true });
  enforcing = await startInProcessServer(createRuntime(loadConfig({ sets: ['validation.mode=enforce'] })));
});
afterAll(async () => {
  await Promise.all([server?.close(), enforcing?.close()]);
});

const map = (n: number, prefix: string, value = 'v') => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, value]));
/** The app pod with exactly these labels (appPod adds its own). */
function withLabels(labels: Record<string, string>): Pod {
  const pod = appPod();
  return { ...pod, metadata: { ...pod.metadata, labels } };
}
const containers = (n: number, each: (i: number) => Partial<Container> = () => ({})): Container[] =>
  Array.from({ length: n }, (_, i) => ({ name: `c${i}`, image: 'example.com/app:1', ...each(i) }));

/** [what, pod at the limit, pod one past it, the message's expected text]. */
const CASES: [string, () => Pod, () => Pod, RegExp][] = [
  ['labels', () => withLabels(map(1024, 'l')), () => withLabels(map(1025, 'l')), /^metadata\.labels has more than 1,024 labels; the limit is 1,024 \(setting limits\.labels\)/],
  ['annotations', () => appPod({ annotations: map(1024, 'example.com/a') }), () => appPod({ annotations: map(1025, 'example.com/a') }), /^metadata\.annotations has more than 1,024 annotations; the limit is 1,024 \(setting limits\.annotations\)/],
  [
    'annotation bytes',
    // One key of 16 bytes and a value filling up to exactly 256 KiB; then one byte more.
    () => appPod({ annotations: { 'example.com/big1': 'x'.repeat(256 * 1024 - 16) } }),
    () => appPod({ annotations: { 'example.com/big1': 'x'.repeat(256 * 1024 - 15) } }),
    /^metadata\.annotations has more than 262,144 bytes of annotations; the limit is 262,144 \(setting limits\.annotationBytes\)/,
  ],
  [
    'containers',
    () => appPod({ spec: { containers: containers(200), initContainers: containers(56).map((c) => ({ ...c, name: `i${c.name}` })) } }),
    () => appPod({ spec: { containers: containers(200), initContainers: containers(56).map((c) => ({ ...c, name: `i${c.name}` })), ephemeralContainers: [{ name: 'debug', image: 'busybox' }] } as Pod['spec'] }),
    /^spec has 257 containers \(containers, initContainers and ephemeralContainers\); the limit is 256 \(setting limits\.containers\)/,
  ],
  [
    'env',
    () => appPod({ spec: { containers: containers(2, () => ({ env: Array.from({ length: 4096 }, (_, j) => ({ name: `E${j}`, value: 'v' })) })) } }),
    () => appPod({ spec: { containers: containers(2, (i) => ({ env: Array.from({ length: 4096 }, (_, j) => ({ name: `E${j}`, value: 'v' })), ...(i === 1 ? { envFrom: [{ configMapRef: { name: 'cm' } }] } : {}) })) } }),
    /^spec has 8,193 environment entries \(env and envFrom of all containers\); the limit is 8,192 \(setting limits\.env\)/,
  ],
  [
    'ports',
    () => appPod({ spec: { containers: containers(2, (i) => ({ ports: Array.from({ length: 1024 }, (_, j) => ({ containerPort: 20000 + i * 1024 + j })) })) } }),
    () => appPod({ spec: { containers: containers(2, (i) => ({ ports: Array.from({ length: 1024 + i }, (_, j) => ({ containerPort: 20000 + i * 1024 + j })) })) } }),
    /^spec has 2,049 container ports \(all containers\); the limit is 2,048 \(setting limits\.ports\)/,
  ],
  [
    'volumes',
    () => appPod({ spec: { containers: containers(1), volumes: Array.from({ length: 1024 }, (_, i) => ({ name: `v${i}`, emptyDir: {} })) } }),
    () => appPod({ spec: { containers: containers(1), volumes: Array.from({ length: 1025 }, (_, i) => ({ name: `v${i}`, emptyDir: {} })) } }),
    /^spec\.volumes has 1,025 volumes; the limit is 1,024 \(setting limits\.volumes\)/,
  ],
  [
    'volume mounts',
    () => appPod({ spec: { containers: containers(4, (i) => ({ volumeMounts: Array.from({ length: 1024 }, (_, j) => ({ name: 'data', mountPath: `/m/${i}/${j}` })) })), volumes: [{ name: 'data', emptyDir: {} }] } }),
    () => appPod({ spec: { containers: containers(4, (i) => ({ volumeMounts: Array.from({ length: i === 0 ? 1025 : 1024 }, (_, j) => ({ name: 'data', mountPath: `/m/${i}/${j}` })) })), volumes: [{ name: 'data', emptyDir: {} }] } }),
    /^spec has 4,097 volume mounts \(all containers\); the limit is 4,096 \(setting limits\.volumeMounts\)/,
  ],
];

describe('/inject: the count caps', () => {
  test.each(CASES)('%s: at the limit injected, one past it refused naming the field and the setting', async (_what, at, past, message) => {
    const ok = await admitPod(server, at());
    expect(ok.allowed, ok.message).toBe(true);
    expect(ok.pod.spec?.initContainers?.some((c) => c.name === 'istio-proxy') || ok.pod.spec?.containers?.some((c) => c.name === 'istio-proxy')).toBe(true);
    const refused = await admitPod(server, past());
    expect(refused.allowed).toBe(false);
    expect(refused.patch).toBeUndefined();
    expect(refused.message).toMatch(/^mesh-webhook: cannot inject: /);
    expect(refused.message?.replace('mesh-webhook: cannot inject: ', '')).toMatch(message);
    expect(refused.message).toMatch(/remove some, or ask the operator to raise the limit$/);
    expect(refused.audit).toMatch(/^rejected: limit exceeded: /);
  });

  test('a pod with 450,000 labels is not even parsed: refused from its identity, with a short message', async () => {
    const refused = await admitPod(server, appPod({ labels: map(450_000, 'l') }));
    expect(refused.allowed).toBe(false);
    expect(refused.message).toBe(
      'mesh-webhook: cannot inject: the request body has more than 262,144 JSON tokens ({, [, : and , outside strings: about one per value); the limit is 262,144 (setting limits.jsonTokens): remove some, or ask the operator to raise the limit',
    );
    expect(refused.audit).toBe('rejected: limit exceeded: jsonTokens');
  });

  test('a body beyond the token limit without an AdmissionReview identity at its start: 413', async () => {
    const res = await server.postJson('/inject', JSON.stringify({ padding: Array.from({ length: 300_000 }, () => 0), apiVersion: 'admission.k8s.io/v1' }));
    expect(res.status).toBe(413);
    expect((res.json as { error: string }).error).toMatch(/^the request body has more than 262,144 JSON tokens .*; nor does it start with an AdmissionReview's apiVersion and request\.uid$/);
  });

  test('an object that is not a Pod is not counted (it is let through untouched, as before)', async () => {
    const review = podReview(appPod({ labels: map(2000, 'l') }));
    review.request.kind = { group: 'apps', version: 'v1', kind: 'Deployment' };
    const res = await server.postJson('/inject', review);
    expect(res.json).toMatchObject({ response: { allowed: true } });
  });
});

describe('/validate and /explain: the count caps', () => {
  function wideDeployment(): Obj {
    const d = deployment('wide', { containers: [{ name: 'app', image: 'example.com/app:1' }] });
    const template = (d.spec as { template: { metadata?: { labels?: Record<string, string> } } }).template;
    template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, ...map(1100, 'l') } };
    return d;
  }

  test('warn mode: allowed, not validated, with a warning naming the cap', async () => {
    const answer = await postValidate(server, validationReview(wideDeployment()));
    expect(answer.allowed).toBe(true);
    expect(answer.warnings).toEqual(['mesh-webhook: not validated: spec.template.metadata.labels has more than 1,024 labels; the limit is 1,024 (setting limits.labels): remove some, or ask the operator to raise the limit']);
    expect(answer.audit).toMatch(/^warn: not validated: spec\.template\.metadata\.labels/);
  });

  test('enforce mode: a CREATE is denied, an UPDATE (a scale, a rollout of an object already stored) is allowed with the warning', async () => {
    const created = await postValidate(enforcing, validationReview(wideDeployment()));
    expect(created.allowed).toBe(false);
    expect(created.code).toBe(400);
    expect(created.message).toMatch(/^mesh-webhook denied: spec\.template\.metadata\.labels has more than 1,024 labels/);
    const updated = await postValidate(enforcing, validationReview(wideDeployment(), { operation: 'UPDATE', oldObject: wideDeployment() }));
    expect(updated.allowed).toBe(true);
    expect(updated.warnings[0]).toMatch(/^mesh-webhook: not validated: /);
  });

  test('a review beyond the token limit (twice the inject limit for /validate): the mode of its namespace and its operation decide, unparsed', async () => {
    const padded = (operation: string) => {
      const d = deployment('padded', { containers: [{ name: 'app', image: 'example.com/app:1' }] });
      (d.metadata as Record<string, unknown>)['managedFields'] = Array.from({ length: 300_000 }, () => ({}));
      return validationReview(d, operation === 'UPDATE' ? { operation: 'UPDATE', oldObject: deployment('padded') } : {});
    };
    const created = await postValidate(enforcing, padded('CREATE'));
    expect(created.allowed).toBe(false);
    expect(created.message).toBe(
      'mesh-webhook denied: the request body has more than 524,288 JSON tokens ({, [, : and , outside strings: about one per value); the limit is 524,288 (setting limits.jsonTokens): remove some, or ask the operator to raise the limit',
    );
    const updated = await postValidate(enforcing, padded('UPDATE'));
    expect(updated.allowed).toBe(true);
    expect(updated.warnings[0]).toMatch(/^mesh-webhook: not validated: the request body has more than 524,288 JSON tokens/);
    const warned = await postValidate(server, padded('CREATE'));
    expect(warned.allowed).toBe(true);
  });

  test('/explain: 400 naming the cap', async () => {
    const res = await server.postJson('/explain', wideDeployment());
    expect(res.status).toBe(400);
    expect((res.json as { error: string }).error).toBe('cannot explain: spec.template.metadata.labels has more than 1,024 labels; the limit is 1,024 (setting limits.labels): remove some, or ask the operator to raise the limit');
  });

  test('a Namespace or Service is counted on its own metadata', async () => {
    const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: map(1025, 'l') } };
    const answer = await postValidate(server, validationReview(ns));
    expect(answer.warnings[0]).toMatch(/^mesh-webhook: not validated: metadata\.labels has more than 1,024 labels/);
  });
});

describe('the configured limits', () => {
  test('limits from the configuration apply to /inject', async () => {
    const tight = await startInProcessServer(createRuntime(loadConfig({ sets: ['limits.labels=4', 'limits.containers=2'] })));
    try {
      const four = await admitPod(tight, withLabels({ a: '1', b: '2', c: '3', d: '4' }));
      expect(four.allowed, four.message).toBe(true);
      const five = await admitPod(tight, withLabels({ a: '1', b: '2', c: '3', d: '4', e: '5' }));
      expect(five.message).toBe('mesh-webhook: cannot inject: metadata.labels has more than 4 labels; the limit is 4 (setting limits.labels): remove some, or ask the operator to raise the limit');
      const three = await admitPod(tight, appPod({ spec: { containers: containers(3) } }));
      expect(three.message).toMatch(/^mesh-webhook: cannot inject: spec has 3 containers .*the limit is 2 \(setting limits\.containers\)/);
    } finally {
      await tight.close();
    }
  });
});

describe('limitProblem: where each kind keeps what is counted', () => {
  // Small limits, so that each case is a few entries; the defaults are checked through HTTPS above.
  const small: AdmissionLimits = { labels: 2, annotations: 2, annotationBytes: 64, containers: 2, env: 2, ports: 2, volumes: 2, volumeMounts: 2, jsonTokens: 1000 };
  const three = (prefix: string) => ({ [`${prefix}0`]: 'v', [`${prefix}1`]: 'v', [`${prefix}2`]: 'v' });
  const c = (extra: Obj = {}) => ({ name: 'c', image: 'i', ...extra });
  const where = (object: unknown) => {
    const p = limitProblem(object, small);
    return p ? `${p.limit} at ${p.path}: ${p.count}${p.exact ? '' : '+'}` : undefined;
  };

  test.each<[string, unknown, string | undefined]>([
    ['a bare pod (no kind, as the webhook may see one)', { metadata: { labels: three('l') } }, 'labels at metadata.labels: 3+'],
    ['a kind that is not a string counts as a Pod', { kind: 5, spec: { containers: [c(), c(), c()] } }, 'containers at spec: 3'],
    ['a Pod: init, app and ephemeral containers together', { apiVersion: 'v1', kind: 'Pod', spec: { initContainers: [c()], containers: [c()], ephemeralContainers: [c()] } }, 'containers at spec: 3'],
    ['env and envFrom over all containers, entries that are not objects skipped', { kind: 'Pod', spec: { containers: [null, c({ env: [{}, {}], envFrom: [{}] })] } }, 'env at spec: 3'],
    ['ports', { kind: 'Pod', spec: { containers: [c({ ports: [{}, {}] }), c({ ports: [{}] })] } }, 'ports at spec: 3'],
    ['volumes', { kind: 'Pod', spec: { containers: [c()], volumes: [{}, {}, {}] } }, 'volumes at spec.volumes: 3'],
    ['volume mounts', { kind: 'Pod', spec: { containers: [c({ volumeMounts: [{}, {}] }), c({ volumeMounts: [{}] })] } }, 'volumeMounts at spec: 3'],
    ['annotation bytes: keys and string values, at the limit', { metadata: { annotations: { a: 'x'.repeat(63) } } }, undefined],
    ['annotation bytes: one past the limit', { metadata: { annotations: { a: 'x'.repeat(64) } } }, 'annotationBytes at metadata.annotations: 65+'],
    ['annotation values that are not strings count their key only', { metadata: { annotations: { a: 5, b: { long: 'x'.repeat(100) } } } }, undefined],
    ['a Deployment: its own metadata', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { annotations: three('a') } }, 'annotations at metadata.annotations: 3+'],
    ['a Deployment: the template metadata', { apiVersion: 'apps/v1', kind: 'Deployment', spec: { template: { metadata: { labels: three('l') } } } }, 'labels at spec.template.metadata.labels: 3+'],
    ['a Deployment: the template spec', { apiVersion: 'apps/v1', kind: 'Deployment', spec: { template: { spec: { containers: [c(), c(), c()] } } } }, 'containers at spec.template.spec: 3'],
    ['a Deployment: volumes of the template', { apiVersion: 'apps/v1', kind: 'Deployment', spec: { template: { spec: { volumes: [{}, {}, {}] } } } }, 'volumes at spec.template.spec.volumes: 3'],
    ['a Deployment without a template', { apiVersion: 'apps/v1', kind: 'Deployment', spec: {} }, undefined],
    ['a CronJob: the Job template metadata (where istioctl reads its labels)', { apiVersion: 'batch/v1', kind: 'CronJob', spec: { jobTemplate: { metadata: { labels: three('l') } } } }, 'labels at spec.jobTemplate.metadata.labels: 3+'],
    [
      'a CronJob: the pod template spec',
      { apiVersion: 'batch/v1', kind: 'CronJob', spec: { jobTemplate: { spec: { template: { spec: { containers: [c({ env: [{}, {}, {}] })] } } } } } },
      'env at spec.jobTemplate.spec.template.spec: 3',
    ],
    [
      'a CronJob: the pod template metadata',
      { apiVersion: 'batch/v1', kind: 'CronJob', spec: { jobTemplate: { spec: { template: { metadata: { annotations: three('a') } } } } } },
      'annotations at spec.jobTemplate.spec.template.metadata.annotations: 3+',
    ],
    ['a Service: its metadata only', { apiVersion: 'v1', kind: 'Service', metadata: { labels: three('l') }, spec: { ports: [{}, {}, {}] } }, 'labels at metadata.labels: 3+'],
    ['a Service within the limits (its spec is not a pod spec)', { apiVersion: 'v1', kind: 'Service', spec: { containers: [c(), c(), c()] } }, undefined],
    ['at every limit', { kind: 'Pod', metadata: { labels: { a: '1', b: '2' } }, spec: { containers: [c({ env: [{}, {}], ports: [{}, {}], volumeMounts: [{}, {}] })], volumes: [{}, {}] } }, undefined],
    ['not an object', 'a string', undefined],
    ['metadata and spec that are not objects', { kind: 'Pod', metadata: [1, 2, 3], spec: [1, 2, 3] }, undefined],
  ])('%s', (_name, object, expected) => {
    expect(where(object)).toBe(expected);
  });
});
