// The load generator, run as its own process by bench/run.mjs: one autocannon run against 127.0.0.1, printed as one
// JSON line on stdout. Usage: node bench/load.mjs '<json spec>'
//   spec: { url, bodyFile, connections, durationS, settleS, timeoutS, inspect }
//
// Latencies are recorded here from autocannon's `response` events (float milliseconds, every status code), not from
// its histogram (whole milliseconds, 2xx only). Responses that end in the first `settleS` seconds are left out of
// the latency percentiles and the throughput: they carry the TLS handshakes of the new connections (the API server
// keeps its connections to a webhook alive) and the first requests' start-up. Errors and status codes count over the
// whole run.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';

const spec = JSON.parse(process.argv[2] ?? '{}');
const url = new URL(spec.url);
if (url.hostname !== '127.0.0.1') throw new Error(`the load generator only targets 127.0.0.1, not ${url.hostname}`);
const body = readFileSync(spec.bodyFile);
const durationS = Number(spec.durationS ?? 3);
const settleMs = Number(spec.settleS ?? 0.5) * 1000;
const inspect = spec.inspect === true;

const ends = [];
const latencies = [];
/** Whether the response was the first on its connection (its latency includes accept wait and TLS handshake). */
const firsts = [];
const seenClients = new Set();
/** Answers by kind when `inspect`: HTTP status, and for 200 whether the AdmissionReview said allowed:false. */
const kinds = {};
const countKind = (k) => (kinds[k] = (kinds[k] ?? 0) + 1);

const request = {
  method: 'POST',
  path: `${url.pathname}${url.search}`,
  headers: { 'content-type': 'application/json' },
  body,
  ...(inspect
    ? {
        onResponse(status, text) {
          if (status !== 200) countKind(`http ${status}`);
          else if (text.includes('"allowed":false')) {
            const code = /"code":(\d+)/.exec(text)?.[1] ?? '?';
            countKind(`allowed:false code ${code}`);
          } else countKind('allowed:true');
        },
      }
    : {}),
};

const started = performance.now();
const instance = autocannon({
  url: `${url.protocol}//${url.host}`,
  connections: Number(spec.connections ?? 1),
  pipelining: 1,
  duration: durationS,
  timeout: Number(spec.timeoutS ?? 10),
  requests: [request],
  // Not only 2xx: under overload the non-2xx answers' latencies matter as much.
  excludeErrorStats: false,
});
instance.on('response', (client, _status, _bytes, responseTime) => {
  ends.push(performance.now() - started);
  latencies.push(responseTime);
  firsts.push(!seenClients.has(client));
  seenClients.add(client);
});
const errorTimes = [];
instance.on('reqError', () => errorTimes.push(performance.now() - started));
const result = await instance;
const wallMs = performance.now() - started;

const windowEnd = Math.min(wallMs, durationS * 1000);
// In the window: every answer (throughput, `latencyAllMs`), and the answers on established connections only
// (`latencyMs`: not the first answer of a connection, which also carries its accept wait and TLS handshake; the API
// server keeps its connections to a webhook alive). First answers are summarised apart (`firstAnswerMs`).
const all = [];
const kept = [];
const first = [];
for (let i = 0; i < ends.length; i++) {
  if (firsts[i]) first.push(latencies[i]);
  if (ends[i] < settleMs || ends[i] > windowEnd) continue;
  all.push(latencies[i]);
  if (!firsts[i]) kept.push(latencies[i]);
}
const byNumber = (a, b) => a - b;
kept.sort(byNumber);
all.sort(byNumber);
first.sort(byNumber);
const pctOf = (arr, p) => (arr.length ? arr[Math.min(arr.length - 1, Math.ceil((p / 100) * arr.length) - 1)] : null);
const pct = (p) => pctOf(kept, p);
const mean = kept.length ? kept.reduce((s, x) => s + x, 0) / kept.length : null;
const windowS = Math.max(0.001, (windowEnd - settleMs) / 1000);

// Per second of the run: answers, their largest latency, errors (timeouts included), to see when the tail happens.
const timeline = [];
for (let i = 0; i < ends.length; i++) {
  const sec = Math.floor(ends[i] / 1000);
  const t = (timeline[sec] ??= { n: 0, maxMs: 0, errors: 0 });
  t.n++;
  if (latencies[i] > t.maxMs) t.maxMs = Math.round(latencies[i]);
}
for (const e of errorTimes) (timeline[Math.floor(e / 1000)] ??= { n: 0, maxMs: 0, errors: 0 }).errors++;

process.stdout.write(
  `${JSON.stringify({
    connections: Number(spec.connections ?? 1),
    durationS,
    settleS: settleMs / 1000,
    wallMs: Math.round(wallMs),
    responses: ends.length,
    measured: kept.length,
    rps: all.length / windowS,
    latencyMs: { mean, p50: pct(50), p90: pct(90), p99: pct(99), p999: pct(99.9), max: kept.length ? kept[kept.length - 1] : null },
    latencyAllMs: { p50: pctOf(all, 50), p99: pctOf(all, 99), p999: pctOf(all, 99.9), max: all.length ? all[all.length - 1] : null },
    firstAnswerMs: { count: first.length, p50: pctOf(first, 50), max: first.length ? first[first.length - 1] : null },
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([k, v]) => [k, v.count])),
    ...(inspect ? { kinds, timeline: Array.from(timeline, (t) => t ?? { n: 0, maxMs: 0, errors: 0 }) } : {}),
    cpuS: (() => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    })(),
    autocannon: { requestsAverage: result.requests.average, latencyP99: result.latency.p99, totalRequests: result.requests.total },
  })}\n`,
);
