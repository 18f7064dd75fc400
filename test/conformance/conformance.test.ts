/**
 * Istio sidecar-injector conformance (test/fixtures/istio/README.md): every case of cases.json, as kube-inject
 * through the built CLI and, for `webhook+cli` cases, as an AdmissionReview through the real HTTPS server.
 *
 * Each case+mode is its own test (`<id> [cli]`, `<id> [webhook]`); afterAll prints
 * `conformance: N passed, M failed`.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { ensureBuilt } from '../helpers/build.js';
import { runCliAsync, type CliRun } from '../helpers/cli.js';
import { configFlags, loadCases, readTestdata, TESTDATA, type ConformanceCase } from './cases.js';
import { limiter } from './cli.js';
import { parseYamlStream, type Json } from './convert.js';
import { firstDocsDiff, formatDiff, normalizeGo } from './normalize.js';
import { checkWebhookCase, WebhookHarness } from './webhook.js';
import path from 'node:path';

const cases = loadCases();
const cliCases = cases;
const webhookCases = cases.filter((c) => c.mode === 'webhook+cli');

const outcomes = new Map<string, boolean>();

/** Runs a test body and records pass/fail for the summary line. */
async function recorded(name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
    outcomes.set(name, true);
  } catch (err) {
    outcomes.set(name, false);
    throw err;
  }
}

function fail(message: string): never {
  throw new Error(message);
}

// ---- CLI runs: started in beforeAll, 4 at a time; each test awaits its own --------------------------------------

const cliRuns = new Map<string, Promise<CliRun>>();
let harness: WebhookHarness | undefined;
let harnessError: unknown;

beforeAll(async () => {
  ensureBuilt();
  const limit = limiter(4);
  for (const c of cliCases) {
    const p = limit(() => runCliAsync(['inject', '-f', path.join(TESTDATA, c.input), ...configFlags(c)]));
    p.catch(() => undefined); // awaited by the test; avoid unhandled rejections meanwhile
    cliRuns.set(c.id, p);
  }
  try {
    harness = await WebhookHarness.create();
  } catch (err) {
    harnessError = err;
  }
}, 300_000);

afterAll(async () => {
  await harness?.close();
  const passed = [...outcomes.values()].filter(Boolean).length;
  console.log(`conformance: ${passed} passed, ${outcomes.size - passed} failed`);
});

function describeCli(r: CliRun): string {
  const tail = (s: string): string => s.trim().split('\n').slice(-8).join('\n');
  return `exit ${r.status ?? r.signal}\n--- stderr ---\n${tail(r.stderr)}`;
}

async function checkCli(c: ConformanceCase): Promise<void> {
  const r = await cliRuns.get(c.id)!;
  if (c.expectError !== null) {
    if (r.status !== 1) fail(`expected exit code 1 (error containing ${JSON.stringify(c.expectError)}), got ${describeCli(r)}`);
    if (!r.stderr.toLowerCase().includes(c.expectError)) {
      fail(`stderr does not contain ${JSON.stringify(c.expectError)}: ${JSON.stringify(r.stderr.trim())}`);
    }
    return;
  }
  if (r.status !== 0) fail(`CLI failed: ${describeCli(r)}`);
  if (c.expectLog !== null && !r.stderr.includes(c.expectLog)) {
    fail(`stderr does not contain ${JSON.stringify(c.expectLog)}: ${JSON.stringify(r.stderr.trim())}`);
  }
  let got: Json[];
  try {
    got = parseYamlStream(r.stdout, 'CLI output').map(normalizeGo);
  } catch (err) {
    fail(`${(err as Error).message}\n--- stdout (head) ---\n${r.stdout.slice(0, 2000)}`);
  }
  const want = parseYamlStream(readTestdata(c.golden!), c.golden!).map(normalizeGo);
  const d = firstDocsDiff(got, want);
  if (d) fail(`CLI output differs from ${c.golden}: ${formatDiff(d)}`);
}

async function checkWebhook(c: ConformanceCase): Promise<void> {
  if (!harness) fail(`webhook harness unavailable: ${String((harnessError as Error)?.stack ?? harnessError)}`);
  await checkWebhookCase(harness, c);
}

describe('istio conformance', () => {
  it.each(cliCases.map((c) => [`${c.id} [cli]`, c] as const))('%s', async (name, c) => {
    await recorded(name, () => checkCli(c));
  });

  it.each(webhookCases.map((c) => [`${c.id} [webhook]`, c] as const))('%s', async (name, c) => {
    await recorded(name, () => checkWebhook(c));
  });
});

