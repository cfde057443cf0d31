// Scenario durations: parsing, canonical formatting, and the round trip between them.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { formatDuration, parseDuration } from '../../src/scenario/duration.js';

describe('parseDuration', () => {
  test.each([
    ['30s', 30],
    ['2m', 120],
    ['1h30m', 5400],
    ['500ms', 0.5],
    ['1.5s', 1.5],
    ['1m30s', 90],
    ['2h', 7200],
    ['0s', 0],
    ['90', 90],
    ['2.5', 2.5],
    [' 10s ', 10],
    ['1m500ms', 60.5],
  ])('%j is %d seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });
  test('a plain number means seconds', () => {
    expect(parseDuration(45)).toBe(45);
    expect(parseDuration(0.25)).toBe(0.25);
  });
  test.each(['', 'soon', '-5s', '5 s', 's', '1d', '10sec', '1h-30m', '1.2.3s'])('%j is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
  test('negative numbers, NaN and non-scalars are not durations', () => {
    expect(parseDuration(-1)).toBeUndefined();
    expect(parseDuration(Number.NaN)).toBeUndefined();
    expect(parseDuration({ s: 1 })).toBeUndefined();
    expect(parseDuration(null)).toBeUndefined();
  });
  test('fractions add up in whole milliseconds', () => {
    expect(parseDuration('0.1s200ms')).toBe(0.3);
  });
});

describe('formatDuration', () => {
  test.each([
    [0, '0s'],
    [0.5, '500ms'],
    [30, '30s'],
    [90, '1m30s'],
    [5400, '1h30m'],
    [3600, '1h'],
    [60.5, '1m0.5s'],
    [1.25, '1.25s'],
  ])('%d seconds is %s', (s, text) => {
    expect(formatDuration(s)).toBe(text);
  });

  test('format then parse gives the same number of milliseconds (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400 * 3_600_000 }), (ms) => {
        expect(parseDuration(formatDuration(ms / 1000))).toBe(ms / 1000);
      }),
      { numRuns: 2000 },
    );
  });

  test('parse then format is stable for any sum of terms (property)', () => {
    const term = fc.tuple(fc.integer({ min: 0, max: 999 }), fc.constantFrom('h', 'm', 's', 'ms'));
    fc.assert(
      fc.property(fc.array(term, { minLength: 1, maxLength: 4 }), (terms) => {
        const text = terms.map(([n, u]) => `${n}${u}`).join('');
        const seconds = parseDuration(text)!;
        expect(seconds).toBeCloseTo(terms.reduce((acc, [n, u]) => acc + n * { h: 3600, m: 60, s: 1, ms: 0.001 }[u], 0), 6);
        expect(parseDuration(formatDuration(seconds))).toBe(seconds);
      }),
    );
  });
});
