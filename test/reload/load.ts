/**
 * A bounded load generator for reload tests: N concurrent loops POSTing AdmissionReviews to a webhook on 127.0.0.1
 * over keep-alive connections (every few requests on a fresh connection, so certificate rotations are seen by new
 * handshakes), each result recorded with the test phase it started in. Stops when told, or by itself after `maxMs`.
 */
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { sampleAdmissionReview } from '../../src/admission/sample.js';

export interface LoadResult {
  /** The phase (set by the test) when the request started. */
  phase: string;
  ok: boolean;
  status?: number;
  error?: string;
  /** The proxyv2 images in the patch (init container and sidecar), deduplicated. */
  proxyImages: string[];
  /** Their tags. */
  proxyTags: string[];
  /** Serial number of the server certificate on the connection. */
  serial?: string;
  /** Whether the request went over a fresh connection (a new TLS handshake). */
  fresh: boolean;
}

export interface LoadOptions {
  /** Base URL; must be https://127.0.0.1:<port>. */
  url: string;
  /** CA certificates the client trusts. */
  ca: string[];
  concurrency?: number;
  /** Every n-th request of a loop uses a fresh connection; default 4. */
  freshEvery?: number;
  /** Safety bound: the loops stop by themselves after this long; default 20 s. */
  maxMs?: number;
}

export interface LoadLoop {
  readonly results: LoadResult[];
  phase: string;
  /** Results that started in `phase`. */
  inPhase(phase: string): LoadResult[];
  failures(): LoadResult[];
  /** Stop the loops and wait for the requests in flight. */
  stop(): Promise<void>;
}

const IMAGE = /"image":"([^"]*\/proxyv2:([^"]+))"/g;

function postOnce(url: URL, ca: string[], agent: https.Agent | false, body: string, uid: string): Promise<Omit<LoadResult, 'phase'>> {
  return new Promise((resolve) => {
    const req = https.request(
      url,
      {
        method: 'POST',
        agent,
        ca,
        rejectUnauthorized: true,
        servername: 'localhost',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: 10_000,
      },
      (res) => {
        const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => resolve({ ok: false, error: err.message, proxyImages: [], proxyTags: [], fresh: agent === false }));
        res.on('end', () => {
          const fresh = agent === false || !req.reusedSocket;
          try {
            const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
              response?: { uid?: string; allowed?: boolean; patch?: string };
            };
            const patch = review.response?.patch !== undefined ? Buffer.from(review.response.patch, 'base64').toString('utf8') : '';
            const matches = [...patch.matchAll(IMAGE)];
            const proxyImages = [...new Set(matches.map((m) => m[1] as string))];
            const proxyTags = [...new Set(matches.map((m) => m[2] as string))];
            const ok = res.statusCode === 200 && review.response?.uid === uid && review.response.allowed === true && proxyTags.length > 0;
            resolve({ ok, status: res.statusCode ?? 0, proxyImages, proxyTags, serial, fresh });
          } catch (err) {
            resolve({ ok: false, status: res.statusCode ?? 0, error: (err as Error).message, proxyImages: [], proxyTags: [], serial, fresh });
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', (err) => resolve({ ok: false, error: err.message, proxyImages: [], proxyTags: [], fresh: agent === false }));
    req.end(body);
  });
}

export function startLoad(opts: LoadOptions): LoadLoop {
  const url = new URL('/inject?timeout=10s', opts.url);
  if (url.hostname !== '127.0.0.1') throw new Error('the load loop targets 127.0.0.1 only');
  const concurrency = opts.concurrency ?? 8;
  const freshEvery = opts.freshEvery ?? 4;
  const deadline = Date.now() + (opts.maxMs ?? 20_000);
  const results: LoadResult[] = [];
  let stopped = false;
  const state = { phase: 'start' };

  const loop = async (id: number) => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; !stopped && Date.now() < deadline; i++) {
        const uid = `load-${id}-${i}`;
        const review = sampleAdmissionReview();
        review.request.uid = uid;
        const phase = state.phase;
        const result = await postOnce(url, opts.ca, i % freshEvery === freshEvery - 1 ? false : agent, JSON.stringify(review), uid);
        results.push({ phase, ...result });
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
    inPhase: (phase) => results.filter((r) => r.phase === phase),
    failures: () => results.filter((r) => !r.ok),
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}
