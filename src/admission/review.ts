/**
 * AdmissionReview parsing, validation and response building: pure functions, no I/O.
 *
 * Everything that is a well-formed AdmissionReview gets an AdmissionReview back (HTTP 200), whatever the decision. A body
 * that is not one (not JSON, not an AdmissionReview, no `request`, no `request.uid`) is denied the way Istio's
 * serveInject denies a body it cannot decode (pkg/kube/inject/webhook.go, toAdmissionResponse): HTTP 200 with
 * `allowed: false` and the problem in `status.message` ({@link undecodableReviewDenial}), so the API server shows it to
 * the user. Only the defences stay HTTP 400 (`{ "error": message }`): an empty body, nesting beyond the depth limit and
 * prototype-poisoning keys are {@link AdmissionReviewError}s with `deniable` false.
 */
import type { InjectionOutcome, Injector, PodSubject, RejectionCategory } from '../inject/api.js';
import type { DecisionRule, DecisionTrace } from '../inject/decision.js';
import type { Pod } from '../k8s/types.js';
import { describeValue } from '../util/describeValue.js';
import { isPlainObject } from '../util/json.js';
import { inspectValue, MAX_JSON_DEPTH } from '../util/jsonDepth.js';
import { parseReviewSkippingManagedFields } from './managedFields.js';

export const ADMISSION_API_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const;
export type AdmissionApiVersion = (typeof ADMISSION_API_VERSIONS)[number];

/** Audit annotation key carrying the decision and its reason (`injected: …`, `skipped: …`). */
export const AUDIT_ANNOTATION = 'mesh-webhook/injection';

export interface GroupVersionKind {
  group?: string;
  version?: string;
  kind?: string;
}

export interface GroupVersionResource {
  group?: string;
  version?: string;
  resource?: string;
}

/** `AdmissionReview.request`: only `uid` is guaranteed after {@link validateAdmissionReview}. */
export interface AdmissionRequest {
  uid: string;
  kind?: GroupVersionKind;
  resource?: GroupVersionResource;
  subResource?: string;
  requestKind?: GroupVersionKind;
  requestResource?: GroupVersionResource;
  requestSubResource?: string;
  name?: string;
  namespace?: string;
  operation?: string;
  userInfo?: unknown;
  object?: unknown;
  oldObject?: unknown;
  dryRun?: boolean;
  options?: unknown;
  [key: string]: unknown;
}

export interface AdmissionReviewRequest {
  apiVersion: AdmissionApiVersion;
  kind: 'AdmissionReview';
  request: AdmissionRequest;
}

/** The `metav1.Status` of an answer: what the API server passes on to the client when the request is denied. */
export interface AdmissionResponseStatus {
  message: string;
  code?: number;
  status?: 'Failure';
  /** A StatusReason, e.g. TooManyRequests (the client then honours details.retryAfterSeconds). */
  reason?: string;
  details?: { retryAfterSeconds?: number };
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  /** base64 of the JSON text of an RFC 6902 patch. */
  patch?: string;
  status?: AdmissionResponseStatus;
  auditAnnotations?: Record<string, string>;
  warnings?: string[];
}

