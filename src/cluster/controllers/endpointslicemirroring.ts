// The EndpointSliceMirroring controller (pkg/controller/endpointslicemirroring): mirrors
// user-managed Endpoints of Services without a selector into EndpointSlices.
import type { Endpoints, Service } from 'kubernetes-types/core/v1.js';
import type { Controller, ControllerContext } from '../controller.js';
import { splitKey, type KObject } from '../object.js';
import type { WatchEvent } from '../store.js';
import {
  ANNOTATION_LEADER_ELECTION,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  LABEL_SKIP_MIRROR,
  MIRRORING_CONTROLLER_NAME,
} from '../endpointslice/constants.js';
import { installEndpointIndexes, slicesFor } from '../endpointslice/indexes.js';
import { DEFAULT_MAX_ENDPOINTS_PER_SUBSET, MirroringReconciler } from '../endpointslice/mirroring/reconciler.js';
import { RetryBackoff } from '../endpointslice/retry.js';
import { serviceKeyForSlice } from '../endpointslice/slicemeta.js';
import { EndpointSliceTracker } from '../endpointslice/tracker.js';
import type { Slice } from '../endpointslice/types.js';

type StoredEndpoints = KObject & Endpoints;

/** shouldMirror: not labelled skip-mirror=true and not a leader-election record. */
export function shouldMirror(endpoints: Endpoints | undefined): boolean {
  if (!endpoints) return false;
  if (endpoints.metadata?.labels?.[LABEL_SKIP_MIRROR] === 'true') return false;
  return endpoints.metadata?.annotations?.[ANNOTATION_LEADER_ELECTION] === undefined;
}

export class EndpointSliceMirroringController implements Controller {
  readonly name = 'endpointslicemirroring';
  private readonly tracker = new EndpointSliceTracker();
  // 1s·2^n up to 100s; 15 retries.
  private readonly retries = new RetryBackoff(1, 100, 15);
  private ctx!: ControllerContext;
  private reconciler!: MirroringReconciler;
  private writing = false;

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    const { store, queue } = ctx;
    installEndpointIndexes(store);
    this.reconciler = new MirroringReconciler({
      // kube-controller-manager --mirroring-max-endpoints-per-subset (not in ClusterConfig).
      maxEndpointsPerSubset: DEFAULT_MAX_ENDPOINTS_PER_SUBSET,
      recordEvent: (ep, type, reason, message) => ctx.record(ep as KObject, type, reason, message),
      writer: {
        create: (s) => {
          const out = this.selfWrite(() => store.create(s));
          this.tracker.update(out);
          return out;
        },
        update: (s) => {
          const out = this.selfWrite(() => store.update(s));
          this.tracker.update(out);
          return out;
        },
        delete: (s) => {
          this.tracker.expectDeletion(s);
          store.delete('EndpointSlice', s.metadata.namespace, s.metadata.name!);
        },
      },
    });

    store.watch<StoredEndpoints>('Endpoints', (ev) => {
      if (shouldMirror(ev.object) || (ev.type === 'MODIFIED' && shouldMirror(ev.old))) queue.add(keyOf(ev.object));
    });
    store.watch<KObject & Service>('Service', (ev) => {
      if (ev.type === 'MODIFIED' ? nilSelector(ev.old) !== nilSelector(ev.object) : nilSelector(ev.object)) {
        queue.add(keyOf(ev.object));
      }
    });
    store.watch<Slice>('EndpointSlice', (ev) => this.onSlice(ev));
    for (const ep of store.list<StoredEndpoints>('Endpoints')) if (shouldMirror(ep)) queue.add(keyOf(ep));
  }

  sync(key: string): void {
    if (this.syncEndpoints(key)) this.retries.succeeded(key);
    else this.retries.failed(this.ctx, key);
  }

  private syncEndpoints(key: string): boolean {
    const { store } = this.ctx;
    const { namespace = 'default', name } = splitKey(key);
    // Queue keys are store keys, shared by an Endpoints and its Service.
    const endpoints = store.getByKey<StoredEndpoints>('Endpoints', key);
    const svc = store.getByKey<KObject & Service>('Service', key);
    // Mirror only a mirrorable Endpoints of an existing Service without a selector; else clean up.
    if (!endpoints || !shouldMirror(endpoints) || !svc || svc.spec?.selector) return this.deleteMirroredSlices(namespace, name);
    const slices = slicesFor(store, namespace, name, MIRRORING_CONTROLLER_NAME);
    return this.reconciler.reconcile(endpoints, slices) === undefined;
  }

  private deleteMirroredSlices(namespace: string, name: string): boolean {
    const { store } = this.ctx;
    this.tracker.deleteService(namespace, name);
    for (const s of slicesFor(store, namespace, name, MIRRORING_CONTROLLER_NAME)) {
      store.delete('EndpointSlice', namespace, s.metadata.name!);
    }
    return true;
  }

  private onSlice(ev: WatchEvent<Slice>): void {
    if (this.writing) return;
    const slice = ev.object;
    if (ev.type === 'ADDED') {
      if (mine(slice) && this.tracker.shouldSync(slice)) this.queueForSlice(slice);
    } else if (ev.type === 'MODIFIED') {
      const prev = ev.old!;
      if (slice.metadata.labels?.[LABEL_SERVICE_NAME] !== prev.metadata.labels?.[LABEL_SERVICE_NAME]) {
        this.queueForSlice(slice);
        this.queueForSlice(prev);
        return;
      }
      if (mine(prev) !== mine(slice) || (mine(slice) && this.tracker.shouldSync(slice))) this.queueForSlice(slice);
    } else if (mine(slice) && this.tracker.has(slice) && !this.tracker.handleDeletion(slice)) {
      this.queueForSlice(slice);
    }
  }

  private queueForSlice(slice: Slice): void {
    const key = serviceKeyForSlice(slice);
    // endpointUpdatesBatchPeriod defaults to 0: at once.
    if (key) this.ctx.queue.add(key);
  }

  private selfWrite<T>(write: () => T): T {
    this.writing = true;
    try {
      return write();
    } finally {
      this.writing = false;
    }
  }
}

/** Managed by this controller. (Module functions: tsx names every closure made in a call.) */
function mine(s: Slice): boolean {
  return s.metadata.labels?.[LABEL_MANAGED_BY] === MIRRORING_CONTROLLER_NAME;
}

function nilSelector(s: Service | undefined): boolean {
  return !s?.spec?.selector;
}

function keyOf(o: KObject): string {
  return `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;
}
