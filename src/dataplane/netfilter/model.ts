// The netfilter model: tables, chains, rules with their matches and target, as plain data.
// It knows nothing of Kubernetes. The ruleset keeps its source lines as written (for the exact
// printer); rules have a structured form (for the evaluator and the canonical, iptables-save-like
// printer).
import type { AddressFamily } from '../../net/packet.js';
import type { Fraction } from './probability.js';

export type TableName = 'raw' | 'mangle' | 'nat' | 'filter' | 'security';
export type Hook = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';

export const TABLE_NAMES: readonly TableName[] = ['raw', 'mangle', 'nat', 'filter', 'security'];

/** Built-in chains of each table, in the order iptables-save lists them. */
export const BUILTIN_CHAINS: Readonly<Record<TableName, readonly Hook[]>> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

export function isTableName(s: string): s is TableName {
  return (TABLE_NAMES as readonly string[]).includes(s);
}

export function isBuiltinChain(table: TableName, chain: string): chain is Hook {
  return (BUILTIN_CHAINS[table] as readonly string[]).includes(chain);
}

// ---------------------------------------------------------------- the IP header part of a rule

/** An address or network, e.g. `-s 10.0.0.0/8`. IPv4 numbers are unsigned 32-bit. */
export interface AddressSpec {
  readonly family: AddressFamily;
  readonly net: number | bigint;
  readonly mask: number | bigint;
  readonly prefix: number;
  /** `10.0.0.0/8` (network address, prefix), as iptables-save prints it. */
  readonly text: string;
}

export interface InterfaceSpec {
  readonly name: string;
  /** `eth+`: matches every interface starting with `eth`. */
  readonly wildcard: boolean;
  readonly invert: boolean;
}

export interface ProtocolSpec {
  /** Protocol number; 0 means all. */
  readonly number: number;
  /** The name iptables-save prints (`tcp`, `udp`, ..., or the number). */
  readonly name: string;
  readonly invert: boolean;
}

export interface IpHeaderMatch {
  readonly src?: AddressSpec & { readonly invert: boolean };
  readonly dst?: AddressSpec & { readonly invert: boolean };
  readonly in?: InterfaceSpec;
  readonly out?: InterfaceSpec;
  readonly proto?: ProtocolSpec;
  readonly fragment?: { readonly invert: boolean };
}

// ---------------------------------------------------------------- matches

export interface PortRange {
  readonly from: number;
  readonly to: number;
}

export interface Inverted<T> {
  readonly value: T;
  readonly invert: boolean;
}

export interface TcpMatch {
  readonly kind: 'tcp';
  readonly sport?: Inverted<PortRange>;
  readonly dport?: Inverted<PortRange>;
  readonly flags?: Inverted<{ readonly mask: number; readonly comp: number }>;
  readonly option?: Inverted<number>;
}

export interface UdpMatch {
  readonly kind: 'udp' | 'sctp';
  readonly sport?: Inverted<PortRange>;
  readonly dport?: Inverted<PortRange>;
}

export interface IcmpMatch {
  readonly kind: 'icmp' | 'icmp6';
  /** 'any', or a type with a code range (0..255 when no code was given). */
  readonly type: 'any' | { readonly type: number; readonly codeMin: number; readonly codeMax: number };
  readonly invert: boolean;
}

export interface MultiportMatch {
  readonly kind: 'multiport';
  readonly direction: 'src' | 'dst' | 'both';
  readonly ports: readonly PortRange[];
  readonly invert: boolean;
}

export interface CommentMatch {
  readonly kind: 'comment';
  readonly comment: string;
}

export interface MarkMatch {
  readonly kind: 'mark' | 'connmark';
  readonly value: number;
  readonly mask: number;
  readonly invert: boolean;
}

/** Address types of `-m addrtype`, as bit positions (RTN_*). */
export const ADDRTYPE_NAMES = [
  'UNSPEC',
  'UNICAST',
  'LOCAL',
  'BROADCAST',
  'ANYCAST',
  'MULTICAST',
  'BLACKHOLE',
  'UNREACHABLE',
  'PROHIBIT',
  'THROW',
  'NAT',
  'XRESOLVE',
] as const;
export type AddrType = (typeof ADDRTYPE_NAMES)[number];

export interface AddrtypeMatch {
  readonly kind: 'addrtype';
  /** Bit set over ADDRTYPE_NAMES. */
  readonly srcType?: Inverted<number>;
  readonly dstType?: Inverted<number>;
  readonly limitIfaceIn: boolean;
  readonly limitIfaceOut: boolean;
}

