// The endpoints kube-proxy derives from a Service's EndpointSlices (pkg/proxy/endpointslicecache.go):
// merged per (port name, protocol), deduplicated by "ip:port", sorted by that string.
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { formatIP, joinHostPort, parseIP, type IPFamily } from './ip.js';
import { LABEL_HEADLESS, LABEL_SERVICE_PROXY_NAME, type Protocol } from './serviceport.js';

export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';

export interface EndpointInfo {
  /** Normalised address (ParseIPSloppy(...).String()). */
  readonly ip: string;
  readonly port: number;
  /** JoinHostPort(ip, port): the dedup and sort key, and part of the SEP chain hash. */
  readonly endpoint: string;
  readonly nodeName: string | undefined;
  readonly zone: string | undefined;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly zoneHints: ReadonlySet<string> | undefined;
  readonly nodeHints: ReadonlySet<string> | undefined;
  readonly targetRef: { readonly kind?: string; readonly namespace?: string; readonly name?: string } | undefined;
}

/** `portName/PROTOCOL` → sorted endpoints. */
export type EndpointsByPort = Map<string, EndpointInfo[]>;

export function endpointPortKey(portName: string, protocol: Protocol | string): string {
  return `${portName}/${protocol}`;
}

/** The Service (namespace/name) a slice belongs to, or undefined when kube-proxy ignores the slice. */
export function sliceServiceKey(slice: EndpointSlice): string | undefined {
  const labels = slice.metadata?.labels ?? {};
  const svc = labels[LABEL_SERVICE_NAME];
  if (!svc) return undefined;
  if (LABEL_SERVICE_PROXY_NAME in labels || LABEL_HEADLESS in labels) return undefined;
  if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') return undefined;
  return `${slice.metadata?.namespace ?? 'default'}/${svc}`;
}

type Hints = { forZones?: { name: string }[]; forNodes?: { name: string }[] };

function hintSet(list: { name: string }[] | undefined): Set<string> | undefined {
  if (!list || list.length === 0) return undefined;
  return new Set(list.map((h) => h.name));
}

/**
 * Merge the slices of one Service. `readNodeHints` mirrors the PreferSameTrafficDistribution gate:
 * node hints are read only when it is on. Slices are visited in name order (upstream: Go map order).
 */
export function endpointsFromSlices(
  slices: readonly EndpointSlice[],
  family: IPFamily,
  readNodeHints: boolean,
): EndpointsByPort {
  const sets = new Map<string, Map<string, EndpointInfo>>();
  const ordered = [...slices].sort((a, b) => cmp(a.metadata?.name ?? '', b.metadata?.name ?? ''));
  for (const slice of ordered) {
    for (const port of slice.ports ?? []) {
      if (port.name === undefined || port.name === null) continue;
      if (!port.port) continue;
      const key = endpointPortKey(port.name, port.protocol ?? 'TCP');
      let set = sets.get(key);
      if (!set) sets.set(key, (set = new Map()));
      for (const ep of slice.endpoints ?? []) {
        const addr = ep.addresses?.[0];
        if (!addr) continue;
        const parsed = parseIP(addr);
        if (!parsed || parsed.family !== family) continue;
        const ip = formatIP(parsed);
        const c = ep.conditions ?? {};
        const terminating = c.terminating === true;
        const hints = ep.hints as Hints | undefined; // forNodes is newer than the kubernetes-types version in use
        const info: EndpointInfo = {
          ip,
          port: port.port,
          endpoint: joinHostPort(ip, port.port),
          nodeName: ep.nodeName ?? undefined,
          zone: ep.zone ?? undefined,
          ready: c.ready !== false,
          serving: c.serving !== false,
          terminating,
          zoneHints: hintSet(hints?.forZones),
          nodeHints: readNodeHints ? hintSet(hints?.forNodes) : undefined,
          targetRef: ep.targetRef
            ? { kind: ep.targetRef.kind, namespace: ep.targetRef.namespace, name: ep.targetRef.name }
            : undefined,
        };
        // A running endpoint wins over a terminating one reusing its IP.
        if (!set.has(info.endpoint) || !terminating) set.set(info.endpoint, info);
      }
    }
  }
  const out: EndpointsByPort = new Map();
  for (const [key, set] of sets) {
    if (set.size === 0) continue;
    out.set(key, [...set.values()].sort((a, b) => cmp(a.endpoint, b.endpoint)));
  }
  return out;
}

/** Byte-wise string order, as Go's sort on strings. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
