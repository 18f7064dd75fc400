/**
 * Unit tests of the AdmissionReview mapping with hand-written outcomes (the HTTP tests in server.test.ts use the real
 * injector; these pin the exact response shape for each outcome kind).
 */
import { describe, expect, test } from 'vitest';
import {
  AUDIT_ANNOTATION,
  AdmissionReviewError,
  admissionReviewJson,
  admit,
  notAPodReason,
  outcomeToResponse,
  parseAdmissionReview,
  parseJsonBody,
  validateAdmissionReview,
} from '../../src/admission/review.js';
import { sampleAdmissionReview, samplePod } from '../../src/admission/sample.js';
import type { InjectionOutcome, InjectionRequest, Injector } from '../../src/inject/api.js';
import { profileConfig } from '../../src/config/profiles.js';
import { MAX_JSON_DEPTH, jsonDepth, valueDepth } from '../../src/util/jsonDepth.js';

function fieldOf(fn: () => unknown): { field: string; message: string } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AdmissionReviewError);
    const e = err as AdmissionReviewError;
    expect(e.statusCode).toBe(400);
    return { field: e.field, message: e.message };
  }
  throw new Error('expected an AdmissionReviewError');
}

describe('parseJsonBody', () => {
  test('parses JSON from a string or bytes', () => {
    expect(parseJsonBody('{"a":1}')).toEqual({ a: 1 });
    expect(parseJsonBody(Buffer.from('[1,2]'))).toEqual([1, 2]);
  });

  test('empty and whitespace bodies', () => {
    expect(fieldOf(() => parseJsonBody('')).message).toMatch(/empty/);
    expect(fieldOf(() => parseJsonBody(' \n')).message).toMatch(/empty/);
  });

  test('bad JSON', () => {
    const { field, message } = fieldOf(() => parseJsonBody('{"apiVersion":'));
    expect(field).toBe('body');
    expect(message).toMatch(/^request body is not valid JSON: /);
  });

  test('bad JSON is answered with a denial; an empty body and the defences are HTTP errors', () => {
    const deniable = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return (err as AdmissionReviewError).deniable;
      }
      throw new Error('expected an AdmissionReviewError');
    };
    expect(deniable(() => parseJsonBody('{"apiVersion":'))).toBe(true);
    expect(deniable(() => parseAdmissionReview('null'))).toBe(true);
    expect(deniable(() => parseJsonBody(''))).toBe(false);
    expect(deniable(() => parseJsonBody('{"__proto__":{}}'))).toBe(false);
    expect(deniable(() => parseJsonBody('['.repeat(200) + ']'.repeat(200)))).toBe(false);
  });

  test('prototype poisoning keys are refused, also escaped and nested', () => {
    expect(fieldOf(() => parseJsonBody('{"a":{"__proto__":{"x":1}}}')).message).toMatch(/\$\.a\.__proto__/);
    expect(fieldOf(() => parseJsonBody('{"\\u005f_proto__":{}}')).message).toMatch(/__proto__/);
    expect(fieldOf(() => parseJsonBody('[{"constructor":{"prototype":{}}}]')).message).toMatch(/constructor\.prototype/);
    expect(parseJsonBody('{"constructor":"fine","note":"\\u00e9"}')).toEqual({ constructor: 'fine', note: 'é' });
  });
});

describe('nesting depth', () => {
  const nested = (levels: number, open: string, close: string) => `${open.repeat(levels)}1${close.repeat(levels)}`;

  test('bodies nested deeper than the limit are refused after an iterative parse, even a million levels deep', () => {
    expect(fieldOf(() => parseJsonBody(nested(MAX_JSON_DEPTH + 1, '[', ']'))).message).toBe(
      `request body is nested deeper than ${MAX_JSON_DEPTH} levels; Kubernetes objects are not`,
    );
    expect(fieldOf(() => parseJsonBody(nested(1_000_000, '{"a":', '}'))).message).toMatch(/nested deeper than/);
    expect(parseJsonBody(nested(MAX_JSON_DEPTH, '[', ']'))).toBeInstanceOf(Array);
  });

  test('valueDepth of a parsed value agrees with jsonDepth of its text', () => {
    const texts = ['1', '"[[["', '{}', '[]', '[[],[[]]]', '{"a":[{"b":{}}],"c":"{{{"}', nested(40, '{"x":[', ']}'), nested(MAX_JSON_DEPTH + 5, '[', ']')];
    for (const text of texts) expect(valueDepth(JSON.parse(text)), text.slice(0, 20)).toBe(jsonDepth(text));
  });
});

