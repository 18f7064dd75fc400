/**
 * The webhook half of the Istio conformance suite (test/conformance/conformance.test.ts), on its own: every
 * `webhook+cli` case of test/fixtures/istio/cases.json as an AdmissionReview through the real HTTPS server, the answer's
 * patch applied, compared with Istio's golden file. Same harness and normalisation as the full suite; no CLI process,
 * so it is fast and in-process (the mutation-testing run uses it to cover src/inject; the full suite also checks the
 * CLI).
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { loadCases, readTestdata, type ConformanceCase } from '../conformance/cases.js';
import { webhookPods, type Json, type JsonObj } from '../conformance/convert.js';
import { checkMetaJsonEnv, firstDiff, formatDiff, normalizeWebhookPod } from '../conformance/normalize.js';
import { WebhookHarness } from '../conformance/webhook.js';

const cases = loadCases().filter((c) => c.mode === 'webhook+cli');

let harness: WebhookHarness;
beforeAll(async () => {
  harness = await WebhookHarness.create();
}, 60_000);
afterAll(async () => {
  await harness?.close();
});

function fail(message: string): never {
  throw new Error(message);
}

async function checkWebhook(c: ConformanceCase): Promise<void> {
  const inputs = webhookPods(readTestdata(c.input), c.input);
  if (inputs.length === 0) fail(`${c.input}: no injectable document`);
  const server = await harness.serverFor(c);

  if (c.expectError !== null) {
    for (const [i, { pod, namespace }] of inputs.entries()) {
      const res = await server.review(pod, namespace);
      if (res.allowed !== false) fail(`pod ${i}: expected allowed: false, got ${JSON.stringify(res).slice(0, 500)}`);
      const msg = String(res.status?.message ?? '');
      if (!msg.toLowerCase().includes(c.expectError)) fail(`pod ${i}: status.message does not contain ${JSON.stringify(c.expectError)}: ${JSON.stringify(msg)}`);
    }
    return;
  }

  const wants = webhookPods(readTestdata(c.golden!), c.golden!);
  if (wants.length !== inputs.length) fail(`input has ${inputs.length} injectable docs, golden ${wants.length}`);
  for (const [i, { pod, namespace }] of inputs.entries()) {
    const got = await server.admitAndPatch(pod, namespace);
    const problems = checkMetaJsonEnv(got);
    if (problems.length > 0) fail(`pod ${i}: ${problems.join('; ')}`);
    const d = firstDiff(normalizeWebhookPod(got) as Json, normalizeWebhookPod(wants[i]!.pod as JsonObj) as Json, `pod[${i}]`);
    if (d) fail(`patched pod differs from ${c.golden}: ${formatDiff(d)}`);
  }
}

describe('istio conformance, webhook only', () => {
  it('has cases', () => {
    if (cases.length < 50) fail(`only ${cases.length} webhook cases`);
  });
  it.each(cases.map((c) => [`${c.id} [webhook]`, c] as const))('%s', async (_name, c) => {
    await checkWebhook(c);
  });
});
