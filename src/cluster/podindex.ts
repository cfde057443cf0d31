// Indexes over Pods that several controllers share, and selector queries that use them.
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { Store } from './store.js';
import type { KObject } from './object.js';
import { matchesMap, matchesSelector } from './labels.js';

export const POD_LABEL_INDEX = 'labels';
export const POD_NODE_INDEX = 'node';
export const POD_OWNER_INDEX = 'owner';

/** Files Pods by `ns/key=value` for each label, by `ns/` for the namespace, by node and by controller uid. */
export function installPodIndexes(store: Store): void {
  store.addIndex('Pod', POD_LABEL_INDEX, (o: KObject) => {
    const ns = o.metadata.namespace ?? 'default';
    const out = [`${ns}/`];
    const labels = o.metadata.labels;
    if (labels) for (const k in labels) out.push(`${ns}/${k}=${labels[k]}`);
    return out;
  }, (o) => [o.metadata.labels]);
  store.addIndex('Pod', POD_NODE_INDEX, (o: KObject) => {
    const n = (o as Pod).spec?.nodeName;
    return n ? [n] : [];
  }, (o) => [o['spec']]);
  store.addIndex('Pod', POD_OWNER_INDEX, (o: KObject) => {
    const ref = o.metadata.ownerReferences?.find((r) => r.controller);
    return ref ? [ref.uid] : [];
  }, (o) => [o.metadata.ownerReferences]);
}

/** Pods in `namespace` whose labels match a Service-style map selector. */
export function podsForMap(store: Store, namespace: string, selector: Readonly<Record<string, string>>): Pod[] {
  return podsFromCandidates(store, candidateKeys(store, namespace, selector), (p) =>
    matchesMap(selector, p.metadata?.labels),
  );
}

/** Pods in `namespace` matching a metav1.LabelSelector. */
export function podsForSelector(store: Store, namespace: string, selector: LabelSelector | undefined): Pod[] {
  if (!selector) return [];
  return podsFromCandidates(store, candidateKeys(store, namespace, selector.matchLabels ?? {}), (p) =>
    matchesSelector(selector, p.metadata?.labels),
  );
}

export function podsOnNode(store: Store, nodeName: string): Pod[] {
  return keysToPods(store, store.byIndex('Pod', POD_NODE_INDEX, nodeName));
}

export function podsOwnedBy(store: Store, ownerUid: string): Pod[] {
  return keysToPods(store, store.byIndex('Pod', POD_OWNER_INDEX, ownerUid));
}

// The smallest index bucket among the selector's pairs bounds the candidates.
function candidateKeys(store: Store, namespace: string, pairs: Readonly<Record<string, string>>): ReadonlySet<string> {
  let best = store.byIndex('Pod', POD_LABEL_INDEX, `${namespace}/`);
  for (const k in pairs) {
    const s = store.byIndex('Pod', POD_LABEL_INDEX, `${namespace}/${k}=${pairs[k]}`);
    if (s.size < best.size) best = s;
    if (best.size === 0) break;
  }
  return best;
}

function podsFromCandidates(store: Store, keys: ReadonlySet<string>, ok: (p: Pod) => boolean): Pod[] {
  const out: Pod[] = [];
  for (const k of keys) {
    const p = store.getByKey<KObject & Pod>('Pod', k);
    if (p && ok(p)) out.push(p);
  }
  return out;
}

function keysToPods(store: Store, keys: ReadonlySet<string>): Pod[] {
  const out: Pod[] = [];
  for (const k of keys) {
    const p = store.getByKey<KObject & Pod>('Pod', k);
    if (p) out.push(p);
  }
  return out;
}
