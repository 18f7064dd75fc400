// Hostile input under the Deployment's memory limit: the real `mesh-webhook serve` in a 256 MiB memory cgroup, with
// the image's Node flags (`--max-semi-space-size=16`, Dockerfile ENTRYPOINT), attacked with the requests and
// connections of the security finding ("any pod that can reach the service can OOM-kill it or stall it"), the current
// build against the build before the fixes (commit d935ea2). 127.0.0.1 only; every run and request is bounded.
//
//   npm run bench:hostile                     full mode (~12 min): results in bench/results/hostile.{md,json}
//   ./node_modules/.bin/node bench/hostile.mjs --quick
//                                             quick mode (~3 min): bench/results/hostile-quick.{md,json}
//
// Options: --only 1a,5b (scenario ids)  --no-before (current build only)  --before DIR (default /tmp/mw-before)
//   --before-commit REV (default d935ea2)  --out DIR (default bench/results)  --memory-limit MiB (default 256)
//   --no-wait (do not wait for other processes to quiet down before each scenario)  --reps N (runs per build of the
//   scenarios that are repeated; full: 2)  --keep-work (keep the work dir in /tmp: bodies, certificates, server logs)
// Scenarios (ids as in bench/RESULTS.md): 1a-1c /inject with hundreds of thousands of labels, 2 /explain, 3-3b
// /validate, 4a-4d the most expensive pods within the count caps, 5a-5c connection floods, 6 a normal baseline.
// The before build: when DIR has no dist/cli/main.js, it is made with `git worktree add --detach DIR REV`,
// node_modules symlinked from this checkout and `tsc -p tsconfig.json` (left in place for the next run; remove it
// with `git worktree remove --force DIR`).
//
// Each scenario runs against a fresh server (so the cgroup's peak belongs to it): 20 normal admissions to warm it up,
// the cgroup's peak reset, then the attack from a separate process (bench/hostile.mjs --role send|flood), while this
// process sends a normal AdmissionReview every 500 ms (keep-alive, as the API server) and samples the cgroup. Then:
// did the process die (and how: the kernel's OOM killer, V8's heap limit), one normal AdmissionReview on a new
// connection (answered? how long?), the server's log lines (durationMs), its counters (/metrics).
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BENCH = path.join(ROOT, 'bench');
const NODE = process.execPath;
const MiB = 1024 * 1024;
const QUERY = '?timeout=10s';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);

if (Number(process.versions.node.split('.')[0]) < 24) {
  console.error(`bench/hostile: needs Node 24 (running ${process.version}); use npm run bench:hostile or ./node_modules/.bin/node bench/hostile.mjs`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------------------------
// The attacking processes (their own event loops and CPU, as another pod would be). Each prints one JSON line.

/** How an answer is classified: the AdmissionReview's verdict (allowed/denied, code, first words of the message) or the HTTP status. */
function kindOf(status, text) {
  if (status !== 200) {
    let err = '';
    try {
      err = String(JSON.parse(text).error ?? '');
    } catch {
      // not JSON
    }
    return `http ${status}${err ? `: ${err.slice(0, 60)}` : ''}`;
  }
  // Only the head of a large answer is parsed for its verdict (an explanation can be large).
  const head = text.length > 4096 ? text.slice(0, 4096) : text;
  if (/"kind":"AdmissionReview"/.test(head) || /"response":\{/.test(head)) {
    if (/"allowed":true/.test(head)) return /"patch":"/.test(head) ? 'injected' : 'allowed';
    const code = /"code":(\d+)/.exec(head)?.[1] ?? '?';
    const message = /"message":"([^"]{0,60})/.exec(head)?.[1] ?? '';
    return `denied ${code}${message ? `: ${message}` : ''}`;
  }
  return 'explained';
}

/** One HTTPS POST; resolves { ms, status, kind, bytes } or { ms, error }. Never rejects. */
function post(port, urlPath, body, { agent, timeoutMs }) {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (r) => {
      if (settled) return;
      settled = true;
      resolve({ ms: Math.round((performance.now() - t0) * 10) / 10, ...r });
    };
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `${urlPath}${QUERY}`,
        rejectUnauthorized: false,
        servername: 'localhost',
        agent: agent ?? false,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          done({ status: res.statusCode, kind: kindOf(res.statusCode, text), bytes: text.length });
        });
        res.on('error', (err) => done({ error: err.code ?? err.message }));
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (err) => done({ error: err.code ?? err.message }));
    req.end(body);
  });
}

