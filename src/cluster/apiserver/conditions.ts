// Pod conditions as podutil.UpdatePodCondition writes them: lastTransitionTime moves only when
// the status flips. Conditions are built as literals (not spread copies plus a key), which V8
// makes far cheaper on the per-pod hot path.
import type { PodCondition } from 'kubernetes-types/core/v1.js';

/** `c` with lastTransitionTime: kept from `prev` when the status is unchanged, else `now`. */
export function stampCondition(c: PodCondition, prev: PodCondition | undefined, now: string): PodCondition {
  const lastTransitionTime = prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : now;
  if (c.reason !== undefined && c.message !== undefined) {
    return { type: c.type, status: c.status, lastTransitionTime, reason: c.reason, message: c.message };
  }
  if (c.reason !== undefined) return { type: c.type, status: c.status, lastTransitionTime, reason: c.reason };
  if (c.message === undefined) return plainCondition(c.type, c.status, lastTransitionTime);
  return { type: c.type, status: c.status, lastTransitionTime };
}

// Conditions without reason or message repeat across every pod that changed in the same second:
// share the last object made per (type, status) while its time is the one asked for. Stored
// objects are never changed in place, so sharing is invisible.
const interned = new Map<string, Map<string, PodCondition>>();

function plainCondition(type: string, status: string, lastTransitionTime: string): PodCondition {
  let byStatus = interned.get(type);
  if (!byStatus) interned.set(type, (byStatus = new Map()));
  let c = byStatus.get(status);
  if (!c || c.lastTransitionTime !== lastTransitionTime) {
    c = { type, status, lastTransitionTime };
    byStatus.set(status, c);
  }
  return c;
}

/** Replace (or append) the condition of the same type. */
export function withCondition(conds: readonly PodCondition[] | undefined, c: PodCondition, now: string): PodCondition[] {
  const out = conds ? conds.slice() : [];
  const i = out.findIndex((x) => x.type === c.type);
  const next = stampCondition(c, i >= 0 ? out[i] : undefined, now);
  if (i >= 0) out[i] = next;
  else out.push(next);
  return out;
}
