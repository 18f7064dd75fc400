/**
 * `mesh-webhook serve` overload flags: --overload-target-delay (a duration with a unit), --overload-max-in-flight (an
 * integer), --no-overload-guard; bad values are usage errors naming the flag and what it expects; the help text shows
 * the guard's defaults, and the README lists the flags.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseCommandLine, UsageError, type ServeArgs } from '../../src/cli/args.js';
import { USAGE } from '../../src/cli/usage.js';
import { DEFAULT_MAX_IN_FLIGHT, DEFAULT_TARGET_DELAY_MS } from '../../src/server/overload.js';

const serveArgs = (...argv: string[]): ServeArgs => {
  const inv = parseCommandLine(['serve', ...argv]);
  if (inv.command !== 'serve') throw new Error(`not serve: ${inv.command}`);
  return inv.args;
};

describe('serve overload flags', () => {
  test('absent: no overload setting, serve() installs the guard with its defaults', () => {
    expect('overload' in serveArgs()).toBe(false);
    expect('overload' in serveArgs('--port', '8443', '--shutdown-delay', '1s')).toBe(false);
  });

  test('--overload-target-delay takes a duration with a unit', () => {
    expect(serveArgs('--overload-target-delay', '500ms').overload).toEqual({ targetDelayMs: 500 });
    expect(serveArgs('--overload-target-delay=1s').overload).toEqual({ targetDelayMs: 1000 });
    expect(serveArgs('--overload-target-delay', '1.5s').overload).toEqual({ targetDelayMs: 1500 });
    expect(serveArgs('--overload-target-delay', '10ms').overload).toEqual({ targetDelayMs: 10 });
    expect(serveArgs('--overload-target-delay', '30s').overload).toEqual({ targetDelayMs: 30_000 });
  });

  test('--overload-max-in-flight takes a positive integer', () => {
    expect(serveArgs('--overload-max-in-flight', '200').overload).toEqual({ maxInFlight: 200 });
    expect(serveArgs('--overload-max-in-flight=1').overload).toEqual({ maxInFlight: 1 });
    expect(serveArgs('--overload-target-delay', '250ms', '--overload-max-in-flight', '64').overload).toEqual({ targetDelayMs: 250, maxInFlight: 64 });
  });

  test('--no-overload-guard turns it off', () => {
    expect(serveArgs('--no-overload-guard').overload).toBe(false);
  });

  test.each([
    ['--overload-target-delay', '500', /--overload-target-delay must be a duration with a unit from 10ms to 30s, such as 500ms or 1s; got "500"/],
    ['--overload-target-delay', '0', /--overload-target-delay must be a duration .*; got "0"/],
    ['--overload-target-delay', '5ms', /--overload-target-delay must be a duration .*; got "5ms"/],
    ['--overload-target-delay', '31s', /--overload-target-delay must be a duration .*; got "31s"/],
    ['--overload-target-delay', '-1s', /--overload-target-delay must be a duration .*; got "-1s"/],
    ['--overload-target-delay', 'soon', /--overload-target-delay must be a duration .*; got "soon"/],
    ['--overload-target-delay', '', /--overload-target-delay must be a duration .*; got ""/],
    ['--overload-max-in-flight', '0', /--overload-max-in-flight must be an integer 1\.\.1000000; got "0"/],
    ['--overload-max-in-flight', '-5', /--overload-max-in-flight must be an integer 1\.\.1000000; got "-5"/],
    ['--overload-max-in-flight', '1.5', /--overload-max-in-flight must be an integer 1\.\.1000000; got "1\.5"/],
    ['--overload-max-in-flight', 'many', /--overload-max-in-flight must be an integer 1\.\.1000000; got "many"/],
    ['--overload-max-in-flight', '1000001', /--overload-max-in-flight must be an integer 1\.\.1000000; got "1000001"/],
    ['--overload-max-in-flight', '', /--overload-max-in-flight must be an integer/],
  ])('%s %j is a usage error', (flag, value, message) => {
    const parse = () => serveArgs(`${flag}=${value}`);
    expect(parse).toThrow(UsageError);
    expect(parse).toThrow(message);
    try {
      parse();
    } catch (err) {
      expect((err as UsageError).command).toBe('serve');
    }
  });

  test('--no-overload-guard with a tuning flag is a usage error', () => {
    expect(() => serveArgs('--no-overload-guard', '--overload-target-delay', '1s')).toThrow(/--no-overload-guard turns the guard off; it takes no --overload-target-delay/);
    expect(() => serveArgs('--overload-max-in-flight', '10', '--no-overload-guard')).toThrow(/it takes no --overload-max-in-flight/);
    expect(() => serveArgs('--no-overload-guard=true')).toThrow(UsageError);
  });

  test('the help shows the flags with the guard\'s defaults', () => {
    expect(USAGE.serve).toContain('--overload-target-delay DURATION');
    expect(USAGE.serve).toContain(`(default ${DEFAULT_TARGET_DELAY_MS}ms)`);
    expect(USAGE.serve).toContain('--overload-max-in-flight N');
    expect(USAGE.serve).toContain(`(default ${DEFAULT_MAX_IN_FLIGHT})`);
    expect(USAGE.serve).toContain('--no-overload-guard');
  });

  test('the README lists the flags with the same defaults', () => {
    const readme = readFileSync(path.join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    expect(readme).toContain(`[--overload-target-delay ${DEFAULT_TARGET_DELAY_MS}ms]`);
    expect(readme).toContain(`[--overload-max-in-flight ${DEFAULT_MAX_IN_FLIGHT}]`);
    expect(readme).toContain('[--no-overload-guard]');
  });
});
