// The forwarding step: one namespace, one packet. `routeInput` is ip_route_input_slow + ip_forward
// (a packet arriving on a link), `routeOutput` is ip_route_output (a packet a local process sends).
// Each returns weighted branches: several when a multipath route spreads flows over nexthops.
// Sending into a VXLAN or IPIP device encapsulates: the outer packet is routed again here (it is
// locally generated) and the branch carries the outer header.
import { makePacket, type Packet } from '../../net/packet.js';
import { formatAddr, parseAddr, type AddrN, type Family } from './addr.js';
import { fibLookup, nexthopShares, selectSource, validateSource, type FibFailure, type Flow } from './fib.js';
import { fractionValue, mulFraction, ONE, type Fraction } from './fraction.js';
import type { Link } from './links.js';
import type { Nexthop, Route, Rule } from './model.js';
import type { Errno, Namespace } from './namespace.js';
import { printRoute, printRule } from './print.js';

// Routes and rules are immutable objects held by their tables: print each once.
const ROUTE_TEXT = new WeakMap<Route, string>();
const RULE_TEXT = new WeakMap<Rule, string>();

function routeText(r: Route): string {
  let t = ROUTE_TEXT.get(r);
  if (t === undefined) ROUTE_TEXT.set(r, (t = printRoute(r, { showTable: true })));
  return t;
}

function ruleText(r: Rule): string {
  let t = RULE_TEXT.get(r);
  if (t === undefined) RULE_TEXT.set(r, (t = printRule(r)));
  return t;
}

/** The outer IP header a tunnel device puts around a packet. */
export interface OuterHeader {
  readonly kind: 'vxlan' | 'ipip';
  readonly family: Family;
  readonly src: string;
  readonly dst: string;
  readonly srcN: AddrN;
  readonly dstN: AddrN;
  readonly ttl: number;
  /** 17 (UDP) for VXLAN, 4 for IPIP. */
  readonly ipProto: 17 | 4;
  readonly sport: number;
  readonly dport: number;
  readonly vni?: number;
  /** The tunnel link that built it (`flannel.1`, `tunl0`). */
  readonly device: string;
}

/** A packet, possibly inside one tunnel header; routing looks at the outer header when there is one. */
export interface Datagram {
  readonly packet: Packet;
  readonly outer?: OuterHeader;
  /** The IP TOS byte routing keys on (Packet has no TOS field yet); default 0. */
  readonly tos?: number;
}

export type RouteOutcome =
  /** For this namespace: a local address (or `ip route` says `local`). */
  | 'local'
  | 'broadcast'
  /** Leaves by `outInterface` towards `nextHop`. */
  | 'forward'
  | 'ttl-exceeded'
  | 'blackhole'
  | 'unreachable'
  | 'prohibit'
  | 'no-route'
  | 'rp-filter'
  | 'martian-source'
  | 'martian-destination'
  | 'forwarding-disabled'
  | 'link-down'
  | 'neighbour-unresolved'
  | 'fdb-miss'
  /** Sent into a device that drops everything (dummy). */
  | 'discarded'
  /** Multicast delivery is not modelled. */
  | 'multicast';

export interface Icmp {
  readonly type: number;
  readonly code: number;
  readonly name: string;
}

