// The packet every data-plane element reads and rewrites. Immutable: NAT and marking build a
// changed copy (`rewritePacket`, `withMeta`). Addresses are kept as text (what reports print) and
// as numbers (what matchers compare): IPv4 as an unsigned 32-bit number, IPv6 as a BigInt.
import { formatIp, parseIp, parseIPv4 } from './ip.js';

export type AddressFamily = 4 | 6;
export type L4Protocol = 'tcp' | 'udp' | 'sctp' | 'icmp' | 'icmpv6';

/** TCP flag bits, as in the TCP header's flags byte (and iptables' `--tcp-flags`). */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;

/** The states conntrack gives a packet (what `-m conntrack --ctstate` and `-m state` test). */
export type ConntrackState = 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID' | 'UNTRACKED';

/** One direction of a connection: what conntrack keys on. Ports are 0 for protocols without ports. */
export interface FlowTuple {
  readonly proto: L4Protocol;
  readonly src: string;
  readonly sport: number;
  readonly dst: string;
  readonly dport: number;
}

/** What conntrack knows about the connection a packet belongs to. */
export interface PacketConntrack {
  readonly state: ConntrackState;
  readonly direction: 'ORIGINAL' | 'REPLY';
  /** The tuple of the first packet, before any NAT. */
  readonly original: FlowTuple;
  /** The tuple replies are expected to carry (after NAT: src = DNAT target, dst = SNAT source). */
  readonly reply: FlowTuple;
  readonly seenReply: boolean;
  readonly assured: boolean;
  readonly confirmed: boolean;
  /** The connection's NAT changed its source (ctstate SNAT) / destination (ctstate DNAT). */
  readonly snat: boolean;
  readonly dnat: boolean;
  /** The connection mark (CONNMARK, `-m connmark`). */
  readonly mark: number;
}

/** The IPVS connection a packet belongs to: its virtual service and forwarding method. */
export interface PacketIpvs {
  readonly vaddr: string;
  readonly vport: number;
  /** IP protocol number (6 TCP, 17 UDP, 132 SCTP). */
  readonly vproto: number;
  readonly method: 'GATE' | 'IPIP' | 'MASQ';
}

/** Optional application-layer view, carried through L3/L4 elements untouched. */
export interface PacketL7 {
  readonly scheme?: string;
  readonly host?: string;
  readonly path?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly sni?: string;
}

export interface Packet {
  readonly family: AddressFamily;
  readonly src: string;
  readonly dst: string;
  /** Numeric forms of src/dst: number (IPv4, unsigned) or bigint (IPv6). */
  readonly srcN: number | bigint;
  readonly dstN: number | bigint;
  readonly ttl: number;
  readonly proto: L4Protocol;
  /** 0 for ICMP. */
  readonly sport: number;
  readonly dport: number;
  /** Bit set of TCP_* flags; 0 for other protocols. */
  readonly tcpFlags: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /** The skb mark (nfmark). */
  readonly mark: number;
  /** Set by a conntrack-aware element; absent means "not looked up yet". */
  readonly ct?: PacketConntrack;
  readonly inInterface?: string;
  readonly outInterface?: string;
  /** Fragment offset is non-zero (what `-f` matches). */
  readonly fragment?: boolean;
  readonly zone?: string;
  /** Set on a packet IPVS sent for a connection it scheduled (the kernel's skb->ipvs_property and its connection). */
  readonly ipvs?: PacketIpvs;
  readonly l7?: PacketL7;
}

export interface PacketInit {
  readonly src: string;
  readonly dst: string;
  readonly proto: L4Protocol;
  readonly sport?: number;
  readonly dport?: number;
  readonly ttl?: number;
  readonly tcpFlags?: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  readonly mark?: number;
  readonly ct?: PacketConntrack;
  readonly inInterface?: string;
  readonly outInterface?: string;
  readonly fragment?: boolean;
  readonly zone?: string;
  readonly l7?: PacketL7;
  readonly ipvs?: PacketIpvs;
}

/** Parse an address to its numeric form; undefined when it is not an IPv4 or IPv6 address. */
export function addressNumber(text: string): { family: AddressFamily; n: number | bigint } | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return { family: 4, n: v4 };
  const ip = parseIp(text);
  return ip && ip.family === 'IPv6' ? { family: 6, n: ip.value } : undefined;
}

/** Canonical text of an address (RFC 5952 for IPv6), so equal addresses compare equal as text. */
export function canonicalAddress(text: string): string {
  const a = addressNumber(text);
  if (!a) throw new Error(`not an IP address: ${JSON.stringify(text)}`);
  return a.family === 4 ? text : formatIp({ family: 'IPv6', value: a.n as bigint });
}

/** A packet whose fields may be assigned: what `copyPacket` returns, before it is handed on. */
export type MutablePacket = { -readonly [K in keyof Packet]: Packet[K] };

/**
 * A copy with every field present (optional ones as undefined), so that all packets share one
 * object shape: evaluators copy packets on every NAT and mark, and spreads of mixed shapes are slow.
 */
