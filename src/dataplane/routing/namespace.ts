// One network namespace (a node's host namespace or a pod's): links and addresses, routing tables,
// policy rules, neighbours, VXLAN FDB and the sysctls routing reads. Adding an address creates the
// routes the kernel creates (fib_add_ifaddr); taking a link down flushes the routes through it.
import {
  FAMILY_WIDTH,
  formatAddr,
  lastOf,
  maskAddr,
  parseAddr,
  parsePrefix,
  prefixContains,
  type AddrN,
  type Family,
  type Prefix,
} from './addr.js';
import { DEFAULT_MTU, VXLAN_DEFAULT_PORT, type IfAddress, type Link, type LinkSpec } from './links.js';
import {
  defaultScope,
  minScope,
  protoId,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_DEFAULT,
  RT_TABLE_LOCAL,
  RT_TABLE_MAIN,
  RTPROT_BOOT,
  RTPROT_KERNEL,
  scopeId,
  type Nexthop,
  type Route,
  type RouteMetric,
  type RouteType,
  type Rule,
  type RuleAction,
} from './model.js';
import { fibLookup, lookupTable, type Flow } from './fib.js';
import { RouteTable, type AddMode, type RouteSelector } from './table.js';


/**
 * Bumped by every change a frame's delivery depends on (links, their state and addresses,
 * neighbours, namespaces), in any namespace: caches of link-layer answers compare it.
 */
let linkLayerVersion = 0;

export function linkLayerChanges(): number {
  return linkLayerVersion;
}

export function linkLayerChanged(): void {
  linkLayerVersion++;
}

export interface Neighbour {
  readonly dev: string;
  readonly address: string;
  readonly lladdr?: string;
  readonly state: 'PERMANENT' | 'REACHABLE' | 'STALE' | 'NOARP' | 'FAILED' | 'INCOMPLETE';
}

/** A bridge FDB entry on a VXLAN device: frames for `mac` go to the VTEP at `dst`. */
export interface FdbEntry {
  readonly dev: string;
  readonly mac: string;
  readonly dst: string;
  readonly vni?: number;
  readonly port?: number;
}

/** Per-interface IPv4 settings (net.ipv4.conf.X.*). */
export interface Ipv4Conf {
  readonly forwarding?: boolean;
  /** 0 off, 1 strict, 2 loose. */
  readonly rpFilter?: 0 | 1 | 2;
  readonly acceptLocal?: boolean;
  readonly routeLocalnet?: boolean;
  readonly srcValidMark?: boolean;
}

export interface NamespaceOptions {
  /**
   * net.ipv4.ip_forward. Default true: every Kubernetes node needs it (kubeadm's preflight checks
   * it). A fresh kernel namespace starts with 0; pass false for pods.
   */
  readonly ipForward?: boolean;
  /** net.ipv4.conf.all.* (rp_filter 0 is the kernel default). */
  readonly all?: Ipv4Conf;
  /** Bring lo up with 127.0.0.1/8 and ::1 (what `ip link set lo up` does). Default true. */
  readonly loopback?: boolean;
}

export interface RouteSpec {
  /** `default`, `10.0.0.0/8`, `10.0.0.1`. */
  readonly dst: string;
  readonly type?: RouteType;
  readonly table?: number;
  readonly tos?: number;
  readonly proto?: number | string;
  readonly scope?: number | string;
  readonly metric?: number;
  readonly src?: string;
  readonly via?: string;
  readonly dev?: string;
  readonly onlink?: boolean;
  readonly nexthops?: readonly { readonly via?: string; readonly dev?: string; readonly weight?: number; readonly onlink?: boolean }[];
  readonly mtu?: number;
  readonly mtuLock?: boolean;
  readonly metrics?: readonly RouteMetric[];
  readonly pref?: 'low' | 'medium' | 'high';
  readonly from?: string;
}

export interface RuleSpec {
  readonly family?: Family;
  readonly priority?: number;
  readonly not?: boolean;
  readonly from?: string;
  readonly to?: string;
  readonly tos?: number;
  readonly fwmark?: number;
  readonly fwmask?: number;
  readonly iif?: string;
  readonly oif?: string;
  readonly ipproto?: number;
  readonly sport?: readonly [number, number];
  readonly dport?: readonly [number, number];
  readonly uidrange?: readonly [number, number];
  /** Default `lookup`. */
  readonly action?: RuleAction;
  /** For lookup; default main. */
  readonly table?: number;
  /** For goto. */
  readonly goto?: number;
  readonly suppressPrefixlength?: number;
  readonly suppressIfgroup?: number;
  readonly proto?: number;
}

export type Errno = 'EEXIST' | 'EINVAL' | 'ENODEV' | 'ENETDOWN' | 'ENETUNREACH' | 'ESRCH' | 'EHOSTUNREACH' | 'EACCES' | 'EXDEV';

/** A refused change, with the message iproute2 would print. */
export interface ChangeError {
  readonly ok: false;
  readonly errno: Errno;
  readonly message: string;
}
export type ChangeResult<T> = { readonly ok: true; readonly value: T } | ChangeError;

