// host-local IPAM (containernetworking/plugins plugins/ipam/host-local), one range per podCIDR:
// gateway network+1 (skipped), first pod address network+2, rangeEnd broadcast-1 for IPv4 and
// the last address for IPv6; allocation walks round-robin from the last reserved address + 1,
// so a freed address is not reused until the walk wraps.
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { cidrSize, parseCidr, type Cidr } from '../../net/cidr.js';
import { formatIPv4, formatIp, parseIp, type IpFamily } from '../../net/ip.js';
import type { PodIpam, PodIpamResult } from './pod-ipam.js';

/**
 * One range, with addresses held as offsets from rangeStart (plain numbers: the walk is per pod).
 * A range larger than 2^48 addresses (an IPv6 /64) is walked over its first 2^48 only, which no
 * node ever exhausts.
 */
interface RangeState {
  cidrText: string;
  family: IpFamily;
  start: bigint;
  end: bigint;
  /** Addresses the walk covers. */
  size: number;
  /** The gateway's offset (rangeStart is network+1, the gateway too). */
  gateway: number;
  /** rangeStart as a number, for IPv4 (no BigInt conversion per address). */
  startV4: number;
  lastReserved?: number;
  /** offset → pod uid */
  used: Map<number, string>;
}

const MAX_WALK = 2 ** 48;

interface NodeState {
  cidrsKey: string;
  cidrsRef: readonly string[] | string | undefined;
  ranges: RangeState[];
  /** pod uid → one offset per range (undefined where that range gave none) */
  byPod: Map<string, (number | undefined)[]>;
}

export interface HostLocalOptions {
  /** Plugin type shown in sandbox errors; flannel delegates to host-local. */
  pluginType?: string;
}

export class HostLocalIpam implements PodIpam {
  readonly name: string;
  private readonly nodes = new Map<string, NodeState>();

  constructor(opts: HostLocalOptions = {}) {
    this.name = opts.pluginType ?? 'host-local';
  }

  allocate(node: Node, pod: Pod): PodIpamResult {
    const state = this.nodeState(node);
    if (!state) return { ok: false, reason: `no podCIDR is assigned to node ${node.metadata?.name ?? ''}` };
    if ('error' in state) return { ok: false, reason: state.error };
    const uid = podUid(pod);
    const held = state.byPod.get(uid);
    if (held) return { ok: true, ips: held.flatMap((v, i) => (v === undefined ? [] : [addressText(state.ranges[i]!, v)])) };
    if (state.ranges.length === 1) {
      // The common single-range node: the loop below without its intermediate lists.
      const r = state.ranges[0]!;
      const ip = this.next(r);
      if (ip === undefined) return { ok: false, reason: `failed to allocate for range 0: no IP addresses available in range set: ${formatRange(r)}` };
      r.used.set(ip, uid);
      r.lastReserved = ip;
      state.byPod.set(uid, [ip]);
      return { ok: true, ips: [addressText(r, ip)] };
    }
    const got: number[] = [];
    for (let idx = 0; idx < state.ranges.length; idx++) {
      const r = state.ranges[idx]!;
      const ip = this.next(r);
      if (ip === undefined) {
        // host-local releases what it took from earlier ranges when a later one fails
        for (let j = 0; j < got.length; j++) state.ranges[j]!.used.delete(got[j]!);
        return {
          ok: false,
          reason: `failed to allocate for range ${idx}: no IP addresses available in range set: ${formatRange(r)}`,
        };
      }
      r.used.set(ip, uid);
      r.lastReserved = ip;
      got.push(ip);
    }
    state.byPod.set(uid, got);
    return { ok: true, ips: got.map((v, i) => addressText(state.ranges[i]!, v)) };
  }

  release(node: Node, pod: Pod): void {
    const state = this.nodes.get(node.metadata?.name ?? '');
    if (!state) return;
    const uid = podUid(pod);
    const held = state.byPod.get(uid);
    if (!held) return;
    held.forEach((v, i) => {
      const r = state.ranges[i];
      if (v !== undefined && r?.used.get(v) === uid) r.used.delete(v);
    });
    state.byPod.delete(uid);
  }

