// The Amazon VPC CNI's IP address manager (ipamd) as a PodIpam: pod addresses are secondary IPs
// of the node's ENIs, or addresses of /28 prefixes on them (ENABLE_PREFIX_DELEGATION), in the
// node's subnet. The primary ENI (eth0, device 0) serves pods too.
//
// Warm pool, as ipamd's defaults keep it: WARM_ENI_TARGET=1 — every attached ENI is filled with
// all its secondary IPs, and another ENI is attached while fewer than one ENI's worth of addresses
// is free; prefix mode WARM_PREFIX_TARGET=1 — another /28 is added while fewer than 16 addresses
// are free. ENIs and prefixes are never given back (ipamd frees surplus ones after a cooldown).
//
// Which address a pod gets is a guess: ipamd walks its ENIs and addresses in Go map order and
// keeps released addresses out for a 30 s cooldown. The model picks the lowest device number with
// a free address, then that ENI's addresses in the order EC2 assigned them (released ones first,
// lowest first), with no cooldown.
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { PodIpam, PodIpamResult } from './pod-ipam.js';
import { prefixAddresses, stableMac, VpcSubnets } from './vpc-subnet.js';
import { claimSlot, instanceTypeLabel, podUid, releaseSlot, takeSlot, type AddressSlots } from './eni-common.js';

export type AwsIpamMode = 'secondary-ip' | 'prefix';

/** What the IPAM needs of an instance type (dataplane/cni/instance-types.ts `eniLimits` fits). */
export type EniLimitLookup =
  | { readonly ok: true; readonly limits: { readonly enis: number; readonly ipv4PerEni: number } }
  | { readonly ok: false; readonly message: string };

export interface AwsEniIpamOptions {
  readonly mode: AwsIpamMode;
  /** The subnet of a node's primary ENI (secondary ENIs go in the same one: custom networking is not modelled). */
  readonly nodeSubnet: (node: string) => string | undefined;
  readonly limits: (instanceType: string | undefined) => EniLimitLookup;
  /** Default: the node's `node.kubernetes.io/instance-type` label. */
  readonly instanceType?: (node: Node) => string | undefined;
  /** WARM_ENI_TARGET (secondary-ip mode); default 1. */
  readonly warmEniTarget?: number;
  /** WARM_PREFIX_TARGET (prefix mode); default 1. */
  readonly warmPrefixTarget?: number;
}

/** One ENI as the renderer needs it. A live view: read it, do not keep it across allocations. */
export interface EniView {
  readonly deviceNumber: number;
  /** The Linux name: eth0 for device 0, ethN for device N. */
  readonly name: string;
  readonly mac: string;
  /** The ENI's own address (device 0: the node's InternalIP). Never given to a pod. */
  readonly primaryIp: string;
  readonly subnet: string;
  /** The policy routing table pods on this ENI use: main (254) for device 0, device number + 1 otherwise. */
  readonly routeTable: number;
  /** Addresses the VPC delivers to this ENI for pods: its secondary IPs, or every address of its prefixes. */
  readonly podAddresses: readonly string[];
  /** Prefix mode: the /28 prefixes, in the order they were added. */
  readonly prefixes: readonly string[];
}

interface Eni extends EniView, AddressSlots {
  readonly podAddresses: string[];
  readonly prefixes: string[];
}

interface NodeState {
  readonly name: string;
  readonly subnet: string;
  readonly enis: number;
  readonly ipv4PerEni: number;
  readonly list: Eni[];
  /** address → device number */
  readonly eniOf: Map<string, number>;
  /** address → pod uid */
  readonly owner: Map<string, string>;
  /** pod uid → address */
  readonly byPod: Map<string, string>;
  free: number;
}

export const AWS_CNI_PLUGIN_TYPE = 'aws-cni';
/** What the CNI binary says when ipamd has no address for the pod (cmd/routed-eni-cni-plugin/cni.go). */
export const AWS_NO_IP_MESSAGE = 'add cmd: failed to assign an IP address to container';
export const RT_TABLE_MAIN = 254;