function fail(errno: Errno, message: string): ChangeError {
  return { ok: false, errno, message };
}

const ERRNO_TEXT: Record<Errno, string> = {
  EEXIST: 'File exists',
  EINVAL: 'Invalid argument',
  ENODEV: 'No such device',
  ENETDOWN: 'Network is down',
  ENETUNREACH: 'Network is unreachable',
  ESRCH: 'No such process',
  EHOSTUNREACH: 'No route to host',
  EACCES: 'Permission denied',
  EXDEV: 'Invalid cross-device link',
};

export function errnoText(e: Errno): string {
  return ERRNO_TEXT[e];
}

interface MutableLink extends Omit<Link, 'addresses' | 'up'> {
  up: boolean;
  addresses: IfAddress[];
}

const NO_FDB: readonly FdbEntry[] = [];

const BUILT_ROUTES = new WeakMap<RouteSpec, ChangeResult<Route>>();

function buildRouteFrom(spec: RouteSpec): ChangeResult<Route> {
  const type = spec.type ?? 'unicast';
  const gw = spec.via ?? spec.nexthops?.find((n) => n.via)?.via;
  const family: Family | undefined =
    spec.dst === 'default' ? (gw ? parseAddr(gw)?.family : undefined) ?? (spec.src ? parseAddr(spec.src)?.family : undefined) ?? 4 : parsePrefix(spec.dst)?.family;
  if (!family) return fail('EINVAL', `Error: any valid prefix is expected rather than "${spec.dst}".`);
  const dst = parsePrefix(spec.dst, family, true);
  if (!dst) return fail('EINVAL', 'Error: Invalid prefix for given prefix length.');
  const canon = (t: string | undefined): string | undefined => {
    if (t === undefined) return undefined;
    const a = parseAddr(t);
    return a && a.family === family ? formatAddr(family, a.n) : undefined;
  };
  const reject = type === 'blackhole' || type === 'unreachable' || type === 'prohibit' || type === 'throw';
  const nexthops: Nexthop[] = [];
  const hops = spec.nexthops ?? (reject && !spec.dev && !spec.via ? [] : [{ via: spec.via, dev: spec.dev, weight: 1, onlink: spec.onlink }]);
  for (const h of hops) {
    const via = canon(h.via);
    if (h.via !== undefined && via === undefined) return fail('EINVAL', `Error: inet address is expected rather than "${h.via}".`);
    const weight = h.weight ?? 1;
    if (!Number.isInteger(weight) || weight < 1 || weight > 256) return fail('EINVAL', `Error: "${weight}" is not a valid weight.`);
    nexthops.push({ ...(via !== undefined ? { via } : {}), ...(h.dev !== undefined ? { dev: h.dev } : {}), weight, onlink: h.onlink ?? false });
  }
  if (reject) nexthops.length = 0;
  const proto = spec.proto === undefined ? RTPROT_BOOT : typeof spec.proto === 'number' ? spec.proto : protoId(spec.proto);
  if (proto === undefined) return fail('EINVAL', `Error: argument "${String(spec.proto)}" is wrong: "protocol" value is invalid`);
  const scope = spec.scope === undefined ? defaultScope(type, gw !== undefined) : typeof spec.scope === 'number' ? spec.scope : scopeId(spec.scope);
  if (scope === undefined) return fail('EINVAL', `Error: argument "${String(spec.scope)}" is wrong: invalid scope value`);
  const prefsrc = canon(spec.src);
  if (spec.src !== undefined && prefsrc === undefined) return fail('EINVAL', `Error: inet address is expected rather than "${spec.src}".`);
  let from: Prefix | undefined;
  if (spec.from !== undefined) {
    from = parsePrefix(spec.from, family, true);
    if (!from) return fail('EINVAL', `Error: invalid "from" prefix "${spec.from}".`);
  }
  const route: Route = {
    family,
    type,
    dst,
    ...(from ? { from } : {}),
    table: spec.table ?? RT_TABLE_MAIN,
    tos: spec.tos ?? 0,
    proto,
    scope,
    metric: spec.metric ?? (family === 6 ? 1024 : 0),
    ...(prefsrc !== undefined ? { prefsrc } : {}),
    nexthops,
    multipath: spec.nexthops !== undefined && !reject,
    ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
    ...(spec.mtuLock ? { mtuLock: true } : {}),
    ...(spec.metrics?.length ? { metrics: spec.metrics } : {}),
    ...(family === 6 ? { pref: spec.pref ?? 'medium' } : {}),
  };
  return { ok: true, value: route };
}


/** Rule priorities and tables the kernel starts with (fib_default_rules_init, fib6_rules_net_init). */
function defaultRules(family: Family): Rule[] {
  const base = { family, invert: false, tos: 0, action: 'lookup' as const, proto: RTPROT_KERNEL };
  const rules: Rule[] = [
    { ...base, priority: 0, table: RT_TABLE_LOCAL },
    { ...base, priority: 32766, table: RT_TABLE_MAIN },
  ];
  if (family === 4) rules.push({ ...base, priority: 32767, table: RT_TABLE_DEFAULT });
  return rules;
}

