// Parsers for `ip route show` and `ip rule show` output, so a real node's dump can be loaded.
// They also accept the keywords `ip route add` / `ip rule add` take in the same places. A word
// they do not know is an error naming the line, never silently skipped.
import type { Diagnostic } from '../../manifest/diagnostic.js';
import { FAMILY_WIDTH, formatAddr, parseAddr, parsePrefix, type Family, type Prefix } from './addr.js';
import {
  ipprotoId,
  METRIC_ORDER,
  NEXTHOP_FLAG_ORDER,
  protoId,
  ROUTE_TYPES,
  RT_TABLE_MAIN,
  RTPROT_BOOT,
  scopeId,
  tableId,
  type Nexthop,
  type NexthopFlag,
  type Route,
  type RouteMetric,
  type RouteType,
  type Rule,
  type RuleAction,
  type TableNames,
} from './model.js';
import type { Namespace } from './namespace.js';

export interface ParseOptions {
  readonly file?: string;
  /** Family of lines that do not show it (`default dev eth0`); default 4. */
  readonly family?: Family;
  /** Table of lines without `table` (a dump of `ip route show table local` has none); default main. */
  readonly table?: number;
  readonly tableNames?: TableNames;
}

export type ParseResult<T> =
  | { readonly ok: true; readonly value: T; readonly diagnostics: readonly Diagnostic[] }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

class LineError extends Error {}

function num(text: string | undefined, what: string, max = 0xffffffff): number {
  if (text === undefined) throw new LineError(`"${what}" needs a value`);
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(text)) throw new LineError(`"${text}" is not a valid ${what}`);
  const n = Number(text);
  if (n > max) throw new LineError(`${what} ${text} is out of range`);
  return n;
}

const FLAGS = new Set<string>(NEXTHOP_FLAG_ORDER);
const METRIC_NAMES = new Set(METRIC_ORDER.filter((m) => m !== 'lock' && m !== 'mtu'));
const TYPES = new Set<string>(ROUTE_TYPES);

interface NexthopDraft {
  via?: string;
  dev?: string;
  weight: number;
  onlink: boolean;
  flags: NexthopFlag[];
}

interface RouteDraft {
  line: number;
  type: RouteType;
  dstText: string;
  family?: Family;
  from?: string;
  nhid?: number;
  tos: number;
  table?: number;
  proto: number;
  scope: number;
  prefsrc?: string;
  metric?: number;
  mtu?: number;
  mtuLock?: boolean;
  metrics: RouteMetric[];
  pref?: 'low' | 'medium' | 'high';
  cacheInfo: string[];
  realms?: string;
  single: NexthopDraft;
  headerFlags: NexthopFlag[];
  nexthops: NexthopDraft[];
}

function familyOf(text: string): Family | undefined {
  return parseAddr(text)?.family;
}

function parseNexthopWords(words: string[], i: number, nh: NexthopDraft, d: RouteDraft): number {
  const w = words[i]!;
  if (w === 'via') {
    let v = words[i + 1];
    if (v === 'inet' || v === 'inet6') v = words[++i + 1];
    if (v === undefined || !parseAddr(v)) throw new LineError(`"via" needs an address, got "${v ?? ''}"`);
    nh.via = v;
    d.family ??= familyOf(v);
    return i + 2;
  }
  if (w === 'dev' || w === 'oif') {
    if (words[i + 1] === undefined) throw new LineError(`"${w}" needs a device name`);
    nh.dev = words[i + 1];
    return i + 2;
  }
  if (w === 'weight') {
    nh.weight = num(words[i + 1], 'weight', 256);
    return i + 2;
  }
  if (w === 'onlink') {
    nh.onlink = true;
    return i + 1;
  }
  if (FLAGS.has(w)) {
    nh.flags.push(w as NexthopFlag);
    return i + 1;
  }
  return -1;
}

function newNexthop(): NexthopDraft {
  return { weight: 1, onlink: false, flags: [] };
}

