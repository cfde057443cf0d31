import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ServiceIpAllocator, serviceIpBandOffset } from '../../../src/cluster/ipam/service-ip-allocator.js';
import { NodePortAllocator, nodePortBandOffset } from '../../../src/cluster/ipam/node-port-allocator.js';
import { AllocationError } from '../../../src/cluster/ipam/errors.js';
import { Rng } from '../../../src/cluster/rng.js';
import { mustParseCidr } from '../../../src/net/cidr.js';
import { parseIp } from '../../../src/net/ip.js';

const ipNum = (s: string) => parseIp(s)!.value;

describe('ClusterIP bands (KEP-3070, reference §4.7)', () => {
  it.each([
    ['10.96.0.0/12', 256, '10.96.0.1', '10.96.1.0', '10.96.1.1', '10.111.255.254'],
    ['10.0.0.0/24', 16, '10.0.0.1', '10.0.0.16', '10.0.0.17', '10.0.0.254'],
    ['10.0.0.0/27', 16, '10.0.0.1', '10.0.0.16', '10.0.0.17', '10.0.0.30'],
  ])('%s: low band of %i, dynamic band above it', (cidr, offset, lowFirst, lowLast, dynFirst, last) => {
    const a = new ServiceIpAllocator(cidr);
    expect(a.offset).toBe(offset);
    expect(a.addressAt(0)).toBe(lowFirst);
    expect(a.addressAt(offset - 1)).toBe(lowLast);
    expect(a.addressAt(offset)).toBe(dynFirst);
    expect(a.addressAt(a.size - 1)).toBe(last);
  });

  it('a /28 has no low band: all 14 usable addresses are dynamic', () => {
    const a = new ServiceIpAllocator('10.0.0.0/28');
    expect(serviceIpBandOffset(mustParseCidr('10.0.0.0/28'))).toBe(0);
    expect(a.size).toBe(14);
    expect(a.addressAt(0)).toBe('10.0.0.1');
    expect(a.addressAt(13)).toBe('10.0.0.14');
  });

  it('caps IPv6 ranges at 65536 addresses and keeps the network address out', () => {
    const a = new ServiceIpAllocator('fd00:10:96::/108');
    expect(a.offset).toBe(256);
    expect(a.size).toBe(65535);
    expect(a.addressAt(0)).toBe('fd00:10:96::1');
    expect(new ServiceIpAllocator('fd00::/64').size).toBe(65535);
  });

  it('dynamic allocation uses the upper band until it is full, then the low band', () => {
    const a = new ServiceIpAllocator('10.0.0.0/27');
    const rng = new Rng(7);
    const first = Array.from({ length: 14 }, () => a.allocateNext(rng));
    for (const ip of first) expect(ipNum(ip) >= ipNum('10.0.0.17')).toBe(true);
    const next = a.allocateNext(rng);
    expect(ipNum(next) <= ipNum('10.0.0.16')).toBe(true);
    for (let i = 0; i < 15; i++) a.allocateNext(rng);
    expect(() => a.allocateNext(rng)).toThrow(AllocationError);
  });

  it('requested addresses may sit anywhere in range; taken or outside ones are refused', () => {
    const a = new ServiceIpAllocator('10.96.0.0/12');
    a.allocate('10.96.0.10');
    a.allocate('10.100.0.1');
    expect(() => a.allocate('10.96.0.10')).toThrow('provided IP is already allocated');
    expect(() => a.allocate('10.96.0.0')).toThrow('is not in the valid range. The range of valid IPs is 10.96.0.0/12');
    expect(() => a.allocate('10.111.255.255')).toThrow('not in the valid range');
    expect(() => a.allocate('10.112.0.1')).toThrow('not in the valid range');
    a.release('10.96.0.10');
    a.allocate('10.96.0.10');
  });

  it('never hands out one address twice, nor one outside the range (any op sequence)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 24, max: 29 }),
        fc.integer(),
        fc.array(fc.oneof(fc.constant<'next'>('next'), fc.nat({ max: 40 }), fc.integer({ min: -40, max: -1 })), { maxLength: 120 }),
        (prefix, seed, ops) => {
          const a = new ServiceIpAllocator(`10.1.2.0/${prefix}`);
          const rng = new Rng(seed);
          const held = new Set<string>();
          for (const op of ops) {
            if (op === 'next') {
              try {
                const ip = a.allocateNext(rng);
                expect(held.has(ip)).toBe(false);
                held.add(ip);
              } catch (e) {
                expect(held.size).toBe(a.size);
              }
            } else if (op >= 0) {
              const ip = a.addressAt(op % Math.max(1, a.size));
              try {
                a.allocate(ip);
                expect(held.has(ip)).toBe(false);
                held.add(ip);
              } catch {
                expect(held.has(ip) || a.size === 0).toBe(true);
              }
            } else {
              const ip = [...held][-op % Math.max(1, held.size)];
              if (ip) {
                a.release(ip);
                held.delete(ip);
              }
            }
          }
          const cidr = mustParseCidr(`10.1.2.0/${prefix}`);
          for (const ip of held) {
            const v = ipNum(ip);
            expect(v > cidr.network && v < cidr.network + (1n << BigInt(32 - prefix)) - 1n).toBe(true);
          }
          expect(a.used).toBe(held.size);
        },
      ),
    );
  });
});

describe('NodePort bands (KEP-3668, reference §4.8)', () => {
  it('the default 30000-32767 range keeps 30000-30085 for requested ports', () => {
    expect(nodePortBandOffset(2768)).toBe(86);
    const a = new NodePortAllocator(30000, 2768);
    expect(a.range).toBe('30000-32767');
    const rng = new Rng(3);
    for (let i = 0; i < 200; i++) {
      const p = a.allocateNext(rng);
      expect(p).toBeGreaterThanOrEqual(30086);
      expect(p).toBeLessThanOrEqual(32767);
    }
  });

  it('band sizes follow min(max(16, size/32), 128)', () => {
    expect(nodePortBandOffset(16)).toBe(0);
    expect(nodePortBandOffset(100)).toBe(16);
    expect(nodePortBandOffset(10000)).toBe(128);
  });

  it('refuses taken and out-of-range ports with upstream texts', () => {
    const a = new NodePortAllocator(30000, 2768);
    a.allocate(30001);
    expect(() => a.allocate(30001)).toThrow('provided port is already allocated');
    expect(() => a.allocate(29999)).toThrow('provided port is not in the valid range. The range of valid ports is 30000-32767');
    expect(() => a.allocate(32768)).toThrow('not in the valid range');
  });

  it('falls back to the static band only when the dynamic band is full', () => {
    const a = new NodePortAllocator(30000, 100); // offset 16
    const rng = new Rng(1);
    const got = Array.from({ length: 84 }, () => a.allocateNext(rng));
    expect(Math.min(...got)).toBe(30016);
    expect(a.allocateNext(rng)).toBeLessThan(30016);
  });

  it('never hands out one port twice, nor one outside the range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer(), fc.array(fc.boolean(), { maxLength: 300 }), (size, seed, ops) => {
        const a = new NodePortAllocator(30000, size);
        const rng = new Rng(seed);
        const held: number[] = [];
        for (const take of ops) {
          if (take) {
            if (held.length === size) {
              expect(() => a.allocateNext(rng)).toThrow();
              continue;
            }
            const p = a.allocateNext(rng);
            expect(held.includes(p)).toBe(false);
            expect(p >= 30000 && p < 30000 + size).toBe(true);
            held.push(p);
          } else if (held.length) {
            a.release(held.shift()!);
          }
        }
      }),
    );
  });
});
