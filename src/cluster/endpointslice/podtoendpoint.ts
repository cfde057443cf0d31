// podToEndpoint: the EndpointSlice endpoint for one Pod, one Service and one address type.
import type { Node, Pod, PodStatus, Service } from 'kubernetes-types/core/v1.js';
import { LABEL_TOPOLOGY_ZONE, type AddressType } from './constants.js';
import { isCanonicalIPv4, parseIP } from './ip.js';
import { isPodReady, shouldSetHostname } from './podutil.js';
import type { SliceEndpoint } from './types.js';

interface Made {
  node: Node | undefined;
  publishNotReady: boolean;
  hostname: boolean;
  addressType: AddressType;
  ep: SliceEndpoint;
}

// Stored pods never change in place, so the endpoint made for one stays right while the node,
// the Service's relevant settings and the address type are the same; reusing it also lets the
// reconciler compare endpoints by identity. Endpoints are never changed in place either (hints
// are added on copies).
const made = new WeakMap<Pod, Made>();

export function podToEndpoint(pod: Pod, node: Node | undefined, service: Service, addressType: AddressType): SliceEndpoint {
  const publishNotReady = service.spec?.publishNotReadyAddresses === true;
  const hostname = shouldSetHostname(pod, service);
  const hit = made.get(pod);
  if (hit && hit.node === node && hit.publishNotReady === publishNotReady && hit.hostname === hostname && hit.addressType === addressType) {
    return hit.ep;
  }
  const ep = makeEndpoint(pod, node, service, addressType);
  made.set(pod, { node, publishNotReady, hostname, addressType, ep });
  return ep;
}

function makeEndpoint(pod: Pod, node: Node | undefined, service: Service, addressType: AddressType): SliceEndpoint {
  const serving = isPodReady(pod);
  const terminating = pod.metadata?.deletionTimestamp !== undefined;
  // "ready" is never true for a terminating Pod, unless publishNotReadyAddresses says so.
  const ready = service.spec?.publishNotReadyAddresses === true || (serving && !terminating);
  const nodeName = pod.spec?.nodeName;
  const zone = node?.metadata?.labels?.[LABEL_TOPOLOGY_ZONE];
  if (nodeName && zone && !shouldSetHostname(pod, service)) {
    // The usual endpoint as one literal (the keys in the order built below), so that all its
    // properties live in the object itself.
    return {
      addresses: getEndpointAddresses(pod.status, addressType),
      conditions: { ready, serving, terminating },
      targetRef: {
        kind: 'Pod',
        namespace: pod.metadata?.namespace ?? 'default',
        name: pod.metadata?.name ?? '',
        uid: pod.metadata?.uid ?? '',
      },
      nodeName,
      zone,
    };
  }
  const ep: SliceEndpoint = {
    addresses: getEndpointAddresses(pod.status, addressType),
    conditions: { ready, serving, terminating },
  };
  if (shouldSetHostname(pod, service)) ep.hostname = pod.spec!.hostname!;
  ep.targetRef = {
    kind: 'Pod',
    namespace: pod.metadata?.namespace ?? 'default',
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? '',
  };
  if (nodeName) ep.nodeName = nodeName;
  if (zone) ep.zone = zone;
  return ep;
}

/** Every status.podIPs entry of the address type, re-stringified in canonical form. */
export function getEndpointAddresses(status: PodStatus | undefined, addressType: AddressType): string[] {
  const out: string[] = [];
  for (const p of status?.podIPs ?? []) {
    const text = p.ip ?? '';
    if (isCanonicalIPv4(text)) {
      if (addressType === 'IPv4') out.push(text);
      continue;
    }
    const ip = parseIP(text);
    // Go's ParseIPSloppy yields nil for junk, which counts as IPv4; we keep the text as given.
    const family = ip?.family ?? 'IPv4';
    if (family === addressType) out.push(ip?.text ?? p.ip ?? '');
  }
  return out;
}
