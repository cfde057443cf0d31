// The data the Linux FIB holds, in iproute2's vocabulary: routes (`ip route`), policy rules
// (`ip rule`), and the numeric tables of names iproute2 prints for tables, protocols and scopes.
import type { Family, Prefix } from './addr.js';

export const RT_TABLE_UNSPEC = 0;
export const RT_TABLE_DEFAULT = 253;
export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;

/** Route scopes (rtm_scope): the kernel compares them numerically. */
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_SITE = 200;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const RT_SCOPE_NOWHERE = 255;

export const RTPROT_UNSPEC = 0;
export const RTPROT_KERNEL = 2;
export const RTPROT_BOOT = 3;
export const RTPROT_STATIC = 4;

export type RouteType =
  | 'unicast'
  | 'local'
  | 'broadcast'
  | 'anycast'
  | 'multicast'
  | 'blackhole'
  | 'unreachable'
  | 'prohibit'
  | 'throw'
  | 'nat';

export const ROUTE_TYPES: readonly RouteType[] = [
  'unicast',
  'local',
  'broadcast',
  'anycast',
  'multicast',
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
  'nat',
];

/** Per-nexthop flags as iproute2 prints them (print_rt_flags order). */
export type NexthopFlag = 'dead' | 'onlink' | 'pervasive' | 'offload' | 'trap' | 'notify' | 'linkdown' | 'unresolved' | 'rt_offload' | 'rt_trap' | 'rt_offload_failed';
export const NEXTHOP_FLAG_ORDER: readonly NexthopFlag[] = ['dead', 'onlink', 'pervasive', 'offload', 'trap', 'notify', 'linkdown', 'unresolved', 'rt_offload', 'rt_trap', 'rt_offload_failed'];

export interface Nexthop {
  /** Gateway address (`via`), canonical text. */
  readonly via?: string;
  readonly dev?: string;
  /** 1..256, what `weight` sets; only meaningful in a multipath route. */
  readonly weight: number;
  readonly onlink: boolean;
  /** Other flags as read from a dump (`pervasive`, `offload`…); `linkdown` and `dead` are derived from link state when printing. */
  readonly flags?: readonly NexthopFlag[];
}

/** A route metric other than `mtu` (`advmss 1460`, `initcwnd 10`…), kept as written. */
export interface RouteMetric {
  readonly name: string;
  readonly lock: boolean;
  readonly value: string;
}

/** RTAX order iproute2 prints metrics in. */
export const METRIC_ORDER: readonly string[] = [
  'lock',
  'mtu',
  'window',
  'rtt',
  'rttvar',
  'ssthresh',
  'cwnd',
  'advmss',
  'reordering',
  'hoplimit',
  'initcwnd',
  'features',
  'rto_min',
  'initrwnd',
  'quickack',
  'congctl',
  'fastopen_no_cookie',
];

export interface Route {
  readonly family: Family;
  readonly type: RouteType;
  readonly dst: Prefix;
  /** Source-specific routing (`from`), IPv6 only in practice. */
  readonly from?: Prefix;
  readonly table: number;
  /** TOS/DSCP selector; 0 = any. */
  readonly tos: number;
  /** Numeric protocol (2 kernel, 3 boot, 4 static, 12 bird…). */
  readonly proto: number;
  /** Numeric scope (0 global, 253 link, 254 host). */
  readonly scope: number;
  /** Metric / priority: lower wins among routes for the same prefix. */
  readonly metric: number;
  /** Preferred source address (`src`). */
  readonly prefsrc?: string;
  /** One element for an ordinary route, several for `nexthop … nexthop …`, none for blackhole & co. */
  readonly nexthops: readonly Nexthop[];
  /** Printed as `nexthop` lines (set for routes given with `nexthop`, even with one path). */
  readonly multipath: boolean;
  readonly mtu?: number;
  readonly mtuLock?: boolean;
  readonly metrics?: readonly RouteMetric[];
  /** IPv6 router preference (`pref medium`). */
  readonly pref?: 'low' | 'medium' | 'high';
  /** Flags of the route itself (`rt_offload`…), as read from a dump. */
  readonly routeFlags?: readonly NexthopFlag[];
  /** Cache attributes read from a dump (`expires 299sec`, `error -113`), printed back as they were. */
  readonly cacheInfo?: readonly string[];
  readonly realms?: string;
  /** `nhid N` as read from a dump; nexthop objects are not modelled. */
  readonly nhid?: number;
  /** Set on routes the kernel generated for an interface address: `<dev>/<address>`. */
  readonly origin?: string;
}

export type RuleAction = 'lookup' | 'goto' | 'nop' | 'blackhole' | 'unreachable' | 'prohibit';

