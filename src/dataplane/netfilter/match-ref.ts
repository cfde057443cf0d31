// The reference interpretation of a rule's conditions: a plain switch over the structured match
// data, written to mirror the kernel modules (xt_tcpudp, xt_multiport, xt_mark, xt_addrtype,
// xt_conntrack, xt_set, ...). The linear walk uses it directly; the compiled fast path must agree
// with it on every packet (checked by a property test).
import { addressNumber, type FlowTuple, type Packet } from '../../net/packet.js';
import { addressIn } from './addr.js';
import type { IpsetStore } from './ipset.js';
import { CTSTATE_NAMES, type ConntrackMatch, type CtStateName, type InterfaceSpec, type IpHeaderMatch, type MatchData, type PortRange, type RecentMatch, type Rule, type StatisticMatch } from './model.js';
import type { NodeModel } from './node.js';
import { inPortRange } from './options.js';

/** What conntrack says about the packet being evaluated. Undefined view = no conntrack (INVALID). */
export interface CtView {
  readonly untracked: boolean;
  readonly state: 'NEW' | 'ESTABLISHED' | 'RELATED';
  readonly direction: 'ORIGINAL' | 'REPLY';
  readonly original: FlowTuple;
  readonly reply: FlowTuple;
  readonly snat: boolean;
  readonly dnat: boolean;
  readonly seenReply: boolean;
  readonly assured: boolean;
  readonly confirmed: boolean;
  readonly mark: number;
}

/** Everything a match may consult besides the packet. Stateful matches go through it. */
export interface MatchEnv {
  readonly node: NodeModel;
  readonly ipsets: IpsetStore;
  readonly ct: CtView | undefined;
  statistic(m: StatisticMatch): boolean;
  recent(m: RecentMatch, p: Packet): boolean;
}

const PROTO_NUMBER: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132, icmp: 1, icmpv6: 58 };

export function packetProtocolNumber(p: Packet): number {
  return PROTO_NUMBER[p.proto]!;
}

export function interfaceMatches(spec: InterfaceSpec, name: string | undefined): boolean {
  const hit = name !== undefined && (spec.wildcard ? name.startsWith(spec.name) : name === spec.name);
  return hit !== spec.invert;
}

export function ipHeaderMatches(ip: IpHeaderMatch, p: Packet): boolean {
  if (ip.src && addressIn(ip.src, p.srcN) === ip.src.invert) return false;
  if (ip.dst && addressIn(ip.dst, p.dstN) === ip.dst.invert) return false;
  if (ip.in && !interfaceMatches(ip.in, p.inInterface)) return false;
  if (ip.out && !interfaceMatches(ip.out, p.outInterface)) return false;
  if (ip.proto && (packetProtocolNumber(p) === ip.proto.number) === ip.proto.invert) return false;
  if (ip.fragment && !!p.fragment === ip.fragment.invert) return false;
  return true;
}

function portIn(r: { value: PortRange; invert: boolean } | undefined, port: number): boolean {
  return !r || inPortRange(r.value, port) !== r.invert;
}

/** Conntrack state bits, in the order of CTSTATE_NAMES: INVALID, NEW, RELATED, ESTABLISHED, UNTRACKED, SNAT, DNAT. */
export const CT_INVALID = 1;
export const CT_NEW = 2;
export const CT_RELATED = 4;
export const CT_ESTABLISHED = 8;
export const CT_UNTRACKED = 16;
export const CT_SNAT = 32;
export const CT_DNAT = 64;

/** The state bits xt_conntrack computes for a packet (SNAT/DNAT from the connection's NAT status). */
export function ctStateBits(ct: CtView | undefined): number {
  if (!ct) return CT_INVALID;
  if (ct.untracked) return CT_UNTRACKED;
  let bits = ct.state === 'NEW' ? CT_NEW : ct.state === 'ESTABLISHED' ? CT_ESTABLISHED : CT_RELATED;
  if (ct.snat) bits |= CT_SNAT;
  if (ct.dnat) bits |= CT_DNAT;
  return bits;
}

