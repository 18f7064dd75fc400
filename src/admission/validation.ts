/**
 * The validating admission answer (`POST /validate`): pure functions from an AdmissionReview and a Validator to the
 * AdmissionReview response, no I/O. The HTTP layer (src/server/handlers/validate.ts) parses the review and logs/counts the result.
 *
 * - DELETE and CONNECT: allowed, nothing checked.
 * - CREATE and UPDATE (dry runs too): `validator.validate(object, request.namespace)`, the mode from
 *   `validator.modeFor(namespace, labels)` (a Namespace object's own labels decide its mode), the answer per `verdict`:
 *   enforce with errors → `allowed: false`, status 403 with every finding; otherwise allowed with the warnings.
 *   Every validated answer carries the audit annotation `mesh-webhook/validation`.
 */
import type { ValidationMode } from '../config/types.js';
import { asString, isPlainObject } from '../util/json.js';
import type { Finding, Validator } from '../validate/index.js';
import { verdict } from '../validate/index.js';
import { buildAdmissionResponse, type AdmissionResponse, type AdmissionReviewRequest, type AdmissionReviewResponse } from './review.js';
import { ratchet } from '../validate/ratchet.js';

/** Audit annotation key carrying the validation summary (`<mode>: ok` or `<mode>: CODE(severity) path; ...`). */
export const VALIDATION_AUDIT_ANNOTATION = 'mesh-webhook/validation';

/** Operations that are checked; anything else (DELETE, CONNECT) is allowed unchecked. */
const CHECKED_OPERATIONS = new Set(['CREATE', 'UPDATE']);

type Obj = Record<string, unknown>;

/** Who the request is about, for the log line. */
export interface ValidationSubject {
  kind?: string;
  namespace?: string;
  name?: string;
}

export interface ValidationResult {
  review: AdmissionReviewResponse;
  /** The operation as sent (`CREATE`, `UPDATE`, `DELETE`, ...; empty when absent). */
  operation: string;
  subject: ValidationSubject;
  /** Whether the object was validated (CREATE/UPDATE with an object). */
  checked: boolean;
  /** The mode applied (only when checked). */
  mode?: ValidationMode;
  findings: Finding[];
  allowed: boolean;
  /** Why nothing was checked, or the internal error. */
  reason?: string;
  /** The validator's exception (a bug): logged, never sent. */
  error?: unknown;
}

function subjectOf(review: AdmissionReviewRequest): ValidationSubject {
  const request = review.request;
  const object = isPlainObject(request.object) ? request.object : isPlainObject(request.oldObject) ? request.oldObject : undefined;
  const meta = object && isPlainObject(object.metadata) ? object.metadata : {};
  const kind = asString(object?.kind) || (isPlainObject(request.kind) ? asString(request.kind.kind) : '');
  const namespace = asString(meta.namespace) || asString(request.namespace);
  const name = asString(meta.name) || asString(request.name) || asString(meta.generateName);
  return { ...(kind ? { kind } : {}), ...(namespace ? { namespace } : {}), ...(name ? { name } : {}) };
}

/** The namespace whose mode applies and the labels to read it from (a Namespace object's own labels). */
function modeScope(object: Obj, requestNamespace: string): { namespace: string; labels?: Record<string, string> } {
  const meta = isPlainObject(object.metadata) ? object.metadata : {};
  const apiVersion = asString(object.apiVersion);
  if (asString(object.kind) === 'Namespace' && (apiVersion === 'v1' || apiVersion === '')) {
    const labels: Record<string, string> = {};
    if (isPlainObject(meta.labels)) for (const [k, v] of Object.entries(meta.labels)) if (typeof v === 'string') labels[k] = v;
    return { namespace: asString(meta.name), labels };
  }
  return { namespace: asString(meta.namespace) || requestNamespace };
}

function withAudit(audit: string): Pick<AdmissionResponse, 'auditAnnotations'> {
  return { auditAnnotations: { [VALIDATION_AUDIT_ANNOTATION]: audit } };
}

/**
 * Answer one validated AdmissionReview sent to `/validate`. An exception from the validator is a bug: in enforce mode
 * the object is refused (`allowed: false`, code 500, the error message, never a stack), otherwise it is allowed with a
 * warning saying validation failed, so a validator bug never blocks a namespace that only asked for warnings.
 */
