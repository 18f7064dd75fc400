/**
 * buildPatch (src/inject/patch.ts) on its own: the exact RFC 6902 operations for small inputs (written literally: the
 * smallest patch, in the documented order — removals of a map's keys, then its additions and changes; lists matched
 * element by element, named elements by name), and a round-trip property with fast-check: the patch applied to the
 * original (fast-json-patch, operations validated) gives the updated document.
 */
import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { buildPatch, escapePointer } from '../../src/inject/patch.js';

describe('escapePointer', () => {
  it.each([
    ['plain', 'plain'],
    ['a/b', 'a~1b'],
    ['a~b', 'a~0b'],
    ['~1', '~01'],
    ['/~', '~1~0'],
    ['~', '~0'],
    ['//~~', '~1~1~0~0'],
    ['', ''],
  ])('%j → %j', (key, pointer) => {
    expect(escapePointer(key)).toBe(pointer);
  });
});

describe('buildPatch: the operations', () => {
  it('nothing changed: no operations (same object, or an equal copy)', () => {
    const pod = { metadata: { name: 'a', labels: { x: '1' } }, spec: { containers: [{ name: 'c', image: 'i' }] } };
    expect(buildPatch(pod, pod)).toEqual([]);
    expect(buildPatch(pod, structuredClone(pod))).toEqual([]);
  });

  it('maps: add, replace, remove, nested, in that order (removals first)', () => {
    expect(buildPatch({ a: 1 }, { a: 2 })).toEqual([{ op: 'replace', path: '/a', value: 2 }]);
    expect(buildPatch({ a: 1 }, { a: 1, b: { c: 2 } })).toEqual([{ op: 'add', path: '/b', value: { c: 2 } }]);
    expect(buildPatch({ a: 1, b: 2 }, { a: 1 })).toEqual([{ op: 'remove', path: '/b' }]);
    expect(buildPatch({ m: { x: { y: 1, z: 1 } } }, { m: { x: { y: 2, z: 1 } } })).toEqual([{ op: 'replace', path: '/m/x/y', value: 2 }]);
    expect(buildPatch({ a: 1, b: 2 }, { c: 3, b: 4 })).toEqual([
      { op: 'remove', path: '/a' },
      { op: 'add', path: '/c', value: 3 },
      { op: 'replace', path: '/b', value: 4 },
    ]);
  });

  it('undefined values are absent keys', () => {
    expect(buildPatch({ a: 1, b: undefined }, { a: 1 })).toEqual([]);
    expect(buildPatch({ a: 1 }, { a: 1, b: undefined })).toEqual([]);
    expect(buildPatch({ a: 1 }, { a: undefined })).toEqual([{ op: 'remove', path: '/a' }]);
  });

  it('a value of another type is replaced whole', () => {
    expect(buildPatch({ a: { x: 1 } }, { a: [1] })).toEqual([{ op: 'replace', path: '/a', value: [1] }]);
    expect(buildPatch({ a: [1] }, { a: { x: 1 } })).toEqual([{ op: 'replace', path: '/a', value: { x: 1 } }]);
    expect(buildPatch({ a: 's' }, { a: {} })).toEqual([{ op: 'replace', path: '/a', value: {} }]);
    expect(buildPatch({ a: null }, { a: {} })).toEqual([{ op: 'replace', path: '/a', value: {} }]);
    expect(buildPatch({ a: 1 }, { a: null })).toEqual([{ op: 'replace', path: '/a', value: null }]);
    expect(buildPatch({ a: 1 }, { a: '1' })).toEqual([{ op: 'replace', path: '/a', value: '1' }]);
    expect(buildPatch(1, 2)).toEqual([{ op: 'replace', path: '', value: 2 }]);
    expect(buildPatch({ a: 1 }, [1])).toEqual([{ op: 'replace', path: '', value: [1] }]);
  });

  it('keys are escaped in the pointers (RFC 6901)', () => {
    expect(buildPatch({ 'a/b': { 'c~d': 1 } }, { 'a/b': { 'c~d': 2 } })).toEqual([{ op: 'replace', path: '/a~1b/c~0d', value: 2 }]);
    expect(buildPatch({}, { '~1': 1 })).toEqual([{ op: 'add', path: '/~01', value: 1 }]);
    expect(buildPatch({ '~0/': 1 }, {})).toEqual([{ op: 'remove', path: '/~00~1' }]);
  });

  it('lists: elements appended or inserted are added at their index', () => {
    expect(buildPatch({ c: [{ name: 'a' }] }, { c: [{ name: 'a' }, { name: 'b' }] })).toEqual([{ op: 'add', path: '/c/1', value: { name: 'b' } }]);
    expect(buildPatch({ c: [{ name: 'a' }] }, { c: [{ name: 'z' }, { name: 'a' }] })).toEqual([{ op: 'add', path: '/c/0', value: { name: 'z' } }]);
    expect(buildPatch({ c: [{ name: 'a' }, { name: 'b' }] }, { c: [{ name: 'a' }, { name: 'x' }, { name: 'b' }, { name: 'y' }] })).toEqual([
      { op: 'add', path: '/c/1', value: { name: 'x' } },
      { op: 'add', path: '/c/3', value: { name: 'y' } },
    ]);
    expect(buildPatch({ c: [1, 2] }, { c: [1, 2, 3] })).toEqual([{ op: 'add', path: '/c/2', value: 3 }]);
  });

  it('lists: an element with the same name is patched in place', () => {
    expect(buildPatch({ c: [{ name: 'a', v: 1 }] }, { c: [{ name: 'a', v: 2 }] })).toEqual([{ op: 'replace', path: '/c/0/v', value: 2 }]);
    expect(buildPatch({ c: [{ name: 'a' }, { name: 'b', env: [{ name: 'X', value: '1' }] }] }, { c: [{ name: 'a' }, { name: 'b', env: [{ name: 'X', value: '1' }, { name: 'Y', value: '2' }] }] })).toEqual([
      { op: 'add', path: '/c/1/env/1', value: { name: 'Y', value: '2' } },
    ]);
  });

  it('lists: an element removed or replaced by another makes the list replaced whole', () => {
    expect(buildPatch({ c: [{ name: 'a' }, { name: 'b' }] }, { c: [{ name: 'b' }] })).toEqual([{ op: 'replace', path: '/c', value: [{ name: 'b' }] }]);
    expect(buildPatch({ c: [1, 2] }, { c: [2] })).toEqual([{ op: 'replace', path: '/c', value: [2] }]);
    expect(buildPatch({ c: [1, 2] }, { c: [1, 3] })).toEqual([{ op: 'replace', path: '/c', value: [1, 3] }]);
    expect(buildPatch({ c: [{ name: 'a' }] }, { c: [{ name: 'b' }] })).toEqual([{ op: 'replace', path: '/c', value: [{ name: 'b' }] }]);
    // Elements without a name are only the same element when identical.
    expect(buildPatch({ c: [{ v: 1 }] }, { c: [{ v: 2 }] })).toEqual([{ op: 'replace', path: '/c', value: [{ v: 2 }] }]);
    expect(buildPatch({ c: [{ name: 1, v: 1 }] }, { c: [{ name: 1, v: 2 }] })).toEqual([{ op: 'replace', path: '/c', value: [{ name: 1, v: 2 }] }]);
    // null and primitive elements next to named ones are compared without reading a name from them.
    expect(buildPatch({ c: [{ name: 'a' }] }, { c: [null] })).toEqual([{ op: 'replace', path: '/c', value: [null] }]);
    expect(buildPatch({ c: [null] }, { c: [{ name: 'a' }] })).toEqual([{ op: 'replace', path: '/c', value: [{ name: 'a' }] }]);
    expect(buildPatch({ c: [{ name: 'a' }] }, { c: ['a'] })).toEqual([{ op: 'replace', path: '/c', value: ['a'] }]);
  });

  it('untouched subtrees (same object) are not walked at all (copy-on-write)', () => {
    // A subtree that throws when read: buildPatch must skip it because it is the same object on both sides.
    const untouchable = new Proxy(
      {},
      {
        get: () => {
          throw new Error('walked an untouched subtree');
        },
        ownKeys: () => {
          throw new Error('walked an untouched subtree');
        },
      },
    );
    const list = [untouchable];
    expect(buildPatch({ s: untouchable, l: list, x: 1 }, { s: untouchable, l: list, x: 2 })).toEqual([{ op: 'replace', path: '/x', value: 2 }]);
    expect(buildPatch({ l: [untouchable] }, { l: [untouchable, 1] })).toEqual([{ op: 'add', path: '/l/1', value: 1 }]);
  });
});