export class Namespace {
  private readonly linkMap = new Map<string, MutableLink>();
  private linkList: Link[] | undefined;
  private nextIndex = 1;
  private readonly tableMap = new Map<number, RouteTable>();
  private readonly ruleLists: Record<Family, Rule[]> = { 4: defaultRules(4), 6: defaultRules(6) };
  /** Neighbours by `dev address`; FDB entries by `dev mac` (a MAC can have several VTEPs). Maps keep insertion order. */
  private readonly neighbourMap = new Map<string, Neighbour>();
  private readonly fdbMap = new Map<string, FdbEntry[]>();
  private readonly conf = new Map<string, Ipv4Conf>();
  /** Bridges that have had a port: from then on their carrier needs an up port. */
  private readonly bridgesWithPorts = new Set<string>();
  private allConf: Ipv4Conf;
  ipForward: boolean;
  /** Rules were changed: the kernel stops using its merged local+main fast path (fib_unmerge). */
  hasCustomRules: Record<Family, boolean> = { 4: false, 6: false };
  /** A `local` route was added by hand: source validation can no longer check addresses only. */
  hasCustomLocalRoutes = false;

  constructor(
    readonly name: string,
    options: NamespaceOptions = {},
  ) {
    this.ipForward = options.ipForward ?? true;
    this.allConf = options.all ?? {};
    this.tableMap.set(RT_TABLE_LOCAL, new RouteTable(RT_TABLE_LOCAL));
    this.tableMap.set(RT_TABLE_MAIN, new RouteTable(RT_TABLE_MAIN));
    const loUp = options.loopback ?? true;
    this.addLink({ name: 'lo', kind: 'loopback', up: loUp, txqlen: 1000 });
    if (loUp) {
      this.addAddress('lo', '127.0.0.1/8');
      this.addAddress('lo', '::1/128');
    }
  }

  // ------------------------------------------------------------------ links

  get links(): readonly Link[] {
    // Links are added with increasing indexes and Maps keep insertion order: already sorted.
    return (this.linkList ??= [...this.linkMap.values()]);
  }

  link(name: string): Link | undefined {
    return this.linkMap.get(name);
  }

  /** Create a link (`ip link add`); the kernel's defaults fill what the spec leaves out. */
  addLink(spec: LinkSpec): ChangeResult<Link> {
    if (this.linkMap.has(spec.name)) return fail('EEXIST', `RTNETLINK answers: File exists`);
    if (spec.master !== undefined) {
      const br = this.linkMap.get(spec.master);
      if (!br || br.kind !== 'bridge') return fail('EINVAL', `Device "${spec.master}" is not a bridge`);
    }
    const link: MutableLink = {
      ...spec,
      index: this.nextIndex++,
      mtu: spec.mtu ?? DEFAULT_MTU[spec.kind],
      up: spec.up ?? true,
      addresses: [],
      ...(spec.kind === 'vxlan' ? { dstport: spec.dstport ?? VXLAN_DEFAULT_PORT, vni: spec.vni ?? 1 } : {}),
    };
    this.linkMap.set(spec.name, link);
    this.linkList = undefined;
    if (spec.master !== undefined) this.bridgesWithPorts.add(spec.master);
    linkLayerChanged();
    return { ok: true, value: link };
  }

  /** `ip link set X up|down`. Down flushes the routes through X; up restores the address routes. */
  setLinkUp(name: string, up: boolean): ChangeResult<Link> {
    const link = this.linkMap.get(name);
    if (!link) return fail('ENODEV', `Cannot find device "${name}"`);
    if (link.up === up) return { ok: true, value: link };
    link.up = up;
    linkLayerChanged();
    if (!up) {
      // fib_sync_down_dev: nexthops through the link die, except those of local (host-scope) routes;
      // a route whose nexthops all died is flushed.
      for (const t of this.tableMap.values()) {
        t.deleteWhere((r) => r.type !== 'local' && r.scope !== RT_SCOPE_HOST && r.nexthops.length > 0 && r.nexthops.every((n) => n.dev === name));
      }
    } else {
      for (const a of link.addresses) this.addAddressRoutes(link, a, false);
    }
    return { ok: true, value: link };
  }

  /** Change attributes that do not affect routing state (MTU, MAC, master, segment…). */
  updateLink(name: string, change: Partial<Omit<LinkSpec, 'name' | 'kind' | 'up'>>): ChangeResult<Link> {
    const link = this.linkMap.get(name);
    if (!link) return fail('ENODEV', `Cannot find device "${name}"`);
    if (change.master !== undefined) {
      const br = this.linkMap.get(change.master);
      if (!br || br.kind !== 'bridge') return fail('EINVAL', `Device "${change.master}" is not a bridge`);
      this.bridgesWithPorts.add(change.master);
    }
    Object.assign(link, change);
    if ('master' in change && change.master === undefined) delete (link as { master?: string }).master;
    linkLayerChanged();
    return { ok: true, value: link };
  }

