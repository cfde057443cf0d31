// Semantic equality of Endpoints subsets as apimachinery's Semantic.DeepEqual sees it: nil and
// empty lists are equal, empty strings equal absent non-pointer strings, and a targetRef's
// resourceVersion is ignored.
import type { EndpointAddress, EndpointPort, EndpointSubset } from 'kubernetes-types/core/v1.js';
import { targetRefsEqual } from '../endpointset.js';

export function subsetsEqual(a: readonly EndpointSubset[] | undefined, b: readonly EndpointSubset[] | undefined): boolean {
  return listEqual(a, b, (x, y) =>
    listEqual(x.addresses, y.addresses, addressEqual) &&
    listEqual(x.notReadyAddresses, y.notReadyAddresses, addressEqual) &&
    listEqual(x.ports, y.ports, portEqual),
  );
}

function addressEqual(a: EndpointAddress, b: EndpointAddress): boolean {
  return (
    a.ip === b.ip &&
    (a.hostname ?? '') === (b.hostname ?? '') &&
    a.nodeName === b.nodeName &&
    targetRefsEqual(a.targetRef, b.targetRef)
  );
}

function portEqual(a: EndpointPort, b: EndpointPort): boolean {
  return (
    (a.name ?? '') === (b.name ?? '') &&
    a.port === b.port &&
    (a.protocol ?? '') === (b.protocol ?? '') &&
    a.appProtocol === b.appProtocol
  );
}

function listEqual<T>(a: readonly T[] | undefined, b: readonly T[] | undefined, eq: (x: T, y: T) => boolean): boolean {
  const x = a ?? [];
  const y = b ?? [];
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (!eq(x[i]!, y[i]!)) return false;
  return true;
}