describe('buildPatch: round trip (fast-check)', () => {
  const key = fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('a', 'b', 'name', '~', '/', '~1', 'a/b')).filter((k) => k !== '__proto__');
  const leaf = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom('x', 'y', '', null, true, false));
  const named = fc.record({ name: fc.constantFrom('a', 'b', 'c', 'd'), v: leaf });
  const value = fc.letrec<{ tree: unknown }>((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small' },
      leaf,
      fc.array(named, { maxLength: 4 }),
      fc.array(tie('tree'), { maxLength: 3 }),
      fc.dictionary(key, tie('tree'), { maxKeys: 4 }),
    ),
  })).tree;
  const doc = fc.dictionary(key, value, { maxKeys: 5 });

  /** An edit of `d`: some keys dropped, changed or added, recursively; untouched parts keep their identity. */
  function edit(d: unknown, rnd: () => number, fresh: () => unknown): unknown {
    if (Array.isArray(d)) {
      const out = d.filter(() => rnd() > 0.15).map((x) => (rnd() < 0.3 ? edit(x, rnd, fresh) : x));
      if (rnd() < 0.3) out.splice(Math.floor(rnd() * (out.length + 1)), 0, fresh());
      return out;
    }
    if (typeof d === 'object' && d !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(d)) {
        const r = rnd();
        if (r < 0.1) continue;
        out[k] = r < 0.4 ? edit(v, rnd, fresh) : v;
      }
      if (rnd() < 0.3) out[`k${Math.floor(rnd() * 3)}`] = fresh();
      return out;
    }
    return rnd() < 0.5 ? fresh() : d;
  }

  it('independent documents: patch(original) == updated', () => {
    fc.assert(
      fc.property(doc, doc, (a, b) => {
        const ops = buildPatch(a, b) as jsonpatch.Operation[];
        const applied = jsonpatch.applyPatch(structuredClone(a), ops, true, false).newDocument;
        expect(applied).toEqual(b);
      }),
      { numRuns: 500 },
    );
  });

  it('edits that share the untouched parts (as the injector makes them): patch(original) == updated', () => {
    fc.assert(
      fc.property(doc, fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), { minLength: 64, maxLength: 64 }), value, (a, randoms, freshValue) => {
        let i = 0;
        const rnd = () => randoms[i++ % randoms.length]!;
        const b = edit(a, rnd, () => structuredClone(freshValue));
        const ops = buildPatch(a, b) as jsonpatch.Operation[];
        const applied = jsonpatch.applyPatch(structuredClone(a), ops, true, false).newDocument;
        expect(applied).toEqual(b);
      }),
      { numRuns: 500 },
    );
  });
});
