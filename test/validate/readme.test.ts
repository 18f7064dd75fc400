/** README "## Validation" lists every rule of RULES, with its code, severity, title and fix, in the same order. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { RULES } from '../../src/validate/index.js';

it('the README rules table is RULES', () => {
  const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Validation\n'), readme.indexOf('\n### In a pipeline\n'));
  expect(section.length).toBeGreaterThan(0);
  const rows = section
    .split('\n')
    .filter((line) => /^\| `[A-Z]+\d{4}` \|/.test(line))
    .map((line) => {
      const [code, severity, title, fix] = line.slice(1, -1).split(' | ').map((cell) => cell.trim().replace(/\\</g, '<'));
      return { code: code!.replace(/`/g, ''), severity, title, fix };
    });
  expect(rows).toEqual(RULES.map(({ code, severity, title, fix }) => ({ code, severity, title, fix })));
});
