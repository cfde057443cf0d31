// InterPodAffinity's filter: required pod affinity and anti-affinity of the incoming pod, and the
// required anti-affinity of pods already running, counted per topology domain.
import type { Namespace, Pod, PodAffinityTerm } from 'kubernetes-types/core/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { Store } from '../../store.js';
import type { KObject } from '../../object.js';
import { matchesSelector } from '../../labels.js';
import type { NodeInfo, SchedulerCache } from './cache.js';
import { forEachAssignedMatching } from './matching.js';

export const REASON_AFFINITY = "node(s) didn't match pod affinity rules";
export const REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules";
export const REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules";

interface Term {
  namespaces: Set<string>;
  namespaceSelector?: LabelSelector;
  /** undefined selects nothing (a nil labelSelector). */
  selector?: LabelSelector;
  key: string;
}

function toTerm(owner: Pod, t: PodAffinityTerm): Term {
  const ns = owner.metadata?.namespace ?? 'default';
  const namespaces = new Set<string>(t.namespaces?.length || t.namespaceSelector ? (t.namespaces ?? []) : [ns]);
  return { namespaces, namespaceSelector: t.namespaceSelector, selector: t.labelSelector, key: t.topologyKey };
}

function nsLabels(store: Store, ns: string): Record<string, string> {
  const obj = store.get<KObject & Namespace>('Namespace', undefined, ns);
  return { ...(obj?.metadata.labels ?? {}), 'kubernetes.io/metadata.name': ns };
}

function termMatches(store: Store, t: Term, pod: Pod): boolean {
  if (!t.selector) return false;
  const ns = pod.metadata?.namespace ?? 'default';
  if (!t.namespaces.has(ns) && !(t.namespaceSelector && matchesSelector(t.namespaceSelector, nsLabels(store, ns)))) return false;
  return matchesSelector(t.selector, pod.metadata?.labels);
}

function pairKey(key: string, value: string): string {
  return `${key}\0${value}`;
}

export function requiredAffinityTerms(pod: Pod): readonly PodAffinityTerm[] {
  return pod.spec?.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
}

export function requiredAntiAffinityTerms(pod: Pod): readonly PodAffinityTerm[] {
  return pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
}

export class InterPodFilter {
  private readonly affinity: Term[];
  private readonly anti: Term[];
  private readonly affinityCounts = new Map<string, number>();
  private readonly antiCounts = new Map<string, number>();
  private readonly existingAnti = new Map<string, number>();
  private readonly selfMatchesAll: boolean;

  constructor(
    private readonly store: Store,
    cache: SchedulerCache,
    pod: Pod,
  ) {
    this.affinity = requiredAffinityTerms(pod).map((t) => toTerm(pod, t));
    this.anti = requiredAntiAffinityTerms(pod).map((t) => toTerm(pod, t));
    this.selfMatchesAll = this.affinity.every((t) => termMatches(store, t, pod));
    const add = (m: Map<string, number>, n: NodeInfo | undefined, key: string) => {
      const v = n?.node ? n.labels[key] : undefined;
      if (v !== undefined) m.set(pairKey(key, v), (m.get(pairKey(key, v)) ?? 0) + 1);
    };
    if (this.affinity.length) {
      const first = this.affinity[0]!;
      this.forEachCandidate(cache, first, (rec, other) => {
        if (!this.affinity.every((t) => termMatches(store, t, other))) return;
        const n = cache.info(rec.node);
        for (const t of this.affinity) add(this.affinityCounts, n, t.key);
      });
    }
    for (const t of this.anti) {
      this.forEachCandidate(cache, t, (rec, other) => {
        if (termMatches(store, t, other)) add(this.antiCounts, cache.info(rec.node), t.key);
      });
    }
    for (const key of cache.antiAffinityPods) {
      const other = store.getByKey<KObject & Pod>('Pod', key);
      const rec = cache.pods.get(key);
      if (!other || !rec) continue;
      for (const raw of requiredAntiAffinityTerms(other)) {
        const t = toTerm(other, raw);
        if (termMatches(store, t, pod)) add(this.existingAnti, cache.info(rec.node), t.key);
      }
    }
  }

  /** Whether there is anything to check at all. */
  get active(): boolean {
    return this.affinity.length > 0 || this.anti.length > 0 || this.existingAnti.size > 0;
  }

  check(n: NodeInfo): { reason: string; resolvable: boolean } | undefined {
    if (!this.satisfiesAffinity(n)) return { reason: REASON_AFFINITY, resolvable: false };
    for (const t of this.anti) {
      const v = n.labels[t.key];
      if (v !== undefined && (this.antiCounts.get(pairKey(t.key, v)) ?? 0) > 0) return { reason: REASON_ANTI_AFFINITY, resolvable: true };
    }
    if (this.existingAnti.size > 0) {
      for (const k in n.labels) {
        if ((this.existingAnti.get(pairKey(k, n.labels[k]!)) ?? 0) > 0) return { reason: REASON_EXISTING_ANTI_AFFINITY, resolvable: true };
      }
    }
    return undefined;
  }

  private satisfiesAffinity(n: NodeInfo): boolean {
    let podsExist = true;
    for (const t of this.affinity) {
      const v = n.labels[t.key];
      if (v === undefined) return false;
      if ((this.affinityCounts.get(pairKey(t.key, v)) ?? 0) <= 0) podsExist = false;
    }
    // The first pod of a group that has affinity to itself may go anywhere with the topology labels.
    if (!podsExist) return this.affinityCounts.size === 0 && this.selfMatchesAll;
    return true;
  }

  private forEachCandidate(cache: SchedulerCache, t: Term, fn: (rec: import('./cache.js').PodRecord, pod: Pod) => void): void {
    if (!t.selector) return;
    const namespaces = new Set(t.namespaces);
    if (t.namespaceSelector) {
      for (const ns of cache.namespaces.keys()) if (matchesSelector(t.namespaceSelector, nsLabels(this.store, ns))) namespaces.add(ns);
    }
    for (const ns of namespaces) forEachAssignedMatching(this.store, cache, ns, t.selector, true, fn);
  }
}
