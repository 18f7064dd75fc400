/**
 * countJsonTokens (src/util/jsonTokens.ts) counts on the bytes what JSON.parse would build: checked against a count
 * taken from the parsed value, for arbitrary JSON (strings with quotes, backslashes, braces and multi-byte characters
 * included), and its early stop.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { countJsonTokens, mayExceedTokens } from '../../src/util/jsonTokens.js';

/** `{`, `[`, `:` and `,` of the serialised value, counted on the value: containers, members, and separators. */
function expected(v: unknown): number {
  if (Array.isArray(v)) return 1 + Math.max(0, v.length - 1) + v.reduce<number>((n, x) => n + expected(x), 0);
  if (typeof v === 'object' && v !== null) {
    const values = Object.values(v);
    return 1 + values.length + Math.max(0, values.length - 1) + values.reduce<number>((n, x) => n + expected(x), 0);
  }
  return 0;
}

describe('countJsonTokens', () => {
  test('equals the count taken from the parsed value, for any JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        expect(countJsonTokens(Buffer.from(text), Number.MAX_SAFE_INTEGER)).toBe(expected(JSON.parse(text)));
      }),
      { numRuns: 500 },
    );
  });

  test('structure inside strings does not count, escapes included', () => {
    expect(countJsonTokens(Buffer.from(String.raw`{"a\"{[,:":"x\\",":":[1,2]}`), 100)).toBe(6);
    expect(countJsonTokens(Buffer.from(JSON.stringify({ 'é{': 'ü,', '☃': ['[', ':'] })), 100)).toBe(6);
  });

  test('stops at the limit it is given', () => {
    const body = Buffer.from(`[${'0,'.repeat(1000)}0]`);
    expect(countJsonTokens(body, 10)).toBe(10);
    expect(countJsonTokens(body, 5000)).toBe(1001);
  });

  test('a body no longer than the limit need not be counted: one byte holds at most one token', () => {
    expect(mayExceedTokens(262_144, 262_144)).toBe(false);
    expect(mayExceedTokens(262_145, 262_144)).toBe(true);
    expect(countJsonTokens(Buffer.from('['.repeat(100)), 1000)).toBe(100);
  });
});