export type StatisticMatch =
  | {
      readonly kind: 'statistic';
      readonly mode: 'random';
      /** The probability as written. */
      readonly probability: Fraction;
      /** The same as a float, for the hot path. */
      readonly probabilityValue: number;
      /** 0: never fires (P = 0), 1: always fires (P >= 1), undefined: a real choice. */
      readonly certainty: 0 | 1 | undefined;
      readonly probabilityText: string;
      readonly invert: boolean;
    }
  | {
      readonly kind: 'statistic';
      readonly mode: 'nth';
      readonly every: number;
      readonly packet: number;
      readonly invert: boolean;
    };

export interface RecentMatch {
  readonly kind: 'recent';
  readonly command: 'set' | 'rcheck' | 'update' | 'remove';
  readonly invert: boolean;
  readonly seconds: number;
  readonly reap: boolean;
  readonly hitcount: number;
  readonly rttl: boolean;
  readonly name: string;
  /** Mask applied to the address before lookup (family of the ruleset). */
  readonly mask: AddressSpec;
  readonly side: 'source' | 'dest';
}

export const CTSTATE_NAMES = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED', 'SNAT', 'DNAT'] as const;
export type CtStateName = (typeof CTSTATE_NAMES)[number];
export const CTSTATUS_NAMES = ['EXPECTED', 'SEEN_REPLY', 'ASSURED', 'CONFIRMED'] as const;
export type CtStatusName = (typeof CTSTATUS_NAMES)[number];

export interface ConntrackMatch {
  readonly kind: 'conntrack';
  readonly state?: Inverted<readonly CtStateName[]>;
  readonly proto?: Inverted<ProtocolSpec>;
  readonly origSrc?: Inverted<AddressSpec>;
  readonly origDst?: Inverted<AddressSpec>;
  readonly replSrc?: Inverted<AddressSpec>;
  readonly replDst?: Inverted<AddressSpec>;
  readonly origSrcPort?: Inverted<PortRange>;
  readonly origDstPort?: Inverted<PortRange>;
  readonly replSrcPort?: Inverted<PortRange>;
  readonly replDstPort?: Inverted<PortRange>;
  /** Empty list means NONE. */
  readonly status?: Inverted<readonly CtStatusName[]>;
  readonly direction?: 'ORIGINAL' | 'REPLY';
}

export interface StateMatch {
  readonly kind: 'state';
  readonly states: readonly CtStateName[];
  readonly invert: boolean;
}

export type SetDirection = 'src' | 'dst';

export interface SetMatch {
  readonly kind: 'set';
  readonly name: string;
  readonly directions: readonly SetDirection[];
  readonly invert: boolean;
  readonly returnNomatch: boolean;
  readonly updateCounters: boolean;
  readonly updateSubcounters: boolean;
}

export interface NfacctMatch {
  readonly kind: 'nfacct';
  readonly name: string;
}

export interface PhysdevMatch {
  readonly kind: 'physdev';
  readonly isIn?: boolean;
  readonly in?: InterfaceSpec;
  readonly isOut?: boolean;
  readonly out?: InterfaceSpec;
  readonly isBridged?: boolean;
  /** Inversions of the --physdev-is-* flags. */
  readonly isInInvert?: boolean;
  readonly isOutInvert?: boolean;
  readonly isBridgedInvert?: boolean;
}

export interface IprangeMatch {
  readonly kind: 'iprange';
  readonly src?: Inverted<{ readonly from: number | bigint; readonly to: number | bigint; readonly text: string }>;
  readonly dst?: Inverted<{ readonly from: number | bigint; readonly to: number | bigint; readonly text: string }>;
}

/**
 * `-m ipvs` (xt_ipvs): does the packet belong to an IPVS connection, and with which virtual service.
 * Every option implies `--ipvs` (the packet carries IPVS's property), as the kernel's bitmask does.
 */
export interface IpvsMatch {
  readonly kind: 'ipvs';
  /** `[!] --ipvs`. */
  readonly property: Inverted<true>;
  readonly vproto?: Inverted<number>;
  readonly vaddr?: Inverted<AddressSpec>;
  readonly vport?: Inverted<number>;
  /** `--vdir ORIGINAL|REPLY`. */
  readonly vdir?: 'ORIGINAL' | 'REPLY';
  readonly vmethod?: Inverted<'GATE' | 'IPIP' | 'MASQ'>;
  readonly vportctl?: Inverted<number>;
}

