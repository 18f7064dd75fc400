/**
 * The AdmissionReview of an /inject or /validate request, or the answer already sent when there is none: 415 (not
 * JSON), 400 (empty), 413 (over the token limit with no identity to answer), or, for a body that is not an
 * AdmissionReview we can process, a denial with an AdmissionReview (HTTP 200, `allowed: false`, the problem in
 * `status.message`) that the API server shows to the user, as Istio's serveInject answers a body it cannot decode.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { describeLimitProblem, type LimitProblem } from '../../admission/limits.js';
import {
  AdmissionReviewError,
  undecodableReviewDenial,
  validateAdmissionReview,
  type AdmissionApiVersion,
  type AdmissionReviewRequest,
} from '../../admission/review.js';
import { UndecodableBody, UnparsedBody } from '../body.js';
import { isJson, pathOf, refuse, unsupportedMediaType } from '../replies.js';
import { endpointOf } from '../routes.js';

/** A review to process (`over`: its body was over the token limit, only its identity is known), or the answer sent. */
export type ReadReview = { review: AdmissionReviewRequest; over?: LimitProblem } | { refused: FastifyReply };

export function readReview(request: FastifyRequest, reply: FastifyReply): ReadReview {
  if (!isJson(request)) return { refused: refuse(request, reply, 415, unsupportedMediaType(request)) };
  if (request.body === undefined) {
    return { refused: refuse(request, reply, 400, 'request body is empty; expected an AdmissionReview JSON object') };
  }
  if (request.body instanceof UnparsedBody) {
    const { problem, identity } = request.body;
    if (identity === undefined) {
      return { refused: refuse(request, reply, 413, `${describeLimitProblem(problem)}; nor does it start with an AdmissionReview's apiVersion and request.uid`) };
    }
    const { apiVersion, uid, namespace, operation } = identity;
    const partial = { uid, ...(namespace !== undefined ? { namespace } : {}), ...(operation !== undefined ? { operation } : {}) };
    return { review: { apiVersion: apiVersion as AdmissionApiVersion, kind: 'AdmissionReview', request: partial }, over: problem };
  }
  const deny = (message: string): ReadReview => {
    request.meshAdmission = { outcome: endpointOf(request) === 'validate' ? 'denied' : 'rejected', reason: 'invalidReview' };
    request.log.info({ statusCode: 200, path: pathOf(request.url), allowed: false, error: message }, 'invalid review denied');
    return { refused: reply.code(200).send(undecodableReviewDenial(request.body, message)) };
  };
  if (request.body instanceof UndecodableBody) return deny(request.body.message);
  try {
    return { review: validateAdmissionReview(request.body) };
  } catch (err) {
    if (err instanceof AdmissionReviewError) return deny(err.message);
    throw err;
  }
}
