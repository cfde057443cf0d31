// Helpers of the topology cache (topologycache/utils.go, sliceinfo.go): moving hints between
// zones, validating existing hints, and removing them.
import type { AddressType } from './constants.js';
import { copySlice, type Slice, type SliceEndpoint } from './types.js';

/** How many endpoints a zone should get: a minimum, a maximum, and the proportional target. */
export interface Allocation {
  minimum: number;
  maximum: number;
  desired: number;
}

/** The slices of one Service and address type, split by what the reconciler will do with them. */
export interface SliceInfo {
  serviceKey: string;
  addressType: AddressType;
  toCreate: Slice[];
  toUpdate: Slice[];
  unchanged: Slice[];
}

export interface EventBuilder {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export const EVENT_MESSAGES = {
  noZoneSpecified: 'One or more endpoints do not have a zone specified',
  noAllocatedHintsForZones: 'No hints allocated for zones',
  enabled: 'Topology Aware Hints has been enabled',
  disabled: 'Topology Aware Hints has been disabled',
  insufficientNodeInfo: 'Insufficient Node information: allocatable CPU or zone not specified on one or more nodes',
  nodesReadyInOneZoneOnly: 'Nodes only ready in one zone',
  insufficientNumberOfEndpoints: 'Insufficient number of endpoints',
  minAllocationExceedsOverloadThreshold:
    'Unable to allocate minimum required endpoints to each zone without exceeding overload threshold',
} as const;

export function formatWithAddressType(s: string, addressType: AddressType): string {
  return `${s}, addressType: ${addressType}`;
}

export function endpointReady(ep: SliceEndpoint): boolean {
  return ep.conditions?.ready === true;
}

function numReadyEndpoints(eps: readonly SliceEndpoint[]): number {
  let n = 0;
  for (const ep of eps) if (endpointReady(ep)) n++;
  return n;
}

export function totalReadyEndpoints(si: SliceInfo): number {
  let n = 0;
  for (const s of si.toCreate) n += numReadyEndpoints(s.endpoints);
  for (const s of si.toUpdate) n += numReadyEndpoints(s.endpoints);
  for (const s of si.unchanged) n += numReadyEndpoints(s.endpoints);
  return n;
}

/**
 * getAllocatedHintsByZone: count the hints of unchanged slices; a slice whose hints are no
 * longer valid moves to the update list.
 */
export function allocatedHintsByZone(si: SliceInfo, allocations: Map<string, Allocation>): Map<string, number> {
  const allocated = new Map<string, number>();
  const stillUnchanged: Slice[] = [];
  for (const slice of si.unchanged) {
    const byZone = hintsByZone(slice, allocated, allocations);
    if (!byZone) {
      si.toUpdate.push(copySlice(slice));
    } else {
      stillUnchanged.push(slice);
      for (const [zone, n] of byZone) allocated.set(zone, (allocated.get(zone) ?? 0) + n);
    }
  }
  si.unchanged = stillUnchanged;
  return allocated;
}

/**
 * getHintsByZone: the hints a slice gives each zone, or undefined when a ready endpoint lacks a
 * hint, names a zone with no allocation, or pushes a zone past its maximum.
 */
function hintsByZone(
  slice: Slice,
  allocated: Map<string, number>,
  allocations: Map<string, Allocation>,
): Map<string, number> | undefined {
  const byZone = new Map<string, number>();
  for (const ep of slice.endpoints) {
    if (!endpointReady(ep)) continue;
    const forZones = ep.hints?.forZones;
    if (!forZones || forZones.length === 0) return undefined;
    for (const z of forZones) {
      if (!allocations.has(z.name)) return undefined;
      byZone.set(z.name, (byZone.get(z.name) ?? 0) + 1);
    }
  }
  for (const [zone, n] of byZone) {
    const a = allocations.get(zone);
    if (!a || n + (allocated.get(zone) ?? 0) > a.maximum) return undefined;
  }
  return byZone;
}

/**
 * getGivingAndReceivingZones: whole endpoints each zone gives away or receives, from the gap
 * between its hints and its desired share.
 */
export function givingAndReceivingZones(
  allocations: Map<string, Allocation>,
  allocated: Map<string, number>,
): { giving: Map<string, number>; receiving: Map<string, number> } {
  const givingDesired = new Map<string, number>();
  const receivingDesired = new Map<string, number>();
  for (const [zone, a] of allocations) {
    const have = allocated.get(zone) ?? 0;
    if (have > a.desired) givingDesired.set(zone, have - a.desired);
    else if (have < a.desired) receivingDesired.set(zone, a.desired - have);
  }
  const giving = new Map<string, number>();
  const receiving = new Map<string, number>();
  for (;;) {
    const [gz, numToGive] = most(givingDesired);
    const [rz, numToReceive] = most(receivingDesired);
    if (gz === '' || rz === '' || (numToGive < 1 && numToReceive < 1) || numToGive < 0.5 || numToReceive < 0.5) break;
    giving.set(gz, (giving.get(gz) ?? 0) + 1);
    givingDesired.set(gz, givingDesired.get(gz)! - 1);
    receiving.set(rz, (receiving.get(rz) ?? 0) + 1);
    receivingDesired.set(rz, receivingDesired.get(rz)! - 1);
  }
  return { giving, receiving };
}

/** getMost: the zone with the largest positive value (the first such, in map order). */
function most(zones: Map<string, number>): [string, number] {
  let zone = '';
  let num = 0;
  for (const [z, n] of zones) {
    if (n > num) {
      zone = z;
      num = n;
    }
  }
  return [zone, num];
}

/**
 * redistributeHints: re-point hints of ready endpoints in giving zones at receiving zones.
 * Returns the change in hints per zone.
 */
export function redistributeHints(
  slices: readonly Slice[],
  giving: Map<string, number>,
  receiving: Map<string, number>,
): Map<string, number> {
  const changes = new Map<string, number>();
  for (const slice of slices) {
    for (let i = 0; i < slice.endpoints.length; i++) {
      const ep = slice.endpoints[i]!;
      if (!endpointReady(ep)) continue;
      if (giving.size === 0 || receiving.size === 0) return changes;
      if (!ep.zone) continue;
      const gz = ep.zone;
      const numToGive = giving.get(gz);
      if (numToGive === undefined || numToGive <= 0) continue;
      for (const [rz, numToReceive] of receiving) {
        if (numToReceive <= 0) continue;
        slice.endpoints[i] = { ...ep, hints: { forZones: [{ name: rz }] } };
        if (numToGive === 1) giving.delete(gz);
        else giving.set(gz, numToGive - 1);
        if (numToReceive === 1) receiving.delete(rz);
        else receiving.set(rz, numToReceive - 1);
        changes.set(rz, (changes.get(rz) ?? 0) + 1);
        changes.set(gz, (changes.get(gz) ?? 0) - 1);
        break;
      }
    }
  }
  return changes;
}

/**
 * RemoveHintsFromSlices: clear hints on slices being created or updated, and move unchanged
 * slices that carry hints to the update list (as cleared copies).
 */
export function removeHintsFromSlices(si: SliceInfo): { toCreate: Slice[]; toUpdate: Slice[] } {
  for (const slice of [...si.toCreate, ...si.toUpdate]) clearHints(slice);
  const stillUnchanged: Slice[] = [];
  for (const slice of si.unchanged) {
    if (slice.endpoints.some((ep) => ep.hints !== undefined)) {
      const copy = copySlice(slice);
      clearHints(copy);
      si.toUpdate.push(copy);
    } else {
      stillUnchanged.push(slice);
    }
  }
  si.unchanged = stillUnchanged;
  return { toCreate: si.toCreate, toUpdate: si.toUpdate };
}

function clearHints(slice: Slice): void {
  for (let i = 0; i < slice.endpoints.length; i++) {
    const ep = slice.endpoints[i]!;
    if (ep.hints !== undefined) {
      const { hints: _drop, ...rest } = ep;
      slice.endpoints[i] = rest;
    }
  }
}