export interface RouteBranch {
  readonly probability: Fraction;
  readonly probabilityValue: number;
  readonly outcome: RouteOutcome;
  /** The datagram after this step: TTL decremented when forwarded, out interface and chosen source set, tunnel header added. */
  readonly datagram: Datagram;
  readonly rule?: Rule;
  readonly route?: Route;
  readonly table?: number;
  /** The rule as `ip rule show` prints it and the route as `ip route show table all` prints it. */
  readonly ruleText?: string;
  readonly routeText?: string;
  readonly outInterface?: string;
  /** The L3 next hop: the gateway, or the destination itself on a connected route (for a tunnel: of the outer packet). */
  readonly nextHop?: string;
  /** The route's gateway (`via`) for that next hop, when it has one. */
  readonly gateway?: string;
  /** The source address the kernel chose for a locally generated packet. */
  readonly source?: string;
  /** What the kernel sends back to the source of a forwarded packet. */
  readonly icmp?: Icmp;
  /** The route's error: what a local sender's socket gets, and what `ip route get` reports. */
  readonly errno?: Errno;
  /**
   * Set when the packet was encapsulated: the tunnel device, the inner route's next hop and gateway
   * (what `ip route get` shows for the inner destination), and the VTEP MAC it resolved to.
   */
  readonly encap?: {
    readonly device: string;
    readonly kind: 'vxlan' | 'ipip';
    readonly innerNextHop: string;
    readonly innerGateway?: string;
    readonly lladdr?: string;
  };
  /** Path MTU of the route (route `mtu`, else the link's). */
  readonly mtu?: number;
  readonly note: string;
}

export interface RouteStep {
  readonly branches: readonly RouteBranch[];
}

export interface OutputOptions {
  /** The socket is bound to this link. */
  readonly oif?: string;
  /** Refuse a source that is not a local address, as the kernel does for ordinary sockets (default true). */
  readonly strictSource?: boolean;
}

const ICMP4: Record<string, Icmp> = {
  net: { type: 3, code: 0, name: 'destination unreachable: net unreachable' },
  host: { type: 3, code: 1, name: 'destination unreachable: host unreachable' },
  prohibited: { type: 3, code: 13, name: 'destination unreachable: communication administratively prohibited' },
  ttl: { type: 11, code: 0, name: 'time exceeded: TTL exceeded in transit' },
};
const ICMP6: Record<string, Icmp> = {
  net: { type: 1, code: 0, name: 'destination unreachable: no route to destination' },
  host: { type: 1, code: 3, name: 'destination unreachable: address unreachable' },
  noroute: { type: 1, code: 0, name: 'destination unreachable: no route to destination' },
  prohibited: { type: 1, code: 1, name: 'destination unreachable: administratively prohibited' },
  ttl: { type: 3, code: 0, name: 'time exceeded: hop limit exceeded in transit' },
};

/** ip_error / ip6_pkt_discard: the ICMP a router sends for a failed lookup; blackhole sends none. */
function icmpFor(family: Family, errno: Errno): Icmp | undefined {
  if (family === 6) {
    if (errno === 'EACCES') return ICMP6.prohibited;
    if (errno === 'ENETUNREACH' || errno === 'EHOSTUNREACH') return ICMP6.noroute;
    return undefined;
  }
  if (errno === 'ENETUNREACH') return ICMP4.net;
  if (errno === 'EHOSTUNREACH') return ICMP4.host;
  if (errno === 'EACCES') return ICMP4.prohibited;
  return undefined;
}

const IPPROTO: Record<string, number> = { tcp: 6, udp: 17, sctp: 132, icmp: 1, icmpv6: 58 };

interface Header {
  readonly family: Family;
  readonly src: string;
  readonly dst: string;
  readonly srcN: AddrN;
  readonly dstN: AddrN;
  readonly ttl: number;
  readonly ipproto: number;
  readonly sport?: number;
  readonly dport?: number;
}

function header(d: Datagram): Header {
  const o = d.outer;
  if (o) return { family: o.family, src: o.src, dst: o.dst, srcN: o.srcN, dstN: o.dstN, ttl: o.ttl, ipproto: o.ipProto, sport: o.sport, dport: o.dport };
  const p = d.packet;
  return { family: p.family, src: p.src, dst: p.dst, srcN: p.srcN, dstN: p.dstN, ttl: p.ttl, ipproto: IPPROTO[p.proto] ?? 0, sport: p.sport, dport: p.dport };
}

function setTtl(d: Datagram, ttl: number): Datagram {
  return d.outer ? { ...d, outer: { ...d.outer, ttl } } : { ...d, packet: { ...d.packet, ttl } };
}

