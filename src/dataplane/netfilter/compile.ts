// The fast path: rules compiled to closures, and an index for dispatch-shaped chains (such as
// kube-proxy's KUBE-SERVICES: thousands of `-d VIP/32 -p tcp --dport N -j ...` rules).
//
// The index only *pre-filters*: for a packet it yields, in rule order, every rule that could
// match — rules keyed by (destination host, protocol, port), by (destination, protocol), by
// destination, and the unkeyed rest — and each candidate is then checked in full. A rule is keyed
// only by conditions the kernel tests before any stateful match (statistic, recent), so skipping
// a rule never skips a side effect. The first-match linear walk over `ruleMatches` stays the
// semantic reference; a property test checks both give identical outcomes.
import type { Packet } from '../../net/packet.js';
import { ctStateBits, matchMatches, packetProtocolNumber, stateMask, type MatchEnv } from './match-ref.js';
import type { AddressSpec, Chain, InterfaceSpec, MatchData, Rule } from './model.js';

export type CompiledRule = (p: Packet, env: MatchEnv) => boolean;
type Pred = (p: Packet, env: MatchEnv) => boolean;

const PROTO_NAME: Readonly<Record<number, string>> = { 6: 'tcp', 17: 'udp', 132: 'sctp', 1: 'icmp', 58: 'icmpv6' };

function addrPred(spec: AddressSpec & { invert: boolean }, which: 'src' | 'dst'): Pred | undefined {
  const inv = spec.invert;
  if (spec.prefix === 0) return inv ? () => false : undefined;
  if (spec.family === 4) {
    const net = spec.net as number;
    const mask = spec.mask as number;
    if (spec.prefix === 32) return which === 'src' ? (p) => (p.srcN === net) !== inv : (p) => (p.dstN === net) !== inv;
    return which === 'src'
      ? (p) => ((((p.srcN as number) & mask) >>> 0) === net) !== inv
      : (p) => ((((p.dstN as number) & mask) >>> 0) === net) !== inv;
  }
  const net = spec.net as bigint;
  const mask = spec.mask as bigint;
  return which === 'src' ? (p) => (((p.srcN as bigint) & mask) === net) !== inv : (p) => (((p.dstN as bigint) & mask) === net) !== inv;
}

function ifacePred(spec: InterfaceSpec, which: 'in' | 'out'): Pred {
  const { name, wildcard, invert } = spec;
  const get = which === 'in' ? (p: Packet) => p.inInterface : (p: Packet) => p.outInterface;
  if (wildcard) return (p) => {
    const n = get(p);
    return (n !== undefined && n.startsWith(name)) !== invert;
  };
  return (p) => (get(p) === name) !== invert;
}

function matchPred(m: MatchData): Pred | undefined {
  switch (m.kind) {
    case 'comment':
    case 'nfacct':
      return undefined;
    case 'tcp':
    case 'udp':
    case 'sctp': {
      // The common shape: only a single, non-inverted destination port.
      const d = m.dport;
      const kind = m.kind;
      if (d && !d.invert && d.value.from === d.value.to && !m.sport && !(m.kind === 'tcp' && (m.flags || m.option))) {
        const port = d.value.from;
        return (p) => p.proto === kind && p.dport === port && !p.fragment;
      }
      return (p, env) => matchMatches(m, p, env);
    }
    case 'mark': {
      const { value, mask, invert } = m;
      return (p) => (((p.mark & mask) >>> 0) === value) !== invert;
    }
    case 'conntrack': {
      // The common shape: only --ctstate.
      if (m.state && Object.keys(m).filter((k) => (m as unknown as Record<string, unknown>)[k] !== undefined).length === 2) {
        const mask = stateMask(m.state.value);
        const invert = m.state.invert;
        return (_p, env) => ((ctStateBits(env.ct) & mask) !== 0) !== invert;
      }
      return (p, env) => matchMatches(m, p, env);
    }
    case 'statistic':
      return (_p, env) => env.statistic(m);
    default:
      return (p, env) => matchMatches(m, p, env);
  }
}

const ALWAYS: CompiledRule = () => true;

export function compileRule(rule: Rule): CompiledRule {
  const preds: Pred[] = [];
  const ip = rule.ip;
  if (ip.src) {
    const f = addrPred(ip.src, 'src');
    if (f) preds.push(f);
  }
  if (ip.dst) {
    const f = addrPred(ip.dst, 'dst');
    if (f) preds.push(f);
  }
  if (ip.in) preds.push(ifacePred(ip.in, 'in'));
  if (ip.out) preds.push(ifacePred(ip.out, 'out'));
  if (ip.proto) {
    const name = PROTO_NAME[ip.proto.number];
    const inv = ip.proto.invert;
    preds.push(name === undefined ? () => inv : (p) => (p.proto === name) !== inv);
  }
  if (ip.fragment) {
    const inv = ip.fragment.invert;
    preds.push((p) => !!p.fragment !== inv);
  }
  for (const m of rule.matches) {
    const f = matchPred(m.data);
    if (f) preds.push(f);
  }
  switch (preds.length) {
    case 0:
      return ALWAYS;
    case 1:
      return preds[0]!;
    case 2: {
      const [a, b] = preds as [Pred, Pred];
      return (p, env) => a(p, env) && b(p, env);
    }
    case 3: {
      const [a, b, c] = preds as [Pred, Pred, Pred];
      return (p, env) => a(p, env) && b(p, env) && c(p, env);
    }
    default:
      return (p, env) => {
        for (let i = 0; i < preds.length; i++) if (!preds[i]!(p, env)) return false;
        return true;
      };
  }
}

