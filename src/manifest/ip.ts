// IP and CIDR syntax with ipaddr.js, strict as current Kubernetes is (no leading zeros, no IPv4-mapped forms).
import ipaddr from 'ipaddr.js';

export type IP = ipaddr.IPv4 | ipaddr.IPv6;
export type Family = 'IPv4' | 'IPv6';

export function parseIP(s: string): IP | undefined {
  if (typeof s !== 'string' || s.length === 0) return undefined;
  if (s.includes(':')) {
    if (!ipaddr.IPv6.isValid(s) || s.includes('%')) return undefined;
    const ip = ipaddr.IPv6.parse(s);
    return ip.isIPv4MappedAddress() && s.includes('.') ? undefined : ip;
  }
  if (!ipaddr.IPv4.isValidFourPartDecimal(s)) return undefined;
  // Leading zeros are ambiguous (octal or decimal), so Kubernetes rejects them.
  if (s.split('.').some((p) => p.length > 1 && p.startsWith('0'))) return undefined;
  return ipaddr.IPv4.parse(s);
}

export interface Cidr {
  ip: IP;
  prefix: number;
  family: Family;
  text: string;
}

export function parseCIDR(s: string): Cidr | undefined {
  if (typeof s !== 'string') return undefined;
  const i = s.indexOf('/');
  if (i < 0) return undefined;
  const ip = parseIP(s.slice(0, i));
  const pfx = s.slice(i + 1);
  if (!ip || !/^\d{1,3}$/.test(pfx)) return undefined;
  const prefix = Number(pfx);
  if (prefix > (ip.kind() === 'ipv4' ? 32 : 128)) return undefined;
  return { ip, prefix, family: familyOf(ip), text: s };
}

export function familyOf(ip: IP): Family {
  return ip.kind() === 'ipv4' ? 'IPv4' : 'IPv6';
}

export function ipFamily(s: string): Family | undefined {
  const ip = parseIP(s);
  return ip ? familyOf(ip) : undefined;
}

export function contains(c: Cidr, ip: IP): boolean {
  return ip.kind() === c.ip.kind() && (ip as ipaddr.IPv4).match(c.ip as ipaddr.IPv4, c.prefix);
}

/** The network address of a CIDR (host bits cleared). */
export function networkOf(c: Cidr): IP {
  const bytes = c.ip.toByteArray();
  for (let b = 0; b < bytes.length; b++) {
    const keep = Math.max(0, Math.min(8, c.prefix - b * 8));
    bytes[b]! &= (0xff << (8 - keep)) & 0xff;
  }
  return ipaddr.fromByteArray(bytes) as IP;
}

export function hasHostBits(c: Cidr): boolean {
  return networkOf(c).toString() !== c.ip.toString();
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  return a.prefix <= b.prefix ? contains(a, b.ip) : contains(b, a.ip);
}

/** `a` inside `b` and smaller. */
export function strictSubset(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.prefix > b.prefix && contains(b, a.ip);
}

/** The IP `offset` addresses after `base` (IPv4 and IPv6). */
export function addToIP(base: IP, offset: bigint): IP {
  const bytes = base.toByteArray();
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  n += offset;
  const out = new Array<number>(bytes.length);
  for (let i = bytes.length - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return ipaddr.fromByteArray(out) as IP;
}

export function cidrSize(c: Cidr): bigint {
  return 1n << BigInt((c.family === 'IPv4' ? 32 : 128) - c.prefix);
}

export function isSpecialIP(ip: IP): string | undefined {
  const r = ip.range();
  if (r === 'unspecified') return 'may not be unspecified (0.0.0.0)';
  if (r === 'loopback') return 'may not be in the loopback range (127.0.0.0/8, ::1/128)';
  if (r === 'linkLocal') return 'may not be in the link-local range (169.254.0.0/16, fe80::/10)';
  if (r === 'multicast') return 'may not be in the multicast range (224.0.0.0/4, ff00::/8)';
  return undefined;
}
