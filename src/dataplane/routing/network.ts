// Several namespaces wired together: veth pairs, bridges and their ports, NICs sharing an L2
// segment. `deliver` answers where a frame sent out a link for a next hop arrives (the station
// that answers ARP for it); `walk` follows a packet through routing, tunnels and L2 until it is
// delivered or dropped, keeping every weighted branch.
import { parseAddr } from './addr.js';
import { decapsulate, routeInput, routeOutput, type Datagram, type RouteBranch, type RouteOutcome } from './forward.js';
import { fractionValue, mulFraction, ONE, type Fraction } from './fraction.js';
import type { Link, LinkSpec } from './links.js';
import { linkLayerChanged, linkLayerChanges, Namespace, type ChangeResult, type NamespaceOptions } from './namespace.js';

export type L2Result =
  | {
      readonly kind: 'station';
      readonly namespace: string;
      /** The link the frame is received on (a bridge when it goes up to the bridge's own stack). */
      readonly iif: string;
      /** Bridges that switched the frame from port to port (br_netfilter applies there). */
      readonly bridges: readonly string[];
    }
  /** A NIC with no segment in the model: the frame leaves (to the cloud network, a router…). */
  | { readonly kind: 'external'; readonly namespace: string; readonly link: string }
  /** Nobody answers ARP/ND for the next hop. */
  | { readonly kind: 'unresolved' }
  | { readonly kind: 'link-down'; readonly link: string };

interface Station {
  readonly ns: Namespace;
  readonly link: Link;
  readonly bridges: readonly string[];
}

export type WalkOutcome = RouteOutcome | 'external' | 'loop';

export interface WalkHop {
  readonly namespace: string;
  /** The link the packet arrived on; undefined where it was originated. */
  readonly iif?: string;
  readonly kind: 'route' | 'l2' | 'decap';
  readonly branch?: RouteBranch;
  readonly l2?: L2Result;
  readonly note: string;
}

export interface WalkPath {
  readonly probability: Fraction;
  readonly probabilityValue: number;
  readonly outcome: WalkOutcome;
  readonly hops: readonly WalkHop[];
  /** Where it ended and as what. */
  readonly namespace: string;
  readonly datagram: Datagram;
}

export class Network {
  private readonly nsMap = new Map<string, Namespace>();
  /** Addresses on a segment that belong to something outside the model (a VPC router, a physical gateway). */
  private readonly externals = new Map<string, Set<string>>();
  /** deliver()'s answers, valid while linkLayerChanges() is still `deliveredAt`. */
  private readonly delivered = new Map<string, L2Result>();
  private deliveredAt = -1;

  /** Declare that `address` answers on `segment` but lies outside the model: frames for it leave as `external`. */
  addExternalStation(segment: string, address: string): void {
    const a = parseAddr(address);
    if (!a) throw new Error(`not an address: ${address}`);
    let set = this.externals.get(segment);
    if (!set) this.externals.set(segment, (set = new Set()));
    set.add(String(a.n));
    linkLayerChanged();
  }

  createNamespace(name: string, options?: NamespaceOptions): Namespace {
    if (this.nsMap.has(name)) throw new Error(`namespace ${name} exists`);
    const ns = new Namespace(name, options);
    this.nsMap.set(name, ns);
    linkLayerChanged();
    return ns;
  }

  has(name: string): boolean {
    return this.nsMap.has(name);
  }

  /** `ip netns del`: the namespace and every veth end in it go; their peers go with them, as in the kernel. */
  deleteNamespace(name: string): void {
    const ns = this.nsMap.get(name);
    if (!ns) return;
    this.nsMap.delete(name);
    linkLayerChanged();
    for (const l of ns.links) {
      if (l.kind === 'veth' && l.peer && l.peer.namespace !== name) this.nsMap.get(l.peer.namespace)?.deleteLink(l.peer.name);
    }
  }

  namespace(name: string): Namespace {
    const ns = this.nsMap.get(name);
    if (!ns) throw new Error(`no namespace ${name}`);
    return ns;
  }

  get namespaces(): readonly Namespace[] {
    return [...this.nsMap.values()];
  }

