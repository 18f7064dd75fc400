// Soak: the real service (`mesh-webhook serve`, dist/cli/main.js on the pinned Node 24) on 127.0.0.1 under steady
// load for a long time (default 10 minutes), to see whether memory or latency drift. Not run in CI.
//
//   npm run build && ./node_modules/.bin/node bench/soak.mjs [--minutes 10] [--interval 10] [--rate 200]
//        [--connections 8] [--json FILE]
//
// Load: autocannon over keep-alive HTTPS connections, a fixed overall rate (requests/s), alternating POST /inject and
// POST /validate with the sample AdmissionReview (a Deployment's pod), `?timeout=10s`. The run is cut into intervals
// (default 10 s): each interval is one autocannon run, so its latency percentiles are that interval's own; at the end
// of each, the server's RSS is read from /proc/<pid>/status. Every answer is checked: HTTP 200 and an AdmissionReview
// with allowed:true (anything else counts as a failure). The run stops by itself, then sends SIGTERM and waits for
// the exit. Prints one line per interval and a summary (start, middle, end) as a Markdown table; --json writes every
// sample. See bench/SOAK.md for a recorded run.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { readProc } from './procstat.mjs';

const root = path.join(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    interval: { type: 'string', default: '10' },
    rate: { type: 'string', default: '200' },
    connections: { type: 'string', default: '8' },
    json: { type: 'string' },
  },
});
const minutes = Number(values.minutes);
const intervalS = Number(values.interval);
const rate = Number(values.rate);
const connections = Number(values.connections);
const intervals = Math.max(1, Math.round((minutes * 60) / intervalS));

const { ensureDevCertificates } = await import(path.join(root, 'dist/tls/devcert.js'));
const { sampleAdmissionReview } = await import(path.join(root, 'dist/admission/sample.js'));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const tmp = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-soak-'));
const certs = await ensureDevCertificates(tmp, []);
const port = await freePort();
const server = spawn(
  path.join(root, 'node_modules/.bin/node'),
  [path.join(root, 'dist/cli/main.js'), 'serve', '--host', '127.0.0.1', '--port', String(port), '--cert', certs.certPath, '--key', certs.keyPath, '--metrics-port', '0', '--log-level', 'warn'],
  { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'] },
);
let stderr = '';
server.stderr.setEncoding('utf8').on('data', (c) => (stderr += c));
const exited = new Promise((resolve) => server.on('exit', (code, signal) => resolve({ code, signal })));

async function waitReady() {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (server.exitCode !== null) throw new Error(`the server exited: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the server did not start listening');
}
await waitReady();

let uid = 0;
const body = (endpoint) => {
  const review = sampleAdmissionReview();
  review.request.uid = `soak-${endpoint}`;
  return JSON.stringify(review);
};
const failures = { count: 0, kinds: {} };
const check = (status, text) => {
  uid++;
  if (status === 200 && text.includes('"allowed":true')) return;
  failures.count++;
  const kind = status === 200 ? `allowed:false ${/"message":"([^"]{0,80})/.exec(text)?.[1] ?? ''}` : `http ${status}`;
  failures.kinds[kind] = (failures.kinds[kind] ?? 0) + 1;
};
const requests = ['inject', 'validate'].map((endpoint) => ({
  method: 'POST',
  path: `/${endpoint}?timeout=10s`,
  headers: { 'content-type': 'application/json' },
  body: body(endpoint),
  onResponse: check,
}));

function runInterval() {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `https://127.0.0.1:${port}`,
        connections,
        pipelining: 1,
        duration: intervalS,
        overallRate: rate,
        timeout: 10,
        requests,
        excludeErrorStats: false,
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    autocannon.track(instance, { renderProgressBar: false, renderResultsTable: false, renderLatencyTable: false, outputStream: new (class { write() {} })() });
  });
}

const mib = (kib) => Math.round((kib / 1024) * 10) / 10;
const samples = [];
const started = Date.now();
console.log(`soak: ${minutes} min, ${intervals} intervals of ${intervalS} s, ${rate} req/s over ${connections} connections, server pid ${server.pid}`);
console.log('interval\tt(s)\trequests\tp50(ms)\tp99(ms)\tmax(ms)\terrors\ttimeouts\tnon2xx\tRSS(MiB)');
try {
  for (let i = 0; i < intervals; i++) {
    const r = await runInterval();
    const proc = readProc(server.pid);
    if (!proc) throw new Error(`the server is gone: ${stderr}`);
    const sample = {
      interval: i + 1,
      tS: Math.round((Date.now() - started) / 1000),
      requests: r.requests.total,
      p50Ms: r.latency.p50,
      p99Ms: r.latency.p99,
      maxMs: r.latency.max,
      errors: r.errors,
      timeouts: r.timeouts,
      non2xx: r.non2xx,
      rssMiB: mib(proc.rssKiB),
    };
    samples.push(sample);
    console.log(Object.values(sample).join('\t'));
  }
} finally {
  server.kill('SIGTERM');
}
const exit = await exited;
await rm(tmp, { recursive: true, force: true });

const pick = (s) => `| ${s.interval} (${s.tS} s) | ${s.rssMiB} | ${s.p50Ms} | ${s.p99Ms} | ${s.requests} |`;
const start = samples[0];
const middle = samples[Math.floor(samples.length / 2)];
const end = samples[samples.length - 1];
const total = samples.reduce((n, s) => n + s.requests, 0);
const errors = samples.reduce((n, s) => n + s.errors + s.timeouts + s.non2xx, 0);
const rssValues = samples.map((s) => s.rssMiB);
console.log('\n| interval | RSS (MiB) | p50 (ms) | p99 (ms) | requests |\n|---|---|---|---|---|');
for (const s of [start, middle, end]) console.log(pick(s));
console.log(
  `\nrequests: ${total}, failed: ${errors + failures.count} (transport/HTTP ${errors}, wrong answers ${failures.count}${failures.count ? ` ${JSON.stringify(failures.kinds)}` : ''}), ` +
    `RSS min/max ${Math.min(...rssValues)}/${Math.max(...rssValues)} MiB, server exit ${JSON.stringify(exit)}${stderr ? `, stderr: ${stderr}` : ''}`,
);
if (values.json) await writeFile(values.json, JSON.stringify({ minutes, intervalS, rate, connections, samples, failures, exit }, null, 2) + '\n');
process.exitCode = errors + failures.count === 0 && exit.code === 0 ? 0 : 1;
