import { describe, expect, it } from 'vitest';
import { canonicalQuantity, isQuantity } from '../../src/inject/quantity.js';

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
