/** The one wording of values in error messages (src/util/describeValue.ts). */
import { describe, expect, test } from 'vitest';
import { describeValue } from '../../src/util/describeValue.js';

describe('describeValue', () => {
  test.each([
    [undefined, 'nothing'],
    [null, 'null'],
    ['x', '"x"'],
    ['say "hi"', '"say \\"hi\\""'],
    [5, 'number 5'],
    [1.5, 'number 1.5'],
    [true, 'boolean true'],
    [[1, 2], 'a list'],
    [{ a: 1 }, 'a map'],
  ])('%j is %s', (value, text) => {
    expect(describeValue(value)).toBe(text);
  });

  test('with content, lists and maps show what they hold, cut after 80 characters', () => {
    expect(describeValue(['a'], { content: true })).toBe('the list ["a"]');
    expect(describeValue({ a: 1 }, { content: true })).toBe('the map {"a":1}');
    const long = describeValue({ key: 'v'.repeat(200) }, { content: true });
    expect(long).toBe(`the map ${`{"key":"${'v'.repeat(200)}"}`.slice(0, 77)}...`);
    expect(describeValue(7, { content: true })).toBe('number 7');
  });

  test('text is cut after 200 characters (a hostile value is not echoed whole)', () => {
    expect(describeValue('a'.repeat(200))).toBe(JSON.stringify('a'.repeat(200)));
    expect(describeValue('a'.repeat(5000))).toBe(JSON.stringify(`${'a'.repeat(200)}…`));
  });
});
