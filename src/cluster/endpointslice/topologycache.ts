// TopologyCache (topologycache/topologycache.go): each zone's share of allocatable CPU on ready
// Nodes, and the hints it allocated per Service, for `service.kubernetes.io/topology-mode: Auto`.
import type { Node } from 'kubernetes-types/core/v1.js';
import { LABEL_TOPOLOGY_ZONE, type AddressType } from './constants.js';
import { milliValue } from './quantity.js';
import {
  allocatedHintsByZone,
  endpointReady,
  EVENT_MESSAGES,
  formatWithAddressType,
  givingAndReceivingZones,
  redistributeHints,
  removeHintsFromSlices,
  totalReadyEndpoints,
  type Allocation,
  type EventBuilder,
  type SliceInfo,
} from './topologyhints.js';
import type { Slice } from './types.js';

/** The most overload any single endpoint should see: a zone gets at least desired / 1.2. */
export const OVERLOAD_THRESHOLD = 0.2;

type ZoneInfo = Map<string, number>;

export class TopologyCache {
  private sufficientNodeInfo = false;
  private cpuRatiosByZone: Map<string, number> | undefined = new Map();
  private readonly endpointsByService = new Map<string, Map<AddressType, ZoneInfo>>();
  private readonly hintsPopulatedByService = new Set<string>();

  /** SetNodes: recompute the zones' CPU shares from ready Nodes (control-plane Nodes excluded). */
  setNodes(nodes: readonly Node[]): void {
    let cpuByZone = new Map<string, number>();
    let sufficient = true;
    let total = 0;
    for (const node of nodes) {
      if (hasExcludedLabels(node.metadata?.labels)) continue;
      if (!isNodeReady(node)) continue;
      const cpu = milliValue(node.status?.allocatable?.['cpu']);
      const zone = node.metadata?.labels?.[LABEL_TOPOLOGY_ZONE];
      // One Node without a zone or CPU disables hints for every Service.
      if (!zone || cpu === 0) {
        cpuByZone = new Map();
        sufficient = false;
        break;
      }
      total += cpu;
      cpuByZone.set(zone, (cpuByZone.get(zone) ?? 0) + cpu);
    }
    if (total === 0 || !sufficient || cpuByZone.size < 2) {
      this.sufficientNodeInfo = false;
      this.cpuRatiosByZone = undefined;
      return;
    }
    this.sufficientNodeInfo = true;
    this.cpuRatiosByZone = new Map();
    for (const [zone, cpu] of cpuByZone) this.cpuRatiosByZone.set(zone, cpu / total);
  }

  /** The zone shares in use, for reports and tests. */
  zoneRatios(): ReadonlyMap<string, number> | undefined {
    return this.cpuRatiosByZone;
  }

  hasSufficientNodeInfo(): boolean {
    return this.sufficientNodeInfo;
  }

  /** GetOverloadedServices: Services with hints whose zones now fall below their minimum. */
  overloadedServices(): string[] {
    const out: string[] = [];
    for (const [svcKey, byType] of this.endpointsByService) {
      for (const ezi of byType.values()) {
        if (serviceOverloaded(ezi, this.cpuRatiosByZone)) {
          out.push(svcKey);
          break;
        }
      }
    }
    return out;
  }

  /** AddHints: assign zone hints to the slices being written; may remove them instead. */
  addHints(si: SliceInfo): { toCreate: Slice[]; toUpdate: Slice[]; events: EventBuilder[] } {
    const events: EventBuilder[] = [];
    const total = totalReadyEndpoints(si);
    const { allocations, event } = this.allocations(total);
    if (!allocations) {
      events.push({ ...event!, message: formatWithAddressType(event!.message, si.addressType) });
      return { ...this.removeAll(si), events };
    }

    const allocated = allocatedHintsByZone(si, allocations);
    const allocatable = [...si.toCreate, ...si.toUpdate];

    // Step 1: every ready endpoint starts with a hint for its own zone.
    for (const slice of allocatable) {
      for (let i = 0; i < slice.endpoints.length; i++) {
        const ep = slice.endpoints[i]!;
        // Upstream's `endpoint.Hints = nil` here writes to a loop copy: unready endpoints keep theirs.
        if (!endpointReady(ep)) continue;
        if (!ep.zone) {
          events.push(disabledEvent(formatWithAddressType(EVENT_MESSAGES.noZoneSpecified, si.addressType)));
          return { ...this.removeAll(si), events };
        }
        allocated.set(ep.zone, (allocated.get(ep.zone) ?? 0) + 1);
        slice.endpoints[i] = { ...ep, hints: { forZones: [{ name: ep.zone }] } };
      }
    }

    // Step 2 and 3: move hints from zones with too many to zones with too few.
    const { giving, receiving } = givingAndReceivingZones(allocations, allocated);
    for (const [zone, diff] of redistributeHints(allocatable, giving, receiving)) {
      allocated.set(zone, (allocated.get(zone) ?? 0) + diff);
    }

    if (allocated.size === 0) {
      events.push(disabledEvent(formatWithAddressType(EVENT_MESSAGES.noAllocatedHintsForZones, si.addressType)));
      return { ...this.removeAll(si), events };
    }

    const wasEnabled = this.hintsPopulatedByService.has(si.serviceKey);
    this.setHints(si.serviceKey, si.addressType, allocated);
    if (!wasEnabled) {
      events.push({
        type: 'Normal',
        reason: 'TopologyAwareHintsEnabled',
        message: formatWithAddressType(EVENT_MESSAGES.enabled, si.addressType),
      });
    }
    return { toCreate: si.toCreate, toUpdate: si.toUpdate, events };
  }

