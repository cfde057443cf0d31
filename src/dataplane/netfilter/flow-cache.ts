// The evaluation cache of the fast path, after Open vSwitch's megaflow cache: a whole evaluation
// (every path of a packet, statistic branches included) is a function of the packet bits its rules
// decided on. While a packet is evaluated the walk records what it read (flow-record below); the
// evaluation is then stored under a key that keeps exactly those bits, and any later packet with
// the same key gets the stored paths, re-addressed to its own source address and port.
//
// What the key keeps: the injection point, protocol, destination address and port, interfaces,
// mark, TCP flags, ICMP type and code, fragment bit and TTL exactly; of the source address the
// leading bits its `-s` conditions decided on (prefix tracking: `! -s 10.0.0.0/8` needs 8 bits, a
// non-matching `-s 10.1.2.3/32` only the bits up to the first that differs); the source port only
// when a rule read it. Several masks can be live at once; a lookup probes each (tuple space search).
//
// Evaluations that depend on more than the packet are never stored: recent lists, nth counters,
// ipsets, IPVS, LOG lines, an existing conntrack entry, a source NAT that had to move the port, or a
// routing callback the evaluator cannot see into. What depends on the conntrack table is checked
// again on every hit (evaluate.ts).
import type { Packet } from '../../net/packet.js';
import { F_CT, F_SPORT, F_SRC, IMPURE, samePrefix } from './memo.js';

/** All bits of the source (more than either family has). */
const ALL_BITS = 128;

/** What one evaluation read of the packet it was asked about, and whether it may be stored at all. */
export class FlowRecord {
  constructor(
    /** The packet evaluated. */
    readonly packet: Packet,
  ) {}
  /** Nothing but the packet decided (else `ok` is false). */
  get ok(): boolean {
    return this.pure && !this.connection;
  }
  /** No rule or target read or wrote anything but the packet (false: state, a LOG line, a moved NAT port). */
  pure = true;
  /** An existing connection (a conntrack entry, or one the packet carries) decided. */
  connection = false;
  /** Leading bits of the source address the evaluation decided on. */
  srcBits = 0;
  /** A rule read the source port (or the connection tuple). */
  sport = false;
  /** Some path applied source NAT (its port choice is checked against conntrack on a hit). */
  snat = false;

  /** A rule was evaluated that reads `reads` (memo.ts F_* bits, or IMPURE) and `bits` of the source. */
  read(reads: number, bits: number, srcWritten: boolean): void {
    if (reads === IMPURE) {
      this.pure = false;
      return;
    }
    if (reads & (F_SPORT | F_CT)) this.sport = true;
    // After source NAT the packet's source is the NAT address, not a bit of the original one.
    if (srcWritten) return;
    if (reads & (F_SRC | F_CT)) this.srcBits = ALL_BITS;
    else if (bits > this.srcBits) this.srcBits = bits;
  }
}

export interface FlowEntry<T> {
  /** The packet the evaluation was recorded for. */
  readonly packet: Packet;
  readonly start: FlowStart;
  /** Leading bits of the source the key keeps, and whether it keeps the source port. */
  readonly srcBits: number;
  readonly sport: boolean;
  readonly outcomes: readonly T[];
  readonly snat: boolean;
}

/** Where the evaluation starts; part of the key. */
export type FlowStart = 'interface' | 'local';

/**
 * Stored evaluations, by destination address and then by the rest of the key (a short list per
 * destination: one entry per class of sources, ports and flags seen). Beyond `capacity` stored paths
 * (about 1 kB each) the destinations stored longest ago are dropped.
 */
export class FlowCache<T> {
  private readonly byDst = new Map<number | bigint, FlowEntry<T>[]>();
  private entries = 0;
  private readonly refusals = new Set<string>();
  private stored = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly capacity = 500_000) {}

  /** Stored evaluations. */
  get size(): number {
    return this.entries;
  }

  /** Stored paths (the sum of the evaluations' outcomes). */
  get paths(): number {
    return this.stored;
  }

  lookup(p: Packet, start: FlowStart): FlowEntry<T> | undefined {
    const list = this.byDst.get(p.dstN);
    if (list !== undefined) {
      for (let i = 0; i < list.length; i++) {
        const e = list[i]!;
        if (sameKey(e, p, start)) {
          this.hits++;
          return e;
        }
      }
    }
    this.misses++;
    return undefined;
  }

  insert(p: Packet, start: FlowStart, record: FlowRecord, outcomes: readonly T[]): FlowEntry<T> {
    const entry: FlowEntry<T> = { packet: p, start, srcBits: record.srcBits, sport: record.sport, outcomes, snat: record.snat };
    let list = this.byDst.get(p.dstN);
    if (!list) this.byDst.set(p.dstN, (list = []));
    // A newer recording of the same key replaces the old one.
    const old = list.findIndex((e) => e.srcBits === entry.srcBits && e.sport === entry.sport && sameKey(e, p, start));
    if (old >= 0) {
      this.stored -= list[old]!.outcomes.length;
      list[old] = entry;
    } else {
      list.push(entry);
      this.entries++;
    }
    this.stored += outcomes.length;
    while (this.stored > this.capacity && this.byDst.size > 1) {
      const [dst, dropped] = this.byDst.entries().next().value!;
      this.byDst.delete(dst);
      this.entries -= dropped.length;
      for (const e of dropped) this.stored -= e.outcomes.length;
    }
    return entry;
  }

  /** Packets of this destination, port and flags once could not be stored (their rules read state): don't try again soon. */
  refuse(p: Packet, start: FlowStart): void {
    if (this.refusals.size >= 65_536) this.refusals.clear();
    this.refusals.add(refusalKey(p, start));
  }

  refused(p: Packet, start: FlowStart): boolean {
    return this.refusals.size !== 0 && this.refusals.has(refusalKey(p, start));
  }

  clear(): void {
    this.refusals.clear();
    this.byDst.clear();
    this.entries = 0;
    this.stored = 0;
  }
}

function refusalKey(p: Packet, start: FlowStart): string {
  return `${start}|${p.proto}|${p.dstN}|${p.dport}|${p.inInterface ?? '-'}|${p.mark}|${p.tcpFlags}`;
}

/** Whether `p` has entry `e`'s key (the destination address already agrees). */
function sameKey<T>(e: FlowEntry<T>, p: Packet, start: FlowStart): boolean {
  const q = e.packet;
  return (
    p.dport === q.dport &&
    p.proto === q.proto &&
    start === e.start &&
    p.inInterface === q.inInterface &&
    p.outInterface === q.outInterface &&
    p.mark === q.mark &&
    p.tcpFlags === q.tcpFlags &&
    p.icmpType === q.icmpType &&
    p.icmpCode === q.icmpCode &&
    !p.fragment === !q.fragment &&
    p.ttl === q.ttl &&
    (!e.sport || p.sport === q.sport) &&
    samePrefix(p.srcN, q.srcN, e.srcBits)
  );
}
