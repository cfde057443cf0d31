// The legacy Endpoints controller (pkg/controller/endpoint): one v1 Endpoints object per Service
// with a selector, single-family, truncated at 1000 addresses. (v1 Endpoints is deprecated since
// v1.33; kube-proxy reads EndpointSlices only, but the controller still runs.)
import type { EndpointPort, Endpoints, Pod, Service, ServicePort } from 'kubernetes-types/core/v1.js';
import type { Controller, ControllerContext } from '../controller.js';
import { splitKey, type KObject } from '../object.js';
import { podsForMap } from '../podindex.js';
import { ApiError, type WatchEvent } from '../store.js';
import {
  ANNOTATION_LEADER_ELECTION,
  ANNOTATION_OVER_CAPACITY,
  ANNOTATION_TRIGGER_TIME,
  LABEL_HEADLESS,
} from '../endpointslice/constants.js';
import {
  addEndpointSubset,
  endpointPortFromServicePort,
  podToEndpointAddressForService,
  serviceIsIPv6,
} from '../endpointslice/endpoints/address.js';
import { subsetsEqual } from '../endpointslice/endpoints/equal.js';
import { repackSubsets } from '../endpointslice/endpoints/repack.js';
import { capacityAnnotationSetCorrectly, truncateSubsets } from '../endpointslice/endpoints/truncate.js';
import { findPort } from '../endpointslice/findport.js';
import { installEndpointIndexes } from '../endpointslice/indexes.js';
import { servicesForPodEvent } from '../endpointslice/podchange.js';
import { shouldPodBeInEndpoints, shouldSetHostname } from '../endpointslice/podutil.js';
import { RetryBackoff } from '../endpointslice/retry.js';
import { isServiceIPSet } from '../endpointslice/slicemeta.js';
import { TriggerTimeTracker } from '../endpointslice/triggertime.js';
import { formatRFC3339Nano } from '../rfc3339.js';

type StoredEndpoints = KObject & Endpoints;

