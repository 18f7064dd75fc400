// Where the service's cost per request goes, by server variant: the same load (autocannon in its own process,
// 127.0.0.1, bounded in time) against servers that add one layer at a time, alternating the variants (A B C D A B C D
// ...) for several rounds; medians of the CPU per request, split by thread (main thread, V8's GC/compiler workers,
// libuv's pool), read from /proc.
//   ./node_modules/.bin/node bench/attribute.mjs [--body medium] [--connections 10] [--duration 4] [--rounds 3] [--floor-tls] [--repeat] [--edge]
// Variants:
//   floor      bench/floor.mjs: Fastify over HTTPS, JSON.parse, `allowed: true` (the echo floor)
//   payload    bench/floor.mjs --answers: the same, answering the service's own answer for the body (recorded from a
//              service at the start, the uid spliced in): what parsing and sending cost, nothing else
//   floor-tls  (with --floor-tls) the payload floor with the service's TLS and server options, and each half of them
//              (floor-tls-https, floor-tls-fastify)
//   pipeline   bench/floor-plus.mjs: the floor whose handler runs the service's pipeline (body checks, injection,
//              patch, answer JSON), nothing else of the service's edge
//   pipeline×2 (with --repeat) the same, running the pipeline twice per request: the second run's cost, caches warm
//   bare       mesh-webhook serve --log-level silent --no-overload-guard: the service's edge without its log lines and
//              load shedding (metrics stay on)
//   no-log, no-guard (with --edge) the service without its log lines, and without its load shedding
//   service    mesh-webhook serve as in production (log lines to a file, overload guard)
// Read against the payload floor: pipeline − payload is the service's per-request work (body checks, decision,
// rendering, patch, answer encoding), bare − pipeline its edge (hooks, routing, metrics), service − bare its log line
// and load shedding.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NODE = process.execPath;
const { values } = parseArgs({
  options: {
    body: { type: 'string', default: 'medium' },
    connections: { type: 'string', default: '10' },
    duration: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    // Also the payload floor with the service's TLS and server options (bench/floor.mjs --service-tls).
    'floor-tls': { type: 'boolean', default: false },
    // Also the pipeline run twice per request (bench/floor-plus.mjs --repeat 2): the marginal cost of a second run, with
    // the caches the first one warmed, against the first run's cost inside a server.
    repeat: { type: 'boolean', default: false },
    // Also the service without its log lines (log level silent, guard on) and without load shedding (log lines on).
    edge: { type: 'boolean', default: false },
  },
});
const work = mkdtempSync(path.join(os.tmpdir(), 'mesh-webhook-attribute-'));
const { ensureDevCertificates } = await import(pathToFileURL(path.join(ROOT, 'dist/tls/devcert.js')).href);
const certs = await ensureDevCertificates(path.join(work, 'certs'), []);
const tlsArgs = ['--cert', certs.certPath, '--key', certs.keyPath];
const serve = (extra) => (port) => [path.join(ROOT, 'dist/cli/main.js'), 'serve', '--port', String(port), '--host', '127.0.0.1', '--metrics-port', '0', ...tlsArgs, ...extra];
const answersFile = path.join(work, 'answers.json');
const VARIANTS = {
  floor: (port) => [path.join(ROOT, 'bench/floor.mjs'), '--port', String(port), ...tlsArgs],
  payload: (port) => [path.join(ROOT, 'bench/floor.mjs'), '--port', String(port), ...tlsArgs, '--answers', answersFile],
  ...(values['floor-tls']
    ? {
        'floor-tls': (port) => [path.join(ROOT, 'bench/floor.mjs'), '--port', String(port), ...tlsArgs, '--answers', answersFile, '--service-tls'],
        'floor-tls-https': (port) => [path.join(ROOT, 'bench/floor.mjs'), '--port', String(port), ...tlsArgs, '--answers', answersFile, '--service-tls', '--service-tls-part', 'https'],
        'floor-tls-fastify': (port) => [path.join(ROOT, 'bench/floor.mjs'), '--port', String(port), ...tlsArgs, '--answers', answersFile, '--service-tls', '--service-tls-part', 'fastify'],
      }
    : {}),
  pipeline: (port) => [path.join(ROOT, 'bench/floor-plus.mjs'), '--port', String(port), ...tlsArgs],
  ...(values.repeat ? { 'pipeline×2': (port) => [path.join(ROOT, 'bench/floor-plus.mjs'), '--port', String(port), ...tlsArgs, '--repeat', '2'] } : {}),
  bare: serve(['--log-level', 'silent', '--no-overload-guard']),
  ...(values.edge ? { 'no-log': serve(['--log-level', 'silent']), 'no-guard': serve(['--no-overload-guard']) } : {}),
  service: serve([]),
};

