/** The progress line of validate/inject (src/cli/progress.ts), with a fake clock and stream: no timers. */
import { describe, expect, it } from 'vitest';
import { createProgress, progressLine } from '../../src/cli/progress.js';

function fake(isTTY: boolean) {
  let t = 0;
  const written: string[] = [];
  return { clock: { now: () => t, set: (ms: number) => (t = ms) }, out: { isTTY, write: (s: string) => written.push(s) }, written };
}

describe('progress', () => {
  it('nothing before 2 s, then at most every 250 ms, rewritten in place, cleared at the end', () => {
    const { clock, out, written } = fake(true);
    const p = createProgress({ command: 'validate', totalBytes: 50e6, out, now: clock.now });
    clock.set(1999);
    p.update(1e6, 10);
    expect(written).toEqual([]);
    clock.set(2000);
    p.update(12e6, 8123);
    expect(written).toEqual(['\rvalidate: 8,123 documents, 12.0 of 50.0 MB (24 %)']);
    clock.set(2100);
    p.update(13e6, 9000);
    expect(written).toHaveLength(1);
    clock.set(2250);
    p.update(50e6, 48000);
    expect(written[1]).toBe('\rvalidate: 48,000 documents, 50.0 of 50.0 MB (100 %)');
    p.done();
    expect(written[2]).toBe(`\r${' '.repeat(written[1]!.length - 1)}\r`);
  });

  it('a shorter line covers the longer one before it', () => {
    const { clock, out, written } = fake(true);
    const p = createProgress({ command: 'inject', out, now: clock.now, delayMs: 0, intervalMs: 0 });
    p.update(123e6, 100000);
    p.update(1e6, 1);
    expect(written[1]).toBe(`\r${'inject: 1 documents, 1.0 MB'.padEnd(written[0]!.length - 1)}`);
  });

  it('writes nothing when stderr is not a terminal, nor clears anything', () => {
    const { clock, out, written } = fake(false);
    const p = createProgress({ command: 'validate', out, now: clock.now });
    clock.set(60_000);
    p.update(1, 1);
    p.done();
    expect(written).toEqual([]);
  });

  it('without a known size (stdin): bytes and documents only', () => {
    expect(progressLine('inject', 2.5e6, 1234)).toBe('inject: 1,234 documents, 2.5 MB');
  });

  it('a run that ends before 2 s leaves stderr untouched', () => {
    const { clock, out, written } = fake(true);
    const p = createProgress({ command: 'validate', out, now: clock.now });
    clock.set(1500);
    p.update(1, 1);
    p.done();
    expect(written).toEqual([]);
  });
});