describe('admissionReviewJson', () => {
  test('writes exactly what JSON.stringify writes, whatever the uid and the patch size', () => {
    const base = { apiVersion: 'admission.k8s.io/v1' as const, kind: 'AdmissionReview' as const };
    const patch = Buffer.from(JSON.stringify([{ op: 'add', path: '/x', value: 'y'.repeat(2000) }])).toString('base64');
    const uids = ['u1', '"patch":""', 'a\\"patch":"" \u2028 é', ''];
    for (const uid of uids) {
      for (const response of [
        { uid, allowed: true, patchType: 'JSONPatch' as const, patch, auditAnnotations: { 'mesh-webhook/injection': 'injected: "patch":""' } },
        { uid, allowed: true, patchType: 'JSONPatch' as const, patch: 'W10=' },
        { uid, allowed: false, status: { message: 'no', code: 400 } },
      ]) {
        const review = { ...base, response };
        expect(admissionReviewJson(review)).toBe(JSON.stringify(review));
      }
    }
  });
});

describe('validateAdmissionReview', () => {
  const ok = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u1' } };

  test('accepts v1 and v1beta1', () => {
    expect(validateAdmissionReview(ok).request.uid).toBe('u1');
    expect(validateAdmissionReview({ ...ok, apiVersion: 'admission.k8s.io/v1beta1' }).apiVersion).toBe('admission.k8s.io/v1beta1');
  });

  test.each([
    [[], 'body', /AdmissionReview JSON object, got a list/],
    ['x', 'body', /got "x"/],
    [{ ...ok, apiVersion: undefined }, 'apiVersion', /apiVersion is missing/],
    [{ ...ok, apiVersion: 'admission.k8s.io/v2' }, 'apiVersion', /apiVersion "admission\.k8s\.io\/v2" is not supported/],
    [{ ...ok, apiVersion: 1 }, 'apiVersion', /apiVersion number 1 is not supported/],
    [{ ...ok, kind: undefined }, 'kind', /kind is missing/],
    [{ ...ok, kind: 'Pod' }, 'kind', /kind "Pod" is not supported/],
    [{ ...ok, request: undefined }, 'request', /request is missing/],
    [{ ...ok, request: null }, 'request', /request is missing/],
    [{ ...ok, request: 'x' }, 'request', /request must be an object/],
    [{ ...ok, request: {} }, 'request.uid', /request\.uid is missing/],
    [{ ...ok, request: { uid: 42 } }, 'request.uid', /request\.uid must be a string, got number 42/],
    [{ ...ok, request: { uid: '' } }, 'request.uid', /must not be empty/],
  ] as const)('%j → error on %s', (value, field, message) => {
    const err = fieldOf(() => validateAdmissionReview(value));
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
  });

  test('parseAdmissionReview = parse + validate', () => {
    expect(parseAdmissionReview(JSON.stringify(ok)).request.uid).toBe('u1');
    expect(fieldOf(() => parseAdmissionReview('{"kind":"AdmissionReview"}')).field).toBe('apiVersion');
  });
});

