// kube-controller-manager's CidrSet (pkg/controller/nodeipam/ipam/cidrset): the cluster CIDR cut
// into node-sized blocks, handed out round-robin from nextCandidate so a released block is not
// reused until the scan wraps.
import {
  cidrSize,
  cidrsOverlap,
  formatCidr,
  subnetAt,
  subnetCount,
  type Cidr,
} from '../../net/cidr.js';
import { FAMILY_BITS } from '../../net/ip.js';

/** Upstream refuses IPv6 sets of more than 2^16 blocks (ErrCIDRSetSubNetTooBig). */
const CLUSTER_SUBNET_MAX_DIFF = 16;

export class CidrSet {
  readonly maxCidrs: number;
  private readonly used: Uint8Array;
  private allocatedCount = 0;
  /** The next index the scan starts from. */
  nextCandidate = 0;

  constructor(
    readonly clusterCidr: Cidr,
    readonly nodeMaskSize: number,
  ) {
    if (nodeMaskSize < clusterCidr.prefix || nodeMaskSize > FAMILY_BITS[clusterCidr.family]) {
      throw new Error(
        `node CIDR mask size /${nodeMaskSize} does not fit cluster CIDR ${formatCidr(clusterCidr)}`,
      );
    }
    if (clusterCidr.family === 'IPv6' && nodeMaskSize - clusterCidr.prefix > CLUSTER_SUBNET_MAX_DIFF) {
      throw new Error('New CIDR set failed; the node CIDR size is too big');
    }
    this.maxCidrs = Number(subnetCount(clusterCidr, nodeMaskSize));
    this.used = new Uint8Array(this.maxCidrs);
  }

  get allocated(): number {
    return this.allocatedCount;
  }

  /** The next free block scanning from nextCandidate; undefined when none is left (CIDRRangeNoCIDRsRemaining). */
  allocateNext(): Cidr | undefined {
    if (this.allocatedCount === this.maxCidrs) return undefined;
    let candidate = this.nextCandidate;
    for (let i = 0; i < this.maxCidrs; i++) {
      if (this.used[candidate] === 0) break;
      candidate = (candidate + 1) % this.maxCidrs;
    }
    this.nextCandidate = (candidate + 1) % this.maxCidrs;
    this.used[candidate] = 1;
    this.allocatedCount++;
    return this.blockAt(candidate);
  }

  /** Mark every block `cidr` touches as used; false when it lies outside the cluster CIDR. */
  occupy(cidr: Cidr): boolean {
    const range = this.indexRange(cidr);
    if (!range) return false;
    for (let i = range[0]; i <= range[1]; i++) {
      if (this.used[i] === 0) {
        this.used[i] = 1;
        this.allocatedCount++;
      }
    }
    return true;
  }

  release(cidr: Cidr): boolean {
    const range = this.indexRange(cidr);
    if (!range) return false;
    for (let i = range[0]; i <= range[1]; i++) {
      if (this.used[i] === 1) {
        this.used[i] = 0;
        this.allocatedCount--;
      }
    }
    return true;
  }

  isUsed(index: number): boolean {
    return this.used[index] === 1;
  }

  blockAt(index: number): Cidr {
    return subnetAt(this.clusterCidr, this.nodeMaskSize, index)!;
  }

  private indexRange(cidr: Cidr): [number, number] | undefined {
    if (!cidrsOverlap(cidr, this.clusterCidr)) return undefined;
    const shift = BigInt(FAMILY_BITS[cidr.family] - this.nodeMaskSize);
    const lo = cidr.network > this.clusterCidr.network ? cidr.network : this.clusterCidr.network;
    const cidrEnd = cidr.network + cidrSize(cidr) - 1n;
    const clusterEnd = this.clusterCidr.network + cidrSize(this.clusterCidr) - 1n;
    const hi = cidrEnd < clusterEnd ? cidrEnd : clusterEnd;
    return [Number((lo - this.clusterCidr.network) >> shift), Number((hi - this.clusterCidr.network) >> shift)];
  }
}