interface DstBucket {
  /** Rules keyed by destination only. */
  any: number[];
  /** Keyed by destination and protocol number. */
  byProto: Map<number, number[]>;
  /** Keyed by destination, protocol and destination port: proto * 65536 + port. */
  byPort: Map<number, number[]>;
}

/** A bucket with its candidate lists merged with the unkeyed rules ahead of time. */
interface MergedBucket {
  readonly any: readonly number[];
  readonly byProto: Map<number, readonly number[]>;
  readonly byPort: Map<number, readonly number[]>;
}

/** Candidate rules of a chain for a packet, in rule order. */
export interface ChainIndex {
  candidates(p: Packet): readonly number[];
  /** Number of rules reachable only through a key (for reports and tests). */
  readonly keyed: number;
}

interface RuleKey {
  dst: number | bigint;
  proto?: number;
  port?: number;
}

/** The index key of a rule, from conditions tested before any stateful match; undefined: unkeyed. */
export function ruleKey(rule: Rule): RuleKey | undefined {
  const d = rule.ip.dst;
  if (!d || d.invert || d.prefix !== (d.family === 4 ? 32 : 128)) return undefined;
  const key: RuleKey = { dst: d.net };
  const pr = rule.ip.proto;
  if (!pr || pr.invert) return key;
  key.proto = pr.number;
  for (const m of rule.matches) {
    const data = m.data;
    if (data.kind === 'statistic' || data.kind === 'recent') break;
    if ((data.kind === 'tcp' || data.kind === 'udp' || data.kind === 'sctp') && data.dport && !data.dport.invert && data.dport.value.from === data.dport.value.to) {
      key.port = data.dport.value.from;
      break;
    }
  }
  return key;
}

/** Build an index when the chain is dispatch-shaped (at least 8 rules, most keyed by destination). */
export function buildChainIndex(chain: Chain): ChainIndex | undefined {
  const rules = chain.rules;
  if (rules.length < 8) return undefined;
  const buckets = new Map<number | bigint, DstBucket>();
  const wild: number[] = [];
  let keyed = 0;
  const push = <K>(m: Map<K, number[]>, k: K, i: number) => {
    const l = m.get(k);
    if (l) l.push(i);
    else m.set(k, [i]);
  };
  rules.forEach((rule, i) => {
    const k = ruleKey(rule);
    if (!k) {
      wild.push(i);
      return;
    }
    keyed++;
    let b = buckets.get(k.dst);
    if (!b) buckets.set(k.dst, (b = { any: [], byProto: new Map(), byPort: new Map() }));
    if (k.proto === undefined) b.any.push(i);
    else if (k.port === undefined) push(b.byProto, k.proto, i);
    else push(b.byPort, k.proto * 65536 + k.port, i);
  });
  if (keyed * 2 < rules.length) return undefined;
  // Candidates = the bucket's lists at the packet's (protocol, port) level and above, plus the
  // unkeyed rules, in rule order: merged once here so a lookup allocates nothing.
  const merged = new Map<number | bigint, MergedBucket>();
  for (const [dst, b] of buckets) {
    const any = mergeSorted(b.any, wild);
    const byProto = new Map<number, readonly number[]>();
    for (const [proto, l] of b.byProto) byProto.set(proto, mergeSorted(l, b.any, wild));
    const byPort = new Map<number, readonly number[]>();
    for (const [pp, l] of b.byPort) {
      const proto = Math.floor(pp / 65536);
      byPort.set(pp, mergeSorted(l, b.byProto.get(proto), b.any, wild));
    }
    merged.set(dst, { any, byProto, byPort });
  }
  return {
    keyed,
    candidates(p: Packet): readonly number[] {
      const b = merged.get(p.dstN);
      if (!b) return wild;
      const proto = packetProtocolNumber(p);
      return b.byPort.get(proto * 65536 + p.dport) ?? b.byProto.get(proto) ?? b.any;
    },
  };
}

const EMPTY: readonly number[] = [];

function mergeSorted(...lists: (readonly number[] | undefined)[]): readonly number[] {
  let only: readonly number[] | undefined;
  let count = 0;
  for (const l of lists) {
    if (l && l.length) {
      only = l;
      count++;
    }
  }
  if (count === 0) return EMPTY;
  if (count === 1) return only!;
  const out: number[] = [];
  for (const l of lists) if (l) for (const x of l) out.push(x);
  return out.sort((x, y) => x - y);
}
