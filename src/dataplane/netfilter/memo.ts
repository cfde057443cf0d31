// A traversal cache for the fast path, in the spirit of Open vSwitch's megaflow cache: a table
// traversal that ran only pure rules (no statistic, recent or set match fired on the way, no
// target that changes the packet or state) is a function of the packet fields its rules read.
// Its result is stored with the read mask and the index lookups it made, and reused for a later
// packet whose masked fields are equal and whose index lookups return the same candidates.
// Branches of one packet (the endpoints of a Service) differ only in their DNAT destination, so
// the FORWARD and POSTROUTING traversals they share are computed once.
import type { Packet } from '../../net/packet.js';
import type { ChainIndex } from './compile.js';
import { ctStateBits, type CtView } from './match-ref.js';
import type { AddressSpec, MatchData, Rule } from './model.js';

export const F_SRC = 1;
export const F_DST = 2;
export const F_SPORT = 4;
export const F_DPORT = 8;
export const F_PROTO = 16;
export const F_IN = 32;
export const F_OUT = 64;
export const F_MARK = 128;
export const F_CTSTATE = 256;
export const F_CT = 512;
export const F_FRAG = 1024;
export const F_TCPFLAGS = 2048;
export const F_ICMP = 4096;
/** The rule has a match whose result is not a function of the packet (statistic, recent, set). */
export const IMPURE = -1;

/** The packet fields a match reads; IMPURE when its result is not a function of the packet. */
function matchReads(m: MatchData): number {
  switch (m.kind) {
    case 'tcp':
      return F_PROTO | F_FRAG | (m.sport ? F_SPORT : 0) | (m.dport ? F_DPORT : 0) | (m.flags || m.option ? F_TCPFLAGS : 0);
    case 'udp':
    case 'sctp':
      return F_PROTO | F_FRAG | (m.sport ? F_SPORT : 0) | (m.dport ? F_DPORT : 0);
    case 'multiport':
      return F_PROTO | F_FRAG | (m.direction !== 'dst' ? F_SPORT : 0) | (m.direction !== 'src' ? F_DPORT : 0);
    case 'icmp':
    case 'icmp6':
      return F_PROTO | F_FRAG | F_ICMP;
    case 'comment':
    case 'nfacct':
    case 'physdev':
      return 0;
    case 'mark':
      return F_MARK;
    case 'connmark':
      return F_CT;
    case 'addrtype':
      return (m.srcType ? F_SRC : 0) | (m.dstType ? F_DST : 0) | (m.limitIfaceIn ? F_IN : 0) | (m.limitIfaceOut ? F_OUT : 0);
    case 'iprange':
      return (m.src ? F_SRC : 0) | (m.dst ? F_DST : 0);
    case 'state':
      return F_CTSTATE;
    case 'conntrack': {
      const onlyState = m.state !== undefined && Object.keys(m).every((k) => k === 'kind' || k === 'state' || (m as unknown as Record<string, unknown>)[k] === undefined);
      return onlyState ? F_CTSTATE : F_CT;
    }
    case 'statistic':
    case 'recent':
    case 'set':
    case 'ipvs':
      return IMPURE;
  }
}

/**
 * The packet fields a rule's conditions read, or IMPURE. A `-s` address is not counted here: the
 * walk counts the bits of the source it decides on (srcBitsDeciding), so that one cached traversal
 * serves every source in the same prefix.
 */
export function ruleReads(rule: Rule): number {
  return readsExcept(rule, false);
}

/**
 * The same for the evaluation cache (flow-cache.ts): a random `statistic` match reads nothing of the
 * packet (its branches are enumerated); the other stateful matches are IMPURE.
 */
export function ruleFlowReads(rule: Rule): number {
  return readsExcept(rule, true);
}

function readsExcept(rule: Rule, randomIsPure: boolean): number {
  let r = 0;
  const ip = rule.ip;
  if (ip.dst) r |= F_DST;
  if (ip.in) r |= F_IN;
  if (ip.out) r |= F_OUT;
  if (ip.proto) r |= F_PROTO;
  if (ip.fragment) r |= F_FRAG;
  for (const m of rule.matches) {
    const x = randomIsPure && m.data.kind === 'statistic' && m.data.mode === 'random' ? 0 : matchReads(m.data);
    if (x === IMPURE) return IMPURE;
    r |= x;
  }
  return r;
}

