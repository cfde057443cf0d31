// What the netfilter evaluator needs to know about the node it runs on: its interfaces and
// addresses (for addrtype LOCAL, MASQUERADE's source, REDIRECT), and a routing decision. Routing
// proper belongs to another layer; callers pass `route`, and a trivial default is provided:
// local addresses are delivered locally, connected subnets go out their interface, anything else
// goes out the default interface.
import type { AddressFamily, Packet } from '../../net/packet.js';
import { addressIn, parseAddressSpec } from './addr.js';
import { ADDRTYPE_NAMES, type AddrType, type AddressSpec } from './model.js';

export interface NodeInterface {
  readonly name: string;
  /** `ip/prefix`, first address of each family is the primary. */
  readonly addresses: readonly string[];
}

export interface RouteResult {
  /** Delivered to this node (INPUT) rather than forwarded. */
  readonly local: boolean;
  /** The interface the packet leaves by (forwarded or locally generated), `lo` for local delivery of local traffic. */
  readonly outInterface?: string;
  /** Preferred source address (what MASQUERADE uses), if the route names one. */
  readonly source?: string;
  /** Whatever the route callback wants back on the outcome (a routing layer's full decision). */
  readonly detail?: unknown;
}

/** A routing decision; undefined means no route (the kernel answers ENETUNREACH / ICMP net unreachable). */
export type RouteFn = (p: Packet) => RouteResult | undefined;

export interface NodeNetwork {
  readonly interfaces: readonly NodeInterface[];
  /** Routing callback; default: `defaultRoute` over the interfaces. */
  readonly route?: RouteFn;
  /** Interface of the default route for the trivial router (default: first interface other than lo). */
  readonly defaultInterface?: string;
  /** Address type override (for BLACKHOLE/UNREACHABLE routes and the like). */
  readonly addrType?: (address: string, family: AddressFamily, iface?: string) => AddrType | undefined;
}

interface IfaceAddr {
  readonly iface: string;
  readonly spec: AddressSpec;
  readonly address: string;
  readonly n: number | bigint;
}

const LOOPBACK4 = parseAddressSpec('127.0.0.0/8', 4)!;
const LOOPBACK6 = parseAddressSpec('::1/128', 6)!;
const MULTICAST4 = parseAddressSpec('224.0.0.0/4', 4)!;
const MULTICAST6 = parseAddressSpec('ff00::/8', 6)!;
const LOCAL_ROUTE: RouteResult = { local: true, outInterface: 'lo' };
const LOCAL_BIT = ADDRTYPE_NAMES.indexOf('LOCAL');
const UNICAST_BIT = ADDRTYPE_NAMES.indexOf('UNICAST');
const BROADCAST_BIT = ADDRTYPE_NAMES.indexOf('BROADCAST');
const MULTICAST_BIT = ADDRTYPE_NAMES.indexOf('MULTICAST');

/** The node's addresses, precomputed for matching. */
export class NodeModel {
  readonly route: RouteFn;
  private readonly addrs: IfaceAddr[] = [];
  /** Local address (numeric) -> interfaces holding it. */
  private readonly local = new Map<number | bigint, string[]>();
  private readonly broadcast = new Map<number, string>();

