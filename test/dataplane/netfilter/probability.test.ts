// Exact probabilities: decimals as written, and the kernel's 1/2^31 quantisation as iptables-save prints it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { add, complement, equals, formatFraction, formatKernelProbability, mul, ONE, parseDecimal } from '../../../src/dataplane/netfilter/index.js';

describe('probabilities', () => {
  it('parses decimals exactly and refuses what is not a plain decimal', () => {
    expect(formatFraction(parseDecimal('0.3333333333')!)).toBe('3333333333/10000000000');
    expect(formatFraction(parseDecimal('.5')!)).toBe('1/2');
    expect(formatFraction(parseDecimal('1')!)).toBe('1');
    for (const bad of ['1e-3', '-0.5', 'abc', '', '.']) expect(parseDecimal(bad)).toBeUndefined();
  });

  it('prints what iptables-save prints after loading (values checked against iptables 1.8.9)', () => {
    const cases: [string, string][] = [
      ['0.3333333333', '0.33333333349'],
      ['0.5000000000', '0.50000000000'],
      ['0.0000099999', '0.00001000008'],
      ['0.1428571429', '0.14285714272'],
      ['0.0666666667', '0.06666666688'],
      ['0.0010000000', '0.00100000016'],
      ['0.9999999999', '1.00000000000'],
      ['1.0', '1.00000000000'],
      ['0', '0.00000000000'],
      ['0.25', '0.25000000000'],
    ];
    for (const [written, printed] of cases) expect(formatKernelProbability(parseDecimal(written)!)).toBe(printed);
  });

  it('p and 1 - p always sum to exactly 1, and so do products along any binary tree of choices', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000_000_000 }), { minLength: 1, maxLength: 8 }), (ns) => {
        const ps = ns.map((n) => parseDecimal((n / 1e10).toFixed(10))!);
        // Leaves of a chain of choices: p0, (1-p0)p1, (1-p0)(1-p1)p2, ..., and the remainder.
        let rest = ONE;
        let sum = parseDecimal('0')!;
        for (const p of ps) {
          sum = add(sum, mul(rest, p));
          rest = mul(rest, complement(p));
        }
        expect(equals(add(sum, rest), ONE)).toBe(true);
      }),
    );
  });
});
