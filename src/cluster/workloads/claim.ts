// ControllerRefManager.ClaimObject: a controller keeps what it owns and still selects, releases
// what it owns but no longer selects, and adopts orphans it selects.
import type { KObject } from '../object.js';
import { controllerOf, controllerRef } from '../object.js';
import type { Store } from '../store.js';

/**
 * Claim `candidates` (objects the owner controls, plus orphans in its namespace) for `owner`.
 * Returns the claimed objects, with adopted ones in their updated form.
 */
export function claim<T extends KObject>(store: Store, owner: KObject, candidates: readonly T[], match: (o: T) => boolean): T[] {
  const out: T[] = [];
  const uid = owner.metadata.uid;
  const ownerDeleting = !!owner.metadata.deletionTimestamp;
  for (const o of candidates) {
    const ref = controllerOf(o);
    if (ref) {
      if (ref.uid !== uid) continue;
      if (match(o)) {
        out.push(o);
        continue;
      }
      if (!ownerDeleting) release(store, o, uid!);
      continue;
    }
    if (ownerDeleting || !match(o) || o.metadata.deletionTimestamp) continue;
    if (owner.metadata.namespace && owner.metadata.namespace !== o.metadata.namespace) continue;
    out.push(adopt(store, owner, o));
  }
  return out;
}

export function adopt<T extends KObject>(store: Store, owner: KObject, o: T): T {
  const refs = (o.metadata.ownerReferences ?? []).filter((r) => r.uid !== owner.metadata.uid);
  return store.update({ ...o, metadata: { ...o.metadata, ownerReferences: [...refs, controllerRef(owner)] } });
}

export function release<T extends KObject>(store: Store, o: T, ownerUid: string): T {
  const refs = (o.metadata.ownerReferences ?? []).filter((r) => r.uid !== ownerUid);
  const { ownerReferences: _drop, ...meta } = o.metadata;
  return store.update({ ...o, metadata: refs.length ? { ...meta, ownerReferences: refs } : meta });
}
