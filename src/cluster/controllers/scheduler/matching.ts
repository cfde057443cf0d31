// Finding assigned pods that match a selector without walking every pod: the shared pod label
// index narrows the candidates, the scheduler cache says which are assigned and not terminal.
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { Store } from '../../store.js';
import type { KObject } from '../../object.js';
import { matchesSelector } from '../../labels.js';
import { candidates } from '../../podindex.js';
import type { PodRecord, SchedulerCache } from './cache.js';

/**
 * Calls `fn` for each assigned, non-terminal pod of `namespace` whose labels match `selector`.
 * `includeTerminating` decides whether pods with a deletionTimestamp count (spreading skips them).
 */
export function forEachAssignedMatching(
  store: Store,
  cache: SchedulerCache,
  namespace: string,
  selector: LabelSelector,
  includeTerminating: boolean,
  fn: (rec: PodRecord, pod: Pod) => void,
): void {
  for (const { key, object } of candidates(store, namespace, selector.matchLabels)) {
    const rec = cache.pods.get(key);
    if (!rec) continue;
    const pod = object as KObject & Pod;
    if (!includeTerminating && pod.metadata.deletionTimestamp) continue;
    if (!matchesSelector(selector, pod.metadata.labels)) continue;
    fn(rec, pod);
  }
}

/** Merge a map selector into a LabelSelector (requirements are ANDed). */
export function withMatchLabels(sel: LabelSelector, extra: Readonly<Record<string, string>>): LabelSelector {
  if (Object.keys(extra).length === 0) return sel;
  return { ...sel, matchLabels: { ...(sel.matchLabels ?? {}), ...extra } };
}
