// RepackSubsets (pkg/api/v1/endpoints): expand subsets to (address, port, ready) facts, group
// addresses by the set of ports they offer, and sort into the canonical layout.
import type { EndpointAddress, EndpointPort, EndpointSubset } from 'kubernetes-types/core/v1.js';

const SENTINEL = '\u0000no-ports';

interface PortEntry {
  port: EndpointPort | undefined;
  addrs: Map<EndpointAddress, boolean>;
}

export function repackSubsets(subsets: readonly EndpointSubset[]): EndpointSubset[] {
  const onePort = repackOnePort(subsets);
  if (onePort) return onePort;
  // Each unique port → the addresses offering it (deduplicated by IP and UID), with readiness.
  const allAddrs = new Map<string, EndpointAddress>();
  const portToAddrs = new Map<string, PortEntry>();
  // Callers usually share one port object among many subsets: key each object once.
  const portKeys = new Map<EndpointPort, string>();
  const portKey = (p: EndpointPort): string => {
    let k = portKeys.get(p);
    if (k === undefined) portKeys.set(p, (k = portText(p)));
    return k;
  };
  const mapAddress = (addr: EndpointAddress, portKey: string, port: EndpointPort | undefined, ready: boolean): void => {
    const key = `${addr.ip}\u0000${addr.targetRef?.uid ?? ''}`;
    // The first address seen for an IP and UID stands for all (objects are never written to).
    let existing = allAddrs.get(key);
    if (!existing) allAddrs.set(key, (existing = addr));
    let entry = portToAddrs.get(portKey);
    if (!entry) portToAddrs.set(portKey, (entry = { port, addrs: new Map() }));
    // Not ready always trumps ready.
    const was = entry.addrs.get(existing);
    if (was === undefined || was) entry.addrs.set(existing, ready);
  };
  for (const subset of subsets) {
    // Addresses without ports are kept, under a sentinel port.
    const ports: (EndpointPort | undefined)[] = subset.ports?.length ? subset.ports : [undefined];
    for (const port of ports) {
      const key = port ? portKey(port) : SENTINEL;
      for (const a of subset.addresses ?? []) mapAddress(a, key, port, true);
      for (const a of subset.notReadyAddresses ?? []) mapAddress(a, key, port, false);
    }
  }

  // The sets of addresses → the ports they offer.
  const keyToAddrs = new Map<string, Map<EndpointAddress, boolean>>();
  const keyToPorts = new Map<string, EndpointPort[] | undefined>();
  // The key only groups ports within this call: with one port there is nothing to group.
  const single = portToAddrs.size === 1;
  for (const { port, addrs } of portToAddrs.values()) {
    const key = single ? '' : addressSetKey(addrs);
    keyToAddrs.set(key, addrs);
    if (port) keyToPorts.set(key, [...(keyToPorts.get(key) ?? []), port]);
    else if (!keyToPorts.has(key)) keyToPorts.set(key, undefined);
  }

  const final: EndpointSubset[] = [];
  for (const [key, ports] of keyToPorts) {
    const ready: EndpointAddress[] = [];
    const notReady: EndpointAddress[] = [];
    for (const [addr, r] of keyToAddrs.get(key)!) (r ? ready : notReady).push(addr);
    final.push({
      ...(ready.length ? { addresses: ready } : {}),
      ...(notReady.length ? { notReadyAddresses: notReady } : {}),
      ...(ports ? { ports } : {}),
    });
  }
  return sortSubsets(final);
}

/**
 * The common case, worked out directly: one-address subsets that all carry the same single port
 * object, with no target UID twice. The general path then has nothing to deduplicate or group
 * and yields this one subset (ready and not-ready addresses each sorted, then the port).
 */
function repackOnePort(subsets: readonly EndpointSubset[]): EndpointSubset[] | undefined {
  if (subsets.length === 0) return undefined;
  const port = subsets[0]!.ports?.[0];
  if (!port) return undefined;
  const ready: EndpointAddress[] = [];
  const notReady: EndpointAddress[] = [];
  const uids = new Set<string>();
  for (const s of subsets) {
    if (s.ports?.length !== 1 || s.ports[0] !== port) return undefined;
    const a = s.addresses;
    const n = s.notReadyAddresses;
    let addr: EndpointAddress;
    let isReady: boolean;
    if (a?.length === 1 && !n?.length) {
      addr = a[0]!;
      isReady = true;
    } else if (n?.length === 1 && !a?.length) {
      addr = n[0]!;
      isReady = false;
    } else {
      return undefined;
    }
    const uid = addr.targetRef?.uid;
    if (!uid || uids.has(uid)) return undefined;
    uids.add(uid);
    (isReady ? ready : notReady).push(addr);
  }
  const out: { addresses?: EndpointAddress[]; notReadyAddresses?: EndpointAddress[]; ports?: EndpointPort[] } = {};
  if (ready.length) out.addresses = ready.sort(compareAddresses);
  if (notReady.length) out.notReadyAddresses = notReady.sort(compareAddresses);
  out.ports = [port];
  return [out];
}

/** LessEndpointAddress: by IP bytes, then addresses without targetRef first, then by UID. */
export function lessEndpointAddress(a: EndpointAddress, b: EndpointAddress): boolean {
  if (a.ip !== b.ip) return a.ip < b.ip;
  if (!b.targetRef) return false;
  if (!a.targetRef) return true;
  return (a.targetRef.uid ?? '') < (b.targetRef.uid ?? '');
}

function compareAddresses(a: EndpointAddress, b: EndpointAddress): number {
  return lessEndpointAddress(a, b) ? -1 : lessEndpointAddress(b, a) ? 1 : 0;
}

// Upstream orders ports and subsets by the MD5 of their dumped form; we order by their content,
// which is as canonical but gives a different order.
export function sortSubsets(subsets: EndpointSubset[]): EndpointSubset[] {
  const sorted = subsets.map((s) => ({
    ...s,
    ...(s.addresses ? { addresses: [...s.addresses].sort(compareAddresses) } : {}),
    ...(s.notReadyAddresses ? { notReadyAddresses: [...s.notReadyAddresses].sort(compareAddresses) } : {}),
    ...(s.ports ? { ports: [...s.ports].sort((a, b) => cmp(portText(a), portText(b))) } : {}),
  }));
  if (sorted.length < 2) return sorted;
  return sorted
    .map((s) => [subsetText(s), s] as const)
    .sort((a, b) => cmp(a[0], b[0]))
    .map(([, s]) => s);
}

function portText(p: EndpointPort): string {
  return `${p.name ?? ''}\u0000${p.port}\u0000${p.protocol ?? ''}\u0000${p.appProtocol ?? '\u0001'}`;
}

function addressSetKey(addrs: Map<EndpointAddress, boolean>): string {
  return [...addrs]
    .sort((a, b) => compareAddresses(a[0], b[0]))
    .map(([a, r]) => `${a.ip}\u0000${a.targetRef?.uid ?? ''}\u0000${r ? 1 : 0}`)
    .join('\u0002');
}

function subsetText(s: EndpointSubset): string {
  const addr = (a: EndpointAddress) => `${a.ip}\u0000${a.targetRef?.uid ?? ''}`;
  return [
    (s.ports ?? []).map(portText).join('\u0002'),
    (s.addresses ?? []).map(addr).join('\u0002'),
    (s.notReadyAddresses ?? []).map(addr).join('\u0002'),
  ].join('\u0003');
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
