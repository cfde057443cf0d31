import { describe, expect, it } from 'vitest';
import { humanDuration } from '../../src/report/age.js';

// Expected values from apimachinery's duration_test.go TestHumanDuration table.
describe("kubectl's AGE (HumanDuration)", () => {
  it.each([
    [1, '1s'],
    [70, '70s'],
    [190, '3m10s'],
    [70 * 60, '70m'],
    [47 * 3600, '47h'],
    [49 * 3600, '2d1h'],
    [(8 * 24 + 2) * 3600, '8d'],
    [367 * 24 * 3600, '367d'],
    [(365 * 2 + 1) * 24 * 3600, '2y1d'],
    [365 * 8 * 24 * 3600, '8y'],
    [-2, '<invalid>'],
    [-1, '0s'],
  ])('%d seconds → %s', (s, want) => {
    expect(humanDuration(s)).toBe(want);
  });
});
