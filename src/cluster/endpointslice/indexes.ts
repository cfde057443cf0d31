// Store indexes the endpoint controllers use, so that a Pod event finds its Services and a sync
// finds its slices without scanning everything.
import type { Service } from 'kubernetes-types/core/v1.js';
import type { Store } from '../store.js';
import type { KObject } from '../object.js';
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
  }, (o) => [o['spec']]);
  store.addIndex('EndpointSlice', SLICE_OWNER_INDEX, (o: KObject) => {
    const labels = o.metadata.labels;
    const svc = labels?.[LABEL_SERVICE_NAME];
    const by = labels?.[LABEL_MANAGED_BY];
    if (!svc || !by) return [];
    return [sliceIndexKey(o.metadata.namespace ?? 'default', svc, by)];
  }, (o) => [o.metadata.labels]);
}

export function sliceIndexKey(namespace: string, serviceName: string, managedBy: string): string {
  return `${namespace}/${serviceName}/${managedBy}`;
}

/** Slices labelled with this Service name and managed by this controller. */
export function slicesFor(store: Store, namespace: string, serviceName: string, managedBy: string): Slice[] {
  const out: Slice[] = [];
  for (const key of store.byIndex('EndpointSlice', SLICE_OWNER_INDEX, sliceIndexKey(namespace, serviceName, managedBy))) {
    const s = store.getByKey<Slice>('EndpointSlice', key);
    if (s) out.push(s);
  }
  return out;
}

/** Keys of the Services in `namespace` whose (non-nil) selector matches these labels. */
export function servicesForLabels(store: Store, namespace: string, labels: Labels): Set<string> {
  const out = new Set<string>();
  addMatching(store, `${namespace}/`, labels, out);
  if (labels) for (const k in labels) addMatching(store, `${namespace}/${k}=${labels[k]}`, labels, out);
  return out;
}

function addMatching(store: Store, bucket: string, labels: Labels, out: Set<string>): void {
  for (const key of store.byIndex('Service', SERVICE_SELECTOR_INDEX, bucket)) {
    const svc = store.getByKey<KObject & Service>('Service', key);
    if (svc?.spec?.selector && matchesMap(svc.spec.selector, labels)) out.add(key);
  }
}
