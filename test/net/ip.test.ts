import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { addToIp, canonicalIp, compareIps, formatIp, ipEquals, ipFamilyOf, parseIp, parseIPv4 } from '../../src/net/ip.js';

describe('IP parsing and formatting', () => {
  it('parses dotted quads strictly, rejecting leading zeros and short forms as Kubernetes does', () => {
    expect(parseIPv4('10.244.1.2')).toBe(0x0af40102);
    expect(parseIPv4('255.255.255.255')).toBe(0xffffffff);
    for (const bad of ['010.0.0.1', '10.0.0', '10.0.0.256', '10..0.1', '1.2.3.4.', '', '1.2.3.4 ', '0x0a.0.0.1']) {
      expect(parseIPv4(bad), bad).toBeUndefined();
    }
  });

  it('reads IPv6 as a 128-bit number and prints RFC 5952 text (as Go does)', () => {
    const ip = parseIp('2001:0DB8:0:0:0:0:0:1')!;
    expect(ip.family).toBe('IPv6');
    expect(ip.value).toBe((0x20010db8n << 96n) | 1n);
    expect(formatIp(ip)).toBe('2001:db8::1');
    expect(canonicalIp('fd00:10:96:0:0:0:0:a')).toBe('fd00:10:96::a');
    expect(canonicalIp('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
    expect(parseIp('fe80::1%eth0')).toBeUndefined();
  });

  it('tells families apart and compares across forms', () => {
    expect(ipFamilyOf('10.96.0.1')).toBe('IPv4');
    expect(ipFamilyOf('fd00::1')).toBe('IPv6');
    expect(ipFamilyOf('nope')).toBeUndefined();
    expect(ipEquals('fd00:0::1', 'fd00::1')).toBe(true);
    expect(compareIps(parseIp('10.0.0.2')!, parseIp('10.0.0.10')!)).toBeLessThan(0);
    expect(compareIps(parseIp('::1')!, parseIp('10.0.0.10')!)).toBeGreaterThan(0);
  });

  it('adds offsets without leaving the address space', () => {
    expect(formatIp(addToIp(parseIp('10.0.0.255')!, 1)!)).toBe('10.0.1.0');
    expect(addToIp(parseIp('255.255.255.255')!, 1)).toBeUndefined();
    expect(formatIp(addToIp(parseIp('fd00::ffff')!, 1n)!)).toBe('fd00::1:0');
  });

  it('round-trips every IPv4 and IPv6 value through text', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), (v) => {
        const text = formatIp({ family: 'IPv4', value: BigInt(v) });
        expect(parseIp(text)).toEqual({ family: 'IPv4', value: BigInt(v) });
      }),
    );
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (v) => {
        const text = formatIp({ family: 'IPv6', value: v });
        expect(parseIp(text)?.value).toBe(v);
      }),
    );
  });
});
