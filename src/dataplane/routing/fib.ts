// The FIB lookup: policy rules (fib_rules_lookup), then longest-prefix match in a table with the
// kernel's fallbacks (fib_table_lookup backtracks to shorter prefixes when no route of a prefix is
// usable), reject routes and `throw`; plus source-address selection and reverse-path validation.
import { FAMILY_WIDTH, formatAddr, maskAddr, prefixContains, type AddrN, type Family } from './addr.js';
import { parseIPv4 } from '../../net/ip.js';
import { fraction, type Fraction } from './fraction.js';
import {
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_TABLE_DEFAULT,
  RT_TABLE_LOCAL,
  RT_TABLE_MAIN,
  type Nexthop,
  type Route,
  type Rule,
} from './model.js';
import type { Errno, Namespace } from './namespace.js';
import type { RouteTable } from './table.js';

/** What a route lookup keys on (struct flowi4/flowi6). */
export interface Flow {
  readonly family: Family;
  readonly dst: AddrN;
  /** Unset: the source is not chosen yet (locally generated traffic). */
  readonly src?: AddrN;
  /** Input interface; unset for locally generated traffic (the kernel uses lo). */
  readonly iif?: string;
  /** Output interface the sender is bound to (SO_BINDTODEVICE, `ip route get … oif X`). */
  readonly oif?: string;
  readonly mark?: number;
  readonly tos?: number;
  readonly ipproto?: number;
  readonly sport?: number;
  readonly dport?: number;
  readonly uid?: number;
  /** flowi4_scope: routes of a narrower scope are skipped (gateway checks ask for link scope). */
  readonly scope?: number;
}

export type FibFailure = 'no-route' | 'unreachable' | 'prohibit' | 'blackhole';

export type FibResult =
  | {
      readonly ok: true;
      /** The rule that decided (for the kernel's merged local+main fast path: the default rule of the table). */
      readonly rule?: Rule;
      readonly table: number;
      readonly route: Route;
      readonly prefixLen: number;
      /** Usable nexthops of the route (alive, and on `oif` when the flow names one). */
      readonly nexthops: readonly Nexthop[];
    }
  | {
      readonly ok: false;
      readonly errno: Errno;
      readonly reason: FibFailure;
      readonly rule?: Rule;
      readonly table?: number;
      readonly route?: Route;
    };

type TableResult =
  | { readonly kind: 'found'; readonly route: Route; readonly table: number; readonly prefixLen: number; readonly nexthops: readonly Nexthop[] }
  | { readonly kind: 'error'; readonly errno: Errno; readonly reason: FibFailure; readonly route: Route; readonly table: number }
  | { readonly kind: 'again'; readonly route?: Route };

const REJECT: Partial<Record<Route['type'], { errno: Errno; reason: FibFailure }>> = {
  blackhole: { errno: 'EINVAL', reason: 'blackhole' },
  unreachable: { errno: 'EHOSTUNREACH', reason: 'unreachable' },
  prohibit: { errno: 'EACCES', reason: 'prohibit' },
};

/** A nexthop is dead when its link is gone or down; local routes keep theirs (host scope). */
function nexthopAlive(ns: Namespace, route: Route, nh: Nexthop): boolean {
  if (nh.dev === undefined) return true;
  const link = ns.link(nh.dev);
  if (!link) return false;
  return link.up || route.type === 'local' || route.scope === RT_SCOPE_HOST;
}

/**
 * fib_table_lookup over one table, or over several merged into one trie (the kernel keeps local and
 * main in one trie until rules change: then local routes win at equal prefix length only).
 */
