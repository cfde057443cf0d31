// Calico IPAM (libcalico-go lib/ipam), reference §4.6. Each IP pool is cut into blocks (/26 for
// IPv4, /122 for IPv6). A node holds the blocks affine to it; it takes addresses from them, lowest
// block first, and claims a new block only when they are all full (C9). Inside a block ordinals
// come from a queue that starts 0..n-1 (newBlock) and takes released ordinals at its back
// (allocationBlock.release appends), so a freed address is reused only after the rest.
//
// The tunnel address (tunl0 for IPIP, vxlan.calico for VXLAN) is assigned by calico-node at start-up
// through the same IPAM (handle `ipip-tunnel-addr-<node>`), before any pod: it takes ordinal 0 of
// the node's first block and the first pod gets ordinal 1. Checked against a block dump from a
// real cluster: the only attribute is the ipip-tunnel-addr handle and `unallocated` is [1..63].
//
// Deliberate differences: upstream picks the first block to try at random (math/rand seeded with
// fnv32(hostname)) and walks on from there; kubepath claims the lowest free block. With
// strictAffinity false (the default), a node whose pool has no free block borrows an address from
// another node's block, lowest block first (upstream's order is not reproduced).
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { parseCidr, type Cidr } from '../../net/cidr.js';
import { formatIPv4, formatIp, parseIp, type IpFamily } from '../../net/ip.js';
import type { PodIpam, PodIpamResult } from './pod-ipam.js';

export interface CalicoIpamOptions {
  /** IP pools (`CALICO_IPV4POOL_CIDR`, kubeadm's podSubnet); at most one per family is used, in order. */
  readonly pools: readonly string[];
  /** IPv4 block size (default 26); IPv6 uses `blockSizeV6` (default 122). */
  readonly blockSize?: number;
  readonly blockSizeV6?: number;
  /** The encapsulation whose tunnel device takes an address from IPAM: `ipip` or `vxlan`; none for BGP without encapsulation. */
  readonly tunnel?: 'ipip' | 'vxlan';
  /** IPAMConfig strictAffinity: never borrow from another node's block (default false). */
  readonly strictAffinity?: boolean;
}

interface Holder {
  readonly handle: string;
  readonly node: string;
}

interface Block {
  readonly pool: Pool;
  readonly index: number;
  readonly cidr: string;
  readonly base: bigint;
  /** The node the block is affine to; undefined once that node is gone and addresses remain. */
  affinity: string | undefined;
  /** Free ordinals, the next one first. */
  unallocated: number[];
  readonly allocations: Map<number, Holder>;
}

interface Pool {
  readonly cidr: Cidr;
  readonly family: IpFamily;
  readonly blockPrefix: number;
  readonly blockSize: number;
  readonly blockCount: number;
  /** Claimed blocks by index. */
  readonly blocks: Map<number, Block>;
  /** No index below this is unclaimed. */
  cursor: number;
}

interface Assignment {
  readonly block: Block;
  readonly ordinal: number;
}

/** Walk at most this many blocks of a pool (an IPv6 /48 has 2^74 /122 blocks). */
const MAX_BLOCKS = 2 ** 48;

export class CalicoIpam implements PodIpam {
  /** Sandbox errors name the calico CNI plugin, which calls calico-ipam. */
  readonly name = 'calico';
  readonly tunnel: 'ipip' | 'vxlan' | undefined;
  private readonly pools: Pool[] = [];
  private readonly strictAffinity: boolean;
  /** handle → what it holds */
  private readonly handles = new Map<string, Assignment[]>();
  /** node → its affine blocks per pool (sorted by index) */
  private readonly nodeBlocks = new Map<string, Block[][]>();
  /** node → handles held by pods (and the tunnel) on it */
  private readonly nodeHandles = new Map<string, Set<string>>();
  /** address → node, for addresses a node took from another node's block */
  private readonly borrowedMap = new Map<string, string>();
  /** node → its affine block CIDRs (renderers ask for every node on every host render) */
  private readonly cidrCache = new Map<string, string[]>();
  private borrowedCache: { readonly ip: string; readonly node: string }[] | undefined;
  private readonly tunnelCache = new Map<string, string>();
  /** Bumped when a node is forgotten (its tunnel address may be assigned anew). */
  generation = 0;

