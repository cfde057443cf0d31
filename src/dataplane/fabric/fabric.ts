// The network between hosts: the L2 segment or VPC a node's NIC sits in and the router behind its
// subnet gateway. It answers one question for the tracer: a frame or packet leaves host X's NIC
// towards an address — where does it arrive? Plain data: hosts, NICs, owned addresses, routes.
import { containsIp, mustParseCidr, nthAddress, cidrSize } from '../../net/cidr.js';
import { parseAddr, parsePrefix } from '../routing/addr.js';
import { PrefixTrie4, PrefixTrie6 } from '../routing/trie.js';

export type Cloud = 'none' | 'aws' | 'alibaba';

/** The router address a host in `subnet` uses as its default gateway. */
export function subnetGateway(cloud: Cloud, subnet: string): string {
  const c = mustParseCidr(subnet);
  // AWS: the VPC router is the subnet base plus one. Alibaba: ECS instances route via the
  // vSwitch's third-from-last address (x.x.x.253 in a /24; the last three are reserved) — as ECS
  // shows it, not checked against a document here. Bare metal: the LAN router at .1 by convention.
  if (cloud === 'alibaba' && c.family === 'IPv4') return nthAddress(c, cidrSize(c) - 3n)!;
  return nthAddress(c, 1)!;
}

/** A NIC the fabric can deliver to. */
export interface FabricNic {
  /** `node/<name>` for a host NIC, `pod/<ns>/<name>` for an exclusive ENI inside a pod. */
  readonly owner: string;
  /** The host (node name) the NIC is attached to. */
  readonly node: string;
  readonly device: string;
  readonly subnet: string;
  readonly zone?: string;
  /** Addresses the NIC holds or the cloud delivers to it (ENI secondary IPs). */
  readonly addresses: readonly string[];
}

export interface FabricRoute {
  readonly destination: string;
  /** The node whose primary NIC the route points at. */
  readonly node: string;
}

export type Arrival =
  /** Delivered to a NIC (same subnet, or through the VPC router). */
  | { readonly kind: 'nic'; readonly nic: FabricNic; readonly via: 'l2' | 'router' | 'vpc-route'; readonly route?: FabricRoute; readonly note: string }
  /** Leaves the modelled network towards the Internet (through the router / Internet or NAT gateway). */
  | { readonly kind: 'internet'; readonly note: string }
  /** Nothing answers: an address in the VPC no NIC holds, or a next hop that is not on the link. */
  | { readonly kind: 'dropped'; readonly note: string };

export interface FabricOptions {
  readonly cloud: Cloud;
  /** The VPC CIDRs (cloud) — addresses inside are never sent to the Internet. Bare metal: none. */
  readonly vpcCIDRs: readonly string[];
}

/** Prefixes of both families, longest match first (the routing layer's tries); the first value set for a prefix stays. */
class PrefixTable<T> {
  private readonly v4 = new PrefixTrie4<T>();
  private readonly v6 = new PrefixTrie6<T>();

  add(cidr: string, value: T): void {
    const p = parsePrefix(cidr);
    if (!p) throw new Error(`invalid CIDR ${JSON.stringify(cidr)}`);
    if (p.family === 4) {
      if (this.v4.get(p.net as number, p.len) === undefined) this.v4.set(p.net as number, p.len, value);
    } else if (this.v6.get(p.net as bigint, p.len) === undefined) this.v6.set(p.net as bigint, p.len, value);
  }

  lookup(address: string): T | undefined {
    const a = parseAddr(address);
    if (!a) return undefined;
    return a.family === 4 ? this.v4.lookup(a.n as number) : this.v6.lookup(a.n as bigint);
  }
}

export class Fabric {
  private readonly owners = new Map<string, FabricNic>();
  /** NICs by `owner device`. */
  private readonly nics = new Map<string, FabricNic>();
  private readonly routes = new PrefixTable<FabricRoute>();
  /** The VPC CIDRs and every NIC's subnet: addresses inside never go to the Internet. */
  private readonly inside = new PrefixTable<string>();
  private readonly subnets = new PrefixTable<string>();