  /** `ip link add A type veth peer name B netns N`: both ends, each in its namespace. */
  addVethPair(
    a: { readonly namespace: string } & Omit<LinkSpec, 'kind' | 'peer'>,
    b: { readonly namespace: string } & Omit<LinkSpec, 'kind' | 'peer'>,
  ): ChangeResult<[Link, Link]> {
    const { namespace: na, ...sa } = a;
    const { namespace: nb, ...sb } = b;
    const x = this.namespace(na).addLink({ ...sa, kind: 'veth', peer: { namespace: nb, name: b.name } });
    if (!x.ok) return x;
    const y = this.namespace(nb).addLink({ ...sb, kind: 'veth', peer: { namespace: na, name: a.name } });
    if (!y.ok) {
      this.namespace(na).deleteLink(a.name);
      return y;
    }
    return { ok: true, value: [x.value, y.value] };
  }

  /** For printers: index and state of a link in another namespace. */
  peerIndex = (namespace: string, name: string): number | undefined => this.nsMap.get(namespace)?.link(name)?.index;
  peerUp = (namespace: string, name: string): boolean | undefined => this.nsMap.get(namespace)?.link(name)?.up;

  /** The far ends a frame sent out `link` can reach (ports behind bridges included). */
  private reach(ns: Namespace, link: Link, bridges: readonly string[], seen: Set<string>): Station[] | 'external' {
    const key = `${ns.name}/${link.name}`;
    if (seen.has(key)) return [];
    seen.add(key);
    if (link.kind === 'veth') {
      if (!link.peer) return [];
      const pns = this.nsMap.get(link.peer.namespace);
      const plink = pns?.link(link.peer.name);
      if (!pns || !plink || !plink.up) return [];
      return this.arrive(pns, plink, bridges, seen);
    }
    if (link.kind === 'bridge') {
      const out: Station[] = [];
      for (const port of ns.links) {
        if (port.master !== link.name || !port.up) continue;
        const r = this.reach(ns, port, [...bridges, link.name], seen);
        if (r !== 'external') out.push(...r);
      }
      return out;
    }
    if (link.kind === 'ether') {
      if (link.segment === undefined) return 'external';
      const out: Station[] = [];
      for (const other of this.nsMap.values()) {
        for (const l of other.links) {
          if (l.kind !== 'ether' || l.segment !== link.segment || !l.up || (other === ns && l.name === link.name)) continue;
          out.push(...this.arrive(other, l, bridges, seen));
        }
      }
      return out;
    }
    return [];
  }

  /** A frame received on `link`: a station itself, or a bridge port that switches it on. */
  private arrive(ns: Namespace, link: Link, bridges: readonly string[], seen: Set<string>): Station[] {
    seen.add(`${ns.name}/${link.name}`);
    if (link.master === undefined) return [{ ns, link, bridges }];
    const br = ns.link(link.master);
    if (!br || !br.up) return [];
    seen.add(`${ns.name}/${br.name}`);
    const out: Station[] = [{ ns, link: br, bridges }];
    for (const port of ns.links) {
      if (port.master !== br.name || port.name === link.name || !port.up) continue;
      const r = this.reach(ns, port, [...bridges, br.name], seen);
      if (r !== 'external') out.push(...r);
    }
    return out;
  }

  /**
   * Where a frame for `nextHop` sent out `dev` arrives: a static neighbour entry names the station
   * by MAC; otherwise the station whose link holds the address answers ARP, then any station whose
   * namespace holds it (Linux answers ARP for all its addresses, arp_ignore=0), then a cloud NIC the
   * address is assigned to (the VPC answers for ENI secondary IPs), then proxy ARP.
   */
  deliver(nsName: string, dev: string, nextHop: string): L2Result {
    // Remembered until the link layer changes anywhere: a trace asks the same question at every hop
    // of every path, and the answer walks every port of a bridge.
    const version = linkLayerChanges();
    if (version !== this.deliveredAt) {
      this.delivered.clear();
      this.deliveredAt = version;
    }
    const key = `${nsName}\n${dev}\n${nextHop}`;
    let r = this.delivered.get(key);
    if (!r) this.delivered.set(key, (r = this.resolveDelivery(nsName, dev, nextHop)));
    return r;
  }

