/**
 * JSON Pointer escaping in the injector's JSON Patch (src/inject/patch.ts, RFC 6901: `~` is written `~0` and `/` is
 * written `~1`, in that order). The patch only names keys the injection changed, so the keys under test are put where
 * the injection writes them:
 * - `injectedAnnotations` of the configuration: every key is added to (or replaces the value in) the pod's annotations;
 * - prometheus.io annotation variants spelt with `~` and `/` (`prometheus~io/port`): the metrics merge removes them;
 * - the pod also carries labels and annotations with the same hostile keys that the injection leaves alone (the patch
 *   must not touch them).
 * Each pod goes through the real HTTPS webhook (answer patch applied with fast-json-patch to the pod we sent) and
 * through `createInjector` in process (its `patch()` applied to the original pod); both must give the injector's pod.
 */
import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { profileConfig } from '../../src/config/profiles.js';
import type { InjectorConfig } from '../../src/config/types.js';
import { createInjector } from '../../src/inject/index.js';
import { createRuntime } from '../../src/server/runtime.js';
import type { Pod } from '../../src/k8s/types.js';
import { startTestServer, type TestServer } from '../helpers/https.js';
import { admitPod, appPod } from './review.js';

/** Keys whose pointers go wrong with any mistake in the escaping (`~1` unescaped reads back as `/`, and so on). */
const HOSTILE_KEYS = ['a~b', 'a/b', 'a~1b', 'a~0b', 'x/~y', '~', '/', '~~1', '~0~1', 'example.com/a~1b~0c'];

/** The same keys as injectedAnnotations: the injector writes every one into the pod's annotations. */
const INJECTED: Record<string, string> = Object.fromEntries(HOSTILE_KEYS.map((k) => [`inj.${k}`, `injected ${k}`]));
for (const k of HOSTILE_KEYS) INJECTED[k] = `injected ${k}`;

function config(profile: 'kyma' | 'istio'): InjectorConfig {
  return { ...profileConfig(profile), injectedAnnotations: { ...INJECTED } };
}

/** A pod with the hostile keys as labels and annotations (values the injection replaces for the annotations). */
function hostilePod(): Pod {
  const labels: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  for (const k of HOSTILE_KEYS) {
    labels[k] = `label ${k}`;
    annotations[k] = `user ${k}`; // replaced by injectedAnnotations
    annotations[`keep.${k}`] = `kept ${k}`; // left alone
  }
  // Spellings of prometheus.io/{scrape,port,path} the metrics merge recognises (any non-alphanumeric separator) and
  // removes, so their pointers appear in `remove` operations.
  annotations['prometheus~io/scrape'] = 'true';
  annotations['prometheus/io~port'] = '8080';
  annotations['prometheus~io~path'] = '/metrics';
  return appPod({ labels, annotations });
}

/** What the injector itself made of the pod (JSON round trip: the wire form, without undefined fields). */
function injectedPod(profile: 'kyma' | 'istio', pod: Pod): Pod {
  const outcome = createInjector(config(profile)).inject({ pod: structuredClone(pod), namespace: 'default' });
  if (outcome.kind !== 'injected') throw new Error(`expected injected, got ${outcome.kind}: ${outcome.reason}`);
  return JSON.parse(JSON.stringify(outcome.pod)) as Pod;
}

const servers: Partial<Record<'kyma' | 'istio', TestServer>> = {};
beforeAll(async () => {
  servers.kyma = await startTestServer(createRuntime(config('kyma')));
  servers.istio = await startTestServer(createRuntime(config('istio')));
});
afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s.close()));
});

describe.each(['kyma', 'istio'] as const)('%s profile: hostile keys in the patch', (profile) => {
  it('through the HTTPS webhook: the patch applied to the pod gives the injector pod', async () => {
    const pod = hostilePod();
    const answer = await admitPod(servers[profile]!, pod);
    expect(answer.allowed).toBe(true);
    expect(answer.pod).toEqual(injectedPod(profile, pod));

    const annotations = answer.pod.metadata!.annotations!;
    const labels = answer.pod.metadata!.labels!;
    for (const k of HOSTILE_KEYS) {
      expect(annotations[k], k).toBe(`injected ${k}`);
      expect(annotations[`inj.${k}`], `inj.${k}`).toBe(`injected ${k}`);
      expect(annotations[`keep.${k}`], `keep.${k}`).toBe(`kept ${k}`);
      expect(labels[k], `label ${k}`).toBe(`label ${k}`);
    }
    // No key the patch invented by reading a pointer the wrong way round (`a~1b` read as `a/b`, ...).
    const expectedAnnotationKeys = new Set([...Object.keys(hostilePod().metadata!.annotations!), ...Object.keys(INJECTED)]);
    for (const k of Object.keys(annotations)) {
      if (!expectedAnnotationKeys.has(k)) expect(k, 'an annotation the injector adds').toMatch(/^(sidecar\.istio\.io\/status|prometheus\.io\/(port|path|scrape)|istio\.io\/rev|kubectl\.kubernetes\.io\/default-(logs-)?container)$/);
    }
  });

  it('the pointers are escaped as RFC 6901 says (literal expectations)', async () => {
    const answer = await admitPod(servers[profile]!, hostilePod());
    const paths = new Set(answer.patch!.map((op) => op.path));
    for (const [key, pointer] of [
      ['a~b', 'a~0b'],
      ['a/b', 'a~1b'],
      ['a~1b', 'a~01b'],
      ['a~0b', 'a~00b'],
      ['x/~y', 'x~1~0y'],
      ['~', '~0'],
      ['/', '~1'],
      ['~~1', '~0~01'],
      ['~0~1', '~00~01'],
      ['example.com/a~1b~0c', 'example.com~1a~01b~00c'],
    ] as const) {
      expect(paths, `replace of annotation ${key}`).toContain(`/metadata/annotations/${pointer}`);
      expect(paths, `add of annotation inj.${key}`).toContain(`/metadata/annotations/inj.${pointer}`);
    }
    expect(answer.patch).toContainEqual({ op: 'replace', path: '/metadata/annotations/a~01b', value: 'injected a~1b' });
    expect(answer.patch).toContainEqual({ op: 'add', path: '/metadata/annotations/inj.~0', value: 'injected ~' });
    if (profile === 'istio') {
      // Metrics merge (on in the istio profile, off in kyma): the odd spellings are removed.
      expect(answer.patch).toContainEqual({ op: 'remove', path: '/metadata/annotations/prometheus~0io~1scrape' });
      expect(answer.patch).toContainEqual({ op: 'remove', path: '/metadata/annotations/prometheus~1io~0port' });
      expect(answer.patch).toContainEqual({ op: 'remove', path: '/metadata/annotations/prometheus~0io~0path' });
    }
    // Labels the injection does not touch are not named at all.
    for (const op of answer.patch!) expect(op.path.startsWith('/metadata/labels/a')).toBe(false);
  });

  it('in process: createInjector(...).inject() patch() applied to the original gives its pod', () => {
    const pod = hostilePod();
    const outcome = createInjector(config(profile)).inject({ pod, namespace: 'default' });
    if (outcome.kind !== 'injected') throw new Error(outcome.kind);
    const patched = jsonpatch.applyPatch(structuredClone(pod), outcome.patch() as jsonpatch.Operation[], true, false).newDocument;
    expect(patched).toEqual(JSON.parse(JSON.stringify(outcome.pod)));
  });
});

