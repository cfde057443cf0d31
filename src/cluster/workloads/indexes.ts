// Store indexes the workload controllers share: objects by namespace, by controller uid, and
// objects without a controller (orphans, candidates for adoption) by namespace.
import type { KObject } from '../object.js';
import type { Store } from '../store.js';
import { controllerUid, entryObjects } from '../podindex.js';

export const NS_INDEX = 'workloads/namespace';
export const CONTROLLER_INDEX = 'workloads/controller';
export const ORPHAN_INDEX = 'workloads/orphans';

const installed = new WeakMap<Store, Set<string>>();

function once(
  store: Store,
  kind: string,
  name: string,
  fn: (o: KObject) => string | undefined,
  input: (o: KObject) => unknown,
): void {
  let s = installed.get(store);
  if (!s) installed.set(store, (s = new Set()));
  const key = `${kind}/${name}`;
  if (s.has(key)) return;
  s.add(key);
  store.addSingleIndex(kind, name, fn, input);
}

const byNamespace = (o: KObject) => o.metadata.namespace ?? 'default';
const byController = controllerUid;
// What each index reads: a namespace never changes; controller refs only with ownerReferences.
const noInputs = () => undefined;
const ownerInputs = (o: KObject) => o.metadata.ownerReferences;
const orphanByNamespace = (o: KObject) => (hasController(o) ? undefined : o.metadata.namespace ?? 'default');

function hasController(o: KObject): boolean {
  const refs = o.metadata.ownerReferences;
  if (refs) for (let i = 0; i < refs.length; i++) if (refs[i]!.controller) return true;
  return false;
}

export function indexByNamespace(store: Store, kind: string): void {
  once(store, kind, NS_INDEX, byNamespace, noInputs);
}

export function indexByController(store: Store, kind: string): void {
  once(store, kind, CONTROLLER_INDEX, byController, ownerInputs);
}

export function indexOrphans(store: Store, kind: string): void {
  once(store, kind, ORPHAN_INDEX, orphanByNamespace, ownerInputs);
}

export function inNamespace<T extends KObject>(store: Store, kind: string, ns: string): T[] {
  return entryObjects<T>(store.byIndex(kind, NS_INDEX, ns));
}

export function controlledBy<T extends KObject>(store: Store, kind: string, uid: string): T[] {
  return entryObjects<T>(store.byIndex(kind, CONTROLLER_INDEX, uid));
}

export function orphansIn<T extends KObject>(store: Store, kind: string, ns: string): T[] {
  return entryObjects<T>(store.byIndex(kind, ORPHAN_INDEX, ns));
}
