// The kernel hash functions the hashing schedulers use, bit for bit:
//  - hash_32 (include/linux/hash.h): (val * GOLDEN_RATIO_32) >> (32 - bits), in u32 arithmetic;
//  - hsiphash (lib/siphash.c) as built on 64-bit kernels, where "HalfSipHash-1-3" is SipHash-1-3
//    over u64 words with a key of two unsigned longs and a u32 result; ip_vs_mh.c hashes one u32.
import { parseIp } from '../../net/ip.js';

const GOLDEN_RATIO_32 = 0x61c88647;

/** hash_32(val, bits) for 1 <= bits <= 32. */
export function hash32(val: number, bits: number): number {
  return (Math.imul(val >>> 0, GOLDEN_RATIO_32) >>> 0) >>> (32 - bits);
}

const M64 = (1n << 64n) - 1n;

function rol64(x: bigint, b: bigint): bigint {
  return ((x << b) | (x >> (64n - b))) & M64;
}

/** hsiphash(&v, sizeof(u32), key) on a 64-bit little-endian kernel: SipHash-1-3 of 4 bytes, low 32 bits. */
export function hsiphashU32(v: number, key: readonly [bigint, bigint]): number {
  let v0 = 0x736f6d6570736575n ^ key[0];
  let v1 = 0x646f72616e646f6dn ^ key[1];
  let v2 = 0x6c7967656e657261n ^ key[0];
  let v3 = 0x7465646279746573n ^ key[1];
  const round = () => {
    v0 = (v0 + v1) & M64;
    v1 = rol64(v1, 13n) ^ v0;
    v0 = rol64(v0, 32n);
    v2 = (v2 + v3) & M64;
    v3 = rol64(v3, 16n) ^ v2;
    v0 = (v0 + v3) & M64;
    v3 = rol64(v3, 21n) ^ v0;
    v2 = (v2 + v1) & M64;
    v1 = rol64(v1, 17n) ^ v2;
    v2 = rol64(v2, 32n);
  };
  // 4 bytes: no whole u64 word; the tail (read little-endian) goes into b with the length on top.
  const b = (4n << 56n) | BigInt(v >>> 0);
  v3 ^= b;
  round();
  v0 ^= b;
  v2 ^= 0xffn;
  round();
  round();
  round();
  return Number((v0 ^ v1 ^ v2 ^ v3) & 0xffffffffn);
}

/**
 * The address as the schedulers fold it, in host order: IPv4 ntohl(addr); IPv6 the XOR of its four
 * 32-bit words (`addr->ip6[0]^...^addr->ip6[3]`, then ntohl).
 */
export function foldAddress(address: string): number {
  const ip = parseIp(address);
  if (!ip) throw new Error(`not an IP address: ${address}`);
  if (ip.family === 'IPv4') return Number(ip.value);
  let x = 0n;
  for (let i = 0n; i < 4n; i++) x ^= (ip.value >> (32n * i)) & 0xffffffffn;
  return Number(x);
}