export class EndpointsController implements Controller {
  readonly name = 'endpoints';
  private readonly triggerTimes = new TriggerTimeTracker();
  // DefaultControllerRateLimiter: 5ms·2^n up to 1000s; 15 retries.
  private readonly retries = new RetryBackoff(0.005, 1000, 15);
  private ctx!: ControllerContext;

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    const { store, queue } = ctx;
    installEndpointIndexes(store);
    store.watch<KObject & Service>('Service', (ev) => queue.add(keyOf(ev.object)));
    store.watch<KObject & Pod>('Pod', (ev) => this.onPod(ev));
    // Only deletions of Endpoints are watched (to recreate them).
    store.watch<StoredEndpoints>('Endpoints', (ev) => {
      if (ev.type === 'DELETED') queue.add(keyOf(ev.object));
    });
    for (const svc of store.list('Service')) queue.add(keyOf(svc));
    // checkLeftoverEndpoints: Endpoints whose Service is gone get deleted.
    for (const ep of store.list('Endpoints')) {
      if (ep.metadata.annotations?.[ANNOTATION_LEADER_ELECTION] === undefined) queue.add(keyOf(ep));
    }
  }

  sync(key: string): void {
    if (this.syncService(key)) this.retries.succeeded(key);
    else this.retries.failed(this.ctx, key);
  }

  private syncService(key: string): boolean {
    const { store } = this.ctx;
    const { namespace = 'default', name } = splitKey(key);
    // Queue keys are store keys (Services and their Endpoints share them): no need to build them again.
    const service = store.getByKey<KObject & Service>('Service', key);
    if (!service) {
      // The Service is gone: so is its Endpoints object.
      store.delete('Endpoints', namespace, name);
      this.triggerTimes.deleteService(key);
      return true;
    }
    if (service.spec?.type === 'ExternalName') return true;
    const selector = service.spec?.selector;
    if (!selector) return true;

    const pods = podsForMap(store, namespace, selector);
    const triggerTime = this.triggerTimes.compute(key, service, pods);
    const publishNotReady = service.spec?.publishNotReadyAddresses === true;
    const svcPorts = service.spec?.ports ?? [];
    let subsets = [] as NonNullable<Endpoints['subsets']>;
    const v6 = serviceIsIPv6(service);
    // One port object per (Service port, number), shared by the Pods that resolve to it.
    const portObjects = new Map<string, EndpointPort>();
    for (const pod of pods) {
      // Unlike slices, terminating Pods count only with publishNotReadyAddresses.
      if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue;
      let addr = podToEndpointAddressForService(service, pod, v6);
      if (!addr) continue;
      // The address is shared: a hostname goes on a copy.
      if (shouldSetHostname(pod, service)) addr = { ...addr, hostname: pod.spec!.hostname! };
      if (svcPorts.length === 0) {
        // A headless Service may have no ports.
        if (service.spec?.clusterIP === 'None') addEndpointSubset(subsets, pod, addr, undefined, publishNotReady);
        continue;
      }
      for (let i = 0; i < svcPorts.length; i++) {
        const port = findPort(pod, svcPorts[i]!);
        if (port === undefined) continue;
        addEndpointSubset(subsets, pod, addr, endpointPort(portObjects, svcPorts, i, port), publishNotReady);
      }
    }
    subsets = repackSubsets(subsets);

    const current = store.getByKey<StoredEndpoints>('Endpoints', key);
    const svcLabels = service.metadata.labels;
    if (current) {
      if (
        subsetsEqual(current.subsets, subsets) &&
        labelsEqualBut(current.metadata.labels, svcLabels, LABEL_HEADLESS) &&
        capacityAnnotationSetCorrectly(current.metadata.annotations, current.subsets)
      ) {
        return true;
      }
    }

    const annotations = { ...(current?.metadata.annotations ?? {}) };
    if (triggerTime !== undefined) annotations[ANNOTATION_TRIGGER_TIME] = formatRFC3339Nano(triggerTime);
    else delete annotations[ANNOTATION_TRIGGER_TIME];
    const { subsets: kept, truncated } = truncateSubsets(subsets);
    if (truncated) annotations[ANNOTATION_OVER_CAPACITY] = 'truncated';
    else delete annotations[ANNOTATION_OVER_CAPACITY];
    const labels: Record<string, string> = { ...(svcLabels ?? {}) };
    if (!isServiceIPSet(service)) labels[LABEL_HEADLESS] = '';
    else delete labels[LABEL_HEADLESS];

    const { subsets: _previous, ...rest } = current ?? {};
    const next: StoredEndpoints = {
      ...rest,
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { ...(current?.metadata ?? { name, namespace }), labels, annotations },
      ...(kept.length ? { subsets: kept } : {}),
    };
    try {
      if (current) store.update(next);
      else store.create(next);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (!current && e instanceof ApiError && e.reason === 'Forbidden') {
        // A terminating namespace refuses creates: drop the work item.
        if (/terminat/i.test(msg)) return true;
      }
      this.ctx.record(
        next,
        'Warning',
        current ? 'FailedToUpdateEndpoint' : 'FailedToCreateEndpoint',
        current
          ? `Failed to update endpoint ${namespace}/${name}: ${msg}`
          : `Failed to create endpoint for service ${namespace}/${name}: ${msg}`,
      );
      return false;
    }
    return true;
  }

  private onPod(ev: WatchEvent<KObject & Pod>): void {
    const { store, queue } = this.ctx;
    for (const k of servicesForPodEvent(store, ev)) queue.add(k);
  }
}

/** The port object for (Service port i, number), made once per sync. */
function endpointPort(made: Map<string, EndpointPort>, svcPorts: readonly ServicePort[], i: number, port: number): EndpointPort {
  const k = `${i}:${port}`;
  let p = made.get(k);
  if (!p) made.set(k, (p = endpointPortFromServicePort(svcPorts[i]!, port)));
  return p;
}

/** stringMapsEqual(a without `skip`, b), without copying `a` (a `delete` would slow it down). */
function labelsEqualBut(
  a: Readonly<Record<string, string>> | undefined,
  b: Readonly<Record<string, string>> | undefined,
  skip: string,
): boolean {
  let na = 0;
  if (a) {
    for (const k of Object.keys(a)) {
      if (k === skip) continue;
      na++;
      if (b?.[k] !== a[k]) return false;
    }
  }
  const nb = b ? Object.keys(b).length : 0;
  return na === nb;
}

function keyOf(o: KObject): string {
  return `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;
}
