/**
 * A bounded, deadline-aware load generator for tests that change a running webhook (certificate rotation, config
 * reload, overload, drain): N concurrent loops POSTing AdmissionReviews with `?timeout=` to a webhook on 127.0.0.1
 * over keep-alive connections (every few requests a fresh connection, so certificate rotations are seen by new
 * handshakes). Each request is timed from its creation (connecting and the TLS handshake included, as the API
 * server's timeout is) to the end of the answer, recorded with the test phase it started in, and classified:
 *
 * - `ok`: HTTP 200, the AdmissionReview for this uid, allowed with a patch holding proxyv2 images;
 * - `deadline`: HTTP 200, allowed:false with code 504: the fast "deadline passed before processing, retry" answer;
 * - `shed`: HTTP 200, allowed:false with code 429: the overload guard's fast "overloaded, retry" (if it is wired);
 * - `failed`: anything else (a transport error, another status, a malformed answer).
 *
 * `late` = an `ok` answer that arrived after the request's deadline: what must never happen.
 * The loops stop when told, or by themselves after `maxMs`.
 */
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import { sampleAdmissionReview } from '../../src/admission/sample.js';

export type Kind = 'ok' | 'deadline' | 'shed' | 'failed';

export interface LoadResult {
  /** The phase (set by the test) when the request started. */
  phase: string;
  kind: Kind;
  /** ms from creating the request to the end of the answer. */
  ms: number;
  late: boolean;
  /** Whether the request went over a fresh connection (a new TLS handshake). */
  fresh: boolean;
  status?: number;
  error?: string;
  /** The proxyv2 images in the patch (init container and sidecar), deduplicated. */
  proxyImages: string[];
  /** Their tags. */
  proxyTags: string[];
  /** Serial number of the server certificate on the connection. */
  serial?: string;
}

export interface LoadOptions {
  /** Base URL; must be https://127.0.0.1:<port>. */
  url: string;
  /** CA certificates the client trusts. */
  ca: string[];
  /** `?timeout=` sent, and the deadline checked: ms; default 10 s. */
  deadlineMs?: number;
  /** The client gives up on a request after this long; default 10 s. */
  requestTimeoutMs?: number;
  /** Default 8. */
  concurrency?: number;
  /** Every n-th request of a loop uses a fresh connection; default 4. */
  freshEvery?: number;
  /** Safety bound: the loops stop by themselves after this long; default 20 s. */
  maxMs?: number;
  /** The kinds of answer that are not failures; default only `ok`. */
  acceptable?: readonly Kind[];
}

export interface Load {
  readonly results: LoadResult[];
  phase: string;
  /** Results that started in `phase`. */
  inPhase(phase: string): LoadResult[];
  /** Results of a kind not in `acceptable`. */
  failures(): LoadResult[];
  /** `ok` answers after their deadline. */
  late(): LoadResult[];
  /** Stop the loops and wait for the requests in flight. */
  stop(): Promise<void>;
}

const IMAGE = /"image":"([^"]*\/proxyv2:([^"]+))"/g;

type Answer = Omit<LoadResult, 'phase' | 'ms' | 'late' | 'fresh'>;

function postOnce(url: URL, opts: Required<Pick<LoadOptions, 'ca' | 'deadlineMs' | 'requestTimeoutMs'>>, agent: https.Agent | false, body: string, uid: string): Promise<Omit<LoadResult, 'phase'>> {
  return new Promise((resolve) => {
    const started = performance.now();
    let fresh = agent === false;
    const done = (r: Answer) => {
      const ms = performance.now() - started;
      resolve({ ...r, ms, fresh, late: r.kind === 'ok' && ms > opts.deadlineMs });
    };
    const failed = (error: string, status?: number, serial?: string): Answer => ({
      kind: 'failed',
      ...(status !== undefined ? { status } : {}),
      error,
      proxyImages: [],
      proxyTags: [],
      ...(serial !== undefined ? { serial } : {}),
    });
    const req = https.request(
      url,
      {
        method: 'POST',
        agent,
        ca: opts.ca,
        servername: 'localhost',
        rejectUnauthorized: true,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: opts.requestTimeoutMs,
      },
      (res) => {
        fresh = agent === false || !req.reusedSocket;
        const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => done(failed(err.message, undefined, serial)));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          try {
            const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
              response?: { uid?: string; allowed?: boolean; patch?: string; status?: { code?: number } };
            };
            const r = review.response;
            const patch = r?.patch !== undefined ? Buffer.from(r.patch, 'base64').toString('utf8') : '';
            const matches = [...patch.matchAll(IMAGE)];
            const proxyImages = [...new Set(matches.map((m) => m[1] as string))];
            const proxyTags = [...new Set(matches.map((m) => m[2] as string))];
            let kind: Kind = 'failed';
            if (status === 200 && r?.uid === uid) {
              if (r.allowed === true && proxyTags.length > 0) kind = 'ok';
              else if (r.allowed === false && r.status?.code === 504) kind = 'deadline';
              else if (r.allowed === false && r.status?.code === 429) kind = 'shed';
            }
            done({ kind, status, proxyImages, proxyTags, serial });
          } catch (err) {
            done(failed((err as Error).message, status, serial));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`client timeout (${opts.requestTimeoutMs} ms)`)));
    req.on('error', (err) => done(failed(err.message)));
    req.end(body);
  });
}

export function startLoad(opts: LoadOptions): Load {
  const deadlineMs = opts.deadlineMs ?? 10_000;
  const url = new URL(`/inject?timeout=${deadlineMs}ms`, opts.url);
  if (url.hostname !== '127.0.0.1') throw new Error('the load targets 127.0.0.1 only');
  const request = { ca: opts.ca, deadlineMs, requestTimeoutMs: opts.requestTimeoutMs ?? 10_000 };
  const concurrency = opts.concurrency ?? 8;
  const freshEvery = opts.freshEvery ?? 4;
  const acceptable = new Set<Kind>(opts.acceptable ?? ['ok']);
  const stopAt = performance.now() + (opts.maxMs ?? 20_000);
  const results: LoadResult[] = [];
  const state = { phase: 'start', stopped: false };
  const loop = async (id: number) => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; !state.stopped && performance.now() < stopAt; i++) {
        const uid = `load-${id}-${i}`;
        const phase = state.phase;
        const r = await postOnce(url, request, i % freshEvery === freshEvery - 1 ? false : agent, JSON.stringify(sampleAdmissionReview({ uid })), uid);
        results.push({ phase, ...r });
      }
    } finally {
      agent.destroy();
    }
  };
  const loops = Array.from({ length: concurrency }, (_, i) => loop(i));
  return {
    results,
    get phase() {
      return state.phase;
    },
    set phase(p: string) {
      state.phase = p;
    },
    inPhase: (p) => results.filter((r) => r.phase === p),
    failures: () => results.filter((r) => !acceptable.has(r.kind)),
    late: () => results.filter((r) => r.late),
    async stop() {
      state.stopped = true;
      await Promise.all(loops);
    },
  };
}
