// Indexes over Pods that several controllers share, and selector queries that use them.
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { Store, StoreEntry } from './store.js';
import { flat, type KObject } from './object.js';
import { matchesMap, matchesSelector, type Labels } from './labels.js';

export const POD_LABEL_INDEX = 'labels';
export const POD_NODE_INDEX = 'node';
export const POD_OWNER_INDEX = 'owner';

const bucketsByLabels = new WeakMap<object, { namespace: string; buckets: readonly string[] }>();
const bucketsByNamespace = new Map<string, readonly string[]>();

/**
 * `ns/`, then `ns/key=value` for each label in order: where the pod label index files a pod, and
 * the buckets selector indexes look in. Pods of one template share their labels object, so the
 * list is made once per labels object (callers must not change it).
 */
export function labelBuckets(namespace: string, labels: Labels): readonly string[] {
  if (!labels) {
    let b = bucketsByNamespace.get(namespace);
    if (!b) bucketsByNamespace.set(namespace, (b = [flat(`${namespace}/`)]));
    return b;
  }
  const hit = bucketsByLabels.get(labels);
  if (hit && hit.namespace === namespace) return hit.buckets;
  const buckets = [flat(`${namespace}/`)];
  for (const k in labels) buckets.push(flat(`${namespace}/${k}=${labels[k]}`));
  bucketsByLabels.set(labels, { namespace, buckets });
  return buckets;
}

/** Files Pods by `ns/key=value` for each label, by `ns/` for the namespace, by node and by controller uid. */
export function installPodIndexes(store: Store): void {
  store.addIndex('Pod', POD_LABEL_INDEX, (o: KObject) => labelBuckets(o.metadata.namespace ?? 'default', o.metadata.labels), (o) => o.metadata.labels);
  store.addSingleIndex('Pod', POD_NODE_INDEX, (o: KObject) => (o as Pod).spec?.nodeName || undefined, (o) => o['spec']);
  store.addSingleIndex('Pod', POD_OWNER_INDEX, controllerUid, (o) => o.metadata.ownerReferences);
}

/** The uid of the object's controller reference, if it has one. */
export function controllerUid(o: KObject): string | undefined {
  const refs = o.metadata.ownerReferences;
  if (refs) for (let i = 0; i < refs.length; i++) if (refs[i]!.controller) return refs[i]!.uid;
  return undefined;
}

/** Pods in `namespace` whose labels match a Service-style map selector. */
export function podsForMap(store: Store, namespace: string, selector: Readonly<Record<string, string>>): Pod[] {
  return podsFromCandidates(candidates(store, namespace, selector), (p) =>
    matchesMap(selector, p.metadata?.labels),
  );
}

/** Pods in `namespace` matching a metav1.LabelSelector. */
export function podsForSelector(store: Store, namespace: string, selector: LabelSelector | undefined): Pod[] {
  if (!selector) return [];
  return podsFromCandidates(candidates(store, namespace, selector.matchLabels), (p) =>
    matchesSelector(selector, p.metadata?.labels),
  );
}

export function podsOnNode(store: Store, nodeName: string): Pod[] {
  return entryObjects<KObject & Pod>(store.byIndex('Pod', POD_NODE_INDEX, nodeName));
}

export function podsOwnedBy(store: Store, ownerUid: string): Pod[] {
  return entryObjects<KObject & Pod>(store.byIndex('Pod', POD_OWNER_INDEX, ownerUid));
}

/**
 * The smallest index bucket among the selector's pairs (and the namespace's) bounds the
 * candidates. The bucket names are the ones the selector's labels would be filed under, made
 * once per selector object.
 */
export function candidates(store: Store, namespace: string, pairs: Labels): ReadonlySet<StoreEntry> {
  const buckets = labelBuckets(namespace, pairs);
  let best = store.byIndex('Pod', POD_LABEL_INDEX, buckets[0]!);
  for (let i = 1; i < buckets.length && best.size > 0; i++) {
    const s = store.byIndex('Pod', POD_LABEL_INDEX, buckets[i]!);
    if (s.size < best.size) best = s;
  }
  return best;
}

function podsFromCandidates(entries: ReadonlySet<StoreEntry>, ok: (p: Pod) => boolean): Pod[] {
  const out: Pod[] = [];
  for (const e of entries) {
    const p = e.object as KObject & Pod;
    if (ok(p)) out.push(p);
  }
  return out;
}

/** The objects of index entries, in order. */
export function entryObjects<T extends KObject>(entries: ReadonlySet<StoreEntry>): T[] {
  const out: T[] = [];
  for (const e of entries) out.push(e.object as T);
  return out;
}
