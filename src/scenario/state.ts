// Summaries of cluster state that scenarios check and reports show.
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Store } from '../cluster/store.js';
import type { Stored } from '../cluster/object.js';
import { podsForSelector } from '../cluster/podindex.js';
import { parseSelector } from './selector.js';

export interface EndpointCounts {
  ready: number;
  serving: number;
  terminating: number;
  total: number;
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** The EndpointSlices of a Service (any manager), in store order. */
export function slicesOf(store: Store, namespace: string, service: string): Stored<EndpointSlice>[] {
  return store
    .list<Stored<EndpointSlice>>('EndpointSlice', namespace)
    .filter((s) => s.metadata.labels?.[SERVICE_NAME_LABEL] === service);
}

/** Endpoint counts of a Service, one endpoint per backing pod (or address) across address types. */
export function endpointCounts(store: Store, namespace: string, service: string): EndpointCounts {
  const seen = new Map<string, { ready: boolean; serving: boolean; terminating: boolean }>();
  for (const slice of slicesOf(store, namespace, service)) {
    for (const ep of slice.endpoints ?? []) {
      const id = ep.targetRef?.uid ?? ep.targetRef?.name ?? ep.addresses.join(',');
      if (seen.has(id)) continue;
      seen.set(id, {
        ready: ep.conditions?.ready !== false,
        serving: ep.conditions?.serving ?? ep.conditions?.ready !== false,
        terminating: ep.conditions?.terminating === true,
      });
    }
  }
  const c: EndpointCounts = { ready: 0, serving: 0, terminating: 0, total: seen.size };
  for (const e of seen.values()) {
    if (e.ready) c.ready++;
    if (e.serving) c.serving++;
    if (e.terminating) c.terminating++;
  }
  return c;
}

export interface PodCounts {
  running: number;
  ready: number;
  total: number;
}

export function podCounts(store: Store, namespace: string, selector: string): PodCounts {
  const pods = podsForSelector(store, namespace, parseSelector(selector));
  const c: PodCounts = { running: 0, ready: 0, total: pods.length };
  for (const p of pods) {
    if (p.status?.phase === 'Running') c.running++;
    if (isPodReady(p)) c.ready++;
  }
  return c;
}

export function isPodReady(p: Pod): boolean {
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Services users declared (not the ones the cluster bootstraps), `ns/name`, sorted. */
export function userServices(store: Store): string[] {
  return store
    .list<Stored<Service>>('Service')
    .filter((s) => !(s.metadata.namespace === 'default' && s.metadata.name === 'kubernetes') && s.metadata.namespace !== 'kube-system')
    .filter((s) => s.spec?.type !== 'ExternalName')
    .map((s) => `${s.metadata.namespace}/${s.metadata.name}`)
    .sort();
}

export function formatCounts(c: EndpointCounts): string {
  const parts = [`${c.ready}/${c.total} ready`];
  if (c.terminating) parts.push(`${c.terminating} terminating`);
  if (c.serving !== c.ready) parts.push(`${c.serving} serving`);
  return parts.join(', ');
}