function parseRouteLine(words: string[], line: number, opts: ParseOptions): RouteDraft {
  let i = 0;
  let type: RouteType = 'unicast';
  if (TYPES.has(words[0]!)) type = words[i++] as RouteType;
  const dstText = words[i++];
  if (dstText === undefined) throw new LineError('a route needs a destination');
  if (dstText !== 'default' && !parsePrefix(dstText)) throw new LineError(`"${dstText}" is not a destination prefix`);
  const d: RouteDraft = {
    line,
    type,
    dstText,
    tos: 0,
    proto: RTPROT_BOOT,
    scope: 0,
    metrics: [],
    cacheInfo: [],
    single: newNexthop(),
    headerFlags: [],
    nexthops: [],
  };
  if (dstText !== 'default') d.family = familyOf(dstText.split('/')[0]!);
  let inMultipath: NexthopDraft | undefined;
  while (i < words.length) {
    const w = words[i]!;
    const v = words[i + 1];
    if (w === 'nexthop') {
      inMultipath = newNexthop();
      d.nexthops.push(inMultipath);
      i++;
      continue;
    }
    if (inMultipath) {
      const next = parseNexthopWords(words, i, inMultipath, d);
      if (next >= 0) {
        i = next;
        continue;
      }
    }
    if (w === 'via' || w === 'dev' || w === 'oif' || w === 'weight' || w === 'onlink') {
      i = parseNexthopWords(words, i, d.single, d);
      continue;
    }
    if (FLAGS.has(w)) {
      d.headerFlags.push(w as NexthopFlag);
      i++;
      continue;
    }
    switch (w) {
      case 'from':
        if (v === undefined || !parsePrefix(v)) throw new LineError(`"from" needs a prefix`);
        d.from = v;
        break;
      case 'nhid':
        d.nhid = num(v, 'nexthop id');
        break;
      case 'tos':
      case 'dsfield':
        d.tos = num(v, 'TOS', 255);
        break;
      case 'table': {
        const t = v === undefined ? undefined : tableId(v, opts.tableNames);
        if (t === undefined) throw new LineError(`"${v ?? ''}" is not a table`);
        d.table = t;
        break;
      }
      case 'proto':
      case 'protocol': {
        const p = v === undefined ? undefined : protoId(v);
        if (p === undefined) throw new LineError(`"${v ?? ''}" is not a routing protocol`);
        d.proto = p;
        break;
      }
      case 'scope': {
        const s = v === undefined ? undefined : scopeId(v);
        if (s === undefined) throw new LineError(`"${v ?? ''}" is not a scope`);
        d.scope = s;
        break;
      }
      case 'src':
        if (v === undefined || !parseAddr(v)) throw new LineError(`"src" needs an address`);
        d.prefsrc = v;
        d.family ??= familyOf(v);
        break;
      case 'metric':
      case 'preference':
      case 'priority':
        d.metric = num(v, 'metric');
        break;
      case 'mtu':
        if (v === 'lock') {
          d.mtuLock = true;
          i++;
        }
        d.mtu = num(words[i + 1], 'MTU');
        break;
      case 'pref':
        if (v !== 'low' && v !== 'medium' && v !== 'high') throw new LineError(`"${v ?? ''}" is not a router preference`);
        d.pref = v;
        d.family = 6;
        break;
      case 'expires':
      case 'error':
      case 'hoplimit_cache':
        if (v === undefined) throw new LineError(`"${w}" needs a value`);
        d.cacheInfo.push(`${w} ${v}`);
        break;
      case 'realm':
      case 'realms':
        if (v === undefined) throw new LineError(`"${w}" needs a value`);
        d.realms = v;
        break;
      case 'uid':
        num(v, 'uid');
        break;
      default:
        if (METRIC_NAMES.has(w)) {
          let lock = false;
          if (v === 'lock') {
            lock = true;
            i++;
          }
          const value = words[i + 1];
          if (value === undefined) throw new LineError(`"${w}" needs a value`);
          d.metrics.push({ name: w, lock, value });
          break;
        }
        throw new LineError(`unknown keyword "${w}"`);
    }
    i += 2;
  }
  return d;
}