  setHints(serviceKey: string, addressType: AddressType, allocated: ZoneInfo): void {
    let byType = this.endpointsByService.get(serviceKey);
    if (!byType) this.endpointsByService.set(serviceKey, (byType = new Map()));
    byType.set(addressType, allocated);
    this.hintsPopulatedByService.add(serviceKey);
  }

  removeHints(serviceKey: string, addressType: AddressType): void {
    const byType = this.endpointsByService.get(serviceKey);
    if (byType) {
      byType.delete(addressType);
      if (byType.size === 0) this.endpointsByService.delete(serviceKey);
    }
    this.hintsPopulatedByService.delete(serviceKey);
  }

  hasPopulatedHints(serviceKey: string): boolean {
    return this.hintsPopulatedByService.has(serviceKey);
  }

  /** getAllocations: per-zone minimum, maximum and desired counts, or the reason there are none. */
  allocations(numEndpoints: number): { allocations?: Map<string, Allocation>; event?: EventBuilder } {
    const ratios = this.cpuRatiosByZone;
    if (!ratios) return { event: disabledEvent(EVENT_MESSAGES.insufficientNodeInfo) };
    if (ratios.size < 2) return { event: disabledEvent(EVENT_MESSAGES.nodesReadyInOneZoneOnly) };
    if (ratios.size > numEndpoints) {
      return {
        event: disabledEvent(
          `${EVENT_MESSAGES.insufficientNumberOfEndpoints} (${numEndpoints} endpoints, ${ratios.size} zones)`,
        ),
      };
    }
    let remainingMin = numEndpoints;
    let minTotal = 0;
    const allocations = new Map<string, Allocation>();
    for (const [zone, ratio] of ratios) {
      const desired = ratio * numEndpoints;
      const minimum = Math.ceil(desired * (1 / (1 + OVERLOAD_THRESHOLD)));
      allocations.set(zone, { minimum, maximum: 0, desired: Math.max(desired, minimum) });
      minTotal += minimum;
      remainingMin -= minimum;
      if (remainingMin < 0) {
        return {
          event: disabledEvent(
            `${EVENT_MESSAGES.minAllocationExceedsOverloadThreshold} (${numEndpoints} endpoints, ${ratios.size} zones)`,
          ),
        };
      }
    }
    for (const a of allocations.values()) a.maximum = a.minimum + numEndpoints - minTotal;
    return { allocations };
  }

  private removeAll(si: SliceInfo): { toCreate: Slice[]; toUpdate: Slice[] } {
    this.removeHints(si.serviceKey, si.addressType);
    return removeHintsFromSlices(si);
  }
}

function disabledEvent(message: string): EventBuilder {
  return { type: 'Warning', reason: 'TopologyAwareHintsDisabled', message };
}

/** serviceOverloaded: some zone has fewer hinted endpoints than its share allows. */
function serviceOverloaded(ezi: ZoneInfo, ratios: Map<string, number> | undefined): boolean {
  if (ezi.size === 0) return false;
  if (!ratios || ratios.size === 0) return true;
  let total = 0;
  for (const n of ezi.values()) total += n;
  for (const [zone, ratio] of ratios) {
    const have = ezi.get(zone);
    if (have === undefined) return true;
    if (have < Math.ceil(total * ratio * (1 / (1 + OVERLOAD_THRESHOLD)))) return true;
  }
  return false;
}

export function isNodeReady(node: Node): boolean {
  for (const c of node.status?.conditions ?? []) if (c.type === 'Ready') return c.status === 'True';
  return false;
}

/** Nodes with a control-plane or master role label are left out of the CPU shares. */
function hasExcludedLabels(labels: Readonly<Record<string, string>> | undefined): boolean {
  if (!labels) return false;
  return 'node-role.kubernetes.io/control-plane' in labels || 'node-role.kubernetes.io/master' in labels;
}