function setSource(d: Datagram, family: Family, src: string): Datagram {
  const a = parseAddr(src)!;
  if (d.outer) return { ...d, outer: { ...d.outer, src: formatAddr(family, a.n), srcN: a.n } };
  return { ...d, packet: { ...d.packet, src: formatAddr(family, a.n), srcN: a.n } };
}

function setOut(d: Datagram, oif: string): Datagram {
  return d.outer ? d : { ...d, packet: { ...d.packet, outInterface: oif } };
}

function isZero(n: AddrN): boolean {
  return n === 0 || n === 0n;
}

interface Decided {
  readonly rule?: Rule;
  readonly route?: Route;
  readonly table?: number;
}

function branch(p: Fraction, outcome: RouteOutcome, datagram: Datagram, decided: Decided, extra: Partial<RouteBranch> & { note: string }): RouteBranch {
  return {
    probability: p,
    probabilityValue: fractionValue(p),
    outcome,
    datagram,
    ...(decided.rule ? { rule: decided.rule, ruleText: ruleText(decided.rule) } : {}),
    ...(decided.route ? { route: decided.route, routeText: routeText(decided.route) } : {}),
    ...(decided.table !== undefined ? { table: decided.table } : {}),
    ...extra,
  };
}

function single(b: RouteBranch): RouteStep {
  return { branches: [b] };
}

const FAILURE_OUTCOME: Record<FibFailure, RouteOutcome> = {
  'no-route': 'no-route',
  unreachable: 'unreachable',
  prohibit: 'prohibit',
  blackhole: 'blackhole',
};

function flowOf(d: Datagram, h: Header): Omit<Flow, 'iif' | 'oif'> {
  return {
    family: h.family,
    dst: h.dstN,
    ...(isZero(h.srcN) ? {} : { src: h.srcN }),
    mark: d.packet.mark,
    tos: d.outer ? 0 : (d.tos ?? 0),
    ipproto: h.ipproto,
    ...(h.sport !== undefined ? { sport: h.sport } : {}),
    ...(h.dport !== undefined ? { dport: h.dport } : {}),
  };
}

function martian4(h: Header, localnet: boolean): RouteOutcome | 'broadcast' | undefined {
  const s = h.srcN as number;
  const t = h.dstN as number;
  const multicast = (n: number) => n >>> 28 === 0xe;
  const zeronet = (n: number) => n >>> 24 === 0;
  const loopback = (n: number) => n >>> 24 === 127;
  if (multicast(s) || s === 0xffffffff) return 'martian-source';
  if (t === 0xffffffff || (s === 0 && t === 0)) return 'broadcast';
  if (zeronet(s)) return 'martian-source';
  if (zeronet(t)) return 'martian-destination';
  if (loopback(t)) {
    if (!localnet) return 'martian-destination';
  } else if (loopback(s) && !localnet) return 'martian-source';
  if (multicast(t)) return 'multicast';
  return undefined;
}

function martian6(h: Header, iif: string): RouteOutcome | undefined {
  const s = h.srcN as bigint;
  const t = h.dstN as bigint;
  if (s >> 120n === 0xffn) return 'martian-source';
  if (iif !== 'lo' && (s === 1n || t === 1n)) return s === 1n ? 'martian-source' : 'martian-destination';
  if (t >> 120n === 0xffn) return 'multicast';
  return undefined;
}

