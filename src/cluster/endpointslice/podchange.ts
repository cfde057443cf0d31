// Which Services a Pod update concerns (util/controller_utils.go): the Pod's Services when
// something endpoints show changed; on a label change, the Services it joined or left.
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Store, WatchEvent } from '../store.js';
import type { KObject } from '../object.js';
import { servicesForLabels, servicesForLabelsShared } from './indexes.js';
import { isPodReady } from './podutil.js';

/** podEndpointsChanged: [endpoint fields changed, membership may have changed]. */
export function podEndpointsChanged(oldPod: Pod, newPod: Pod): [boolean, boolean] {
  const labelsChanged =
    !labelsEqual(oldPod.metadata?.labels, newPod.metadata?.labels) ||
    (oldPod.spec?.hostname ?? '') !== (newPod.spec?.hostname ?? '') ||
    (oldPod.spec?.subdomain ?? '') !== (newPod.spec?.subdomain ?? '');
  // Upstream compares deletionTimestamp pointers, which differ whenever either is set.
  if (oldPod.metadata?.deletionTimestamp !== undefined || newPod.metadata?.deletionTimestamp !== undefined) {
    return [true, labelsChanged];
  }
  if (isPodReady(oldPod) !== isPodReady(newPod)) return [true, labelsChanged];
  const a = oldPod.status?.podIPs ?? [];
  const b = newPod.status?.podIPs ?? [];
  if (a.length !== b.length) return [true, labelsChanged];
  for (let i = 0; i < a.length; i++) if (a[i]!.ip !== b[i]!.ip) return [true, labelsChanged];
  return [false, labelsChanged];
}

/** GetServicesToUpdateOnPodChange. */
export function servicesToUpdateOnPodChange(store: Store, oldPod: Pod, newPod: Pod): Set<string> {
  if (oldPod.metadata?.resourceVersion !== undefined && oldPod.metadata.resourceVersion === newPod.metadata?.resourceVersion) {
    return new Set();
  }
  const [podChanged, labelsChanged] = podEndpointsChanged(oldPod, newPod);
  if (!podChanged && !labelsChanged) return new Set();
  const ns = newPod.metadata?.namespace ?? 'default';
  const services = servicesForLabels(store, ns, newPod.metadata?.labels);
  if (!labelsChanged) return services;
  const oldServices = servicesForLabels(store, ns, oldPod.metadata?.labels);
  if (podChanged) {
    for (const s of oldServices) services.add(s);
    return services;
  }
  // Only labels changed: the Services the Pod joined or left.
  const out = new Set<string>();
  for (const s of services) if (!oldServices.has(s)) out.add(s);
  for (const s of oldServices) if (!services.has(s)) out.add(s);
  return out;
}

function labelsEqual(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  if (a === b) return true;
  const ak = a ? Object.keys(a) : [];
  const bk = b ? Object.keys(b) : [];
  if (ak.length !== bk.length) return false;
  for (const k of ak) if (b![k] !== a![k]) return false;
  return true;
}

// The EndpointSlice and Endpoints controllers ask the same question of every Pod event, one
// after the other: answer it once per event (handlers never write, so nothing changes between).
let lastEvent: object | undefined;
let lastStore: Store | undefined;
let lastAnswer: ReadonlySet<string> = new Set();
const NONE: ReadonlySet<string> = new Set();

/** The Service keys a Pod event concerns (read-only: the answer is shared). */
export function servicesForPodEvent(store: Store, ev: WatchEvent<KObject & Pod>): ReadonlySet<string> {
  if (ev === lastEvent && store === lastStore) return lastAnswer;
  const pod = ev.object;
  const ns = pod.metadata.namespace ?? 'default';
  let answer: ReadonlySet<string>;
  if (ev.type !== 'MODIFIED' || !ev.old) {
    answer = servicesForLabelsShared(store, ns, pod.metadata.labels);
  } else {
    const old = ev.old;
    const sameVersion = old.metadata?.resourceVersion !== undefined && old.metadata.resourceVersion === pod.metadata?.resourceVersion;
    const [podChanged, labelsChanged] = sameVersion ? [false, false] : podEndpointsChanged(old, pod);
    if (!podChanged && !labelsChanged) answer = NONE;
    else if (!labelsChanged) answer = servicesForLabelsShared(store, ns, pod.metadata.labels);
    else answer = servicesToUpdateOnPodChange(store, old, pod);
  }
  lastEvent = ev;
  lastStore = store;
  lastAnswer = answer;
  return answer;
}