export function copyPacket(p: Packet): MutablePacket {
  return {
    family: p.family,
    src: p.src,
    dst: p.dst,
    srcN: p.srcN,
    dstN: p.dstN,
    ttl: p.ttl,
    proto: p.proto,
    sport: p.sport,
    dport: p.dport,
    tcpFlags: p.tcpFlags,
    icmpType: p.icmpType,
    icmpCode: p.icmpCode,
    mark: p.mark,
    ct: p.ct,
    inInterface: p.inInterface,
    outInterface: p.outInterface,
    fragment: p.fragment,
    zone: p.zone,
    l7: p.l7,
    ipvs: p.ipvs,
  };
}

/** Build a packet, filling numeric forms and defaults (TTL 64, mark 0, a SYN for TCP). */
export function makePacket(init: PacketInit): Packet {
  const s = addressNumber(init.src);
  const d = addressNumber(init.dst);
  if (!s || !d) throw new Error(`packet needs IP addresses, got ${init.src} -> ${init.dst}`);
  if (s.family !== d.family) throw new Error(`packet mixes address families: ${init.src} -> ${init.dst}`);
  const hasPorts = init.proto === 'tcp' || init.proto === 'udp' || init.proto === 'sctp';
  return copyPacket({
    family: s.family,
    src: s.family === 6 ? canonicalAddress(init.src) : init.src,
    dst: d.family === 6 ? canonicalAddress(init.dst) : init.dst,
    srcN: s.n,
    dstN: d.n,
    ttl: init.ttl ?? 64,
    proto: init.proto,
    sport: hasPorts ? (init.sport ?? 0) : 0,
    dport: hasPorts ? (init.dport ?? 0) : 0,
    tcpFlags: init.proto === 'tcp' ? (init.tcpFlags ?? TCP_SYN) : 0,
    icmpType: init.icmpType,
    icmpCode: init.icmpCode,
    mark: init.mark ?? 0,
    ct: init.ct,
    inInterface: init.inInterface,
    outInterface: init.outInterface,
    fragment: init.fragment,
    zone: init.zone,
    l7: init.l7,
    ipvs: init.ipvs,
  });
}

/** A copy with some of src/sport/dst/dport replaced (what NAT does). */
export function rewritePacket(
  p: Packet,
  change: {
    readonly src?: string;
    readonly sport?: number;
    readonly dst?: string;
    readonly dport?: number;
    /** Numeric forms of src/dst when the caller has them (skips parsing). */
    readonly srcN?: number | bigint;
    readonly dstN?: number | bigint;
  },
): Packet {
  const out = copyPacket(p);
  if (change.src !== undefined && change.src !== p.src) {
    if (change.srcN !== undefined && p.family === 4) {
      out.src = change.src;
      out.srcN = change.srcN;
    } else {
      const a = addressNumber(change.src);
      if (!a || a.family !== p.family) throw new Error(`cannot rewrite source to ${change.src}`);
      out.src = a.family === 6 ? canonicalAddress(change.src) : change.src;
      out.srcN = a.n;
    }
  }
  if (change.dst !== undefined && change.dst !== p.dst) {
    if (change.dstN !== undefined && p.family === 4) {
      out.dst = change.dst;
      out.dstN = change.dstN;
    } else {
      const a = addressNumber(change.dst);
      if (!a || a.family !== p.family) throw new Error(`cannot rewrite destination to ${change.dst}`);
      out.dst = a.family === 6 ? canonicalAddress(change.dst) : change.dst;
      out.dstN = a.n;
    }
  }
  if (change.sport !== undefined) out.sport = change.sport;
  if (change.dport !== undefined) out.dport = change.dport;
  return out;
}

/** The tuple a packet carries, as conntrack sees it (ICMP echo id is not modelled: ports are 0). */
export function packetTuple(p: Packet): FlowTuple {
  return { proto: p.proto, src: p.src, sport: p.sport, dst: p.dst, dport: p.dport };
}

/** The tuple of the opposite direction. */
export function invertTuple(t: FlowTuple): FlowTuple {
  return { proto: t.proto, src: t.dst, sport: t.dport, dst: t.src, dport: t.sport };
}

/** `tcp 10.0.0.1:1234 -> 10.0.0.2:80` (IPv6 addresses bracketed). */
export function formatTuple(t: FlowTuple): string {
  const hp = (a: string, port: number) => (a.includes(':') ? `[${a}]:${port}` : `${a}:${port}`);
  return `${t.proto} ${hp(t.src, t.sport)} -> ${hp(t.dst, t.dport)}`;
}

const FLAG_NAMES: readonly [number, string][] = [
  [TCP_FIN, 'FIN'],
  [TCP_SYN, 'SYN'],
  [TCP_RST, 'RST'],
  [TCP_PSH, 'PSH'],
  [TCP_ACK, 'ACK'],
  [TCP_URG, 'URG'],
];

/** `SYN,ACK`, or `NONE`. */
export function formatTcpFlags(flags: number): string {
  const names = FLAG_NAMES.filter(([bit]) => flags & bit).map(([, n]) => n);
  return names.length ? names.join(',') : 'NONE';
}
