// Text in iproute2's exact output format (checked against iproute2 6.1): `ip route show`,
// `ip rule show`, `ip -4 addr`. Route lines end with a space (iproute2 prints "word " pieces),
// except IPv6 lines, which end in `pref medium`; rule lines have no trailing space.
import { formatPrefix, type Family, type Prefix } from './addr.js';
import { linkFlags, operState, type Link } from './links.js';
import {
  ipprotoName,
  METRIC_ORDER,
  NEXTHOP_FLAG_ORDER,
  protoName,
  RT_TABLE_MAIN,
  RTPROT_BOOT,
  RTPROT_KERNEL,
  scopeName,
  tableName,
  type Nexthop,
  type NexthopFlag,
  type Route,
  type Rule,
  type TableNames,
} from './model.js';
import type { Namespace } from './namespace.js';

export interface RoutePrintOptions {
  /** Print `table X` for tables other than main (what `ip route show table all` does). */
  readonly showTable?: boolean;
  readonly tableNames?: TableNames;
  /** Link state, to print the `linkdown` / `dead` flags the kernel keeps on nexthops. */
  readonly linkState?: (dev: string) => { readonly up: boolean; readonly carrier: boolean } | undefined;
}

function hex2(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}

function nexthopFlags(nh: Nexthop, opts: RoutePrintOptions, localRoute: boolean): NexthopFlag[] {
  const set = new Set<NexthopFlag>(nh.flags ?? []);
  if (nh.onlink) set.add('onlink');
  const state = nh.dev !== undefined && !localRoute ? opts.linkState?.(nh.dev) : undefined;
  if (state) {
    if (!state.up) set.add('dead');
    if (!state.up || !state.carrier) set.add('linkdown');
  }
  return NEXTHOP_FLAG_ORDER.filter((f) => set.has(f));
}

/** One route as `ip route show` prints it (multipath routes span several lines, no final newline). */
export function printRoute(r: Route, opts: RoutePrintOptions = {}): string {
  let s = '';
  if (r.type !== 'unicast') s += `${r.type} `;
  s += `${formatPrefix(r.dst, 'default')} `;
  if (r.from && r.from.len > 0) s += `from ${formatPrefix(r.from)} `;
  if (r.nhid !== undefined) s += `nhid ${r.nhid} `;
  if (r.tos) s += `tos ${hex2(r.tos)} `;
  const reject = r.type === 'blackhole' || r.type === 'unreachable' || r.type === 'prohibit' || r.type === 'throw';
  const single = !r.multipath ? r.nexthops[0] : undefined;
  if (single?.via !== undefined) s += `via ${single.via} `;
  if (single?.dev !== undefined) s += `dev ${single.dev} `;
  else if (reject && r.family === 6) s += 'dev lo ';
  if (opts.showTable && r.table !== RT_TABLE_MAIN) s += `table ${tableName(r.table, opts.tableNames)} `;
  if (r.proto !== RTPROT_BOOT) s += `proto ${protoName(r.proto)} `;
  if (r.scope !== 0) s += `scope ${scopeName(r.scope)} `;
  if (r.prefsrc !== undefined) s += `src ${r.prefsrc} `;
  if (r.metric !== 0 || r.family === 6) s += `metric ${r.metric} `;
  const flags = new Set<NexthopFlag>(r.routeFlags ?? []);
  if (single) for (const f of nexthopFlags(single, opts, r.type === 'local')) flags.add(f);
  for (const f of NEXTHOP_FLAG_ORDER) if (flags.has(f)) s += `${f} `;
  if (r.realms !== undefined) s += `realm ${r.realms} `;
  for (const c of r.cacheInfo ?? []) s += `${c} `;
  const metrics = [...(r.mtu !== undefined ? [{ name: 'mtu', lock: !!r.mtuLock, value: String(r.mtu) }] : []), ...(r.metrics ?? [])];
  metrics.sort((a, b) => METRIC_ORDER.indexOf(a.name) - METRIC_ORDER.indexOf(b.name));
  for (const m of metrics) s += `${m.name} ${m.lock ? 'lock ' : ''}${m.value} `;
  if (r.pref !== undefined) s += `pref ${r.pref}`;
  if (r.multipath) {
    for (const nh of r.nexthops) {
      s += '\n\tnexthop ';
      if (nh.via !== undefined) s += `via ${nh.via} `;
      if (nh.dev !== undefined) s += `dev ${nh.dev} `;
      s += `weight ${nh.weight} `;
      for (const f of nexthopFlags(nh, opts, false)) s += `${f} `;
    }
  }
  return s;
}

