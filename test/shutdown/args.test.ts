/** `mesh-webhook serve --shutdown-delay`: Go durations or seconds; bad values are usage errors. */
import { describe, expect, test } from 'vitest';
import { parseCommandLine, UsageError } from '../../src/cli/args.js';
import { USAGE } from '../../src/cli/usage.js';

const delay = (value: string) => {
  const inv = parseCommandLine(['serve', `--shutdown-delay=${value}`]);
  if (inv.command !== 'serve') throw new Error('not serve');
  return inv.args.shutdownDelayMs;
};

describe('--shutdown-delay', () => {
  test('Go durations and plain seconds', () => {
    expect(delay('5s')).toBe(5000);
    expect(delay('1500ms')).toBe(1500);
    expect(delay('1m')).toBe(60_000);
    expect(delay('0')).toBe(0);
    expect(delay('2')).toBe(2000);
    expect(delay('0.5')).toBe(500);
  });

  test('absent: serve() decides (5 s)', () => {
    const inv = parseCommandLine(['serve']);
    expect(inv.command === 'serve' && 'shutdownDelayMs' in inv.args).toBe(false);
    expect(USAGE.serve).toContain('--shutdown-delay DURATION');
  });

  test.each(['-1s', 'soon', '5x', '', '11m'])('%j is a usage error', (value) => {
    expect(() => delay(value)).toThrow(UsageError);
    expect(() => delay(value)).toThrow(/--shutdown-delay must be a duration/);
  });
});
