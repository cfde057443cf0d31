// Running counts of the pods that match a spreading selector, per node and per zone, kept up to
// date as pods are placed and leave, so spreading never recounts a ReplicaSet's pods per cycle.
// A count is built from the pod label index the first time a selector is asked for; after that
// every placement updates the counts whose selector it matches (found through the selector's
// first matchLabels pair, which a matching pod must carry).
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { Store } from '../../store.js';
import { matchesSelector } from '../../labels.js';
import type { SchedulerCache } from './cache.js';
import { forEachAssignedMatching } from './matching.js';
import { labelBuckets } from '../../podindex.js';

export class MatchCounts {
  /** node slot → matching pods on it, only where not zero (in the order slots became non-zero) */
  readonly perSlot = new Map<number, number>();
  /** zone label value ('' when the node has none) → matching pods */
  readonly perZone = new Map<string, number>();

  constructor(
    readonly namespace: string,
    readonly selector: LabelSelector,
    readonly bucket: string,
  ) {}

  /** Slots with at least one matching pod. */
  get occupied(): Iterable<number> {
    return this.perSlot.keys();
  }

  add(slot: number, zone: string | undefined, delta: number): void {
    const n = Math.max(0, Math.min(0xffff, (this.perSlot.get(slot) ?? 0) + delta));
    if (n === 0) this.perSlot.delete(slot);
    else this.perSlot.set(slot, n);
    if (zone === undefined) return;
    const z = (this.perZone.get(zone) ?? 0) + delta;
    if (z <= 0) this.perZone.delete(zone);
    else this.perZone.set(zone, z);
  }

  /** Matching pods on the node in `slot`. */
  at(slot: number): number {
    return this.perSlot.get(slot) ?? 0;
  }
}

// Each tracked selector is a few small maps; enough for every ReplicaSet of a large cluster.
const MAX_TRACKED = 16384;

export class MatchCountIndex {
  private readonly bySignature = new Map<string, MatchCounts>();
  private readonly buckets = new Map<string, Set<MatchCounts>>();
  private generation = -1;
  /** Bumped by clear(): remembered answers of an older epoch are gone from bySignature. */
  private epoch = 0;
  /** The last answer per selector object (pods of one owner share it): no signature text per cycle. */
  private readonly bySelector = new WeakMap<LabelSelector, { epoch: number; namespace: string; counts: MatchCounts }>();

  /** The counts for a selector in a namespace; `signature(selector)` identifies the selector. */
  get(store: Store, cache: SchedulerCache, namespace: string, selector: LabelSelector, signature: (s: LabelSelector) => string): MatchCounts {
    if (this.generation !== cache.topologyGeneration) {
      // Nodes came, went or changed labels: zones of placed pods may have moved.
      this.clear();
      this.generation = cache.topologyGeneration;
    }
    const hit = this.bySelector.get(selector);
    if (hit && hit.epoch === this.epoch && hit.namespace === namespace) return hit.counts;
    const sig = `${namespace}\0${signature(selector)}`;
    let m = this.bySignature.get(sig);
    if (m) {
      this.bySelector.set(selector, { epoch: this.epoch, namespace, counts: m });
      return m;
    }
    if (this.bySignature.size >= MAX_TRACKED) this.clear();
    const ml = selector.matchLabels ?? {};
    const first = Object.keys(ml).sort()[0];
    const bucket = first === undefined ? `${namespace}/` : `${namespace}/${first}=${ml[first]}`;
    m = new MatchCounts(namespace, selector, bucket);
    const counts = m;
    forEachAssignedMatching(store, cache, namespace, selector, false, (rec) => {
      const info = cache.info(rec.node);
      if (info) counts.add(info.slot, info.node ? info.zone ?? '' : undefined, 1);
    });
    this.bySignature.set(sig, m);
    this.bySelector.set(selector, { epoch: this.epoch, namespace, counts: m });
    let b = this.buckets.get(bucket);
    if (!b) this.buckets.set(bucket, (b = new Set()));
    b.add(m);
    return m;
  }

  /** A pod started (+1) or stopped (-1) counting on the node in `slot`. */
  podChanged(namespace: string, labels: Readonly<Record<string, string>> | undefined, slot: number, zone: string | undefined, delta: number): void {
    if (this.bySignature.size === 0) return;
    for (const bucket of labelBuckets(namespace, labels)) {
      const b = this.buckets.get(bucket);
      if (!b) continue;
      for (const m of b) if (matchesSelector(m.selector, labels)) m.add(slot, zone, delta);
    }
  }

  clear(): void {
    this.epoch++;
    this.bySignature.clear();
    this.buckets.clear();
  }
}
