// The CLI at scale (issue 17): `mesh-webhook validate -f FILE` and `mesh-webhook inject -f FILE -o OUT` on one
// multi-document YAML stream of a whole rendered repository, at 1, 10 and 50 MB: wall time, peak RSS, MB/s, and
// whether the time is linear in the size and the peak under 300 MiB.
//
//   npm run bench:cli                                   build, then 1, 10 and 50 MB
//   ./node_modules/.bin/node bench/cli-scale.mjs --sizes 1,10 --cli /tmp/mw-before/dist/cli/main.js --label before
//
// Options: --sizes 1,10,50 (MB)  --cli PATH (default dist/cli/main.js of this checkout)  --label TEXT (table title)
//   --only validate|inject  --json FILE (every run)  --keep (keep the generated files in the temp dir)
//   --reps N (runs per cell, the median is reported; default 1)
// The stream (generate() below): Namespaces with labels (one of them after the objects in it), Deployments with
// several containers, env, probes and resources, Services, ConfigMaps with block scalars, comments, a v1 List; about
// 1,350 bytes per Deployment. Peak RSS: getrusage's ru_maxrss of the CLI process and of the one it runs again with a
// smaller young generation for big inputs (bench/cli-maxrss.mjs, preloaded, passed on), and /proc/PID/status VmHWM of
// the first sampled every 50 ms (bench/procstat.mjs); the largest is reported.
// Not run by the test suite (timers and minutes of CPU have no place there).
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readProc } from './procstat.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MB = 1e6;
const MiB = 1024 * 1024;
const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);

if (Number(process.versions.node.split('.')[0]) < 24) {
  console.error(`bench/cli-scale: needs Node 24 (running ${process.version}); use npm run bench:cli or ./node_modules/.bin/node bench/cli-scale.mjs`);
  process.exit(2);
}

const { values: opts } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1,10,50' },
    cli: { type: 'string', default: path.join(ROOT, 'dist/cli/main.js') },
    label: { type: 'string', default: 'this build' },
    only: { type: 'string' },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
    reps: { type: 'string', default: '1' },
  },
});
const sizes = opts.sizes.split(',').map(Number);
if (sizes.some((s) => !(s > 0))) throw new Error(`--sizes: positive numbers of MB, comma-separated; got ${opts.sizes}`);
const commands = opts.only ? opts.only.split(',') : ['validate', 'inject'];
const reps = Number(opts.reps);

// ---------------------------------------------------------------------------------------------------------------
// The stream

const NAMESPACES = ['shop', 'payments', 'search', 'catalog', 'auth', 'ledger', 'media', 'notify'];

