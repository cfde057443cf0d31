// One routing table (`ip route ... table N`): routes of both families in prefix tries. Routes for
// the same prefix are kept in the kernel's alias order (fib_find_alias): TOS descending, then
// metric ascending, then insertion order; that order is both the lookup and the dump order.
import { compareAddr, prefixEquals, type AddrN, type Family, type Prefix } from './addr.js';
import type { Nexthop, Route, RouteMetric } from './model.js';
import { createPrefixMap, type PrefixMap } from './trie.js';

/** `ip route add` (fails if a route with the same prefix, TOS and metric exists), `append`, `prepend`, `replace`. */
export type AddMode = 'add' | 'append' | 'prepend' | 'replace';

export interface Candidate {
  readonly len: number;
  readonly routes: readonly Route[];
}

/** What `ip route del` names; unset fields match anything. */
export interface RouteSelector {
  readonly family: Family;
  readonly dst: Prefix;
  readonly tos?: number;
  readonly metric?: number;
  readonly type?: Route['type'];
  readonly proto?: number;
  readonly scope?: number;
  readonly prefsrc?: string;
  readonly dev?: string;
  readonly via?: string;
}

function nexthopEquals(a: Nexthop, b: Nexthop): boolean {
  return a.via === b.via && a.dev === b.dev && a.weight === b.weight && a.onlink === b.onlink;
}

function metricsEqual(a: readonly RouteMetric[] = [], b: readonly RouteMetric[] = []): boolean {
  return a.length === b.length && a.every((m, i) => m.name === b[i]!.name && m.lock === b[i]!.lock && m.value === b[i]!.value);
}

/** The kernel shares one fib_info between routes equal in everything but prefix, TOS and type. */
export function sameRouteInfo(a: Route, b: Route): boolean {
  return (
    a.type === b.type &&
    a.scope === b.scope &&
    a.proto === b.proto &&
    a.metric === b.metric &&
    a.prefsrc === b.prefsrc &&
    a.mtu === b.mtu &&
    !!a.mtuLock === !!b.mtuLock &&
    a.nexthops.length === b.nexthops.length &&
    a.nexthops.every((n, i) => nexthopEquals(n, b.nexthops[i]!)) &&
    metricsEqual(a.metrics, b.metrics)
  );
}

export class RouteTable {
  private readonly v4: PrefixMap<number, Route[]> = createPrefixMap<Route[]>(4);
  private readonly v6: PrefixMap<bigint, Route[]> = createPrefixMap<Route[]>(6);
  private count = 0;

  constructor(readonly id: number) {}

  get size(): number {
    return this.count;
  }

  private map(family: Family): PrefixMap<AddrN, Route[]> {
    return (family === 4 ? this.v4 : this.v6) as PrefixMap<AddrN, Route[]>;
  }

  /** Add a route; returns 'EEXIST' as `ip route add` would ("File exists"). */
  add(route: Route, mode: AddMode = 'add'): 'EEXIST' | undefined {
    const map = this.map(route.family);
    const list = map.get(route.dst.net, route.dst.len) ?? [];
    // Position of the first alias that sorts at or after (tos, metric).
    let first = list.findIndex((r) => r.tos < route.tos || (r.tos === route.tos && r.metric >= route.metric));
    if (first < 0) first = list.length;
    let end = first;
    while (end < list.length && list[end]!.tos === route.tos && list[end]!.metric === route.metric) end++;
    const same = list.slice(first, end);
    if (same.length > 0) {
      if (mode === 'add') return 'EEXIST';
      const exact = same.findIndex((r) => r.type === route.type && sameRouteInfo(r, route));
      if (mode === 'replace') {
        if (exact >= 0) return undefined;
        list[first] = route;
        map.set(route.dst.net, route.dst.len, list);
        return undefined;
      }
      if (exact >= 0) return 'EEXIST';
    }
    const at = mode === 'append' ? end : first;
    list.splice(at, 0, route);
    map.set(route.dst.net, route.dst.len, list);
    this.count++;
    return undefined;
  }