export class AwsEniIpam implements PodIpam {
  readonly name = AWS_CNI_PLUGIN_TYPE;
  readonly subnets = new VpcSubnets('aws');
  private readonly nodes = new Map<string, NodeState>();
  private readonly warmEni: number;
  private readonly warmPrefix: number;

  constructor(readonly options: AwsEniIpamOptions) {
    this.warmEni = options.warmEniTarget ?? 1;
    this.warmPrefix = options.warmPrefixTarget ?? 1;
  }

  get mode(): AwsIpamMode {
    return this.options.mode;
  }

  allocate(node: Node, pod: Pod): PodIpamResult {
    const state = this.nodeState(node);
    if ('error' in state) return { ok: false, reason: state.error };
    const uid = podUid(pod);
    const held = state.byPod.get(uid);
    if (held) return { ok: true, ips: [held] };
    let ip = this.take(state, uid);
    if (ip === undefined && this.grow(state)) ip = this.take(state, uid);
    if (ip === undefined) return { ok: false, reason: AWS_NO_IP_MESSAGE };
    this.warm(state);
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
    const eni = state.list[state.eniOf.get(ip)!]!;
    releaseSlot(eni, eni.podAddresses.indexOf(ip));
    state.free++;
  }

  reserve(node: Node, pod: Pod, ips: readonly string[]): void {
    const state = this.nodeState(node);
    if ('error' in state) return;
    const uid = podUid(pod);
    for (const ip of ips) {
      if (state.owner.has(ip)) continue;
      let dev = state.eniOf.get(ip);
      if (dev === undefined) {
        // An address ipamd would have found on an ENI at start-up: put it on the first ENI with room.
        if (this.options.mode === 'prefix' || !this.subnets.isFree(state.subnet, ip)) continue;
        const eni = state.list.find((e) => e.podAddresses.length < state.ipv4PerEni - 1);
        if (!eni) continue;
        this.subnets.markUsed(state.subnet, ip);
        eni.podAddresses.push(ip);
        state.eniOf.set(ip, eni.deviceNumber);
        state.free++;
        dev = eni.deviceNumber;
      }
      const eni = state.list[dev]!;
      if (!claimSlot(eni, eni.podAddresses.indexOf(ip))) continue;
      state.owner.set(ip, uid);
      state.byPod.set(uid, ip);
      state.free--;
      break;
    }
  }

  forgetNode(nodeName: string): void {
    const state = this.nodes.get(nodeName);
    if (!state) return;
    for (const eni of state.list) {
      if (eni.deviceNumber > 0) this.subnets.release(state.subnet, eni.primaryIp);
      for (const p of eni.prefixes) this.subnets.releasePrefix(state.subnet, p);
      if (this.options.mode === 'secondary-ip') for (const a of eni.podAddresses) this.subnets.release(state.subnet, a);
    }
    this.nodes.delete(nodeName);
  }

  /** The node's ENIs, device order; empty when ipamd has not run there yet. */
  enis(nodeName: string): readonly EniView[] {
    return this.nodes.get(nodeName)?.list ?? [];
  }

  /** The ENI an address (a pod's) lives on. */
  eniOf(nodeName: string, ip: string): EniView | undefined {
    const state = this.nodes.get(nodeName);
    const dev = state?.eniOf.get(ip);
    return dev === undefined ? undefined : state!.list[dev];
  }

  /** Addresses in use by pods on a node. */
  usedOn(nodeName: string): string[] {
    return [...(this.nodes.get(nodeName)?.owner.keys() ?? [])];
  }

  /** Addresses a node could still give to pods without attaching anything. */
  freeOn(nodeName: string): number {
    return this.nodes.get(nodeName)?.free ?? 0;
  }

