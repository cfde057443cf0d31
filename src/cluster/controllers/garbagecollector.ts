// The garbage collector (pkg/controller/garbagecollector): background cascading deletion through
// ownerReferences of any kind. Its graph (uid → object, owner uid → dependents) is built from the
// store's watch events, so a deletion only visits the dependents of what was deleted.
// Differs from upstream: no foreground or orphan propagation (the store has no finalizers).
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { Controller, ControllerContext } from '../controller.js';
import { isClusterScoped, type KObject } from '../object.js';
import type { WatchEvent } from '../store.js';

interface Node {
  kind: string;
  namespace: string | undefined;
  name: string;
  owners: readonly OwnerReference[] | undefined;
}

export class GarbageCollector implements Controller {
  readonly name = 'garbagecollector';
  private ctx!: ControllerContext;
  private readonly nodes = new Map<string, Node>();
  private readonly dependents = new Map<string, Set<string>>();

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    for (const kind of ctx.store.kinds()) for (const o of ctx.store.list(kind)) this.observe({ type: 'ADDED', object: o });
    ctx.store.watchAll((ev) => this.observe(ev));
  }

  /** The graph as the collector sees it (for tests): owner uid → dependent uids. */
  dependentsOf(uid: string): ReadonlySet<string> {
    return this.dependents.get(uid) ?? new Set();
  }

  private observe(ev: WatchEvent): void {
    const o = ev.object;
    const uid = o.metadata.uid;
    if (!uid) return;
    if (ev.type === 'MODIFIED') {
      const refs = o.metadata.ownerReferences;
      // Hot path: most updates (pod status) leave the owner references alone.
      if (ev.old?.metadata.ownerReferences === refs) return;
      const node = this.nodes.get(uid);
      const before = node?.owners;
      if (node) node.owners = refs;
      else this.nodes.set(uid, nodeOf(o));
      if (this.link(o, uid, before, refs)) this.ctx.queue.add(uid);
      return;
    }
    if (ev.type === 'ADDED') {
      const node = nodeOf(o);
      this.nodes.set(uid, node);
      // A dependent whose owner is already gone (or never existed) is collected.
      if (this.link(o, uid, undefined, node.owners)) this.ctx.queue.add(uid);
      return;
    }
    // DELETED: forget the object and attempt to delete what it owned.
    const node = this.nodes.get(uid);
    this.nodes.delete(uid);
    if (node) this.link(o, uid, node.owners, undefined);
    const deps = this.dependents.get(uid);
    if (deps) for (const d of deps) this.ctx.queue.add(d);
  }

  /**
   * Move `uid` between owners' dependent sets. True when a newly added reference names an
   * owner that does not exist (every reference is filed either way).
   */
  private link(o: KObject, uid: string, before: readonly OwnerReference[] | undefined, after: readonly OwnerReference[] | undefined): boolean {
    if (before) {
      for (const r of before) {
        if (after && hasUid(after, r.uid)) continue;
        const s = this.dependents.get(r.uid);
        if (!s) continue;
        s.delete(uid);
        if (s.size === 0 && !this.nodes.has(r.uid)) this.dependents.delete(r.uid);
      }
    }
    let dangling = false;
    if (after) {
      for (const r of after) {
        if (before && hasUid(before, r.uid)) continue;
        let s = this.dependents.get(r.uid);
        if (!s) this.dependents.set(r.uid, (s = new Set()));
        s.add(uid);
        if (!dangling && !this.ownerExists(o, r)) dangling = true;
      }
    }
    return dangling;
  }

  /** attemptToDeleteItem: delete a dependent with no live owner; drop dangling references otherwise. */
  sync(uid: string): void {
    const node = this.nodes.get(uid);
    if (!node) return;
    const store = this.ctx.store;
    const obj = store.get(node.kind, node.namespace, node.name);
    if (!obj || obj.metadata.uid !== uid) return;
    const refs = obj.metadata.ownerReferences ?? [];
    if (refs.length === 0) return;
    const solid: OwnerReference[] = [];
    let dangling = 0;
    for (const r of refs) {
      if (this.ownerExists(obj, r)) solid.push(r);
      else dangling++;
    }
    if (dangling === 0) return;
    if (solid.length > 0) {
      store.update({ ...obj, metadata: { ...obj.metadata, ownerReferences: solid } });
      return;
    }
    if (obj.metadata.deletionTimestamp) return;
    store.delete(node.kind, node.namespace, node.name);
  }

  /**
   * The owner is the object with that uid, kind and name. A namespaced owner must be in the
   * dependent's namespace (upstream treats a cross-namespace reference as absent).
   */
  private ownerExists(dep: KObject, r: OwnerReference): boolean {
    const owner = this.nodes.get(r.uid);
    if (!owner || owner.kind !== r.kind || owner.name !== r.name) return false;
    if (isClusterScoped(owner.kind)) return true;
    return !isClusterScoped(dep.kind) && owner.namespace === (dep.metadata.namespace ?? 'default');
  }
}

function hasUid(refs: readonly OwnerReference[], uid: string): boolean {
  for (let i = 0; i < refs.length; i++) if (refs[i]!.uid === uid) return true;
  return false;
}

function nodeOf(o: KObject): Node {
  return { kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name ?? '', owners: o.metadata.ownerReferences };
}
