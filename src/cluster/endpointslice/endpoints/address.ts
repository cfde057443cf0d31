// Building Endpoints subsets (endpoints_controller.go): one address per Pod, single-family, and
// one one-address subset per (Pod, Service port) before repacking.
import type { EndpointAddress, EndpointPort, EndpointSubset, Pod, Service, ServicePort } from 'kubernetes-types/core/v1.js';
import { isIPv6String } from '../ip.js';
import { isPodReady } from '../podutil.js';

/**
 * The family Endpoints use for a Service: ipFamilies[0], else the clusterIP's family; undefined
 * for a headless Service without ipFamilies, where each Pod's status.podIP decides.
 */
export function serviceIsIPv6(svc: Service): boolean | undefined {
  const families = svc.spec?.ipFamilies ?? [];
  if (families.length > 0) return families[0] === 'IPv6';
  const clusterIP = svc.spec?.clusterIP ?? '';
  if (clusterIP !== '' && clusterIP !== 'None') return isIPv6String(clusterIP);
  return undefined;
}

/**
 * podToEndpointAddressForService: the first Pod IP of the Service's family (see serviceIsIPv6).
 * Undefined when the Pod has no IP of that family.
 */
export function podToEndpointAddressForService(
  svc: Service,
  pod: Pod,
  v6ForService: boolean | undefined = serviceIsIPv6(svc),
): EndpointAddress | undefined {
  const v6 = v6ForService ?? isIPv6String(pod.status?.podIP);
  // Stored pods never change in place: one address per pod and family, shared (read-only).
  const hit = addresses.get(pod);
  if (hit && hit.v6 === v6) return hit.addr;
  const addr = makeAddress(pod, v6);
  addresses.set(pod, { v6, addr });
  return addr;
}

const addresses = new WeakMap<Pod, { v6: boolean; addr: EndpointAddress | undefined }>();

function makeAddress(pod: Pod, v6: boolean): EndpointAddress | undefined {
  const ip = pod.status?.podIPs?.find((p) => isIPv6String(p.ip) === v6)?.ip;
  if (!ip) return undefined;
  return {
    ip,
    nodeName: pod.spec?.nodeName ?? '',
    targetRef: {
      kind: 'Pod',
      namespace: pod.metadata?.namespace ?? 'default',
      name: pod.metadata?.name ?? '',
      uid: pod.metadata?.uid ?? '',
    },
  };
}

export function endpointPortFromServicePort(sp: ServicePort, port: number): EndpointPort {
  return {
    name: sp.name ?? '',
    port,
    protocol: sp.protocol ?? 'TCP',
    ...(sp.appProtocol !== undefined ? { appProtocol: sp.appProtocol } : {}),
  };
}

/** addEndpointSubset: ready (or tolerated) Pods go to addresses, the rest to notReadyAddresses. */
export function addEndpointSubset(
  subsets: EndpointSubset[],
  pod: Pod,
  addr: EndpointAddress,
  port: EndpointPort | undefined,
  tolerateUnready: boolean,
): void {
  const ports = port ? [port] : [];
  if (tolerateUnready || isPodReady(pod)) subsets.push({ addresses: [addr], ports });
  else subsets.push({ notReadyAddresses: [addr], ports });
}
