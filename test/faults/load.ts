/**
 * A deadline-aware load generator for the fault tests: N concurrent loops POSTing AdmissionReviews with `?timeout=`
 * to a webhook on 127.0.0.1 over keep-alive connections (every few requests a fresh connection), each request timed
 * from its creation (connecting and the TLS handshake included, as the API server's timeout is) to the end of the
 * answer, and classified:
 *
 * - `ok`: HTTP 200, the AdmissionReview for this uid, allowed with a patch;
 * - `deadline`: HTTP 200, allowed:false with code 504: the fast "deadline passed before processing, retry" answer;
 * - `shed`: HTTP 200, allowed:false with code 429: the overload guard's fast "overloaded, retry" (if it is wired);
 * - `failed`: anything else (a transport error, another status, a malformed answer).
 *
 * `late` = an `ok` answer that arrived after the request's deadline: what must never happen.
 */
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import { sampleAdmissionReview } from '../../src/admission/sample.js';

export type Kind = 'ok' | 'deadline' | 'shed' | 'failed';

export interface Result {
  phase: string;
  kind: Kind;
  /** ms from creating the request to the end of the answer. */
  ms: number;
  late: boolean;
  fresh: boolean;
  status?: number;
  error?: string;
  /** proxyv2 image tags in the patch. */
  tags: string[];
  serial?: string;
}

export interface LoadOptions {
  url: string;
  ca: string[];
  /** `?timeout=` sent, and the deadline checked: ms. */
  deadlineMs: number;
  concurrency?: number;
  freshEvery?: number;
  /** The loops stop by themselves after this long. */
  maxMs?: number;
}

export interface Load {
  results: Result[];
  phase: string;
  inPhase(phase: string): Result[];
  failures(): Result[];
  late(): Result[];
  stop(): Promise<void>;
}

const TAG = /"image":"[^"]*\/proxyv2:([^"]+)"/g;

function once(url: URL, ca: string[], agent: https.Agent | false, body: string, uid: string, deadlineMs: number): Promise<Omit<Result, 'phase'>> {
  return new Promise((resolve) => {
    const started = performance.now();
    let fresh = agent === false;
    const done = (r: Omit<Result, 'phase' | 'ms' | 'late' | 'fresh'>) => {
      const ms = performance.now() - started;
      resolve({ ...r, ms, fresh, late: r.kind === 'ok' && ms > deadlineMs });
    };
    const req = https.request(
      url,
      {
        method: 'POST',
        agent,
        ca,
        servername: 'localhost',
        rejectUnauthorized: true,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: 20_000,
      },
      (res) => {
        fresh = agent === false || !req.reusedSocket;
        const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => done({ kind: 'failed', error: err.message, tags: [], serial }));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          try {
            const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
              response?: { uid?: string; allowed?: boolean; patch?: string; status?: { code?: number } };
            };
            const r = review.response;
            const patch = r?.patch !== undefined ? Buffer.from(r.patch, 'base64').toString('utf8') : '';
            const tags = [...new Set([...patch.matchAll(TAG)].map((m) => m[1] as string))];
            let kind: Kind = 'failed';
            if (status === 200 && r?.uid === uid) {
              if (r.allowed === true && tags.length > 0) kind = 'ok';
              else if (r.allowed === false && r.status?.code === 504) kind = 'deadline';
              else if (r.allowed === false && r.status?.code === 429) kind = 'shed';
            }
            done({ kind, status, tags, serial });
          } catch (err) {
            done({ kind: 'failed', status, error: (err as Error).message, tags: [], serial });
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('client timeout (20 s)')));
    req.on('error', (err) => done({ kind: 'failed', error: err.message, tags: [] }));
    req.end(body);
  });
}

export function startLoad(opts: LoadOptions): Load {
  const url = new URL(`/inject?timeout=${opts.deadlineMs}ms`, opts.url);
  if (url.hostname !== '127.0.0.1') throw new Error('the load targets 127.0.0.1 only');
  const concurrency = opts.concurrency ?? 6;
  const freshEvery = opts.freshEvery ?? 4;
  const stopAt = performance.now() + (opts.maxMs ?? 60_000);
  const results: Result[] = [];
  const state = { phase: 'start', stopped: false };
  const loop = async (id: number) => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; !state.stopped && performance.now() < stopAt; i++) {
        const uid = `load-${id}-${i}`;
        const review = sampleAdmissionReview({ uid });
        const phase = state.phase;
        const r = await once(url, opts.ca, i % freshEvery === freshEvery - 1 ? false : agent, JSON.stringify(review), uid, opts.deadlineMs);
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
    failures: () => results.filter((r) => r.kind === 'failed'),
    late: () => results.filter((r) => r.late),
    async stop() {
      state.stopped = true;
      await Promise.all(loops);
    },
  };
}