  /** Remove a link with its addresses and every route through it. */
  deleteLink(name: string): ChangeResult<Link> {
    const link = this.linkMap.get(name);
    if (!link || link.kind === 'loopback') return fail('ENODEV', `Cannot find device "${name}"`);
    for (const t of this.tableMap.values()) t.deleteWhere((r) => r.nexthops.some((n) => n.dev === name));
    this.linkMap.delete(name);
    this.linkList = undefined;
    for (const l of this.linkMap.values()) if (l.master === name) delete (l as { master?: string }).master;
    linkLayerChanged();
    return { ok: true, value: link };
  }

  // ------------------------------------------------------------------ addresses

  /**
   * `ip addr add ADDR/LEN dev X [brd B|+] [scope S] [metric M] [noprefixroute]`. Creates the local
   * route (table local), and when X is up the subnet route (main) and, for IPv4 subnets wider than
   * /31, the broadcast route, as fib_add_ifaddr does.
   */
  addAddress(
    dev: string,
    cidr: string,
    opts: { brd?: string; scope?: number | string; metric?: number; noprefixroute?: boolean; label?: string } = {},
  ): ChangeResult<IfAddress> {
    const link = this.linkMap.get(dev);
    if (!link) return fail('ENODEV', `Cannot find device "${dev}"`);
    const slash = cidr.indexOf('/');
    const a = parseAddr(slash < 0 ? cidr : cidr.slice(0, slash));
    if (!a) return fail('EINVAL', `invalid address "${cidr}"`);
    const width = FAMILY_WIDTH[a.family];
    const len = slash < 0 ? width : Number(cidr.slice(slash + 1));
    if (!Number.isInteger(len) || len < 0 || len > width) return fail('EINVAL', `invalid prefix length in "${cidr}"`);
    if (link.addresses.some((x) => x.family === a.family && x.n === a.n && x.len === len)) return fail('EEXIST', 'RTNETLINK answers: File exists');
    const net = maskAddr(a.family, a.n, len);
    const secondary = a.family === 4 && link.addresses.some((x) => x.family === 4 && !x.secondary && x.len === len && maskAddr(4, x.n, len) === net);
    let brd: string | undefined;
    if (a.family === 4 && opts.brd !== undefined) brd = opts.brd === '+' ? formatAddr(4, lastOf({ family: 4, net, len })) : opts.brd;
    const loopbackAddr = a.family === 4 ? ((a.n as number) >>> 24) === 127 : a.n === 1n;
    const scope = opts.scope !== undefined ? (typeof opts.scope === 'number' ? opts.scope : (scopeId(opts.scope) ?? 0)) : loopbackAddr ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE;
    const addr: IfAddress = {
      family: a.family,
      address: formatAddr(a.family, a.n),
      n: a.n,
      len,
      ...(brd !== undefined ? { brd } : {}),
      scope,
      secondary,
      ...(opts.label !== undefined ? { label: opts.label } : {}),
      noprefixroute: opts.noprefixroute ?? false,
      ...(opts.metric !== undefined ? { metric: opts.metric } : {}),
    };
    link.addresses.push(addr);
    linkLayerChanged();
    this.addAddressRoutes(link, addr, true);
    return { ok: true, value: addr };
  }

  /** `ip addr del`: removes the address and the routes it generated (its secondaries go with a primary, promote_secondaries=0). */
  deleteAddress(dev: string, cidr: string): ChangeResult<IfAddress> {
    const link = this.linkMap.get(dev);
    if (!link) return fail('ENODEV', `Cannot find device "${dev}"`);
    const p = parsePrefix(cidr);
    const slash = cidr.indexOf('/');
    const a = parseAddr(slash < 0 ? cidr : cidr.slice(0, slash));
    if (!p || !a) return fail('EINVAL', `invalid address "${cidr}"`);
    const i = link.addresses.findIndex((x) => x.family === a.family && x.n === a.n && x.len === p.len);
    if (i < 0) return fail('EINVAL', 'RTNETLINK answers: Cannot assign requested address');
    const gone = link.addresses[i]!;
    const victims = [gone];
    if (!gone.secondary && gone.family === 4) {
      const net = maskAddr(4, gone.n, gone.len);
      victims.push(...link.addresses.filter((x) => x.secondary && x.family === 4 && x.len === gone.len && maskAddr(4, x.n, x.len) === net));
    }
    link.addresses = link.addresses.filter((x) => !victims.includes(x));
    linkLayerChanged();
    const origins = new Set(victims.map((v) => `${dev}/${v.address}/${v.len}`));
    for (const t of this.tableMap.values()) t.deleteWhere((r) => r.origin !== undefined && origins.has(r.origin));
    return { ok: true, value: gone };
  }

