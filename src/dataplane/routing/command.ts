// The arguments of `ip route add|append|replace|del …` and `ip rule add|del …` as specs the
// namespace applies, so renderers and tests can write routes the way CNI docs and node scripts do.
import { ipprotoId, protoId, ROUTE_TYPES, scopeId, tableId, type RouteMetric, type RouteType, type TableNames } from './model.js';
import type { Family } from './addr.js';
import type { RouteSpec, RuleSpec } from './namespace.js';

export type CommandResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

function words(args: string | readonly string[]): string[] {
  return typeof args === 'string' ? args.trim().split(/\s+/).filter(Boolean) : [...args];
}

function number(text: string | undefined): number | undefined {
  return text !== undefined && /^(0x[0-9a-fA-F]+|\d+)$/.test(text) ? Number(text) : undefined;
}

const METRICS = new Set(['window', 'rtt', 'rttvar', 'ssthresh', 'cwnd', 'advmss', 'reordering', 'hoplimit', 'initcwnd', 'features', 'rto_min', 'initrwnd', 'quickack', 'congctl', 'fastopen_no_cookie']);

/** `ip route add` arguments (after `add`): `10.0.0.0/8 via 10.1.0.1 dev eth0 metric 100 table 2`. */
export function parseRouteCommand(args: string | readonly string[], tableNames?: TableNames): CommandResult<RouteSpec> {
  const w = words(args);
  let i = 0;
  let type: RouteType | undefined;
  if ((ROUTE_TYPES as readonly string[]).includes(w[0] ?? '')) type = w[i++] as RouteType;
  let dst: string | undefined;
  const spec: { -readonly [K in keyof RouteSpec]: RouteSpec[K] } = { dst: '' };
  const nexthops: { via?: string; dev?: string; weight?: number; onlink?: boolean }[] = [];
  let hop: { via?: string; dev?: string; weight?: number; onlink?: boolean } | undefined;
  const metrics: RouteMetric[] = [];
  const bad = (m: string): CommandResult<RouteSpec> => ({ ok: false, message: m });
  while (i < w.length) {
    const k = w[i]!;
    const v = w[i + 1];
    const target = hop ?? spec;
    switch (k) {
      case 'nexthop':
        hop = {};
        nexthops.push(hop);
        i++;
        continue;
      case 'via':
        if (!v) return bad('"via" needs an address');
        target.via = v === 'inet' || v === 'inet6' ? w[++i + 1] : v;
        break;
      case 'dev':
      case 'oif':
        if (!v) return bad(`"${k}" needs a device`);
        target.dev = v;
        break;
      case 'weight': {
        const n = number(v);
        if (!hop || n === undefined) return bad('"weight" belongs to a nexthop and needs a number');
        hop.weight = n;
        break;
      }
      case 'onlink':
        target.onlink = true;
        i++;
        continue;
      case 'table': {
        const t = v === undefined ? undefined : tableId(v, tableNames);
        if (t === undefined) return bad(`"${v ?? ''}" is not a table`);
        spec.table = t;
        break;
      }
      case 'proto':
      case 'protocol':
        if (!v || protoId(v) === undefined) return bad(`"${v ?? ''}" is not a routing protocol`);
        spec.proto = v;
        break;
      case 'scope':
        if (!v || scopeId(v) === undefined) return bad(`"${v ?? ''}" is not a scope`);
        spec.scope = v;
        break;
      case 'src':
        if (!v) return bad('"src" needs an address');
        spec.src = v;
        break;
      case 'from':
        if (!v) return bad('"from" needs a prefix');
        spec.from = v;
        break;
      case 'metric':
      case 'preference':
      case 'priority': {
        const n = number(v);
        if (n === undefined) return bad(`"${v ?? ''}" is not a metric`);
        spec.metric = n;
        break;
      }
      case 'tos':
      case 'dsfield': {
        const n = number(v);
        if (n === undefined || n > 255) return bad(`"${v ?? ''}" is not a TOS`);
        spec.tos = n;
        break;
      }
      case 'mtu': {
        if (v === 'lock') {
          spec.mtuLock = true;
          i++;
        }
        const n = number(w[i + 1]);
        if (n === undefined) return bad('"mtu" needs a number');
        spec.mtu = n;
        break;
      }
      case 'pref':
        if (v !== 'low' && v !== 'medium' && v !== 'high') return bad(`"${v ?? ''}" is not a router preference`);
        spec.pref = v;
        break;
      default:
        if (METRICS.has(k)) {
          let lock = false;
          if (v === 'lock') {
            lock = true;
            i++;
          }
          const value = w[i + 1];
          if (value === undefined) return bad(`"${k}" needs a value`);
          metrics.push({ name: k, lock, value });
          break;
        }
        if (dst === undefined && k !== 'to') {
          dst = k;
          i++;
          continue;
        }
        if (k === 'to' && v !== undefined && dst === undefined) {
          dst = v;
          break;
        }
        return bad(`unknown keyword "${k}"`);
    }
    i += 2;
  }
  if (dst === undefined) return bad('a route needs a destination');
  return {
    ok: true,
    value: {
      ...spec,
      dst,
      ...(type ? { type } : {}),
      ...(nexthops.length ? { nexthops } : {}),
      ...(metrics.length ? { metrics } : {}),
    },
  };
}

