// Quantities and addresses, as apimachinery and netutils parse them.
import { describe, expect, test } from 'vitest';
import { cidrsOverlap, hasHostBits, parseCIDR, parseIP, strictSubset } from '../../src/manifest/ip.js';
import { isQuantity, parseQuantity } from '../../src/manifest/quantity.js';

describe('quantities', () => {
  test.each([
    ['500m', 0.5],
    ['1', 1],
    ['1.5', 1.5],
    ['1Ki', 1024],
    ['128Mi', 128 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1G', 1e9],
    ['129e6', 129e6],
    ['1E3', 1000],
    ['.5', 0.5],
    ['100n', 1e-7],
  ])('%s = %d', (q, v) => {
    expect(parseQuantity(q)).toBeCloseTo(v, 12);
  });
  test.each(['1GB', '1Gb', 'abc', '1.2.3', 'Ki', '1KiB', '1 Gi', ' 1', '', '1ki'])('%j is not a quantity', (q) => {
    expect(isQuantity(q)).toBe(false);
  });
  test('a number is a quantity', () => {
    expect(isQuantity(4)).toBe(true);
  });
});

describe('addresses', () => {
  test.each(['10.0.0.1', '192.168.1.255', '::1', 'fd00:10:96::a', '2001:db8::ffff'])('%s is an IP', (s) => expect(parseIP(s)).toBeDefined());
  test.each(['10.0.0', '10.0.0.256', '010.0.0.1', '0x0a.0.0.1', '1.2.3.4/8', '', 'fe80::1%eth0', '::ffff:1.2.3.4', 'a.b.c.d'])('%j is not an IP', (s) => expect(parseIP(s)).toBeUndefined());
  test('CIDRs parse with family and prefix; a prefix beyond the family is invalid', () => {
    expect(parseCIDR('10.244.0.0/16')).toMatchObject({ family: 'IPv4', prefix: 16 });
    expect(parseCIDR('fd00::/108')).toMatchObject({ family: 'IPv6', prefix: 108 });
    expect(parseCIDR('10.0.0.0/33')).toBeUndefined();
    expect(parseCIDR('10.0.0.0')).toBeUndefined();
  });
  test('host bits, overlap and strict subsets', () => {
    expect(hasHostBits(parseCIDR('10.96.0.1/12')!)).toBe(true);
    expect(hasHostBits(parseCIDR('10.96.0.0/12')!)).toBe(false);
    expect(cidrsOverlap(parseCIDR('10.0.0.0/8')!, parseCIDR('10.244.0.0/16')!)).toBe(true);
    expect(cidrsOverlap(parseCIDR('10.244.0.0/16')!, parseCIDR('10.96.0.0/12')!)).toBe(false);
    expect(strictSubset(parseCIDR('10.1.0.0/16')!, parseCIDR('10.0.0.0/8')!)).toBe(true);
    expect(strictSubset(parseCIDR('10.0.0.0/8')!, parseCIDR('10.0.0.0/8')!)).toBe(false);
  });
});