function tableLookup(ns: Namespace, tables: readonly RouteTable[], flow: Flow): TableResult {
  let merged: readonly PrefixRoutes[] = tables[0]?.matchEntries(flow.family, flow.dst) ?? [];
  for (let i = 1; i < tables.length; i++) merged = mergeLongestFirst(merged, tables[i]!.matchEntries(flow.family, flow.dst));
  const tos = (flow.tos ?? 0) & 0xfc;
  for (const cand of merged) {
    for (const route of cand.value) {
      if (route.tos && (route.tos & 0xfc) !== tos) continue;
      if (route.from && !prefixContains(route.from, flow.src ?? (flow.family === 4 ? 0 : 0n))) continue;
      if (flow.scope !== undefined && route.scope < flow.scope) continue;
      const reject = REJECT[route.type];
      if (reject) return { kind: 'error', ...reject, route, table: route.table };
      if (route.type === 'throw') return { kind: 'again', route };
      const usable =
        route.nexthops.length === 1
          ? nexthopAlive(ns, route, route.nexthops[0]!) && (flow.oif === undefined || route.nexthops[0]!.dev === flow.oif)
            ? route.nexthops
            : []
          : route.nexthops.filter((nh) => nexthopAlive(ns, route, nh) && (flow.oif === undefined || nh.dev === flow.oif));
      if (usable.length === 0) continue;
      return { kind: 'found', route, table: route.table, prefixLen: cand.len, nexthops: usable };
    }
  }
  return { kind: 'again' };
}

type PrefixRoutes = { readonly len: number; readonly value: readonly Route[] };

/** Two longest-first match lists as one, longest first; at equal length the earlier table's first. */
function mergeLongestFirst(a: readonly PrefixRoutes[], b: readonly PrefixRoutes[]): readonly PrefixRoutes[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out: PrefixRoutes[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]!.len >= b[j]!.len)) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}

function inRange(v: number | undefined, r: readonly [number, number] | undefined): boolean {
  return !r || (v !== undefined && v >= r[0] && v <= r[1]);
}

/** fib_rule_match: every selector must hold; `not` inverts the whole answer. */
export function ruleMatches(rule: Rule, flow: Flow): boolean {
  return rule.invert !== ruleSelectorsMatch(rule, flow);
}

function ruleSelectorsMatch(rule: Rule, flow: Flow): boolean {
  if (rule.iif !== undefined && rule.iif !== (flow.iif ?? 'lo')) return false;
  if (rule.oif !== undefined && rule.oif !== flow.oif) return false;
  if (rule.fwmark !== undefined && (((rule.fwmark ^ (flow.mark ?? 0)) & (rule.fwmask ?? 0xffffffff)) >>> 0) !== 0) return false;
  if (!inRange(flow.uid ?? 0, rule.uidrange)) return false;
  const zero = flow.family === 4 ? 0 : 0n;
  if (rule.src && !prefixContains({ ...rule.src, net: maskAddr(flow.family, rule.src.net, rule.src.len) }, flow.src ?? zero)) return false;
  if (rule.dst && !prefixContains({ ...rule.dst, net: maskAddr(flow.family, rule.dst.net, rule.dst.len) }, flow.dst)) return false;
  if (rule.tos && (rule.tos & 0xfc) !== ((flow.tos ?? 0) & 0xfc)) return false;
  if (rule.ipproto !== undefined && rule.ipproto !== flow.ipproto) return false;
  if (!inRange(flow.sport, rule.sport) || !inRange(flow.dport, rule.dport)) return false;
  return true;
}

const RULE_ACTION_ERROR: Partial<Record<Rule['action'], { errno: Errno; reason: FibFailure }>> = {
  blackhole: { errno: 'EINVAL', reason: 'blackhole' },
  unreachable: { errno: 'ENETUNREACH', reason: 'unreachable' },
  prohibit: { errno: 'EACCES', reason: 'prohibit' },
};

function found(r: Extract<TableResult, { kind: 'found' }>, rule: Rule | undefined): FibResult {
  return { ok: true, ...(rule ? { rule } : {}), table: r.table, route: r.route, prefixLen: r.prefixLen, nexthops: r.nexthops };
}

/** fib_table_lookup in one table (undefined when the table does not exist). */
export function lookupTable(ns: Namespace, id: number, flow: Flow): FibResult | undefined {
  const t = ns.existingTable(id);
  if (!t) return undefined;
  const r = tableLookup(ns, [t], flow);
  if (r.kind === 'found') return found(r, undefined);
  if (r.kind === 'error') return { ok: false, errno: r.errno, reason: r.reason, route: r.route, table: r.table };
  return { ok: false, errno: 'ENETUNREACH', reason: 'no-route', ...(r.route ? { route: r.route } : {}) };
}

