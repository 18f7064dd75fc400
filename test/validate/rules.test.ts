/**
 * Every rule of RULES, with a violating and a clean example (examples.ts), through both channels:
 * - the HTTPS endpoint (`POST /validate`, CA-verified client, a real AdmissionReview) in enforce mode: an error denies
 *   (403, the finding in the message), a warning is allowed with the finding in `warnings`, an info finding is
 *   allowed with it only in the audit annotation; the clean example is allowed with `enforce: ok`;
 * - the built CLI (`mesh-webhook validate -f FILE -o json`): the finding's code, severity, object and path, exit code 1
 *   for errors and 0 otherwise; the clean example gives `[]` and exit code 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RULES } from '../../src/validate/index.js';
import { EXAMPLES } from './examples.js';
import { auditCodes, cliWorkspace, ensureBuilt, parseJsonFindings, postValidate, validationReview, warningCodes, type CliRun, type CliWorkspace, type Obj, useEnforcingServer } from './helpers.js';

function objectId(o: Obj): string {
  const ns = o.metadata?.namespace as string | undefined;
  return ns ? `${o.kind} ${ns}/${o.metadata.name}` : `${o.kind} ${o.metadata.name}`;
}

it('has a violating and a clean example for every rule, and no example for a rule that does not exist', () => {
  expect(Object.keys(EXAMPLES).sort()).toEqual(RULES.map((r) => r.code).sort());
});

describe('every rule through POST /validate (enforce mode)', () => {
  const server = useEnforcingServer();

  describe.each(RULES.map((r) => [r.code, r] as const))('%s', (code, rule) => {
    const example = EXAMPLES[code]!;

    it(`violating (${example.what}): ${rule.severity === 'error' ? 'denied' : 'allowed'}, reported as ${rule.severity}`, async () => {
      const answer = await postValidate(server, validationReview(example.violating));
      const id = objectId(example.violating);
      expect(auditCodes(answer.audit)).toContain(code);
      expect(answer.audit).toMatch(/^enforce: /);
      expect(answer.audit).toContain(`${code}(${rule.severity}) ${example.path}`);
      if (rule.severity === 'error') {
        expect(answer.allowed).toBe(false);
        expect(answer.code).toBe(403);
        expect(answer.message).toContain(`${code} ${id} ${example.path}: `);
        expect(warningCodes(answer.warnings)).not.toContain(code);
      } else if (rule.severity === 'warning') {
        expect(answer.allowed).toBe(true);
        expect(answer.response.status).toBeUndefined();
        expect(answer.warnings.filter((w) => w.startsWith(`${code} ${id} ${example.path}: `))).toHaveLength(1);
      } else {
        expect(answer.allowed).toBe(true);
        expect(answer.warnings, 'info findings are not warnings').toEqual([]);
      }
      for (const w of answer.warnings) expect(w.length).toBeLessThanOrEqual(256);
    });

    it('clean: allowed, no warnings, audit "enforce: ok"', async () => {
      const answer = await postValidate(server, validationReview(example.clean));
      expect(answer).toMatchObject({ allowed: true, warnings: [], audit: 'enforce: ok' });
      expect(answer.response.status).toBeUndefined();
    });
  });
});

describe('every rule through the CLI (validate -f FILE -o json)', () => {
  let ws: CliWorkspace;
  const runs = new Map<string, { violating: CliRun; clean: CliRun }>();
  beforeAll(async () => {
    ensureBuilt();
    ws = cliWorkspace();
    // One process per example file, run side by side.
    await Promise.all(
      Object.entries(EXAMPLES).map(async ([code, example]) => {
        const [violating, clean] = await Promise.all([
          ws.runAsync(['validate', '-f', ws.file([example.violating], `${code}-violating.yaml`), '-o', 'json']),
          ws.runAsync(['validate', '-f', ws.file([example.clean], `${code}-clean.yaml`), '-o', 'json']),
        ]);
        runs.set(code, { violating, clean });
      }),
    );
  }, 120_000);
  afterAll(() => ws?.remove());

  describe.each(RULES.map((r) => [r.code, r] as const))('%s', (code, rule) => {
    const example = EXAMPLES[code]!;

    it(`violating: ${code} ${rule.severity}, exit code ${rule.severity === 'error' ? 1 : 0}`, () => {
      const run = runs.get(code)!.violating;
      expect(run.stderr).toBe('');
      const findings = parseJsonFindings(run.stdout);
      expect(findings.filter((f) => f.code === code)).toEqual([
        { code, severity: rule.severity, object: objectId(example.violating), path: example.path, message: expect.any(String) },
      ]);
      expect(run.status).toBe(findings.some((f) => f.severity === 'error') ? 1 : 0);
      expect(run.status).toBe(rule.severity === 'error' ? 1 : 0);
    });

    it('clean: no findings, exit code 0', () => {
      const run = runs.get(code)!.clean;
      expect(run.stderr).toBe('');
      expect(parseJsonFindings(run.stdout)).toEqual([]);
      expect(run.status).toBe(0);
    });
  });
});
