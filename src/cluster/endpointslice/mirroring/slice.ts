// Mirrored slices (endpointslicemirroring/utils.go): one Endpoints address → one endpoint, and
// the slice metadata copied from the Endpoints object.
import type { EndpointAddress, EndpointPort as CoreEndpointPort, Endpoints } from 'kubernetes-types/core/v1.js';
import type { EndpointPort } from 'kubernetes-types/discovery/v1.js';
import {
  ANNOTATION_LAST_APPLIED,
  ANNOTATION_TRIGGER_TIME,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  MIRRORING_CONTROLLER_NAME,
  type AddressType,
} from '../constants.js';
import { parseIP } from '../ip.js';
import { endpointSlicePrefix } from '../slicemeta.js';
import type { Slice, SliceEndpoint } from '../types.js';

/** addressToEndpoint: undefined for an address that is not an IP. Only `ready` is set. */
export function addressToEndpoint(address: EndpointAddress, ready: boolean): { endpoint: SliceEndpoint; addressType: AddressType } | undefined {
  const ip = parseIP(address.ip);
  if (!ip) return undefined;
  const endpoint: SliceEndpoint = { addresses: [ip.text], conditions: { ready } };
  if (address.hostname) endpoint.hostname = address.hostname;
  if (address.targetRef) endpoint.targetRef = address.targetRef;
  if (address.nodeName !== undefined) endpoint.nodeName = address.nodeName;
  return { endpoint, addressType: ip.family };
}

/** epPortsToEpsPorts. */
export function toSlicePorts(ports: readonly CoreEndpointPort[] | undefined): EndpointPort[] {
  return (ports ?? []).map((p) => ({
    name: p.name ?? '',
    port: p.port,
    protocol: p.protocol ?? 'TCP',
    ...(p.appProtocol !== undefined ? { appProtocol: p.appProtocol } : {}),
  }));
}

/** The Endpoints annotations a mirrored slice carries: all but the trigger time and last-applied. */
export function mirroredAnnotations(endpoints: Endpoints): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(endpoints.metadata?.annotations ?? {})) {
    if (k !== ANNOTATION_TRIGGER_TIME && k !== ANNOTATION_LAST_APPLIED) out[k] = v;
  }
  return out;
}

/** newEndpointSlice: owned by the Endpoints object, with its labels and annotations. */
export function newMirroredSlice(
  endpoints: Endpoints,
  ports: EndpointPort[],
  addressType: AddressType,
  sliceName: string | undefined,
): Slice {
  const name = endpoints.metadata?.name ?? '';
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      ...(sliceName ? { name: sliceName } : { generateName: endpointSlicePrefix(name) }),
      namespace: endpoints.metadata?.namespace ?? 'default',
      labels: { ...(endpoints.metadata?.labels ?? {}), [LABEL_SERVICE_NAME]: name, [LABEL_MANAGED_BY]: MIRRORING_CONTROLLER_NAME },
      annotations: mirroredAnnotations(endpoints),
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'Endpoints',
          name,
          uid: endpoints.metadata?.uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    addressType,
    endpoints: [],
    ports,
  };
}
