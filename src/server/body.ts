/**
 * The one body parser of the server: application/json only (media type compared exactly, parameters such as charset
 * ignored; anything else fails with FST_ERR_CTP_INVALID_MEDIA_TYPE, a 415). The limit in bytes is the route's
 * (src/server/routes.ts). An admission body is first counted: beyond its endpoint's token limit it is not parsed at all
 * (parsing is where a body of many small keys costs its memory and time) and the handler answers from the identity
 * read at its start. An admission body that is not JSON is kept as an {@link UndecodableBody}, so /inject and
 * /validate deny it with an AdmissionReview, as Istio's serveInject does.
 */
import type { FastifyInstance } from 'fastify';
import { answerableIdentity, scanReviewIdentity, type ReviewIdentity } from '../admission/identity.js';
import { DEFAULT_ADMISSION_LIMITS, tokenLimit, type AdmissionLimits, type LimitProblem } from '../admission/limits.js';
import { AdmissionReviewError, parseJsonBody, type ParseOptions } from '../admission/review.js';
import { countJsonTokens, mayExceedTokens } from '../util/jsonTokens.js';
import { endpointOf, type AdmissionEndpoint } from './routes.js';

/** A body not parsed because it has more JSON tokens than its endpoint's limit, with the identity read from its start. */
export class UnparsedBody {
  constructor(
    readonly problem: LimitProblem,
    readonly identity: ReviewIdentity | undefined,
  ) {}
}

/** An admission body that is not JSON: what is wrong with it, for the denial that answers it. */
export class UndecodableBody {
  constructor(readonly message: string) {}
}

/** Where the identity of an unparsed review is looked for: the API server writes it first. */
const IDENTITY_PREFIX_BYTES = 64 * 1024;

function unparsedBody(body: Buffer, max: number): UnparsedBody {
  const { found } = scanReviewIdentity(body.toString('utf8', 0, Math.min(body.length, IDENTITY_PREFIX_BYTES)));
  return new UnparsedBody({ limit: 'jsonTokens', path: 'the request body', count: max + 1, exact: false, max }, answerableIdentity(found));
}

/** What each endpoint leaves unparsed: /inject and /validate never read managedFields; /explain shows the whole pod. */
const SKIP_MANAGED_FIELDS: Readonly<Record<AdmissionEndpoint, ParseOptions>> = {
  inject: { skipManagedFields: true },
  validate: { skipManagedFields: true },
  explain: {},
};

/** Install the parser on `app`; `limits` gives the count caps of the runtime in use (read per request). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function parseJsonBodies(app: FastifyInstance<any, any, any, any, any>, limits: () => AdmissionLimits | undefined): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    const endpoint = endpointOf(request);
    if (endpoint !== undefined) {
      const max = tokenLimit(limits() ?? DEFAULT_ADMISSION_LIMITS, endpoint);
      if (mayExceedTokens(bytes.length, max) && countJsonTokens(bytes, max + 1) > max) return done(null, unparsedBody(bytes, max));
    }
    try {
      done(null, parseJsonBody(bytes, SKIP_MANAGED_FIELDS[endpoint ?? 'explain']));
    } catch (err) {
      if (err instanceof AdmissionReviewError && err.deniable && endpoint !== undefined && endpoint !== 'explain') {
        done(null, new UndecodableBody(err.message));
      } else done(err as Error, undefined);
    }
  });
}