  private addAddressRoutes(link: MutableLink, a: IfAddress, withLocal: boolean): void {
    const origin = `${link.name}/${a.address}/${a.len}`;
    const family = a.family;
    const local = this.table(RT_TABLE_LOCAL);
    const main = this.table(RT_TABLE_MAIN);
    const width = FAMILY_WIDTH[family];
    const net = maskAddr(family, a.n, a.len);
    const base = { family, tos: 0, proto: RTPROT_KERNEL, multipath: false, origin } as const;
    const nh = (dev: string): Nexthop[] => [{ dev, weight: 1, onlink: false }];
    if (family === 6) {
      // addrconf: the address as a local route (metric 0) and its prefix in main (metric 256).
      if (withLocal) {
        local.add({ ...base, type: 'local', dst: { family, net: a.n, len: width }, table: RT_TABLE_LOCAL, scope: RT_SCOPE_UNIVERSE, metric: 0, nexthops: nh(link.name), pref: 'medium' }, 'append');
      }
      if (link.up && a.len < width && !a.noprefixroute) {
        main.add({ ...base, type: 'unicast', dst: { family, net, len: a.len }, table: RT_TABLE_MAIN, scope: RT_SCOPE_UNIVERSE, metric: a.metric ?? 256, nexthops: nh(link.name), pref: 'medium' }, 'append');
      }
      return;
    }
    // The primary address of the subnet gives every route its preferred source.
    const prim = a.secondary ? link.addresses.find((x) => x.family === 4 && !x.secondary && x.len === a.len && maskAddr(4, x.n, x.len) === net) : a;
    const prefsrc = (prim ?? a).address;
    const host = (n: AddrN): Prefix => ({ family: 4, net: n, len: 32 });
    if (withLocal || !local.routesFor(host(a.n)).some((r) => r.origin === origin)) {
      local.add({ ...base, type: 'local', dst: host(a.n), table: RT_TABLE_LOCAL, scope: RT_SCOPE_HOST, metric: 0, prefsrc, nexthops: nh(link.name) }, 'append');
    }
    if (!link.up) return;
    if (a.brd !== undefined && a.brd !== '255.255.255.255') {
      const b = parseAddr(a.brd);
      if (b) local.add({ ...base, type: 'broadcast', dst: host(b.n), table: RT_TABLE_LOCAL, scope: RT_SCOPE_LINK, metric: 0, prefsrc, nexthops: nh(link.name) }, 'append');
    }
    if (((net as number) >>> 24) !== 0 && !a.secondary && (net !== a.n || a.len < 32)) {
      if (!a.noprefixroute) {
        const loop = link.kind === 'loopback';
        (loop ? local : main).add(
          {
            ...base,
            type: loop ? 'local' : 'unicast',
            dst: { family: 4, net, len: a.len },
            table: loop ? RT_TABLE_LOCAL : RT_TABLE_MAIN,
            scope: loop ? RT_SCOPE_HOST : RT_SCOPE_LINK,
            metric: a.metric ?? 0,
            prefsrc,
            nexthops: nh(link.name),
          },
          'append',
        );
      }
      if (a.len < 31) {
        local.add({ ...base, type: 'broadcast', dst: host(lastOf({ family: 4, net, len: a.len })), table: RT_TABLE_LOCAL, scope: RT_SCOPE_LINK, metric: 0, prefsrc, nexthops: nh(link.name) }, 'append');
      }
    }
  }

  /** Every address of the namespace, in link order. */
  addresses(family?: Family): { link: Link; address: IfAddress }[] {
    const out: { link: Link; address: IfAddress }[] = [];
    for (const link of this.links) for (const address of link.addresses) if (!family || address.family === family) out.push({ link, address });
    return out;
  }

  /** The link holding this exact address, if any. */
  linkWithAddress(family: Family, n: AddrN): Link | undefined {
    for (const link of this.linkMap.values()) if (link.addresses.some((a) => a.family === family && a.n === n)) return link;
    return undefined;
  }

  // ------------------------------------------------------------------ tables and routes

  /** The table with this id, created on first use as the kernel does (fib_new_table). */
  table(id: number): RouteTable {
    let t = this.tableMap.get(id);
    if (!t) {
      t = new RouteTable(id);
      this.tableMap.set(id, t);
    }
    return t;
  }

  /** The table if it exists (lookups do not create tables). */
  existingTable(id: number): RouteTable | undefined {
    return this.tableMap.get(id);
  }

  /** Table ids in the order `ip route show table all` dumps them (the kernel's table hash: id mod 256). */
  get tableIds(): number[] {
    return [...this.tableMap.keys()].sort((a, b) => (a & 255) - (b & 255) || a - b);
  }

  /**
   * `ip route add|append|prepend|replace`, with the kernel's checks: the device exists and is up,
   * the gateway is reachable through a link-scope route (unless `onlink`), the preferred source is
   * a local address. `validate: false` loads routes as a dump lists them.
   */
  addRoute(spec: RouteSpec, mode: AddMode = 'add', validate = true): ChangeResult<Route> {
    const built = this.buildRoute(spec);
    if (!built.ok) return built;
    let route = built.value;
    if (validate) {
      const checked = this.checkRoute(route);
      if (!checked.ok) return checked;
      route = checked.value;
    }
    const r = this.table(route.table).add(route, mode);
    if (r === 'EEXIST') return fail('EEXIST', 'RTNETLINK answers: File exists');
    if (route.type === 'local' && route.proto !== RTPROT_KERNEL && route.family === 4) this.hasCustomLocalRoutes = true;
    return { ok: true, value: route };
  }

