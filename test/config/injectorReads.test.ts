/**
 * The list of `values`/`meshConfig` keys the injector reads (src/config/injectorReads.ts) decides which keys are
 * reported as having no effect. This compiles a configuration and injects and validates pods while recording every
 * key read under `values` and `meshConfig`: a read of a key not in the list fails.
 */
import { describe, expect, it } from 'vitest';
import { INJECTOR_READS } from '../../src/config/injectorReads.js';
import { checkIstioKeys } from '../../src/config/istioKeys.js';
import { loadConfig } from '../../src/config/load.js';
import type { InjectorConfig } from '../../src/config/types.js';
import type { JsonObject, Pod } from '../../src/k8s/types.js';
import { createRuntime } from '../../src/server/runtime.js';

/** `node` wrapped so that every property read (get, has, own descriptor) below it is recorded as a dotted path. */
function recording(node: JsonObject, path: string, reads: Set<string>): JsonObject {
  // A listed key is read with everything below it: handed out as it is (structuredClone cannot copy a Proxy).
  const child = (key: string, value: unknown): unknown => {
    const at = `${path}.${key}`;
    if (value === null || typeof value !== 'object' || Array.isArray(value) || INJECTOR_READS.includes(at)) return value;
    return recording(value as JsonObject, at, reads);
  };
  return new Proxy(node, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof key !== 'string') return value;
      reads.add(`${path}.${key}`);
      return child(key, value);
    },
    has(target, key) {
      if (typeof key === 'string') reads.add(`${path}.${key}`);
      return Reflect.has(target, key);
    },
    getOwnPropertyDescriptor(target, key) {
      const descriptor = Reflect.getOwnPropertyDescriptor(target, key);
      if (typeof key === 'string') {
        reads.add(`${path}.${key}`);
        if (descriptor && 'value' in descriptor) return { ...descriptor, value: child(key, descriptor.value) };
      }
      return descriptor;
    },
  });
}

/** Whether `path` is a listed key, below one, or a map on the way to one. */
const listed = (path: string) =>
  INJECTOR_READS.some((read) => path === read || path.startsWith(`${read}.`) || read.startsWith(`${path}.`));

const pod: Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'app', namespace: 'default', annotations: { 'sidecar.istio.io/rewriteAppHTTPProbers': 'true' } },
  spec: {
    containers: [
      {
        name: 'app',
        image: 'docker.io/library/nginx:1.27',
        ports: [{ containerPort: 8080 }],
        readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
      },
    ],
  },
};

function recordReads(config: InjectorConfig): Set<string> {
  const reads = new Set<string>();
  const watched: InjectorConfig = {
    ...config,
    values: recording(config.values, 'values', reads),
    meshConfig: recording(config.meshConfig, 'meshConfig', reads),
  };
  const runtime = createRuntime(watched);
  const outcome = runtime.injector.inject({ pod: structuredClone(pod), namespace: 'default' });
  expect(outcome.kind).toBe('injected');
  if (outcome.kind === 'injected') outcome.patch();
  runtime.validator.validate(structuredClone(pod), 'default');
  return reads;
}

describe('the keys the injector reads', () => {
  it.each(['kyma', 'istio'] as const)('are all in INJECTOR_READS (profile %s, with CNI, tracing and a lifecycle set)', (profile) => {
    const config = loadConfig({
      profile,
      sets: [
        'values.pilot.cni.enabled=true',
        'values.global.proxy.lifecycle={"preStop":{"exec":{"command":["sleep","5"]}}}',
        'values.global.proxy.tracer=zipkin',
        'values.pilot.env.ENABLE_CLUSTER_TRUST_BUNDLE_API=true',
      ],
    });
    const reads = recordReads(config);
    expect(reads.size).toBeGreaterThan(40);
    expect([...reads].filter((path) => !listed(path))).toEqual([]);
  });

  it('records a read that is not listed (the recorder can fail the test above)', () => {
    const reads = new Set<string>();
    const values = recording({ global: { hub: 'x' } }, 'values', reads);
    void (values.global as JsonObject).hubb;
    expect([...reads].filter((path) => !listed(path))).toEqual(['values.global.hubb']);
  });

  it('lists only keys Istio knows', () => {
    for (const read of INJECTOR_READS) {
      const [section, ...rest] = read.split('.');
      const tree: JsonObject = {};
      let node = tree;
      for (const key of rest.slice(0, -1)) node = (node[key] = {}) as JsonObject;
      node[rest[rest.length - 1] as string] = 'x';
      expect(() => checkIstioKeys(section as 'values' | 'meshConfig', tree), read).not.toThrow();
    }
  });
});