export interface AdmissionReviewResponse {
  apiVersion: AdmissionApiVersion;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/**
 * A request that is not an AdmissionReview we can process. `deniable` ones (bad JSON, not an AdmissionReview) are
 * answered with {@link undecodableReviewDenial}; the others (empty body, the JSON defences) with HTTP 400.
 */
export class AdmissionReviewError extends Error {
  readonly statusCode = 400;
  constructor(
    /** The offending field (`apiVersion`, `request.uid`, …), or `body` for the body as a whole. */
    readonly field: string,
    message: string,
    /** True when the body is answered with an AdmissionReview denial rather than an HTTP error. */
    readonly deniable = true,
  ) {
    super(message);
    this.name = 'AdmissionReviewError';
  }
}

// JSON.parse turns `"__proto__"` keys into own properties, harmless by themselves but a prototype-pollution
// vector for any later deep merge. Kubernetes objects never carry such keys, so a body with one is refused. The
// depth walk flags any object with an own `__proto__` or `constructor` key (however the text spelled it, escapes
// included: the keys are decoded); only then is the body searched for the path to name.
function findPoisonedKey(value: unknown, path: string, depth: number): string | undefined {
  if (depth > 512 || typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findPoisonedKey(value[i], `${path}[${i}]`, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  if (Object.hasOwn(value, '__proto__')) return `${path}.__proto__`;
  const ctor = (value as Record<string, unknown>)['constructor'];
  if (Object.hasOwn(value, 'constructor') && isPlainObject(ctor) && Object.hasOwn(ctor, 'prototype')) {
    return `${path}.constructor.prototype`;
  }
  for (const key of Object.keys(value)) {
    const found = findPoisonedKey((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}

export interface ParseOptions {
  /**
   * Leave the managedFields of `request.object` and `request.oldObject` unparsed (undefined): no rule of /inject or
   * /validate reads them, and they are often half of the body (src/admission/managedFields.ts). Not for /explain,
   * whose dry run shows the whole pod.
   */
  skipManagedFields?: boolean;
}

/** Parse a request body as JSON. Empty bodies, bad JSON and prototype-poisoning keys are {@link AdmissionReviewError}s. */
export function parseJsonBody(body: string | Uint8Array, options: ParseOptions = {}): unknown {
  const text = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  if (text.trim().length === 0) {
    throw new AdmissionReviewError('body', 'request body is empty; expected an AdmissionReview JSON object', false);
  }
  let value: unknown;
  try {
    value = options.skipManagedFields ? parseReviewSkippingManagedFields(text) : JSON.parse(text);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new AdmissionReviewError('body', `request body is not valid JSON: ${detail}`);
  }
  // Refused before anything recursive (JSON.stringify, merges, the patch builder) sees it. JSON.parse itself is
  // iterative, so the check can run on the parsed value, which is cheaper than scanning the text.
  const shape = inspectValue(value, MAX_JSON_DEPTH);
  if (shape.depth > MAX_JSON_DEPTH) {
    throw new AdmissionReviewError('body', `request body is nested deeper than ${MAX_JSON_DEPTH} levels; Kubernetes objects are not`, false);
  }
  if (shape.suspiciousKey) {
    const poisoned = findPoisonedKey(value, '$', 0);
    if (poisoned) throw new AdmissionReviewError('body', `request body contains a forbidden key at ${poisoned}`, false);
  }
  return value;
}

/** Check that a parsed body is an AdmissionReview request (v1 or v1beta1) with `request.uid`. */
export function validateAdmissionReview(value: unknown): AdmissionReviewRequest {
  if (!isPlainObject(value)) {
    throw new AdmissionReviewError('body', `request body must be an AdmissionReview JSON object, got ${describeValue(value)}`);
  }
  const { apiVersion, kind, request } = value;
  if (apiVersion === undefined) {
    throw new AdmissionReviewError(
      'apiVersion',
      `apiVersion is missing; expected one of ${ADMISSION_API_VERSIONS.join(', ')}`,
    );
  }
  if (typeof apiVersion !== 'string' || !(ADMISSION_API_VERSIONS as readonly string[]).includes(apiVersion)) {
    throw new AdmissionReviewError(
      'apiVersion',
      `apiVersion ${describeValue(apiVersion)} is not supported; expected one of ${ADMISSION_API_VERSIONS.join(', ')}`,
    );
  }
  if (kind === undefined) throw new AdmissionReviewError('kind', 'kind is missing; expected "AdmissionReview"');
  if (kind !== 'AdmissionReview') {
    throw new AdmissionReviewError('kind', `kind ${describeValue(kind)} is not supported; expected "AdmissionReview"`);
  }
  if (request === undefined || request === null) {
    throw new AdmissionReviewError('request', 'request is missing; an AdmissionReview sent to a webhook must carry request');
  }
  if (!isPlainObject(request)) throw new AdmissionReviewError('request', `request must be an object, got ${describeValue(request)}`);
  const uid = request['uid'];
  if (uid === undefined || uid === null) throw new AdmissionReviewError('request.uid', 'request.uid is missing');
  if (typeof uid !== 'string') {
    throw new AdmissionReviewError('request.uid', `request.uid must be a string, got ${describeValue(uid)}`);
  }
  if (uid.length === 0) throw new AdmissionReviewError('request.uid', 'request.uid must not be empty');
  return value as unknown as AdmissionReviewRequest;
}

/** {@link parseJsonBody} then {@link validateAdmissionReview}. */
export function parseAdmissionReview(body: string | Uint8Array): AdmissionReviewRequest {
  return validateAdmissionReview(parseJsonBody(body));
}

/**
 * The answer to a body that is not an AdmissionReview we can process: `allowed: false`, code 400 and the problem as
 * `status.message` (what the API server shows to the user), as Istio's serveInject answers a body it cannot decode.
 * The review's apiVersion and `request.uid` are echoed when the body has usable ones (the API server matches the
 * answer to its request by them); otherwise admission.k8s.io/v1 and an empty uid.
 */
export function undecodableReviewDenial(body: unknown, message: string): AdmissionReviewResponse {
  const record = isPlainObject(body) ? body : {};
  const apiVersion = (ADMISSION_API_VERSIONS as readonly unknown[]).includes(record['apiVersion'])
    ? (record['apiVersion'] as AdmissionApiVersion)
    : 'admission.k8s.io/v1';
  const request = record['request'];
  const uid = isPlainObject(request) && typeof request['uid'] === 'string' ? request['uid'] : '';
  return { apiVersion, kind: 'AdmissionReview', response: { uid, allowed: false, status: { message: `mesh-webhook: ${message}`, code: 400 } } };
}

/** A response AdmissionReview with the request's apiVersion/kind and uid. */
export function buildAdmissionResponse(
  review: Pick<AdmissionReviewRequest, 'apiVersion' | 'request'>,
  response: Omit<AdmissionResponse, 'uid'>,
): AdmissionReviewResponse {
  return { apiVersion: review.apiVersion, kind: 'AdmissionReview', response: { uid: review.request.uid, ...response } };
}

/**
 * The answer of `/inject` when the request's deadline (`?timeout=`) passed before it was processed: `allowed: false`,
 * code 504 and a message asking to retry (a late patch would not be applied anyway).
 */
export function injectionDeadlineAnswer(review: Pick<AdmissionReviewRequest, 'apiVersion' | 'request'>, timeout: string): AdmissionReviewResponse {
  return buildAdmissionResponse(review, {
    allowed: false,
    status: { message: `mesh-webhook: request deadline (${timeout}) passed before processing; retry`, code: 504 },
  });
}

/** The answer of `/inject` to a pod beyond the count caps (src/admission/limits.ts): `allowed: false`, code 400. */
export function injectionLimitAnswer(review: Pick<AdmissionReviewRequest, 'apiVersion' | 'request'>, limit: string, problem: string): AdmissionReviewResponse {
  return buildAdmissionResponse(review, {
    allowed: false,
    status: { message: `mesh-webhook: cannot inject: ${problem}`, code: 400 },
    auditAnnotations: { [AUDIT_ANNOTATION]: `rejected: limit exceeded: ${limit}` },
  });
}

/**
 * The answer of a shed `/inject` (src/server/overload.ts): `allowed: false`, code 429 TooManyRequests with
 * `retryAfterSeconds`, so the API server answers its client 429 with Retry-After and the pod is created on retry.
 */
export function overloadedAnswer(identity: { apiVersion: string; uid: string }, message: string, retryAfterSeconds: number): AdmissionReviewResponse {
  return buildAdmissionResponse(
    { apiVersion: identity.apiVersion as AdmissionApiVersion, request: { uid: identity.uid } },
    {
      allowed: false,
      status: { status: 'Failure', code: 429, reason: 'TooManyRequests', message, details: { retryAfterSeconds } },
      auditAnnotations: { [AUDIT_ANNOTATION]: 'rejected: overloaded' },
    },
  );
}

/**
 * The JSON text of a response AdmissionReview, as JSON.stringify would write it, without making JSON.stringify scan
 * the patch: the patch is base64 (no character needs escaping) and can be most of the answer.
 */
export function admissionReviewJson(review: AdmissionReviewResponse): string {
  const patch = review.response.patch;
  if (patch === undefined || patch.length < 256) return JSON.stringify(review);
  const text = JSON.stringify({ ...review, response: { ...review.response, patch: '' } });
  // The first `"patch":""` is the field itself: `uid` comes before it and any quote inside a string is escaped.
  const at = text.indexOf('"patch":""') + '"patch":"'.length;
  return `${text.slice(0, at)}${patch}${text.slice(at)}`;
}

/** The decision as logged: the outcome kinds, plus `error` when the injector threw. */
export type AdmissionDecision = InjectionOutcome['kind'] | 'error';

export interface AdmissionResult {
  review: AdmissionReviewResponse;
  decision: AdmissionDecision;
  reason: string;
  /** The injector's exception when `decision` is `error` (for the log; never sent to the client). */
  error?: unknown;
  /** The decision rule that decided (injected and skipped pods): a bounded value for metrics labels. */
  rule?: DecisionRule;
  /** Why the pod was rejected (`rejected`), or `internalError` (`error`): a bounded value for metrics labels. */
  category?: RejectionCategory | 'internalError';
  /** The pod's namespace and workload as the injector resolved them (absent when it did not read the pod). */
  subject?: PodSubject;
  /** The decision trace, when asked for (`admit(..., { trace: true })`) and the injector got as far as the decision. */
  trace?: DecisionTrace;
}

function formatGvk(gvk: GroupVersionKind): string {
  const apiVersion = gvk.group ? `${gvk.group}/${gvk.version ?? ''}` : (gvk.version ?? '');
  return [apiVersion, gvk.kind ?? '<no kind>'].filter((s) => s.length > 0).join(' ');
}

/** Why the request's object is not a Pod we can inject, or undefined when it is one. */
export function notAPodReason(request: AdmissionRequest): string | undefined {
  const gvk = request.kind;
  if (isPlainObject(gvk)) {
    const kind = gvk['kind'];
    const group = gvk['group'] ?? '';
    if (kind !== undefined && (kind !== 'Pod' || group !== '')) return formatGvk(gvk as GroupVersionKind);
  }
  const object = request.object;
  if (object === undefined || object === null) return 'request.object is missing';
  if (!isPlainObject(object)) return `request.object is ${describeValue(object)}`;
  const objectKind = object['kind'];
  if (objectKind !== undefined && objectKind !== 'Pod') {
    const apiVersion = typeof object['apiVersion'] === 'string' ? `${object['apiVersion']} ` : '';
    return `${apiVersion}${String(objectKind)}`;
  }
  return undefined;
}

/** Map an injection outcome to the AdmissionReview answer (see docs/http-interface.md). */
export function outcomeToResponse(review: AdmissionReviewRequest, outcome: InjectionOutcome): AdmissionReviewResponse {
  switch (outcome.kind) {
    case 'injected':
      return buildAdmissionResponse(review, {
        allowed: true,
        patchType: 'JSONPatch',
        patch: Buffer.from(JSON.stringify(outcome.patch()), 'utf8').toString('base64'),
        auditAnnotations: { [AUDIT_ANNOTATION]: `injected: ${outcome.reason}` },
      });
    case 'skipped':
      return buildAdmissionResponse(review, {
        allowed: true,
        auditAnnotations: { [AUDIT_ANNOTATION]: `skipped: ${outcome.reason}` },
      });
    case 'rejected':
      return buildAdmissionResponse(review, {
        allowed: false,
        status: { message: outcome.message, code: 400 },
        auditAnnotations: { [AUDIT_ANNOTATION]: `rejected: ${outcome.reason}` },
      });
  }
}

/**
 * Answer one validated AdmissionReview: objects that are not Pods are allowed untouched; Pods go through the injector.
 * An exception from the injector is a bug, not the caller's fault: it is answered with `allowed: false`, code 500 and
 * the error message (never a stack), so the pod is refused with a readable reason instead of an opaque HTTP 500.
 */
export function admit(injector: Injector, review: AdmissionReviewRequest, pathParams?: Record<string, string>, options: { trace?: boolean } = {}): AdmissionResult {
  const request = review.request;
  const notPod = notAPodReason(request);
  if (notPod !== undefined) {
    const reason = `object is not a Pod (${notPod})`;
    return {
      decision: 'skipped',
      reason,
      review: buildAdmissionResponse(review, { allowed: true, auditAnnotations: { [AUDIT_ANNOTATION]: `skipped: ${reason}` } }),
    };
  }
  try {
    const outcome = injector.inject({
      pod: request.object as Pod,
      ...(typeof request.namespace === 'string' && request.namespace !== '' ? { namespace: request.namespace } : {}),
      ...(pathParams && Object.keys(pathParams).length > 0 ? { pathParams } : {}),
      ...(options.trace ? { trace: true } : {}),
    });
    const answer = outcomeToResponse(review, outcome);
    const subject = { ...(outcome.subject ? { subject: outcome.subject } : {}), ...(outcome.trace ? { trace: outcome.trace } : {}) };
    if (outcome.kind === 'rejected') return { decision: 'rejected', reason: outcome.reason, category: outcome.category, review: answer, ...subject };
    return { decision: outcome.kind, reason: outcome.reason, review: answer, ...(outcome.rule ? { rule: outcome.rule } : {}), ...subject };
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return {
      decision: 'error',
      reason: `internal error: ${detail}`,
      category: 'internalError',
      error: err,
      review: buildAdmissionResponse(review, {
        allowed: false,
        status: { message: `mesh-webhook: internal error while injecting the sidecar: ${detail}`, code: 500 },
      }),
    };
  }
}