  /** Insert an already-built route (from the parser) without checks. */
  insertRoute(route: Route, mode: AddMode = 'append'): ChangeResult<Route> {
    if (this.table(route.table).add(route, mode) === 'EEXIST') return fail('EEXIST', 'RTNETLINK answers: File exists');
    if (route.type === 'local' && route.proto !== RTPROT_KERNEL && route.family === 4) this.hasCustomLocalRoutes = true;
    return { ok: true, value: route };
  }

  /** `ip route del`: the first route of the table matching what the selector names. */
  deleteRoute(sel: RouteSelector & { table?: number }): ChangeResult<Route> {
    const t = this.tableMap.get(sel.table ?? RT_TABLE_MAIN);
    const gone = t?.delete(sel);
    return gone ? { ok: true, value: gone } : fail('ESRCH', 'RTNETLINK answers: No such process');
  }

  buildRoute(spec: RouteSpec): ChangeResult<Route> {
    // A pure function of the spec: one Route object per spec, shared by every namespace that adds it.
    let r = BUILT_ROUTES.get(spec);
    if (!r) BUILT_ROUTES.set(spec, (r = buildRouteFrom(spec)));
    return r;
  }

  /** The kernel's checks (fib_create_info, fib_check_nh); a gateway route without `dev` gets the gateway's device. */
  private checkRoute(route: Route): ChangeResult<Route> {
    if (route.scope < minScope(route.type)) return fail('EINVAL', 'Error: Invalid scope.');
    if (route.prefsrc !== undefined) {
      const a = parseAddr(route.prefsrc)!;
      const isDst = route.type === 'local' && route.dst.net === a.n;
      if (!isDst && !this.linkWithAddress(route.family, a.n)) return fail('EINVAL', 'Error: Invalid prefsrc address.');
    }
    const nexthops: Nexthop[] = [];
    for (const nh of route.nexthops) {
      nexthops.push(nh);
      const dev = nh.dev !== undefined ? this.linkMap.get(nh.dev) : undefined;
      if (nh.dev !== undefined && !dev) return fail('ENODEV', `Cannot find device "${nh.dev}"`);
      if (route.scope === RT_SCOPE_HOST) {
        if (!dev) return fail('ENODEV', 'Error: Nexthop device required.');
        continue;
      }
      if (nh.via === undefined) {
        if (!dev) return fail('EINVAL', 'Error: Device for nexthop is not up.');
        if (!dev.up) return fail('ENETDOWN', 'Error: Nexthop device is not up.');
        continue;
      }
      const gw = parseAddr(nh.via)!;
      if (nh.onlink) {
        if (route.scope >= RT_SCOPE_LINK) return fail('EINVAL', 'Error: Nexthop has invalid scope.');
        if (!dev) return fail('ENODEV', 'Error: Nexthop device required for onlink.');
        if (!dev.up) return fail('ENETDOWN', 'Error: Nexthop device is not up.');
        continue;
      }
      // fib_check_nh_v4_gw: the gateway must be reachable by a link- or host-scope route (via dev if given).
      const via = this.gatewayRoute(route, gw.n, nh.dev);
      if (!via) return fail('EINVAL', 'Error: Nexthop has invalid gateway.');
      const outName = nh.dev ?? via.nexthops[0]?.dev;
      const outDev = outName !== undefined ? this.linkMap.get(outName) : undefined;
      if (outDev && !outDev.up && via.type !== 'local') return fail('ENETDOWN', 'Error: Nexthop device is not up.');
      if (nh.dev === undefined && outName !== undefined) nexthops[nexthops.length - 1] = { ...nh, dev: outName };
    }
    return { ok: true, value: { ...route, nexthops } };
  }

  private gatewayRoute(route: Route, gw: AddrN, dev: string | undefined): Route | undefined {
    if (route.family === 6) {
      // ip6_route_check_nh: a link-local gateway needs only the device; others a connected route (no gateway).
      if (dev !== undefined && ((gw as bigint) >> 118n) === 0x3fan) return { ...route, nexthops: [{ dev, weight: 1, onlink: false }] };
      const res = fibLookup(this, { family: 6, dst: gw, ...(dev !== undefined ? { oif: dev } : {}) });
      if (!res.ok || (res.route.type !== 'unicast' && res.route.type !== 'local') || res.nexthops.some((n) => n.via !== undefined)) return undefined;
      return { ...res.route, nexthops: res.nexthops };
    }
    const flow: Flow = { family: route.family, dst: gw, scope: Math.max(route.scope + 1, RT_SCOPE_LINK), ...(dev !== undefined ? { oif: dev } : {}) };
    let res = route.table !== RT_TABLE_MAIN ? lookupTable(this, route.table, flow) : undefined;
    if (!res || !res.ok) res = fibLookup(this, flow);
    if (!res.ok || (res.route.type !== 'unicast' && res.route.type !== 'local')) return undefined;
    return { ...res.route, nexthops: res.nexthops };
  }

