// Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. `bench/run.mjs --cpu-prof DIR`): self time by function and
// by file, and total (inclusive) time of the functions under dist/ (mapped to their src/ file).
//   node bench/profile.mjs FILE.cpuprofile [--top 25]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
const top = Number(values.top);
const prof = JSON.parse(readFileSync(positionals[0], 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Sample counts → self time per node (µs), from the time deltas.
const self = new Map();
for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const idle = [...self.entries()].filter(([id]) => ['(idle)', '(program)'].includes(byId.get(id).callFrame.functionName)).reduce((a, [, v]) => a + v, 0);

const short = (url) => {
  if (!url) return '';
  const m = /\/(dist|node_modules)\/(.*)$/.exec(url);
  if (!m) return url.replace(/^node:/, 'node:');
  if (m[1] === 'dist') return `src/${m[2].replace(/\.js$/, '.ts')}`;
  const parts = m[2].split('/');
  return `${parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]} (dep)`;
};
const label = (n) => `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

const pct = (v) => `${((100 * v) / total).toFixed(1).padStart(5)}%`;
const busy = total - idle;
console.log(`profile: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy (${pct(busy)}), (idle)+(program) ${pct(idle)}`);

const agg = (keyOf) => {
  const m = new Map();
  for (const [id, v] of self) {
    const k = keyOf(byId.get(id));
    m.set(k, (m.get(k) ?? 0) + v);
  }
  return [...m.entries()].sort((a, b) => b[1] - a[1]);
};
console.log('\nself time by function:');
for (const [k, v] of agg(label).slice(0, top)) console.log(`  ${pct(v)}  ${k}`);
console.log('\nself time by file:');
for (const [k, v] of agg((n) => short(n.callFrame.url) || n.callFrame.functionName).slice(0, top)) console.log(`  ${pct(v)}  ${k}`);

// Inclusive time: each sample counts once for every distinct function on its stack.
const incl = new Map();
for (let i = 0; i < prof.samples.length; i++) {
  const seen = new Set();
  for (let id = prof.samples[i]; id !== undefined; id = parent.get(id)) {
    const n = byId.get(id);
    if (!n.callFrame.url.includes('/dist/')) continue;
    const k = label(n);
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + (prof.timeDeltas[i] ?? 0));
  }
}
console.log('\ntotal (inclusive) time of src/ functions:');
for (const [k, v] of [...incl.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(v)}  ${k}`);
