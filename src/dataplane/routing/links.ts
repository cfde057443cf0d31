// Network interfaces as `ip link` / `ip addr` know them: kind, MTU, state, addresses, and the
// kind-specific attributes the router needs (veth peer, bridge master, VXLAN VNI/port/local,
// IPIP endpoints, the L2 segment a cloud or physical NIC sits on).
import type { AddrN, Family } from './addr.js';

export type LinkKind = 'loopback' | 'veth' | 'bridge' | 'vxlan' | 'ipip' | 'dummy' | 'ether';

export interface LinkSpec {
  readonly name: string;
  readonly kind: LinkKind;
  readonly mtu?: number;
  /** Administrative state (`ip link set X up`); default up. */
  readonly up?: boolean;
  readonly mac?: string;
  /** Bridge this link is a port of (`master cni0`). */
  readonly master?: string;
  readonly txqlen?: number;
  readonly qdisc?: string;
  readonly group?: number;
  /** veth: the other end, `{namespace, name}` (same namespace when `namespace` is this one). */
  readonly peer?: { readonly namespace: string; readonly name: string };
  /** vxlan: VNI (`id`). */
  readonly vni?: number;
  /** vxlan/ipip: tunnel source address (`local`). */
  readonly local?: string;
  /** ipip: tunnel destination (`remote`); unset = any (tunl0, NBMA: the route's gateway is the endpoint). */
  readonly remote?: string;
  /** vxlan: UDP destination port; the kernel's default is 8472 (flannel uses it). */
  readonly dstport?: number;
  /** vxlan/ipip: underlay device the tunnel is bound to (`dev eth0`). */
  readonly dev?: string;
  readonly learning?: boolean;
  /** vxlan/ipip outer TTL; 0 = vxlan: the route's hop limit (64), ipip: inherit the inner TTL. */
  readonly ttl?: number;
  /** ether: the L2 domain (switch, VPC subnet) this NIC is attached to; links with the same segment reach each other. */
  readonly segment?: string;
  /** Answer ARP for addresses this host routes elsewhere (Calico's cali* host ends). */
  readonly proxyArp?: boolean;
  /**
   * ether: addresses the cloud network delivers to this NIC without the OS holding them (ENI
   * secondary IPs used by pods): the VPC answers ARP for them with this NIC's MAC.
   */
  readonly cloudIps?: readonly string[];
}

export interface IfAddress {
  readonly family: Family;
  readonly address: string;
  readonly n: AddrN;
  readonly len: number;
  /** IPv4 broadcast address when one was given (`brd`). */
  readonly brd?: string;
  readonly scope: number;
  /** Another address on the link already covers this subnet. */
  readonly secondary: boolean;
  readonly label?: string;
  readonly noprefixroute: boolean;
  /** Metric of the prefix route (`metric` on `ip addr add`). */
  readonly metric?: number;
}

export interface Link extends LinkSpec {
  readonly index: number;
  readonly mtu: number;
  readonly up: boolean;
  readonly addresses: readonly IfAddress[];
}

export const DEFAULT_MTU: Readonly<Record<LinkKind, number>> = {
  loopback: 65536,
  veth: 1500,
  bridge: 1500,
  vxlan: 1450,
  ipip: 1480,
  dummy: 1500,
  ether: 1500,
};

/** The kernel's VXLAN port when none is given (IANA's 4789 must be asked for). */
export const VXLAN_DEFAULT_PORT = 8472;

/** Link flags as `ip link` prints them inside `<…>`; `peerDown`: a veth whose peer here is down (M-DOWN). */
export function linkFlags(link: Link, carrier: boolean, peerDown = false): string[] {
  const f: string[] = [];
  if (link.up && !carrier) f.push('NO-CARRIER');
  if (link.kind === 'loopback') f.push('LOOPBACK');
  else if (link.kind === 'ipip') f.push('NOARP');
  else if (link.kind === 'dummy') f.push('BROADCAST', 'NOARP');
  else f.push('BROADCAST', 'MULTICAST');
  if (link.up) f.push('UP');
  if (link.up && carrier) f.push('LOWER_UP');
  if (peerDown) f.push('M-DOWN');
  return f;
}

/**
 * Operational state (`state UP`): virtual links without a carrier notion report UNKNOWN, and so
 * does a bridge that never had a port (it has a carrier then; once it had ports, it needs an up one).
 */
export function operState(link: Link, carrier: boolean, bridgeHadPorts = true): string {
  if (!link.up) return 'DOWN';
  if (link.kind === 'loopback' || link.kind === 'vxlan' || link.kind === 'ipip' || link.kind === 'dummy') return 'UNKNOWN';
  if (link.kind === 'bridge' && !bridgeHadPorts) return 'UNKNOWN';
  if (!carrier) return link.kind === 'veth' ? 'LOWERLAYERDOWN' : 'DOWN';
  return 'UP';
}