/** --role send: `count` POSTs of one body with up to `concurrency` in flight (new connections unless keepAlive). */
async function roleSend(spec) {
  const body = readFileSync(spec.bodyFile);
  const agent = spec.keepAlive ? new Agent({ keepAlive: true, maxSockets: spec.concurrency, rejectUnauthorized: false }) : undefined;
  const started = performance.now();
  const results = [];
  let next = 0;
  const worker = async () => {
    while (next < spec.count) {
      const i = next++;
      const startMs = performance.now() - started;
      const r = await post(spec.port, spec.path, body, { agent, timeoutMs: spec.timeoutMs });
      results[i] = { startMs: Math.round(startMs), ...r };
    }
  };
  await Promise.all(Array.from({ length: Math.min(spec.concurrency, spec.count) }, worker));
  agent?.destroy();
  const u = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ results, wallMs: Math.round(performance.now() - started), cpuS: (u.user + u.system) / 1e6 })}\n`);
}

/**
 * --role flood: `n` connections (TLS with the handshake completed, or plain TCP that never starts TLS), opened as fast
 * as this process can (at most `inFlight` not yet established at a time), held `holdMs` after the last one was opened,
 * then closed. Counts what the server closed meanwhile, and when.
 */
async function roleFlood(spec) {
  const started = performance.now();
  const now = () => performance.now() - started;
  let attempted = 0;
  let pending = 0;
  let established = 0;
  let failed = 0;
  let open = 0;
  let peakOpen = 0;
  let closedByServer = 0;
  let closing = false;
  const handshakeMs = [];
  const closedAt = [];
  const errors = {};
  const sockets = new Set();
  let allOpened;
  const openedAll = new Promise((r) => (allOpened = r));
  const openOne = () => {
    attempted++;
    pending++;
    const t0 = performance.now();
    const s = spec.tls
      ? tls.connect({ host: '127.0.0.1', port: spec.port, servername: 'localhost', rejectUnauthorized: false })
      : net.connect({ host: '127.0.0.1', port: spec.port });
    sockets.add(s);
    let up = false;
    s.once(spec.tls ? 'secureConnect' : 'connect', () => {
      up = true;
      established++;
      open++;
      if (open > peakOpen) peakOpen = open;
      handshakeMs.push(performance.now() - t0);
      pending--;
      refill();
    });
    s.on('error', (err) => {
      errors[err.code ?? err.message] = (errors[err.code ?? err.message] ?? 0) + 1;
    });
    s.on('data', () => {}); // TLS 1.3 session tickets
    s.once('close', () => {
      sockets.delete(s);
      if (!up) {
        failed++;
        pending--;
        refill();
      } else {
        open--;
        if (!closing) {
          closedByServer++;
          closedAt.push(now());
        }
      }
    });
  };
  const refill = () => {
    while (attempted < spec.n && pending < spec.inFlight && now() < spec.openTimeoutMs) openOne();
    if (pending === 0 && (attempted >= spec.n || now() >= spec.openTimeoutMs)) allOpened();
  };
  refill();
  const openGuard = setTimeout(() => allOpened(), spec.openTimeoutMs + 5_000);
  await openedAll;
  clearTimeout(openGuard);
  const openMs = now();
  const openAfterOpening = open;
  await sleep(spec.holdMs);
  closing = true;
  const openAtEnd = open;
  for (const s of sockets) s.destroy();
  handshakeMs.sort((a, b) => a - b);
  const pct = (p) => (handshakeMs.length ? Math.round(handshakeMs[Math.min(handshakeMs.length - 1, Math.ceil((p / 100) * handshakeMs.length) - 1)]) : null);
  const closedPerSecond = [];
  for (const t of closedAt) closedPerSecond[Math.floor(t / 1000)] = (closedPerSecond[Math.floor(t / 1000)] ?? 0) + 1;
  const u = process.cpuUsage();
  process.stdout.write(
    `${JSON.stringify({
      wanted: spec.n,
      attempted,
      established,
      failed,
      peakOpen,
      openAfterOpening,
      openAtEnd,
      closedByServer,
      openMs: Math.round(openMs),
      holdMs: spec.holdMs,
      handshakeMs: { p50: pct(50), p99: pct(99), max: pct(100) },
      closedPerSecond: Array.from(closedPerSecond, (x) => x ?? 0),
      errors,
      cpuS: (u.user + u.system) / 1e6,
    })}\n`,
  );
  process.exit(0);
}

const ROLE = process.argv[2] === '--role' ? process.argv[3] : 'main';
if (ROLE === 'send') await roleSend(JSON.parse(process.argv[4]));
else if (ROLE === 'flood') await roleFlood(JSON.parse(process.argv[4]));
else await main();

// ---------------------------------------------------------------------------------------------------------------
// The bench.

/**
 * The Node flags the image runs the service with: the arguments between the node binary and dist/cli/main.js in the
 * build's Dockerfile ENTRYPOINT (so the bench follows the image when its flags change).
 */
function imageNodeFlags(dir) {
  const dockerfile = readFileSync(path.join(dir, 'Dockerfile'), 'utf8');
  const line = dockerfile.split('\n').find((l) => l.startsWith('ENTRYPOINT'));
  const words = line ? JSON.parse(line.slice('ENTRYPOINT'.length).trim()) : [];
  const main = words.indexOf('dist/cli/main.js');
  return main > 1 ? words.slice(1, main) : [];
}

async function main() {
  const { values: opt } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      'no-before': { type: 'boolean', default: false },
      before: { type: 'string', default: '/tmp/mw-before' },
      'before-commit': { type: 'string', default: 'd935ea2' },
      out: { type: 'string' },
      'memory-limit': { type: 'string', default: '256' },
      'no-wait': { type: 'boolean', default: false },
      reps: { type: 'string' },
      'keep-work': { type: 'boolean', default: false },
    },
  });
  const MODE = opt.quick ? 'quick' : 'full';
  const LIMIT_MIB = Number(opt['memory-limit']);
  const P = {
    // quick: a subset (one TLS flood; of the /validate attacks only two 12 MiB reviews; of the capped pods only the
    // padded ones), one run each, shorter holds.
    quick: { floodHoldMs: 3_000, baselineCount: 300, quietMaxS: 0, cappedAloneCount: 2, scenarios: ['1a', '1b', '1c', '2', '3b', '4d', '5b', '6'], reps: 1, repeated: [] },
    // full: every scenario; the request attacks nearest to the edge between surviving and not run twice per build.
    full: { floodHoldMs: 15_000, baselineCount: 1000, quietMaxS: 3, cappedAloneCount: 3, scenarios: undefined, reps: 2, repeated: ['1a', '1c', '2', '3b', '4d'] },
  }[MODE];
  if (opt.reps) P.reps = Number(opt.reps);
  const OUT = path.resolve(opt.out ?? path.join(BENCH, 'results'));
  const BASENAME = MODE === 'full' ? 'hostile' : 'hostile-quick';
  const { readMachine, readProc, sampleProcess } = await import(pathToFileURL(path.join(BENCH, 'procstat.mjs')).href);
  const started = Date.now();

  if (!existsSync(path.join(ROOT, 'dist/cli/main.js'))) {
    console.error('bench/hostile: dist/ is missing; run npm run build (npm run bench:hostile does)');
    process.exit(2);
  }
  mkdirSync(OUT, { recursive: true });
  const work = path.join(os.tmpdir(), `mesh-webhook-hostile-${process.pid}`);
  mkdirSync(work, { recursive: true });

  const git = (...args) => {
    try {
      return execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };

  // The builds: the current one (this checkout's dist/) and the one before the fixes.
  const builds = [];
  if (!opt['no-before']) {
    const dir = path.resolve(opt.before);
    try {
      if (!existsSync(path.join(dir, 'dist/cli/main.js'))) {
        if (!existsSync(dir)) {
          log(`before build: git worktree add --detach ${dir} ${opt['before-commit']}`);
          execFileSync('git', ['-C', ROOT, 'worktree', 'add', '--detach', dir, opt['before-commit']], { stdio: ['ignore', 'ignore', 'inherit'] });
        }
        if (!existsSync(path.join(dir, 'node_modules'))) symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
        log(`before build: tsc -p tsconfig.json in ${dir}`);
        execFileSync(path.join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: dir, stdio: 'inherit' });
      }
      const commit = execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
      builds.push({ name: 'before', dir, commit, subject: execFileSync('git', ['-C', dir, 'log', '-1', '--format=%s'], { encoding: 'utf8' }).trim(), hasExplainFlag: false });
    } catch (err) {
      log(`before build unavailable (${err.message}); measuring the current build only`);
    }
  }
  const dirty = git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean);
  builds.push({ name: 'after', dir: ROOT, commit: git('rev-parse', '--short', 'HEAD'), subject: git('log', '-1', '--format=%s'), uncommittedSrc: dirty, hasExplainFlag: true });

  const { ensureDevCertificates } = await import(pathToFileURL(path.join(ROOT, 'dist/tls/devcert.js')).href);
  const certs = await ensureDevCertificates(path.join(work, 'certs'), []);

  const machine = {
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: os.release(),
    date: new Date().toISOString(),
  };
  log(`bench hostile ${MODE}: ${machine.nproc} CPUs, Node ${machine.node}, limit ${LIMIT_MIB} MiB; builds: ${builds.map((b) => `${b.name} ${b.commit}`).join(', ')}; work dir ${work}`);

  // -------------------------------------------------------------------------------------------------------------
  // Bodies (written to the work dir; the attacking process reads them).

  const medium = JSON.parse(readFileSync(path.join(BENCH, 'fixtures/medium.json'), 'utf8'));
  const deploymentReview = JSON.parse(readFileSync(path.join(BENCH, 'fixtures/validate.json'), 'utf8'));
  const normalBody = readFileSync(path.join(BENCH, 'fixtures/medium.json'));
  const FILL = '__hostile_fill__';

  /**
   * `review` with keys (labels `l0: v`, `l1: v`, ...; or `item(i)`) added to the object `labelsOf(review)` until the
   * body is as large as it may be (`targetBytes`); returns the body and the number of keys added.
   */
  function fillLabels(review, labelsOf, targetBytes, item = (i) => `"l${i}":"v"`, podName = 'hostile-labels-') {
    const copy = structuredClone(review);
    // Its own name, to tell its log lines from the normal requests' (bench/fixtures/medium.json: orders-...).
    if (copy.request.object.kind === 'Pod') copy.request.object.metadata.generateName = podName;
    const labels = labelsOf(copy);
    labels[FILL] = 'x';
    const text = JSON.stringify(copy);
    const placeholder = `"${FILL}":"x"`;
    let budget = targetBytes - (Buffer.byteLength(text) - placeholder.length);
    const parts = [];
    for (let i = 0; ; i++) {
      const text = item(i);
      const cost = text.length + (i > 0 ? 1 : 0);
      if (cost > budget) break;
      parts.push(text);
      budget -= cost;
    }
    // The placeholder follows the existing labels (with its comma); the last added label needs none after it.
    const body = Buffer.from(text.replace(placeholder, parts.join(',')));
    JSON.parse(body.toString()); // still JSON
    return { body, labels: parts.length };
  }

  /** A pod at every count cap at once (src/admission/limits.ts), every container with probes, ports and mounts. */
  function cappedPod() {
    const base = medium.request.object;
    const containers = [];
    for (let i = 0; i < 256; i++) {
      const ports = Array.from({ length: 8 }, (_, j) => ({ name: `p${i}-${j}`, containerPort: 10000 + i * 8 + j, protocol: 'TCP' }));
      containers.push({
        name: `app-${i}`,
        image: `registry.example.com/team/app-${i}:1.0.${i}`,
        ports,
        env: Array.from({ length: 32 }, (_, j) => ({ name: `SETTING_${i}_${j}`, value: `value-${i}-${j}` })),
        resources: { limits: { cpu: '100m', memory: '64Mi' }, requests: { cpu: '10m', memory: '32Mi' } },
        volumeMounts: Array.from({ length: 16 }, (_, j) => ({ name: `vol-${(i * 16 + j) % 1024}`, mountPath: `/data/${i}/${j}` })),
        livenessProbe: { httpGet: { path: '/healthz', port: `p${i}-0`, scheme: 'HTTP' }, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
        readinessProbe: { httpGet: { path: '/ready', port: 10000 + i * 8 + 1, scheme: 'HTTP' }, periodSeconds: 5, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
        startupProbe: { tcpSocket: { port: `p${i}-2` }, periodSeconds: 5, failureThreshold: 30, timeoutSeconds: 1, successThreshold: 1 },
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
        imagePullPolicy: 'IfNotPresent',
      });
    }
    const labels = { app: 'capped', version: 'v1' };
    for (let i = 0; Object.keys(labels).length < 1024; i++) labels[`example.com/label-${i}`] = `value-${i}`;
    // 1,024 annotations, keys and values just within 256 KiB.
    const keys = Array.from({ length: 1024 }, (_, i) => `example.com/annotation-${i}`);
    const keyBytes = keys.reduce((n, k) => n + k.length, 0);
    const valueLength = Math.floor((256 * 1024 - keyBytes) / 1024);
    const annotations = Object.fromEntries(keys.map((k, i) => [k, String(i).padEnd(valueLength, 'x')]));
    const pod = {
      ...base,
      metadata: { ...base.metadata, generateName: 'capped-5d9f7c-', labels, annotations },
      spec: {
        ...base.spec,
        containers,
        volumes: Array.from({ length: 1024 }, (_, i) => ({ name: `vol-${i}`, emptyDir: {} })),
      },
    };
    return { ...medium, request: { ...medium.request, object: pod } };
  }

  const bodies = {};
  const bodyFile = (name, buf) => {
    const file = path.join(work, `${name}.json`);
    writeFileSync(file, buf);
    return file;
  };
  const genT0 = performance.now();
  for (const [name, limit] of [['labels6', 6 * MiB], ['labels3', 3 * MiB]]) {
    const { body, labels } = fillLabels(medium, (r) => r.request.object.metadata.labels, limit);
    bodies[name] = { file: bodyFile(name, body), bytes: body.length, labels };
  }
  for (const [name, limit] of [['validate6', 6 * MiB], ['validate12', 12 * MiB]]) {
    const { body, labels } = fillLabels(deploymentReview, (r) => r.request.object.spec.template.metadata.labels, limit);
    bodies[name] = { file: bodyFile(name, body), bytes: body.length, labels };
  }
  {
    // Within every cap, padded to the body limit with a field no cap counts: the managed-fields record (the API
    // server keeps what a client sends there), ~426,000 keys.
    const { body, labels } = fillLabels(medium, (r) => r.request.object.metadata.managedFields[0].fieldsV1, 6 * MiB, (i) => `"f:l${i}":{}`, 'bloated-');
    bodies.managed6 = { file: bodyFile('managed6', body), bytes: body.length, keys: labels };
  }
  {
    const body = Buffer.from(JSON.stringify(cappedPod()));
    bodies.capped = { file: bodyFile('capped', body), bytes: body.length };
  }
  bodies.normal = { file: bodyFile('normal', normalBody), bytes: normalBody.length };
  log(`bodies made in ${((performance.now() - genT0) / 1000).toFixed(1)} s: ${Object.entries(bodies).map(([k, b]) => `${k} ${(b.bytes / MiB).toFixed(2)} MiB${b.labels ? ` (${b.labels.toLocaleString('en-US')} labels)` : b.keys ? ` (${b.keys.toLocaleString('en-US')} managedFields keys)` : ''}`).join(', ')}`);

  // -------------------------------------------------------------------------------------------------------------
  // Scenarios. `attack` is run by the attacking process; `before`/`after` override per build.

  const MAX_BODY = { before: { validate: 6 * MiB }, after: { validate: 12 * MiB } };
  const SCENARIOS = [
    { id: '1a', title: 'one 6 MiB review with ~450,000 labels to /inject', attack: { role: 'send', path: '/inject', body: 'labels6', count: 1, concurrency: 1 } },
    { id: '1b', title: 'six 3 MiB reviews with ~232,000 labels each to /inject, at once', attack: { role: 'send', path: '/inject', body: 'labels3', count: 6, concurrency: 6 } },
    { id: '1c', title: 'ten 6 MiB reviews with ~450,000 labels to /inject, at once (60 MiB: within the overload guard\'s 64 MiB of bodies in flight)', attack: { role: 'send', path: '/inject', body: 'labels6', count: 10, concurrency: 10 } },
    { id: '2', title: 'two 6 MiB reviews with ~450,000 labels to /explain, at once', attack: { role: 'send', path: '/explain', body: 'labels6', count: 2, concurrency: 2 } },
    {
      id: '3',
      title: 'twelve /validate reviews at once, a Deployment full of labels, the largest body each build accepts (before 6 MiB, after 12 MiB)',
      attack: (build) => ({ role: 'send', path: '/validate', body: MAX_BODY[build.name].validate === 12 * MiB ? 'validate12' : 'validate6', count: 12, concurrency: 12 }),
    },
    { id: '3s', title: 'the same twelve with 6 MiB bodies (the current build only: the same bodies as the build before got)', builds: ['after'], attack: { role: 'send', path: '/validate', body: 'validate6', count: 12, concurrency: 12 } },
    { id: '3a', title: 'one 12 MiB /validate review, a Deployment with ~906,000 labels (the current build only; the build before refused it: 413)', builds: ['after'], attack: { role: 'send', path: '/validate', body: 'validate12', count: 1, concurrency: 1 } },
    { id: '3b', title: 'two 12 MiB /validate reviews (as 3a) at once (the current build only)', builds: ['after'], attack: { role: 'send', path: '/validate', body: 'validate12', count: 2, concurrency: 2 } },
    { id: '4a', title: `the most expensive pod within every cap (256 containers with probes and ports, 8,192 env, 2,048 ports, 1,024 labels, 1,024 annotations in 256 KiB, 1,024 volumes, 4,096 mounts) to /inject, alone (${P.cappedAloneCount} in a row)`, attack: { role: 'send', path: '/inject', body: 'capped', count: P.cappedAloneCount, concurrency: 1 } },
    { id: '4b', title: 'ten pods at every cap (as 4a) at once', attack: { role: 'send', path: '/inject', body: 'capped', count: 10, concurrency: 10 } },
    { id: '4c', title: 'a pod within every cap, padded to the 6 MiB body limit with a field no cap counts (~426,000 keys in metadata.managedFields), to /inject', attack: { role: 'send', path: '/inject', body: 'managed6', count: 1, concurrency: 1 } },
    { id: '4d', title: 'six such padded pods (as 4c) at once', attack: { role: 'send', path: '/inject', body: 'managed6', count: 6, concurrency: 6 } },
    { id: '5a', title: `3,000 idle TLS connections (handshake done, no request), held ${P.floodHoldMs / 1000} s`, attack: { role: 'flood', tls: true, n: 3000 } },
    { id: '5b', title: `8,000 idle TLS connections, held ${P.floodHoldMs / 1000} s`, attack: { role: 'flood', tls: true, n: 8000 } },
    { id: '5c', title: `8,000 plain TCP connections that never start TLS, held ${P.floodHoldMs / 1000} s`, attack: { role: 'flood', tls: false, n: 8000 } },
    { id: '6', title: `baseline: ${P.baselineCount.toLocaleString('en-US')} normal admissions (medium pod) at c=10`, probe: false, attack: { role: 'send', path: '/inject', body: 'normal', count: P.baselineCount, concurrency: 10, keepAlive: true } },
  ].filter((s) => (opt.only ? opt.only.split(',').includes(s.id) : !P.scenarios || P.scenarios.includes(s.id)));

  // -------------------------------------------------------------------------------------------------------------
  // Servers in memory cgroups (as bench/run.mjs --memory-limit).

  /** A memory cgroup (v2, else v1) of `limitMiB`, as the Deployment's limits.memory. */
  function memoryCgroup(name, limitMiB) {
    const v2 = '/sys/fs/cgroup';
    const v1 = '/sys/fs/cgroup/memory';
    if (existsSync(`${v2}/cgroup.controllers`) && readFileSync(`${v2}/cgroup.subtree_control`, 'utf8').includes('memory')) {
      const dir = `${v2}/${name}`;
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${dir}/memory.max`, String(limitMiB * MiB));
      writeFileSync(`${dir}/memory.swap.max`, '0');
      const events = () => readFileSync(`${dir}/memory.events`, 'utf8');
      return {
        version: 2,
        procs: `${dir}/cgroup.procs`,
        usageMiB: () => Number(readFileSync(`${dir}/memory.current`, 'utf8')) / MiB,
        peakMiB: () => (existsSync(`${dir}/memory.peak`) ? Number(readFileSync(`${dir}/memory.peak`, 'utf8')) / MiB : NaN),
        resetPeak: () => {
          try {
            writeFileSync(`${dir}/memory.peak`, '0');
          } catch {
            // kernels before 6.12 cannot reset it
          }
        },
        oomKills: () => Number(/^oom_kill (\d+)/m.exec(events())?.[1] ?? 0),
        tcpPeakMiB: () => NaN, // charged to memory.current on v2
        remove: () => rmdirSync(dir),
      };
    }
    if (existsSync(`${v1}/memory.limit_in_bytes`)) {
      const dir = `${v1}/${name}`;
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${dir}/memory.limit_in_bytes`, String(limitMiB * MiB));
      // On v1 socket buffers are not charged to the memory the limit applies to (on v2 they are); they are counted
      // apart once a TCP limit is set: set one no socket reaches, to report them.
      let tcp = false;
      try {
        writeFileSync(`${dir}/memory.kmem.tcp.limit_in_bytes`, String(64 * 1024 * MiB));
        tcp = true;
      } catch {
        // not available on this kernel
      }
      const read = (f) => Number(readFileSync(`${dir}/${f}`, 'utf8'));
      return {
        version: 1,
        procs: `${dir}/cgroup.procs`,
        usageMiB: () => read('memory.usage_in_bytes') / MiB,
        peakMiB: () => read('memory.max_usage_in_bytes') / MiB,
        resetPeak: () => {
          writeFileSync(`${dir}/memory.max_usage_in_bytes`, '0');
          if (tcp) writeFileSync(`${dir}/memory.kmem.tcp.max_usage_in_bytes`, '0');
        },
        oomKills: () => Number(/^oom_kill (\d+)/m.exec(readFileSync(`${dir}/memory.oom_control`, 'utf8'))?.[1] ?? 0),
        tcpPeakMiB: () => (tcp ? read('memory.kmem.tcp.max_usage_in_bytes') / MiB : NaN),
        remove: () => rmdirSync(dir),
      };
    }
    throw new Error('no memory cgroup controller (needs root and cgroup v1 or v2 with memory)');
  }

  /** GET on the server (readiness, metrics); { status, body } or undefined. */
  function get(port, urlPath, timeoutMs = 3000) {
    return new Promise((resolve) => {
      const req = httpsRequest({ host: '127.0.0.1', port, method: 'GET', path: urlPath, ca: certs.ca, servername: 'localhost', agent: false }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve(undefined));
      req.end();
    });
  }

  function freePort() {
    return new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port } = srv.address();
        srv.close(() => resolve(port));
      });
    });
  }

  let serverSeq = 0;
  /**
   * `serve` of a build in a fresh memory cgroup, as the image runs it: `node --max-semi-space-size=16
   * dist/cli/main.js serve`, HTTPS with certificate files, log level info, no metrics listener, /explain on (the
   * build before had it always on). Its output goes through a pipe read here, outside the cgroup (as a container
   * runtime reads stdout), into a log file.
   */
  async function startServer(build, label) {
    const port = await freePort();
    const cgroup = memoryCgroup(`mesh-webhook-hostile-${process.pid}-${++serverSeq}`, LIMIT_MIB);
    const args = [...imageNodeFlags(build.dir), 'dist/cli/main.js', 'serve', '--port', String(port), '--host', '127.0.0.1', '--cert', certs.certPath, '--key', certs.keyPath, '--log-level', 'info', '--metrics-port', '0', ...(build.hasExplainFlag ? ['--explain'] : [])];
    const logFile = path.join(work, `${build.name}-${label}.log`);
    const child = spawn('/bin/sh', ['-c', 'echo $$ > "$0" && exec "$@"', cgroup.procs, NODE, ...args], { cwd: build.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = createWriteStream(logFile);
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    const t0 = performance.now();
    let exitInfo;
    const exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        exitInfo = { code, signal, atMs: performance.now() };
        resolve(exitInfo);
      }),
    );
    for (;;) {
      if (exitInfo) throw new Error(`${build.name} serve exited (${exitInfo.code ?? exitInfo.signal}) before it was ready; see ${logFile}`);
      if ((await get(port, '/readyz', 1000))?.status === 200) break;
      if (performance.now() - t0 > 30_000) {
        child.kill('SIGKILL');
        throw new Error(`${build.name} serve not ready after 30 s; see ${logFile}`);
      }
      await sleep(100);
    }
    return {
      port,
      pid: child.pid,
      cgroup,
      logFile,
      command: `node ${args.join(' ')}`,
      exitInfo: () => exitInfo,
      async stop() {
        if (!exitInfo) {
          child.kill('SIGINT');
          const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
          await exited;
          clearTimeout(t);
        }
        await new Promise((r) => out.end(r));
        for (let i = 0; i < 20; i++) {
          try {
            cgroup.remove();
            break;
          } catch {
            await sleep(100);
          }
        }
      },
    };
  }

  /** The attacking process; resolves its JSON line (bounded: killed after `limitMs`). */
  function runAttacker(spec, limitMs) {
    return new Promise((resolve) => {
      const child = spawn(NODE, [fileURLToPath(import.meta.url), '--role', spec.role, JSON.stringify(spec)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (c) => (out += c));
      child.stderr.on('data', (c) => (err += c));
      const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
      child.on('exit', (code, signal) => {
        clearTimeout(killer);
        try {
          resolve(JSON.parse(out));
        } catch {
          resolve({ failed: `attacker exited ${code ?? signal}: ${err.slice(0, 300)}` });
        }
      });
    });
  }

  /**
   * A normal AdmissionReview every `intervalMs` until stop() (each with its own 10 s timeout, as the API server's
   * budget), on keep-alive connections as the API server keeps them; a request that meets a connection the server
   * closed while idle is retried once on a new one (as Go's HTTP client does).
   */
  function startProber(port, intervalMs = 500) {
    const agent = new Agent({ keepAlive: true, maxSockets: 10, rejectUnauthorized: false });
    const t0 = performance.now();
    const probes = [];
    const inflight = [];
    const one = async () => {
      const at = performance.now() - t0;
      let r = await post(port, '/inject', normalBody, { agent, timeoutMs: 10_000 });
      let retried = false;
      if (r.error === 'ECONNRESET' || r.error === 'EPIPE') {
        retried = true;
        const r2 = await post(port, '/inject', normalBody, { agent, timeoutMs: Math.max(1, 10_000 - r.ms) });
        r = { ...r2, ms: r.ms + r2.ms };
      }
      probes.push({ atMs: Math.round(at), ...r, retried, ok: r.kind === 'injected' });
    };
    const timer = setInterval(() => inflight.push(one()), intervalMs);
    inflight.push(one());
    return {
      async stop() {
        clearInterval(timer);
        await Promise.all(inflight);
        agent.destroy();
        return probes.sort((a, b) => a.atMs - b.atMs);
      },
    };
  }

  /** Lines of the server's log: durationMs of admission/validation/explanation lines, and fatal errors. */
  function readServerLog(file) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return { lines: [], fatal: undefined };
    }
    const lines = [];
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const j = JSON.parse(line);
        if (typeof j.durationMs === 'number' || ['admission', 'validation', 'explanation', 'request refused'].includes(j.msg)) {
          lines.push({ msg: j.msg, durationMs: j.durationMs, reason: j.reason, decision: j.decision, statusCode: j.statusCode, error: typeof j.error === 'string' ? j.error.slice(0, 100) : undefined, pod: j.pod });
        } else if (j.level >= 40) lines.push({ msg: j.msg, level: j.level, ...(j.component ? { component: j.component } : {}) });
      } catch {
        // not a log line
      }
    }
    const fatal = /FATAL ERROR[^\n]*|JavaScript heap out of memory[^\n]*|Allocation failed[^\n]*/.exec(text)?.[0];
    return { lines, fatal };
  }

  /** Counters from GET /metrics that the attacks move. */
  async function counters(port) {
    const res = await get(port, '/metrics');
    if (res?.status !== 200) return undefined;
    const out = {};
    for (const m of res.body.matchAll(/^(mesh_webhook_(?:overload_shed_total|connections_closed_total|connections)(?:\{[^}]*\})?) (\d+(?:\.\d+)?)/gm)) out[m[1]] = Number(m[2]);
    return out;
  }

  /** Waits (up to `maxS`) until other processes use less than 25 % of one CPU over 0.5 s (as bench/run.mjs). */
  async function waitQuiet(maxS = P.quietMaxS) {
    if (opt['no-wait']) return { waitedS: 0, busyPct: NaN };
    const t0 = Date.now();
    let pct = 0;
    for (;;) {
      const a = readMachine();
      await sleep(500);
      const b = readMachine();
      pct = (100 * (b.busyS - a.busyS)) / 0.5;
      if (pct < 25 || Date.now() - t0 > maxS * 1000) break;
    }
    return { waitedS: Math.round((Date.now() - t0) / 100) / 10, busyPct: Math.round(pct) };
  }

  const stats = (xs) => {
    const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
    if (!v.length) return { n: 0 };
    const at = (p) => v[Math.min(v.length - 1, Math.ceil((p / 100) * v.length) - 1)];
    return { n: v.length, min: v[0], p50: at(50), p99: at(99), max: v[v.length - 1] };
  };
  const tally = (xs) => {
    const out = {};
    for (const x of xs) out[x] = (out[x] ?? 0) + 1;
    return out;
  };

  /** One scenario against one build. */
  async function runScenario(sc, build, rep) {
    const quiet = await waitQuiet();
    const server = await startServer(build, `${sc.id}-${rep}`);
    const result = { scenario: sc.id, build: build.name, rep, commit: build.commit, quiet };
    try {
      // Warm-up: JIT and the normal latency before the attack.
      const warm = [];
      for (let i = 0; i < 20; i++) warm.push(await post(server.port, '/inject', normalBody, { timeoutMs: 10_000, agent: undefined }));
      result.normalBeforeMs = stats(warm.map((r) => r.ms)).p50;
      result.normalBeforeOk = warm.every((r) => r.kind === 'injected');
      await sleep(300);
      server.cgroup.resetPeak();
      result.idleMiB = server.cgroup.usageMiB();
      const oom0 = server.cgroup.oomKills();

      // The attack, with the cgroup, the server's CPU and the machine sampled meanwhile.
      const usage = [];
      const sampleT0 = performance.now();
      const sampler = setInterval(() => {
        try {
          usage.push([Math.round(performance.now() - sampleT0), Math.round(server.cgroup.usageMiB() * 10) / 10]);
        } catch {
          // gone
        }
      }, 100);
      const proc = sampleProcess(server.pid, 100);
      const cpu0 = readProc(server.pid)?.cpuS ?? NaN;
      const machine0 = readMachine();
      const self0 = process.cpuUsage();
      const prober = sc.probe === false ? undefined : startProber(server.port);
      const attackT0 = performance.now();
      const a = typeof sc.attack === 'function' ? sc.attack(build) : sc.attack;
      let attack;
      if (a.role === 'send') {
        const spec = { port: server.port, path: a.path, bodyFile: bodies[a.body].file, count: a.count, concurrency: a.concurrency, keepAlive: a.keepAlive === true, timeoutMs: 30_000 };
        attack = await runAttacker({ role: 'send', ...spec }, 120_000);
        result.body = { name: a.body, bytes: bodies[a.body].bytes, labels: bodies[a.body].labels, keys: bodies[a.body].keys };
      } else {
        attack = await runAttacker({ role: 'flood', port: server.port, tls: a.tls, n: a.n, inFlight: 500, holdMs: P.floodHoldMs, openTimeoutMs: 30_000 }, 90_000);
      }
      const attackMs = performance.now() - attackT0;
      const probes = prober ? await prober.stop() : [];
      clearInterval(sampler);
      const procStats = proc.stop();
      const cpu1 = readProc(server.pid)?.cpuS;
      const machine1 = readMachine();
      const self1 = process.cpuUsage(self0);
      result.attack = attack;
      result.attackMs = Math.round(attackMs);

      // Did it live? A normal request on a new connection, unless the process is gone; while the answer is not the
      // patch (shed with 429 while the guard still sees the stall, ...), again every 250 ms for up to 15 s.
      await sleep(200);
      let after;
      if (!server.exitInfo()) {
        const t0 = performance.now();
        const first = await post(server.port, '/inject', normalBody, { timeoutMs: 30_000, agent: undefined });
        let last = first;
        let tries = 1;
        while (last.kind !== 'injected' && !server.exitInfo() && performance.now() - t0 < 15_000) {
          await sleep(250);
          last = await post(server.port, '/inject', normalBody, { timeoutMs: 15_000, agent: undefined });
          tries++;
        }
        after = { ...first, ok: first.kind === 'injected', patchAfterMs: last.kind === 'injected' ? Math.round(performance.now() - t0) : null, tries };
      }
      const exit = server.exitInfo();
      result.died = exit ? { code: exit.code, signal: exit.signal, atMsAfterAttackStart: Math.round(exit.atMs - attackT0) } : null;
      result.after = exit ? null : after;
      result.peakMiB = Math.round(server.cgroup.peakMiB() * 10) / 10;
      result.tcpPeakMiB = Math.round(server.cgroup.tcpPeakMiB() * 10) / 10;
      result.oomKills = server.cgroup.oomKills() - oom0;
      result.counters = exit ? undefined : await counters(server.port);
      const serverCpuS = cpu1 !== undefined ? cpu1 - cpu0 : procStats.cpuS;
      result.serverCpuS = Math.round(serverCpuS * 100) / 100;
      const attackerCpuS = attack.cpuS ?? 0;
      const wallS = attackMs / 1000;
      const busyS = machine1.busyS - machine0.busyS;
      result.otherCpuPct = Math.round((100 * (busyS - (Number.isFinite(serverCpuS) ? serverCpuS : 0) - attackerCpuS - (self1.user + self1.system) / 1e6)) / wallS);
      result.attackerCpuS = Math.round(attackerCpuS * 100) / 100;
      result.usageTimeline = usage;
      result.probes = probes;
      result.probeSummary = {
        sent: probes.length,
        answered: probes.filter((p) => p.ok).length,
        shed: probes.filter((p) => /^(denied|http) 429/.test(p.kind ?? '')).length,
        failed: probes.filter((p) => p.kind === undefined).length,
        kinds: tally(probes.map((p) => p.kind ?? p.error)),
        retried: probes.filter((p) => p.retried).length,
        latencyMs: stats(probes.filter((p) => p.ok).map((p) => p.ms)),
      };
      if (attack.results) {
        result.hostile = {
          kinds: tally(attack.results.map((r) => r.kind ?? r.error)),
          latencyMs: stats(attack.results.map((r) => r.ms)),
          over10s: attack.results.filter((r) => r.ms > 10_000 || r.error === 'TIMEOUT').length,
        };
      }
      const srvLog = readServerLog(server.logFile);
      result.fatal = srvLog.fatal;
      const NORMAL_POD = medium.request.object.metadata.generateName;
      const hostileLines = srvLog.lines.filter((l) => l.durationMs !== undefined && (a.body === 'normal' || l.pod !== NORMAL_POD));
      result.serverLog = { hostile: hostileLines.slice(0, 40), hostileDurationMs: stats(hostileLines.map((l) => l.durationMs)), warnings: srvLog.lines.filter((l) => l.level >= 40).slice(0, 10) };
      result.normalLogDurationMs = stats(srvLog.lines.filter((l) => l.pod === NORMAL_POD).map((l) => l.durationMs));
      result.command = server.command;
    } finally {
      await server.stop();
    }
    const how = result.died ? (result.oomKills > 0 ? `KILLED (OOM killer, ${result.oomKills})` : `DIED (${result.died.code ?? result.died.signal}${result.fatal ? `: ${result.fatal.slice(0, 60)}` : ''})`) : 'survived';
    log(
      `  ${sc.id.padEnd(3)} ${build.name.padEnd(6)} #${rep} peak ${result.peakMiB} MiB${Number.isFinite(result.tcpPeakMiB) && result.tcpPeakMiB > 1 ? ` (+${result.tcpPeakMiB} MiB TCP buffers)` : ''}, ${how}; ` +
        `${result.hostile ? `hostile ${JSON.stringify(result.hostile.kinds)} ${result.hostile.latencyMs.p50}/${result.hostile.latencyMs.max} ms; ` : ''}` +
        `${result.attack.established !== undefined ? `conns ${result.attack.established}/${result.attack.attempted} est., peak open ${result.attack.peakOpen}, closed by server ${result.attack.closedByServer}, open at end ${result.attack.openAtEnd}; ` : ''}` +
        `probes ${result.probeSummary.answered}/${result.probeSummary.sent} max ${result.probeSummary.latencyMs.max ?? '–'} ms; ` +
        `after ${result.after ? `${result.after.kind ?? result.after.error} ${result.after.ms} ms` : '–'}; server CPU ${result.serverCpuS} s; other ${result.otherCpuPct}%`,
    );
    return result;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Run: per scenario, the builds one after the other (before, after), so they see the same machine.

  const runs = [];
  for (const sc of SCENARIOS) {
    log(`scenario ${sc.id}: ${sc.title}`);
    const reps = P.repeated.includes(sc.id) ? P.reps : 1;
    for (let rep = 1; rep <= reps; rep++) {
      for (const build of builds) {
        if (sc.builds && !sc.builds.includes(build.name)) continue;
        try {
          runs.push(await runScenario(sc, build, rep));
        } catch (err) {
          log(`  ${sc.id} ${build.name} #${rep}: failed: ${err.message}`);
          runs.push({ scenario: sc.id, build: build.name, rep, failed: err.message });
        }
      }
    }
  }
  const elapsedS = Math.round((Date.now() - started) / 1000);

  // -------------------------------------------------------------------------------------------------------------
  // Report.

  const n = (x, d = 0) => (x === undefined || x === null || Number.isNaN(x) ? '–' : Number(x).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
  const msText = (x) => (x === undefined || x === null ? '–' : x >= 1000 ? `${n(x / 1000, 1)} s` : `${n(x)} ms`);
  const fate = (r) => {
    if (!r) return '–';
    if (r.failed) return `bench failed: ${r.failed}`;
    if (r.died) return r.oomKills > 0 ? `**OOM-killed** after ${msText(r.died.atMsAfterAttackStart)}` : `**died** (${r.died.signal ?? `exit ${r.died.code}`}${r.fatal ? ', V8 heap limit' : ''}) after ${msText(r.died.atMsAfterAttackStart)}`;
    return 'survived';
  };
  const afterText = (r) => {
    if (!r || r.failed) return '–';
    if (r.died) return 'no (dead)';
    const a = r.after;
    if (a.ok) return `yes, ${msText(a.ms)}`;
    const first = a.kind?.startsWith('denied 429') ? 'shed (429)' : (a.kind ?? a.error);
    return `${first} in ${msText(a.ms)}; ${a.patchAfterMs !== null ? `patch after ${msText(a.patchAfterMs)}` : 'no patch in 15 s'}`;
  };
  const hostileText = (r) => {
    if (!r || r.failed) return '–';
    if (r.attack.established !== undefined) {
      const a = r.attack;
      return `${n(a.established)} of ${n(a.attempted)}${a.attempted < a.wanted ? ` (of ${n(a.wanted)} wanted; opening stopped at 30 s)` : ''} established in ${msText(a.openMs)} (handshake p50 ${msText(a.handshakeMs.p50)}), at most ${n(a.peakOpen)} open at once, ${n(a.closedByServer)} closed by the server, ${n(a.openAtEnd)} open at the end`;
    }
    if (!r.hostile) return r.attack.failed ?? '–';
    const kinds = Object.entries(r.hostile.kinds).map(([k, v]) => `${v}× ${k}`).join('; ');
    const lat = r.hostile.latencyMs;
    return `${kinds}; ${lat.n > 1 ? `${msText(lat.p50)} median, ${msText(lat.max)} max` : msText(lat.max)}`;
  };
  /** The hostile requests' answers in a few words, and their slowest latency. */
  const hostileShort = (r) => {
    if (!r || r.failed || !r.hostile) return '–';
    const k = r.hostile.kinds;
    const count = (re) => Object.entries(k).filter(([x]) => re.test(x)).reduce((s, [, v]) => s + v, 0);
    const parts = [
      [count(/^injected$/), 'injected'],
      [count(/^allowed$/), 'allowed'],
      [count(/^explained$/), 'explained'],
      [count(/^(denied 400|http 400)/), 'refused at the cap'],
      [count(/^(denied|http) 429/), 'shed (429)'],
      [count(/^(ECONNRESET|EPIPE|ECONNREFUSED|socket hang up)/), 'connection reset'],
      [count(/^TIMEOUT$/), 'no answer in 30 s'],
    ].filter(([v]) => v > 0);
    const other = r.hostile.latencyMs.n - parts.reduce((s, [v]) => s + v, 0);
    if (other > 0) parts.push([other, 'other']);
    return `${parts.map(([v, w]) => `${v} ${w}`).join(', ')}; slowest ${msText(r.hostile.latencyMs.max)}`;
  };
  const probeText = (r) => {
    if (!r || r.failed || !r.probeSummary.sent) return '–';
    const p = r.probeSummary;
    const extra = [p.shed ? `${p.shed} shed` : '', p.failed ? `${p.failed} failed` : ''].filter(Boolean).join(', ');
    return `${p.answered} of ${p.sent}${extra ? ` (${extra})` : ''}${p.latencyMs.n ? `, slowest ${msText(p.latencyMs.max)}` : ''}`;
  };
  const logText = (r) => {
    if (!r || r.failed) return '–';
    const s = r.serverLog.hostileDurationMs;
    if (!s.n) return '–';
    return s.n > 1 ? `${msText(s.p50)} median, ${msText(s.max)} max (${s.n} lines)` : msText(s.max);
  };
  const runsOf = (id, b) => runs.filter((r) => r.scenario === id && r.build === b);
  /** One cell for the runs of a scenario and build: every run's value, joined. */
  const each = (id, b, f) => {
    const rs = runsOf(id, b);
    return rs.length ? rs.map(f).join(' · ') : '–';
  };
  const beforeBuild = builds.find((b) => b.name === 'before');
  const afterBuild = builds.find((b) => b.name === 'after');

  const md = [];
  md.push(`## Hostile input under the memory limit (${MODE} mode, ${machine.date.slice(0, 16).replace('T', ' ')} UTC, ${elapsedS} s)`);
  md.push('');
  md.push(`Machine: ${machine.nproc} CPUs (${machine.cpu}), ${machine.memoryGiB} GiB, Node ${machine.node}, Linux ${machine.kernel}; attacker, prober and server on the same CPUs.`);
  md.push(
    `Builds: before = ${beforeBuild ? `${beforeBuild.commit} ("${beforeBuild.subject.slice(0, 70)}…")` : 'not measured'}; after = ${afterBuild.commit} ("${afterBuild.subject.slice(0, 70)}…")${afterBuild.uncommittedSrc.length ? `, this checkout's dist/ with ${afterBuild.uncommittedSrc.length} files in src/ changed and not committed` : ''}.`,
  );
  md.push(
    `Server: \`node --max-semi-space-size=16 dist/cli/main.js serve --host 127.0.0.1 --cert … --key … --log-level info --metrics-port 0 --explain\` (before: no \`--explain\`, /explain was always on), default configuration, overload guard and connection cap at their defaults, in a ${LIMIT_MIB} MiB memory cgroup (cgroup v${existsSync('/sys/fs/cgroup/cgroup.controllers') && !existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes') ? 2 : 1}), a fresh process for every run; its output read through a pipe from outside the cgroup.`,
  );
  md.push(
    'Peak: the most memory charged to the cgroup during the attack (what the limit and the OOM killer look at), reset after a warm-up of 20 normal admissions. On cgroup v1 socket buffers are not charged to it (on v2 they are): they are shown apart ("+ N TCP"). Normal requests: a normal AdmissionReview (bench/fixtures/medium.json) every 500 ms during the attack on keep-alive connections, each with a 10 s timeout (the API server\'s budget); "answered" = HTTP 200 with the patch, "shed" = the overload guard\'s `allowed: false`, code 429, "failed" = no answer (connection refused or reset, timeout). Afterwards: a normal AdmissionReview on a new connection once the attack is over (and, when that one was not answered with the patch, again every 250 ms until it is, up to 15 s). Server log: durationMs of the hostile requests\' log lines (from the request\'s arrival to its answer). Where a scenario ran more than once per build, the cells list every run, separated by ·.',
  );
  md.push('');
  md.push('### Before and after');
  md.push('');
  md.push('| # | attack | memory peak MiB, before → after | before | after | hostile requests (before → after) | normal requests answered during the attack (before → after) | a normal request afterwards (before → after) |');
  md.push('|---|---|--:|---|---|---|---|---|');
  for (const sc of SCENARIOS) {
    const flood = runs.some((r) => r.scenario === sc.id && r.attack?.established !== undefined);
    const hostile = flood
      ? `${each(sc.id, 'before', (r) => (r.failed ? '–' : `at most ${n(r.attack.peakOpen)} open`))} → ${each(sc.id, 'after', (r) => (r.failed ? '–' : `at most ${n(r.attack.peakOpen)} open`))}`
      : `${each(sc.id, 'before', hostileShort)} → ${each(sc.id, 'after', hostileShort)}`;
    md.push(
      `| ${sc.id} | ${sc.title} | ${each(sc.id, 'before', (r) => n(r.peakMiB))} → ${each(sc.id, 'after', (r) => n(r.peakMiB))} | ${each(sc.id, 'before', fate)} | ${each(sc.id, 'after', fate)} | ${hostile} | ${each(sc.id, 'before', probeText)} → ${each(sc.id, 'after', probeText)} | ${each(sc.id, 'before', afterText)} → ${each(sc.id, 'after', afterText)} |`,
    );
  }
  md.push('');
  md.push('### Every run');
  md.push('');
  md.push(`| # | build | body | memory peak MiB (idle before) | OOM kills | fate | hostile requests: answers, client-side latency | server log durationMs (hostile) | normal requests during the attack: answered of sent, max latency | afterwards | server CPU s | attack wall s | other processes, % of a CPU |`);
  md.push('|---|---|---|--:|--:|---|---|---|---|---|--:|--:|--:|');
  for (const r of runs) {
    if (r.failed) {
      md.push(`| ${r.scenario} | ${r.build} #${r.rep} | | | | bench failed: ${r.failed} | | | | | | | |`);
      continue;
    }
    const body = r.body ? `${n(r.body.bytes / MiB, 2)} MiB${r.body.labels ? `, ${n(r.body.labels)} labels` : r.body.keys ? `, ${n(r.body.keys)} managedFields keys` : ''}` : '–';
    md.push(
      `| ${r.scenario} | ${r.build} #${r.rep} | ${body} | ${n(r.peakMiB)} (${n(r.idleMiB)})${Number.isFinite(r.tcpPeakMiB) && r.tcpPeakMiB >= 1 ? ` + ${n(r.tcpPeakMiB)} TCP` : ''} | ${r.oomKills} | ${fate(r)} | ${hostileText(r)} | ${logText(r)} | ${probeText(r)} | ${afterText(r)} | ${n(r.serverCpuS, 1)} | ${n(r.attackMs / 1000, 1)} | ${n(r.otherCpuPct)} |`,
    );
  }
  md.push('');
  const conn = runs.filter((r) => !r.failed && r.counters);
  if (conn.length) {
    md.push('Server counters after each run (GET /metrics; only non-zero shown):');
    md.push('');
    for (const r of conn) {
      const nz = Object.entries(r.counters).filter(([, v]) => v > 0);
      if (nz.length) md.push(`- ${r.scenario} ${r.build} #${r.rep}: ${nz.map(([k, v]) => `\`${k}\` ${v}`).join(', ')}`);
    }
    md.push('');
  }
  md.push(`Bodies: ${Object.entries(bodies).map(([k, b]) => `${k} ${n(b.bytes)} bytes${b.labels ? ` (${n(b.labels)} labels)` : b.keys ? ` (${n(b.keys)} managedFields keys)` : ''}`).join('; ')}.`);
  md.push('');

  const results = { mode: MODE, machine, params: P, limitMiB: LIMIT_MIB, builds, bodies: Object.fromEntries(Object.entries(bodies).map(([k, b]) => [k, { bytes: b.bytes, labels: b.labels, keys: b.keys }])), scenarios: SCENARIOS.map((s) => ({ id: s.id, title: s.title })), runs, elapsedS };
  writeFileSync(path.join(OUT, `${BASENAME}.json`), `${JSON.stringify(results, null, 1)}\n`);
  writeFileSync(path.join(OUT, `${BASENAME}.md`), `${md.join('\n')}\n`);
  process.stdout.write(`${md.join('\n')}\n`);
  if (opt['keep-work']) log(`work dir kept: ${work}`);
  else rmSync(work, { recursive: true, force: true });
  log(`bench hostile ${MODE}: done in ${elapsedS} s; ${path.relative(ROOT, path.join(OUT, `${BASENAME}.md`))}, ${BASENAME}.json`);
}
