// The VPC's view of a subnet (AWS subnet, Alibaba vSwitch): which addresses are taken by NICs.
// The cloud picks a free address at random when an ENI or a secondary IP is created; the model
// takes them from the top of the subnet down, so they never meet node addresses (the profile hands
// those out from the bottom up) and the same sequence of calls always gives the same addresses.
// IPv4 only: the IPv6 modes of the VPC CNIs are not modelled.
import { cidrSize, mustParseCidr, parseCidr } from '../../net/cidr.js';
import { formatIPv4, parseIPv4 } from '../../net/ip.js';

export type SubnetCloud = 'aws' | 'alibaba';

interface SubnetState {
  readonly base: number;
  readonly size: number;
  /** Offsets the VPC keeps for itself. */
  readonly reserved: ReadonlySet<number>;
  readonly used: Set<number>;
  /** Next offset to try for a single address, moving down. */
  cursor: number;
  /** Next /28 block (offset of its first address) to try, moving down. */
  blockCursor: number;
  /** Single addresses given back, reused first (newest last). */
  readonly freed: number[];
  /** Blocks given back. */
  readonly freedBlocks: number[];
}

const BLOCK = 16;

/**
 * Offsets the VPC reserves. AWS: the network address, +1 (VPC router), +2 (DNS), +3 (reserved) and
 * the broadcast address (VPC user guide). Alibaba: the first address and the last three, the
 * gateway being third from last (vSwitch docs, as recalled; see fabric.ts subnetGateway).
 */
function reservedOffsets(cloud: SubnetCloud, size: number): Set<number> {
  if (size <= 4) return new Set(Array.from({ length: size }, (_, i) => i));
  return cloud === 'aws' ? new Set([0, 1, 2, 3, size - 1]) : new Set([0, size - 3, size - 2, size - 1]);
}

export class VpcSubnets {
  private readonly subnets = new Map<string, SubnetState>();

  constructor(readonly cloud: SubnetCloud) {}

  private state(subnet: string): SubnetState | undefined {
    let s = this.subnets.get(subnet);
    if (s) return s;
    const c = parseCidr(subnet);
    if (!c || c.family !== 'IPv4') return undefined;
    const size = Number(cidrSize(mustParseCidr(subnet)));
    s = {
      base: Number(c.network),
      size,
      reserved: reservedOffsets(this.cloud, size),
      used: new Set(),
      cursor: size - 1,
      blockCursor: Math.floor((size - 1) / BLOCK) * BLOCK,
      freed: [],
      freedBlocks: [],
    };
    this.subnets.set(subnet, s);
    return s;
  }

  private offset(s: SubnetState, ip: string): number | undefined {
    const v = parseIPv4(ip);
    if (v === undefined) return undefined;
    const off = v - s.base;
    return off >= 0 && off < s.size ? off : undefined;
  }

  /** Record an address something else holds (a node's primary address). */
  markUsed(subnet: string, ip: string): void {
    const s = this.state(subnet);
    if (!s) return;
    const off = this.offset(s, ip);
    if (off !== undefined) s.used.add(off);
  }

  isFree(subnet: string, ip: string): boolean {
    const s = this.state(subnet);
    if (!s) return false;
    const off = this.offset(s, ip);
    return off !== undefined && !s.used.has(off) && !s.reserved.has(off);
  }

  /** A free address, or undefined when the subnet is full (EC2: InsufficientFreeAddressesInSubnet). */
  takeAddress(subnet: string): string | undefined {
    const s = this.state(subnet);
    if (!s) return undefined;
    while (s.freed.length) {
      const off = s.freed.pop()!;
      if (!s.used.has(off)) {
        s.used.add(off);
        return formatIPv4(s.base + off);
      }
    }
    for (; s.cursor >= 0; s.cursor--) {
      const off = s.cursor;
      if (s.used.has(off) || s.reserved.has(off)) continue;
      s.used.add(off);
      s.cursor--;
      return formatIPv4(s.base + off);
    }
    return undefined;
  }

  /** A free, aligned /28 (AWS prefix delegation), as `a.b.c.d/28`. */
  takePrefix(subnet: string): string | undefined {
    const s = this.state(subnet);
    if (!s || s.size < BLOCK) return undefined;
    const fits = (start: number): boolean => {
      for (let o = start; o < start + BLOCK; o++) if (s.used.has(o) || s.reserved.has(o)) return false;
      return true;
    };
    const claim = (start: number): string => {
      for (let o = start; o < start + BLOCK; o++) s.used.add(o);
      return `${formatIPv4(s.base + start)}/28`;
    };
    while (s.freedBlocks.length) {
      const start = s.freedBlocks.pop()!;
      if (fits(start)) return claim(start);
    }
    for (; s.blockCursor >= 0; s.blockCursor -= BLOCK) {
      const start = s.blockCursor;
      if (!fits(start)) continue;
      s.blockCursor -= BLOCK;
      return claim(start);
    }
    return undefined;
  }

  release(subnet: string, ip: string): void {
    const s = this.subnets.get(subnet);
    if (!s) return;
    const off = this.offset(s, ip);
    if (off === undefined || !s.used.delete(off)) return;
    s.freed.push(off);
  }

  releasePrefix(subnet: string, prefix: string): void {
    const s = this.subnets.get(subnet);
    if (!s) return;
    const off = this.offset(s, prefix.slice(0, prefix.indexOf('/')));
    if (off === undefined) return;
    for (let o = off; o < off + BLOCK; o++) s.used.delete(o);
    s.freedBlocks.push(off);
  }
}

/** The 16 addresses of a /28 prefix, in order. */
export function prefixAddresses(prefix: string): string[] {
  const base = parseIPv4(prefix.slice(0, prefix.indexOf('/')))!;
  return Array.from({ length: BLOCK }, (_, i) => formatIPv4(base + i));
}

/** A MAC for `key` (the cloud assigns ENI MACs; stable per key so renders are deterministic): the leading octets given, the rest hashed. */
export function stableMac(leading: readonly number[], key: string): string {
  // FNV-1a, twice with different seeds: cheap, and spread enough for link addresses.
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ key.length;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  const bytes = [h1 >>> 24, (h1 >>> 16) & 255, (h1 >>> 8) & 255, h1 & 255, h2 >>> 24, (h2 >>> 16) & 255];
  const octets = [...leading];
  for (let i = 0; octets.length < 6; i++) octets.push(bytes[i]!);
  return octets.map((o) => o.toString(16).padStart(2, '0')).join(':');
}
