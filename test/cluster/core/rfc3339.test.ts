import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatRFC3339Nano, parseRFC3339 } from '../../../src/cluster/rfc3339.js';

/** What Date gives: toISOString with the fraction trimmed as Go's RFC3339Nano does. */
function formatWithDate(ms: number): string {
  const iso = new Date(ms).toISOString();
  const [head, frac] = iso.slice(0, -1).split('.');
  const trimmed = (frac ?? '').replace(/0+$/, '');
  return trimmed ? `${head}.${trimmed}Z` : `${head}Z`;
}

// Years 1 to 12000: before, inside and after the range worked out by arithmetic.
const anyMs = fc.integer({ min: -62135596800000, max: 316592928000000 });

describe('formatRFC3339Nano', () => {
  it('writes UTC seconds, and a fraction only when there is one, without trailing zeros', () => {
    expect(formatRFC3339Nano(Date.UTC(2026, 0, 1, 0, 0, 5))).toBe('2026-01-01T00:00:05Z');
    expect(formatRFC3339Nano(Date.UTC(2024, 1, 29, 23, 59, 59, 100))).toBe('2024-02-29T23:59:59.1Z');
    expect(formatRFC3339Nano(0)).toBe('1970-01-01T00:00:00Z');
    expect(formatRFC3339Nano(Date.UTC(9999, 11, 31, 23, 59, 59, 999))).toBe('9999-12-31T23:59:59.999Z');
  });

  it('gives the text Date gives, for any millisecond', () => {
    fc.assert(fc.property(anyMs, (ms) => formatRFC3339Nano(ms) === formatWithDate(ms)));
  });

  it('gives the text Date gives for whole seconds (the API server writes those)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 253402300799 }), (s) => formatRFC3339Nano(s * 1000) === formatWithDate(s * 1000)));
  });
});

describe('parseRFC3339', () => {
  it('reads second-precision UTC texts as Date.parse does', () => {
    expect(parseRFC3339('2026-01-01T00:00:05Z')).toBe(Date.UTC(2026, 0, 1, 0, 0, 5));
    expect(parseRFC3339('2000-02-29T12:00:00Z')).toBe(Date.UTC(2000, 1, 29, 12));
  });

  it('round-trips every whole second it formats, as Date.parse does', () => {
    fc.assert(
      fc.property(anyMs, (ms) => {
        const text = formatWithDate(Math.floor(ms / 1000) * 1000);
        return Object.is(parseRFC3339(text), Date.parse(text));
      }),
    );
  });

  it('agrees with Date.parse on texts of the same shape with any digits (invalid dates, hour 24, leap days)', () => {
    const d = (n: number) => fc.integer({ min: 0, max: 10 ** n - 1 }).map((v) => String(v).padStart(n, '0'));
    const text = fc
      .tuple(d(4), d(2), d(2), d(2), d(2), d(2))
      .map(([y, mo, da, h, mi, s]) => `${y}-${mo}-${da}T${h}:${mi}:${s}Z`);
    fc.assert(fc.property(text, (t) => Object.is(parseRFC3339(t), Date.parse(t))));
    for (const t of ['2023-02-29T00:00:00Z', '2024-02-29T00:00:00Z', '2024-04-31T00:00:00Z', '2024-01-01T24:00:00Z', '1969-12-31T23:59:59Z']) {
      expect(parseRFC3339(t)).toBe(Date.parse(t));
    }
  });

  it('leaves every other text to Date.parse (fractions, offsets, junk)', () => {
    for (const t of ['2026-01-01T00:00:05.12Z', '2026-01-01T00:00:05+02:00', '2026-01-01', 'junk', '', '2026-01-01t00:00:05Z']) {
      expect(Object.is(parseRFC3339(t), Date.parse(t))).toBe(true);
    }
  });
});
