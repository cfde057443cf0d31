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
  return { type: c.type, status: c.status, lastTransitionTime };
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
