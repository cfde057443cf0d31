// IP addresses as (family, BigInt) pairs, so IPv4 and IPv6 share one arithmetic.
// Parsing and IPv6 text form come from ipaddr.js; IPv4 has a fast path because pod IPAM is hot.
import ipaddr from 'ipaddr.js';

export type IpFamily = 'IPv4' | 'IPv6';

export interface IpAddress {
  readonly family: IpFamily;
  readonly value: bigint;
}

export const FAMILY_BITS: Readonly<Record<IpFamily, number>> = { IPv4: 32, IPv6: 128 };

/** Parse an address as Kubernetes' strict parser does (dotted quad without leading zeros, or IPv6 without a zone). */
export function parseIp(text: string): IpAddress | undefined {
  if (typeof text !== 'string' || text.length === 0) return undefined;
  if (text.includes(':')) {
    if (text.includes('%') || !ipaddr.IPv6.isValid(text)) return undefined;
    let v = 0n;
    for (const part of ipaddr.IPv6.parse(text).parts) v = (v << 16n) | BigInt(part);
    return { family: 'IPv6', value: v };
  }
  const v4 = parseIPv4(text);
  return v4 === undefined ? undefined : { family: 'IPv4', value: BigInt(v4) };
}

/** A dotted quad as an unsigned 32-bit number, or undefined. */
export function parseIPv4(text: string): number | undefined {
  let value = 0;
  let octets = 0;
  let i = 0;
  while (i <= text.length) {
    let j = i;
    let n = 0;
    while (j < text.length && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 57) {
      n = n * 10 + text.charCodeAt(j) - 48;
      j++;
    }
    const len = j - i;
    if (len === 0 || len > 3 || n > 255 || (len > 1 && text.charCodeAt(i) === 48)) return undefined;
    value = value * 256 + n;
    octets++;
    if (j === text.length) break;
    if (text.charCodeAt(j) !== 46 || octets === 4) return undefined;
    i = j + 1;
  }
  return octets === 4 ? value : undefined;
}

export function formatIPv4(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** Text form: dotted quad, or RFC 5952 for IPv6 (what Go's net.IP.String prints). */
export function formatIp(ip: IpAddress): string {
  if (ip.family === 'IPv4') return formatIPv4(Number(ip.value));
  const parts: number[] = [];
  for (let i = 7; i >= 0; i--) parts.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn));
  return new ipaddr.IPv6(parts).toRFC5952String();
}

export function ipFamilyOf(text: string): IpFamily | undefined {
  return parseIp(text)?.family;
}

export function isIPv4(text: string): boolean {
  return parseIPv4(text) !== undefined;
}

export function isIPv6(text: string): boolean {
  return text.includes(':') && parseIp(text) !== undefined;
}

/** The canonical text of an address (e.g. `2001:db8::1` for `2001:0db8:0:0::1`), or undefined. */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip && formatIp(ip);
}

export function ipEquals(a: string, b: string): boolean {
  const x = parseIp(a);
  const y = parseIp(b);
  return !!x && !!y && x.family === y.family && x.value === y.value;
}

/** The address `n` after `ip` (negative goes back); undefined when it leaves the family's space. */
export function addToIp(ip: IpAddress, n: bigint | number): IpAddress | undefined {
  const v = ip.value + BigInt(n);
  if (v < 0n || v >= 1n << BigInt(FAMILY_BITS[ip.family])) return undefined;
  return { family: ip.family, value: v };
}

/** Sort order: IPv4 before IPv6, then numeric. */
export function compareIps(a: IpAddress, b: IpAddress): number {
  if (a.family !== b.family) return a.family === 'IPv4' ? -1 : 1;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}