  constructor(readonly options: FabricOptions) {
    for (const c of options.vpcCIDRs) this.inside.add(c, c);
  }

  addNic(nic: FabricNic): void {
    this.nics.set(`${nic.owner} ${nic.device}`, nic);
    this.subnets.add(nic.subnet, nic.subnet);
    for (const a of nic.addresses) this.owners.set(a, nic);
  }

  addRoute(route: FabricRoute): void {
    this.routes.add(route.destination, route);
  }

  /** The NIC holding `address`, if any. */
  ownerOf(address: string): FabricNic | undefined {
    return this.owners.get(address);
  }

  /** The NIC `device` of `owner` (`node/NAME` or `pod/NS/NAME`). */
  nicOf(owner: string, device: string): FabricNic | undefined {
    return this.nics.get(`${owner} ${device}`);
  }

  /** The primary NIC (eth0) of a node. */
  primaryNic(node: string): FabricNic | undefined {
    return this.nicOf(`node/${node}`, 'eth0');
  }

  gateway(subnet: string): string {
    return subnetGateway(this.options.cloud, subnet);
  }

  /**
   * A packet for `dst` leaves `from` towards the L2 next hop `nextHop`. On the same subnet the
   * holder of the next hop receives the frame; a frame for the gateway reaches the router, which
   * forwards by `dst`: to the NIC holding it, along a VPC route, or out to the Internet.
   */
  send(from: FabricNic, nextHop: string, dst: string, src?: string): Arrival {
    // EC2's source/destination check (on by default): an ENI sends only from, and receives only for,
    // addresses it holds. Alibaba ECS has no such check; a bare-metal LAN neither.
    const srcDstCheck = this.options.cloud === 'aws';
    if (srcDstCheck && src !== undefined && !from.addresses.includes(src))
      return { kind: 'dropped', note: `EC2 source/destination check: ${src} is not an address of ${from.owner} ${from.device}` };
    if (nextHop !== this.gateway(from.subnet)) {
      const holder = this.owners.get(nextHop);
      if (holder && holder.subnet === from.subnet) {
        if (srcDstCheck && !holder.addresses.includes(dst)) return { kind: 'dropped', note: `EC2 source/destination check: ${holder.owner} ${holder.device} does not hold ${dst}` };
        return { kind: 'nic', nic: holder, via: 'l2', note: `${from.subnet}: ${nextHop} is ${holder.owner} ${holder.device}` };
      }
      if (!containsIp(from.subnet, nextHop))
        return { kind: 'dropped', note: `${nextHop} is not on ${from.subnet}: no host answers ARP for it` };
      return { kind: 'dropped', note: `no host on ${from.subnet} holds ${nextHop}` };
    }
    return this.route(dst);
  }

  /** The router's decision for `dst` (the VPC route table on a cloud, the LAN router on bare metal). */
  route(dst: string): Arrival {
    const cloudName = this.options.cloud === 'aws' ? 'VPC router' : this.options.cloud === 'alibaba' ? 'vRouter' : 'router';
    const holder = this.owners.get(dst);
    // The local route (VPC CIDR / node subnets) wins over custom routes only for addresses a NIC holds.
    if (holder) return { kind: 'nic', nic: holder, via: 'router', note: `${cloudName}: ${dst} is held by ${holder.owner} ${holder.device}` };
    const r = this.routes.lookup(dst);
    if (r) {
      const nic = this.primaryNic(r.node);
      if (!nic) return { kind: 'dropped', note: `${cloudName}: route ${r.destination} → ${r.node}, but that instance is gone` };
      return { kind: 'nic', nic, via: 'vpc-route', route: r, note: `${cloudName}: route entry ${r.destination} → ${r.node}` };
    }
    if (this.inside.lookup(dst) !== undefined) return { kind: 'dropped', note: `${cloudName}: no ENI in the VPC holds ${dst}` };
    if (this.subnets.lookup(dst) !== undefined) return { kind: 'dropped', note: `${cloudName}: no host on ${dst}'s subnet holds it` };
    return { kind: 'internet', note: `${cloudName}: ${dst} is outside the network, sent towards the Internet` };
  }
}
