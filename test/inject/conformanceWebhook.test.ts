/**
 * The webhook half of the Istio conformance suite (test/conformance/conformance.test.ts), on its own: every
 * `webhook+cli` case of test/fixtures/istio/cases.json as an AdmissionReview through the real HTTPS server, the answer's
 * patch applied, compared with Istio's golden file. Same harness and normalisation as the full suite; no CLI process,
 * so it is fast and in-process (the mutation-testing run uses it to cover src/inject; the full suite also checks the
 * CLI).
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { loadCases } from '../conformance/cases.js';
import { checkWebhookCase, WebhookHarness } from '../conformance/webhook.js';

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

describe('istio conformance, webhook only', () => {
  it('has cases', () => {
    if (cases.length < 50) fail(`only ${cases.length} webhook cases`);
  });
  it.each(cases.map((c) => [`${c.id} [webhook]`, c] as const))('%s', async (_name, c) => {
    await checkWebhookCase(harness, c);
  });
});
