// The EndpointSlice reconciler (k8s.io/endpointslice reconciler.go): turn the Pods a Service
// selects into slices with as few writes as possible.
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointPort } from 'kubernetes-types/discovery/v1.js';
import { ApiError } from '../store.js';
import {
  TRAFFIC_DISTRIBUTION_PREFER_CLOSE,
  TRAFFIC_DISTRIBUTION_PREFER_SAME_NODE,
  TRAFFIC_DISTRIBUTION_PREFER_SAME_ZONE,
  type AddressType,
} from './constants.js';
import { EndpointSet, endpointsEqualBeyondHash } from './endpointset.js';
import { podToEndpoint } from './podtoendpoint.js';
import { shouldPodBeInEndpoints } from './podutil.js';
import { getEndpointPorts, portMapKey } from './ports.js';
import {
  addressTypesForService,
  addTriggerTimeAnnotation,
  hintsEnabled,
  newEndpointSlice,
  ownedBy,
  placeholderSliceEqual,
  serviceKeyForSlice,
  setEndpointSliceLabels,
} from './slicemeta.js';
import type { TopologyCache } from './topologycache.js';
import { EVENT_MESSAGES, formatWithAddressType, removeHintsFromSlices, type EventBuilder, type SliceInfo } from './topologyhints.js';
import { reconcileHints } from './trafficdist.js';
import { copySlice, type Slice } from './types.js';

/** The API calls a reconcile makes; the controller backs them with the store. */
export interface SliceWriter {
  create(slice: Slice): Slice;
  update(slice: Slice): Slice;
  delete(slice: Slice): void;
}

