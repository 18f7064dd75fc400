// Where one admission's CPU goes inside the service's pipeline, by phase, for each body: the per-request pipeline of
// POST /inject (and /validate for the validate body) run in a loop in this process (no HTTP, no TLS), once unprofiled
// for its time per request, once under V8's sampling profiler (node:inspector) to split that time by phase. A sample
// belongs to the innermost phase function on its stack:
//   JSON.parse       parseJsonBody's own time (JSON.parse of the body, minus its managedFields): the payload floor
//                    parses the whole body too, so this is not work over the floor
//   body checks      inspectValue/findPoisonedKey (depth and forbidden keys), validateAdmissionReview, the count caps
//   decision         the injection policy (traceInjection), the pod's owner (deployMetaFromPod)
//   rendering        the sidecar template and its merge (runTemplate), postProcessPod (probes, ordering, Prometheus),
//                    the checks of the pod's annotations and of the injected pod
//   patch            the JSON Patch from the request's pod to the injected one (buildPatch)
//   answer encoding  the patch's JSON and base64, the AdmissionReview's JSON (outcomeToResponse, admissionReviewJson)
//   GC               V8's garbage collector, on this thread
//   other            whatever else (admit's own glue, the loop)
// The edge (hooks, metrics, the log line) is outside this loop: bench/attribute.mjs measures it inside the server.
//   ./node_modules/.bin/node bench/phases.mjs [--only small,medium] [--ms 2000]
import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(pathToFileURL(path.join(ROOT, 'dist', p)).href);
const { loadConfig } = await dist('config/load.js');
const { createRuntime } = await dist('server/runtime.js');
const review = await dist('admission/review.js');
const validation = await dist('admission/validation.js');
const { limitProblem } = await dist('admission/limits.js');

const { values } = parseArgs({ options: { only: { type: 'string' }, ms: { type: 'string', default: '2000' } } });
const names = (values.only ?? 'small,medium,large,huge,skip,validate').split(',');
const budgetMs = Number(values.ms);
const runtime = createRuntime(loadConfig({}));

const PHASES = [
  // valueDepth and mayHidePoisonedKey: the body checks before they were one walk (for runs against older builds).
  ['body checks', ['inspectValue', 'findPoisonedKey', 'valueDepth', 'mayHidePoisonedKey', 'validateAdmissionReview', 'limitProblem']],
  ['decision', ['traceInjection', 'deployMetaFromPod']],
  ['rendering', ['runTemplate', 'postProcessPod', 'checkInjectedPod', 'checkAnnotations', 'podShapeProblem']],
  ['patch', ['buildPatch']],
  ['answer encoding', ['outcomeToResponse', 'admissionReviewJson']],
  ['JSON.parse', ['parseJsonBody', 'parseReviewSkippingManagedFields']],
];
const phaseOf = new Map(PHASES.flatMap(([phase, fns]) => fns.map((f) => [f, phase])));
const COLUMNS = ['JSON.parse', 'body checks', 'decision', 'rendering', 'patch', 'answer encoding', 'GC', 'other'];

function pipeline(name, raw) {
  if (name === 'validate') {
    return () => {
      const r = review.validateAdmissionReview(review.parseJsonBody(Buffer.from(raw), { skipManagedFields: true }));
      return review.admissionReviewJson(validation.validateAdmission(runtime.validator, r).review);
    };
  }
  return () => {
    const r = review.validateAdmissionReview(review.parseJsonBody(Buffer.from(raw), { skipManagedFields: true }));
    limitProblem(r.request.object, runtime.limits);
    return review.admissionReviewJson(review.admit(runtime.injector, r).review);
  };
}

/** µs per call, over budgetMs after a warm-up. */
function perCall(fn) {
  for (let i = 0; i < 500; i++) fn();
  const until = performance.now() + budgetMs;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() < until) {
    fn();
    n++;
  }
  return ((performance.now() - t0) * 1000) / n;
}

/** Share of the samples by phase (0..1), from a profile of `fn` run for budgetMs. */
async function shares(fn) {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  perCall(fn);
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  const parent = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const phaseOfNode = new Map();
  const resolve = (id) => {
    if (phaseOfNode.has(id)) return phaseOfNode.get(id);
    const node = byId.get(id);
    const fnName = node.callFrame.functionName;
    let phase;
    if (fnName === '(garbage collector)') phase = 'GC';
    else if (phaseOf.has(fnName) && /\/dist\//.test(node.callFrame.url)) phase = phaseOf.get(fnName);
    else phase = parent.has(id) ? resolve(parent.get(id)) : 'other';
    phaseOfNode.set(id, phase);
    return phase;
  };
  const count = Object.fromEntries(COLUMNS.map((c) => [c, 0]));
  let total = 0;
  for (const id of profile.samples) {
    const fnName = byId.get(id).callFrame.functionName;
    if (fnName === '(idle)' || fnName === '(program)') continue;
    count[resolve(id)]++;
    total++;
  }
  return Object.fromEntries(COLUMNS.map((c) => [c, count[c] / total]));
}

console.log(`| body | µs per request | ${COLUMNS.map((c) => `${c} µs`).join(' | ')} |`);
console.log(`|---|--:|${COLUMNS.map(() => '--:').join('|')}|`);
for (const name of names) {
  const raw = readFileSync(path.join(ROOT, 'bench/fixtures', `${name}.json`));
  const fn = pipeline(name, raw);
  const us = perCall(fn);
  const share = await shares(fn);
  console.log(`| ${name} | ${us.toFixed(1)} | ${COLUMNS.map((c) => (share[c] * us).toFixed(1)).join(' | ')} |`);
}