/** A packet arriving on link `iif` of `ns`: delivered here, forwarded, or dropped (with the ICMP sent back). */
export function routeInput(ns: Namespace, d: Datagram, iif: string): RouteStep {
  const h = header(d);
  const port = ns.link(iif);
  // A frame received on a bridge port belongs to the bridge: IP sees it arrive on the bridge device.
  if (port?.master !== undefined) iif = port.master;
  const link = ns.link(iif);
  if (!link || !link.up) return single(branch(ONE, 'link-down', d, {}, { note: `${iif} is ${link ? 'down' : 'missing'}: nothing is received` }));
  const conf = ns.confOf(iif);
  const m = h.family === 4 ? martian4(h, conf.routeLocalnet) : martian6(h, iif);
  if (m === 'broadcast') return single(branch(ONE, 'broadcast', d, {}, { note: `limited broadcast ${h.dst}: delivered locally` }));
  if (m) return single(branch(ONE, m, d, {}, { ...(m === 'multicast' ? {} : { errno: 'EINVAL' as Errno }), note: `${m} ${m === 'martian-source' ? h.src : h.dst}: dropped before routing` }));
  const flow: Flow & { readonly iif: string } = { ...flowOf(d, h), iif };
  const res = fibLookup(ns, flow);
  const forwarding = conf.forwarding;
  if (!res.ok) {
    const decided = { ...(res.rule ? { rule: res.rule } : {}), ...(res.route ? { route: res.route } : {}), ...(res.table !== undefined ? { table: res.table } : {}) };
    // A link that does not forward turns every failure into EHOSTUNREACH and sends no ICMP (ip_error).
    if (!forwarding) return single(branch(ONE, FAILURE_OUTCOME[res.reason], d, decided, { errno: 'EHOSTUNREACH', note: `${res.reason} for ${h.dst}; forwarding is off on ${iif}, so no ICMP is sent` }));
    const icmp = icmpFor(h.family, res.errno);
    return single(branch(ONE, FAILURE_OUTCOME[res.reason], d, decided, { errno: res.errno, ...(icmp ? { icmp } : {}), note: failureNote(res.reason, h.dst, res.rule, res.route) }));
  }
  const decided = { ...(res.rule ? { rule: res.rule } : {}), route: res.route, table: res.table };
  const type = res.route.type;
  if (type === 'local' || type === 'broadcast' || type === 'anycast') {
    const check = validateSource(ns, flow, undefined);
    if (check !== 'ok') return single(branch(ONE, check, d, decided, { errno: sourceErrno(check), note: sourceNote(check, h.src, iif) }));
    return single(branch(ONE, type === 'broadcast' ? 'broadcast' : 'local', d, decided, { note: `${h.dst} is local (${type} route in table ${res.table})` }));
  }
  if (!forwarding) return single(branch(ONE, 'forwarding-disabled', d, decided, { errno: 'EHOSTUNREACH', note: `forwarding is off on ${iif}: ${h.dst} is not local, dropped without ICMP` }));
  if (type !== 'unicast') return single(branch(ONE, 'martian-destination', d, decided, { errno: 'EINVAL', note: `${type} route for ${h.dst}: not forwarded` }));
  const out: RouteBranch[] = [];
  for (const { nexthop, probability } of shares(res.nexthops)) {
    const check = validateSource(ns, flow, nexthop.dev);
    if (check !== 'ok') {
      out.push(branch(probability, check, d, decided, { errno: sourceErrno(check), note: sourceNote(check, h.src, iif) }));
      continue;
    }
    if (h.ttl <= 1) {
      const icmp = h.family === 4 ? ICMP4.ttl : ICMP6.ttl;
      out.push(branch(probability, 'ttl-exceeded', d, decided, { icmp, note: `TTL ${h.ttl} would reach 0 when forwarded: dropped, ICMP time exceeded sent to ${h.src}` }));
      continue;
    }
    const next = setOut(setTtl(d, h.ttl - 1), nexthop.dev!);
    out.push(...transmit(ns, next, res.route, nexthop, probability, decided, 'forwarded'));
  }
  return { branches: out };
}