function finishRoute(d: RouteDraft, opts: ParseOptions): Route {
  const family: Family = d.family ?? opts.family ?? 4;
  const dst = parsePrefix(d.dstText, family);
  if (!dst) throw new LineError(`"${d.dstText}" is not an IPv${family} prefix`);
  const canon = (t: string | undefined) => {
    if (t === undefined) return undefined;
    const a = parseAddr(t);
    if (!a || a.family !== family) throw new LineError(`"${t}" is not an IPv${family} address`);
    return formatAddr(family, a.n);
  };
  const reject = d.type === 'blackhole' || d.type === 'unreachable' || d.type === 'prohibit' || d.type === 'throw';
  const multipath = d.nexthops.length > 0;
  const toNexthop = (n: NexthopDraft, extra: NexthopFlag[]): Nexthop => {
    const flags = [...n.flags, ...extra.filter((f) => f !== 'onlink')];
    const via = canon(n.via);
    return {
      ...(via !== undefined ? { via } : {}),
      ...(n.dev !== undefined ? { dev: n.dev } : {}),
      weight: n.weight,
      onlink: n.onlink || extra.includes('onlink'),
      ...(flags.length ? { flags } : {}),
    };
  };
  let nexthops: Nexthop[];
  if (multipath) nexthops = d.nexthops.map((n) => toNexthop(n, []));
  else if (reject && (d.single.dev === undefined || (family === 6 && d.single.dev === 'lo')) && d.single.via === undefined) nexthops = [];
  else nexthops = [toNexthop(d.single, d.headerFlags)];
  const from = d.from !== undefined ? parsePrefix(d.from, family) : undefined;
  const prefsrc = canon(d.prefsrc);
  const routeFlags = multipath || nexthops.length === 0 ? d.headerFlags : [];
  return {
    family,
    type: d.type,
    dst,
    ...(from ? { from } : {}),
    table: d.table ?? opts.table ?? RT_TABLE_MAIN,
    tos: d.tos,
    proto: d.proto,
    scope: d.scope,
    metric: d.metric ?? 0,
    ...(prefsrc !== undefined ? { prefsrc } : {}),
    nexthops,
    multipath,
    ...(d.mtu !== undefined ? { mtu: d.mtu } : {}),
    ...(d.mtuLock ? { mtuLock: true } : {}),
    ...(d.metrics.length ? { metrics: d.metrics } : {}),
    ...(d.pref !== undefined ? { pref: d.pref } : {}),
    ...(routeFlags.length ? { routeFlags } : {}),
    ...(d.cacheInfo.length ? { cacheInfo: d.cacheInfo } : {}),
    ...(d.realms !== undefined ? { realms: d.realms } : {}),
    ...(d.nhid !== undefined ? { nhid: d.nhid } : {}),
  };
}

function diag(opts: ParseOptions, line: number, message: string, hint?: string): Diagnostic {
  return { severity: 'error', message, ...(opts.file ? { file: opts.file } : {}), line, ...(hint ? { hint } : {}) };
}

/** Parse `ip route show [table …]` output (any family mix). */
export function parseRoutes(text: string, opts: ParseOptions = {}): ParseResult<Route[]> {
  const diagnostics: Diagnostic[] = [];
  const drafts: RouteDraft[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!;
    const words = raw.trim().split(/\s+/).filter(Boolean);
    if (words.length === 0 || words[0]!.startsWith('#')) continue;
    try {
      if (words[0] === 'nexthop' && /^\s/.test(raw)) {
        const d = drafts[drafts.length - 1];
        if (!d) throw new LineError('a "nexthop" line must follow a route');
        const nh = newNexthop();
        for (let i = 1; i < words.length; ) {
          const next = parseNexthopWords(words, i, nh, d);
          if (next < 0) throw new LineError(`unknown keyword "${words[i]}" in a nexthop`);
          i = next;
        }
        d.nexthops.push(nh);
        continue;
      }
      drafts.push(parseRouteLine(words, n + 1, opts));
    } catch (e) {
      if (!(e instanceof LineError)) throw e;
      diagnostics.push(diag(opts, n + 1, e.message, 'the line must be in `ip route show` format'));
    }
  }
  const routes: Route[] = [];
  for (const d of drafts) {
    try {
      routes.push(finishRoute(d, opts));
    } catch (e) {
      if (!(e instanceof LineError)) throw e;
      diagnostics.push(diag(opts, d.line, e.message));
    }
  }
  return diagnostics.length ? { ok: false, diagnostics } : { ok: true, value: routes, diagnostics };
}

