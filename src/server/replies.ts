/**
 * The HTTP answers that are not AdmissionReviews: `{ "error": "<message>" }` with a 4xx (or a bare 500), one log line
 * each, one wording per problem. Every route and hook refuses through {@link refuse}; Fastify's own errors are mapped by
 * {@link classifyError}. Never HTML, never a stack trace.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AdmissionReviewError } from '../admission/review.js';

/** Body limit of everything but the admission routes (theirs: src/server/routes.ts BODY_LIMITS). */
export const OTHER_BODY_LIMIT = 64 * 1024;

/** The URL path without query string. */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** The media type of a Content-Type header (parameters such as charset dropped), lower case. */
export function mediaTypeOf(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  return value.split(';', 1)[0]?.trim().toLowerCase();
}

/** True when the request's Content-Type is application/json (what every POST route takes). */
export function isJson(request: FastifyRequest): boolean {
  return mediaTypeOf(request.headers['content-type']) === 'application/json';
}

/** The 415 message, one wording for every endpoint. */
export function unsupportedMediaType(request: FastifyRequest): string {
  const ct = request.headers['content-type'];
  return `Content-Type must be application/json, got ${ct === undefined ? 'none' : JSON.stringify(ct)}`;
}

/** Answer `status` with `{ error: message }` and log it as a refused request. */
export function refuse(request: FastifyRequest, reply: FastifyReply, status: number, message: string): FastifyReply {
  request.log.info({ statusCode: status, method: request.method, path: pathOf(request.url), error: message }, 'request refused');
  return reply.code(status).type('application/json; charset=utf-8').send({ error: message });
}

/** Map any error reaching Fastify's error handler to a status and a client-safe message. */
export function classifyError(err: unknown, request: FastifyRequest): { status: number; message: string } {
  if (err instanceof AdmissionReviewError) return { status: 400, message: err.message };
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; statusCode?: unknown; message?: unknown };
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, message: unsupportedMediaType(request) };
    case 'FST_ERR_CTP_BODY_TOO_LARGE': {
      const limit = request.routeOptions.bodyLimit ?? OTHER_BODY_LIMIT;
      return { status: 413, message: `request body is larger than the limit of ${limit} bytes of ${request.routeOptions.url ?? 'this path'}` };
    }
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, message: 'request body length does not match the Content-Length header' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, message: 'request body is empty; expected an AdmissionReview JSON object' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, message: 'request body is not valid JSON' };
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    return { status, message: typeof e.message === 'string' && e.message ? e.message : 'bad request' };
  }
  return { status: 500, message: 'internal server error' };
}

/** The error handler of the server: a 4xx refused, anything else a logged 500 with no detail. */
export function answerError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, message } = classifyError(err, request);
  if (status >= 500) {
    request.log.error({ err, method: request.method, path: pathOf(request.url) }, 'unexpected error');
    return reply.code(500).type('application/json; charset=utf-8').send({ error: message });
  }
  return refuse(request, reply, status, message);
}

/**
 * Resolves once the rest of a request body has been read and discarded (true), or false when it is not worth reading:
 * larger than `limit` (by Content-Length, or once that much has arrived), or the connection failed. An answer sent
 * before the body was read, on a connection that then closes (`Connection: close`, shutdown), would otherwise reset a
 * client that is still sending, and the client would see a failed call instead of the answer.
 */
export function drainBody(raw: IncomingMessage, limit: number): Promise<boolean> {
  if (raw.complete || raw.readableEnded) return Promise.resolve(true);
  const declared = Number(raw.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(false);
  return new Promise((resolve) => {
    let seen = 0;
    const finish = (ok: boolean) => {
      raw.removeListener('data', onData);
      raw.removeListener('end', onEnd);
      raw.removeListener('error', onFail);
      raw.removeListener('close', onClose);
      resolve(ok);
    };
    const onData = (chunk: Buffer | string) => {
      seen += chunk.length;
      if (seen > limit) finish(false);
    };
    const onEnd = () => finish(true);
    const onFail = () => finish(false);
    const onClose = () => finish(raw.complete);
    raw.on('data', onData);
    raw.once('end', onEnd);
    raw.once('error', onFail);
    raw.once('close', onClose);
    raw.resume();
  });
}

/** onRequest of a path's 405 route: `Allow` and a message naming the methods the path accepts. */
export function methodNotAllowed(allow: string) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    void reply.header('allow', allow);
    return refuse(request, reply, 405, `method ${request.method} is not allowed on ${pathOf(request.url)}; use ${allow}`);
  };
}
