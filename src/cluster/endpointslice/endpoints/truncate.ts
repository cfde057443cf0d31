// Endpoints over capacity (endpoints_controller.go): at most 1000 addresses, ready ones first.
import type { EndpointSubset } from 'kubernetes-types/core/v1.js';
import { ANNOTATION_OVER_CAPACITY } from '../constants.js';

export const MAX_CAPACITY = 1000;

/**
 * truncateEndpoints: each subset keeps ceil(its share × the room) addresses, capped by the room
 * left, so the last subsets may get fewer. Not-ready addresses are cut first; when the ready
 * ones alone are over, all not-ready addresses go and the ready ones are cut.
 */
export function truncateSubsets(subsets: readonly EndpointSubset[]): { subsets: EndpointSubset[]; truncated: boolean } {
  let totalReady = 0;
  let totalNotReady = 0;
  for (const s of subsets) {
    totalReady += s.addresses?.length ?? 0;
    totalNotReady += s.notReadyAddresses?.length ?? 0;
  }
  if (totalReady + totalNotReady <= MAX_CAPACITY) return { subsets: [...subsets], truncated: false };

  const truncateReady = totalReady > MAX_CAPACITY;
  const max = truncateReady ? MAX_CAPACITY : MAX_CAPACITY - totalReady;
  const numTotal = truncateReady ? totalReady : totalNotReady;
  let canBeAdded = max;
  const out = subsets.map((subset) => {
    const numInSubset = truncateReady ? (subset.addresses?.length ?? 0) : (subset.notReadyAddresses?.length ?? 0);
    let toBeAdded = Math.ceil((numInSubset / numTotal) * max);
    if (toBeAdded > canBeAdded) toBeAdded = canBeAdded;
    if (truncateReady) {
      const addresses = (subset.addresses ?? []).slice(0, toBeAdded);
      canBeAdded -= addresses.length;
      return { ...subset, addresses, notReadyAddresses: [] };
    }
    const notReadyAddresses = (subset.notReadyAddresses ?? []).slice(0, toBeAdded);
    canBeAdded -= notReadyAddresses.length;
    return { ...subset, notReadyAddresses };
  });
  return { subsets: out.map(dropEmpty), truncated: true };
}

/** capacityAnnotationSetCorrectly: under capacity and without the over-capacity annotation. */
export function capacityAnnotationSetCorrectly(
  annotations: Readonly<Record<string, string>> | undefined,
  subsets: readonly EndpointSubset[] | undefined,
): boolean {
  let n = 0;
  for (const s of subsets ?? []) n += (s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0);
  if (n > MAX_CAPACITY) return false;
  return annotations?.[ANNOTATION_OVER_CAPACITY] === undefined;
}

function dropEmpty(s: EndpointSubset): EndpointSubset {
  const out: EndpointSubset = {};
  if (s.addresses?.length) out.addresses = s.addresses;
  if (s.notReadyAddresses?.length) out.notReadyAddresses = s.notReadyAddresses;
  if (s.ports) out.ports = s.ports;
  return out;
}
