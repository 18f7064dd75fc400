// CPU per admission log line, written as the service writes them (src/server/logger.ts) and as it wrote them before:
// one line per event-loop turn (as one admission per socket read in the server), each after 50 µs of busy work,
// 40,000 lines to a file, CPU of the whole process (main thread, libuv's pool) minus the 50 µs.
//   ./node_modules/.bin/node bench/log-cost.mjs [--lines 40000] [--rounds 3]
// Modes: none (no line: what the loop itself costs), per-line (pino's asynchronous destination, one write per line:
// before), batched (the service's destination: LOG_BUFFER_BYTES at a time, at least every LOG_FLUSH_MS).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { lines: { type: 'string', default: '40000' }, rounds: { type: 'string', default: '3' }, mode: { type: 'string' }, file: { type: 'string' } } });

if (values.mode) {
  // One measurement, in a fresh process.
  const { pino, destination } = await import('pino');
  const { LOG_BUFFER_BYTES, LOG_FLUSH_MS } = await import(pathToFileURL(path.join(ROOT, 'dist/server/logger.js')).href);
  const options = values.mode === 'batched' ? { minLength: LOG_BUFFER_BYTES, periodicFlush: LOG_FLUSH_MS } : {};
  const dest = destination({ dest: values.file, sync: false, ...options });
  const root = pino({ level: 'info' }, dest);
  const fields = { uid: '705ab4f5-6393-11e8-b7cc-42010a800002', namespace: 'shop', pod: 'orders-7d9c5b8f6-', workload: 'Deployment/orders', decision: 'injected', reason: 'policy enabled', durationMs: 0.42 };
  const n = Number(values.lines);
  const busy = () => {
    const t = performance.now();
    while (performance.now() - t < 0.05);
  };
  let i = 0;
  const c0 = process.cpuUsage();
  await new Promise((resolve) => {
    const step = () => {
      busy();
      if (values.mode !== 'none') root.child({ reqId: `req-${i}` }).info(fields, 'admission');
      if (++i < n) setImmediate(step);
      else resolve();
    };
    step();
  });
  const c = process.cpuUsage(c0);
  process.stdout.write(`${((c.user + c.system) / n - 50).toFixed(1)}\n`);
  dest.flushSync();
  process.exit(0);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'mesh-webhook-logcost-'));
const modes = ['none', 'per-line', 'batched'];
const results = Object.fromEntries(modes.map((m) => [m, []]));
for (let r = 0; r < Number(values.rounds); r++) {
  for (const mode of modes) {
    const out = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--mode', mode, '--lines', values.lines, '--file', path.join(dir, `${mode}.log`)], { encoding: 'utf8' });
    if (out.status !== 0) throw new Error(out.stderr);
    results[mode].push(Number(out.stdout.trim()));
  }
}
rmSync(dir, { recursive: true, force: true });
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`| mode | CPU µs per line (median of ${values.rounds}; runs) |\n|---|--:|`);
for (const mode of modes) console.log(`| ${mode} | ${median(results[mode]).toFixed(1)} (${results[mode].join(', ')}) |`);
