/**
 * `POST /inject`: an AdmissionReview in, the injector's answer out (src/admission/review.ts builds every answer), and
 * one log line per admission: uid, namespace, pod, workload, decision, reason, durationMs, and at debug level the
 * decision trace the injector carried in its outcome. The namespace and workload are the injector's (src/inject
 * podSubject when it did not run), the metrics label its typed rule or rejection category: nothing is worked out twice.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { describeLimitProblem, limitProblem } from '../../admission/limits.js';
import {
  admissionReviewJson,
  admit,
  injectionDeadlineAnswer,
  injectionLimitAnswer,
  notAPodReason,
  type AdmissionDecision,
  type AdmissionReviewRequest,
} from '../../admission/review.js';
import { compactTrace } from '../../explain/index.js';
import type { PodSubject } from '../../inject/api.js';
import type { DecisionTrace } from '../../inject/decision.js';
import { podSubject } from '../../inject/deployMeta.js';
import { elapsedMs } from '../hooks.js';
import { parseInjectPath } from '../params.js';
import { refuse } from '../replies.js';
import { rawTail } from '../routes.js';
import type { HandlerContext } from './context.js';
import { readReview } from './readReview.js';

/** What the log line says about the pod (never the pod itself). */
function podName(review: AdmissionReviewRequest): string | undefined {
  const meta = (review.request.object as { metadata?: { name?: unknown; generateName?: unknown } } | undefined)?.metadata;
  if (typeof meta !== 'object' || meta === null) return undefined;
  if (typeof meta.name === 'string' && meta.name) return meta.name;
  return typeof meta.generateName === 'string' ? meta.generateName : undefined;
}

function requestNamespace(review: AdmissionReviewRequest): string | undefined {
  return typeof review.request.namespace === 'string' ? review.request.namespace : undefined;
}

export function injectHandler(ctx: HandlerContext) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const parsed = readReview(request, reply);
    if ('refused' in parsed) return parsed.refused;
    const { review } = parsed;
    const debug = request.log.level === 'debug' || request.log.level === 'trace';

    /** The one log line of this admission (level error when the injector threw, with the error and its stack). */
    const log = (decision: AdmissionDecision, reason: string, subject: PodSubject, extra: { err?: unknown; trace?: DecisionTrace } = {}) => {
      const fields = {
        uid: review.request.uid,
        namespace: subject.namespace || undefined,
        pod: podName(review),
        ...(subject.workload !== undefined ? { workload: subject.workload } : {}),
        decision,
        reason,
        durationMs: elapsedMs(request, ctx.clock),
        ...(debug && extra.trace ? { trace: compactTrace(extra.trace) } : {}),
      };
      if (extra.err === undefined) request.log.info(fields, 'admission');
      else request.log.error({ ...fields, err: extra.err }, 'admission');
    };
    /** The subject of a pod the injector did not read (deadline, caps, not a Pod, it threw): the injector's own rule. */
    const unreadSubject = (): PodSubject => podSubject(review.request.object, requestNamespace(review)) ?? { namespace: requestNamespace(review) ?? '' };

    // Deadline passed before processing (src/server/hooks.ts checkDeadline): answering now beats a patch nobody
    // applies. With failurePolicy Fail a late answer rejects the pod anyway, so this only makes the reason explicit;
    // with Ignore a deliberate denial is the safe side (the pod is not created without its sidecar).
    const deadline = request.meshDeadline;
    if (deadline?.expired) {
      log('rejected', `request deadline (${deadline.timeout}) passed before processing`, unreadSubject());
      request.meshAdmission = { outcome: 'rejected', reason: 'deadlineExceeded' };
      return injectionDeadlineAnswer(review, deadline.timeout);
    }

    const runtime = ctx.runtime();
    if (runtime === undefined) return refuse(request, reply, 503, 'mesh-webhook is not ready: no injector configuration loaded');

    // A pod beyond the count caps is refused before anything reads it whole (the decision, the template, the patch).
    const over = parsed.over ?? (notAPodReason(review.request) === undefined ? limitProblem(review.request.object, runtime.limits) : undefined);
    if (over) {
      log('rejected', `limit exceeded: ${over.limit}`, unreadSubject());
      request.meshAdmission = { outcome: 'rejected', reason: 'limitExceeded' };
      return injectionLimitAnswer(review, over.limit, describeLimitProblem(over));
    }

    const result = admit(runtime.injector, review, parseInjectPath(`/inject${rawTail(request.url)}`), { trace: debug });
    log(result.decision, result.reason, result.subject ?? unreadSubject(), {
      ...(result.decision === 'error' ? { err: result.error } : {}),
      ...(result.trace ? { trace: result.trace } : {}),
    });
    request.meshAdmission =
      result.decision === 'injected' || result.decision === 'skipped'
        ? { outcome: result.decision, reason: result.rule ?? 'notAPod' }
        : { outcome: result.decision, reason: result.category ?? 'internalError' };
    return reply.type('application/json; charset=utf-8').send(admissionReviewJson(result.review));
  };
}