/** A packet a local process sends: an unspecified source (0.0.0.0, ::) gets the kernel's choice. */
export function routeOutput(ns: Namespace, d: Datagram, options: OutputOptions = {}): RouteStep {
  const h = header(d);
  if (!isZero(h.srcN) && (options.strictSource ?? true) && !ns.isLocalAddress(h.family, h.srcN)) {
    return single(branch(ONE, 'martian-source', d, {}, { errno: 'EINVAL', note: `${h.src} is not a local address: the socket gets EINVAL` }));
  }
  const flow: Flow = { ...flowOf(d, h), ...(options.oif !== undefined ? { oif: options.oif } : {}) };
  const res = fibLookup(ns, flow);
  if (!res.ok) {
    const decided = { ...(res.rule ? { rule: res.rule } : {}), ...(res.route ? { route: res.route } : {}), ...(res.table !== undefined ? { table: res.table } : {}) };
    if (options.oif !== undefined && ns.link(options.oif)) {
      // The kernel assumes a destination is on-link when a bound socket finds no route.
      const nh: Nexthop = { dev: options.oif, weight: 1, onlink: true };
      const onLinkRoute: Route = { family: h.family, type: 'unicast', dst: { family: h.family, net: h.dstN, len: h.family === 4 ? 32 : 128 }, table: 0, tos: 0, proto: 0, scope: 253, metric: 0, nexthops: [nh], multipath: false };
      let next = setOut(d, options.oif);
      if (isZero(h.srcN)) {
        const src = selectSource(ns, onLinkRoute, nh, h.dstN);
        if (src) next = setSource(next, h.family, src);
      }
      return { branches: transmit(ns, next, onLinkRoute, nh, ONE, {}, 'sent') };
    }
    return single(branch(ONE, FAILURE_OUTCOME[res.reason], d, decided, { errno: res.errno, note: `${failureNote(res.reason, h.dst, res.rule, res.route)}; the sender gets ${res.errno}` }));
  }
  const decided = { ...(res.rule ? { rule: res.rule } : {}), route: res.route, table: res.table };
  const type = res.route.type;
  if (type === 'local' || type === 'broadcast' || type === 'anycast') {
    const src = isZero(h.srcN) ? (res.route.prefsrc ?? h.dst) : h.src;
    const next = setOut(setSource(d, h.family, src), 'lo');
    return single(branch(ONE, type === 'broadcast' ? 'broadcast' : 'local', next, decided, { outInterface: 'lo', source: src, note: `${h.dst} is local: looped back through lo` }));
  }
  if (type !== 'unicast') return single(branch(ONE, 'no-route', d, decided, { errno: 'EINVAL', note: `${type} route for ${h.dst}` }));
  const out: RouteBranch[] = [];
  for (const { nexthop, probability } of shares(res.nexthops)) {
    let next = setOut(d, nexthop.dev!);
    let source: string | undefined;
    if (isZero(h.srcN)) {
      source = selectSource(ns, res.route, nexthop, h.dstN);
      if (source) next = setSource(next, h.family, source);
    }
    out.push(...transmit(ns, next, res.route, nexthop, probability, decided, 'sent', source));
  }
  return { branches: out };
}

function shares(nexthops: readonly Nexthop[]): { nexthop: Nexthop; probability: Fraction }[] {
  return nexthops.length === 1 ? [{ nexthop: nexthops[0]!, probability: ONE }] : nexthopShares(nexthops);
}

function failureNote(reason: FibFailure, dst: string, rule: Rule | undefined, route: Route | undefined): string {
  if (route) return `${reason} route ${routeText(route)} matches ${dst}`;
  if (rule && rule.action !== 'lookup') return `rule ${rule.priority} (${rule.action}) matches ${dst}`;
  return `no route to ${dst}`;
}

function sourceErrno(check: string): Errno {
  return check === 'rp-filter' ? 'EXDEV' : 'EINVAL';
}

function sourceNote(check: string, src: string, iif: string): string {
  return check === 'rp-filter'
    ? `reverse-path filter: the route back to ${src} does not leave by ${iif}; dropped`
    : `martian source ${src} on ${iif}: dropped`;
}