const ticks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
/** CPU seconds by thread name of `pid`. */
function threadCpu(pid) {
  const out = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[0-9]+$/, '');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[name] = (out[name] ?? 0) + (Number(f[11]) + Number(f[12])) / ticks;
    } catch {
      /* the thread ended */
    }
  }
  return out;
}
const healthy = (port) =>
  new Promise((resolve) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/healthz', ca: certs.ca, servername: 'localhost', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
/** The service's answer to the body, its uid written "__UID__", for the payload floor. */
async function recordAnswer() {
  const port = 19000 + Math.floor(Math.random() * 1000);
  const child = spawn(NODE, VARIANTS.service(port), { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    for (let i = 0; i < 100 && !(await healthy(port)); i++) await new Promise((r) => setTimeout(r, 100));
    const text = readFileSync(path.join(ROOT, 'bench/fixtures', `${values.body}.json`));
    const uid = JSON.stringify(JSON.parse(text).request.uid);
    const answer = await new Promise((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port, method: 'POST', path: '/inject?timeout=10s', ca: certs.ca, servername: 'localhost', headers: { 'content-type': 'application/json' } }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      });
      req.on('error', reject);
      req.end(text);
    });
    if (!answer.includes(uid)) throw new Error(`the service's answer does not carry the uid: ${answer.slice(0, 200)}`);
    writeFileSync(answersFile, JSON.stringify({ [values.body]: answer.replace(uid, '"__UID__"') }));
  } finally {
    child.kill('SIGKILL');
  }
}
await recordAnswer();

function load(port, durationS, name) {
  const which = name === 'payload' || name.startsWith('floor-tls') ? `&body=${encodeURIComponent(values.body)}` : '';
  const spec = { url: `https://127.0.0.1:${port}/inject?timeout=10s${which}`, bodyFile: path.join(ROOT, 'bench/fixtures', `${values.body}.json`), connections: Number(values.connections), durationS, settleS: 0.5, timeoutS: 10 };
  return JSON.parse(execFileSync(NODE, [path.join(ROOT, 'bench/load.mjs'), JSON.stringify(spec)], { cwd: ROOT, timeout: (durationS + 30) * 1000 }).toString());
}

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const samples = Object.fromEntries(Object.keys(VARIANTS).map((k) => [k, []]));
let port = 20000 + Math.floor(Math.random() * 20000);
for (let round = 0; round < Number(values.rounds); round++) {
  for (const [name, args] of Object.entries(VARIANTS)) {
    port++;
    const child = spawn(NODE, args(port), { cwd: ROOT, stdio: ['ignore', openSync(path.join(work, `${name}.log`), 'w'), 'inherit'] });
    try {
      for (let i = 0; i < 100 && !(await healthy(port)); i++) await new Promise((r) => setTimeout(r, 100));
      load(port, 1.5, name); // warm-up
      const before = threadCpu(child.pid);
      const r = load(port, Number(values.duration), name);
      const after = threadCpu(child.pid);
      const perReq = (k) => ((after[k] ?? 0) - (before[k] ?? 0)) * 1e6 / r.responses;
      const byThread = Object.fromEntries(Object.keys(after).map((k) => [k, perReq(k)]).filter(([, v]) => v > 0.5));
      const total = Object.values(byThread).reduce((a, b) => a + b, 0);
      samples[name].push({ rps: r.rps, p99: r.latencyMs.p99, total, byThread });
      process.stderr.write(`round ${round + 1} ${name.padEnd(8)} ${r.rps.toFixed(0)}/s, ${total.toFixed(0)} µs CPU/request ${JSON.stringify(Object.fromEntries(Object.entries(byThread).map(([k, v]) => [k, Math.round(v)])))}\n`);
    } finally {
      child.kill('SIGKILL');
    }
  }
}
rmSync(work, { recursive: true, force: true });

const floor = median(samples.floor.map((s) => s.total));
const payload = median(samples.payload.map((s) => s.total));
console.log(`\n${values.body} body, c=${values.connections}, ${values.duration} s runs, ${values.rounds} rounds (medians):\n`);
console.log('| variant | req/s | CPU µs/request | main thread | V8 workers (GC, compiler) | × echo floor | × payload floor | added by this layer, µs |');
console.log('|---|--:|--:|--:|--:|--:|--:|--:|');
let previous;
for (const [name, list] of Object.entries(samples)) {
  const total = median(list.map((s) => s.total));
  const main = median(list.map((s) => Object.entries(s.byThread).filter(([k]) => !k.startsWith('V8') && !k.startsWith('libuv')).reduce((a, [, v]) => a + v, 0)));
  const v8 = median(list.map((s) => Object.entries(s.byThread).filter(([k]) => k.startsWith('V8')).reduce((a, [, v]) => a + v, 0)));
  console.log(`| ${name} | ${median(list.map((s) => s.rps)).toFixed(0)} | ${total.toFixed(0)} | ${main.toFixed(0)} | ${v8.toFixed(0)} | ${(total / floor).toFixed(2)} | ${(total / payload).toFixed(2)} | ${previous === undefined ? '' : (total - previous).toFixed(0)} |`);
  previous = total;
}
