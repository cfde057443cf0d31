// Terway's IP allocation (terwayd's ENI pool) as a PodIpam, in two modes:
//
// shared (ENI multi-IP): pod addresses are private IPs of the node's *secondary* ENIs — never the
// primary ENI eth0 — and every address of such an ENI serves pods, its primary one included, which
// is why max pods is `(ENIs − 1) × IPv4 per ENI` (Limits.MultiIPPod). The model creates an ENI
// when the existing ones are full and assigns addresses one per pod; released addresses stay on
// their ENI (terwayd's pool) and are reused first, lowest first.
//
// exclusive: one ENI per pod, its primary address the pod's, moved into the pod's netns
// (ExclusiveENIPod: `ENIs − 1`). A released pod's ENI is deleted.
//
// Addresses come from the pod vSwitch (default: the node's). Which ENI and address terwayd picks is
// its pool's business (pool sizes, batching); the order here is a deterministic stand-in.
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { PodIpam, PodIpamResult } from './pod-ipam.js';
import type { EniLimitLookup } from './aws-eni.js';
import { stableMac, VpcSubnets } from './vpc-subnet.js';
import { claimSlot, instanceTypeLabel, podUid, releaseSlot, takeSlot, type AddressSlots } from './eni-common.js';

export type TerwayIpamMode = 'shared' | 'exclusive';

export interface TerwayIpamOptions {
  readonly mode: TerwayIpamMode;
  readonly nodeSubnet: (node: string) => string | undefined;
  /** The vSwitch pod ENIs take addresses from; default the node's. */
  readonly podSubnet?: (node: string) => string | undefined;
  readonly limits: (instanceType: string | undefined) => EniLimitLookup;
  /** Default: the node's `node.kubernetes.io/instance-type` label. */
  readonly instanceType?: (node: Node) => string | undefined;
}

/** A secondary ENI (shared mode) or a pod's ENI (exclusive mode). A live view: read it, do not keep it. */
export interface TerwayEniView {
  /** The host's name for it (eth1, eth2, … in attach order). */
  readonly name: string;
  readonly mac: string;
  readonly primaryIp: string;
  readonly subnet: string;
  /** Its ifindex in the host namespace (lo 1, eth0 2, then attach order). */
  readonly linkIndex: number;
  /** Terway's policy table for it: 1000 + ifindex (GetRouteTableID). */
  readonly routeTable: number;
  /** Addresses assigned to it that serve pods (shared: all of them, primary first; exclusive: the pod's). */
  readonly podAddresses: readonly string[];
  /** Exclusive mode: the pod that owns it. */
  readonly podUid?: string;
}

interface Eni extends TerwayEniView, AddressSlots {
  readonly podAddresses: string[];
}

interface NodeState {
  readonly name: string;
  readonly subnet: string;
  readonly enis: number;
  readonly ipv4PerEni: number;
  /** Shared: secondary ENIs in attach order. Exclusive: pod ENIs, in attach order (gaps refilled). */
  readonly list: Eni[];
  readonly eniOf: Map<string, Eni>;
  readonly owner: Map<string, string>;
  readonly byPod: Map<string, string>;
  attached: number;
}

export const TERWAY_PLUGIN_TYPE = 'terway';

/** Alibaba's OUI: ECS NICs have MACs 00:16:3e:xx:xx:xx. */
const ALIBABA_OUI = [0x00, 0x16, 0x3e];

export class TerwayIpam implements PodIpam {
  readonly name = TERWAY_PLUGIN_TYPE;
  readonly subnets = new VpcSubnets('alibaba');
  private readonly nodes = new Map<string, NodeState>();

  constructor(readonly options: TerwayIpamOptions) {}

  get mode(): TerwayIpamMode {
    return this.options.mode;
  }

  allocate(node: Node, pod: Pod): PodIpamResult {
    const state = this.nodeState(node);
    if ('error' in state) return { ok: false, reason: state.error };
    const uid = podUid(pod);
    const held = state.byPod.get(uid);
    if (held) return { ok: true, ips: [held] };
    const ip = this.options.mode === 'exclusive' ? this.takeExclusive(state, uid) : this.takeShared(state, uid);
    if (typeof ip !== 'string') return { ok: false, reason: ip.error };
    return { ok: true, ips: [ip] };
  }

  release(node: Node, pod: Pod): void {
    const state = this.nodes.get(node.metadata?.name ?? '');
    if (!state) return;
    const uid = podUid(pod);
    const ip = state.byPod.get(uid);
    if (ip === undefined) return;
    state.byPod.delete(uid);
    state.owner.delete(ip);
    const eni = state.eniOf.get(ip)!;
    if (this.options.mode === 'exclusive') {
      // The pod's ENI is detached and deleted: its address goes back to the vSwitch.
      state.list.splice(state.list.indexOf(eni), 1);
      state.eniOf.delete(ip);
      this.subnets.release(state.subnet, ip);
      return;
    }
    releaseSlot(eni, eni.podAddresses.indexOf(ip));
  }

