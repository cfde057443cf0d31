// Slice metadata (utils.go): address types, labels, owner, generateName, placeholder equality,
// the trigger-time annotation and the topology annotation test.
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointPort } from 'kubernetes-types/discovery/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import {
  ANNOTATION_TOPOLOGY_AWARE_HINTS,
  ANNOTATION_TOPOLOGY_MODE,
  ANNOTATION_TRIGGER_TIME,
  LABEL_HEADLESS,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  type AddressType,
} from './constants.js';
import { isIPv6String } from './ip.js';
import { formatRFC3339Nano } from '../rfc3339.js';
import { withKey } from '../copy.js';
import type { Slice } from './types.js';

/** isServiceIPSet: the clusterIP is neither empty nor None. */
export function isServiceIPSet(service: Service): boolean {
  const ip = service.spec?.clusterIP;
  return ip !== undefined && ip !== '' && ip !== 'None';
}

/**
 * getAddressTypesForService: one per ipFamilies entry; without ipFamilies, the family of a
 * headful Service's clusterIP, or both families for a headless one.
 */
export function addressTypesForService(service: Service): AddressType[] {
  const out: AddressType[] = [];
  for (const f of service.spec?.ipFamilies ?? []) {
    if (f === 'IPv4' && !out.includes('IPv4')) out.push('IPv4');
    if (f === 'IPv6' && !out.includes('IPv6')) out.push('IPv6');
  }
  if (out.length > 0) return out;
  if (isServiceIPSet(service)) return [isIPv6String(service.spec!.clusterIP) ? 'IPv6' : 'IPv4'];
  return ['IPv4', 'IPv6'];
}

export function isReservedLabelKey(key: string): boolean {
  return key === LABEL_SERVICE_NAME || key === LABEL_MANAGED_BY || key === LABEL_HEADLESS;
}

/**
 * setEndpointSliceLabels: the Service's labels minus the reserved ones, plus service-name,
 * managed-by and (when headless) the headless label. `changed` says whether the slice's
 * non-reserved labels differ from the Service's.
 */
export function setEndpointSliceLabels(
  slice: Pick<Slice, 'metadata'>,
  service: Service,
  controllerName: string,
): { labels: Record<string, string>; changed: boolean } {
  const svcLabels: Record<string, string> = {};
  let svcCount = 0;
  for (const [k, v] of Object.entries(service.metadata?.labels ?? {})) {
    if (isReservedLabelKey(k)) continue;
    svcLabels[k] = v;
    svcCount++;
  }
  let changed = false;
  let sliceCount = 0;
  for (const [k, v] of Object.entries(slice.metadata.labels ?? {})) {
    if (isReservedLabelKey(k)) continue;
    sliceCount++;
    if (svcLabels[k] !== v) changed = true;
  }
  if (sliceCount !== svcCount) changed = true;
  if (!isServiceIPSet(service)) svcLabels[LABEL_HEADLESS] = '';
  svcLabels[LABEL_SERVICE_NAME] = service.metadata?.name ?? '';
  svcLabels[LABEL_MANAGED_BY] = controllerName;
  return { labels: svcLabels, changed };
}