/** The bit set of a list of state names. */
export function stateMask(names: readonly CtStateName[]): number {
  let m = 0;
  for (const n of names) m |= 1 << CTSTATE_NAMES.indexOf(n);
  return m;
}

function conntrackMatches(m: ConntrackMatch, ct: CtView | undefined): boolean {
  if (m.state && ((ctStateBits(ct) & stateMask(m.state.value)) !== 0) === m.state.invert) return false;
  // Without a connection (INVALID or untracked) only --ctstate can match, as in xt_conntrack.
  if (!ct || ct.untracked) return !!m.state;
  if (m.direction && m.direction !== ct.direction) return false;
  if (m.proto && (PROTO_NUMBER[ct.original.proto] === m.proto.value.number) === m.proto.invert) return false;
  const addr = (spec: ConntrackMatch['origSrc'], text: string): boolean => {
    if (!spec) return true;
    const pkt = addressOf(text);
    return pkt !== undefined && addressIn(spec.value, pkt) !== spec.invert;
  };
  if (!addr(m.origSrc, ct.original.src) || !addr(m.origDst, ct.original.dst)) return false;
  if (!addr(m.replSrc, ct.reply.src) || !addr(m.replDst, ct.reply.dst)) return false;
  if (!portIn(m.origSrcPort, ct.original.sport) || !portIn(m.origDstPort, ct.original.dport)) return false;
  if (!portIn(m.replSrcPort, ct.reply.sport) || !portIn(m.replDstPort, ct.reply.dport)) return false;
  if (m.status) {
    const bits = new Set<string>();
    if (ct.seenReply) bits.add('SEEN_REPLY');
    if (ct.assured) bits.add('ASSURED');
    if (ct.confirmed) bits.add('CONFIRMED');
    const hit = m.status.value.some((s) => bits.has(s));
    if (hit === m.status.invert) return false;
  }
  return true;
}

const addressCache = new Map<string, number | bigint>();
function addressOf(text: string): number | bigint | undefined {
  let n = addressCache.get(text);
  if (n === undefined) {
    n = addressNumber(text)?.n;
    if (n !== undefined && addressCache.size < 100_000) addressCache.set(text, n);
  }
  return n;
}

function hasPorts(p: Packet): boolean {
  return p.proto === 'tcp' || p.proto === 'udp' || p.proto === 'sctp';
}

