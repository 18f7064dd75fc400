/**
 * `POST /explain` (served only with `explain: true`): the decision trace of a posted AdmissionReview (its
 * request.object), Pod or workload, as JSON; one log line per explanation (kind, namespace/name, decision, outcome,
 * durationMs). Bad input is a 400 naming what is wrong.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { describeLimitProblem, limitProblem } from '../../admission/limits.js';
import { AdmissionReviewError, validateAdmissionReview } from '../../admission/review.js';
import { isPlainObject } from '../../util/json.js';
import { UnparsedBody } from '../body.js';
import { elapsedMs } from '../hooks.js';
import { isJson, refuse, unsupportedMediaType } from '../replies.js';
import type { HandlerContext } from './context.js';

/** The object to explain and, for an AdmissionReview, its uid and namespace; or the 400 message. */
function subjectOf(body: unknown): { object: unknown; uid?: string; namespace?: string } | { problem: string } {
  if (body instanceof UnparsedBody) return { problem: `cannot explain: ${describeLimitProblem(body.problem)}` };
  if (!isPlainObject(body)) return { problem: 'request body must be an AdmissionReview, a Pod or a workload (a JSON object)' };
  if (body['kind'] !== 'AdmissionReview') return { object: body };
  try {
    const { request } = validateAdmissionReview(body);
    const namespace = typeof request.namespace === 'string' && request.namespace !== '' ? request.namespace : undefined;
    return { object: request.object, uid: request.uid, ...(namespace !== undefined ? { namespace } : {}) };
  } catch (err) {
    if (err instanceof AdmissionReviewError) return { problem: err.message };
    throw err;
  }
}

export function explainHandler(ctx: HandlerContext) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!isJson(request)) return refuse(request, reply, 415, unsupportedMediaType(request));
    const subject = subjectOf(request.body);
    if ('problem' in subject) return refuse(request, reply, 400, subject.problem);
    const runtime = ctx.runtime();
    if (runtime === undefined) return refuse(request, reply, 503, 'mesh-webhook is not ready: no configuration loaded');
    const over = limitProblem(subject.object, runtime.limits);
    if (over) return refuse(request, reply, 400, `cannot explain: ${describeLimitProblem(over)}`);
    const explanation = runtime.explainer.explain(subject.object, subject.namespace !== undefined ? { namespace: subject.namespace } : {});
    if (explanation === undefined) {
      return refuse(request, reply, 400, 'the object is not a Pod or a workload with a pod template (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, ...)');
    }
    request.meshAdmission = { outcome: 'explained', reason: explanation.decision.rule };
    request.log.info(
      {
        ...(subject.uid !== undefined ? { uid: subject.uid } : {}),
        kind: explanation.kind,
        namespace: explanation.namespace,
        name: explanation.name,
        decision: explanation.decision.inject ? 'inject' : 'skip',
        rule: explanation.decision.rule,
        outcome: explanation.injector.outcome,
        durationMs: elapsedMs(request, ctx.clock),
      },
      'explanation',
    );
    return explanation;
  };
}
