/**
 * `POST /validate`: an AdmissionReview in, the validator's answer out (src/admission/validation.ts builds every
 * answer: checked, deadline passed, over the count caps), its findings counted, and one log line per review: uid,
 * operation, kind, namespace/name, mode, finding codes, allowed, durationMs (level error when the validator threw).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { describeLimitProblem, limitProblem } from '../../admission/limits.js';
import { validateAdmission, validationDeadlineAnswer, validationLimitAnswer } from '../../admission/validation.js';
import { recordValidation } from '../../metrics.js';
import { elapsedMs } from '../hooks.js';
import { refuse } from '../replies.js';
import type { HandlerContext } from './context.js';
import { readReview } from './readReview.js';

export function validateHandler(ctx: HandlerContext) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const parsed = readReview(request, reply);
    if ('refused' in parsed) return parsed.refused;
    const { review } = parsed;
    const runtime = ctx.runtime();
    if (runtime === undefined) return refuse(request, reply, 503, 'mesh-webhook is not ready: no configuration loaded');

    // Same deadline rule as /inject (src/server/hooks.ts checkDeadline). An object beyond the count caps is not
    // validated (src/admission/validation.ts says what is answered then).
    const expired = request.meshDeadline?.expired === true;
    const over = expired ? undefined : (parsed.over ?? limitProblem(review.request.object, runtime.limits));
    const result = expired
      ? validationDeadlineAnswer(runtime.validator, review, request.meshDeadline!.timeout)
      : over
        ? validationLimitAnswer(runtime.validator, review, describeLimitProblem(over))
        : validateAdmission(runtime.validator, review);

    if (result.checked && result.mode !== undefined && ctx.metrics) recordValidation(ctx.metrics, result.mode, result.allowed, result.findings);
    request.meshAdmission = {
      outcome: result.error !== undefined ? 'error' : result.allowed ? 'allowed' : 'denied',
      reason: expired ? 'deadlineExceeded' : over ? 'limitExceeded' : result.checked && result.mode !== undefined ? result.mode : 'notChecked',
    };
    const fields = {
      uid: review.request.uid,
      operation: result.operation || undefined,
      kind: result.subject.kind,
      namespace: result.subject.namespace,
      name: result.subject.name,
      ...(review.request.dryRun === true ? { dryRun: true } : {}),
      mode: result.mode,
      findings: result.findings.map((f) => f.code),
      allowed: result.allowed,
      ...(result.reason !== undefined ? { reason: result.reason } : {}),
      durationMs: elapsedMs(request, ctx.clock),
    };
    if (result.error === undefined) request.log.info(fields, 'validation');
    else request.log.error({ ...fields, err: result.error }, 'validation');
    return result.review;
  };
}