export function validateAdmission(validator: Validator, review: AdmissionReviewRequest): ValidationResult {
  const request = review.request;
  const operation = asString(request.operation);
  const subject = subjectOf(review);
  const unchecked = (reason: string): ValidationResult => ({
    review: buildAdmissionResponse(review, { allowed: true, ...withAudit(`skipped: ${reason}`) }),
    operation,
    subject,
    checked: false,
    findings: [],
    allowed: true,
    reason,
  });
  if (!CHECKED_OPERATIONS.has(operation)) return unchecked(operation ? `operation ${operation} is not validated` : 'request.operation is missing');
  const object = request.object;
  if (!isPlainObject(object)) return unchecked('request.object is missing');

  const requestNamespace = asString(request.namespace);
  let mode: ValidationMode = 'warn';
  try {
    const scope = modeScope(object, requestNamespace);
    mode = validator.modeFor(scope.namespace, scope.labels);
    let findings = validator.validate(object, requestNamespace || undefined);
    // An UPDATE is judged on what it changes: errors the old object already had do not deny (src/validate/ratchet.ts).
    if (operation === 'UPDATE' && isPlainObject(request.oldObject) && findings.some((f) => f.severity === 'error')) {
      findings = ratchet(findings, validator.validate(request.oldObject, requestNamespace || undefined));
    }
    const v = verdict(findings, mode);
    const response: Omit<AdmissionResponse, 'uid'> = v.allowed
      ? { allowed: true }
      : { allowed: false, status: { code: 403, message: v.message ?? 'mesh-webhook denied: validation failed' } };
    if (v.warnings.length > 0) response.warnings = v.warnings;
    Object.assign(response, withAudit(v.audit));
    return { review: buildAdmissionResponse(review, response), operation, subject, checked: true, mode, findings, allowed: v.allowed };
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    const message = `mesh-webhook: internal error while validating: ${detail}`;
    const allowed = mode !== 'enforce';
    const response: Omit<AdmissionResponse, 'uid'> = allowed
      ? { allowed: true, warnings: [message.slice(0, 256)] }
      : { allowed: false, status: { code: 500, message } };
    Object.assign(response, withAudit(`${mode}: error: ${detail}`));
    return { review: buildAdmissionResponse(review, response), operation, subject, checked: true, mode, findings: [], allowed, reason: `internal error: ${detail}`, error: err };
  }
}

/** The mode for a review that is answered without validating it (warn when even that cannot be told). */
function unvalidatedMode(validator: Validator, review: AdmissionReviewRequest): ValidationMode {
  const request = review.request;
  try {
    const scope = modeScope(isPlainObject(request.object) ? request.object : {}, asString(request.namespace));
    return validator.modeFor(scope.namespace, scope.labels);
  } catch {
    return 'warn';
  }
}

/**
 * The answer for an object beyond the count caps (src/admission/limits.ts), which is not validated: a CREATE in
 * enforce mode is denied with the problem (its pods would be refused by /inject anyway); anything else is allowed with
 * a warning, so an UPDATE of an object that is already stored (a scale, a rollout) is never blocked by a cap.
 */
export function validationLimitAnswer(validator: Validator, review: AdmissionReviewRequest, problem: string): ValidationResult {
  const request = review.request;
  const operation = asString(request.operation);
  const mode = unvalidatedMode(validator, review);
  const reason = `not validated: ${problem}`;
  const allowed = !(mode === 'enforce' && operation === 'CREATE');
  const response: Omit<AdmissionResponse, 'uid'> = allowed
    ? { allowed: true, warnings: [`mesh-webhook: ${reason}`.slice(0, 256)] }
    : { allowed: false, status: { code: 400, message: `mesh-webhook denied: ${problem}` } };
  Object.assign(response, withAudit(`${mode}: ${reason}`));
  return { review: buildAdmissionResponse(review, response), operation, subject: subjectOf(review), checked: false, mode, findings: [], allowed, reason };
}

/**
 * The answer when the request's deadline passed before it was processed: in enforce mode a denial asking to retry
 * (code 504, as /inject answers), in warn and audit mode allowed unchecked with a warning (validation must not block
 * there). The API server has probably stopped waiting anyway; this only makes the reason explicit.
 */
export function validationDeadlineAnswer(validator: Validator, review: AdmissionReviewRequest, timeout: string): ValidationResult {
  const request = review.request;
  const mode = unvalidatedMode(validator, review);
  const reason = `request deadline (${timeout}) passed before processing`;
  const message = `mesh-webhook: ${reason}; retry`;
  const allowed = mode !== 'enforce';
  const response: Omit<AdmissionResponse, 'uid'> = allowed
    ? { allowed: true, warnings: [`${message} (not validated)`] }
    : { allowed: false, status: { code: 504, message } };
  Object.assign(response, withAudit(`${mode}: not validated: ${reason}`));
  return { review: buildAdmissionResponse(review, response), operation: asString(request.operation), subject: subjectOf(review), checked: false, mode, findings: [], allowed, reason };
}
