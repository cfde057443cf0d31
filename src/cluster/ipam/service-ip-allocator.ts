// ClusterIP allocation for one Service CIDR (pkg/registry/core/service/ipallocator).
// Index i is address network+1+i; the network address is never handed out, nor the IPv4
// broadcast; IPv6 ranges are capped at 65536 addresses as upstream's bitmap is.
import type { Rng } from '../rng.js';
import { cidrSize, formatCidr, mustParseCidr, type Cidr } from '../../net/cidr.js';
import { formatIp, parseIp, type IpFamily } from '../../net/ip.js';
import { OffsetBandAllocator } from './offset-allocator.js';
import { AllocationError } from './errors.js';

/** KEP-3070: min(max(16, size/16), 256), or 0 for ranges of 16 addresses or fewer. */
export function serviceIpBandOffset(cidr: Cidr): number {
  const size = cidrSize(cidr);
  if (size <= 16n) return 0;
  const offset = size / 16n;
  if (offset < 16n) return 16;
  if (offset > 256n) return 256;
  return Number(offset);
}

export class ServiceIpAllocator {
  readonly cidr: Cidr;
  readonly family: IpFamily;
  /** The address of index 0 (network + 1). */
  readonly base: bigint;
  private readonly bits: OffsetBandAllocator;

  constructor(cidrText: string) {
    this.cidr = mustParseCidr(cidrText);
    this.family = this.cidr.family;
    let max = cidrSize(this.cidr);
    if (this.family === 'IPv6') {
      if (max > 65536n) max = 65536n;
    } else {
      max -= 1n; // the broadcast address
    }
    max -= 1n; // the network address
    if (max < 0n) max = 0n;
    this.base = this.cidr.network + 1n;
    this.bits = new OffsetBandAllocator(Number(max), serviceIpBandOffset(this.cidr));
  }

  get range(): string {
    return formatCidr(this.cidr);
  }

  /** Addresses that can be handed out. */
  get size(): number {
    return this.bits.max;
  }

  /** Size of the low (static-preferred) band. */
  get offset(): number {
    return this.bits.offset;
  }

  get used(): number {
    return this.bits.count;
  }

  /** The address at index `i` of the range (0 = network+1). */
  addressAt(i: number): string {
    return formatIp({ family: this.family, value: this.base + BigInt(i) });
  }

  /** Index of an address, or undefined when it is not allocatable in this range. */
  indexOf(ip: string): number | undefined {
    const a = parseIp(ip);
    if (!a || a.family !== this.family) return undefined;
    const i = a.value - this.base;
    if (i < 0n || i >= BigInt(this.bits.max)) return undefined;
    return Number(i);
  }

  has(ip: string): boolean {
    const i = this.indexOf(ip);
    return i !== undefined && this.bits.has(i);
  }

  /** Reserve a requested address; throws AllocationError. */
  allocate(ip: string): void {
    const i = this.indexOf(ip);
    if (i === undefined) {
      throw new AllocationError(
        'NotInRange',
        `the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${this.range}`,
      );
    }
    if (!this.bits.allocate(i)) throw new AllocationError('Allocated', 'provided IP is already allocated');
  }

  /** A random free address, upper band first; throws AllocationError when full. */
  allocateNext(rng: Rng): string {
    const i = this.bits.allocateNext(rng);
    if (i === undefined) throw new AllocationError('Full', `range is full`);
    return this.addressAt(i);
  }

  release(ip: string): void {
    const i = this.indexOf(ip);
    if (i !== undefined) this.bits.release(i);
  }

  /** Allocated addresses in index order. */
  allocated(): string[] {
    return this.bits.indices().map((i) => this.addressAt(i));
  }
}
