// The shape every stored object has. Typed views come from `kubernetes-types`.
import type { ObjectMeta, OwnerReference } from 'kubernetes-types/meta/v1.js';

export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** Kinds that live outside namespaces. */
export const CLUSTER_SCOPED = new Set([
  'Namespace',
  'Node',
  'IngressClass',
  'PersistentVolume',
  'StorageClass',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PriorityClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'APIService',
  'RuntimeClass',
  'CSIDriver',
  'ServiceCIDR',
  'IPAddress',
]);

export function isClusterScoped(kind: string): boolean {
  return CLUSTER_SCOPED.has(kind);
}

/**
 * `s` as one flat string. V8 represents `a + b` (13+ characters) as a rope of pointers, which
 * costs about three times the memory of the text when kept; keys, names and uids are kept by
 * the hundred thousand. trim() returns the flattened text (and these strings have no spaces to
 * trim; one that had would be returned as is).
 */
export function flat(s: string): string {
  const t = s.trim();
  return t.length === s.length ? t : s;
}

/** The store key of an object: `ns/name`, or `name` for cluster-scoped kinds. */
export function keyOf(kind: string, namespace: string | undefined, name: string): string {
  return isClusterScoped(kind) ? name : flat(`${namespace ?? 'default'}/${name}`);
}

export function objectKey(o: KObject): string {
  return keyOf(o.kind, o.metadata.namespace, o.metadata.name ?? '');
}

/** `kind/ns/name`, as reports name objects. */
export function objectRef(o: KObject): string {
  return `${o.kind}/${objectKey(o)}`;
}

export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export function controllerOf(o: KObject): OwnerReference | undefined {
  const refs = o.metadata.ownerReferences;
  if (refs) for (const r of refs) if (r.controller) return r;
  return undefined;
}

/** An owner reference that makes `owner` the controller of a dependent, as controllers write it. */
export function controllerRef(owner: KObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** A typed Kubernetes object as the store holds it (metadata always present). */
export type Stored<T> = T & KObject;
