// Endpoint identity (util/endpointset.go): the sorted addresses, the hostname and the targetRef
// namespace/name. Conditions, nodeName and zone are not part of it, so they change in place.
import type { ObjectReference } from 'kubernetes-types/core/v1.js';
import type { SliceEndpoint } from './types.js';

// Endpoints are never changed in place: each one's key is worked out once.
const keys = new WeakMap<SliceEndpoint, string>();

// Upstream hashes these fields with FNV-128a; a joined string identifies the same way.
export function endpointKey(ep: SliceEndpoint): string {
  let k = keys.get(ep);
  if (k === undefined) {
    const addrs = ep.addresses.length > 1 ? [...ep.addresses].sort() : ep.addresses;
    k = `${addrs.join(',')}\u0000${ep.hostname ?? ''}\u0000${ep.targetRef?.namespace ?? ''}\u0000${ep.targetRef?.name ?? ''}`;
    keys.set(ep, k);
  }
  return k;
}

/** EndpointSet: endpoints by identity, iterated in insertion order (deterministic PopAny). */
export class EndpointSet {
  private readonly byKey = new Map<string, SliceEndpoint>();

  insert(ep: SliceEndpoint): void {
    this.byKey.set(endpointKey(ep), ep);
  }

  get(ep: SliceEndpoint): SliceEndpoint | undefined {
    return this.byKey.get(endpointKey(ep));
  }

  /** The endpoint with the same identity, removed from the set. */
  take(ep: SliceEndpoint): SliceEndpoint | undefined {
    const key = endpointKey(ep);
    const got = this.byKey.get(key);
    if (got !== undefined) this.byKey.delete(key);
    return got;
  }

  get size(): number {
    return this.byKey.size;
  }

  values(): IterableIterator<SliceEndpoint> {
    return this.byKey.values();
  }
}

/**
 * EndpointsEqualBeyondHash: nodeName, zone, the three conditions and targetRef (ignoring its
 * resourceVersion) are equal. Hints are not compared.
 */
export function endpointsEqualBeyondHash(a: SliceEndpoint, b: SliceEndpoint): boolean {
  if (a === b) return true;
  if (a.nodeName !== b.nodeName) return false;
  if (a.zone !== b.zone) return false;
  if (a.conditions?.ready !== b.conditions?.ready) return false;
  if (a.conditions?.serving !== b.conditions?.serving) return false;
  if (a.conditions?.terminating !== b.conditions?.terminating) return false;
  return targetRefsEqual(a.targetRef, b.targetRef);
}

export function targetRefsEqual(a: ObjectReference | undefined, b: ObjectReference | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  const fields = ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'fieldPath'] as const;
  return fields.every((f) => (a[f] ?? '') === (b[f] ?? ''));
}
