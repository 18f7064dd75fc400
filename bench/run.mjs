// The benchmark: the real `mesh-webhook serve` process against two floor servers (bench/floor.mjs) with identical
// bodies: the echo floor (answers `allowed: true`) and the payload floor (answers the service's own answer for the
// body, the request's uid spliced in), alternating runs (service, echo, payload, service, ...), the load generator
// (autocannon, bench/load.mjs) in its own process, 127.0.0.1 only, every run bounded in time. service/payload floor
// is the service's own work; payload floor/echo floor what sending its answer costs.
//
//   npm run bench            quick mode (~4 min): short runs, 2 pairs per cell, overload 4 s
//   npm run bench:full       full mode (~25 min): longer runs, 3 pairs per cell, overload 20 s (guard on and off)
//
// Options (after `--` with npm): --only small,medium  --concurrency 1,10  --no-matrix --no-growth --no-overload
//   --cpu-prof DIR (profile the service: written when it stops)  --out DIR (default bench/results)
//   --overload-bodies medium,huge  --overload-duration S  --duration S  --reps N
//   --node-options='...' (NODE_OPTIONS of the service process, e.g. --max-old-space-size=128)
//   --no-wait (do not wait for other processes on the machine to quiet down before each cell)
//   --no-unguarded (overload: skip the run against `serve --no-overload-guard`)
//   --guard-target-delay 250ms (overload: the service's --overload-target-delay)
//   --memory-limit 256 (run each server in a memory cgroup of this many MiB, as the Deployment's limits.memory, and
//     report the cgroup's peak usage and OOM kills; needs root and a memory cgroup controller)
// Results: <out>/<mode>.json, <out>/<mode>.md (tables), <out>/growth-<mode>.png; the tables are printed too.
import { spawn } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, mkdirSync, openSync, readFileSync, rmdirSync, statSync, ftruncateSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { lineChart } from './plot.mjs';
import { readMachine, sampleProcess } from './procstat.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BENCH = path.join(ROOT, 'bench');
const FIXTURES = path.join(BENCH, 'fixtures');
const NODE = process.execPath;

if (Number(process.versions.node.split('.')[0]) < 24) {
  console.error(`bench: needs Node 24 (running ${process.version}); use npm run bench or ./node_modules/.bin/node bench/run.mjs`);
  process.exit(2);
}

const { values: opt } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    only: { type: 'string' },
    concurrency: { type: 'string' },
    'no-matrix': { type: 'boolean', default: false },
    'no-growth': { type: 'boolean', default: false },
    'no-overload': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    out: { type: 'string' },
    'overload-bodies': { type: 'string' },
    'overload-duration': { type: 'string' },
    duration: { type: 'string' },
    reps: { type: 'string' },
    'no-unguarded': { type: 'boolean', default: false },
    'no-wait': { type: 'boolean', default: false },
    'node-options': { type: 'string' },
    'overload-connections': { type: 'string' },
    'guard-target-delay': { type: 'string' },
    'memory-limit': { type: 'string' },
  },
});

const MODE = opt.full ? 'full' : 'quick';
/** Servers run in memory cgroups (--memory-limit). */
const limited = opt['memory-limit'] !== undefined;
const P = {
  quick: { durationS: 0.8, settleS: 0.2, reps: 2, warmupS: 0.5, growthDurationS: 0.8, growthReps: 1, overloadS: 4, overloadSettleS: 0, overloadBodies: ['medium'], quietMaxS: 0, pairRetries: 0 },
  full: { durationS: 5, settleS: 1, reps: 3, warmupS: 3, growthDurationS: 3, growthReps: 3, overloadS: 20, overloadSettleS: 0, overloadBodies: ['medium', 'large', 'huge'], quietMaxS: 90, pairRetries: 2 },
}[MODE];
if (opt.duration) P.durationS = P.growthDurationS = Number(opt.duration);
if (opt.reps) P.reps = P.growthReps = Number(opt.reps);
if (opt['overload-duration']) P.overloadS = Number(opt['overload-duration']);
if (opt['overload-bodies']) P.overloadBodies = opt['overload-bodies'].split(',');
const OVERLOAD_C = Number(opt['overload-connections'] ?? 500);
const OUT = path.resolve(opt.out ?? path.join(BENCH, 'results'));

const BODIES = [
  { name: 'small', path: '/inject', expect: 'injected' },
  { name: 'medium', path: '/inject', expect: 'injected' },
  { name: 'large', path: '/inject', expect: 'injected' },
  { name: 'huge', path: '/inject', expect: 'injected' },
  { name: 'skip', path: '/inject', expect: 'skipped' },
  { name: 'validate', path: '/validate', expect: 'validated' },
].filter((b) => !opt.only || opt.only.split(',').includes(b.name));
const CONCURRENCY = (opt.concurrency ?? '1,10,50,100').split(',').map(Number);
const GROWTH = [
  ...[1, 2, 5, 10, 20].map((n) => ({ name: `containers-${n}`, axis: 'containers', n })),
  ...[10, 100, 1000, 2000].map((n) => ({ name: `env-${n}`, axis: 'env', n })),
];
/** What the API server appends to the webhook URL. */
const QUERY = '?timeout=10s';