describe('outcomeToResponse', () => {
  const review = sampleAdmissionReview({ apiVersion: 'admission.k8s.io/v1beta1', uid: 'uid-42' });

  test('injected → JSONPatch, base64 of the patch JSON, audit annotation', () => {
    const patch = [{ op: 'add' as const, path: '/metadata/labels/x', value: 'y' }];
    const out = outcomeToResponse(review, { kind: 'injected', reason: 'namespace default', pod: samplePod(), patch: () => patch });
    expect(out.apiVersion).toBe('admission.k8s.io/v1beta1');
    expect(out.kind).toBe('AdmissionReview');
    expect(out.response).toEqual({
      uid: 'uid-42',
      allowed: true,
      patchType: 'JSONPatch',
      patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
      auditAnnotations: { [AUDIT_ANNOTATION]: 'injected: namespace default' },
    });
  });

  test('skipped → allowed, no patch', () => {
    const out = outcomeToResponse(review, { kind: 'skipped', reason: 'hostNetwork' });
    expect(out.response).toEqual({ uid: 'uid-42', allowed: true, auditAnnotations: { [AUDIT_ANNOTATION]: 'skipped: hostNetwork' } });
  });

  test('rejected → not allowed, status 400 with the core message', () => {
    const out = outcomeToResponse(review, { kind: 'rejected', reason: 'bad annotation', category: 'invalidAnnotation', message: "invalid value 'X' for annotation 'a'" });
    expect(out.response.allowed).toBe(false);
    expect(out.response.status).toEqual({ message: "invalid value 'X' for annotation 'a'", code: 400 });
    expect(out.response.patch).toBeUndefined();
  });
});

describe('admit', () => {
  function recordingInjector(outcome: InjectionOutcome): { injector: Injector; calls: InjectionRequest[] } {
    const calls: InjectionRequest[] = [];
    return {
      calls,
      injector: {
        config: profileConfig('kyma'),
        inject: (r) => {
          calls.push(r);
          return outcome;
        },
      },
    };
  }

  test('passes the pod, request.namespace and path params to the injector', () => {
    const { injector, calls } = recordingInjector({ kind: 'skipped', reason: 'r' });
    const review = sampleAdmissionReview({ namespace: 'shop' });
    const result = admit(injector, review, { cluster: 'c1' });
    expect(result.decision).toBe('skipped');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toEqual({ pod: review.request.object, namespace: 'shop', pathParams: { cluster: 'c1' } });
  });

  test.each([
    [{ group: 'apps', version: 'v1', kind: 'Deployment' }, 'object is not a Pod (apps/v1 Deployment)'],
    [{ group: '', version: 'v1', kind: 'Service' }, 'object is not a Pod (v1 Service)'],
    [{ group: 'example.com', version: 'v1', kind: 'Pod' }, 'object is not a Pod (example.com/v1 Pod)'],
  ])('request.kind %j is not injected', (kind, reason) => {
    const { injector, calls } = recordingInjector({ kind: 'skipped', reason: 'unused' });
    const review = sampleAdmissionReview();
    review.request.kind = kind;
    const result = admit(injector, review);
    expect(calls).toHaveLength(0);
    expect(result.review.response).toEqual({ uid: review.request.uid, allowed: true, auditAnnotations: { [AUDIT_ANNOTATION]: `skipped: ${reason}` } });
  });

  test('missing or non-object request.object is not injected', () => {
    const review = sampleAdmissionReview();
    delete review.request.object;
    expect(notAPodReason(review.request)).toBe('request.object is missing');
    review.request.object = [1];
    expect(notAPodReason(review.request)).toBe('request.object is a list');
    review.request.object = { apiVersion: 'apps/v1', kind: 'Deployment' };
    delete review.request.kind;
    expect(notAPodReason(review.request)).toBe('apps/v1 Deployment');
    review.request.object = samplePod();
    expect(notAPodReason(review.request)).toBeUndefined();
  });

  test('an exception in the injector becomes allowed: false, code 500, with no stack', () => {
    const injector: Injector = {
      config: profileConfig('kyma'),
      inject: () => {
        throw new Error('boom');
      },
    };
    const result = admit(injector, sampleAdmissionReview());
    expect(result.decision).toBe('error');
    expect(result.review.response.allowed).toBe(false);
    expect(result.review.response.status).toEqual({ message: 'mesh-webhook: internal error while injecting the sidecar: boom', code: 500 });
    expect(JSON.stringify(result.review)).not.toMatch(/at .*\.ts:\d+/);
  });
});