/** The route a packet of this flow takes: `ip route get`, without the side decisions of input/output. */
export function fibLookup(ns: Namespace, flow: Flow): FibResult {
  const rules = ns.rules(flow.family);
  if (flow.family === 4 && !ns.hasCustomRules[4]) {
    // fib_lookup's fast path: one lookup in main (merged with local), then in default if it exists.
    const tables = [ns.existingTable(RT_TABLE_LOCAL), ns.existingTable(RT_TABLE_MAIN)].filter((t): t is RouteTable => !!t);
    let r = tableLookup(ns, tables, flow);
    const dflt = ns.existingTable(RT_TABLE_DEFAULT);
    if (r.kind !== 'found' && dflt && dflt.size > 0) r = tableLookup(ns, [dflt], flow);
    if (r.kind === 'found') return found(r, rules.find((x) => x.action === 'lookup' && x.table === r.table));
    if (r.kind === 'error') return { ok: false, errno: r.errno, reason: r.reason, route: r.route, table: r.table, ...ruleOf(rules, r.table) };
    return { ok: false, errno: 'ENETUNREACH', reason: 'no-route' };
  }
  for (let i = 0; i < rules.length; i++) {
    let rule = rules[i]!;
    for (;;) {
      if (!ruleMatches(rule, flow)) break;
      if (rule.action === 'goto') {
        const target = rules.findIndex((x) => x.priority === rule.target);
        if (target < 0) break; // unresolved goto: carry on with the next rule
        i = target;
        rule = rules[target]!;
        continue;
      }
      if (rule.action === 'nop') break;
      const err = RULE_ACTION_ERROR[rule.action];
      if (err) return { ok: false, ...err, rule };
      const table = ns.existingTable(rule.table!);
      if (!table) break;
      const r = tableLookup(ns, [table], flow);
      if (r.kind === 'found') {
        if (suppressed(ns, rule, r)) break;
        return found(r, rule);
      }
      if (r.kind === 'error') return { ok: false, errno: r.errno, reason: r.reason, rule, route: r.route, table: r.table };
      break;
    }
  }
  return { ok: false, errno: 'ENETUNREACH', reason: 'no-route' };
}

function ruleOf(rules: readonly Rule[], table: number): { rule?: Rule } {
  const rule = rules.find((x) => x.action === 'lookup' && x.table === table);
  return rule ? { rule } : {};
}

/** fib4_rule_suppress: `suppress_prefixlength N` refuses routes of prefix length N or shorter. */
function suppressed(ns: Namespace, rule: Rule, r: Extract<TableResult, { kind: 'found' }>): boolean {
  if (rule.suppressPrefixlength !== undefined && rule.suppressPrefixlength >= 0 && r.prefixLen <= rule.suppressPrefixlength) return true;
  if (rule.suppressIfgroup !== undefined && rule.suppressIfgroup >= 0) {
    const dev = r.nexthops[0]?.dev;
    const group = dev !== undefined ? (ns.link(dev)?.group ?? 0) : undefined;
    if (group === rule.suppressIfgroup) return true;
  }
  return false;
}

/**
 * How flows spread over a multipath route: the kernel hashes each flow into a range split in
 * proportion to the weights of the live nexthops (fib_rebalance), so a nexthop's share is
 * weight / total weight.
 */
export function nexthopShares(nexthops: readonly Nexthop[]): { nexthop: Nexthop; probability: Fraction }[] {
  const total = nexthops.reduce((s, n) => s + n.weight, 0);
  return nexthops.map((nexthop) => ({ nexthop, probability: fraction(BigInt(nexthop.weight), BigInt(total)) }));
}

/**
 * The source address the kernel picks for traffic leaving through `dev` (inet_select_addr): the
 * route's `src` if it has one, else the first primary address of `dev` within the nexthop scope
 * (one on the gateway's subnet preferred), else the first suitable address of any link.
 */
