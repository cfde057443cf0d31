// Store indexes the endpoint controllers use, so that a Pod event finds its Services and a sync
// finds its slices without scanning everything.
import type { Service } from 'kubernetes-types/core/v1.js';
import type { Store } from '../store.js';
import type { KObject } from '../object.js';
import { entryObjects, labelBuckets } from '../podindex.js';
import { matchesMap, type Labels } from '../labels.js';
import { LABEL_MANAGED_BY, LABEL_SERVICE_NAME } from './constants.js';
import type { Slice } from './types.js';

export const SERVICE_SELECTOR_INDEX = 'endpoints-selector';
export const SLICE_OWNER_INDEX = 'endpointslice-service';

const installed = new WeakSet<Store>();

/** Install both indexes once per store. */
export function installEndpointIndexes(store: Store): void {
  if (installed.has(store)) return;
  installed.add(store);
  // Each Service is filed under one of its selector pairs (the smallest key), or under `ns/`
  // when its selector is empty and matches every Pod. A Pod's candidates are then the Services
  // filed under one of its own labels, each found once.
  store.addIndex('Service', SERVICE_SELECTOR_INDEX, (o: KObject) => {
    const sel = (o as Service).spec?.selector;
    if (!sel) return [];
    const ns = o.metadata.namespace ?? 'default';
    let first: string | undefined;
    for (const k in sel) if (first === undefined || k < first) first = k;
    return [first === undefined ? `${ns}/` : `${ns}/${first}=${sel[first]}`];
  }, (o) => o['spec']);
  store.addIndex('EndpointSlice', SLICE_OWNER_INDEX, (o: KObject) => {
    const labels = o.metadata.labels;
    const svc = labels?.[LABEL_SERVICE_NAME];
    const by = labels?.[LABEL_MANAGED_BY];
    if (!svc || !by) return [];
    return [sliceIndexKey(o.metadata.namespace ?? 'default', svc, by)];
  }, (o) => o.metadata.labels);
}

export function sliceIndexKey(namespace: string, serviceName: string, managedBy: string): string {
  return `${namespace}/${serviceName}/${managedBy}`;
}

/** Slices labelled with this Service name and managed by this controller. */
export function slicesFor(store: Store, namespace: string, serviceName: string, managedBy: string): Slice[] {
  return entryObjects<Slice>(store.byIndex('EndpointSlice', SLICE_OWNER_INDEX, sliceIndexKey(namespace, serviceName, managedBy)));
}

/** Keys of the Services in `namespace` whose (non-nil) selector matches these labels. */
export function servicesForLabels(store: Store, namespace: string, labels: Labels): Set<string> {
  const out = new Set<string>();
  for (const bucket of labelBuckets(namespace, labels)) addMatching(store, bucket, labels, out);
  return out;
}

const shared = new WeakMap<object, { store: Store; namespace: string; writes: number; services: ReadonlySet<string> }>();
const NO_SERVICES: ReadonlySet<string> = new Set();

/**
 * servicesForLabels, remembered per labels object (pods of one template share theirs) until a
 * Service is written. The answer is shared: read it, do not change it.
 */
export function servicesForLabelsShared(store: Store, namespace: string, labels: Labels): ReadonlySet<string> {
  if (!labels) return servicesForLabels(store, namespace, labels);
  const writes = store.writes('Service');
  const hit = shared.get(labels);
  if (hit && hit.store === store && hit.namespace === namespace && hit.writes === writes) return hit.services;
  const found = servicesForLabels(store, namespace, labels);
  const services = found.size ? found : NO_SERVICES;
  shared.set(labels, { store, namespace, writes, services });
  return services;
}

function addMatching(store: Store, bucket: string, labels: Labels, out: Set<string>): void {
  for (const { key, object } of store.byIndex('Service', SERVICE_SELECTOR_INDEX, bucket)) {
    const selector = (object as KObject & Service).spec?.selector;
    if (selector && matchesMap(selector, labels)) out.add(key);
  }
}
