// Endpoint ports of a Pod for a Service, and the port map key that groups endpoints into slices.
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointPort } from 'kubernetes-types/discovery/v1.js';
import { findPort } from './findport.js';

/**
 * getEndpointPorts: one port per Service port whose target resolves on this Pod, in canonical
 * order. A headless Service with no ports gets none.
 */
export function getEndpointPorts(service: Service, pod: Pod): EndpointPort[] {
  const svcPorts = service.spec?.ports ?? [];
  if (svcPorts.length === 0 && service.spec?.clusterIP === 'None') return [];
  const out: EndpointPort[] = [];
  for (const sp of svcPorts) {
    const port = findPort(pod, sp);
    if (port === undefined) continue; // this Pod does not serve the port: left out for it
    out.push({
      name: sp.name ?? '',
      protocol: sp.protocol ?? 'TCP',
      port,
      ...(sp.appProtocol !== undefined ? { appProtocol: sp.appProtocol } : {}),
    });
  }
  return sortPorts(out);
}

function portText(p: EndpointPort): string {
  return `${p.name ?? '\u0001'}\u0000${p.protocol ?? '\u0001'}\u0000${p.port ?? '\u0001'}\u0000${p.appProtocol ?? '\u0001'}`;
}

// Upstream sorts ports by the FNV hash of their dumped form (NewPortMapKey sorts in place); we sort
// by their fields, which is just as canonical but gives a different order.
export function sortPorts(ports: readonly EndpointPort[]): EndpointPort[] {
  if (ports.length < 2) return [...ports];
  return ports
    .map((p) => [portText(p), p] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([, p]) => p);
}

/** NewPortMapKey: identical for the same set of ports in any order; nil and empty are the same. */
export function portMapKey(ports: readonly EndpointPort[] | undefined): string {
  if (!ports || ports.length === 0) return '';
  const texts = ports.map(portText);
  if (texts.length > 1) texts.sort();
  return texts.join('\u0002');
}