  reserve(node: Node, pod: Pod, ips: readonly string[]): void {
    const state = this.nodeState(node);
    if (!state || 'error' in state) return;
    const uid = podUid(pod);
    const held: (number | undefined)[] = state.ranges.map(() => undefined);
    for (const text of ips) {
      const ip = parseIp(text);
      if (!ip) continue;
      state.ranges.forEach((r, i) => {
        if (r.family !== ip.family || ip.value < r.start || ip.value - r.start >= BigInt(r.size)) return;
        const off = Number(ip.value - r.start);
        if (!r.used.has(off)) {
          r.used.set(off, uid);
          held[i] = off;
        }
      });
    }
    state.byPod.set(uid, held);
  }

  forgetNode(nodeName: string): void {
    this.nodes.delete(nodeName);
  }

  /** Addresses in use on a node, per range (for tests and reports). */
  usedOn(nodeName: string): string[] {
    const state = this.nodes.get(nodeName);
    if (!state) return [];
    return state.ranges.flatMap((r) => [...r.used.keys()].map((v) => addressText(r, v)));
  }

  /** Round-robin from the last reserved offset + 1, wrapping, skipping the gateway. */
  private next(r: RangeState): number | undefined {
    const last = r.size - 1;
    let cur = r.lastReserved !== undefined && r.lastReserved <= last ? r.lastReserved : last;
    for (let n = 0; n < r.size; n++) {
      cur = cur >= last ? 0 : cur + 1;
      if (cur === r.gateway) continue;
      if (!r.used.has(cur)) return cur;
    }
    return undefined;
  }

  private nodeState(node: Node): NodeState | { error: string } | undefined {
    const name = node.metadata?.name ?? '';
    const ref = node.spec?.podCIDRs?.length ? node.spec.podCIDRs : node.spec?.podCIDR;
    const existing = this.nodes.get(name);
    if (existing && ref !== undefined && existing.cidrsRef === ref) return existing;
    const cidrs = node.spec?.podCIDRs?.length ? node.spec.podCIDRs : node.spec?.podCIDR ? [node.spec.podCIDR] : [];
    if (cidrs.length === 0) return undefined;
    const key = cidrs.join(',');
    if (existing && existing.cidrsKey === key) {
      existing.cidrsRef = ref;
      return existing;
    }
    const ranges: RangeState[] = [];
    for (const text of cidrs) {
      const c = parseCidr(text);
      if (!c) return { error: `invalid CIDR address: ${text}` };
      const r = rangeFor(c, text);
      if (!r) return { error: `RangeStart for ${text} is not in network` };
      // A changed podCIDR keeps nothing but addresses still inside a new range.
      const old = existing?.ranges.find((o) => o.cidrText === text);
      if (old) {
        r.used = old.used;
        r.lastReserved = old.lastReserved;
      }
      ranges.push(r);
    }
    const byPod = new Map<string, (number | undefined)[]>();
    if (existing) {
      for (const [uid, held] of existing.byPod) {
        const kept = ranges.map((r) => held.find((v) => v !== undefined && r.used.get(v) === uid));
        if (kept.some((v) => v !== undefined)) byPod.set(uid, kept);
      }
    }
    const state: NodeState = { cidrsKey: key, cidrsRef: ref, ranges, byPod };
    this.nodes.set(name, state);
    return state;
  }
}

function rangeFor(c: Cidr, text: string): RangeState | undefined {
  const size = cidrSize(c);
  const start = c.network + 1n;
  const end = c.family === 'IPv4' ? c.network + size - 2n : c.network + size - 1n;
  if (end < start) return undefined;
  const count = end - start + 1n;
  return {
    cidrText: text,
    family: c.family,
    start,
    end,
    size: count > BigInt(MAX_WALK) ? MAX_WALK : Number(count),
    gateway: 0,
    startV4: c.family === 'IPv4' ? Number(start) : 0,
    used: new Map(),
  };
}

function addressText(r: RangeState, offset: number): string {
  if (r.family === 'IPv4') return formatIPv4(r.startV4 + offset);
  return formatIp({ family: r.family, value: r.start + BigInt(offset) });
}

function formatRange(r: RangeState): string {
  return `${formatIp({ family: r.family, value: r.start })}-${formatIp({ family: r.family, value: r.end })}`;
}

function podUid(pod: Pod): string {
  return pod.metadata?.uid ?? `${pod.metadata?.namespace ?? 'default'}/${pod.metadata?.name ?? ''}`;
}