  private nodeState(node: Node): NodeState | { error: string } {
    const name = node.metadata?.name ?? '';
    const existing = this.nodes.get(name);
    if (existing) return existing;
    const subnet = this.options.nodeSubnet(name);
    if (!subnet) return { error: `${AWS_NO_IP_MESSAGE} (no subnet is known for node ${name})` };
    const type = this.options.instanceType ? this.options.instanceType(node) : instanceTypeLabel(node);
    const lim = this.options.limits(type);
    // ipamd cannot start without the ENI limits, so no address is ever handed out.
    if (!lim.ok) return { error: `${AWS_NO_IP_MESSAGE} (ipamd: ${lim.message})` };
    const internalIP = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    if (!internalIP) return { error: `${AWS_NO_IP_MESSAGE} (node ${name} has no InternalIP)` };
    this.subnets.markUsed(subnet, internalIP);
    const state: NodeState = {
      name,
      subnet,
      enis: lim.limits.enis,
      ipv4PerEni: lim.limits.ipv4PerEni,
      list: [],
      eniOf: new Map(),
      owner: new Map(),
      byPod: new Map(),
      free: 0,
    };
    state.list.push(newEni(name, 0, internalIP, subnet));
    this.fillNew(state, state.list[0]!);
    this.warm(state);
    this.nodes.set(name, state);
    return state;
  }

  private take(state: NodeState, uid: string): string | undefined {
    for (const eni of state.list) {
      const idx = takeSlot(eni);
      if (idx === undefined) continue;
      const ip = eni.podAddresses[idx]!;
      state.owner.set(ip, uid);
      state.byPod.set(uid, ip);
      state.free--;
      return ip;
    }
    return undefined;
  }

  /** Keep the warm pool: attach ENIs (secondary-ip) or add prefixes while too few addresses are free. */
  private warm(state: NodeState): void {
    const want = this.options.mode === 'prefix' ? this.warmPrefix * 16 : this.warmEni * (state.ipv4PerEni - 1);
    while (state.free < want && this.grow(state));
  }

  /** One more ENI's or prefix's worth of addresses; false when the instance or the subnet has none left. */
  private grow(state: NodeState): boolean {
    if (this.options.mode === 'prefix') {
      const slots = state.ipv4PerEni - 1;
      const eni = state.list.find((e) => e.prefixes.length < slots);
      if (eni) return this.addPrefix(state, eni);
    }
    if (state.list.length >= state.enis) return false;
    const primary = this.subnets.takeAddress(state.subnet);
    if (!primary) return false;
    const eni = newEni(state.name, state.list.length, primary, state.subnet);
    state.list.push(eni);
    return this.fillNew(state, eni);
  }

  /** A newly attached ENI gets all its secondary IPs (secondary-ip mode) or its first prefix. */
  private fillNew(state: NodeState, eni: Eni): boolean {
    if (this.options.mode === 'prefix') return this.addPrefix(state, eni);
    let added = false;
    for (let i = 0; i < state.ipv4PerEni - 1; i++) {
      const ip = this.subnets.takeAddress(state.subnet);
      if (!ip) break;
      eni.podAddresses.push(ip);
      state.eniOf.set(ip, eni.deviceNumber);
      state.free++;
      added = true;
    }
    return added;
  }

  private addPrefix(state: NodeState, eni: Eni): boolean {
    const prefix = this.subnets.takePrefix(state.subnet);
    if (!prefix) return false;
    eni.prefixes.push(prefix);
    for (const ip of prefixAddresses(prefix)) {
      eni.podAddresses.push(ip);
      state.eniOf.set(ip, eni.deviceNumber);
      state.free++;
    }
    return true;
  }
}

function newEni(node: string, deviceNumber: number, primaryIp: string, subnet: string): Eni {
  return {
    deviceNumber,
    name: `eth${deviceNumber}`,
    // EC2 MACs are locally administered (02:…, 0a:…, 0e:…): a stand-in derived from node and device.
    mac: stableMac([0x0a], `aws-eni/${node}/${deviceNumber}`),
    primaryIp,
    subnet,
    routeTable: deviceNumber === 0 ? RT_TABLE_MAIN : deviceNumber + 1,
    podAddresses: [],
    prefixes: [],
    cursor: 0,
    released: [],
  };
}