function ruleSelector(text: string | undefined, word: string): { text: string; family?: Family } | undefined {
  if (text === undefined) throw new LineError(`"${word}" needs a prefix`);
  if (text === 'all') return undefined;
  if (text !== '0' && !text.startsWith('0/') && !parsePrefix(text)) throw new LineError(`"${text}" is not a prefix`);
  const fam = familyOf(text.split('/')[0]!);
  return { text, ...(fam ? { family: fam } : {}) };
}

function selectorPrefix(text: string, family: Family): Prefix {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const a = addrText === '0' ? { family, n: family === 4 ? 0 : 0n } : parseAddr(addrText);
  const len = slash < 0 ? FAMILY_WIDTH[family] : Number(text.slice(slash + 1));
  if (!a || a.family !== family || !(len >= 0 && len <= FAMILY_WIDTH[family])) throw new LineError(`"${text}" is not an IPv${family} prefix`);
  return { family, net: a.n, len };
}

function portRange(text: string | undefined, what: string): [number, number] {
  if (text === undefined) throw new LineError(`"${what}" needs a port or range`);
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) throw new LineError(`"${text}" is not a port range`);
  const lo = Number(m[1]);
  const hi = m[2] !== undefined ? Number(m[2]) : lo;
  if (lo > 65535 || hi > 65535 || hi < lo) throw new LineError(`"${text}" is not a port range`);
  return [lo, hi];
}

