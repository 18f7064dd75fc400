/**
 * Prototype pollution: no key a client or an operator's file can send changes a prototype. Hostile objects are built
 * with JSON.parse (which makes `__proto__` an own key, as a network body would) and YAML, and handed to everything
 * that reads request or configuration data: AdmissionReview parsing, admit() (the injector), validateAdmission() (the
 * validator), the explainer, the config loader (`--set` paths, values, mesh and config files), the ProxyConfig
 * annotation parser, the strategic merge and the webhook path parameters. After each, Object.prototype (and the other
 * built-in prototypes) must be exactly as before and `({}).polluted` undefined. Through the server (in process: the same parser and routes), bodies carrying such
 * keys are refused with 400 naming the path, and annotation values carrying them get a clean AdmissionReview.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { admit, parseAdmissionReview, validateAdmissionReview, type AdmissionReviewRequest } from '../../src/admission/review.js';
import { validateAdmission } from '../../src/admission/validation.js';
import { samplePod } from '../../src/admission/sample.js';
import { loadConfig } from '../../src/config/load.js';
import { deepMerge } from '../../src/config/merge.js';
import { createExplainer } from '../../src/explain/index.js';
import { createInjector } from '../../src/inject/index.js';
import { parseProxyConfigAnnotation } from '../../src/inject/proxyConfig.js';
import { strategicMerge } from '../../src/inject/smp.js';
import type { JsonObject } from '../../src/k8s/types.js';
import { createRuntime } from '../../src/server/runtime.js';
import { parseInjectPath } from '../../src/server/params.js';
import { startInProcessServer, type InProcessServer } from '../helpers/inProcess.js';

const PROTOTYPES: Record<string, object> = {
  Object: Object.prototype,
  Array: Array.prototype,
  Function: Function.prototype,
  String: String.prototype,
  Number: Number.prototype,
  Boolean: Boolean.prototype,
};
function snapshot(): Record<string, string[]> {
  return Object.fromEntries(Object.entries(PROTOTYPES).map(([name, proto]) => [name, Reflect.ownKeys(proto).map(String).sort()]));
}
const before = snapshot();
let checks = 0;

/** Object.prototype and friends are exactly as they were when the file loaded. */
function expectClean(what: string): void {
  checks++;
  expect(({} as Record<string, unknown>)['polluted'], what).toBeUndefined();
  expect(([] as unknown as Record<string, unknown>)['polluted'], what).toBeUndefined();
  expect(snapshot(), what).toEqual(before);
  expect(Object.getPrototypeOf({}), what).toBe(Object.prototype);
}

afterEach(() => expectClean('after the test'));

/** Every object in `value` has Object.prototype (or Array.prototype) as its prototype. */
function expectPlainPrototypes(value: unknown, what: string): void {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    expect(Object.getPrototypeOf(v), what).toBe(Array.isArray(v) ? Array.prototype : Object.prototype);
    stack.push(...Object.values(v));
  }
}

/** Hostile fragments, as JSON text (so `__proto__` is an own key, as it is in a request body). */
const HOSTILE = [
  '{"__proto__": {"polluted": "yes", "privileged": true}}',
  '{"constructor": {"prototype": {"polluted": "yes"}}}',
  '{"__proto__": {"__proto__": {"polluted": "yes"}}}',
  '{"prototype": {"polluted": "yes"}, "constructor": "x"}',
  '[{"__proto__": {"polluted": "yes"}}]',
];
const parse = (text: string): unknown => JSON.parse(text);

