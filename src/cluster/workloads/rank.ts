// controller.ActivePodsWithRanks: the order in which a ReplicaSet gives up pods when scaling
// down (smallest first), with the LogarithmicScaleDown and PodDeletionCost gates on, as they
// are by default.
import type { Pod } from 'kubernetes-types/core/v1.js';
import { isPodReady, maxContainerRestarts, podReadyCondition, timeMs } from './pods.js';

export const POD_DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';

const PHASE_ORDINAL: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

interface Ranked {
  pod: Pod;
  /** Active pods of the same owner co-located on this pod's node. */
  rank: number;
}

/** Upstream reads the cost as int32; anything unparsable counts as 0. */
export function deletionCost(p: Pod): number {
  const v = p.metadata?.annotations?.[POD_DELETION_COST_ANNOTATION];
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return 0;
  const n = Number.parseInt(v, 10);
  return n < -2147483648 || n > 2147483647 ? 0 : n;
}

/** Negative when `a` should be deleted before `b`. */
function compare(a: Ranked, b: Ranked, nowMs: number): number {
  const pa = a.pod;
  const pb = b.pod;
  // 1. Unassigned < assigned.
  const na = pa.spec?.nodeName ?? '';
  const nb = pb.spec?.nodeName ?? '';
  if (na !== nb && (na === '' || nb === '')) return na === '' ? -1 : 1;
  // 2. Pending < Unknown < Running.
  const oa = PHASE_ORDINAL[pa.status?.phase ?? ''] ?? 0;
  const ob = PHASE_ORDINAL[pb.status?.phase ?? ''] ?? 0;
  if (oa !== ob) return oa - ob;
  // 3. Not ready < ready.
  const ra = isPodReady(pa);
  const rb = isPodReady(pb);
  if (ra !== rb) return ra ? 1 : -1;
  // 4. Lower pod-deletion-cost < higher.
  const ca = deletionCost(pa);
  const cb = deletionCost(pb);
  if (ca !== cb) return ca - cb;
  // 5. Doubled up < not doubled up: more co-located pods goes first.
  if (a.rank !== b.rank) return b.rank - a.rank;
  // 6. Ready for less time < more time (log2 buckets of the age).
  if (ra && rb) {
    const c = byLogAge(timeMs(podReadyCondition(pa)?.lastTransitionTime), timeMs(podReadyCondition(pb)?.lastTransitionTime), pa, pb, nowMs);
    if (c !== 0) return c;
  }
  // 7. More container restarts < fewer.
  const xa = maxContainerRestarts(pa);
  const xb = maxContainerRestarts(pb);
  if (xa.regular !== xb.regular) return xb.regular - xa.regular;
  if (xa.sidecar !== xb.sidecar) return xb.sidecar - xa.sidecar;
  // 8. Empty creation time < newer < older.
  return byLogAge(timeMs(pa.metadata?.creationTimestamp), timeMs(pb.metadata?.creationTimestamp), pa, pb, nowMs);
}

// Equal times compare equal; a missing time sorts first; otherwise the younger log2 bucket of
// (now - t) in nanoseconds goes first, ties broken by uid.
function byLogAge(ta: number, tb: number, pa: Pod, pb: Pod, nowMs: number): number {
  const za = Number.isNaN(ta);
  const zb = Number.isNaN(tb);
  if (za && zb) return 0;
  if (!za && !zb && ta === tb) return 0;
  if (za || zb) return za ? -1 : 1;
  const diff = logBucket(nowMs - ta) - logBucket(nowMs - tb);
  if (diff !== 0) return diff;
  const ua = pa.metadata?.uid ?? '';
  const ub = pb.metadata?.uid ?? '';
  return ua < ub ? -1 : ua > ub ? 1 : 0;
}

function logBucket(ageMs: number): number {
  return ageMs > 0 ? Math.floor(Math.log2(ageMs * 1e6)) : -1;
}

/**
 * The first `diff` pods of `pods` in deletion order. `related` are the pods of every ReplicaSet
 * with the same controller (getIndirectlyRelatedPods); active ones count toward co-location.
 */
export function podsToDelete(pods: readonly Pod[], related: readonly Pod[], diff: number, nowMs: number): Pod[] {
  if (diff >= pods.length) return pods.slice();
  const onNode = new Map<string, number>();
  for (const p of related) {
    if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' || p.metadata?.deletionTimestamp) continue;
    const n = p.spec?.nodeName ?? '';
    onNode.set(n, (onNode.get(n) ?? 0) + 1);
  }
  const ranked: Ranked[] = pods.map((pod) => ({ pod, rank: onNode.get(pod.spec?.nodeName ?? '') ?? 0 }));
  // Array.prototype.sort is stable; upstream's sort.Sort is not, so ties may differ in order.
  ranked.sort((a, b) => compare(a, b, nowMs));
  return ranked.slice(0, diff).map((r) => r.pod);
}
