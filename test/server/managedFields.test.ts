import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseReviewSkippingManagedFields } from '../../src/admission/managedFields.js';
import { parseJsonBody } from '../../src/admission/review.js';

type Obj = Record<string, unknown>;

/**
 * The two managedFields lists the skipping parse may leave undefined, made undefined: what it gives must equal
 * JSON.parse in every other value (it skips them, or parses the whole text when it cannot tell which key is which).
 */
function withoutLists(parsed: unknown): unknown {
  const value = parsed as Obj;
  const request = value?.request as Obj | undefined;
  for (const field of ['object', 'oldObject']) {
    const meta = (request?.[field] as Obj | undefined)?.metadata as Obj | undefined;
    if (meta && Array.isArray(meta.managedFields)) meta.managedFields = undefined;
  }
  return value;
}

const expected = (text: string): unknown => withoutLists(JSON.parse(text));
const skipping = (text: string): unknown => withoutLists(parseReviewSkippingManagedFields(text));

const managedFields = [
  { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {} } } } } },
];

function review(extra: { object?: Obj; oldObject?: Obj | null; userInfo?: Obj } = {}): Obj {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'u-1',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      namespace: 'shop',
      operation: 'CREATE',
      userInfo: extra.userInfo ?? { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      object: extra.object ?? { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', managedFields }, spec: { containers: [{ name: 'app', image: 'app:1' }] } },
      oldObject: extra.oldObject ?? null,
    },
  };
}

describe('parsing an AdmissionReview without its managedFields', () => {
  it('leaves the object and old object managedFields undefined and parses everything else as JSON.parse', () => {
    const withOld = review({ oldObject: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', managedFields, labels: { a: 'b' } }, spec: {} } });
    for (const body of [review(), withOld]) {
      const text = JSON.stringify(body);
      const parsed = parseReviewSkippingManagedFields(text) as { request: { object: { metadata: Obj } } };
      expect(parsed).toEqual(expected(text));
      expect(parsed.request.object.metadata.managedFields).toBeUndefined();
      expect(Object.keys(parsed.request.object.metadata)).toContain('name');
    }
  });

  it('parses the whole text when a managedFields key is somewhere else, however it is spelled', () => {
    const tricky = [
      review({ userInfo: { username: 'u', extra: { managedFields: ['x'] } } }),
      review({ object: { metadata: { name: 'p', annotations: { note: '"managedFields":[1,2]' } }, spec: {} } }),
      review({ object: { metadata: { name: 'p', annotations: { 'a\\': 'x' } }, spec: { managedFields: [{ a: 1 }] } } }),
      review({ object: { metadata: { name: 'p', managedFields: 'not a list' }, spec: {} } }),
    ];
    for (const body of tricky) {
      const text = JSON.stringify(body);
      expect(skipping(text)).toEqual(expected(text));
    }
    // Duplicate keys: JSON.parse keeps the last; so does the skipping parse (it falls back).
    const duplicate = JSON.stringify(review()).replace('"managedFields":', '"managedFields":[{"a":"]"}],"managedFields":');
    expect(skipping(duplicate)).toEqual(expected(duplicate));
    const lastIsText = JSON.stringify(review()).replace(/"managedFields":(\[.*?\]\}\}\}\])/, '"managedFields":$1,"managedFields":"t"');
    expect(skipping(lastIsText)).toEqual(expected(lastIsText));
  });

  it('throws what JSON.parse throws for text that is not JSON', () => {
    for (const text of ['{"request":{"object":{"metadata":{"managedFields":[', '{"managedFields":[1]', 'nope']) {
      expect(() => parseReviewSkippingManagedFields(text)).toThrow(SyntaxError);
    }
  });

  it('agrees with JSON.parse on generated reviews, with keys and strings that spell managedFields', () => {
    const awkward = fc.oneof(fc.string(), fc.constantFrom('managedFields', '"managedFields":[', '\\', '\\"', '"]}', '{"', 'k:{"name":"a"}'));
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, awkward, fc.integer(), fc.constant(null), fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(awkward, tie('value'), { maxKeys: 3 })),
    })).value;
    const metadata = fc.record({ name: fc.string(), managedFields: fc.option(fc.array(json, { maxLength: 3 }), { nil: undefined }), labels: fc.dictionary(awkward, fc.string()) }, { requiredKeys: ['name'] });
    const body = fc.record({
      object: fc.record({ metadata, spec: json }),
      oldObject: fc.option(fc.record({ metadata }), { nil: null }),
      userInfo: fc.record({ username: fc.string(), extra: fc.dictionary(awkward, fc.array(fc.string(), { maxLength: 2 })) }),
    });
    const spacing = fc.constantFrom(undefined, 1, '\t');
    fc.assert(
      fc.property(body, spacing, (parts, space) => {
        const text = JSON.stringify(review(parts as never), null, space);
        expect(skipping(text)).toEqual(expected(text));
      }),
      { numRuns: 400 },
    );
  });

  it('gives the bench bodies JSON.parse gives, without their managedFields', () => {
    for (const name of ['small', 'medium', 'large', 'validate']) {
      const text = readFileSync(new URL(`../../bench/fixtures/${name}.json`, import.meta.url), 'utf8');
      expect(parseJsonBody(text, { skipManagedFields: true })).toEqual(expected(text));
      if (text.includes('managedFields')) expect((parseJsonBody(text, { skipManagedFields: true }) as { request: { object: { metadata: Obj } } }).request.object.metadata.managedFields).toBeUndefined();
    }
  });

  it('still refuses prototype-poisoning keys and deep nesting outside the skipped lists', () => {
    const poisoned = JSON.stringify(review()).replace('"name":"p"', '"name":"p","__proto__":{"x":1}');
    expect(() => parseJsonBody(poisoned, { skipManagedFields: true })).toThrow(/forbidden key at \$\.request\.object\.metadata\.__proto__/);
    const deep = JSON.stringify(review()).replace('"name":"p"', `"name":"p","x":${'['.repeat(200)}${']'.repeat(200)}`);
    expect(() => parseJsonBody(deep, { skipManagedFields: true })).toThrow(/nested deeper than/);
  });
});