export function selectSource(ns: Namespace, route: Route, nh: Nexthop | undefined, dst: AddrN): string | undefined {
  const family = route.family;
  if (route.prefsrc !== undefined) return route.prefsrc;
  if (route.type === 'local' || route.type === 'broadcast') return formatAddr(family, dst);
  const dev = nh?.dev !== undefined ? ns.link(nh.dev) : undefined;
  if (family === 6) return selectSource6(ns, dev?.name, dst);
  const gw = nh?.via !== undefined ? parseV4(nh.via) : undefined;
  const scope = gw !== undefined ? RT_SCOPE_LINK : RT_SCOPE_HOST;
  const localnet = dev && ns.confOf(dev.name).routeLocalnet ? RT_SCOPE_LINK : RT_SCOPE_HOST;
  let first: string | undefined;
  if (dev) {
    for (const a of dev.addresses) {
      if (a.family !== 4 || a.secondary) continue;
      if (Math.min(a.scope, localnet) > scope) continue;
      if (gw === undefined || prefixContains({ family: 4, net: maskAddr(4, a.n, a.len), len: a.len }, gw)) return a.address;
      first ??= a.address;
    }
  }
  if (first) return first;
  for (const l of ns.links) {
    for (const a of l.addresses) if (a.family === 4 && !a.secondary && a.scope !== RT_SCOPE_LINK && a.scope <= scope) return a.address;
  }
  return undefined;
}

function parseV4(text: string): number | undefined {
  return parseIPv4(text);
}

/** Simplified RFC 6724: a global address of the out link sharing the longest prefix with the destination, else any global address. */
function selectSource6(ns: Namespace, dev: string | undefined, dst: AddrN): string | undefined {
  const width = FAMILY_WIDTH[6];
  const common = (n: bigint): number => {
    const x = n ^ (dst as bigint);
    return x === 0n ? width : width - x.toString(2).length;
  };
  const pick = (addrs: { n: AddrN; address: string; scope: number }[]): string | undefined => {
    let best: { address: string; c: number } | undefined;
    for (const a of addrs) {
      const c = common(a.n as bigint);
      if (!best || c > best.c) best = { address: a.address, c };
    }
    return best?.address;
  };
  const usable = (l: { addresses: readonly { family: Family; n: AddrN; address: string; scope: number }[] }) =>
    l.addresses.filter((a) => a.family === 6 && a.n !== 1n && !((a.n as bigint) >> 118n === 0x3fan));
  const link = dev !== undefined ? ns.link(dev) : undefined;
  if (link) {
    const own = pick(usable(link));
    if (own) return own;
  }
  for (const l of ns.links) {
    const a = pick(usable(l));
    if (a) return a;
  }
  return undefined;
}

export type SourceCheck = 'ok' | 'martian-source' | 'rp-filter';

/**
 * fib_validate_source: with rp_filter off and no custom rules or local routes, only a source that is
 * one of our own addresses is refused (martian); otherwise the source is looked up as a destination
 * arriving from the forward route's output link. Strict mode (1) wants that route to leave by the
 * input link; loose mode (2) any unicast route. IPv6 has no rp_filter sysctl (it uses netfilter's rpfilter).
 */
export function validateSource(ns: Namespace, flow: Flow & { readonly iif: string }, oif: string | undefined): SourceCheck {
  if (flow.family !== 4) return 'ok';
  const src = flow.src ?? 0;
  const conf = ns.confOf(flow.iif);
  const rpf = conf.rpFilter;
  if (rpf === 0 && oif !== flow.iif) {
    if (conf.acceptLocal) return 'ok';
    if (!(ns.hasCustomLocalRoutes || ns.hasCustomRules[4])) return ns.isLocalAddress(4, src) ? 'martian-source' : 'ok';
  }
  const reverse: Flow = {
    family: 4,
    dst: src,
    src: flow.dst,
    iif: oif ?? 'lo',
    tos: flow.tos ?? 0,
    mark: conf.srcValidMark ? (flow.mark ?? 0) : 0,
  };
  const lastResort: SourceCheck = rpf ? 'rp-filter' : 'ok';
  const res = fibLookup(ns, reverse);
  if (!res.ok) return lastResort;
  if (res.route.type !== 'unicast' && !(res.route.type === 'local' && conf.acceptLocal)) return 'martian-source';
  const devMatch = res.route.nexthops.some((n) => n.dev === flow.iif) || (res.route.type === 'local' && flow.iif === 'lo');
  if (devMatch) return 'ok';
  const inLink = ns.link(flow.iif);
  if (!inLink || !inLink.addresses.some((a) => a.family === 4)) return lastResort;
  if (rpf === 1) return 'rp-filter';
  return 'ok';
}