function range(text: string | undefined): readonly [number, number] | undefined {
  const m = text === undefined ? null : /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) return undefined;
  return [Number(m[1]), m[2] !== undefined ? Number(m[2]) : Number(m[1])];
}

/** `ip rule add` arguments: `from 10.0.0.5 lookup 2 priority 1536`. */
export function parseRuleCommand(args: string | readonly string[], family?: Family, tableNames?: TableNames): CommandResult<RuleSpec> {
  const w = words(args);
  const spec: { -readonly [K in keyof RuleSpec]: RuleSpec[K] } = family ? { family } : {};
  const bad = (m: string): CommandResult<RuleSpec> => ({ ok: false, message: m });
  for (let i = 0; i < w.length; ) {
    const k = w[i]!;
    const v = w[i + 1];
    let step = 2;
    switch (k) {
      case 'not':
        spec.not = true;
        step = 1;
        break;
      case 'from':
      case 'to':
        if (!v) return bad(`"${k}" needs a prefix`);
        spec[k] = v;
        break;
      case 'tos':
      case 'dsfield': {
        const n = number(v);
        if (n === undefined) return bad(`"${v ?? ''}" is not a TOS`);
        spec.tos = n;
        break;
      }
      case 'fwmark': {
        const [m, mask] = (v ?? '').split('/');
        const mark = number(m);
        const mk = mask === undefined ? 0xffffffff : number(mask);
        if (mark === undefined || mk === undefined) return bad(`"${v ?? ''}" is not a mark`);
        spec.fwmark = mark;
        spec.fwmask = mk;
        break;
      }
      case 'iif':
      case 'dev':
        if (!v) return bad(`"${k}" needs a device`);
        spec.iif = v;
        break;
      case 'oif':
        if (!v) return bad('"oif" needs a device');
        spec.oif = v;
        break;
      case 'uidrange':
      case 'sport':
      case 'dport': {
        const r = range(v);
        if (!r) return bad(`"${v ?? ''}" is not a range`);
        spec[k] = r;
        break;
      }
      case 'ipproto': {
        const p = v === undefined ? undefined : ipprotoId(v);
        if (p === undefined) return bad(`"${v ?? ''}" is not an IP protocol`);
        spec.ipproto = p;
        break;
      }
      case 'priority':
      case 'prio':
      case 'pref':
      case 'preference':
      case 'order': {
        const n = number(v);
        if (n === undefined) return bad(`"${v ?? ''}" is not a priority`);
        spec.priority = n;
        break;
      }
      case 'lookup':
      case 'table': {
        const t = v === undefined ? undefined : tableId(v, tableNames);
        if (t === undefined) return bad(`"${v ?? ''}" is not a table`);
        spec.table = t;
        spec.action = 'lookup';
        break;
      }
      case 'suppress_prefixlength': {
        const n = number(v);
        if (n === undefined) return bad('"suppress_prefixlength" needs a number');
        spec.suppressPrefixlength = n;
        break;
      }
      case 'suppress_ifgroup': {
        const n = number(v);
        if (n === undefined) return bad('"suppress_ifgroup" needs a number');
        spec.suppressIfgroup = n;
        break;
      }
      case 'goto': {
        const n = number(v);
        if (n === undefined) return bad('"goto" needs a priority');
        spec.goto = n;
        spec.action = 'goto';
        break;
      }
      case 'nop':
      case 'blackhole':
      case 'unreachable':
      case 'prohibit':
        spec.action = k;
        step = 1;
        break;
      case 'protocol':
      case 'proto': {
        const p = v === undefined ? undefined : protoId(v);
        if (p === undefined) return bad(`"${v ?? ''}" is not a protocol`);
        spec.proto = p;
        break;
      }
      default:
        return bad(`unknown keyword "${k}"`);
    }
    i += step;
  }
  return { ok: true, value: spec };
}