/** A rule's `-s` condition when it tests any bit (prefix > 0). */
export function ruleSource(rule: Rule): AddressSpec | undefined {
  const s = rule.ip.src;
  return s && s.prefix > 0 ? s : undefined;
}

/**
 * How many leading bits of a source address decide `-s spec` for `srcN`: the whole prefix when
 * they match it, else up to the first bit that differs (every address sharing those bits differs
 * there too) - the prefix tracking of Open vSwitch's megaflow classifier.
 */
export function srcBitsDeciding(spec: AddressSpec, srcN: number | bigint): number {
  if (spec.family === 4) {
    const x = ((srcN as number) ^ (spec.net as number)) & (spec.mask as number);
    return x === 0 ? spec.prefix : Math.clz32(x) + 1;
  }
  const x = ((srcN as bigint) ^ (spec.net as bigint)) & (spec.mask as bigint);
  return x === 0n ? spec.prefix : 128 - x.toString(2).length + 1;
}

/** Whether two addresses agree on their first `bits` bits. */
export function samePrefix(a: number | bigint, b: number | bigint, bits: number): boolean {
  if (bits === 0) return true;
  if (typeof a === 'number') return bits >= 32 ? a === b : ((a ^ (b as number)) >>> (32 - bits)) === 0;
  return bits >= 128 ? a === b : (a ^ (b as bigint)) >> BigInt(128 - bits) === 0n;
}

/** One recorded step of a cached traversal: the rule (or the policy of a chain) and its verdict. */
export interface StepDef {
  readonly rule: unknown;
  readonly policyOf: unknown;
  readonly verdict: string;
}

export interface MemoEntry {
  readonly reads: number;
  /** Leading bits of the source the traversal's `-s` conditions decided on. */
  readonly srcBits: number;
  readonly packet: Packet;
  readonly ctBits: number;
  readonly ct: CtView | undefined;
  readonly lookups: readonly (ChainIndex | readonly number[])[];
  readonly result: number;
  readonly rejectWith: string;
  readonly steps: readonly StepDef[];
}

function sameCt(a: CtView | undefined, b: CtView | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    a.untracked === b.untracked &&
    a.state === b.state &&
    a.direction === b.direction &&
    a.snat === b.snat &&
    a.dnat === b.dnat &&
    a.seenReply === b.seenReply &&
    a.assured === b.assured &&
    a.confirmed === b.confirmed &&
    a.mark === b.mark &&
    sameTuple(a.original, b.original) &&
    sameTuple(a.reply, b.reply)
  );
}

function sameTuple(a: CtView['original'], b: CtView['original']): boolean {
  return a.proto === b.proto && a.src === b.src && a.sport === b.sport && a.dst === b.dst && a.dport === b.dport;
}

/** Whether `p` (with conntrack view `ct`) would take the traversal recorded in `e`. */
export function memoHit(e: MemoEntry, p: Packet, ct: CtView | undefined): boolean {
  const m = e.reads;
  const q = e.packet;
  if (m & F_SRC ? p.srcN !== q.srcN : !samePrefix(p.srcN, q.srcN, e.srcBits)) return false;
  if (m & F_DST && p.dstN !== q.dstN) return false;
  if (m & F_SPORT && p.sport !== q.sport) return false;
  if (m & F_DPORT && p.dport !== q.dport) return false;
  if (m & F_PROTO && p.proto !== q.proto) return false;
  if (m & F_IN && p.inInterface !== q.inInterface) return false;
  if (m & F_OUT && p.outInterface !== q.outInterface) return false;
  if (m & F_MARK && p.mark !== q.mark) return false;
  if (m & F_FRAG && !!p.fragment !== !!q.fragment) return false;
  if (m & F_TCPFLAGS && p.tcpFlags !== q.tcpFlags) return false;
  if (m & F_ICMP && (p.icmpType !== q.icmpType || p.icmpCode !== q.icmpCode)) return false;
  if (m & F_CTSTATE && ctStateBits(ct) !== e.ctBits) return false;
  if (m & F_CT && !sameCt(ct, e.ct)) return false;
  const l = e.lookups;
  for (let i = 0; i < l.length; i += 2) if ((l[i] as ChainIndex).candidates(p) !== l[i + 1]) return false;
  return true;
}

/** A snapshot of a conntrack view for F_CT comparisons (the walk's view is mutable). */
export function freezeCt(ct: CtView | undefined): CtView | undefined {
  return ct && { ...ct, original: { ...ct.original }, reply: { ...ct.reply } };
}