  // ------------------------------------------------------------------ rules

  rules(family: Family): readonly Rule[] {
    return this.ruleLists[family];
  }

  /** `ip rule add`. Without a priority the kernel takes the second rule's priority minus one. */
  addRule(spec: RuleSpec): ChangeResult<Rule> {
    const family: Family = spec.family ?? (spec.from ? parsePrefix(spec.from)?.family : undefined) ?? (spec.to ? parsePrefix(spec.to)?.family : undefined) ?? 4;
    const list = this.ruleLists[family];
    const action = spec.action ?? (spec.goto !== undefined ? 'goto' : 'lookup');
    let priority = spec.priority;
    if (priority === undefined) {
      const second = list[1];
      priority = second && second.priority > 0 ? second.priority - 1 : 0;
    }
    const sel = (text: string | undefined): Prefix | undefined | null => {
      if (text === undefined || text === 'all') return undefined;
      const slash = text.indexOf('/');
      const a = parseAddr(slash < 0 ? text : text.slice(0, slash));
      const p = parsePrefix(text, family);
      if (!a || !p || a.family !== family) return null;
      return { family, net: a.n, len: p.len };
    };
    const src = sel(spec.from);
    const dst = sel(spec.to);
    if (src === null || dst === null) return fail('EINVAL', 'Error: an inet prefix is expected.');
    if (action === 'goto' && (spec.goto === undefined || spec.goto <= priority)) return fail('EINVAL', 'Error: Backward goto not supported.');
    const rule: Rule = {
      family,
      priority,
      invert: spec.not ?? false,
      ...(src ? { src } : {}),
      ...(dst ? { dst } : {}),
      tos: spec.tos ?? 0,
      ...(spec.fwmark !== undefined || spec.fwmask !== undefined ? { fwmark: spec.fwmark ?? 0, fwmask: spec.fwmask ?? 0xffffffff } : {}),
      ...(spec.iif !== undefined ? { iif: spec.iif } : {}),
      ...(spec.oif !== undefined ? { oif: spec.oif } : {}),
      ...(spec.uidrange ? { uidrange: spec.uidrange } : {}),
      ...(spec.ipproto !== undefined ? { ipproto: spec.ipproto } : {}),
      ...(spec.sport ? { sport: spec.sport } : {}),
      ...(spec.dport ? { dport: spec.dport } : {}),
      action,
      ...(action === 'lookup' ? { table: spec.table ?? RT_TABLE_MAIN } : {}),
      ...(action === 'goto' ? { target: spec.goto! } : {}),
      ...(spec.suppressPrefixlength !== undefined ? { suppressPrefixlength: spec.suppressPrefixlength } : {}),
      ...(spec.suppressIfgroup !== undefined ? { suppressIfgroup: spec.suppressIfgroup } : {}),
      proto: spec.proto ?? 0,
    };
    return this.insertRule(rule);
  }

  /** Insert a built rule after the last rule with a priority at or below its own. */
  insertRule(rule: Rule, allowDuplicate = false): ChangeResult<Rule> {
    const list = this.ruleLists[rule.family];
    if (!allowDuplicate && list.some((r) => sameRule(r, rule))) return fail('EEXIST', 'RTNETLINK answers: File exists');
    let at = 0;
    while (at < list.length && list[at]!.priority <= rule.priority) at++;
    list.splice(at, 0, rule);
    this.hasCustomRules[rule.family] = true;
    return { ok: true, value: rule };
  }

  /** `ip rule del`: the first rule matching every field the spec sets. */
  deleteRule(spec: RuleSpec): ChangeResult<Rule> {
    const family = spec.family ?? 4;
    const list = this.ruleLists[family];
    const i = list.findIndex(
      (r) =>
        (spec.priority === undefined || r.priority === spec.priority) &&
        (spec.table === undefined || r.table === spec.table) &&
        (spec.from === undefined || (r.src && formatSel(r.src) === spec.from)) &&
        (spec.to === undefined || (r.dst && formatSel(r.dst) === spec.to)) &&
        (spec.iif === undefined || r.iif === spec.iif) &&
        (spec.fwmark === undefined || r.fwmark === spec.fwmark),
    );
    if (i < 0) return fail('ENETUNREACH', 'RTNETLINK answers: No such file or directory');
    const [gone] = list.splice(i, 1);
    this.hasCustomRules[family] = true;
    return { ok: true, value: gone! };
  }

  /** Replace all rules of a family (loading `ip rule show` output). */
  setRules(family: Family, rules: readonly Rule[]): void {
    this.ruleLists[family] = [...rules].sort((a, b) => a.priority - b.priority);
    const defaults = defaultRules(family);
    this.hasCustomRules[family] = rules.length !== defaults.length || rules.some((r, i) => !sameRule(r, defaults[i]!));
  }

  // ------------------------------------------------------------------ neighbours, FDB, sysctls

  get neighbours(): readonly Neighbour[] {
    return [...this.neighbourMap.values()];
  }

  /** `ip neigh replace ADDR lladdr MAC dev X nud permanent`. */
  addNeighbour(n: Neighbour): void {
    this.neighbourMap.set(`${n.dev} ${n.address}`, n);
    linkLayerChanged();
  }