export interface ShowRoutesOptions {
  /** A table id, or 'all' (default: main, as `ip route show`). */
  readonly table?: number | 'all';
  /** Default: both families for `table all`, IPv4 otherwise (as `ip route show` without -6). */
  readonly family?: Family;
  readonly tableNames?: TableNames;
}

/** `ip [-4|-6] route show [table X|all]`, newline-terminated. */
export function showRoutes(ns: Namespace, opts: ShowRoutesOptions = {}): string {
  const table = opts.table ?? RT_TABLE_MAIN;
  const families: Family[] = opts.family ? [opts.family] : table === 'all' ? [4, 6] : [4];
  const linkState = (dev: string) => {
    const l = ns.link(dev);
    return l ? { up: l.up, carrier: ns.carrier(l) } : undefined;
  };
  const print = { showTable: table === 'all', ...(opts.tableNames ? { tableNames: opts.tableNames } : {}), linkState };
  const lines: string[] = [];
  for (const family of families) {
    const ids = table === 'all' ? ns.tableIds : [table];
    for (const id of ids) {
      const t = ns.existingTable(id);
      if (!t) continue;
      for (const r of t.routes(family)) lines.push(printRoute(r, print));
    }
  }
  return lines.map((l) => `${l}\n`).join('');
}

/** Rule selectors keep the address as written (host bits too) and print /len unless it is a host prefix. */
function formatSelector(p: Prefix): string {
  return formatPrefix(p);
}

export interface RulePrintOptions {
  readonly tableNames?: TableNames;
  /** Rules of the same family, to mark a `goto` without a target `[unresolved]`. */
  readonly rules?: readonly Rule[];
  /** Whether a link exists, to mark `iif`/`oif` of missing links `[detached]`. */
  readonly linkExists?: (name: string) => boolean;
}

/** One rule as `ip rule show` prints it. */
export function printRule(r: Rule, opts: RulePrintOptions = {}): string {
  let s = `${r.priority}:\t`;
  if (r.invert) s += 'not ';
  s += r.src ? `from ${formatSelector(r.src)}` : 'from all';
  if (r.dst) s += ` to ${formatSelector(r.dst)}`;
  if (r.tos) s += ` tos ${hex2(r.tos)}`;
  if (r.fwmark !== undefined) {
    s += ` fwmark ${r.fwmark === 0 ? '0' : `0x${r.fwmark.toString(16)}`}`;
    if (r.fwmask !== undefined && r.fwmask !== 0xffffffff) s += `/${r.fwmask === 0 ? '0' : `0x${r.fwmask.toString(16)}`}`;
  }
  const detached = (name: string) => (opts.linkExists && !opts.linkExists(name) ? ' [detached]' : '');
  if (r.iif !== undefined) s += ` iif ${r.iif}${detached(r.iif)}`;
  if (r.oif !== undefined) s += ` oif ${r.oif}${detached(r.oif)}`;
  if (r.uidrange) s += ` uidrange ${r.uidrange[0]}-${r.uidrange[1]}`;
  if (r.ipproto !== undefined) s += ` ipproto ${ipprotoName(r.ipproto)}`;
  const range = (x: readonly [number, number]) => (x[0] === x[1] ? `${x[0]}` : `${x[0]}-${x[1]}`);
  if (r.sport) s += ` sport ${range(r.sport)}`;
  if (r.dport) s += ` dport ${range(r.dport)}`;
  if (r.action === 'lookup') {
    s += ` lookup ${tableName(r.table!, opts.tableNames)}`;
    if (r.suppressPrefixlength !== undefined && r.suppressPrefixlength >= 0) s += ` suppress_prefixlength ${r.suppressPrefixlength}`;
    if (r.suppressIfgroup !== undefined && r.suppressIfgroup >= 0) s += ` suppress_ifgroup ${r.suppressIfgroup}`;
  }
  if (r.realms !== undefined) s += ` realms ${r.realms}`;
  if (r.action === 'goto') {
    s += ` goto ${r.target}`;
    if (opts.rules && !opts.rules.some((x) => x.priority === r.target)) s += ' [unresolved]';
  } else if (r.action === 'nop') s += ' nop';
  else if (r.action !== 'lookup') s += ` ${r.action}`;
  if (r.proto && r.proto !== RTPROT_KERNEL) s += ` proto ${protoName(r.proto)}`;
  return s;
}

