// The connection tracking table: each entry records the original tuple (the first packet, before
// NAT) and the reply tuple (what replies carry, after NAT), and is found by either. Only the first
// packet of a connection traverses the nat table; later packets get the entry's NAT applied, and
// replies get it undone.
import type { FlowTuple } from '../../net/packet.js';

export interface ConntrackEntry {
  readonly original: FlowTuple;
  readonly reply: FlowTuple;
  /** The connection's source / destination was changed by NAT. */
  readonly snat: boolean;
  readonly dnat: boolean;
  seenReply: boolean;
  assured: boolean;
  /** CONNMARK. */
  mark: number;
  /** Virtual time of creation and of the last packet, in seconds. */
  readonly created: number;
  lastSeen: number;
}

export function tupleKey(t: FlowTuple): string {
  return `${t.proto} ${t.src} ${t.sport} ${t.dst} ${t.dport}`;
}

export class Conntrack {
  private readonly byTuple = new Map<string, { entry: ConntrackEntry; direction: 'ORIGINAL' | 'REPLY' }>();
  private readonly all = new Set<ConntrackEntry>();

  get size(): number {
    return this.all.size;
  }

  entries(): IterableIterator<ConntrackEntry> {
    return this.all.values();
  }

  lookup(t: FlowTuple): { entry: ConntrackEntry; direction: 'ORIGINAL' | 'REPLY' } | undefined {
    return this.byTuple.get(tupleKey(t));
  }

  /** Whether a tuple is already taken by some entry (NAT picks another source port then). */
  inUse(t: FlowTuple): boolean {
    return this.byTuple.has(tupleKey(t));
  }

  insert(entry: ConntrackEntry): void {
    this.all.add(entry);
    this.byTuple.set(tupleKey(entry.original), { entry, direction: 'ORIGINAL' });
    this.byTuple.set(tupleKey(entry.reply), { entry, direction: 'REPLY' });
  }

  delete(entry: ConntrackEntry): void {
    if (!this.all.delete(entry)) return;
    this.byTuple.delete(tupleKey(entry.original));
    this.byTuple.delete(tupleKey(entry.reply));
  }

  /** Drop every entry matching `pred` (what `conntrack -D` does, e.g. for stale UDP endpoints). */
  deleteWhere(pred: (e: ConntrackEntry) => boolean): number {
    let n = 0;
    for (const e of [...this.all]) {
      if (pred(e)) {
        this.delete(e);
        n++;
      }
    }
    return n;
  }

  flush(): void {
    this.all.clear();
    this.byTuple.clear();
  }
}