/** The controller reference a slice carries to its Service. */
export function serviceOwnerRef(service: Service): OwnerReference {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    name: service.metadata?.name ?? '',
    uid: service.metadata?.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** ownedBy: an ownerReference with the Service's UID, kind Service and apiVersion v1. */
export function ownedBy(slice: Slice, service: Service): boolean {
  return (slice.metadata.ownerReferences ?? []).some(
    (o) => o.uid === service.metadata?.uid && o.kind === 'Service' && o.apiVersion === 'v1',
  );
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** getEndpointSlicePrefix: `<name>-`, or the bare name when that is not a valid name prefix. */
export function endpointSlicePrefix(name: string): string {
  const prefix = `${name}-`;
  // NameIsDNSSubdomain(prefix, true) masks a trailing dash before validating.
  const masked = prefix.slice(0, -1) + 'a';
  return masked.length <= 253 && DNS1123_SUBDOMAIN.test(masked) ? prefix : name;
}

/** newEndpointSlice: an empty slice for this Service, ports and address type (to be created). */
export function newEndpointSlice(
  service: Service,
  ports: EndpointPort[],
  addressType: AddressType,
  controllerName: string,
): Slice {
  const slice: Slice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      generateName: endpointSlicePrefix(service.metadata?.name ?? ''),
      namespace: service.metadata?.namespace ?? 'default',
      labels: {},
      ownerReferences: [serviceOwnerRef(service)],
    },
    addressType,
    endpoints: [],
    ports,
  };
  slice.metadata.labels = setEndpointSliceLabels(slice, service, controllerName).labels;
  return slice;
}

/**
 * placeholderSliceCompare: of the metadata only namespace and labels count; address type,
 * endpoints and ports must match (nil and empty are the same).
 */
export function placeholderSliceEqual(a: Slice, b: Slice): boolean {
  if ((a.metadata.namespace ?? '') !== (b.metadata.namespace ?? '')) return false;
  if (!stringMapsEqual(a.metadata.labels, b.metadata.labels)) return false;
  if (a.addressType !== b.addressType) return false;
  if ((a.endpoints?.length ?? 0) !== 0 || (b.endpoints?.length ?? 0) !== 0) {
    return JSON.stringify(a.endpoints ?? []) === JSON.stringify(b.endpoints ?? []);
  }
  if ((a.ports?.length ?? 0) !== 0 || (b.ports?.length ?? 0) !== 0) {
    return JSON.stringify(a.ports ?? []) === JSON.stringify(b.ports ?? []);
  }
  return true;
}

export function stringMapsEqual(
  a: Readonly<Record<string, string>> | undefined,
  b: Readonly<Record<string, string>> | undefined,
): boolean {
  const ak = a ? Object.keys(a) : [];
  const bk = b ? Object.keys(b) : [];
  if (ak.length !== bk.length) return false;
  for (const k of ak) if (b![k] !== a![k]) return false;
  return true;
}

/** addTriggerTimeAnnotation: set it (RFC3339Nano, UTC), or remove it when there is no trigger time. */
export function addTriggerTimeAnnotation(slice: Slice, triggerTimeMs: number | undefined): void {
  // The copy and the set-or-delete in one pass, without `delete` (which leaves a slow
  // dictionary-mode object): the same keys in the same order.
  const src = slice.metadata.annotations;
  const annotations: Record<string, string> = {};
  if (src) {
    for (const k of Object.keys(src)) if (triggerTimeMs !== undefined || k !== ANNOTATION_TRIGGER_TIME) annotations[k] = src[k]!;
  }
  if (triggerTimeMs !== undefined) annotations[ANNOTATION_TRIGGER_TIME] = formatRFC3339Nano(triggerTimeMs);
  // withKey: the spread with the key set, without V8's slow path when the key is new (copy.ts).
  slice.metadata = withKey(slice.metadata, 'annotations', annotations);
}

/**
 * hintsEnabled: the topology annotation (the deprecated one wins when both are set) is Auto or auto.
 */
export function hintsEnabled(annotations: Readonly<Record<string, string>> | undefined): boolean {
  let val = annotations?.[ANNOTATION_TOPOLOGY_AWARE_HINTS];
  if (val === undefined) val = annotations?.[ANNOTATION_TOPOLOGY_MODE];
  return val === 'Auto' || val === 'auto';
}

/** ServiceControllerKey: `ns/<service-name label>`, or undefined without the label. */
export function serviceKeyForSlice(slice: Slice): string | undefined {
  const name = slice.metadata.labels?.[LABEL_SERVICE_NAME];
  if (!name) return undefined;
  return `${slice.metadata.namespace ?? 'default'}/${name}`;
}