/** Parse `ip [-6] rule show` output (`PRIO:<TAB>selectors action`). */
export function parseRules(text: string, opts: ParseOptions = {}): ParseResult<Rule[]> {
  const diagnostics: Diagnostic[] = [];
  const rules: Rule[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!.trim();
    if (raw === '' || raw.startsWith('#')) continue;
    try {
      const m = /^(\d+):\s*(.*)$/.exec(raw);
      if (!m) throw new LineError('a rule line starts with "PRIORITY:"');
      const words = m[2]!.split(/\s+/).filter(Boolean);
      let family = opts.family;
      let invert = false;
      let src: string | undefined;
      let dst: string | undefined;
      let tos = 0;
      let fwmark: number | undefined;
      let fwmask: number | undefined;
      let iif: string | undefined;
      let oif: string | undefined;
      let uidrange: [number, number] | undefined;
      let ipproto: number | undefined;
      let sport: [number, number] | undefined;
      let dport: [number, number] | undefined;
      let action: RuleAction | undefined;
      let table: number | undefined;
      let target: number | undefined;
      let suppressPrefixlength: number | undefined;
      let suppressIfgroup: number | undefined;
      let realms: string | undefined;
      let proto = 0;
      for (let i = 0; i < words.length; ) {
        const w = words[i]!;
        const v = words[i + 1];
        let step = 2;
        switch (w) {
          case 'not':
            invert = true;
            step = 1;
            break;
          case 'from': {
            const s = ruleSelector(v, w);
            src = s?.text;
            if (s?.family) family = s.family;
            break;
          }
          case 'to': {
            const s = ruleSelector(v, w);
            dst = s?.text;
            if (s?.family) family = s.family;
            break;
          }
          case 'tos':
          case 'dsfield':
            tos = num(v, 'TOS', 255);
            break;
          case 'fwmark': {
            if (v === undefined) throw new LineError('"fwmark" needs a value');
            const [mark, mask] = v.split('/');
            fwmark = num(mark, 'fwmark');
            fwmask = mask !== undefined ? num(mask, 'fwmark mask') : 0xffffffff;
            break;
          }
          case 'iif':
          case 'dev':
          case 'oif':
            if (v === undefined) throw new LineError(`"${w}" needs a device name`);
            if (w === 'oif') oif = v;
            else iif = v;
            if (words[i + 2] === '[detached]') step = 3;
            break;
          case 'uidrange': {
            const r = portRange(v, w);
            uidrange = r;
            break;
          }
          case 'ipproto': {
            const p = v === undefined ? undefined : ipprotoId(v);
            if (p === undefined) throw new LineError(`"${v ?? ''}" is not an IP protocol`);
            ipproto = p;
            break;
          }
          case 'sport':
            sport = portRange(v, w);
            break;
          case 'dport':
            dport = portRange(v, w);
            break;
          case 'lookup':
          case 'table': {
            const t = v === undefined ? undefined : tableId(v, opts.tableNames);
            if (t === undefined) throw new LineError(`"${v ?? ''}" is not a table`);
            table = t;
            action = 'lookup';
            break;
          }
          case 'suppress_prefixlength':
            suppressPrefixlength = num(v, 'prefix length', 128);
            break;
          case 'suppress_ifgroup':
            suppressIfgroup = num(v, 'interface group');
            break;
          case 'realms':
            if (v === undefined) throw new LineError('"realms" needs a value');
            realms = v;
            break;
          case 'goto':
            action = 'goto';
            target = num(v, 'goto target');
            if (words[i + 2] === '[unresolved]') step = 3;
            break;
          case 'nop':
          case 'blackhole':
          case 'unreachable':
          case 'prohibit':
            action = w;
            step = 1;
            break;
          case 'proto':
          case 'protocol': {
            const p = v === undefined ? undefined : protoId(v);
            if (p === undefined) throw new LineError(`"${v ?? ''}" is not a routing protocol`);
            proto = p;
            break;
          }
          default:
            throw new LineError(`unknown keyword "${w}"`);
        }
        i += step;
      }
      const fam: Family = family ?? 4;
      const rule: Rule = {
        family: fam,
        priority: Number(m[1]),
        invert,
        ...(src !== undefined ? { src: selectorPrefix(src, fam) } : {}),
        ...(dst !== undefined ? { dst: selectorPrefix(dst, fam) } : {}),
        tos,
        ...(fwmark !== undefined ? { fwmark, fwmask: fwmask! } : {}),
        ...(iif !== undefined ? { iif } : {}),
        ...(oif !== undefined ? { oif } : {}),
        ...(uidrange ? { uidrange } : {}),
        ...(ipproto !== undefined ? { ipproto } : {}),
        ...(sport ? { sport } : {}),
        ...(dport ? { dport } : {}),
        action: action ?? 'lookup',
        ...((action ?? 'lookup') === 'lookup' ? { table: table ?? RT_TABLE_MAIN } : {}),
        ...(target !== undefined ? { target } : {}),
        ...(suppressPrefixlength !== undefined ? { suppressPrefixlength } : {}),
        ...(suppressIfgroup !== undefined ? { suppressIfgroup } : {}),
        ...(realms !== undefined ? { realms } : {}),
        proto,
      };
      rules.push(rule);
    } catch (e) {
      if (!(e instanceof LineError)) throw e;
      diagnostics.push(diag(opts, n + 1, e.message, 'the line must be in `ip rule show` format'));
    }
  }
  return diagnostics.length ? { ok: false, diagnostics } : { ok: true, value: rules, diagnostics };
}

/**
 * Load a dump into a namespace: routes are inserted as listed (no gateway checks: a dump's order
 * need not respect them), rules replace the family's rules when given.
 */
export function loadDump(
  ns: Namespace,
  dump: { readonly routes?: string; readonly rules?: string; readonly rules6?: string },
  opts: ParseOptions = {},
): readonly Diagnostic[] {
  const out: Diagnostic[] = [];
  if (dump.routes !== undefined) {
    const r = parseRoutes(dump.routes, opts);
    if (!r.ok) out.push(...r.diagnostics);
    else for (const route of r.value) ns.insertRoute(route, 'append');
  }
  for (const [text, family] of [
    [dump.rules, 4],
    [dump.rules6, 6],
  ] as const) {
    if (text === undefined) continue;
    const r = parseRules(text, { ...opts, family });
    if (!r.ok) out.push(...r.diagnostics);
    else ns.setRules(family, r.value);
  }
  return out;
}