export interface Rule {
  readonly family: Family;
  readonly priority: number;
  readonly invert: boolean;
  /** Selector `from`; undefined = all. The address keeps host bits as written (printed back as is). */
  readonly src?: Prefix;
  readonly dst?: Prefix;
  readonly tos: number;
  readonly fwmark?: number;
  /** 0xffffffff when `fwmark` is given without a mask. */
  readonly fwmask?: number;
  readonly iif?: string;
  readonly oif?: string;
  readonly uidrange?: readonly [number, number];
  readonly ipproto?: number;
  readonly sport?: readonly [number, number];
  readonly dport?: readonly [number, number];
  readonly action: RuleAction;
  /** For `lookup`. */
  readonly table?: number;
  /** For `goto`: the priority to continue at. */
  readonly target?: number;
  readonly suppressPrefixlength?: number;
  readonly suppressIfgroup?: number;
  readonly realms?: string;
  /** Rule protocol (`proto`), 0 when unset. */
  readonly proto: number;
}

export const TABLE_NAMES: ReadonlyMap<number, string> = new Map([
  [RT_TABLE_UNSPEC, 'unspec'],
  [RT_TABLE_DEFAULT, 'default'],
  [RT_TABLE_MAIN, 'main'],
  [RT_TABLE_LOCAL, 'local'],
]);

/** iproute2's rtnl_rtprot_tab. */
export const PROTO_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'unspec'],
  [1, 'redirect'],
  [2, 'kernel'],
  [3, 'boot'],
  [4, 'static'],
  [8, 'gated'],
  [9, 'ra'],
  [10, 'mrt'],
  [11, 'zebra'],
  [12, 'bird'],
  [13, 'dnrouted'],
  [14, 'xorp'],
  [15, 'ntk'],
  [16, 'dhcp'],
  [18, 'keepalived'],
  [42, 'babel'],
  [99, 'openr'],
  [186, 'bgp'],
  [187, 'isis'],
  [188, 'ospf'],
  [189, 'rip'],
  [192, 'eigrp'],
]);

export const SCOPE_NAMES: ReadonlyMap<number, string> = new Map([
  [RT_SCOPE_UNIVERSE, 'global'],
  [RT_SCOPE_SITE, 'site'],
  [RT_SCOPE_LINK, 'link'],
  [RT_SCOPE_HOST, 'host'],
  [RT_SCOPE_NOWHERE, 'nowhere'],
]);

/** IP protocol numbers for `ipproto` (names as /etc/protocols spells them). */
export const IPPROTO_NAMES: ReadonlyMap<number, string> = new Map([
  [1, 'icmp'],
  [4, 'ipip'],
  [6, 'tcp'],
  [17, 'udp'],
  [41, 'ipv6'],
  [47, 'gre'],
  [50, 'esp'],
  [58, 'ipv6-icmp'],
  [132, 'sctp'],
]);

function reverse(m: ReadonlyMap<number, string>): Map<string, number> {
  return new Map([...m].map(([k, v]) => [v, k]));
}

const TABLE_IDS = reverse(TABLE_NAMES);
const PROTO_IDS = reverse(PROTO_NAMES);
const SCOPE_IDS = reverse(SCOPE_NAMES);
const IPPROTO_IDS = reverse(IPPROTO_NAMES);
SCOPE_IDS.set('universe', RT_SCOPE_UNIVERSE);
IPPROTO_IDS.set('icmpv6', 58);

/** Optional names for custom tables (what /etc/iproute2/rt_tables adds). */
export type TableNames = ReadonlyMap<number, string>;

function numberOr(text: string, max: number): number | undefined {
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(text)) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}

export function tableId(text: string, names?: TableNames): number | undefined {
  const known = TABLE_IDS.get(text);
  if (known !== undefined) return known;
  if (names) for (const [id, name] of names) if (name === text) return id;
  return numberOr(text, 0xffffffff);
}

export function tableName(id: number, names?: TableNames): string {
  return TABLE_NAMES.get(id) ?? names?.get(id) ?? String(id);
}

export function protoId(text: string): number | undefined {
  return PROTO_IDS.get(text) ?? numberOr(text, 255);
}

export function protoName(id: number): string {
  return PROTO_NAMES.get(id) ?? String(id);
}

export function scopeId(text: string): number | undefined {
  return SCOPE_IDS.get(text) ?? numberOr(text, 255);
}

export function scopeName(id: number): string {
  return SCOPE_NAMES.get(id) ?? String(id);
}

export function ipprotoId(text: string): number | undefined {
  return IPPROTO_IDS.get(text) ?? numberOr(text, 255);
}

export function ipprotoName(id: number): string {
  return IPPROTO_NAMES.get(id) ?? String(id);
}

/** The scope `ip route add` gives a route when none is written (iproute2's iproute_modify). */
export function defaultScope(type: RouteType, hasGateway: boolean): number {
  if (type === 'local' || type === 'nat') return RT_SCOPE_HOST;
  if (type === 'broadcast' || type === 'multicast' || type === 'anycast') return RT_SCOPE_LINK;
  if (type === 'unicast' && !hasGateway) return RT_SCOPE_LINK;
  return RT_SCOPE_UNIVERSE;
}

/** The least scope the kernel accepts for a route type (fib_props[type].scope). */
export function minScope(type: RouteType): number {
  switch (type) {
    case 'local':
      return RT_SCOPE_HOST;
    case 'broadcast':
    case 'anycast':
      return RT_SCOPE_LINK;
    case 'nat':
      return RT_SCOPE_NOWHERE;
    default:
      return RT_SCOPE_UNIVERSE;
  }
}
