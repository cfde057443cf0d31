// The API server's allocation bitmap with a reserved low band (KEP-3070 for ClusterIPs,
// KEP-3668 for NodePorts): indices 0..max-1, where 0..offset-1 is the band kept for
// user-chosen values. Dynamic allocation starts at a random index of the upper band and scans
// forward with wrap-around; only when the upper band is full does it scan the low band the same way.
import type { Rng } from '../rng.js';

export class OffsetBandAllocator {
  private readonly used = new Set<number>();

  constructor(
    /** Number of allocatable indices. */
    readonly max: number,
    /** Size of the low band; 0 means no band. */
    readonly offset: number,
  ) {}

  get count(): number {
    return this.used.size;
  }

  get free(): number {
    return this.max - this.used.size;
  }

  has(i: number): boolean {
    return this.used.has(i);
  }

  /** Take a specific index; false when it is taken or out of range. */
  allocate(i: number): boolean {
    if (!Number.isInteger(i) || i < 0 || i >= this.max || this.used.has(i)) return false;
    this.used.add(i);
    return true;
  }

  /** Take a free index (upper band first); undefined when full. */
  allocateNext(rng: Rng): number | undefined {
    if (this.used.size >= this.max) return undefined;
    const upper = this.max - this.offset;
    if (upper > 0) {
      const start = rng.int(0, upper - 1);
      for (let i = 0; i < upper; i++) {
        const at = this.offset + ((start + i) % upper);
        if (!this.used.has(at)) {
          this.used.add(at);
          return at;
        }
      }
    }
    if (this.offset > 0) {
      const start = rng.int(0, this.offset - 1);
      for (let i = 0; i < this.offset; i++) {
        const at = (start + i) % this.offset;
        if (!this.used.has(at)) {
          this.used.add(at);
          return at;
        }
      }
    }
    return undefined;
  }

  release(i: number): void {
    this.used.delete(i);
  }

  /** Allocated indices, ascending. */
  indices(): number[] {
    return [...this.used].sort((a, b) => a - b);
  }
}