/** What happens once a route picked `nexthop`: send on the link, or encapsulate for a tunnel. */
function transmit(ns: Namespace, d: Datagram, route: Route, nexthop: Nexthop, p: Fraction, decided: Decided, verb: string, source?: string): RouteBranch[] {
  const h = header(d);
  const dev = nexthop.dev!;
  const link = ns.link(dev);
  const nextHop = nexthop.via ?? h.dst;
  const mtu = route.mtu ?? link?.mtu;
  const common = { outInterface: dev, nextHop, ...(nexthop.via ? { gateway: nexthop.via } : {}), ...(source ? { source } : {}), ...(mtu !== undefined ? { mtu } : {}) };
  if (!link) return [branch(p, 'link-down', d, decided, { ...common, note: `${dev} does not exist` })];
  if (link.kind === 'dummy') return [branch(p, 'discarded', d, decided, { ...common, note: `${dev} is a dummy device: what it sends is dropped` })];
  if (link.kind === 'vxlan' || link.kind === 'ipip') return encapsulate(ns, d, link, nextHop, nexthop.via, p, decided, verb);
  return [branch(p, 'forward', d, decided, { ...common, note: `${verb} out ${dev} to ${nextHop}${nexthop.via ? ' (gateway)' : ' (directly connected)'}` })];
}