function deployment(i, ns) {
  const app = `svc-${i}`;
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${app}
  namespace: ${ns}
  labels:
    app.kubernetes.io/name: ${app}
    app.kubernetes.io/part-of: ${ns}
  annotations:
    deployment.kubernetes.io/revision: "${(i % 9) + 1}"
spec:
  replicas: ${(i % 3) + 1}
  selector:
    matchLabels:
      app: ${app}
  template:
    metadata:
      labels:
        app: ${app}
        version: v${(i % 4) + 1}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "9102"
    spec:
      serviceAccountName: ${app}
      containers:
      - name: app
        image: registry.example.com/${ns}/${app}:1.${i % 50}.${i % 7}
        args: ["--port=8080", "--log-level=info"]
        ports:
        - name: http
          containerPort: 8080
        - name: metrics
          containerPort: 9102
        env:
        - name: POD_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        - name: FEATURE_FLAGS
          value: "on"
        readinessProbe:
          httpGet:
            path: /healthz
            port: 8080
          periodSeconds: 5
        livenessProbe:
          tcpSocket:
            port: 8080
        resources:
          requests:
            cpu: 100m
            memory: 128Mi
          limits:
            memory: 256Mi
      - name: log-shipper # a second container
        image: registry.example.com/tools/shipper:2.3
        resources:
          requests:
            cpu: 10m
            memory: 32Mi
`;
}

function service(i, ns) {
  return `# Service for svc-${i}
apiVersion: v1
kind: Service
metadata:
  name: svc-${i}
  namespace: ${ns}
spec:
  selector: {app: svc-${i}}
  ports:
  - name: http
    port: 80
    targetPort: 8080
`;
}

function configMap(i, ns) {
  return `apiVersion: v1
kind: ConfigMap
metadata:
  name: svc-${i}-config
  namespace: ${ns}
data:
  app.properties: |
    server.port=8080
    feature.x=true
    # a comment inside a block scalar
    cache.size=${i}
  mode: "yes"
`;
}

function namespace(ns, i) {
  return `apiVersion: v1
kind: Namespace
metadata:
  name: ${ns}
  labels:
    istio-injection: enabled
    team: team-${i}
`;
}

function list(i, ns) {
  return `apiVersion: v1
kind: List
items:
- ${deployment(`${i}a`, ns).trimEnd().replaceAll('\n', '\n  ')}
- ${service(`${i}a`, ns).split('\n').slice(1).join('\n').trimEnd().replaceAll('\n', '\n  ')}
`;
}

/** Writes a stream of about `bytes` bytes to `file`; returns how many documents and Deployments it holds. */
async function generate(file, bytes) {
  const out = createWriteStream(file);
  let written = 0;
  let documents = 0;
  let deployments = 0;
  const write = async (text) => {
    const chunk = documents === 0 ? text : `---\n${text}`;
    documents++;
    written += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
  };
  // The first namespaces before their objects; the last one at the very end (validate must still see its labels).
  for (const [i, ns] of NAMESPACES.slice(0, -1).entries()) await write(namespace(ns, i));
  for (let i = 0; written < bytes - 400; i++) {
    const ns = NAMESPACES[i % NAMESPACES.length];
    await write(deployment(i, ns));
    deployments++;
    if (i % 3 === 0) await write(service(i, ns));
    if (i % 5 === 0) await write(configMap(i, ns));
    if (i % 1000 === 500) {
      await write(list(i, ns));
      deployments++;
    }
  }
  await write(namespace(NAMESPACES.at(-1), NAMESPACES.length - 1));
  await new Promise((resolve, reject) => out.end((err) => (err ? reject(err) : resolve())));
  return { documents, deployments, bytes: statSync(file).size };
}

// ---------------------------------------------------------------------------------------------------------------
// One run

function run(args, dir) {
  const rssFile = path.join(dir, `maxrss-${process.pid}-${Math.random().toString(36).slice(2)}`);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--import', path.join(ROOT, 'bench/cli-maxrss.mjs'), opts.cli, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MESH_BENCH_MAXRSS: rssFile },
    });
    let hwmKiB = 0;
    const timer = setInterval(() => {
      const p = readProc(child.pid);
      if (p && p.hwmKiB > hwmKiB) hwmKiB = p.hwmKiB;
    }, 50);
    let stdoutBytes = 0;
    let stdoutTail = '';
    child.stdout.on('data', (d) => {
      stdoutBytes += d.length;
      stdoutTail = (stdoutTail + d.toString('utf8')).slice(-400);
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      if (stderr.length < 4000) stderr += d.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const wallS = (performance.now() - t0) / 1000;
      clearInterval(timer);
      let maxRssKiB = 0;
      try {
        // One line per process: the CLI, and the CLI it ran again with a smaller young generation, if it did.
        maxRssKiB = Math.max(...readFileSync(rssFile, 'utf8').trim().split('\n').map(Number));
        rmSync(rssFile);
      } catch {
        // the process did not reach its exit handler (killed)
      }
      resolve({ code, wallS, peakMiB: Math.max(maxRssKiB, hwmKiB) / 1024, stdoutBytes, stdoutTail, stderr });
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n, d = 1) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

// ---------------------------------------------------------------------------------------------------------------

const dir = mkdtempSync(path.join(os.tmpdir(), 'mesh-cli-scale-'));
const results = [];
try {
  log(`bench/cli-scale: ${opts.cli}, sizes ${sizes.join(', ')} MB, work dir ${dir}`);
  for (const size of sizes) {
    const file = path.join(dir, `stream-${size}MB.yaml`);
    const gen = await generate(file, size * MB);
    log(`  ${size} MB: ${gen.documents} documents, ${gen.deployments} Deployments, ${gen.bytes} bytes`);
    for (const command of commands) {
      const outFile = path.join(dir, `out-${size}MB.yaml`);
      const args = command === 'validate' ? ['validate', '-f', file] : ['inject', '-f', file, '-o', outFile];
      const runs = [];
      for (let r = 0; r < reps; r++) {
        const res = await run(args, dir);
        const ok = command === 'validate' ? res.code === 0 || res.code === 1 : res.code === 0;
        if (!ok) throw new Error(`${command} ${size} MB: exit ${res.code}: ${res.stderr.slice(0, 2000)}`);
        runs.push(res);
      }
      const wallS = median(runs.map((r) => r.wallS));
      const peakMiB = median(runs.map((r) => r.peakMiB));
      const last = runs.at(-1);
      const summary = command === 'validate' ? last.stdoutTail.trim().split('\n').at(-1) : `${fmt(statSync(outFile).size / MB)} MB out`;
      if (command === 'inject') rmSync(outFile, { force: true });
      const row = { command, sizeMB: gen.bytes / MB, documents: gen.documents, deployments: gen.deployments, wallS, peakMiB, mbPerS: gen.bytes / MB / wallS, exit: last.code, summary };
      results.push(row);
      log(`    ${command}: ${fmt(wallS, 2)} s, peak ${fmt(peakMiB, 0)} MiB, exit ${last.code}; ${summary}`);
    }
    if (!opts.keep) rmSync(file, { force: true });
  }
} finally {
  if (!opts.keep) rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------------------------
// The table

const lines = [];
lines.push(`### ${opts.label}`, '');
lines.push('| command | size MB | documents | wall s | MB/s | s per MB | peak RSS MiB | under 300 MiB |');
lines.push('|---|--:|--:|--:|--:|--:|--:|:-:|');
for (const r of results) {
  lines.push(`| ${r.command} | ${fmt(r.sizeMB)} | ${r.documents.toLocaleString('en-US')} | ${fmt(r.wallS, 2)} | ${fmt(r.mbPerS, 2)} | ${fmt(r.wallS / r.sizeMB, 3)} | ${fmt(r.peakMiB, 0)} | ${r.peakMiB < 300 ? 'yes' : 'no'} |`);
}
lines.push('');
for (const command of commands) {
  const rows = results.filter((r) => r.command === command).sort((a, b) => a.sizeMB - b.sizeMB);
  if (rows.length < 2) continue;
  const largest = rows.at(-1);
  const perMB = (r) => r.wallS / r.sizeMB;
  const ratios = rows.slice(0, -1).map((r) => `${fmt(perMB(largest) / perMB(r), 2)} against ${fmt(r.sizeMB, 0)} MB`);
  lines.push(`- ${command}: s per MB at ${fmt(largest.sizeMB, 0)} MB ÷ s per MB at smaller sizes: ${ratios.join(', ')} (1.0 is linear; the smallest size also carries the start-up, ~0.3 s)`);
}
lines.push('');
process.stdout.write(`${lines.join('\n')}\n`);
if (opts.json) writeFileSync(opts.json, `${JSON.stringify({ cli: opts.cli, label: opts.label, node: process.version, results }, null, 2)}\n`);
