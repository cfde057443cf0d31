// The namespace controller (pkg/controller/namespace): deleting a Namespace deletes every
// namespaced object in it. Objects may be created in a namespace that does not exist (the
// scenario runner creates namespaces on demand), so there is no lifecycle admission here.
import type { Namespace } from 'kubernetes-types/core/v1.js';
import type { Controller, ControllerContext } from '../controller.js';
import { isClusterScoped, type Stored } from '../object.js';

/** Seconds to wait before checking again for content still terminating (pods with a grace period). */
const RECHECK_SECONDS = 1;

export class NamespaceController implements Controller {
  readonly name = 'namespace';
  private ctx!: ControllerContext;

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    ctx.store.watch<Stored<Namespace>>('Namespace', (ev) => {
      if (ev.type === 'DELETED' || ev.object.metadata.deletionTimestamp) ctx.queue.add(ev.object.metadata.name!);
    });
  }

  sync(name: string): void {
    const store = this.ctx.store;
    const ns = store.get<Stored<Namespace>>('Namespace', undefined, name);
    // A namespace that exists and is not being deleted keeps its content (it may have been recreated).
    if (ns && !ns.metadata.deletionTimestamp) return;
    let remaining = 0;
    for (const kind of store.kinds()) {
      if (isClusterScoped(kind) || kind === 'Namespace') continue;
      for (const o of store.list(kind, name)) {
        if (!o.metadata.deletionTimestamp) store.delete(kind, name, o.metadata.name!);
        if (store.get(kind, name, o.metadata.name!)) remaining++;
      }
    }
    // A namespace marked for deletion goes once its content is gone (the "kubernetes" finalizer).
    if (!ns) return;
    if (remaining > 0) this.ctx.enqueueAfter(name, RECHECK_SECONDS);
    else store.delete('Namespace', undefined, name);
  }
}
