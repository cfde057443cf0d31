// NodePort allocation (pkg/registry/core/service/portallocator): ports base..base+size-1 with
// the KEP-3668 static band at the bottom of the range.
import type { Rng } from '../rng.js';
import { OffsetBandAllocator } from './offset-allocator.js';
import { AllocationError } from './errors.js';

/** KEP-3668: min(max(16, size/32), 128), or 0 for ranges of 16 ports or fewer. */
export function nodePortBandOffset(size: number): number {
  if (size <= 16) return 0;
  const offset = Math.floor(size / 32);
  if (offset < 16) return 16;
  if (offset > 128) return 128;
  return offset;
}

export class NodePortAllocator {
  private readonly bits: OffsetBandAllocator;

  constructor(
    readonly base: number,
    readonly size: number,
  ) {
    this.bits = new OffsetBandAllocator(size, nodePortBandOffset(size));
  }

  get offset(): number {
    return this.bits.offset;
  }

  get used(): number {
    return this.bits.count;
  }

  /** `30000-32767`, as the error texts print the range. */
  get range(): string {
    return `${this.base}-${this.base + this.size - 1}`;
  }

  contains(port: number): boolean {
    return Number.isInteger(port) && port >= this.base && port < this.base + this.size;
  }

  has(port: number): boolean {
    return this.contains(port) && this.bits.has(port - this.base);
  }

  allocate(port: number): void {
    if (!this.contains(port)) {
      throw new AllocationError(
        'NotInRange',
        `provided port is not in the valid range. The range of valid ports is ${this.range}`,
      );
    }
    if (!this.bits.allocate(port - this.base)) throw new AllocationError('Allocated', 'provided port is already allocated');
  }

  allocateNext(rng: Rng): number {
    const i = this.bits.allocateNext(rng);
    if (i === undefined) throw new AllocationError('Full', 'range is full');
    return this.base + i;
  }

  release(port: number): void {
    if (this.contains(port)) this.bits.release(port - this.base);
  }

  allocated(): number[] {
    return this.bits.indices().map((i) => this.base + i);
  }
}