  constructor(readonly network: NodeNetwork) {
    for (const iface of network.interfaces) {
      for (const a of iface.addresses) {
        const slash = a.indexOf('/');
        const address = slash < 0 ? a : a.slice(0, slash);
        const fam: AddressFamily = address.includes(':') ? 6 : 4;
        const spec = parseAddressSpec(slash < 0 ? `${address}/${fam === 4 ? 32 : 128}` : a, fam);
        const host = parseAddressSpec(address, fam);
        if (!spec || !host) throw new Error(`interface ${iface.name}: invalid address ${a}`);
        this.addrs.push({ iface: iface.name, spec, address: host.text.slice(0, host.text.indexOf('/')), n: host.net });
        const list = this.local.get(host.net) ?? [];
        list.push(iface.name);
        this.local.set(host.net, list);
        if (fam === 4 && spec.prefix < 31) this.broadcast.set(((spec.net as number) | ~(spec.mask as number)) >>> 0, iface.name);
      }
    }
    // Connected subnets, longest prefix first, and the default route: computed once.
    this.connected = this.addrs.filter((a) => a.iface !== 'lo').sort((a, b) => b.spec.prefix - a.spec.prefix);
    for (const a of this.connected) this.connectedRoutes.set(a, { local: false, outInterface: a.iface });
    const dflt = network.defaultInterface ?? network.interfaces.find((i) => i.name !== 'lo')?.name;
    this.defaultResult = dflt === undefined ? undefined : { local: false, outInterface: dflt };
    this.route = network.route ?? ((p) => this.defaultRoute(p));
  }

  private readonly connected: IfaceAddr[];
  private readonly connectedRoutes = new Map<IfaceAddr, RouteResult>();
  private readonly defaultResult: RouteResult | undefined;

  isLocal(n: number | bigint): boolean {
    if (typeof n === 'number') return this.local.has(n) || addressIn(LOOPBACK4, n);
    return this.local.has(n) || addressIn(LOOPBACK6, n);
  }

  /** The RTN_* type of an address as the kernel's addrtype match sees it; `iface` limits LOCAL to that device. */
  addrTypeBit(address: string, n: number | bigint, family: AddressFamily, iface?: string): number {
    if (this.network.addrType) {
      const t = this.network.addrType(address, family, iface);
      if (t) return ADDRTYPE_NAMES.indexOf(t);
    }
    if (family === 4) {
      const v = n as number;
      if (v === 0 || v === 0xffffffff) return BROADCAST_BIT;
      if (addressIn(MULTICAST4, v)) return MULTICAST_BIT;
      if (addressIn(LOOPBACK4, v)) return iface === undefined || iface === 'lo' ? LOCAL_BIT : UNICAST_BIT;
      const bcast = this.broadcast.get(v);
      if (bcast !== undefined && (iface === undefined || iface === bcast)) return BROADCAST_BIT;
    } else {
      if (addressIn(MULTICAST6, n)) return MULTICAST_BIT;
      if (addressIn(LOOPBACK6, n)) return iface === undefined || iface === 'lo' ? LOCAL_BIT : UNICAST_BIT;
    }
    const holders = this.local.get(n);
    if (holders && (iface === undefined || holders.includes(iface))) return LOCAL_BIT;
    return UNICAST_BIT;
  }

  /** Primary address of `iface` for `family`, preferring one whose subnet holds `towards`. */
  interfaceAddress(iface: string, family: AddressFamily, towards?: number | bigint): string | undefined {
    let first: string | undefined;
    for (const a of this.addrs) {
      if (a.iface !== iface || a.spec.family !== family) continue;
      if (towards !== undefined && addressIn(a.spec, towards)) return a.address;
      first ??= a.address;
    }
    if (first !== undefined) return first;
    // inet_select_addr: a device without an address of its own (a Calico cali* veth) borrows the
    // first global address of the other devices, in device order (loopback addresses are host-scoped).
    for (const a of this.addrs) {
      if (a.spec.family !== family || a.iface === 'lo' || this.isLoopbackAddress(a)) continue;
      return a.address;
    }
    return undefined;
  }

  private isLoopbackAddress(a: IfaceAddr): boolean {
    return typeof a.n === 'number' ? addressIn(LOOPBACK4, a.n) : addressIn(LOOPBACK6, a.n);
  }

  /** Trivial router: local, connected subnet (longest prefix), else the default interface. */
  defaultRoute(p: Packet): RouteResult | undefined {
    if (this.isLocal(p.dstN)) return LOCAL_ROUTE;
    for (const a of this.connected) if (a.spec.family === p.family && addressIn(a.spec, p.dstN)) return this.connectedRoutes.get(a);
    return this.defaultResult;
  }
}