/** A pod with a hostile fragment `at` a place. */
function podWith(place: string, fragment: string): unknown {
  const pod = JSON.parse(JSON.stringify(samplePod())) as Record<string, Record<string, unknown>>;
  const value = parse(fragment);
  const spec = pod.spec as Record<string, unknown>;
  const container = (spec.containers as Record<string, unknown>[])[0] as Record<string, unknown>;
  switch (place) {
    case 'pod':
      Object.assign(pod, { extra: value });
      return JSON.parse(JSON.stringify(pod).replace(/^\{/, `{"__proto__":${JSON.stringify(value)},`));
    case 'metadata':
      pod.metadata = JSON.parse(JSON.stringify(pod.metadata).replace(/^\{/, `{"__proto__":${fragment},`)) as Record<string, unknown>;
      return pod;
    case 'labels':
      (pod.metadata as Record<string, unknown>).labels = parse(`{"app":"x","__proto__":"yes","constructor":"x"}`);
      return pod;
    case 'spec':
      pod.spec = JSON.parse(JSON.stringify(spec).replace(/^\{/, `{"__proto__":${fragment},`)) as Record<string, unknown>;
      return pod;
    case 'container':
      (spec.containers as unknown[])[0] = JSON.parse(JSON.stringify(container).replace(/^\{/, `{"__proto__":${fragment},`));
      return pod;
    case 'securityContext':
      container.securityContext = value;
      return pod;
    case 'istio-proxy':
      (spec.containers as unknown[]).push(JSON.parse(`{"name":"istio-proxy","image":"auto","__proto__":${fragment},"securityContext":${fragment}}`));
      return pod;
    case 'probe':
      container.readinessProbe = JSON.parse(`{"httpGet":{"path":"/","port":8080,"__proto__":${fragment}},"constructor":${fragment}}`);
      return pod;
    default:
      throw new Error(place);
  }
}

const PLACES = ['pod', 'metadata', 'labels', 'spec', 'container', 'securityContext', 'istio-proxy', 'probe'];

/** Annotation values that carry hostile keys inside JSON or YAML text. */
const ANNOTATIONS: Record<string, string>[] = [
  { 'sidecar.istio.io/userVolume': '{"__proto__":{"emptyDir":{}},"v":{"emptyDir":{"__proto__":{"polluted":"yes"}}}}' },
  { 'sidecar.istio.io/userVolumeMount': '{"__proto__":{"mountPath":"/x"},"constructor":{"prototype":{"polluted":"yes"},"mountPath":"/y"}}' },
  { 'proxy.istio.io/config': '__proto__:\n  polluted: yes\n' },
  { 'proxy.istio.io/config': 'proxyMetadata:\n  __proto__:\n    polluted: yes\n' },
  { 'proxy.istio.io/config': 'proxyMetadata: {"__proto__": "x", "constructor": "y"}' },
  { 'proxy.istio.io/config': '{"constructor": {"prototype": {"polluted": "yes"}}}' },
  { 'proxy.istio.io/config': 'tracing: {__proto__: {polluted: yes}}' },
  {
    'sidecar.istio.io/status': '{"containers":["istio-proxy"],"__proto__":{"polluted":"yes"}}',
    'proxy.istio.io/overrides': '{"containers":[{"name":"istio-proxy","__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}]}',
  },
  {
    'sidecar.istio.io/status': '{"initContainers":["istio-init","istio-proxy"]}',
    'proxy.istio.io/overrides': '{"initContainers":[{"name":"istio-proxy","__proto__":{"polluted":"yes","securityContext":{"privileged":true}},"securityContext":{"__proto__":{"privileged":true}}}]}',
  },
  { 'apm.datadoghq.com/env': '{"__proto__":{"polluted":"yes"}}' },
  { 'k8s.v1.cni.cncf.io/networks': '[{"__proto__":{"polluted":"yes"},"name":"x"}]' },
  { 'prometheus.istio.io/scrape-targets': '__proto__', 'sidecar.istio.io/inject': '__proto__' },
];

function review(object: unknown, kind = 'Pod'): AdmissionReviewRequest {
  return validateAdmissionReview({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'pollution', kind: { group: kind === 'Pod' ? '' : 'apps', version: 'v1', kind }, operation: 'CREATE', namespace: 'default', object },
  });
}

describe('in process: nothing a request carries changes a prototype', () => {
  const profiles = [createRuntime(loadConfig({})), createRuntime(loadConfig({ profile: 'istio' })), createRuntime(loadConfig({ sets: ['values.pilot.cni.enabled=true'] }))];

  test('hostile keys in every part of a pod: the injector, the validator and the explainer', () => {
    for (const runtime of profiles) {
      const explainer = createExplainer(runtime.injector);
      for (const place of PLACES) {
        for (const fragment of HOSTILE) {
          const pod = podWith(place, fragment);
          const r = review(pod);
          const result = admit(runtime.injector, r);
          expect(result.decision, `${place} ${fragment}`).not.toBe('error');
          // An own `__proto__` key is data (the CLI may echo it back); it must never become an object's prototype.
          const outcome = runtime.injector.inject({ pod: pod as never });
          if (outcome.kind === 'injected') expectPlainPrototypes(outcome.pod, `${place} ${fragment}`);
          expect(validateAdmission(runtime.validator, r).error, `${place} ${fragment}`).toBeUndefined();
          explainer.explain(pod, { namespace: 'default' });
          // And wrapped in a Deployment, for the validator's workload rules.
          const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'default' }, spec: { template: pod } };
          expect(validateAdmission(runtime.validator, review(deployment, 'Deployment')).error).toBeUndefined();
          expectClean(`${place} ${fragment}`);
        }
      }
    }
  });

  test('hostile keys inside annotation values (JSON and YAML the injector parses)', () => {
    for (const runtime of profiles) {
      for (const annotations of ANNOTATIONS) {
        const pod = samplePod();
        pod.metadata = { ...pod.metadata, annotations };
        const r = review(JSON.parse(JSON.stringify(pod)));
        const result = admit(runtime.injector, r);
        expect(result.decision, JSON.stringify(annotations)).not.toBe('error');
        if (result.review.response.allowed === false) expect(result.review.response.status?.message).toMatch(/annotation/);
        const outcome = runtime.injector.inject({ pod: r.request.object as never });
        if (outcome.kind === 'injected') expectPlainPrototypes(outcome.pod, JSON.stringify(annotations));
        expect(validateAdmission(runtime.validator, r).error).toBeUndefined();
        expectClean(JSON.stringify(annotations));
      }
    }
  });

  test('a user istio-proxy override with __proto__ does not change the injected container', () => {
    for (const native of [true, false]) {
      const injector = createInjector(loadConfig({ nativeSidecars: native }));
      const sneaky = '{"securityContext": {"privileged": true, "runAsUser": 0}, "image": "evil.example/proxy:1", "polluted": "yes"}';
      const pod = JSON.parse(JSON.stringify(samplePod())) as { spec: { containers: unknown[] } };
      pod.spec.containers.push(JSON.parse(`{"name":"istio-proxy","image":"auto","__proto__":${sneaky},"securityContext":{"__proto__":${sneaky}}}`));
      const outcome = injector.inject({ pod: pod as never });
      expect(outcome.kind).toBe('injected');
      if (outcome.kind !== 'injected') return;
      expectPlainPrototypes(outcome.pod, 'istio-proxy override');
      const proxy = [...(outcome.pod.spec?.initContainers ?? []), ...(outcome.pod.spec?.containers ?? [])].find((c) => c.name === 'istio-proxy');
      expect(proxy?.securityContext?.privileged).toBe(false);
      expect(proxy?.securityContext?.runAsUser).toBe(1337);
      expect(proxy?.image).toMatch(/^europe-docker\.pkg\.dev\/kyma-project\/prod\/external\/istio\/proxyv2:/);
    }
  });

  test('the merge helpers skip __proto__ and constructor.prototype', () => {
    for (const fragment of HOSTILE.filter((f) => f.startsWith('{'))) {
      const overlay = parse(fragment) as JsonObject;
      expectPlainPrototypes(deepMerge({ a: 1 }, overlay), fragment);
      expectPlainPrototypes(deepMerge({ constructor: { prototype: {} } } as JsonObject, overlay), fragment);
      expectPlainPrototypes(strategicMerge({ a: 1 }, overlay as Record<string, unknown>), fragment);
      const containers = parse(`{"containers":[{"name":"a","__proto__":${fragment}}]}`) as Record<string, unknown>;
      expectPlainPrototypes(strategicMerge({ spec: { containers: [{ name: 'a' }] } }, { spec: containers }), fragment);
      expectClean(fragment);
    }
  });

  test('ProxyConfig YAML/JSON with __proto__ or constructor keys is refused or kept as data', () => {
    for (const text of [
      '__proto__: {polluted: yes}',
      'constructor: {prototype: {polluted: yes}}',
      'proxyMetadata: {__proto__: {polluted: yes}}',
      '{"__proto__": {"polluted": "yes"}}',
      'proxyMetadata:\n  <<: {polluted: yes}\n',
      'tracing: &a {__proto__: *a}',
    ]) {
      const parsed = parseProxyConfigAnnotation(text);
      if (typeof parsed !== 'string') expectPlainPrototypes(parsed, text);
      expectClean(text);
    }
    expect(parseProxyConfigAnnotation('tracing: &a {x: *a}')).toMatch(/recursive alias/);
  });

  test('webhook path parameters', () => {
    const params = parseInjectPath('/inject/__proto__/polluted/constructor/x/prototype/y/cluster/c1');
    expect(Object.getPrototypeOf(params)).toBe(Object.prototype);
    expect(Object.hasOwn(params, '__proto__')).toBe(false);
    expectClean('path parameters');
  });

  test('AdmissionReview bodies with hostile keys are refused before anything reads them', () => {
    for (const fragment of HOSTILE) {
      for (const body of [
        `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","__proto__":${fragment},"request":{"uid":"u"}}`,
        `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","object":{"metadata":{"__proto__":${fragment}}}}}`,
        `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","constructor":{"prototype":${fragment}}}}`,
        `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","object":{"spec":{"containers":[{"name":"a","\\u005f_proto__":${fragment}}]}}}}`,
      ]) {
        expect(() => parseAdmissionReview(body)).toThrow(/forbidden key at \$/);
        expectClean(body);
      }
    }
  });
});

describe('in process: configuration sources', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-pollution-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('--set paths through __proto__, constructor or prototype are refused', () => {
    for (const set of [
      '__proto__.polluted=yes',
      'values.__proto__.polluted=yes',
      'values.constructor.prototype.polluted=yes',
      'meshConfig.defaultConfig.__proto__.polluted=yes',
      'values.global.prototype=yes',
      'namespaceLabels.__proto__.polluted=yes',
    ]) {
      expect(() => loadConfig({ sets: [set] }), set).toThrow();
      expectClean(set);
    }
    // A hostile JSON value is data: merged keys are skipped, nothing leaks into a prototype.
    for (const set of ['values.global.proxy={"__proto__":{"polluted":"yes"}}', 'meshConfig={"constructor":{"prototype":{"polluted":"yes"}}}']) {
      try {
        loadConfig({ sets: [set] });
      } catch {
        // refused is fine too
      }
      expectClean(set);
    }
  });

  test('values, mesh and config files with __proto__ and constructor.prototype keys', async () => {
    const yamls = [
      '__proto__:\n  polluted: yes\n',
      'constructor:\n  prototype:\n    polluted: yes\n',
      'global:\n  __proto__:\n    polluted: yes\n  proxy:\n    constructor:\n      prototype:\n        polluted: yes\n',
      '{"__proto__": {"polluted": "yes"}, "global": {"hub": "docker.io/istio"}}',
      'a: &anchor {__proto__: {polluted: yes}}\nb: *anchor\n',
    ];
    let i = 0;
    for (const text of yamls) {
      const file = path.join(dir, `f${i++}.yaml`);
      await writeFile(file, text);
      for (const opts of [{ valuesFiles: [file] }, { meshFiles: [file] }, { configFile: file }]) {
        try {
          loadConfig(opts);
        } catch {
          // unknown keys in a config file are refused: fine
        }
        expectClean(`${JSON.stringify(opts)}: ${text}`);
      }
    }
    const config = path.join(dir, 'config.yaml');
    await writeFile(config, 'namespaceLabels:\n  __proto__:\n    polluted: yes\ninjectedAnnotations:\n  __proto__: yes\nvalues:\n  __proto__:\n    polluted: yes\n');
    try {
      loadConfig({ configFile: config });
    } catch {
      // refused is fine
    }
    expectClean('config file');
  });
});

