// In-process cost of each stage of one admission, per fixture, without HTTP/TLS: what the service adds to the floor.
// Runs the built code (dist/) with the Kyma profile, as `mesh-webhook serve` does. Each stage is timed over a batch
// of iterations, several batches; the best batch is reported (least disturbed by other processes on the machine).
//   ./node_modules/.bin/node bench/stages.mjs [--only medium,huge] [--ms 300]
// --pipeline BODY: instead, run the whole per-request pipeline of the service (fresh body buffer → parseJsonBody →
// validateAdmissionReview → admit → JSON.stringify of the answer; managedFields skipped as on /inject and /validate) for --ms milliseconds and print µs per request; run
// it under `node --cpu-prof --cpu-prof-dir=DIR` and summarise with bench/profile.mjs for a low-noise profile.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(pathToFileURL(path.join(ROOT, 'dist', p)).href);
const { loadConfig } = await dist('config/load.js');
const { createRuntime } = await dist('server/runtime.js');
const review = await dist('admission/review.js');
const validation = await dist('admission/validation.js').catch(() => undefined);

const { values } = parseArgs({ options: { only: { type: 'string' }, ms: { type: 'string', default: '300' }, pipeline: { type: 'string' } } });
const names = (values.only ?? 'small,medium,large,huge,skip,validate').split(',');
const budgetMs = Number(values.ms);
const runtime = createRuntime(loadConfig({}));

if (values.pipeline) {
  const raw = readFileSync(path.join(ROOT, 'bench/fixtures', `${values.pipeline}.json`));
  const isValidate = values.pipeline === 'validate';
  const once = () => {
    const r = review.validateAdmissionReview(review.parseJsonBody(Buffer.from(raw), { skipManagedFields: true }));
    const out = isValidate ? validation.validateAdmission(runtime.validator, r).review : review.admit(runtime.injector, r).review;
    return review.admissionReviewJson ? review.admissionReviewJson(out) : JSON.stringify(out);
  };
  for (let i = 0; i < 500; i++) once();
  const until = performance.now() + Number(values.ms);
  let n = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  while (performance.now() < until) {
    once();
    n++;
  }
  const c = process.cpuUsage(c0);
  console.log(`${values.pipeline}: ${(((performance.now() - t0) * 1000) / n).toFixed(1)} µs per request, ${((c.user + c.system) / n).toFixed(1)} µs CPU (${n} requests)`);
  process.exit(0);
}

/** µs per call of fn: best of 5 batches of about budgetMs/5 each. */
function time(fn) {
  let n = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < n; i++) fn();
    if (performance.now() - t > 5) break;
    n *= 2;
  }
  const per = (budgetMs / 5 / 5) * n;
  let best = Infinity;
  for (let b = 0; b < 5; b++) {
    const t = performance.now();
    for (let i = 0; i < per; i++) fn();
    best = Math.min(best, ((performance.now() - t) * 1000) / per);
  }
  return best;
}

const rows = [];
for (const name of names) {
  const buf = readFileSync(path.join(ROOT, 'bench/fixtures', `${name}.json`));
  const isValidate = name === 'validate';
  const parsed = review.parseJsonBody(buf, { skipManagedFields: true });
  const r = {
    name,
    kb: buf.length / 1024,
    'JSON.parse': time(() => JSON.parse(buf.toString('utf8'))),
    parseJsonBody: time(() => review.parseJsonBody(buf, { skipManagedFields: true })),
  };
  if (isValidate) {
    if (!validation) continue;
    r['validate'] = time(() => validation.validateAdmission(runtime.validator, parsed));
    const out = validation.validateAdmission(runtime.validator, parsed).review;
    r['stringify answer'] = time(() => JSON.stringify(out));
  } else {
    const request = { pod: parsed.request.object, namespace: parsed.request.namespace };
    r['inject (pod)'] = time(() => runtime.injector.inject(request));
    const outcome = runtime.injector.inject(request);
    if (outcome.kind === 'injected') {
      r['patch ops'] = time(() => outcome.patch());
      const ops = outcome.patch();
      r['patch → base64'] = time(() => Buffer.from(JSON.stringify(ops), 'utf8').toString('base64'));
    }
    r['admit (all)'] = time(() => review.admit(runtime.injector, parsed));
    const out = review.admit(runtime.injector, parsed).review;
    r['stringify answer'] = time(() => JSON.stringify(out));
  }
  rows.push(r);
}
const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => k !== 'name' && k !== 'kb');
console.log(`| body | KB | ${cols.map((c) => `${c} µs`).join(' | ')} |`);
console.log(`|---|--:|${cols.map(() => '--:').join('|')}|`);
for (const r of rows) console.log(`| ${r.name} | ${r.kb.toFixed(1)} | ${cols.map((c) => (r[c] === undefined ? '' : r[c].toFixed(1))).join(' | ')} |`);
