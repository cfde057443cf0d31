import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  cidrContains,
  cidrCovers,
  cidrSize,
  cidrsOverlap,
  containsIp,
  formatCidr,
  nthAddress,
  parseCidr,
  subnetAt,
  subnetCount,
  subnetIndexOf,
  subnets,
} from '../../src/net/cidr.js';
import { parseIp } from '../../src/net/ip.js';

const c = (s: string) => parseCidr(s)!;

describe('CIDR blocks', () => {
  it('clears host bits as Go ParseCIDR does and rejects bad prefixes', () => {
    expect(formatCidr(c('10.244.1.7/24'))).toBe('10.244.1.0/24');
    expect(formatCidr(c('fd00:10:244::1/56'))).toBe('fd00:10:244::/56');
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
    expect(parseCidr('10.0.0.0')).toBeUndefined();
    expect(parseCidr('10.0.0.0/-1')).toBeUndefined();
  });

  it('counts addresses in BigInt so IPv6 /64 blocks are exact', () => {
    expect(cidrSize(c('10.96.0.0/12'))).toBe(1048576n);
    expect(cidrSize(c('fd00::/64'))).toBe(1n << 64n);
  });

  it('finds the nth address: kubernetes.default is .1, kube-dns .10, -1 the last', () => {
    expect(nthAddress(c('10.96.0.0/12'), 1)).toBe('10.96.0.1');
    expect(nthAddress(c('10.96.0.0/12'), 10)).toBe('10.96.0.10');
    expect(nthAddress(c('10.96.0.0/12'), -1)).toBe('10.111.255.255');
    expect(nthAddress(c('fd00:10:96::/108'), 10)).toBe('fd00:10:96::a');
    expect(nthAddress(c('10.0.0.0/30'), 4)).toBeUndefined();
  });

  it('checks containment and overlap, never across families', () => {
    expect(containsIp('10.244.0.0/16', '10.244.255.255')).toBe(true);
    expect(containsIp('10.244.0.0/16', '10.245.0.0')).toBe(false);
    expect(containsIp('10.244.0.0/16', '::1')).toBe(false);
    expect(cidrsOverlap(c('10.0.0.0/8'), c('10.96.0.0/12'))).toBe(true);
    expect(cidrsOverlap(c('10.244.0.0/16'), c('10.96.0.0/12'))).toBe(false);
    expect(cidrsOverlap(c('0.0.0.0/0'), c('::/0'))).toBe(false);
    expect(cidrCovers(c('10.0.0.0/8'), c('10.96.0.0/12'))).toBe(true);
    expect(cidrCovers(c('10.96.0.0/12'), c('10.0.0.0/8'))).toBe(false);
  });

  it('splits a cluster CIDR into node blocks in address order', () => {
    const cluster = c('10.244.0.0/16');
    expect(subnetCount(cluster, 24)).toBe(256n);
    expect(formatCidr(subnetAt(cluster, 24, 0)!)).toBe('10.244.0.0/24');
    expect(formatCidr(subnetAt(cluster, 24, 255)!)).toBe('10.244.255.0/24');
    expect(subnetAt(cluster, 24, 256)).toBeUndefined();
    expect([...subnets(c('10.0.0.0/30'), 31)].map(formatCidr)).toEqual(['10.0.0.0/31', '10.0.0.2/31']);
    expect(formatCidr(subnetAt(c('fd00:10:244::/56'), 64, 1)!)).toBe('fd00:10:244:1::/64');
    expect(subnetIndexOf(cluster, 24, parseIp('10.244.7.9')!)).toBe(7n);
  });

  it('every split block lies inside its parent and blocks never overlap each other', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.integer({ min: 8, max: 28 }), fc.integer({ min: 0, max: 4 }), (base, prefix, extra) => {
        const parent = parseCidr(`${[24, 16, 8, 0].map((s) => (base >>> s) & 255).join('.')}/${prefix}`)!;
        const np = prefix + extra;
        const count = Number(subnetCount(parent, np));
        const i = base % count;
        const block = subnetAt(parent, np, i)!;
        expect(cidrCovers(parent, block)).toBe(true);
        expect(cidrContains(parent, { family: 'IPv4', value: block.network })).toBe(true);
        if (i + 1 < count) expect(cidrsOverlap(block, subnetAt(parent, np, i + 1)!)).toBe(false);
      }),
    );
  });
});
