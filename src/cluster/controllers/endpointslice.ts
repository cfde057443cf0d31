// The EndpointSlice controller (pkg/controller/endpointslice): keeps the slices of every Service
// with a selector in step with the Pods it selects. The work is done by the reconciler in
// ../endpointslice/; this file wires events to Service keys.
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { Controller, ControllerContext } from '../controller.js';
import { splitKey, type KObject } from '../object.js';
import { podsForMap, podsOnNode } from '../podindex.js';
import type { WatchEvent } from '../store.js';
import { ENDPOINTSLICE_CONTROLLER_NAME, LABEL_MANAGED_BY, LABEL_SERVICE_NAME, LABEL_TOPOLOGY_ZONE } from '../endpointslice/constants.js';
import { installEndpointIndexes, servicesForLabels, slicesFor } from '../endpointslice/indexes.js';
import { servicesForPodEvent } from '../endpointslice/podchange.js';
import { Reconciler } from '../endpointslice/reconciler.js';
import { RetryBackoff } from '../endpointslice/retry.js';
import { serviceKeyForSlice } from '../endpointslice/slicemeta.js';
import { isNodeReady, TopologyCache } from '../endpointslice/topologycache.js';
import { EndpointSliceTracker } from '../endpointslice/tracker.js';
import { TriggerTimeTracker } from '../endpointslice/triggertime.js';
import type { Slice } from '../endpointslice/types.js';

/** The queue key that recomputes the topology cache (no Service key contains a NUL). */
const TOPOLOGY_KEY = '\u0000topology';

/** endpointSliceChangeMinSyncDelay: a slice changed by someone else resyncs after 1s. */
const SLICE_CHANGE_DELAY_SECONDS = 1;

export class EndpointSliceController implements Controller {
  readonly name = 'endpointslice';
  readonly tracker = new EndpointSliceTracker();
  readonly topologyCache = new TopologyCache();
  private readonly triggerTimes = new TriggerTimeTracker();
  // 1s·2^n up to 1000s, 15 retries.
  private readonly retries = new RetryBackoff(1, 1000, 15);
  private ctx!: ControllerContext;
  private reconciler!: Reconciler;
  /** Set while this controller writes, so its own slice events are not taken as outside edits. */
  private writing = false;

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    const { store } = ctx;
    installEndpointIndexes(store);
    this.reconciler = new Reconciler({
      controllerName: ENDPOINTSLICE_CONTROLLER_NAME,
      maxEndpointsPerSlice: ctx.config.maxEndpointsPerSlice,
      preferSameTrafficDistribution: ctx.config.preferSameTrafficDistribution,
      topologyCache: this.topologyCache,
      // A Node's store key is its name.
      getNode: (name) => (name ? store.getByKey<KObject & Node>('Node', name) : undefined),
      recordEvent: (svc, type, reason, message) => ctx.record(svc as KObject, type, reason, message),
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
          // Marked first: the delete event then finds the deletion expected.
          this.tracker.expectDeletion(s);
          store.delete('EndpointSlice', s.metadata.namespace, s.metadata.name!);
        },
      },
    });

    store.watch<KObject & Service>('Service', (ev) => ctx.queue.add(keyOf(ev.object)));
    store.watch<KObject & Pod>('Pod', (ev) => this.onPod(ev));
    store.watch<KObject & Node>('Node', (ev) => this.onNode(ev));
    store.watch<Slice>('EndpointSlice', (ev) => this.onSlice(ev));

    for (const svc of store.list('Service')) ctx.queue.add(keyOf(svc));
    if (store.count('Node') > 0) ctx.queue.add(TOPOLOGY_KEY);
  }

  sync(key: string): void {
    if (key === TOPOLOGY_KEY) {
      this.checkNodeTopologyDistribution();
      return;
    }
    if (this.syncService(key)) this.retries.succeeded(key);
    else this.retries.failed(this.ctx, key);
  }

  /** syncService: false when the sync met an error and should be retried. */
  private syncService(key: string): boolean {
    const { store } = this.ctx;
    const { namespace = 'default', name } = splitKey(key);
    // Queue keys are store keys: no need to build the key again.
    const service = store.getByKey<KObject & Service>('Service', key);
    if (!service) {
      this.triggerTimes.deleteService(key);
      this.tracker.deleteService(namespace, name);
      return true;
    }
    // ExternalName Services get no endpoints (issue 105986); selector-less ones are left to users.
    if (service.spec?.type === 'ExternalName') return true;
    const selector = service.spec?.selector;
    if (!selector) return true;

    const pods = podsForMap(store, namespace, selector);
    const slices = slicesFor(store, namespace, name, ENDPOINTSLICE_CONTROLLER_NAME).filter(
      (s) => !s.metadata.deletionTimestamp,
    );
    // Computed before reconciling so the tracker moves on even when nothing is written.
    const triggerTime = this.triggerTimes.compute(key, service, pods);
    const errs = this.reconciler.reconcile(service, pods, slices, triggerTime);
    if (errs.length === 0) return true;
    const text = errs.length === 1 ? errs[0]!.message : `[${errs.map((e) => e.message).join(', ')}]`;
    this.ctx.record(
      service,
      'Warning',
      'FailedToUpdateEndpointSlices',
      `Error updating Endpoint Slices for Service ${namespace}/${name}: ${text}`,
    );
    return false;
  }

  private onPod(ev: WatchEvent<KObject & Pod>): void {
    const { store, queue } = this.ctx;
    for (const k of servicesForPodEvent(store, ev)) queue.add(k);
  }

  private onNode(ev: WatchEvent<KObject & Node>): void {
    const { queue } = this.ctx;
    if (ev.type !== 'MODIFIED') {
      queue.add(TOPOLOGY_KEY);
      this.queueServicesOnNode(ev.object.metadata.name!);
      return;
    }
    const old = ev.old!;
    const zoneChanged = old.metadata.labels?.[LABEL_TOPOLOGY_ZONE] !== ev.object.metadata.labels?.[LABEL_TOPOLOGY_ZONE];
    // Upstream recomputes the cache on readiness and zone changes only, not on allocatable changes.
    if (zoneChanged || isNodeReady(old) !== isNodeReady(ev.object)) queue.add(TOPOLOGY_KEY);
    if (zoneChanged) this.queueServicesOnNode(ev.object.metadata.name!);
  }

  // Differs from upstream on purpose: upstream leaves endpoints on an added, removed or re-zoned
  // Node stale until a retry or the informer resync; we resync their Services at once.
  private queueServicesOnNode(nodeName: string): void {
    const { store, queue } = this.ctx;
    for (const pod of podsOnNode(store, nodeName)) {
      for (const k of servicesForLabels(store, pod.metadata?.namespace ?? 'default', pod.metadata?.labels)) queue.add(k);
    }
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
    if (key) this.ctx.enqueueAfter(key, SLICE_CHANGE_DELAY_SECONDS);
  }

  /** checkNodeTopologyDistribution: refresh the zone shares; resync Services now overloaded. */
  private checkNodeTopologyDistribution(): void {
    this.topologyCache.setNodes(this.ctx.store.list<KObject & Node>('Node'));
    for (const k of this.topologyCache.overloadedServices()) this.ctx.queue.add(k);
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

/** Managed by this controller. (A module function: tsx names every closure made in a call.) */
function mine(s: Slice): boolean {
  return s.metadata.labels?.[LABEL_MANAGED_BY] === ENDPOINTSLICE_CONTROLLER_NAME;
}

function keyOf(o: KObject): string {
  return `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;
}
