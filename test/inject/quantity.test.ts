import { describe, expect, it } from 'vitest';
import { canonicalQuantity, compareQuantities, isQuantity } from '../../src/inject/quantity.js';

describe('Kubernetes canonical quantities', () => {
  it.each([
    ['2000m', '2'],
    ['100m', '100m'],
    ['1500m', '1500m'],
    ['0.5', '500m'],
    ['1000', '1k'],
    ['1200', '1200'],
    ['0', '0'],
    ['1024Mi', '1Gi'],
    ['128Mi', '128Mi'],
    ['1536Mi', '1536Mi'],
    ['0.5Gi', '512Mi'],
    ['512', '512'],
    ['1e3', '1e3'],
    ['4000m', '4'],
    ['1.5Gi', '1536Mi'],
    ['1Ki', '1Ki'],
  ])('%s → %s', (input, canonical) => {
    expect(canonicalQuantity(input)).toBe(canonical);
  });

  it('rejects what is not a quantity', () => {
    expect(isQuantity('lots')).toBe(false);
    expect(isQuantity('1.2.3')).toBe(false);
    expect(() => canonicalQuantity('10 Mi')).toThrow(/not a Kubernetes quantity/);
  });
});

describe('compareQuantities', () => {
  const cases: [string | number, string | number, number | undefined][] = [
    ['1Gi', '1000Mi', 1],
    ['0.5', '500m', 0],
    ['100m', '1', -1],
    [2, '2000m', 0],
    ['1e3', '1k', 0],
    ['lots', '1', undefined],
  ];

  it('orders by value, whatever the spelling, and says undefined for a non-quantity', () => {
    for (const [a, b, order] of cases) expect(compareQuantities(a, b), `${a} vs ${b}`).toBe(order);
  });

  it('answers the same once its memo of earlier answers has filled and been dropped', () => {
    for (let i = 0; i < 2000; i++) expect(compareQuantities(`${i}Mi`, `${i + 1}Mi`)).toBe(-1);
    for (const [a, b, order] of cases) expect(compareQuantities(a, b), `${a} vs ${b}`).toBe(order);
    // A number and its text are the same quantity, and the same key.
    expect(compareQuantities(3, '3')).toBe(0);
    expect(compareQuantities('3', 2)).toBe(1);
  });
});
