/**
 * Interface-name annotations through the built CLI (`mesh-webhook inject`): every row of
 * test/inject/interfaceNames.rows.ts (Istio's TestValidateInterfaceNames and Go edge cases), the rule being Istio's
 * ValidateInterfaceNames (pkg/util/net/ip.go). The HTTPS half: test/inject/interfaceNames.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/build.js';
import { cliPods, injectedPod, type CliPods } from '../helpers/cliPods.js';
import { ACCEPTED, ANNOTATIONS, REFUSED, argAfter, refusal } from '../inject/interfaceNames.rows.js';
import { appPod } from '../inject/review.js';

let cli: CliPods;
beforeAll(() => {
  ensureBuilt();
  cli = cliPods('mesh-webhook-interfaces-');
}, 120_000);
afterAll(() => cli?.remove());

describe('CLI (mesh-webhook inject)', () => {
  // One annotation per row, in turn: the rule is the same for all three (checked above).
  const pick = (i: number) => ANNOTATIONS[i % ANNOTATIONS.length]!;

  it('accepted rows: injected, the value passed to istio-init', async () => {
    const runs = await Promise.all(ACCEPTED.map(([, value], i) => cli.inject(appPod({ annotations: { [pick(i)[0]]: value } }))));
    runs.forEach((run, i) => {
      const [annotation, flag] = pick(i);
      const row = `${ACCEPTED[i]![0]} (${annotation})`;
      expect(run.stderr, row).toBe('');
      expect(run.status, row).toBe(0);
      expect(argAfter(injectedPod(run.stdout), flag), row).toBe(ACCEPTED[i]![1]);
    });
  });

  it('refused rows: exit 1, the error naming the document, the annotation and the name', async () => {
    const runs = await Promise.all(REFUSED.map(([, value], i) => cli.inject(appPod({ annotations: { [pick(i)[0]]: value } }))));
    runs.forEach((run, i) => {
      const [annotation] = pick(i);
      const [row, value, problem] = REFUSED[i]!;
      expect(run.status, row).toBe(1);
      expect(run.stdout, row).toBe('');
      expect(run.stderr, row).toBe(`error: document 1 (Pod "app"): ${refusal(annotation, value, problem)}\n`);
    });
  });
});