/** `ip [-6] rule show`, newline-terminated. */
export function showRules(ns: Namespace, family: Family = 4, tableNames?: TableNames): string {
  const rules = ns.rules(family);
  const opts = { rules, linkExists: (n: string) => !!ns.link(n), ...(tableNames ? { tableNames } : {}) };
  return rules.map((r) => `${printRule(r, opts)}\n`).join('');
}

export interface AddrPrintOptions {
  readonly family?: Family;
  /** ifindex of a veth peer in another namespace (printed `@ifN`). */
  readonly peerIndex?: (namespace: string, name: string) => number | undefined;
  /** Whether a veth peer in another namespace is up (for NO-CARRIER). */
  readonly peerUp?: (namespace: string, name: string) => boolean | undefined;
  /** The name `ip netns` knows a peer's namespace by (printed `link-netns NAME`); default the model's name. */
  readonly netnsName?: (namespace: string) => string;
}

function linkHeader(ns: Namespace, l: Link, opts: AddrPrintOptions): string {
  let name = l.name;
  if (l.kind === 'veth' && l.peer) {
    name += l.peer.namespace === ns.name ? `@${l.peer.name}` : `@if${opts.peerIndex?.(l.peer.namespace, l.peer.name) ?? 0}`;
  } else if (l.kind === 'ipip') name += l.dev !== undefined ? `@${l.dev}` : '@NONE';
  const carrier = ns.carrier(l, opts.peerUp);
  const peerDown = l.kind === 'veth' && l.up && !!l.peer && l.peer.namespace === ns.name && ns.link(l.peer.name)?.up === false;
  const qdisc = !l.up ? 'noop' : (l.qdisc ?? (l.kind === 'ether' ? 'mq' : 'noqueue'));
  const txqlen = l.txqlen ?? 1000;
  return (
    `${l.index}: ${name}: <${linkFlags(l, carrier, peerDown).join(',')}> mtu ${l.mtu} qdisc ${qdisc}` +
    (l.master !== undefined ? ` master ${l.master}` : '') +
    ` state ${operState(l, carrier, ns.bridgeHadPorts(l.name))} group default` +
    (txqlen ? ` qlen ${txqlen}` : '') +
    (l.kind === 'veth' && l.peer && l.peer.namespace !== ns.name ? ` link-netns ${opts.netnsName?.(l.peer.namespace) ?? l.peer.namespace}` : '')
  );
}

/** `ip -4 addr` (or `-6`): links with addresses of the family, each address with its lifetimes. */
export function showAddresses(ns: Namespace, opts: AddrPrintOptions = {}): string {
  const family = opts.family ?? 4;
  let out = '';
  for (const l of ns.links) {
    const addrs = l.addresses.filter((a) => a.family === family);
    if (addrs.length === 0) continue;
    out += `${linkHeader(ns, l, opts)}\n`;
    for (const a of addrs) {
      out += `    ${family === 4 ? 'inet' : 'inet6'} ${a.address}/${a.len}`;
      if (a.brd !== undefined) out += ` brd ${a.brd}`;
      if (a.metric !== undefined) out += ` metric ${a.metric}`;
      out += ` scope ${scopeName(a.scope)}`;
      if (a.secondary) out += ' secondary';
      if (a.noprefixroute) out += ' noprefixroute';
      if (family === 4) out += ` ${a.label ?? l.name}`;
      out += '\n       valid_lft forever preferred_lft forever\n';
    }
  }
  return out;
}
