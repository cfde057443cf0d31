// kube-controller-manager's node IPAM with the RangeAllocator (--allocate-node-cidrs): one
// CidrSet per cluster CIDR (dual-stack gives every node one block per family), round-robin
// from nextCandidate, podCIDRs nodes already carry are occupied, blocks overlapping the Service
// range are never handed out.
import type { Node } from 'kubernetes-types/core/v1.js';
import type { Controller, ControllerContext } from '../controller.js';
import type { Stored } from '../object.js';
import { CidrSet } from '../ipam/cidr-set.js';
import { cidrEquals, cidrsOverlap, formatCidr, parseCidr, type Cidr } from '../../net/cidr.js';

export class NodeIpamController implements Controller {
  readonly name = 'node-ipam';
  private ctx!: ControllerContext;
  private sets: CidrSet[] = [];
  /** Blocks each node holds, one per set (as this controller has recorded them). */
  private readonly held = new Map<string, Cidr[]>();
  /** Nodes that found no free block; retried when one is released. */
  private readonly waiting = new Set<string>();

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    if (!ctx.config.allocateNodeCIDRs) return;
    for (const text of ctx.config.clusterCIDRs) {
      const c = parseCidr(text);
      if (!c) continue;
      const mask = c.family === 'IPv4' ? ctx.config.nodeCIDRMaskSize.ipv4 : ctx.config.nodeCIDRMaskSize.ipv6;
      this.sets.push(new CidrSet(c, mask));
    }
    // filterOutServiceRange: blocks that overlap a Service range are taken up front.
    for (const set of this.sets) {
      for (const text of ctx.config.serviceCIDRs) {
        const svc = parseCidr(text);
        if (svc && cidrsOverlap(svc, set.clusterCidr)) set.occupy(svc);
      }
    }
    // A restarted controller re-occupies what nodes already carry before allocating anything.
    for (const node of ctx.store.list<Stored<Node>>('Node')) this.occupyExisting(node);
    for (const node of ctx.store.list<Stored<Node>>('Node')) ctx.queue.add(node.metadata.name!);
    ctx.store.watch<Stored<Node>>('Node', (ev) => {
      if (ev.type === 'MODIFIED' && samePodCIDRs(ev.object, ev.old)) return;
      ctx.queue.add(ev.object.metadata.name!);
    });
  }

  sync(name: string): void {
    const node = this.ctx.store.get<Stored<Node>>('Node', undefined, name);
    if (!node) {
      this.release(name);
      return;
    }
    const current = podCIDRsOf(node);
    if (current.length > 0) {
      if (!this.held.has(name)) this.occupyExisting(node);
      this.waiting.delete(name);
      return;
    }
    if (this.sets.length === 0) return;
    let cidrs = this.held.get(name);
    if (!cidrs) {
      const got: Cidr[] = [];
      for (const set of this.sets) {
        const c = set.allocateNext();
        if (!c) {
          // Upstream keeps the blocks already taken from earlier sets; we give them back so
          // retries do not leak them.
          got.forEach((g, i) => this.sets[i]!.release(g));
          this.waiting.add(name);
          this.ctx.record(node, 'Normal', 'CIDRNotAvailable', `Node ${name} status is now: CIDRNotAvailable`);
          return;
        }
        got.push(c);
      }
      cidrs = got;
      this.held.set(name, cidrs);
    }
    this.waiting.delete(name);
    const texts = cidrs.map(formatCidr);
    this.ctx.store.update({ ...node, spec: { ...node.spec, podCIDR: texts[0], podCIDRs: texts } });
  }

  private occupyExisting(node: Stored<Node>): void {
    const cidrs = podCIDRsOf(node).map(parseCidr);
    const held: Cidr[] = [];
    for (const c of cidrs) {
      if (!c) continue;
      const set = this.sets.find((s) => s.clusterCidr.family === c.family && cidrsOverlap(s.clusterCidr, c));
      if (set && set.occupy(c)) held.push(c);
    }
    if (held.length) this.held.set(node.metadata.name!, held);
  }

  private release(name: string): void {
    const cidrs = this.held.get(name);
    this.held.delete(name);
    this.waiting.delete(name);
    if (!cidrs) return;
    for (const c of cidrs) {
      const set = this.sets.find((s) => s.clusterCidr.family === c.family && cidrsOverlap(s.clusterCidr, c));
      set?.release(c);
    }
    for (const w of this.waiting) this.ctx.queue.add(w);
  }

  /** The CidrSets, in cluster-CIDR order (for tests and reports). */
  cidrSets(): readonly CidrSet[] {
    return this.sets;
  }
}

function podCIDRsOf(node: Node): string[] {
  if (node.spec?.podCIDRs?.length) return [...node.spec.podCIDRs];
  return node.spec?.podCIDR ? [node.spec.podCIDR] : [];
}

function samePodCIDRs(a: Node, b: Node | undefined): boolean {
  const x = podCIDRsOf(a);
  const y = b ? podCIDRsOf(b) : [];
  return x.length === y.length && x.every((v, i) => {
    const p = parseCidr(v);
    const q = parseCidr(y[i]!);
    return !!p && !!q && cidrEquals(p, q);
  });
}
