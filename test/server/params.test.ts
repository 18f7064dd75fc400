import { describe, expect, test } from 'vitest';
import { DEFAULT_TIMEOUT_MS, admissionBudgetMs, parseGoDuration, parseInjectPath } from '../../src/server/params.js';

describe('parseGoDuration', () => {
  test.each([
    ['10s', 10_000],
    ['30s', 30_000],
    ['250ms', 250],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['1.5s', 1_500],
    ['.5s', 500],
    ['2s500ms', 2_500],
    ['1500us', 1.5],
    ['1500µs', 1.5],
    ['1000000ns', 1],
    ['0', 0],
    ['-2s', -2_000],
    ['+3s', 3_000],
  ])('%s → %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 9);
  });

  test.each(['', '10', 's', '10x', '10 s', '1m30', 'ten seconds', '1.s.', '-', '10S', ' 10s'])('%j is invalid', (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });
});

describe('admissionBudgetMs', () => {
  test('uses a valid positive timeout', () => {
    expect(admissionBudgetMs('5s')).toBe(5_000);
    expect(admissionBudgetMs('1m30s')).toBe(90_000);
    expect(admissionBudgetMs(' 7s ')).toBe(7_000);
    expect(admissionBudgetMs(['3s', '9s'])).toBe(3_000);
  });

  test.each([undefined, '', 'bogus', '10', '0', '-5s', 42, null])('ignores %j (default %d ms)', (value) => {
    expect(admissionBudgetMs(value)).toBe(DEFAULT_TIMEOUT_MS);
  });

  test('default is the Kubernetes default of 10s', () => {
    expect(DEFAULT_TIMEOUT_MS).toBe(10_000);
  });
});

describe('parseInjectPath', () => {
  test('no parameters', () => {
    expect(parseInjectPath('/inject')).toEqual({});
    expect(parseInjectPath('/inject/')).toEqual({});
  });

  test('key/value segment pairs, raw keys', () => {
    expect(parseInjectPath('/inject/cluster/c1/net/n1')).toEqual({ cluster: 'c1', net: 'n1' });
    expect(parseInjectPath('/inject/cluster/c1/net/n1/')).toEqual({ cluster: 'c1', net: 'n1' });
    expect(parseInjectPath('/inject/MY_VAR/x')).toEqual({ MY_VAR: 'x' });
  });

  test('--slash-- stands for /', () => {
    expect(parseInjectPath('/inject/cluster/east--slash--1/net/a--slash--b--slash--c')).toEqual({
      cluster: 'east/1',
      net: 'a/b/c',
    });
  });

  test('an odd trailing key is ignored', () => {
    expect(parseInjectPath('/inject/cluster/c1/net')).toEqual({ cluster: 'c1' });
    expect(parseInjectPath('/inject/cluster')).toEqual({});
  });

  test('segments are percent-decoded one by one', () => {
    expect(parseInjectPath('/inject/cluster/a%2Fb/net/n%201')).toEqual({ cluster: 'a/b', net: 'n 1' });
    expect(parseInjectPath('/inject/cluster/%zz')).toEqual({ cluster: '%zz' });
  });

  test('a later duplicate wins; empty keys and __proto__ are dropped', () => {
    expect(parseInjectPath('/inject/cluster/a/cluster/b')).toEqual({ cluster: 'b' });
    const p = parseInjectPath('/inject/__proto__/x/net/n1');
    expect(p).toEqual({ net: 'n1' });
    expect(Object.getPrototypeOf(p)).toBe(Object.prototype);
  });

  test('legacy :ENV: form', () => {
    expect(parseInjectPath('/inject/:ENV:cluster=c1:ENV:net=n1')).toEqual({ cluster: 'c1', net: 'n1' });
    expect(parseInjectPath('/inject/:ENV:cluster=c1:ENV:net=')).toEqual({ cluster: 'c1', net: '' });
    expect(parseInjectPath('/inject/:ENV:cluster=c1:ENV:=n1:ENV:net')).toEqual({ cluster: 'c1' });
    expect(parseInjectPath('/inject/:ENV:cluster=a=b')).toEqual({ cluster: 'a=b' });
    expect(parseInjectPath('/inject/:ENV:cluster=a--slash--b')).toEqual({ cluster: 'a/b' });
  });
});

describe('boundaries (cases added for mutation testing)', () => {
  test.each([
    ['1.25s', 1_250],
    ['.25s', 250],
    ['0.125ms', 0.125],
    ['1.s', 1_000],
    ['2h45m', 9_900_000],
    ['1h1h', 7_200_000],
    ['10μs', 0.01],
    ['-0', 0],
    ['+0', 0],
  ])('parseGoDuration(%j) → %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 9);
  });

  test.each(['.s', '00', '+', '1.5', 's10', '10s ', '10ss', `${'9'.repeat(400)}h`])('parseGoDuration(%j) is invalid', (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });

  test('admissionBudgetMs: the smallest positive budgets count, zero and negative do not', () => {
    expect(admissionBudgetMs('1ms')).toBe(1);
    expect(admissionBudgetMs('1ns')).toBeCloseTo(0.000001, 12);
    expect(admissionBudgetMs('0.5ms')).toBe(0.5);
    expect(admissionBudgetMs('0ms')).toBe(10_000);
    expect(admissionBudgetMs('0.0s')).toBe(10_000);
    expect(admissionBudgetMs('-0s')).toBe(10_000);
    expect(admissionBudgetMs('-1ns')).toBe(10_000);
    expect(admissionBudgetMs(['bogus', '5s'])).toBe(10_000);
    expect(admissionBudgetMs([])).toBe(10_000);
  });

  test('parseInjectPath: trailing slashes, however many, are ignored', () => {
    expect(parseInjectPath('/inject/cluster/c1/net//')).toEqual({ cluster: 'c1' });
    expect(parseInjectPath('/inject/cluster//')).toEqual({});
    expect(parseInjectPath('/inject//')).toEqual({});
  });

  test('parseInjectPath: an empty key segment is dropped, its value with it', () => {
    expect(parseInjectPath('/inject//x/net/n1')).toEqual({ net: 'n1' });
  });

  test('parseInjectPath: --slash-- in a key stands for / too', () => {
    expect(parseInjectPath('/inject/a--slash--b/v')).toEqual({ 'a/b': 'v' });
    expect(parseInjectPath('/inject/:ENV:a--slash--b=v')).toEqual({ 'a/b': 'v' });
  });

  test('parseInjectPath: a path that is not under /inject/ has no parameters', () => {
    expect(parseInjectPath('/validate/cluster/c1/net/n1')).toEqual({});
    expect(parseInjectPath('/injection/cluster/c1')).toEqual({});
  });
});