  constructor(options: CalicoIpamOptions) {
    this.tunnel = options.tunnel;
    this.strictAffinity = options.strictAffinity ?? false;
    const seen = new Set<IpFamily>();
    for (const text of options.pools) {
      const cidr = parseCidr(text);
      if (!cidr || seen.has(cidr.family)) continue;
      seen.add(cidr.family);
      const width = cidr.family === 'IPv4' ? 32 : 128;
      const blockPrefix = Math.max(cidr.prefix, cidr.family === 'IPv4' ? (options.blockSize ?? 26) : (options.blockSizeV6 ?? 122));
      const count = 2 ** Math.min(blockPrefix - cidr.prefix, 48);
      this.pools.push({
        cidr,
        family: cidr.family,
        blockPrefix,
        blockSize: 2 ** (width - blockPrefix),
        blockCount: Math.min(count, MAX_BLOCKS),
        blocks: new Map(),
        cursor: 0,
      });
    }
  }

  allocate(node: Node, pod: Pod): PodIpamResult {
    const nodeName = node.metadata?.name ?? '';
    const handle = podHandle(pod);
    const held = this.handles.get(handle);
    if (held) return { ok: true, ips: held.map(addressOf) };
    if (this.pools.length === 0) return { ok: false, reason: 'no configured Calico pools' };
    this.ensureTunnelAddress(nodeName);
    const got: Assignment[] = [];
    for (const pool of this.pools) {
      const a = this.assign(pool, nodeName, { handle, node: nodeName });
      if (!a) {
        for (const g of got) this.unassign(g);
        const fam = pool.family === 'IPv4' ? 'IPv4' : 'IPv6';
        // calico-ipam's message when autoAssign comes back short.
        return { ok: false, reason: `failed to request 1 ${fam} addresses. IPAM allocated only 0` };
      }
      got.push(a);
    }
    this.hold(handle, nodeName, got);
    return { ok: true, ips: got.map(addressOf) };
  }

  release(_node: Node, pod: Pod): void {
    this.releaseHandle(podHandle(pod));
  }

  reserve(node: Node, pod: Pod, ips: readonly string[]): void {
    const nodeName = node.metadata?.name ?? '';
    const handle = podHandle(pod);
    if (this.handles.has(handle)) return;
    const got: Assignment[] = [];
    for (const text of ips) {
      const ip = parseIp(text);
      const pool = ip && this.pools.find((p) => p.family === ip.family && ip.value >= p.cidr.network && ip.value - p.cidr.network < BigInt(p.blockSize) * BigInt(p.blockCount));
      if (!ip || !pool) continue;
      const offset = ip.value - pool.cidr.network;
      const index = Number(offset / BigInt(pool.blockSize));
      const block = pool.blocks.get(index) ?? this.claim(pool, index, nodeName);
      const ordinal = Number(offset % BigInt(pool.blockSize));
      if (block.allocations.has(ordinal)) continue;
      const at = block.unallocated.indexOf(ordinal);
      if (at >= 0) block.unallocated.splice(at, 1);
      const a = { block, ordinal };
      this.take(a, { handle, node: nodeName });
      got.push(a);
    }
    if (got.length) this.hold(handle, nodeName, got);
  }

  forgetNode(nodeName: string): void {
    this.generation++;
    this.cidrCache.delete(nodeName);
    this.tunnelCache.delete(nodeName);
    for (const handle of [...(this.nodeHandles.get(nodeName) ?? [])]) this.releaseHandle(handle);
    this.nodeHandles.delete(nodeName);
    for (const blocks of this.nodeBlocks.get(nodeName) ?? []) {
      for (const b of blocks) {
        b.affinity = undefined;
        if (b.allocations.size === 0) this.dropBlock(b);
      }
    }
    this.nodeBlocks.delete(nodeName);
  }

