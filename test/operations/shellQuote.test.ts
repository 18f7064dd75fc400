/**
 * shellQuote (src/util/shellQuote.ts): one word for a POSIX shell that the shell reads back as the original string.
 * Literal expectations for the shapes that matter, and a property run through a real /bin/sh: `printf %s <quoted>`
 * prints exactly the original bytes, and nothing in the word is ever executed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { shellQuote } from '../../src/util/shellQuote.js';

describe('shellQuote', () => {
  it.each([
    ['web', 'web'],
    ['deployment/web-1', 'deployment/web-1'],
    ['--from=cronjob/nightly', '--from=cronjob/nightly'],
    ['A_z0-9@%+=:,./', 'A_z0-9@%+=:,./'],
    ['istio.io/rev=canary', 'istio.io/rev=canary'],
  ])('leaves the safe word %j bare', (word, quoted) => {
    expect(shellQuote(word)).toBe(quoted);
  });

  it.each([
    ['', "''"],
    ['web$(id)', "'web$(id)'"],
    ['web`id`', "'web`id`'"],
    ['web;id', "'web;id'"],
    ['a b', "'a b'"],
    ['a\nb', "'a\nb'"],
    ['a\tb', "'a\tb'"],
    ["it's", "'it'\\''s'"],
    ["'", "''\\'''"],
    ['"x"', `'"x"'`],
    ['$HOME', "'$HOME'"],
    ['a\\b', "'a\\b'"],
    ['*', "'*'"],
    ['~', "'~'"],
    ['a|b&c>d<e', "'a|b&c>d<e'"],
    ['!x', "'!x'"],
    ['#x', "'#x'"],
    ['(x)', "'(x)'"],
    ['{a,b}', "'{a,b}'"],
    ['[ab]', "'[ab]'"],
    ['é', "'é'"],
  ])('quotes %j as %s', (word, quoted) => {
    expect(shellQuote(word)).toBe(quoted);
  });
});

describe('through /bin/sh', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-webhook-quote-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** What `sh -c "printf %s <quoted>"` prints, run in `dir`. */
  function printed(word: string): Buffer {
    const r = spawnSync('/bin/sh', ['-c', `printf %s ${shellQuote(word)}`], { cwd: dir, env: { PATH: '/usr/bin:/bin', HOME: dir } });
    if (r.status !== 0) throw new Error(`sh exited ${r.status}: ${r.stderr.toString()}`);
    return r.stdout;
  }

  it('hostile words come back unchanged and run nothing', () => {
    const canary = join(dir, 'pwned');
    for (const word of [
      `$(touch ${canary})`,
      `\`touch ${canary}\``,
      `x; touch ${canary}`,
      `x\ntouch ${canary}`,
      `x' ; touch ${canary} ; '`,
      `x'"'"'$(touch ${canary})`,
      `x && touch ${canary}`,
      `x | touch ${canary}`,
      '',
      ' ',
      '%s %d',
      '-n',
    ]) {
      expect(printed(word).toString('utf8'), JSON.stringify(word)).toBe(word);
    }
    expect(existsSync(canary)).toBe(false);
  });

  it('property: printf %s <quoted> prints the original string (200 runs)', () => {
    const special = fc.string({ unit: fc.constantFrom("'", '"', '\\', '$', '`', ';', '&', '|', '(', ')', '<', '>', ' ', '\n', '\t', '*', '?', '~', '#', '!', '{', '}', '[', ']', '=', '%', 'a', '-'), maxLength: 20 });
    const anyText = fc.string({ unit: 'binary', maxLength: 20 });
    const word = fc.oneof(special, anyText).filter((s) => !s.includes('\0'));
    fc.assert(
      fc.property(word, (w) => {
        expect(printed(w).equals(Buffer.from(w, 'utf8'))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
