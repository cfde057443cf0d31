// State of the `recent` match (xt_recent), modelled on the kernel module: one table per --name,
// entries keyed by the (masked) address, each keeping the last 20 hit times (ip_pkt_list_tot),
// at most 100 entries per table (ip_list_tot) with the least recently updated evicted first.
// kube-proxy's ClientIP session affinity is built on it.
import type { Packet } from '../../net/packet.js';
import { maskAddress } from './addr.js';
import type { RecentMatch } from './model.js';

export const RECENT_PKT_LIST_TOT = 20;
export const RECENT_LIST_TOT = 100;

export interface RecentEntry {
  /** Hit times in seconds, oldest first, at most RECENT_PKT_LIST_TOT. */
  readonly stamps: readonly number[];
  readonly ttl: number;
}

/** name -> (address key -> entry); Map order is the LRU order, oldest first. */
export type RecentState = Map<string, Map<string, RecentEntry>>;

/** A copy-on-write view of the recent tables for one evaluation path. */
export class RecentView {
  private readonly written = new Map<string, Map<string, RecentEntry>>();

  constructor(private readonly base: RecentState) {}

  read(name: string): ReadonlyMap<string, RecentEntry> | undefined {
    return this.written.get(name) ?? this.base.get(name);
  }

  write(name: string): Map<string, RecentEntry> {
    let t = this.written.get(name);
    if (!t) {
      t = new Map(this.base.get(name) ?? []);
      this.written.set(name, t);
    }
    return t;
  }

  /** Take `table` as this view's written copy of table `name` (resuming a branch). */
  adopt(name: string, table: Map<string, RecentEntry>): void {
    this.written.set(name, table);
  }

  get changed(): ReadonlyMap<string, Map<string, RecentEntry>> {
    return this.written;
  }
}

function touch(t: Map<string, RecentEntry>, key: string, e: RecentEntry, now: number, ttl: number): void {
  const stamps = e.stamps.length >= RECENT_PKT_LIST_TOT ? [...e.stamps.slice(1), now] : [...e.stamps, now];
  t.delete(key);
  t.set(key, { stamps, ttl });
}

/**
 * Evaluate one `-m recent` match for a packet at time `now` (seconds), reading and writing the view.
 * `forwarded` adds one to the TTL, as the kernel compares the TTL seen before forwarding.
 */
export function recentMatches(m: RecentMatch, p: Packet, now: number, view: RecentView, forwarded: boolean): boolean {
  const addr = maskAddress(m.side === 'source' ? p.srcN : p.dstN, m.mask);
  const key = `${p.family}/${addr}`;
  const ttl = p.ttl + (forwarded ? 1 : 0);
  let ret = m.invert;
  const table = view.read(m.name);
  let e = table?.get(key);
  if (e && m.rttl && e.ttl !== ttl && e.ttl !== 0) e = undefined;
  if (!e) {
    if (m.command !== 'set') return ret;
    const t = view.write(m.name);
    if (t.size >= RECENT_LIST_TOT) t.delete(t.keys().next().value!);
    t.set(key, { stamps: [now], ttl });
    return !ret;
  }
  if (m.command === 'set') ret = !ret;
  else if (m.command === 'remove') {
    view.write(m.name).delete(key);
    return !ret;
  } else {
    const since = now - m.seconds;
    let hits = 0;
    for (const stamp of e.stamps) {
      if (m.seconds && stamp < since) continue;
      if (!m.hitcount || ++hits >= m.hitcount) {
        ret = !ret;
        break;
      }
    }
    if (m.reap) {
      // The kernel reaps only the least recently updated entry, and only when it is stale.
      const t = view.read(m.name)!;
      const oldestKey: string | undefined = t.keys().next().value;
      const oldest = oldestKey === undefined ? undefined : t.get(oldestKey);
      const updating = m.command === 'update' && ret;
      if (oldest && oldestKey !== undefined && !(oldestKey === key && updating) && oldest.stamps[oldest.stamps.length - 1]! < since) {
        view.write(m.name).delete(oldestKey);
        if (oldestKey === key) return ret;
      }
    }
  }
  if (m.command === 'set' || (m.command === 'update' && ret)) touch(view.write(m.name), key, e, now, ttl);
  return ret;
}
