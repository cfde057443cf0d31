// Address helpers that behave like the Go functions kube-proxy uses: k8s.io/utils/net ParseIPSloppy /
// ParseCIDRSloppy (IPv4 parts may carry leading zeros, read as decimal), net.IP.String() and
// net.JoinHostPort. ipaddr.js is used for the IPv6 grammar only: it reads "010" as octal, Go does not.
import ipaddr from 'ipaddr.js';

export type IPFamily = 'IPv4' | 'IPv6';

/** A parsed address: 4 bytes for IPv4 (IPv4-mapped IPv6 included, as Go's To4 does), 16 for IPv6. */
export interface ParsedIP {
  readonly family: IPFamily;
  readonly bytes: Uint8Array;
}

export interface ParsedCIDR {
  readonly family: IPFamily;
  /** The masked network address. */
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

function parseIPv4Sloppy(s: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || part === 3) return undefined;
      out[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      digits++;
      if (value > 255) return undefined;
    } else {
      return undefined;
    }
  }
  if (digits === 0 || part !== 3) return undefined;
  out[3] = value;
  return out;
}

/** ParseIPSloppy: undefined when `s` is not an address. */
export function parseIP(s: string): ParsedIP | undefined {
  if (s.includes(':')) {
    if (s.includes('%') || !ipaddr.IPv6.isValid(s)) return undefined;
    const bytes = Uint8Array.from(ipaddr.IPv6.parse(s).toByteArray());
    const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
    return mapped ? { family: 'IPv4', bytes: bytes.slice(12) } : { family: 'IPv6', bytes };
  }
  const v4 = parseIPv4Sloppy(s);
  return v4 ? { family: 'IPv4', bytes: v4 } : undefined;
}

/** Go's net.IP.String(): dotted quad, or RFC 5952 text (longest run of 2+ zero groups becomes ::). */
export function formatIP(ip: { family: IPFamily; bytes: Uint8Array }): string {
  const b = ip.bytes;
  if (ip.family === 'IPv4') return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number) => g.toString(16);
  if (bestLen < 2) return groups.map(hex).join(':');
  const head = groups.slice(0, bestStart).map(hex).join(':');
  const tail = groups.slice(bestStart + bestLen).map(hex).join(':');
  return `${head}::${tail}`;
}

/** The normalised text of an address (as kube-proxy prints it), or undefined when invalid. */
export function canonicalIP(s: string): string | undefined {
  const p = parseIP(s);
  return p ? formatIP(p) : undefined;
}

export function ipFamilyOf(s: string): IPFamily | undefined {
  return parseIP(s)?.family;
}

/** ParseCIDRSloppy: the network is masked, as Go's net.ParseCIDR returns it. */
export function parseCIDR(s: string): ParsedCIDR | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIP(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (!ip || !/^[0-9]+$/.test(lenText)) return undefined;
  const prefix = Number(lenText);
  // A mapped IPv6 literal with a /96+ prefix is still an IPv6 CIDR in Go; keep the simple rule.
  const family: IPFamily = s.slice(0, slash).includes(':') ? 'IPv6' : 'IPv4';
  const bytes = family === ip.family ? ip.bytes : mapToV6(ip.bytes);
  const bits = family === 'IPv4' ? 32 : 128;
  if (prefix > bits) return undefined;
  return { family, bytes: mask(bytes, prefix), prefix };
}

function mapToV6(v4: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(v4, 12);
  return out;
}

function mask(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] = bytes[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

/** IPNet.String(): masked network and prefix length. */
export function formatCIDR(c: ParsedCIDR): string {
  return `${formatIP(c)}/${c.prefix}`;
}

export function canonicalCIDR(s: string): string | undefined {
  const c = parseCIDR(s);
  return c ? formatCIDR(c) : undefined;
}

export function cidrContains(c: ParsedCIDR, ip: ParsedIP | undefined): boolean {
  if (!ip || ip.family !== c.family) return false;
  const m = mask(ip.bytes, c.prefix);
  for (let i = 0; i < m.length; i++) if (m[i] !== c.bytes[i]) return false;
  return true;
}

export function isZeroCIDR(c: ParsedCIDR): boolean {
  return c.prefix === 0;
}

export function isLoopback(ip: ParsedIP): boolean {
  if (ip.family === 'IPv4') return ip.bytes[0] === 127;
  return ip.bytes.every((b, i) => (i === 15 ? b === 1 : b === 0));
}

/** net.JoinHostPort: IPv6 hosts are bracketed. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
