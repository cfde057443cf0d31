// computeProbability: Go's "%0.10f" of 1/n (reference §1.11, upstream TestComputeProbability).
import { describe, expect, test } from 'vitest';
import { computeProbability, probability } from '../../../src/dataplane/kubeproxy/index.js';

describe('computeProbability', () => {
  test('upstream anchors', () => {
    expect(computeProbability(2)).toBe('0.5000000000');
    expect(computeProbability(100001)).toBe('0.0000099999');
  });

  test('always ten rounded decimals', () => {
    expect(computeProbability(1)).toBe('1.0000000000');
    expect(computeProbability(3)).toBe('0.3333333333');
    expect(computeProbability(7)).toBe('0.1428571429');
    expect(computeProbability(6)).toBe('0.1666666667');
  });

  test('an exact decimal tie rounds half to even, as Go does (1/2048 = 0.00048828125)', () => {
    expect(computeProbability(2048)).toBe('0.0004882812');
  });

  test('values strictly decrease while they are distinguishable at ten decimals', () => {
    let prev = Number(computeProbability(1));
    for (let n = 2; n <= 1000; n++) {
      const p = Number(computeProbability(n));
      expect(p).toBeLessThan(prev);
      prev = p;
    }
  });

  test('the cached table returns the same strings', () => {
    for (const n of [1, 2, 3, 999, 1000, 1001, 123456]) expect(probability(n)).toBe(computeProbability(n));
  });
});