  neighbour(dev: string, address: string): Neighbour | undefined {
    return this.neighbourMap.get(`${dev} ${address}`);
  }

  get fdb(): readonly FdbEntry[] {
    return [...this.fdbMap.values()].flat();
  }

  /** FDB entries of device `dev` for `mac`, in the order they were added. */
  fdbFor(dev: string, mac: string): readonly FdbEntry[] {
    return this.fdbMap.get(`${dev} ${mac}`) ?? NO_FDB;
  }

  /** `bridge fdb append MAC dev vxlan dst IP`. */
  addFdb(e: FdbEntry): void {
    const key = `${e.dev} ${e.mac}`;
    const list = this.fdbMap.get(key);
    if (!list) return void this.fdbMap.set(key, [e]);
    const i = list.findIndex((x) => x.dst === e.dst);
    if (i >= 0) list[i] = e;
    else list.push(e);
  }

  /** net.ipv4.conf.DEV.* ; `all` sets net.ipv4.conf.all.*. */
  setConf(dev: string, conf: Ipv4Conf): void {
    if (dev === 'all') this.allConf = { ...this.allConf, ...conf };
    else this.conf.set(dev, { ...this.conf.get(dev), ...conf });
  }

  /** net.ipv4.conf.all.* */
  get all(): Ipv4Conf {
    return this.allConf;
  }

  /** Effective settings for a link: rp_filter is max(all, dev); accept_local/route_localnet are or-ed. */
  confOf(dev: string): Required<Ipv4Conf> {
    const d = this.conf.get(dev) ?? {};
    return {
      forwarding: d.forwarding ?? this.ipForward,
      rpFilter: Math.max(this.allConf.rpFilter ?? 0, d.rpFilter ?? 0) as 0 | 1 | 2,
      acceptLocal: !!(this.allConf.acceptLocal || d.acceptLocal),
      routeLocalnet: !!(this.allConf.routeLocalnet || d.routeLocalnet),
      srcValidMark: !!(this.allConf.srcValidMark || d.srcValidMark),
    };
  }

  /** Whether a link has a carrier: a veth needs its peer up, a bridge an up port; `peerUp` answers for peers in other namespaces. */
  carrier(link: Link, peerUp?: (ns: string, name: string) => boolean | undefined): boolean {
    if (!link.up) return false;
    if (link.kind === 'veth' && link.peer) {
      if (link.peer.namespace === this.name) return this.linkMap.get(link.peer.name)?.up ?? false;
      return peerUp?.(link.peer.namespace, link.peer.name) ?? true;
    }
    if (link.kind === 'bridge') {
      if (!this.bridgesWithPorts.has(link.name)) return true;
      return [...this.linkMap.values()].some((l) => l.master === link.name && l.up && this.carrier(l, peerUp));
    }
    return true;
  }

  /** Whether a bridge has had a port (a bridge that never had one reports state UNKNOWN with a carrier). */
  bridgeHadPorts(name: string): boolean {
    return this.bridgesWithPorts.has(name);
  }

  /** Whether `n` is one of this namespace's addresses (what `inet_addr_type == RTN_LOCAL` asks for address-only checks). */
  isLocalAddress(family: Family, n: AddrN): boolean {
    return this.linkWithAddress(family, n) !== undefined;
  }

  /** Whether `n` lies in a subnet assigned to link `dev` (inet_addr_onlink). */
  onLink(dev: string, family: Family, n: AddrN): boolean {
    const link = this.linkMap.get(dev);
    return !!link?.addresses.some((a) => a.family === family && prefixContains({ family, net: maskAddr(family, a.n, a.len), len: a.len }, n));
  }
}

function formatSel(p: Prefix): string {
  const a = formatAddr(p.family, p.net);
  return p.len === FAMILY_WIDTH[p.family] ? a : `${a}/${p.len}`;
}

function samePrefix(a: Prefix | undefined, b: Prefix | undefined): boolean {
  if (!a || !b) return a === b;
  return a.len === b.len && a.net === b.net;
}

function samePair(a: readonly [number, number] | undefined, b: readonly [number, number] | undefined): boolean {
  if (!a || !b) return a === b;
  return a[0] === b[0] && a[1] === b[1];
}

function sameRule(a: Rule, b: Rule): boolean {
  return (
    a.priority === b.priority &&
    a.invert === b.invert &&
    samePrefix(a.src, b.src) &&
    samePrefix(a.dst, b.dst) &&
    a.tos === b.tos &&
    a.fwmark === b.fwmark &&
    a.fwmask === b.fwmask &&
    a.iif === b.iif &&
    a.oif === b.oif &&
    a.ipproto === b.ipproto &&
    samePair(a.sport, b.sport) &&
    samePair(a.dport, b.dport) &&
    samePair(a.uidrange, b.uidrange) &&
    a.action === b.action &&
    a.table === b.table &&
    a.target === b.target &&
    a.suppressPrefixlength === b.suppressPrefixlength
  );
}
