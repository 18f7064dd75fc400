/** docs/validation.md, "## Rules", lists every rule of RULES, with its code, severity, title and fix, in the same order. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { RULES } from '../../src/validate/index.js';

it('the rules table of docs/validation.md is RULES', () => {
  const page = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'validation.md'), 'utf8');
  const start = page.indexOf('\n## Rules\n');
  const end = page.indexOf('\n## In a pipeline\n');
  expect(start).toBeGreaterThan(0);
  expect(end).toBeGreaterThan(start);
  const section = page.slice(start, end);
  const rows = section
    .split('\n')
    .filter((line) => /^\| `[A-Z]+\d{4}` \|/.test(line))
    .map((line) => {
      const [code, severity, title, fix] = line.slice(1, -1).split(' | ').map((cell) => cell.trim().replace(/\\</g, '<'));
      return { code: code!.replace(/`/g, ''), severity, title, fix };
    });
  expect(rows).toEqual(RULES.map(({ code, severity, title, fix }) => ({ code, severity, title, fix })));
});
