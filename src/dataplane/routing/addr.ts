// Numeric addresses and prefixes as the FIB sees them: IPv4 as an unsigned 32-bit number, IPv6 as
// a BigInt (the same forms as Packet.srcN/dstN), so a lookup never parses text.
import { formatIPv4, formatIp, parseIPv4, parseIp } from '../../net/ip.js';

export type Family = 4 | 6;
export type AddrN = number | bigint;

export interface Addr {
  readonly family: Family;
  readonly n: AddrN;
}

/** A prefix (route destination, rule selector). `n` keeps host bits as written; `net` has them cleared. */
export interface Prefix {
  readonly family: Family;
  readonly net: AddrN;
  readonly len: number;
}

export const FAMILY_WIDTH: Readonly<Record<Family, number>> = { 4: 32, 6: 128 };

const MASK4: number[] = [];
for (let len = 0; len <= 32; len++) MASK4.push(len === 0 ? 0 : (0xffffffff << (32 - len)) | 0);
const ALL6 = (1n << 128n) - 1n;
const MASK6: bigint[] = [];
for (let len = 0; len <= 128; len++) MASK6.push(ALL6 ^ ((1n << BigInt(128 - len)) - 1n));

/** The IPv4 mask of `len` leading ones as a signed 32-bit int (for `&` tests against 0). */
export function mask4(len: number): number {
  return MASK4[len]!;
}

export function mask6(len: number): bigint {
  return MASK6[len]!;
}

export function parseAddr(text: string): Addr | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return { family: 4, n: v4 };
  const ip = parseIp(text);
  return ip && ip.family === 'IPv6' ? { family: 6, n: ip.value } : undefined;
}

export function formatAddr(family: Family, n: AddrN): string {
  return family === 4 ? formatIPv4(n as number) : formatIp({ family: 'IPv6', value: n as bigint });
}

/** Whether `a` lies in the prefix. */
export function prefixContains(p: Prefix, a: AddrN): boolean {
  if (p.family === 4) return ((((a as number) ^ (p.net as number)) & MASK4[p.len]!) | 0) === 0;
  return (((a as bigint) ^ (p.net as bigint)) & MASK6[p.len]!) === 0n;
}

export function maskAddr(family: Family, n: AddrN, len: number): AddrN {
  return family === 4 ? ((n as number) & MASK4[len]!) >>> 0 : (n as bigint) & MASK6[len]!;
}

/** Last address of the prefix (the IPv4 broadcast address of a subnet). */
export function lastOf(p: Prefix): AddrN {
  return p.family === 4 ? ((p.net as number) | ~MASK4[p.len]!) >>> 0 : (p.net as bigint) | (ALL6 ^ MASK6[p.len]!);
}

/**
 * Parse `addr`, `addr/len`, `default`, `all`, `any` or `0/len` (what iproute2 accepts and prints).
 * `strict` refuses host bits (the kernel's "Invalid prefix for given prefix length").
 */
export function parsePrefix(text: string, family?: Family, strict = false): Prefix | undefined {
  if (text === 'default' || text === 'all' || text === 'any') return family ? { family, net: family === 4 ? 0 : 0n, len: 0 } : undefined;
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  let a = parseAddr(addrText);
  if (!a && addrText === '0' && family) a = { family, n: family === 4 ? 0 : 0n };
  if (!a || (family && a.family !== family)) return undefined;
  const width = FAMILY_WIDTH[a.family];
  let len = width;
  if (slash >= 0) {
    const lt = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lt)) return undefined;
    len = Number(lt);
    if (len > width) return undefined;
  }
  const net = maskAddr(a.family, a.n, len);
  if (strict && net !== a.n) return undefined;
  return { family: a.family, net, len };
}

/** `10.0.0.0/8`; host prefixes without the length (`10.0.0.1`), `/0` as `default` when asked. */
export function formatPrefix(p: Prefix, zeroAs: 'default' | 'all' | 'cidr' = 'cidr'): string {
  if (p.len === 0 && zeroAs !== 'cidr') return zeroAs;
  const a = formatAddr(p.family, p.net);
  return p.len === FAMILY_WIDTH[p.family] ? a : `${a}/${p.len}`;
}

export function prefixEquals(a: Prefix, b: Prefix): boolean {
  return a.family === b.family && a.len === b.len && a.net === b.net;
}

/** Whether `inner` lies within `outer`. */
export function prefixCovers(outer: Prefix, inner: Prefix): boolean {
  return outer.family === inner.family && inner.len >= outer.len && prefixContains(outer, inner.net);
}

export function compareAddr(a: AddrN, b: AddrN): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function isZero(n: AddrN): boolean {
  return n === 0 || n === 0n;
}