/** udp_flow_src_port: the kernel hashes the inner flow into the local port range; this hash is not the kernel's jhash. */
function flowSourcePort(p: Packet): number {
  const text = `${p.src}|${p.dst}|${p.proto}|${p.sport}|${p.dport}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return 32768 + (h % (60999 - 32768));
}

function encapsulate(ns: Namespace, d: Datagram, link: Link, nextHop: string, gateway: string | undefined, p: Fraction, decided: Decided, verb: string): RouteBranch[] {
  const h = header(d);
  const common = { outInterface: link.name, nextHop };
  if (d.outer) return [branch(p, 'discarded', d, decided, { ...common, note: `nested encapsulation through ${link.name} is not modelled` })];
  let remote: string;
  let lladdr: string | undefined;
  let vni: number | undefined;
  let dport = 0;
  let note: string;
  if (link.kind === 'vxlan') {
    const neigh = ns.neighbour(link.name, nextHop);
    if (!neigh?.lladdr) {
      const icmp = verb === 'forwarded' ? (h.family === 4 ? ICMP4.host : ICMP6.host) : undefined;
      return [branch(p, 'neighbour-unresolved', d, decided, { ...common, ...(icmp ? { icmp } : { errno: 'EHOSTUNREACH' as Errno }), note: `no neighbour entry for ${nextHop} on ${link.name}` })];
    }
    lladdr = neigh.lladdr;
    const entries = lladdr === undefined ? [] : ns.fdbFor(link.name, lladdr);
    const flood = ns.fdbFor(link.name, '00:00:00:00:00:00');
    const fdb = entries[0] ?? flood[0];
    if (!fdb) return [branch(p, 'fdb-miss', d, decided, { ...common, note: `no FDB entry for ${lladdr} on ${link.name}: dropped` })];
    remote = fdb.dst;
    vni = fdb.vni ?? link.vni;
    dport = fdb.port ?? link.dstport!;
    note = `${verb} into ${link.name}: ${nextHop} is ${lladdr}, FDB sends it to VTEP ${remote} (VNI ${vni}, UDP ${dport})${!entries[0] && flood.length > 1 ? `; flooded to ${flood.length} VTEPs, only the first is followed` : ''}`;
  } else {
    remote = link.remote ?? nextHop;
    note = `${verb} into ${link.name}: IP-in-IP to ${remote}`;
  }
  const r = parseAddr(remote);
  if (!r) return [branch(p, 'fdb-miss', d, decided, { ...common, note: `tunnel endpoint ${remote} is not an address` })];
  const local = link.local !== undefined ? parseAddr(link.local) : undefined;
  const zero: AddrN = r.family === 4 ? 0 : 0n;
  const outer: OuterHeader = {
    kind: link.kind as 'vxlan' | 'ipip',
    family: r.family,
    src: local ? formatAddr(r.family, local.n) : formatAddr(r.family, zero),
    srcN: local ? local.n : zero,
    dst: formatAddr(r.family, r.n),
    dstN: r.n,
    ttl: link.ttl || (link.kind === 'ipip' ? h.ttl : 64),
    ipProto: link.kind === 'vxlan' ? 17 : 4,
    sport: link.kind === 'vxlan' ? flowSourcePort(d.packet) : 0,
    dport,
    ...(vni !== undefined ? { vni } : {}),
    device: link.name,
  };
  const inner = { ...d, outer };
  const underlay = routeOutput(ns, inner, { ...(link.dev !== undefined ? { oif: link.dev } : {}), strictSource: false });
  return underlay.branches.map((b) => {
    const prob = mulFraction(p, b.probability);
    const ok = b.outcome === 'forward';
    // A tunnel that cannot send its outer packet drops it silently (tx error): no ICMP, no errno.
    const { icmp, errno, ...rest } = b;
    return {
      ...rest,
      ...(ok && icmp ? { icmp } : {}),
      ...(ok && errno ? { errno } : {}),
      probability: prob,
      probabilityValue: fractionValue(prob),
      ...(decided.rule ? { rule: decided.rule, ruleText: ruleText(decided.rule) } : {}),
      ...(decided.route ? { route: decided.route, routeText: routeText(decided.route) } : {}),
      ...(decided.table !== undefined ? { table: decided.table } : {}),
      encap: { device: link.name, kind: link.kind as 'vxlan' | 'ipip', innerNextHop: nextHop, ...(gateway ? { innerGateway: gateway } : {}), ...(lladdr ? { lladdr } : {}) },
      note: ok ? `${note}; outer ${outer.kind} packet ${b.note}` : `${note}; the outer packet cannot be sent (${b.note}): dropped by the tunnel`,
    };
  });
}

/**
 * What a tunnel endpoint does with a datagram delivered to this namespace: VXLAN on the UDP port
 * and VNI of a VXLAN link, IPIP to an IPIP link whose endpoints match. Undefined when it is not
 * tunnel traffic for this namespace.
 */
export function decapsulate(ns: Namespace, d: Datagram): { iif: string; datagram: Datagram } | undefined {
  const o = d.outer;
  if (!o) return undefined;
  for (const link of ns.links) {
    if (!link.up) continue;
    if (o.kind === 'vxlan' && link.kind === 'vxlan' && link.dstport === o.dport && (o.vni === undefined || link.vni === o.vni)) {
      return { iif: link.name, datagram: { packet: { ...d.packet, inInterface: link.name } } };
    }
    if (o.kind === 'ipip' && link.kind === 'ipip') {
      const remoteOk = link.remote === undefined || parseAddr(link.remote)?.n === o.srcN;
      const localOk = link.local === undefined || parseAddr(link.local)?.n === o.dstN;
      if (remoteOk && localOk) return { iif: link.name, datagram: { packet: { ...d.packet, inInterface: link.name } } };
    }
  }
  return undefined;
}

/** The outer header as a Packet (VXLAN only: Packet has no protocol 4), for netfilter evaluation of tunnel traffic. */
export function outerPacket(o: OuterHeader, mark = 0): Packet | undefined {
  if (o.ipProto !== 17) return undefined;
  return makePacket({ src: o.src, dst: o.dst, proto: 'udp', sport: o.sport, dport: o.dport, ttl: o.ttl, mark });
}

/** The step for a packet as it stands: arriving on `packet.inInterface`, or sent locally when it has none. */
export function routePacket(ns: Namespace, packet: Packet, options: OutputOptions & { readonly tos?: number } = {}): RouteStep {
  const d: Datagram = { packet, ...(options.tos !== undefined ? { tos: options.tos } : {}) };
  return packet.inInterface !== undefined ? routeInput(ns, d, packet.inInterface) : routeOutput(ns, d, options);
}