  /** The node's tunnel address (IPv4), assigning it when the node has none yet; undefined without a tunnel or a free address. */
  ensureTunnelAddress(nodeName: string): string | undefined {
    if (!this.tunnel) return undefined;
    const handle = tunnelHandle(this.tunnel, nodeName);
    const held = this.handles.get(handle);
    if (held) return addressOf(held[0]!);
    const pool = this.pools.find((p) => p.family === 'IPv4');
    if (!pool) return undefined;
    const a = this.assign(pool, nodeName, { handle, node: nodeName });
    if (!a) return undefined;
    this.hold(handle, nodeName, [a]);
    return addressOf(a);
  }

  /** The node's tunnel address if it has one (no assignment). */
  tunnelAddress(nodeName: string): string | undefined {
    if (!this.tunnel) return undefined;
    let ip = this.tunnelCache.get(nodeName);
    if (ip === undefined) {
      const held = this.handles.get(tunnelHandle(this.tunnel, nodeName));
      if (!held) return undefined;
      ip = addressOf(held[0]!);
      this.tunnelCache.set(nodeName, ip);
    }
    return ip;
  }

  /** Blocks affine to the node, as CIDRs: IPv4 pool first, lowest block first. */
  affineBlocks(nodeName: string): readonly string[] {
    let cidrs = this.cidrCache.get(nodeName);
    if (!cidrs) {
      cidrs = (this.nodeBlocks.get(nodeName) ?? []).flatMap((bs) => bs.map((b) => b.cidr));
      this.cidrCache.set(nodeName, cidrs);
    }
    return cidrs;
  }

  /** Which node each claimed block is affine to (blocks whose node is gone are left out). */
  blockAffinities(): Map<string, string> {
    const out = new Map<string, string>();
    for (const pool of this.pools) {
      for (const index of [...pool.blocks.keys()].sort((a, b) => a - b)) {
        const b = pool.blocks.get(index)!;
        if (b.affinity !== undefined) out.set(b.cidr, b.affinity);
      }
    }
    return out;
  }

  /** Addresses a node holds in a block affine to another node (or to none): BGP advertises them as /32s. */
  borrowed(): readonly { readonly ip: string; readonly node: string }[] {
    this.borrowedCache ??= [...this.borrowedMap].map(([ip, node]) => ({ ip, node })).sort((a, b) => compareText(a.ip, b.ip));
    return this.borrowedCache;
  }

  /** Addresses in use in a block, by ordinal (for tests and reports). */
  blockUsage(cidr: string): { readonly affinity: string | undefined; readonly used: number[]; readonly free: readonly number[] } | undefined {
    for (const pool of this.pools) {
      for (const b of pool.blocks.values()) {
        if (b.cidr === cidr) return { affinity: b.affinity, used: [...b.allocations.keys()].sort((x, y) => x - y), free: b.unallocated };
      }
    }
    return undefined;
  }

  // ------------------------------------------------------------------ internals

  private assign(pool: Pool, nodeName: string, holder: Holder): Assignment | undefined {
    const mine = this.blocksOf(nodeName, pool);
    for (const b of mine) {
      if (b.unallocated.length) return this.takeNext(b, holder);
    }
    const index = this.unclaimed(pool);
    if (index !== undefined) return this.takeNext(this.claim(pool, index, nodeName), holder);
    if (this.strictAffinity) return undefined;
    let best: Block | undefined;
    for (const b of pool.blocks.values()) if (b.unallocated.length && (!best || b.index < best.index)) best = b;
    return best ? this.takeNext(best, holder) : undefined;
  }