export function matchMatches(m: MatchData, p: Packet, env: MatchEnv): boolean {
  switch (m.kind) {
    case 'tcp':
      if (p.proto !== 'tcp' || p.fragment) return false;
      if (!portIn(m.sport, p.sport) || !portIn(m.dport, p.dport)) return false;
      if (m.flags && ((p.tcpFlags & m.flags.value.mask) === m.flags.value.comp) === m.flags.invert) return false;
      if (m.option && !m.option.invert) return false; // TCP options are not modelled: no packet carries one
      return true;
    case 'udp':
    case 'sctp':
      if (p.proto !== m.kind || p.fragment) return false;
      return portIn(m.sport, p.sport) && portIn(m.dport, p.dport);
    case 'icmp':
    case 'icmp6': {
      if (p.proto !== (m.kind === 'icmp' ? 'icmp' : 'icmpv6') || p.fragment) return false;
      if (m.type === 'any') return !m.invert;
      const hit = p.icmpType === m.type.type && (p.icmpCode ?? 0) >= m.type.codeMin && (p.icmpCode ?? 0) <= m.type.codeMax;
      return hit !== m.invert;
    }
    case 'multiport': {
      if (!hasPorts(p) || p.fragment) return false;
      let hit = false;
      for (const r of m.ports) {
        if ((m.direction !== 'dst' && inPortRange(r, p.sport)) || (m.direction !== 'src' && inPortRange(r, p.dport))) {
          hit = true;
          break;
        }
      }
      return hit !== m.invert;
    }
    case 'comment':
    case 'nfacct':
      return true;
    case 'mark':
      return (((p.mark & m.mask) >>> 0) === m.value) !== m.invert;
    case 'connmark': {
      const cm = env.ct && !env.ct.untracked ? env.ct.mark : undefined;
      if (cm === undefined) return false;
      return (((cm & m.mask) >>> 0) === m.value) !== m.invert;
    }
    case 'addrtype': {
      const node = env.node;
      if (m.srcType) {
        const iface = m.limitIfaceIn ? p.inInterface : m.limitIfaceOut ? p.outInterface : undefined;
        const bit = node.addrTypeBit(p.src, p.srcN, p.family, iface);
        if (((m.srcType.value & (1 << bit)) !== 0) === m.srcType.invert) return false;
      }
      if (m.dstType) {
        const iface = m.limitIfaceIn ? p.inInterface : m.limitIfaceOut ? p.outInterface : undefined;
        const bit = node.addrTypeBit(p.dst, p.dstN, p.family, iface);
        if (((m.dstType.value & (1 << bit)) !== 0) === m.dstType.invert) return false;
      }
      return true;
    }
    case 'statistic':
      return env.statistic(m);
    case 'recent':
      return env.recent(m, p);
    case 'conntrack':
      return conntrackMatches(m, env.ct);
    case 'state':
      return ((ctStateBits(env.ct) & stateMask(m.states)) !== 0) !== m.invert;
    case 'set': {
      const r = env.ipsets.test(m.name, p, m.directions);
      const hit = m.returnNomatch ? r === 'nomatch' : r === 'match';
      return hit !== m.invert;
    }
    case 'physdev': {
      // Packets are never bridged in this model: any non-inverted physdev condition fails (xt_physdev).
      if (m.isBridged && !m.isBridgedInvert) return false;
      if (m.isIn && !m.isInInvert) return false;
      if (m.isOut && !m.isOutInvert) return false;
      if (m.in && !m.in.invert) return false;
      if (m.out && !m.out.invert) return false;
      return true;
    }
    case 'ipvs': {
      // xt_ipvs: the IPVS property first (every option implies it), then the connection's fields.
      const c = p.ipvs;
      if ((c !== undefined) === m.property.invert) return false;
      if (!c) return true; // `! --ipvs` alone
      if (m.vproto && (c.vproto === m.vproto.value) === m.vproto.invert) return false;
      if (m.vport && (c.vport === m.vport.value) === m.vport.invert) return false;
      if (m.vportctl && m.vportctl.invert === false) return false; // no connection has a control connection here
      if (m.vdir) {
        const reply = env.ct?.direction === 'REPLY';
        if (!env.ct || env.ct.untracked || reply !== (m.vdir === 'REPLY')) return false;
      }
      if (m.vmethod && (c.method === m.vmethod.value) === m.vmethod.invert) return false;
      if (m.vaddr) {
        const a = addressNumber(c.vaddr);
        if (!a || addressIn(m.vaddr.value, a.n) === m.vaddr.invert) return false;
      }
      return true;
    }
    case 'iprange': {
      const within = (r: { from: number | bigint; to: number | bigint }, n: number | bigint) => n >= r.from && n <= r.to;
      if (m.src && within(m.src.value, p.srcN) === m.src.invert) return false;
      if (m.dst && within(m.dst.value, p.dstN) === m.dst.invert) return false;
      return true;
    }
  }
}

/** First-match semantics of one rule: the IP header part, then each match in order, stopping at the first failure. */
export function ruleMatches(rule: Rule, p: Packet, env: MatchEnv): boolean {
  if (!ipHeaderMatches(rule.ip, p)) return false;
  for (const m of rule.matches) if (!matchMatches(m.data, p, env)) return false;
  return true;
}