  private resolveDelivery(nsName: string, dev: string, nextHop: string): L2Result {
    const ns = this.namespace(nsName);
    const link = ns.link(dev);
    if (!link || !link.up) return { kind: 'link-down', link: dev };
    if (link.kind === 'loopback') return { kind: 'station', namespace: nsName, iif: 'lo', bridges: [] };
    if (!ns.carrier(link, this.peerUp)) return { kind: 'link-down', link: dev };
    const stations = this.reach(ns, link, [], new Set());
    if (stations === 'external') return { kind: 'external', namespace: nsName, link: dev };
    const a = parseAddr(nextHop);
    if (!a) return { kind: 'unresolved' };
    const neigh = ns.neighbour(dev, nextHop);
    const pick =
      (neigh?.lladdr !== undefined ? stations.find((s) => s.link.mac === neigh.lladdr) : undefined) ??
      stations.find((s) => s.link.addresses.some((x) => x.family === a.family && x.n === a.n)) ??
      stations.find((s) => s.ns.isLocalAddress(a.family, a.n)) ??
      stations.find((s) => s.link.cloudIps?.some((ip) => parseAddr(ip)?.n === a.n)) ??
      stations.find((s) => s.link.proxyArp);
    if (!pick) {
      if (link.kind === 'ether' && link.segment !== undefined && this.externals.get(link.segment)?.has(String(a.n))) return { kind: 'external', namespace: nsName, link: dev };
      return { kind: 'unresolved' };
    }
    return { kind: 'station', namespace: pick.ns.name, iif: pick.link.name, bridges: pick.bridges };
  }

  /**
   * Follow a datagram from `namespace` (arriving on `iif`, or sent by a local process when `iif` is
   * unset) through every namespace it reaches. Paths end where the packet is delivered or dropped.
   */
  walk(start: { readonly namespace: string; readonly datagram: Datagram; readonly iif?: string }, maxHops = 64): WalkPath[] {
    const paths: WalkPath[] = [];
    const step = (nsName: string, d: Datagram, iif: string | undefined, p: Fraction, hops: WalkHop[]): void => {
      if (hops.length >= maxHops) {
        paths.push({ probability: p, probabilityValue: fractionValue(p), outcome: 'loop', hops, namespace: nsName, datagram: d });
        return;
      }
      const ns = this.namespace(nsName);
      const res = iif === undefined ? routeOutput(ns, d) : routeInput(ns, d, iif);
      for (const b of res.branches) {
        const prob = mulFraction(p, b.probability);
        const here: WalkHop[] = [...hops, { namespace: nsName, ...(iif !== undefined ? { iif } : {}), kind: 'route', branch: b, note: b.note }];
        const end = (outcome: WalkOutcome, h: WalkHop[], at = nsName, dg = b.datagram) =>
          paths.push({ probability: prob, probabilityValue: fractionValue(prob), outcome, hops: h, namespace: at, datagram: dg });
        if (b.outcome === 'local' || b.outcome === 'broadcast') {
          const dec = decapsulate(ns, b.datagram);
          if (dec && b.outcome === 'local') {
            step(nsName, dec.datagram, dec.iif, prob, [...here, { namespace: nsName, iif: dec.iif, kind: 'decap', note: `decapsulated by ${dec.iif}` }]);
          } else end(b.outcome, here);
          continue;
        }
        if (b.outcome !== 'forward') {
          end(b.outcome, here);
          continue;
        }
        const l2 = this.deliver(nsName, b.outInterface!, b.nextHop!);
        const l2hop: WalkHop = { namespace: nsName, kind: 'l2', l2, note: l2Note(l2, b.outInterface!, b.nextHop!) };
        if (l2.kind === 'station') {
          const packet = { ...b.datagram.packet, inInterface: l2.iif };
          delete (packet as { outInterface?: string }).outInterface;
          const next: Datagram = { ...b.datagram, packet };
          step(l2.namespace, next, l2.iif, prob, [...here, l2hop]);
        } else end(l2.kind === 'external' ? 'external' : l2.kind === 'unresolved' ? 'neighbour-unresolved' : 'link-down', [...here, l2hop]);
      }
    };
    step(start.namespace, start.datagram, start.iif, ONE, []);
    return paths;
  }
}

function l2Note(l2: L2Result, dev: string, nextHop: string): string {
  switch (l2.kind) {
    case 'station':
      return `${dev} → ${l2.namespace}/${l2.iif}${l2.bridges.length ? ` (switched by ${l2.bridges.join(', ')})` : ''}`;
    case 'external':
      return `${dev} leaves the modelled hosts towards ${nextHop}`;
    case 'unresolved':
      return `no station on ${dev} answers for ${nextHop}`;
    case 'link-down':
      return `${l2.link} has no carrier`;
  }
}