  private takeNext(b: Block, holder: Holder): Assignment {
    const a = { block: b, ordinal: b.unallocated.shift()! };
    this.take(a, holder);
    return a;
  }

  private take(a: Assignment, holder: Holder): void {
    a.block.allocations.set(a.ordinal, holder);
    if (a.block.affinity !== holder.node) {
      this.borrowedMap.set(addressOf(a), holder.node);
      this.borrowedCache = undefined;
    }
  }

  private unassign(a: Assignment): void {
    const b = a.block;
    if (!b.allocations.delete(a.ordinal)) return;
    b.unallocated.push(a.ordinal);
    if (this.borrowedMap.delete(addressOf(a))) this.borrowedCache = undefined;
    if (b.affinity === undefined && b.allocations.size === 0) this.dropBlock(b);
  }

  private hold(handle: string, nodeName: string, got: Assignment[]): void {
    this.handles.set(handle, got);
    let set = this.nodeHandles.get(nodeName);
    if (!set) this.nodeHandles.set(nodeName, (set = new Set()));
    set.add(handle);
  }

  private releaseHandle(handle: string): void {
    const held = this.handles.get(handle);
    if (!held) return;
    this.handles.delete(handle);
    const node = held[0]?.block.allocations.get(held[0].ordinal)?.node;
    for (const a of held) this.unassign(a);
    if (node !== undefined) this.nodeHandles.get(node)?.delete(handle);
  }

  private blocksOf(nodeName: string, pool: Pool): Block[] {
    let perPool = this.nodeBlocks.get(nodeName);
    if (!perPool) this.nodeBlocks.set(nodeName, (perPool = this.pools.map(() => [])));
    return perPool[this.pools.indexOf(pool)]!;
  }

  /** The lowest block index nobody has claimed. */
  private unclaimed(pool: Pool): number | undefined {
    while (pool.cursor < pool.blockCount && pool.blocks.has(pool.cursor)) pool.cursor++;
    return pool.cursor < pool.blockCount ? pool.cursor : undefined;
  }

  private claim(pool: Pool, index: number, nodeName: string): Block {
    const base = pool.cidr.network + BigInt(index) * BigInt(pool.blockSize);
    const block: Block = {
      pool,
      index,
      cidr: `${formatIp({ family: pool.family, value: base })}/${pool.blockPrefix}`,
      base,
      affinity: nodeName,
      unallocated: Array.from({ length: Math.min(pool.blockSize, 2 ** 16) }, (_, i) => i),
      allocations: new Map(),
    };
    pool.blocks.set(index, block);
    this.cidrCache.delete(nodeName);
    const mine = this.blocksOf(nodeName, pool);
    mine.push(block);
    mine.sort((a, b) => a.index - b.index);
    return block;
  }

  private dropBlock(b: Block): void {
    b.pool.blocks.delete(b.index);
    if (b.index < b.pool.cursor) b.pool.cursor = b.index;
  }
}

function addressOf(a: Assignment): string {
  const v = a.block.base + BigInt(a.ordinal);
  return a.block.pool.family === 'IPv4' ? formatIPv4(Number(v)) : formatIp({ family: 'IPv6', value: v });
}

function podHandle(pod: Pod): string {
  // Upstream: `k8s-pod-network.<containerID>`; the pod UID identifies the sandbox here.
  return `k8s-pod-network.${pod.metadata?.uid ?? `${pod.metadata?.namespace ?? 'default'}/${pod.metadata?.name ?? ''}`}`;
}

function tunnelHandle(kind: 'ipip' | 'vxlan', nodeName: string): string {
  return `${kind}-tunnel-addr-${nodeName}`;
}

function compareText(a: string, b: string): number {
  const x = parseIp(a);
  const y = parseIp(b);
  if (x && y && x.family === y.family) return x.value < y.value ? -1 : x.value > y.value ? 1 : 0;
  return a < b ? -1 : a > b ? 1 : 0;
}
