/**
 * A number or boolean given for a configuration field that holds text keeps its text: `--set values.global.tag=1.30`
 * is the tag `1.30` (it was the number 1.3, then refused with advice to quote "1.3"). Through the HTTPS webhook (a
 * server on that configuration, the patch applied); the built CLI (`inject --set`, and an unquoted YAML `tag: 1.30`
 * refused advising "1.30") in test/cli/fidelity.test.ts.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createRuntime } from '../../src/server/runtime.js';
import { startTestServer, type TestServer } from '../helpers/https.js';
import { admitPod, appPod } from './review.js';
import { checkText, TEXT_SETS } from './textValues.cases.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(createRuntime(loadConfig({ profile: 'istio', sets: TEXT_SETS })));
});
afterAll(async () => {
  await server.close();
});

it('text fields set with --set keep their text, through the HTTPS webhook', async () => {
  const answer = await admitPod(server, appPod(), 'shop');
  expect(answer.allowed).toBe(true);
  checkText(answer.pod);
});