  /** Remove the first route the selector names (`ip route del`); returns it, or undefined ("No such process"). */
  delete(sel: RouteSelector): Route | undefined {
    const map = this.map(sel.family);
    const list = map.get(sel.dst.net, sel.dst.len);
    if (!list) return undefined;
    const i = list.findIndex((r) => routeMatches(r, sel));
    if (i < 0) return undefined;
    const [gone] = list.splice(i, 1);
    if (list.length === 0) map.delete(sel.dst.net, sel.dst.len);
    this.count--;
    return gone;
  }

  /** Remove every route the predicate selects; returns how many. */
  deleteWhere(pred: (r: Route) => boolean): Route[] {
    const removed: Route[] = [];
    for (const family of [4, 6] as const) {
      const map = this.map(family);
      for (const e of map.entries()) {
        const keep = e.value.filter((r) => !pred(r));
        if (keep.length === e.value.length) continue;
        removed.push(...e.value.filter(pred));
        if (keep.length) map.set(e.key, e.len, keep);
        else map.delete(e.key, e.len);
      }
    }
    this.count -= removed.length;
    return removed;
  }

  /** Routes for exactly this prefix, in alias order. */
  routesFor(dst: Prefix): readonly Route[] {
    return this.map(dst.family).get(dst.net, dst.len) ?? [];
  }

  /** Prefixes holding `addr`, longest first, each with its routes in alias order. */
  candidates(family: Family, addr: AddrN): Candidate[] {
    return this.map(family)
      .matches(addr)
      .map((e) => ({ len: e.len, routes: e.value }));
  }

  /** `candidates` without the copy: trie entries, `value` holding the routes. */
  matchEntries(family: Family, addr: AddrN): readonly { readonly len: number; readonly value: readonly Route[] }[] {
    return this.map(family).matches(addr);
  }

  /** The longest-prefix routes for `addr` (no FIB semantics: for quick questions and benchmarks). */
  longest(family: Family, addr: AddrN): readonly Route[] | undefined {
    return this.map(family).lookup(addr);
  }

  /**
   * Routes in the order the kernel dumps them: IPv4 by address, the longer of two prefixes with
   * the same address first (fib_trie leaf order); IPv6 in post-order of its radix tree, a prefix
   * after every prefix inside it (fib6_walk).
   */
  routes(family?: Family): Route[] {
    const out: Route[] = [];
    if (family !== 6) {
      const e = this.v4.entries().sort((a, b) => compareAddr(a.key, b.key) || b.len - a.len);
      for (const x of e) out.push(...x.value);
    }
    if (family !== 4) {
      const e = this.v6.entries().sort((a, b) => comparePostOrder6(a.key, a.len, b.key, b.len));
      for (const x of e) out.push(...x.value);
    }
    return out;
  }
}

const ALL6 = (1n << 128n) - 1n;

function covers6(key: bigint, len: number, other: bigint, otherLen: number): boolean {
  if (otherLen < len) return false;
  const mask = ALL6 ^ ((1n << BigInt(128 - len)) - 1n);
  return (other & mask) === key;
}

function comparePostOrder6(ak: bigint, al: number, bk: bigint, bl: number): number {
  if (ak === bk && al === bl) return 0;
  if (covers6(ak, al, bk, bl)) return 1;
  if (covers6(bk, bl, ak, al)) return -1;
  return ak < bk ? -1 : 1;
}

export function routeMatches(r: Route, sel: RouteSelector): boolean {
  if (!prefixEquals(r.dst, sel.dst)) return false;
  if (sel.tos !== undefined && r.tos !== sel.tos) return false;
  if (sel.metric !== undefined && r.metric !== sel.metric) return false;
  if (sel.type !== undefined && r.type !== sel.type) return false;
  if (sel.proto !== undefined && r.proto !== sel.proto) return false;
  if (sel.scope !== undefined && r.scope !== sel.scope) return false;
  if (sel.prefsrc !== undefined && r.prefsrc !== sel.prefsrc) return false;
  if (sel.dev !== undefined && !r.nexthops.some((n) => n.dev === sel.dev)) return false;
  if (sel.via !== undefined && !r.nexthops.some((n) => n.via === sel.via)) return false;
  return true;
}