export interface ReconcilerOptions {
  controllerName: string;
  maxEndpointsPerSlice: number;
  /** The PreferSameTrafficDistribution gate: PreferSameZone / PreferSameNode count. */
  preferSameTrafficDistribution: boolean;
  /** Present when topology-aware hints (the topology-mode annotation) are available. */
  topologyCache?: TopologyCache;
  getNode(name: string): Node | undefined;
  writer: SliceWriter;
  recordEvent(service: Service, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export class Reconciler {
  constructor(private readonly opts: ReconcilerOptions) {}

  /**
   * Reconcile: one pass per address type the Service has; slices of address types it no longer
   * has are deleted last. Returns the errors met (a Pod on a missing Node is one).
   */
  reconcile(service: Service, pods: readonly Pod[], existingSlices: readonly Slice[], triggerTime: number | undefined): Error[] {
    const errs: Error[] = [];
    const supported = addressTypesForService(service);
    const toDelete: Slice[] = [];
    const byType = new Map<string, Slice[]>();
    for (const s of existingSlices) {
      if (!supported.includes(s.addressType as AddressType)) {
        const key = serviceKeyForSlice(s);
        if (this.opts.topologyCache && key) this.opts.topologyCache.removeHints(key, s.addressType as AddressType);
        toDelete.push(s);
        continue;
      }
      let list = byType.get(s.addressType);
      if (!list) byType.set(s.addressType, (list = []));
      list.push(s);
    }
    for (const addressType of supported) {
      errs.push(...this.reconcileByAddressType(service, pods, byType.get(addressType) ?? [], triggerTime, addressType));
    }
    for (const s of toDelete) {
      try {
        this.opts.writer.delete(s);
      } catch (e) {
        errs.push(new Error(`error deleting ${s.metadata.name} EndpointSlice for Service ${svcRef(service)}: ${message(e)}`));
      }
    }
    return errs;
  }

  private reconcileByAddressType(
    service: Service,
    pods: readonly Pod[],
    existingSlices: readonly Slice[],
    triggerTime: number | undefined,
    addressType: AddressType,
  ): Error[] {
    const errs: Error[] = [];
    let slicesToCreate: Slice[] = [];
    let slicesToUpdate: Slice[] = [];
    const slicesToDelete: Slice[] = [];
    let events: EventBuilder[] = [];

    // Existing state: owned slices by port map key; slices of another owner go.
    const existingByPortMap = new Map<string, Slice[]>();
    for (const s of existingSlices) {
      if (!ownedBy(s, service)) {
        slicesToDelete.push(s);
        continue;
      }
      const key = portMapKey(s.ports);
      let list = existingByPortMap.get(key);
      if (!list) existingByPortMap.set(key, (list = []));
      list.push(s);
    }

    // Desired state: endpoints by port map key.
    const desiredPorts = new Map<string, EndpointPort[]>();
    const desiredByPortMap = new Map<string, EndpointSet>();
    const publishNotReady = service.spec?.publishNotReadyAddresses === true;
    // Without named target ports every Pod gets the same ports: work them out once.
    const named = (service.spec?.ports ?? []).some((p) => typeof (p.targetPort ?? p.port) === 'string');
    const sharedPorts = named ? undefined : getEndpointPorts(service, {});
    const sharedKey = sharedPorts && portMapKey(sharedPorts);
    for (const pod of pods) {
      if (!shouldPodBeInEndpoints(pod, true)) continue;
      const ports = sharedPorts ?? getEndpointPorts(service, pod);
      const key = sharedKey ?? portMapKey(ports);
      let set = desiredByPortMap.get(key);
      if (!set) {
        desiredByPortMap.set(key, (set = new EndpointSet()));
        desiredPorts.set(key, ports);
      }
      const nodeName = pod.spec?.nodeName ?? '';
      const node = this.opts.getNode(nodeName);
      if (!node && !publishNotReady) {
        // Leave the Pod out and retry the Service; with publishNotReadyAddresses it is published.
        errs.push(
          new Error(`skipping Pod ${pod.metadata?.name} for Service ${svcRef(service)}: Node ${nodeName} Not Found`),
        );
        continue;
      }
      const ep = podToEndpoint(pod, node, service, addressType);
      if (ep.addresses.length > 0) set.insert(ep);
    }

    for (const [key, desired] of desiredByPortMap) {
      const r = this.reconcileByPortMapping(service, existingByPortMap.get(key) ?? [], desired, desiredPorts.get(key)!, addressType);
      slicesToCreate.push(...r.toCreate);
      slicesToUpdate.push(...r.toUpdate);
      slicesToDelete.push(...r.toDelete);
    }

    // Sets of ports no longer desired: all their slices go.
    for (const [key, slices] of existingByPortMap) if (!desiredByPortMap.has(key)) slicesToDelete.push(...slices);

    // When no slice would remain, keep one placeholder with no ports and no endpoints.
    if (existingSlices.length === slicesToDelete.length && slicesToCreate.length < 1) {
      const placeholder = newEndpointSlice(service, [], addressType, this.opts.controllerName);
      if (slicesToDelete.length === 1 && placeholderSliceEqual(slicesToDelete[0]!, placeholder)) {
        slicesToDelete.length = 0;
      } else {
        slicesToCreate.push(placeholder);
      }
    }

    // Hints, per address type.
    const svcKey = `${service.metadata?.namespace ?? 'default'}/${service.metadata?.name ?? ''}`;
    const si: SliceInfo = {
      serviceKey: svcKey,
      addressType,
      toCreate: slicesToCreate,
      toUpdate: slicesToUpdate,
      unchanged: unchangedSlices(existingSlices, slicesToUpdate, slicesToDelete),
    };
    const annotations = service.metadata?.annotations;
    const canUseTrafficDistribution =
      this.validTrafficDistribution(service.spec?.trafficDistribution) && !hintsEnabled(annotations);
    const cache = this.opts.topologyCache;
    if (cache && hintsEnabled(annotations)) {
      // The topology annotation takes precedence over trafficDistribution.
      const r = cache.addHints(si);
      slicesToCreate = r.toCreate;
      slicesToUpdate = r.toUpdate;
      events = r.events;
    } else {
      if (cache) {
        if (cache.hasPopulatedHints(svcKey)) {
          events.push({
            type: 'Warning',
            reason: 'TopologyAwareHintsDisabled',
            message: formatWithAddressType(EVENT_MESSAGES.disabled, addressType),
          });
        }
        cache.removeHints(svcKey, addressType);
      }
      if (!canUseTrafficDistribution) {
        const r = removeHintsFromSlices(si);
        slicesToCreate = r.toCreate;
        slicesToUpdate = r.toUpdate;
      }
    }
    if (canUseTrafficDistribution) {
      const r = reconcileHints(
        service.spec?.trafficDistribution,
        slicesToCreate,
        slicesToUpdate,
        unchangedSlices(existingSlices, slicesToUpdate, slicesToDelete),
      );
      slicesToCreate = r.toCreate;
      slicesToUpdate = r.toUpdate;
    }

    const err = this.finalize(service, slicesToCreate, slicesToUpdate, slicesToDelete, triggerTime);
    if (err) errs.push(err);
    for (const ev of events) this.opts.recordEvent(service, ev.type, ev.reason, ev.message);
    return errs;
  }

  /**
   * reconcileByPortMapping:
   *  1. keep the still-desired endpoints of each existing slice (in their desired version);
   *     a slice that lost or changed endpoints is updated, or deleted when empty;
   *  2. fill the slices being updated, largest first, with the remaining endpoints;
   *  3. put what is left into new slices of up to the maximum, except that a remainder smaller
   *     than the maximum goes into the unchanged slice that ends up closest to full.
   */
  private reconcileByPortMapping(
    service: Service,
    existingSlices: readonly Slice[],
    desired: EndpointSet,
    ports: EndpointPort[],
    addressType: AddressType,
  ): { toCreate: Slice[]; toUpdate: Slice[]; toDelete: Slice[] } {
    const max = this.opts.maxEndpointsPerSlice;
    const byName = new Map<string, Slice>();
    const unchanged = new Set<string>();
    const toUpdateNames = new Set<string>();
    const toDeleteNames = new Set<string>();

    // 1.
    for (const existing of existingSlices) {
      const name = existing.metadata.name ?? '';
      byName.set(name, existing);
      const kept = [];
      let updated = false;
      for (const ep of existing.endpoints ?? []) {
        // Get, then Delete: one lookup.
        const got = desired.take(ep);
        if (!got) continue;
        kept.push(got);
        if (!endpointsEqualBeyondHash(got, ep)) updated = true;
      }
      const { labels, changed: labelsChanged } = setEndpointSliceLabels(existing, service, this.opts.controllerName);
      if (updated || (existing.endpoints?.length ?? 0) !== kept.length) {
        if (kept.length === 0) {
          toDeleteNames.add(name);
        } else {
          const copy = copySlice(existing);
          copy.endpoints = kept;
          copy.metadata.labels = labels;
          byName.set(name, copy);
          toUpdateNames.add(name);
        }
      } else if (labelsChanged) {
        const copy = copySlice(existing);
        copy.metadata.labels = labels;
        byName.set(name, copy);
        toUpdateNames.add(name);
      } else {
        unchanged.add(name);
      }
    }

    // PopAny takes endpoints in the set's (insertion) order.
    const remaining = [...desired.values()];
    let next = 0;

    // 2.
    if (remaining.length - next > 0 && toUpdateNames.size > 0) {
      const slices = [...toUpdateNames].map((n) => byName.get(n)!);
      slices.sort((a, b) => b.endpoints.length - a.endpoints.length);
      for (const s of slices) while (remaining.length - next > 0 && s.endpoints.length < max) s.endpoints.push(remaining[next++]!);
    }

    // 3.
    const toCreate: Slice[] = [];
    while (remaining.length - next > 0) {
      let fill: Slice | undefined;
      if (remaining.length - next < max && unchanged.size > 0) {
        const found = sliceToFill(
          [...unchanged].map((n) => byName.get(n)!),
          remaining.length - next,
          max,
        );
        if (found) {
          fill = copySlice(found);
          byName.set(fill.metadata.name ?? '', fill);
        }
      }
      if (!fill) fill = newEndpointSlice(service, ports, addressType, this.opts.controllerName);
      while (remaining.length - next > 0 && fill.endpoints.length < max) fill.endpoints.push(remaining[next++]!);
      if (fill.metadata.name) {
        toUpdateNames.add(fill.metadata.name);
        unchanged.delete(fill.metadata.name);
      } else {
        toCreate.push(fill);
      }
    }

    return {
      toCreate,
      toUpdate: [...toUpdateNames].map((n) => byName.get(n)!),
      toDelete: [...toDeleteNames].map((n) => byName.get(n)!),
    };
  }

  /**
   * finalize: creates paired with deletes of the same address type (and owner) become updates of
   * the slice that would be deleted; then creates, updates, deletes. No creates while the Service
   * is being deleted.
   */
  finalize(
    service: Service,
    toCreate: Slice[],
    toUpdate: Slice[],
    toDelete: Slice[],
    triggerTime: number | undefined,
  ): Error | undefined {
    const creates = [...toCreate];
    const updates = [...toUpdate];
    const deletes = [...toDelete];
    for (let i = 0; i < deletes.length; ) {
      if (creates.length === 0) break;
      const del = deletes[i]!;
      const slice = creates[creates.length - 1]!;
      if (del.addressType === slice.addressType && ownedBy(del, service)) {
        slice.metadata = { ...slice.metadata, name: del.metadata.name! };
        creates.pop();
        updates.push(slice);
        deletes.splice(i, 1);
      } else {
        i++;
      }
    }

    if (!service.metadata?.deletionTimestamp) {
      for (const slice of creates) {
        addTriggerTimeAnnotation(slice, triggerTime);
        try {
          this.opts.writer.create(slice);
        } catch (e) {
          // A terminating namespace refuses every create: drop the work item.
          if (namespaceTerminating(e)) return undefined;
          return new Error(`failed to create EndpointSlice for Service ${svcRef(service)}: ${message(e)}`);
        }
      }
    }
    for (const slice of updates) {
      addTriggerTimeAnnotation(slice, triggerTime);
      try {
        this.opts.writer.update(slice);
      } catch (e) {
        return new Error(`failed to update ${slice.metadata.name} EndpointSlice for Service ${svcRef(service)}: ${message(e)}`);
      }
    }
    for (const slice of deletes) {
      try {
        this.opts.writer.delete(slice);
      } catch (e) {
        return new Error(`failed to delete ${slice.metadata.name} EndpointSlice for Service ${svcRef(service)}: ${message(e)}`);
      }
    }
    return undefined;
  }

  /** validTrafficDistribution: PreferClose always; PreferSameZone/Node only with the gate on. */
  private validTrafficDistribution(td: string | undefined): boolean {
    if (td === undefined) return false;
    if (td === TRAFFIC_DISTRIBUTION_PREFER_CLOSE) return true;
    if (!this.opts.preferSameTrafficDistribution) return false;
    return td === TRAFFIC_DISTRIBUTION_PREFER_SAME_ZONE || td === TRAFFIC_DISTRIBUTION_PREFER_SAME_NODE;
  }
}

/** getSliceToFill: the slice closest to full after adding n endpoints without going over. */
export function sliceToFill(slices: readonly Slice[], n: number, max: number): Slice | undefined {
  let closestDiff = max;
  let closest: Slice | undefined;
  for (const s of slices) {
    const diff = max - (n + s.endpoints.length);
    if (diff >= 0 && diff < closestDiff) {
      closestDiff = diff;
      closest = s;
      if (closestDiff === 0) return closest;
    }
  }
  return closest;
}

/** The existing slices neither updated nor deleted (by name). */
function unchangedSlices(existing: readonly Slice[], toUpdate: readonly Slice[], toDelete: readonly Slice[]): Slice[] {
  const changed = new Set<string>();
  for (const s of toUpdate) changed.add(s.metadata.name ?? '');
  for (const s of toDelete) changed.add(s.metadata.name ?? '');
  return existing.filter((s) => !changed.has(s.metadata.name ?? ''));
}

function namespaceTerminating(e: unknown): boolean {
  return e instanceof ApiError && e.reason === 'Forbidden' && /terminat/i.test(e.message);
}

function svcRef(service: Service): string {
  return `${service.metadata?.namespace ?? 'default'}/${service.metadata?.name ?? ''}`;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