describe('round trip over arbitrary keys (fast-check)', () => {
  // Keys from an alphabet rich in what escaping can get wrong, and any string at all.
  const trickyKey = fc.string({ unit: fc.constantFrom('~', '/', '0', '1', 'a', '.', '-'), minLength: 1, maxLength: 8 });
  const anyKey = fc.string({ minLength: 1, maxLength: 12 });
  const key = fc.oneof(trickyKey, anyKey).filter((k) => k !== '__proto__' && k !== 'constructor' && k !== 'prototype');
  const map = fc.dictionary(key, fc.string({ maxLength: 6 }), { maxKeys: 6 });

  it('pod labels/annotations and injectedAnnotations with arbitrary keys: patch(original) == injected pod', () => {
    const injectors = new Map<string, ReturnType<typeof createInjector>>();
    fc.assert(
      fc.property(map, map, map, fc.constantFrom('kyma' as const, 'istio' as const), (labels, annotations, injected, profile) => {
        // Keys that are Istio annotations would change what is injected (or be refused): not what this is about.
        const clean = (m: Record<string, string>) => Object.fromEntries(Object.entries(m).filter(([k]) => !/istio|prometheus|kubernetes\.io/.test(k)));
        const pod = appPod({ labels: clean(labels), annotations: clean(annotations) });
        const cacheKey = `${profile}:${JSON.stringify(clean(injected))}`;
        let injector = injectors.get(cacheKey);
        if (!injector) {
          injector = createInjector({ ...profileConfig(profile), injectedAnnotations: clean(injected) });
          injectors.set(cacheKey, injector);
        }
        const outcome = injector.inject({ pod: structuredClone(pod), namespace: 'default' });
        if (outcome.kind !== 'injected') return false;
        const patched = jsonpatch.applyPatch(structuredClone(pod), outcome.patch() as jsonpatch.Operation[], true, false).newDocument;
        expect(patched).toEqual(JSON.parse(JSON.stringify(outcome.pod)));
        return true;
      }),
      { numRuns: 300 },
    );
  });

  it('keys the injection overwrites: each pointer reads back as its own key', () => {
    fc.assert(
      fc.property(fc.uniqueArray(key, { minLength: 1, maxLength: 5 }), (keys) => {
        const user = Object.fromEntries(keys.map((k) => [k, 'user']));
        const injected = Object.fromEntries(keys.map((k) => [k, 'mesh']));
        const pod = appPod({ annotations: user });
        const outcome = createInjector({ ...profileConfig('kyma'), injectedAnnotations: injected }).inject({ pod: structuredClone(pod), namespace: 'default' });
        if (outcome.kind !== 'injected') throw new Error(outcome.kind);
        const ops = outcome.patch();
        for (const k of keys) {
          // One replace per key, its pointer decoded the RFC 6901 way ('~1' → '/', then '~0' → '~') is the key.
          const op = ops.find((o) => o.op === 'replace' && o.path.startsWith('/metadata/annotations/') && decodeSegment(o.path.slice('/metadata/annotations/'.length)) === k);
          expect(op, `replace for ${JSON.stringify(k)}`).toBeDefined();
          expect(op!.path.slice('/metadata/annotations/'.length)).toBe(k.replace(/~/g, '~0').replace(/\//g, '~1'));
        }
        const patched = jsonpatch.applyPatch(structuredClone(pod), ops as jsonpatch.Operation[], true, false).newDocument;
        for (const k of keys) expect(patched.metadata!.annotations![k]).toBe('mesh');
      }),
      { numRuns: 200 },
    );
  });
});

/** RFC 6901 section 4: decode one reference token. */
function decodeSegment(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}