const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);
const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fixtureFile = (name) => path.join(FIXTURES, `${name}.json`);
const fixtureKB = (name) => statSync(fixtureFile(name)).size / 1024;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** One HTTPS request to 127.0.0.1 (CA-verified); resolves { status, body }. */
function call(port, ca, method, urlPath, body) {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, method, path: urlPath, ca, servername: 'localhost', headers: body ? { 'content-type': 'application/json', 'content-length': body.length } : {}, timeout: 10_000 },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

function waitExit(child, timeoutMs) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(true);
    const t = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/**
 * A memory cgroup (v2, else v1) limiting a server to `limitMiB`, as the Deployment's `limits.memory` does in a cluster;
 * undefined when cgroups cannot be created here (not root, no memory controller).
 */
function memoryCgroup(name, limitMiB) {
  const v2 = '/sys/fs/cgroup';
  const v1 = '/sys/fs/cgroup/memory';
  try {
    if (existsSync(`${v2}/cgroup.controllers`) && readFileSync(`${v2}/cgroup.subtree_control`, 'utf8').includes('memory')) {
      const dir = `${v2}/${name}`;
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${dir}/memory.max`, String(limitMiB * 1048576));
      const events = () => readFileSync(`${dir}/memory.events`, 'utf8');
      return {
        dir,
        procs: `${dir}/cgroup.procs`,
        peakMiB: () => (existsSync(`${dir}/memory.peak`) ? Number(readFileSync(`${dir}/memory.peak`, 'utf8')) / 1048576 : NaN),
        oomKills: () => Number(/^oom_kill (\d+)/m.exec(events())?.[1] ?? 0),
        remove: () => rmdirSync(dir),
      };
    }
    if (existsSync(`${v1}/memory.limit_in_bytes`)) {
      const dir = `${v1}/${name}`;
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${dir}/memory.limit_in_bytes`, String(limitMiB * 1048576));
      return {
        dir,
        procs: `${dir}/cgroup.procs`,
        peakMiB: () => Number(readFileSync(`${dir}/memory.max_usage_in_bytes`, 'utf8')) / 1048576,
        resetPeak: () => writeFileSync(`${dir}/memory.max_usage_in_bytes`, '0'),
        oomKills: () => Number(/^oom_kill (\d+)/m.exec(readFileSync(`${dir}/memory.oom_control`, 'utf8'))?.[1] ?? 0),
        remove: () => rmdirSync(dir),
      };
    }
  } catch (err) {
    log(`  (no memory cgroup: ${err.message})`);
  }
  return undefined;
}

/**
 * A server process: started, ready when `ready()` resolves, stopped with SIGINT (SIGKILL after 20 s). Its output goes
 * to `logFile`; with --memory-limit it runs in a memory cgroup and its output goes through a pipe read here (outside
 * the cgroup, as a container runtime reads a container's stdout), so the log's page cache is not charged to it.
 */