  reserve(node: Node, pod: Pod, ips: readonly string[]): void {
    const state = this.nodeState(node);
    if ('error' in state) return;
    const uid = podUid(pod);
    const ip = ips.find((a) => !a.includes(':'));
    if (ip === undefined || state.owner.has(ip)) return;
    const eni = state.eniOf.get(ip);
    if (eni) {
      if (!claimSlot(eni, eni.podAddresses.indexOf(ip))) return;
    } else {
      if (!this.subnets.isFree(state.subnet, ip)) return;
      if (this.options.mode === 'exclusive') {
        if (state.list.length >= state.enis - 1) return;
        this.subnets.markUsed(state.subnet, ip);
        this.attach(state, ip, uid).cursor = 1;
      } else {
        let target = state.list.find((e) => e.podAddresses.length < state.ipv4PerEni);
        if (!target) {
          if (state.list.length >= state.enis - 1) return;
          this.subnets.markUsed(state.subnet, ip);
          target = this.attach(state, ip);
        } else {
          this.subnets.markUsed(state.subnet, ip);
          target.podAddresses.push(ip);
          state.eniOf.set(ip, target);
        }
        claimSlot(target, target.podAddresses.indexOf(ip));
      }
    }
    state.owner.set(ip, uid);
    state.byPod.set(uid, ip);
  }

  forgetNode(nodeName: string): void {
    const state = this.nodes.get(nodeName);
    if (!state) return;
    for (const eni of state.list) for (const a of eni.podAddresses) this.subnets.release(state.subnet, a);
    this.nodes.delete(nodeName);
  }

  /** Shared mode: the node's secondary ENIs, attach order. Exclusive mode: the ENIs pods own. */
  enis(nodeName: string): readonly TerwayEniView[] {
    return this.nodes.get(nodeName)?.list ?? [];
  }

  /** The ENI an address lives on. */
  eniOf(nodeName: string, ip: string): TerwayEniView | undefined {
    return this.nodes.get(nodeName)?.eniOf.get(ip);
  }

  usedOn(nodeName: string): string[] {
    return [...(this.nodes.get(nodeName)?.owner.keys() ?? [])];
  }

  private nodeState(node: Node): NodeState | { error: string } {
    const name = node.metadata?.name ?? '';
    const existing = this.nodes.get(name);
    if (existing) return existing;
    const subnet = this.options.podSubnet?.(name) ?? this.options.nodeSubnet(name);
    if (!subnet) return { error: `cmdAdd: error alloc ip: no vSwitch is known for node ${name}` };
    const type = this.options.instanceType ? this.options.instanceType(node) : instanceTypeLabel(node);
    const lim = this.options.limits(type);
    if (!lim.ok) return { error: `cmdAdd: error alloc ip: terwayd: ${lim.message}` };
    const internalIP = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    if (internalIP) this.subnets.markUsed(subnet, internalIP);
    const state: NodeState = {
      name,
      subnet,
      enis: lim.limits.enis,
      ipv4PerEni: lim.limits.ipv4PerEni,
      list: [],
      eniOf: new Map(),
      owner: new Map(),
      byPod: new Map(),
      attached: 0,
    };
    this.nodes.set(name, state);
    return state;
  }

  private takeShared(state: NodeState, uid: string): string | { error: string } {
    for (const eni of state.list) {
      let idx = takeSlot(eni);
      if (idx === undefined && eni.podAddresses.length < state.ipv4PerEni) {
        const ip = this.subnets.takeAddress(state.subnet);
        if (!ip) return { error: subnetFull(state) };
        eni.podAddresses.push(ip);
        state.eniOf.set(ip, eni);
        idx = eni.cursor++;
      }
      if (idx === undefined) continue;
      return this.assign(state, eni.podAddresses[idx]!, uid);
    }
    if (state.list.length >= state.enis - 1) return { error: exhausted(state, 'shared') };
    const primary = this.subnets.takeAddress(state.subnet);
    if (!primary) return { error: subnetFull(state) };
    const eni = this.attach(state, primary);
    eni.cursor = 1;
    return this.assign(state, primary, uid);
  }

  private takeExclusive(state: NodeState, uid: string): string | { error: string } {
    if (state.list.length >= state.enis - 1) return { error: exhausted(state, 'exclusive') };
    const primary = this.subnets.takeAddress(state.subnet);
    if (!primary) return { error: subnetFull(state) };
    this.attach(state, primary, uid).cursor = 1;
    return this.assign(state, primary, uid);
  }

  private attach(state: NodeState, primaryIp: string, podUid?: string): Eni {
    const n = ++state.attached;
    const linkIndex = 2 + n;
    const eni: Eni = {
      name: `eth${n}`,
      mac: stableMac(ALIBABA_OUI, `terway-eni/${state.name}/${n}`),
      primaryIp,
      subnet: state.subnet,
      linkIndex,
      routeTable: 1000 + linkIndex,
      podAddresses: [primaryIp],
      ...(podUid !== undefined ? { podUid } : {}),
      released: [],
      cursor: 0,
    };
    state.list.push(eni);
    state.eniOf.set(primaryIp, eni);
    return eni;
  }

  private assign(state: NodeState, ip: string, uid: string): string {
    state.owner.set(ip, uid);
    state.byPod.set(uid, ip);
    return ip;
  }
}

// Not terwayd's wording (not checked): what the CNI ADD reports when the pool cannot grow.
function exhausted(state: NodeState, mode: TerwayIpamMode): string {
  return mode === 'exclusive'
    ? `cmdAdd: error alloc ip: no ENI left on node ${state.name}: all ${state.enis - 1} secondary ENIs are in use by pods`
    : `cmdAdd: error alloc ip: no IP left on node ${state.name}: ${state.enis - 1} secondary ENIs x ${state.ipv4PerEni} IPs are in use`;
}

function subnetFull(state: NodeState): string {
  return `cmdAdd: error alloc ip: vSwitch ${state.subnet} has no free address (InvalidVSwitchId.IpNotEnough)`;
}