export type MatchData =
  | IpvsMatch
  | TcpMatch
  | UdpMatch
  | IcmpMatch
  | MultiportMatch
  | CommentMatch
  | MarkMatch
  | AddrtypeMatch
  | StatisticMatch
  | RecentMatch
  | ConntrackMatch
  | StateMatch
  | SetMatch
  | NfacctMatch
  | PhysdevMatch
  | IprangeMatch;

export interface Match {
  /** The module name (`-m NAME`). */
  readonly module: string;
  /** Loaded by a protocol option without `-m` (`-p tcp --dport 80`). */
  readonly implicit: boolean;
  readonly data: MatchData;
}

// ---------------------------------------------------------------- targets

export interface NatRange {
  readonly minAddr?: string;
  readonly maxAddr?: string;
  /** Numeric form of minAddr (IPv4 number or IPv6 BigInt). */
  readonly minAddrN?: number | bigint;
  readonly minPort?: number;
  readonly maxPort?: number;
}

export type TargetData =
  | { readonly kind: 'ACCEPT' | 'DROP' | 'RETURN' | 'QUEUE' }
  | { readonly kind: 'jump'; readonly chain: string }
  | { readonly kind: 'goto'; readonly chain: string }
  | { readonly kind: 'REJECT'; readonly with: string }
  | {
      readonly kind: 'DNAT' | 'SNAT';
      readonly range: NatRange;
      readonly random: boolean;
      readonly randomFully: boolean;
      readonly persistent: boolean;
    }
  | { readonly kind: 'MASQUERADE' | 'REDIRECT'; readonly range: NatRange; readonly random: boolean; readonly randomFully: boolean }
  /** new mark = (mark & ~mask) ^ value. */
  | { readonly kind: 'MARK'; readonly value: number; readonly mask: number }
  | { readonly kind: 'CONNMARK'; readonly mode: 'set'; readonly value: number; readonly mask: number }
  | { readonly kind: 'CONNMARK'; readonly mode: 'save' | 'restore'; readonly nfmask: number; readonly ctmask: number }
  | {
      readonly kind: 'LOG';
      readonly prefix: string;
      readonly level: number;
      readonly flags: readonly string[];
    }
  | {
      readonly kind: 'NFLOG';
      readonly prefix: string;
      readonly group: number;
      readonly size?: number;
      readonly threshold: number;
    }
  | { readonly kind: 'TRACE' }
  | { readonly kind: 'NOTRACK' }
  | { readonly kind: 'CT'; readonly notrack: boolean; readonly zone?: number }
  | { readonly kind: 'TCPMSS'; readonly clampToPmtu: boolean; readonly mss?: number };

export interface Target {
  /** `-j` or `-g` as written. */
  readonly flag: '-j' | '-g';
  /** The target name as written (`ACCEPT`, `KUBE-SVC-...`, `DNAT`). */
  readonly name: string;
  readonly data: TargetData;
}

// ---------------------------------------------------------------- rules, chains, tables

export interface Rule {
  readonly table: TableName;
  readonly chain: string;
  readonly ip: IpHeaderMatch;
  readonly matches: readonly Match[];
  readonly target?: Target;
  /** 1-based line in the parsed text (0 when built in code). */
  readonly line: number;
  /** `[packets:bytes]` prefix or `-c packets bytes`, as written. */
  readonly counters?: string;
  /** Whether any match keeps state or branches (recent, statistic): such rules are never skipped by an index. */
  readonly stateful: boolean;
}

export interface Chain {
  readonly name: string;
  readonly builtin: boolean;
  /** Built-in chains only. */
  policy?: 'ACCEPT' | 'DROP';
  /** `[packets:bytes]` of the declaration, without brackets. */
  counters: string;
  rules: Rule[];
}

export interface Table {
  readonly name: TableName;
  /** Chains in declaration order. */
  readonly chains: Map<string, Chain>;
}

/** One line of the source text, kept for the exact printer. */
export type SourceLine =
  | { readonly kind: 'text'; readonly text: string } // comments, blank lines, `*table`, COMMIT
  | { readonly kind: 'chain'; readonly table: TableName; readonly chain: string; readonly policy: string; readonly counters?: string }
  | { readonly kind: 'rule'; readonly text: string; readonly rule: Rule }
  | { readonly kind: 'command'; readonly text: string }; // -X, -F, -N, -P, -D lines of a restore payload

export interface Ruleset {
  readonly family: AddressFamily;
  readonly tables: Map<TableName, Table>;
  readonly source: readonly SourceLine[];
}