async function startProcess(label, args, { ready, logFile, env }) {
  const cgroup = opt['memory-limit'] ? memoryCgroup(`mesh-webhook-bench-${process.pid}-${label}`, Number(opt['memory-limit'])) : undefined;
  if (opt['memory-limit'] && !cgroup) throw new Error('--memory-limit needs a memory cgroup (root, cgroup v1 or v2 with the memory controller)');
  let child;
  if (cgroup) {
    child = spawn('/bin/sh', ['-c', 'echo $$ > "$0" && exec "$@"', cgroup.procs, NODE, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    const out = createWriteStream(logFile, { flags: 'a' });
    child.stdout.pipe(out);
    child.stderr.pipe(out);
  } else {
    const fd = openSync(logFile, 'a');
    child = spawn(NODE, args, { cwd: ROOT, stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
    closeSync(fd);
  }
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const t0 = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${label} exited (${child.exitCode}) before it was ready; see ${logFile}`);
    if (await ready().catch(() => false)) break;
    if (Date.now() - t0 > 30_000) {
      child.kill('SIGKILL');
      throw new Error(`${label} not ready after 30 s; see ${logFile}`);
    }
    await sleep(100);
  }
  return {
    label,
    pid: child.pid,
    logFile,
    exited,
    cgroup,
    async stop() {
      child.kill('SIGINT');
      if (!(await waitExit(child, 20_000))) child.kill('SIGKILL');
      await exited;
      await sleep(100);
      try {
        cgroup?.remove();
      } catch {
        // still has a process for a moment; left for the kernel to reclaim
      }
    },
  };
}

/** Lines written to a log file since the last call; truncates it (the servers append, so they keep writing at 0). */
function drainLog(file) {
  let lines = 0;
  try {
    const buf = readFileSync(file);
    for (let i = 0; i < buf.length; i++) if (buf[i] === 10) lines++;
    const fd = openSync(file, 'r+');
    ftruncateSync(fd, 0);
    closeSync(fd);
  } catch {
    // no log yet
  }
  return lines;
}

/**
 * Waits (up to `maxS`) until the rest of the machine is quiet: less than `limitPct` % of one CPU busy over 0.5 s
 * while our servers idle. Other processes (a test run, a build) would otherwise take CPU from the server or the load
 * generator. Returns the seconds waited and the busy % last seen.
 */
async function waitQuiet(limitPct = 15, maxS = P.quietMaxS) {
  if (opt['no-wait'] || maxS <= 0) return { waitedS: 0, busyPct: NaN };
  const t0 = Date.now();
  let pct = 0;
  for (;;) {
    const a = readMachine();
    await sleep(500);
    const b = readMachine();
    pct = (100 * (b.busyS - a.busyS)) / 0.5;
    if (pct < limitPct || Date.now() - t0 > maxS * 1000) break;
  }
  const waitedS = (Date.now() - t0) / 1000 - 0.5;
  if (waitedS > 1) log(`  (waited ${waitedS.toFixed(0)} s for other processes to quiet down; ${pct.toFixed(0)}% busy)`);
  return { waitedS, busyPct: pct };
}

/** Other processes may use this much of one CPU during a run before the pair is run again. */
const MAX_OTHER_CPU_PCT = 25;

/**
 * One run of each (the service, then the floors), back to back. When other processes on the machine took more than
 * MAX_OTHER_CPU_PCT of a CPU during any, the group is run again after the machine quiets down (at most twice more;
 * then the last group is kept and its `otherCpuPct` shows it was disturbed). Returns [...results, retries].
 */
async function runGroup(...runs) {
  let retries = 0;
  for (;;) {
    const results = [];
    for (const run of runs) results.push(await run());
    const other = Math.max(...results.map((r) => r.otherCpuPct));
    if (other <= MAX_OTHER_CPU_PCT || opt['no-wait'] || retries >= P.pairRetries) return [...results, retries];
    retries++;
    log(`    (runs disturbed by other processes: ${other.toFixed(0)}% of a CPU; running them again)`);
    await waitQuiet();
  }
}

/** Admissions the server shed so far (mesh_webhook_overload_shed_total on GET /metrics; 0 without the guard). */
async function shedTotal(server) {
  try {
    const res = await call(server.port, ca, 'GET', '/metrics');
    if (res.status !== 200) return 0;
    let sum = 0;
    for (const m of res.body.matchAll(/^mesh_webhook_overload_shed_total(?:\{[^}]*\})? (\d+(?:\.\d+)?)/gm)) sum += Number(m[1]);
    return sum;
  } catch {
    return 0;
  }
}

/** One load run in its own process against `server`, with the server's CPU and memory sampled meanwhile. */
function runLoadOnce(server, body, connections, durationS, settleS, { inspect = false } = {}) {
  // The payload floor finds the answer to send by the body's name.
  const which = server.kind === 'payload' ? `&body=${encodeURIComponent(body.name)}` : '';
  const spec = { url: `https://127.0.0.1:${server.port}${body.path}${QUERY}${which}`, bodyFile: fixtureFile(body.name), connections, durationS, settleS, timeoutS: 10, inspect };
  return new Promise((resolve, reject) => {
    const sampler = sampleProcess(server.pid, 100);
    const machine0 = readMachine();
    server.cgroup?.resetPeak?.();
    const oom0 = server.cgroup?.oomKills() ?? 0;
    const child = spawn(NODE, [path.join(BENCH, 'load.mjs'), JSON.stringify(spec)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    // Bounded: autocannon stops at `durationS`; this is the safety net.
    const killer = setTimeout(() => child.kill('SIGKILL'), (durationS + 30) * 1000);
    child.on('exit', (code) => {
      clearTimeout(killer);
      const proc = sampler.stop();
      const machine1 = readMachine();
      if (code !== 0) return reject(new Error(`load generator failed (${code}): ${err}`));
      const r = JSON.parse(out);
      r.server = { ...proc, cpuUsPerReq: (proc.cpuS * 1e6) / Math.max(1, r.responses) };
      // With --memory-limit: the memory charged to the server's cgroup (what the limit applies to) and OOM kills.
      if (server.cgroup) r.server.cgroup = { limitMiB: Number(opt['memory-limit']), peakMiB: server.cgroup.peakMiB(), oomKills: server.cgroup.oomKills() - oom0 };
      // CPU used on the machine besides the server and the load generator (other processes disturb the numbers).
      const machineBusyS = machine1.busyS - machine0.busyS;
      r.loadGenerator = { cpuPct: (100 * r.cpuS) / proc.wallS };
      r.otherCpuPct = (100 * (machineBusyS - proc.cpuS - r.cpuS)) / proc.wallS;
      if (process.env.BENCH_DEBUG) log(`    debug machine ${machineBusyS.toFixed(2)} s, server ${proc.cpuS.toFixed(2)} s, load ${r.cpuS.toFixed(2)} s, wall ${proc.wallS.toFixed(2)} s`);
      resolve(r);
    });
  });
}

/** runLoadOnce, plus the admissions the server shed meanwhile (`shed`; they answer HTTP 200 or 429). */
async function runLoad(server, body, connections, durationS, settleS, options) {
  const before = server.kind === 'service' ? await shedTotal(server) : 0;
  const r = await runLoadOnce(server, body, connections, durationS, settleS, options);
  r.shed = server.kind === 'service' ? (await shedTotal(server)) - before : 0;
  return r;
}

/** Checks one answer of `server` for `body`: 200, the request's uid, and the expected kind of answer. */
async function checkAnswer(server, body, ca) {
  const text = readFileSync(fixtureFile(body.name));
  const uid = JSON.parse(text).request.uid;
  const which = server.kind === 'payload' ? `&body=${encodeURIComponent(body.name)}` : '';
  const res = await call(server.port, ca, 'POST', `${body.path}${QUERY}${which}`, text);
  if (res.status === 404) return { ok: false, status: 404, problem: `POST ${body.path} answered 404` };
  let review;
  try {
    review = JSON.parse(res.body);
  } catch {
    return { ok: false, status: res.status, problem: `not JSON: ${res.body.slice(0, 200)}` };
  }
  const r = review.response ?? {};
  const problems = [];
  if (res.status !== 200) problems.push(`HTTP ${res.status}`);
  if (r.uid !== uid) problems.push('uid differs');
  if (server.kind === 'service') {
    if (body.expect === 'injected' && !(r.allowed === true && r.patchType === 'JSONPatch' && r.patch)) problems.push('no patch');
    if (body.expect === 'skipped' && !(r.allowed === true && !r.patch && /skipped/.test(JSON.stringify(r.auditAnnotations ?? {})))) problems.push('not skipped');
    if (body.expect === 'validated' && !(Array.isArray(r.warnings) && r.warnings.length > 0)) problems.push('no findings');
  } else if (server.kind === 'payload') {
    if (res.body !== answerWithUid(body.name, uid)) problems.push("payload floor's answer differs from the service's");
  } else if (r.allowed !== true) problems.push('floor did not allow');
  return { ok: problems.length === 0, status: res.status, problem: problems.join(', '), responseBytes: res.body.length, patchOps: r.patch ? JSON.parse(Buffer.from(r.patch, 'base64').toString()).length : 0, findings: r.warnings?.length ?? 0 };
}

function summarize(runs) {
  return {
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.latencyMs.p50)),
    p99: median(runs.map((r) => r.latencyMs.p99)),
    p999: median(runs.map((r) => r.latencyMs.p999)),
    max: Math.max(...runs.map((r) => r.latencyMs.max ?? 0)),
    p999All: median(runs.map((r) => r.latencyAllMs?.p999)),
    firstMax: Math.max(...runs.map((r) => r.firstAnswerMs?.max ?? 0)),
    errors: runs.reduce((s, r) => s + r.errors + r.timeouts, 0),
    non2xx: runs.reduce((s, r) => s + r.non2xx, 0),
    shed: runs.reduce((s, r) => s + (r.shed ?? 0), 0),
    responses: runs.reduce((s, r) => s + r.responses, 0),
    cpuPct: median(runs.map((r) => r.server.cpuPct)),
    cpuUsPerReq: median(runs.map((r) => r.server.cpuUsPerReq)),
    rssMaxMiB: Math.max(...runs.map((r) => r.server.rssMaxMiB)),
    anonMaxMiB: Math.max(...runs.map((r) => r.server.anonMaxMiB ?? 0)),
    cgroupPeakMiB: runs.some((r) => r.server.cgroup) ? Math.max(...runs.map((r) => r.server.cgroup?.peakMiB ?? 0)) : undefined,
    oomKills: runs.reduce((n, r) => n + (r.server.cgroup?.oomKills ?? 0), 0),
    loadGenCpuPct: median(runs.map((r) => r.loadGenerator.cpuPct)),
    otherCpuPct: Math.max(...runs.map((r) => r.otherCpuPct)),
  };
}

// ---------------------------------------------------------------------------------------------------------------

const started = Date.now();
if (!existsSync(path.join(ROOT, 'dist/cli/main.js'))) {
  console.error('bench: dist/ is missing; run npm run build (npm run bench does)');
  process.exit(2);
}
mkdirSync(OUT, { recursive: true });
const work = path.join(os.tmpdir(), `mesh-webhook-bench-${process.pid}`);
mkdirSync(work, { recursive: true });
const { ensureDevCertificates } = await import(pathToFileURL(path.join(ROOT, 'dist/tls/devcert.js')).href);
const certs = await ensureDevCertificates(path.join(work, 'certs'), []);
const ca = certs.ca;

const machine = {
  nproc: os.availableParallelism(),
  cpu: os.cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  node: process.version,
  kernel: os.release(),
  date: new Date().toISOString(),
};
log(`bench ${MODE}: ${machine.nproc} CPUs (${machine.cpu}), ${machine.memoryGiB} GiB, Node ${machine.node}; work dir ${work}`);

const ready = (port) => async () => (await call(port, ca, 'GET', '/readyz')).status === 200;
const servers = [];
async function startService(extraArgs = [], label = 'service') {
  const port = await freePort();
  const prof = opt['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(opt['cpu-prof'])}`] : [];
  // Production settings: HTTPS with a certificate from files (watched), logging at info, one line per admission,
  // to a file (the servers' stdout, as a container runtime collects it), the overload guard on (its default).
  const args = [...prof, 'dist/cli/main.js', 'serve', '--port', String(port), '--host', '127.0.0.1', '--cert', certs.certPath, '--key', certs.keyPath, '--log-level', 'info', '--metrics-port', '0', ...extraArgs];
  const env = opt['node-options'] ? { NODE_OPTIONS: opt['node-options'] } : {};
  const p = await startProcess(label, args, { ready: ready(port), logFile: path.join(work, `${label}.log`), env });
  const s = { ...p, kind: 'service', label, port, command: `${env.NODE_OPTIONS ? `NODE_OPTIONS='${env.NODE_OPTIONS}' ` : ''}node ${args.join(' ')}` };
  servers.push(s);
  return s;
}
/** The echo floor, or with `answersFile` the payload floor (kind `payload`). */
async function startFloor(answersFile) {
  const port = await freePort();
  const kind = answersFile ? 'payload' : 'floor';
  const args = [path.join(BENCH, 'floor.mjs'), '--port', String(port), '--host', '127.0.0.1', '--cert', certs.certPath, '--key', certs.keyPath, ...(answersFile ? ['--answers', answersFile] : [])];
  const p = await startProcess(kind, args, { ready: async () => (await call(port, ca, 'GET', '/healthz')).status === 200, logFile: path.join(work, `${kind}.log`) });
  const s = { ...p, kind, port, command: `node ${args.join(' ')}` };
  servers.push(s);
  return s;
}
/** Body name → the service's answer for it with "__UID__" for its uid (the payload floor's answers). */
const answerTemplates = new Map();
const answerWithUid = (name, uid) => answerTemplates.get(name)?.replace('"__UID__"', JSON.stringify(uid));
/** Records the service's answer to each body and starts the payload floor with them. */
async function startPayloadFloor(list) {
  for (const body of list) {
    const text = readFileSync(fixtureFile(body.name));
    const uid = JSON.parse(text).request.uid;
    const res = await call(service.port, ca, 'POST', `${body.path}${QUERY}`, text);
    const at = res.body.indexOf(JSON.stringify(uid));
    if (res.status !== 200 || at < 0) throw new Error(`${body.name}: the service's answer (HTTP ${res.status}) does not carry the uid`);
    answerTemplates.set(body.name, `${res.body.slice(0, at)}"__UID__"${res.body.slice(at + JSON.stringify(uid).length)}`);
  }
  const file = path.join(work, 'answers.json');
  writeFileSync(file, JSON.stringify(Object.fromEntries(answerTemplates)));
  return startFloor(file);
}
const results = { mode: MODE, machine, params: P, commands: {}, checks: {}, matrix: [], growth: [], overload: [], pending: [] };
let service;
let floor;
let payload;
/** A fresh service process (the previous one stopped), so RSS and CPU belong to what runs next. */
async function freshService(extraArgs = []) {
  if (service) {
    await service.stop();
    servers.splice(servers.indexOf(service), 1);
  }
  service = await startService(extraArgs);
  return service;
}
/** Warm-up (not recorded): JIT and caches of both servers for these bodies. */
async function warmUp(list, seconds) {
  for (const body of list) for (const server of [service, floor, payload]) if (server) await runLoad(server, body, 10, seconds, 0);
  drainLog(service.logFile);
}
/** A service run, with the log lines it wrote (the service logs one line per admission). */
async function serviceRun(body, c, durationS, settleS) {
  drainLog(service.logFile);
  const r = await runLoad(service, body, c, durationS, settleS);
  r.logLines = drainLog(service.logFile);
  return r;
}

try {
  await freshService();
  floor = await startFloor();
  results.commands = { service: service.command, floor: floor.command, load: 'node bench/load.mjs <spec> (autocannon, one process per run)' };
  log(`service on ${service.port}, floor pid ${floor.pid} on ${floor.port}`);

  // Every body answered as expected by both, else its rows are left out (a 404 on /validate: "pending").
  const bodies = [];
  for (const body of BODIES) {
    const s = await checkAnswer(service, body, ca);
    const f = await checkAnswer(floor, body, ca);
    results.checks[body.name] = { service: s, floor: f };
    if (s.ok && f.ok) bodies.push(body);
    else {
      results.pending.push({ body: body.name, reason: s.ok ? `floor: ${f.problem}` : `service: ${s.problem}` });
      log(`  ${body.name}: left out (${s.ok ? f.problem : s.problem})`);
    }
  }
  const growthBodies = opt['no-growth'] ? [] : GROWTH.map((g) => ({ ...g, path: '/inject', expect: 'injected' }));
  for (const g of growthBodies) {
    const s = await checkAnswer(service, g, ca);
    if (!s.ok) throw new Error(`growth fixture ${g.name}: ${s.problem}`);
  }

  // The payload floor answers what the service answers (checked byte for byte, uid spliced).
  payload = await startPayloadFloor(bodies);
  results.commands.payload = payload.command;
  for (const body of bodies) {
    const pf = await checkAnswer(payload, body, ca);
    results.checks[body.name].payload = pf;
    if (!pf.ok) throw new Error(`payload floor, ${body.name}: ${pf.problem}`);
  }

  // The matrix: per body a fresh service process, then concurrency 1, 10, 50, 100, each A B C A B C ...
  if (!opt['no-matrix']) {
    for (const body of bodies) {
      await freshService();
      await warmUp([body], P.warmupS);
      for (const c of CONCURRENCY) {
        const svc = [];
        const flr = [];
        const pay = [];
        let retried = 0;
        await waitQuiet();
        for (let i = 0; i < P.reps; i++) {
          const [s, f, pf, n] = await runGroup(
            () => serviceRun(body, c, P.durationS, P.settleS),
            () => runLoad(floor, body, c, P.durationS, P.settleS),
            () => runLoad(payload, body, c, P.durationS, P.settleS),
          );
          svc.push(s);
          flr.push(f);
          pay.push(pf);
          retried += n;
        }
        const cell = {
          body: body.name,
          kb: fixtureKB(body.name),
          c,
          service: summarize(svc),
          floor: summarize(flr),
          payload: summarize(pay),
          rpsRatio: median(svc.map((s, i) => s.rps / flr[i].rps)),
          p99Ratio: median(svc.map((s, i) => s.latencyMs.p99 / flr[i].latencyMs.p99)),
          payloadRpsRatio: median(svc.map((s, i) => s.rps / pay[i].rps)),
          payloadP99Ratio: median(svc.map((s, i) => s.latencyMs.p99 / pay[i].latencyMs.p99)),
          payloadOverEcho: median(pay.map((p, i) => p.rps / flr[i].rps)),
          logLinesPerAnswer: svc.reduce((n, r) => n + r.logLines, 0) / Math.max(1, svc.reduce((n, r) => n + r.responses, 0)),
          retriedPairs: retried,
          runs: { service: svc, floor: flr, payload: pay },
        };
        results.matrix.push(cell);
        log(
          `  ${body.name.padEnd(8)} c=${String(c).padEnd(3)} service ${cell.service.rps.toFixed(0).padStart(5)}/s p99 ${cell.service.p99.toFixed(2)} ms p99.9 ${cell.service.p999.toFixed(2)} ms | echo ${cell.floor.rps.toFixed(0).padStart(5)}/s p99 ${cell.floor.p99.toFixed(2)} ms | payload ${cell.payload.rps.toFixed(0).padStart(5)}/s p99 ${cell.payload.p99.toFixed(2)} ms | ÷echo ${cell.rpsRatio.toFixed(2)} ÷payload ${cell.payloadRpsRatio.toFixed(2)} | RSS ${cell.service.rssMaxMiB.toFixed(0)} MiB`,
        );
      }
    }
  }

  // Cost growth at c=1 (one fresh service for all of them).
  if (growthBodies.length) {
    await freshService();
    await warmUp(growthBodies, MODE === 'full' ? 0.5 : 0.3);
  }
  for (const g of growthBodies) {
    const svc = [];
    const flr = [];
    await waitQuiet();
    for (let i = 0; i < P.growthReps; i++) {
      const [s, f] = await runGroup(() => serviceRun(g, 1, P.growthDurationS, P.settleS), () => runLoad(floor, g, 1, P.growthDurationS, P.settleS));
      svc.push(s);
      flr.push(f);
    }
    const row = { name: g.name, axis: g.axis, n: g.n, kb: fixtureKB(g.name), service: summarize(svc), floor: summarize(flr) };
    results.growth.push(row);
    log(`  growth ${g.name.padEnd(14)} service p50 ${row.service.p50.toFixed(3)} ms p99 ${row.service.p99.toFixed(3)} ms | floor p50 ${row.floor.p50.toFixed(3)} ms`);
  }

  // Overload: c=500 against a fresh service per body, the same service without its overload guard (before/after),
  // and the floor for reference.
  if (!opt['no-overload']) {
    for (const name of P.overloadBodies) {
      const body = BODIES.find((b) => b.name === name) ?? { name, path: '/inject' };
      const guardArgs = opt['guard-target-delay'] ? ['--overload-target-delay', opt['guard-target-delay']] : [];
      const targets = [await freshService(guardArgs)];
      let unguarded;
      if (!opt['no-unguarded']) targets.push((unguarded = await startService(['--no-overload-guard'], 'unguarded')));
      targets.push(floor);
      for (const server of targets) {
        await waitQuiet();
        const r = await runLoad(server, body, OVERLOAD_C, P.overloadS, P.overloadSettleS, { inspect: true });
        if (server.kind === 'service') drainLog(server.logFile);
        const label = server === service ? 'service' : server.label;
        results.overload.push({ server: label, body: name, c: OVERLOAD_C, durationS: P.overloadS, run: r });
        log(`  overload ${label.padEnd(9)} ${name.padEnd(7)} ${r.rps.toFixed(0)}/s p50 ${r.latencyAllMs.p50?.toFixed(1)} ms p99 ${r.latencyAllMs.p99?.toFixed(1)} ms p99.9 ${r.latencyAllMs.p999?.toFixed(1)} ms max ${r.latencyAllMs.max?.toFixed(1)} ms errors ${r.errors} timeouts ${r.timeouts} ${JSON.stringify(r.kinds)} RSS ${r.server.rssMaxMiB.toFixed(0)} MiB`);
      }
      if (unguarded) {
        await unguarded.stop();
        servers.splice(servers.indexOf(unguarded), 1);
      }
    }
  }
} finally {
  for (const s of servers) await s.stop().catch(() => {});
}
results.elapsedS = Math.round((Date.now() - started) / 1000);

// ---------------------------------------------------------------------------------------------------------------
// Report

const f1 = (v, d = 1) => (v === null || v === undefined || Number.isNaN(v) ? '–' : v.toFixed(d));
const ms = (v) => (v === null || v === undefined ? '–' : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0));
const md = [];
md.push(`## Results (${MODE} mode, ${results.machine.date.slice(0, 16).replace('T', ' ')} UTC, ${results.elapsedS} s)`);
md.push('');
md.push(`Machine: ${machine.nproc} CPUs (${machine.cpu}), ${machine.memoryGiB} GiB, Node ${machine.node}, Linux ${machine.kernel}. Load generator on the same machine.`);
if (limited) md.push(`Memory limit: every server ran in a memory cgroup of ${opt['memory-limit']} MiB (as the Deployment's \`limits.memory\`), its output read through a pipe from outside the cgroup (as a container runtime reads stdout); the cgroup's peak is the memory the limit applies to (anonymous memory and page cache charged to it; the node binary's pages, cached before, are not).`);
md.push(`Runs: ${P.durationS} s each (the first ${P.settleS} s not measured), ${P.reps} service/echo floor/payload floor groups per cell (A B C A B C), medians; a ratio is the median over the groups of service/floor. The echo floor answers \`allowed: true\`; the payload floor answers the service's own answer for the body (checked byte for byte, the request's uid spliced in): service ÷ payload floor is the service's own work, payload ÷ echo what sending its answer costs.`);
md.push('Latency percentiles are of answers on established connections (each connection\'s first answer, which also carries its accept wait and TLS handshake, is left out: the API server keeps its connections alive); the first answers are summarised apart (largest, over the runs).');
md.push('');
if (results.matrix.length) {
  md.push('### Throughput and latency');
  md.push('');
  md.push('| body | KB | answer KB | c | service req/s | echo floor req/s | payload floor req/s | ÷ echo | ÷ payload | payload ÷ echo | service p50 / p99 / p99.9 ms | echo floor p50 / p99 / p99.9 ms | payload floor p50 / p99 / p99.9 ms | first answer on a new connection, max ms (service / echo) | errors + non-2xx + shed (service / echo / payload) |');
  md.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const m of results.matrix) {
    const answerKB = (results.checks[m.body]?.service?.responseBytes ?? 0) / 1024;
    md.push(`| ${m.body} | ${f1(m.kb)} | ${f1(answerKB)} | ${m.c} | ${f1(m.service.rps, 0)} | ${f1(m.floor.rps, 0)} | ${f1(m.payload.rps, 0)} | ${f1(m.rpsRatio, 2)} | ${f1(m.payloadRpsRatio, 2)} | ${f1(m.payloadOverEcho, 2)} | ${ms(m.service.p50)} / ${ms(m.service.p99)} / ${ms(m.service.p999)} | ${ms(m.floor.p50)} / ${ms(m.floor.p99)} / ${ms(m.floor.p999)} | ${ms(m.payload.p50)} / ${ms(m.payload.p99)} / ${ms(m.payload.p999)} | ${ms(m.service.firstMax)} / ${ms(m.floor.firstMax)} | ${m.service.errors + m.service.non2xx + m.service.shed} / ${m.floor.errors + m.floor.non2xx} / ${m.payload.errors + m.payload.non2xx} |`);
  }
  for (const p of results.pending) md.push(`| ${p.body} | | | | pending | | | | | | | | | | ${p.reason} |`);
  md.push('');
  md.push('### Server CPU and memory (during the runs)');
  md.push('');
  md.push(`| body | c | service CPU % of a core | service CPU µs/request | echo floor CPU µs/request | payload floor CPU µs/request | service RSS max MiB (anonymous) | floor RSS max MiB (anonymous) | load generator CPU % (service runs) | other processes CPU % (max) | log lines per answer |${limited ? ` memory charged to the ${opt['memory-limit']} MiB cgroup, peak MiB (service / floor) | OOM kills (service / floor) |` : ''}`);
  md.push(`|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|${limited ? '--:|--:|' : ''}`);
  for (const m of results.matrix) {
    md.push(`| ${m.body} | ${m.c} | ${f1(m.service.cpuPct, 0)} | ${f1(m.service.cpuUsPerReq, 0)} | ${f1(m.floor.cpuUsPerReq, 0)} | ${f1(m.payload.cpuUsPerReq, 0)} | ${f1(m.service.rssMaxMiB, 0)} (${f1(m.service.anonMaxMiB, 0)}) | ${f1(m.floor.rssMaxMiB, 0)} (${f1(m.floor.anonMaxMiB, 0)}) | ${f1(m.service.loadGenCpuPct, 0)} | ${f1(Math.max(m.service.otherCpuPct, m.floor.otherCpuPct), 0)} | ${f1(m.logLinesPerAnswer, 2)} |${limited ? ` ${f1(m.service.cgroupPeakMiB, 0)} / ${f1(m.floor.cgroupPeakMiB, 0)} | ${m.service.oomKills} / ${m.floor.oomKills} |` : ''}`);
  }
  md.push('');
}
if (results.growth.length) {
  md.push('### Cost growth at c=1');
  md.push('');
  md.push('| pod | KB | service p50 ms | service p99 ms | floor p50 ms | floor p99 ms | service − floor p50 ms | service CPU µs/request |');
  md.push('|---|--:|--:|--:|--:|--:|--:|--:|');
  for (const g of results.growth) {
    md.push(`| ${g.axis === 'env' ? `1 container, ${g.n} env vars` : `${g.n} container${g.n > 1 ? 's' : ''}, 8 env each`} | ${f1(g.kb)} | ${ms(g.service.p50)} | ${ms(g.service.p99)} | ${ms(g.floor.p50)} | ${ms(g.floor.p99)} | ${ms(g.service.p50 - g.floor.p50)} | ${f1(g.service.cpuUsPerReq, 0)} |`);
  }
  md.push('');
  const series = (axis) => {
    const rows = results.growth.filter((g) => g.axis === axis);
    return [
      { name: 'service p50', color: [31, 119, 180], points: rows.map((g) => [g.n, g.service.p50]) },
      { name: 'service p99', color: [255, 127, 14], points: rows.map((g) => [g.n, g.service.p99]) },
      { name: 'floor p50', color: [120, 120, 120], dash: 6, points: rows.map((g) => [g.n, g.floor.p50]) },
    ];
  };
  const png = lineChart({
    title: `Latency at c=1 (${MODE} mode, ${machine.nproc} CPUs)`,
    panels: [
      { title: 'Containers (8 env vars each)', xLabel: 'containers in the pod', yLabel: 'latency (ms)', series: series('containers') },
      { title: 'Env vars (one container)', xLabel: 'env vars in the container', yLabel: 'latency (ms)', series: series('env') },
    ],
  });
  writeFileSync(path.join(OUT, `growth-${MODE}.png`), png);
  md.push(`![cost growth](growth-${MODE}.png)`);
  md.push('');
}
if (results.overload.length) {
  md.push(`### Overload: c=${OVERLOAD_C}`);
  md.push('');
  md.push('All answers, from the start of the run (new connections included: a burst of them is part of overload); the established-connection p99.9 apart. Timeouts: no answer within 10 s (the load generator then reconnects).');
  md.push('');
  md.push(`| server | body | duration s | answers/s | p50 ms | p99 ms | p99.9 ms | max ms | p99.9 ms, established connections | errors | timeouts | answers | RSS max MiB (anonymous) |${limited ? ` cgroup peak MiB (limit ${opt['memory-limit']}) | OOM kills |` : ''}`);
  md.push(`|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|${limited ? '--:|--:|' : ''}`);
  for (const o of results.overload) {
    const r = o.run;
    const a = r.latencyAllMs ?? r.latencyMs;
    md.push(`| ${o.server} | ${o.body} | ${o.durationS} | ${f1(r.rps, 0)} | ${ms(a.p50)} | ${ms(a.p99)} | ${ms(a.p999)} | ${ms(a.max)} | ${ms(r.latencyMs.p999)} | ${r.errors} | ${r.timeouts} | ${Object.entries(r.kinds ?? {}).map(([k, v]) => `${k}: ${v}`).join(', ')} | ${f1(r.server.rssMaxMiB, 0)} (${f1(r.server.anonMaxMiB, 0)}) |${r.server.cgroup ? ` ${f1(r.server.cgroup.peakMiB, 0)} | ${r.server.cgroup.oomKills} |` : ''}`);
  }
  md.push('');
}

// Targets
const cell = (b, c) => results.matrix.find((m) => m.body === b && m.c === c);
const targets = [];
// Issue 17's targets: the injecting bodies against the payload floor, the skip path against the echo floor.
for (const name of ['small', 'medium', 'large']) {
  const m = cell(name, 10);
  if (m) targets.push({ target: `${name} c=10: throughput ≥ 70% of the payload floor`, value: `${f1(m.payloadRpsRatio * 100, 0)}%`, met: m.payloadRpsRatio >= 0.7 });
}
const medium10 = cell('medium', 10);
if (medium10) targets.push({ target: 'medium c=10: p99 ≤ 5 ms', value: `${ms(medium10.service.p99)} ms`, met: medium10.service.p99 <= 5 });
const validate10 = cell('validate', 10);
if (validate10) targets.push({ target: 'validate c=10: throughput ≥ 70% of the payload floor', value: `${f1(validate10.payloadRpsRatio * 100, 0)}%`, met: validate10.payloadRpsRatio >= 0.7 });
const huge1 = cell('huge', 1);
if (huge1) targets.push({ target: 'huge c=1: p99 ≤ 20 ms', value: `${ms(huge1.service.p99)} ms`, met: huge1.service.p99 <= 20 });
for (const m of results.matrix.filter((x) => x.c === 100)) {
  targets.push({ target: `${m.body} c=100: p99.9 ≤ 250 ms`, value: `${ms(m.service.p999)} ms`, met: m.service.p999 <= 250 });
  const bad = m.service.errors + m.service.non2xx + m.service.shed;
  targets.push({ target: `${m.body} c=100: zero errors, non-2xx and shed answers`, value: String(bad), met: bad === 0 });
  targets.push({ target: `${m.body} c=100: RSS ≤ 150 MiB`, value: `${f1(m.service.rssMaxMiB, 0)} MiB`, met: m.service.rssMaxMiB <= 150 });
  if (limited) {
    targets.push({ target: `${m.body} c=100: memory charged to the ${opt['memory-limit']} MiB cgroup ≤ 150 MiB, no OOM kill`, value: `${f1(m.service.cgroupPeakMiB, 0)} MiB, ${m.service.oomKills} OOM kills`, met: m.service.cgroupPeakMiB <= 150 && m.service.oomKills === 0 });
  }
}
for (const m of results.matrix.filter((x) => x.body === 'skip' && (x.c === 1 || x.c === 10))) {
  targets.push({ target: `skip c=${m.c}: throughput ≥ 95% of the echo floor`, value: `${f1(m.rpsRatio * 100, 0)}%`, met: m.rpsRatio >= 0.95 });
}
results.targets = targets;
if (targets.length) {
  md.push('### Targets');
  md.push('');
  md.push('| target | measured | |');
  md.push('|---|--:|---|');
  for (const t of targets) md.push(`| ${t.target} | ${t.value} | ${t.met ? 'met' : '**missed**'} |`);
  md.push('');
}

writeFileSync(path.join(OUT, `${MODE}.json`), `${JSON.stringify(results, null, 1)}\n`);
writeFileSync(path.join(OUT, `${MODE}.md`), `${md.join('\n')}\n`);
process.stdout.write(`${md.join('\n')}\n`);
log(`bench ${MODE}: done in ${results.elapsedS} s; ${path.relative(ROOT, path.join(OUT, `${MODE}.md`))}, ${MODE}.json${results.growth.length ? `, growth-${MODE}.png` : ''}`);
