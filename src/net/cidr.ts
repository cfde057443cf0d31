// CIDR blocks on top of ip.ts: size, nth address, containment, overlap and splitting into
// equal blocks, all in BigInt so IPv6 /64s and /48s need no special cases.
import { FAMILY_BITS, formatIp, parseIp, type IpAddress, type IpFamily } from './ip.js';

export interface Cidr {
  readonly family: IpFamily;
  /** The network address (host bits cleared). */
  readonly network: bigint;
  readonly prefix: number;
}

/**
 * Parse `addr/prefix`. Host bits are cleared, as Go's net.ParseCIDR returns the network
 * (`10.0.0.5/24` gives 10.0.0.0/24).
 */
export function parseCidr(text: string): Cidr | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const p = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(p)) return undefined;
  const prefix = Number(p);
  if (prefix > FAMILY_BITS[ip.family]) return undefined;
  return { family: ip.family, network: ip.value & prefixMask(ip.family, prefix), prefix };
}

/** Parse or throw: for configuration that was validated earlier. */
export function mustParseCidr(text: string): Cidr {
  const c = parseCidr(text);
  if (!c) throw new Error(`invalid CIDR ${JSON.stringify(text)}`);
  return c;
}

export function formatCidr(c: Cidr): string {
  return `${formatIp({ family: c.family, value: c.network })}/${c.prefix}`;
}

/** The /24 (IPv4) or /64 (IPv6) around an address: the subnet assumed for a host whose subnet is not given. */
export function enclosingSubnet(ip: string): string {
  return formatCidr(mustParseCidr(`${ip}/${ip.includes(':') ? 64 : 24}`));
}

/** The mask with `prefix` leading one bits, as a BigInt of the family's width. */
export function prefixMask(family: IpFamily, prefix: number): bigint {
  const bits = BigInt(FAMILY_BITS[family]);
  const all = (1n << bits) - 1n;
  return all ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

export function hostBits(c: Cidr): number {
  return FAMILY_BITS[c.family] - c.prefix;
}

/** Number of addresses in the block (2^hostBits). */
export function cidrSize(c: Cidr): bigint {
  return 1n << BigInt(hostBits(c));
}

/** The `n`th address of the block, counting the network address as 0; negative counts from the end (-1 = last). */
export function addressAt(c: Cidr, n: bigint | number): IpAddress | undefined {
  const size = cidrSize(c);
  let i = BigInt(n);
  if (i < 0n) i += size;
  if (i < 0n || i >= size) return undefined;
  return { family: c.family, value: c.network + i };
}

/** `addressAt` as text. */
export function nthAddress(c: Cidr, n: bigint | number): string | undefined {
  const ip = addressAt(c, n);
  return ip && formatIp(ip);
}

export function lastAddress(c: Cidr): IpAddress {
  return { family: c.family, value: c.network + cidrSize(c) - 1n };
}

export function cidrContains(c: Cidr, ip: IpAddress): boolean {
  return ip.family === c.family && ip.value >= c.network && ip.value < c.network + cidrSize(c);
}

/** Whether text address `ip` lies in text block `cidr` (false for unparsable input). */
export function containsIp(cidr: string | Cidr, ip: string): boolean {
  const c = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
  const a = parseIp(ip);
  return !!c && !!a && cidrContains(c, a);
}

/** Offset of `ip` inside `c` (0 = network address), or undefined when outside. */
export function offsetIn(c: Cidr, ip: IpAddress): bigint | undefined {
  return cidrContains(c, ip) ? ip.value - c.network : undefined;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const aEnd = a.network + cidrSize(a);
  const bEnd = b.network + cidrSize(b);
  return a.network < bEnd && b.network < aEnd;
}

/** Whether `inner` lies entirely inside `outer`. */
export function cidrCovers(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && inner.prefix >= outer.prefix && cidrContains(outer, { family: inner.family, value: inner.network });
}

/** How many /newPrefix blocks `c` splits into. */
export function subnetCount(c: Cidr, newPrefix: number): bigint {
  if (newPrefix < c.prefix || newPrefix > FAMILY_BITS[c.family]) return 0n;
  return 1n << BigInt(newPrefix - c.prefix);
}

/** The `index`th /newPrefix block of `c` (0-based), or undefined when out of range. */
export function subnetAt(c: Cidr, newPrefix: number, index: bigint | number): Cidr | undefined {
  const count = subnetCount(c, newPrefix);
  const i = BigInt(index);
  if (i < 0n || i >= count) return undefined;
  const step = 1n << BigInt(FAMILY_BITS[c.family] - newPrefix);
  return { family: c.family, network: c.network + i * step, prefix: newPrefix };
}

/** Index of the /newPrefix block of `c` that holds `ip`, or undefined. */
export function subnetIndexOf(c: Cidr, newPrefix: number, ip: IpAddress): bigint | undefined {
  if (!cidrContains(c, ip) || newPrefix < c.prefix) return undefined;
  return (ip.value - c.network) >> BigInt(FAMILY_BITS[c.family] - newPrefix);
}

/** Every /newPrefix block of `c`, in address order. */
export function* subnets(c: Cidr, newPrefix: number): Generator<Cidr> {
  const count = subnetCount(c, newPrefix);
  for (let i = 0n; i < count; i++) yield subnetAt(c, newPrefix, i)!;
}

export function cidrEquals(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.network === b.network && a.prefix === b.prefix;
}