describe('through the server', () => {
  let server: InProcessServer;
  beforeAll(async () => {
    server = await startInProcessServer(createRuntime(loadConfig({})));
  });
  afterAll(async () => {
    await server?.close();
  });

  test('bodies with __proto__ or constructor.prototype keys anywhere: 400 naming the path', async () => {
    for (const endpoint of ['/inject', '/validate']) {
      for (const place of PLACES.filter((p) => p !== 'labels' && p !== 'securityContext')) {
        const pod = podWith(place, HOSTILE[0] as string);
        const body = JSON.stringify(review(pod)).replace('"uid":"pollution"', '"uid":"pollution"');
        // JSON.stringify writes own __proto__ keys as text: the body carries them as a client would send them.
        expect(body).toMatch(/__proto__/);
        const res = await server.postJson(endpoint, body);
        expect(res.status, `${endpoint} ${place}`).toBe(400);
        expect(res.json).toEqual({ error: expect.stringMatching(/forbidden key at \$\.request\.object.*__proto__/) });
      }
      const ctor = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","object":{"spec":{"constructor":{"prototype":{"polluted":"yes"}}}}}}`;
      const res = await server.postJson(endpoint, ctor);
      expect(res.status).toBe(400);
      expect(res.json).toEqual({ error: expect.stringMatching(/forbidden key at \$\.request\.object\.spec\.constructor\.prototype/) });
    }
    expectClean('server bodies');
  });

  test('annotation values carrying hostile keys: a clean AdmissionReview, nothing polluted in the server process', async () => {
    for (const endpoint of ['/inject', '/validate']) {
      for (const annotations of ANNOTATIONS) {
        const pod = samplePod();
        pod.metadata = { ...pod.metadata, annotations };
        const res = await server.postJson(endpoint, review(pod));
        expect(res.status, JSON.stringify(annotations)).toBe(200);
        const answer = res.json as { kind: string; response: { uid: string; allowed: boolean; patch?: string; status?: { code?: number } } };
        expect(answer.kind).toBe('AdmissionReview');
        expect(answer.response.uid).toBe('pollution');
        expect(answer.response.status?.code).not.toBe(500);
      }
    }
    expectClean('server annotations');
  });

  test('checks ran', () => {
    console.log(`prototype pollution: Object.prototype and the other built-in prototypes checked unchanged ${checks} times`);
    expect(checks).toBeGreaterThan(100);
  });
});
