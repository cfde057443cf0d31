// PodTopologySpread: the DoNotSchedule filter (skew against the least-loaded domain) and the
// ScheduleAnyway score, including the system default constraints (hostname maxSkew 3, zone
// maxSkew 5) that spread the pods of one Service/ReplicaSet/StatefulSet when a pod has none.
import type { Pod, TopologySpreadConstraint } from 'kubernetes-types/core/v1.js';
import type { ReplicaSet, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { Store } from '../../store.js';
import { controllerOf, type KObject } from '../../object.js';
import { matchesSelector } from '../../labels.js';
import { podMatchesNode } from '../../apiserver/node-affinity.js';
import { F_HOSTNAME, F_ZONE, LABEL_HOSTNAME, LABEL_ZONE, type NodeColumns, type NodeInfo, type SchedulerCache } from './cache.js';
import type { ServiceSelectorIndex } from './services.js';
import type { MatchCounts } from './match-counts.js';

export const REASON_SPREAD = "node(s) didn't match pod topology spread constraints";
export const REASON_SPREAD_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)";

export interface SpreadConstraint {
  maxSkew: number;
  key: string;
  selector: LabelSelector;
  minDomains: number;
  /** The incoming pod matches its own selector. */
  selfMatch: boolean;
}

export interface SpreadContext {
  store: Store;
  cache: SchedulerCache;
}

export function podSpreadConstraints(pod: Pod, when: 'DoNotSchedule' | 'ScheduleAnyway'): SpreadConstraint[] {
  const out: SpreadConstraint[] = [];
  for (const c of pod.spec?.topologySpreadConstraints ?? []) {
    if (c.whenUnsatisfiable !== when) continue;
    out.push(toConstraint(c, pod));
  }
  return out;
}

function toConstraint(c: TopologySpreadConstraint, pod: Pod): SpreadConstraint {
  // A missing labelSelector selects nothing; matchLabelKeys adds the pod's own values.
  let selector: LabelSelector = c.labelSelector ?? { matchExpressions: [{ key: '\0none', operator: 'Exists' }] };
  const labels = pod.metadata?.labels ?? {};
  const extra: Record<string, string> = {};
  for (const k of c.matchLabelKeys ?? []) if (labels[k] !== undefined) extra[k] = labels[k]!;
  if (Object.keys(extra).length) selector = { ...selector, matchLabels: { ...(selector.matchLabels ?? {}), ...extra } };
  return {
    maxSkew: c.maxSkew,
    key: c.topologyKey,
    selector,
    minDomains: c.minDomains ?? 1,
    selfMatch: matchesSelector(selector, labels),
  };
}

/** helper.DefaultSelector: the selectors of Services selecting the pod plus its RC/RS/StatefulSet's. */
export function defaultSelector(store: Store, services: ServiceSelectorIndex, pod: Pod): LabelSelector | undefined {
  const ns = pod.metadata?.namespace ?? 'default';
  const set: Record<string, string> = {};
  for (const sel of services.selecting(ns, pod.metadata?.labels)) Object.assign(set, sel);
  const exprs: NonNullable<LabelSelector['matchExpressions']> = [];
  const owner = controllerOf(pod as KObject);
  if (owner) {
    if (owner.kind === 'ReplicationController' && owner.apiVersion === 'v1') {
      const rc = store.get<KObject & { spec?: { selector?: Record<string, string> } }>('ReplicationController', ns, owner.name);
      if (rc?.spec?.selector) Object.assign(set, rc.spec.selector);
    } else if ((owner.kind === 'ReplicaSet' || owner.kind === 'StatefulSet') && owner.apiVersion === 'apps/v1') {
      const ctl = store.get<KObject & (ReplicaSet | StatefulSet)>(owner.kind, ns, owner.name);
      const sel = ctl?.spec?.selector;
      if (sel) {
        Object.assign(set, sel.matchLabels ?? {});
        exprs.push(...(sel.matchExpressions ?? []));
      }
    }
  }
  if (Object.keys(set).length === 0 && exprs.length === 0) return undefined;
  return exprs.length ? { matchLabels: set, matchExpressions: exprs } : { matchLabels: set };
}

interface SelectorEntry {
  namespace: string;
  ownerUid: string;
  generation: number;
  selector: LabelSelector | undefined;
}

/**
 * DefaultSelector results, reused while Services stay the same (pods of one owner share them).
 * Pods of one template share their labels object, so entries hang off it; pods without labels
 * use a key built from namespace and owner.
 */
export class DefaultSelectorCache {
  private readonly byLabels = new WeakMap<object, SelectorEntry>();
  private readonly unlabelled = new Map<string, SelectorEntry>();

  get(store: Store, services: ServiceSelectorIndex, pod: Pod): LabelSelector | undefined {
    const owner = controllerOf(pod as KObject);
    const namespace = pod.metadata?.namespace ?? 'default';
    const ownerUid = owner?.uid ?? '';
    const labels = pod.metadata?.labels;
    const hit = labels ? this.byLabels.get(labels) : this.unlabelled.get(`${namespace}\0${ownerUid}`);
    if (hit && hit.generation === services.generation && hit.namespace === namespace && hit.ownerUid === ownerUid) return hit.selector;
    const entry: SelectorEntry = { namespace, ownerUid, generation: services.generation, selector: defaultSelector(store, services, pod) };
    if (labels) {
      this.byLabels.set(labels, entry);
    } else {
      if (this.unlabelled.size > 8192) this.unlabelled.clear();
      this.unlabelled.set(`${namespace}\0${ownerUid}`, entry);
    }
    return entry.selector;
  }
}

export function systemDefaultConstraints(selector: LabelSelector, pod: Pod): SpreadConstraint[] {
  const selfMatch = matchesSelector(selector, pod.metadata?.labels);
  return [
    { maxSkew: 3, key: LABEL_HOSTNAME, selector, minDomains: 1, selfMatch },
    { maxSkew: 5, key: LABEL_ZONE, selector, minDomains: 1, selfMatch },
  ];
}

function hasAllKeys(labels: Readonly<Record<string, string>>, constraints: readonly SpreadConstraint[]): boolean {
  for (const c of constraints) if (labels[c.key] === undefined) return false;
  return true;
}

function honoursAffinity(pod: Pod): boolean {
  return !!pod.spec?.nodeSelector || !!pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
}

/** A stable text for a selector, remembered per selector object. */
const signatures = new WeakMap<LabelSelector, string>();
export function selectorSignature(sel: LabelSelector): string {
  let sig = signatures.get(sel);
  if (sig === undefined) signatures.set(sel, (sig = JSON.stringify(sel)));
  return sig;
}

function countsFor(ctx: SpreadContext, ns: string, c: SpreadConstraint) {
  return countsForSelector(ctx, ns, c.selector);
}

/** The running match counts of one selector in a namespace. */
export function countsForSelector(ctx: SpreadContext, ns: string, selector: LabelSelector): MatchCounts {
  return ctx.cache.matchCounts.get(ctx.store, ctx.cache, ns, selector, selectorSignature);
}


/** PreFilter + Filter state for DoNotSchedule constraints. */
export class SpreadFilter {
  private readonly counts: Map<string, number>[];
  private readonly minMatch: number[];

  constructor(
    ctx: SpreadContext,
    pod: Pod,
    private readonly constraints: SpreadConstraint[],
  ) {
    const ns = pod.metadata?.namespace ?? 'default';
    const affinity = honoursAffinity(pod);
    const eligible = (n: NodeInfo) =>
      !!n.node && hasAllKeys(n.labels, constraints) && (!affinity || podMatchesNode(pod, n.name, n.labels));
    const cacheKey = `${constraints.map((c) => c.key).join('\0')}\0${affinity ? JSON.stringify([pod.spec?.nodeSelector, pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution]) : ''}`;
    const domainCache = ctx.cache.spreadDomains;
    let cached = domainCache.get(cacheKey);
    if (!cached || cached.generation !== ctx.cache.nodeGeneration) {
      const sets = constraints.map(() => new Set<string>());
      for (const n of ctx.cache.nodes()) {
        if (!eligible(n)) continue;
        constraints.forEach((c, i) => sets[i]!.add(n.labels[c.key]!));
      }
      if (domainCache.size > 256) domainCache.clear();
      cached = { generation: ctx.cache.nodeGeneration, domains: sets.map((x) => [...x]) };
      domainCache.set(cacheKey, cached);
    }
    const domains = cached.domains;
    this.counts = constraints.map((c, i) => {
      const m = new Map<string, number>();
      for (const d of domains[i]!) m.set(d, 0);
      const tracked = countsFor(ctx, ns, c);
      for (const slot of tracked.occupied) {
        const n = ctx.cache.slots[slot];
        const cnt = tracked.at(slot);
        if (!n || !eligible(n)) continue;
        const v = n.labels[c.key]!;
        const cur = m.get(v);
        if (cur !== undefined) m.set(v, cur + cnt);
      }
      return m;
    });
    this.minMatch = constraints.map((c, i) => {
      const m = this.counts[i]!;
      if (m.size < c.minDomains) return 0;
      let min = Infinity;
      for (const v of m.values()) if (v < min) min = v;
      return min === Infinity ? 0 : min;
    });
  }

  /** A failure reason, or undefined when the node keeps every skew within maxSkew. */
  check(n: NodeInfo): string | undefined {
    for (let i = 0; i < this.constraints.length; i++) {
      const c = this.constraints[i]!;
      const v = n.labels[c.key];
      if (v === undefined) return REASON_SPREAD_LABEL;
      const match = this.counts[i]!.get(v) ?? 0;
      const skew = match + (c.selfMatch ? 1 : 0) - this.minMatch[i]!;
      if (skew > c.maxSkew) return REASON_SPREAD;
    }
    return undefined;
  }
}

let cycleStamp = 0;
let zoneDomainStamp = new Uint32Array(64);
let zoneTermBuf = new Float64Array(64);
/** Matching pods per node slot for the cycle being scored; zero everywhere else. */
let hostScratch = new Uint16Array(64);
/** The slots hostScratch holds counts for (cleared when the next cycle starts). */
let hostDirty: number[] = [];

/**
 * The system default constraints (hostname maxSkew 3, zone maxSkew 5) for a pod without node
 * affinity: the common case, scored from the cache's per-node columns and a per-zone scratch
 * array instead of maps. The scheduling cycle reads `perSlot`, `hostWeight` and `zoneTerm`
 * directly in its per-node loop; score() is the same formula.
 */
export class DefaultSpreadScore {
  readonly hostWeight: number;
  /** Matching pods per node slot (a shared scratch array, valid until the next cycle). */
  readonly perSlot: Uint16Array;
  /** Per zone id of the feasible nodes: the zone part of the raw score (count × weight + 4). */
  readonly zoneTerm: Float64Array;
  private readonly cols: NodeColumns;

  constructor(ctx: SpreadContext, pod: Pod, constraints: SpreadConstraint[], feasible: Int32Array, n: number) {
    const ns = pod.metadata?.namespace ?? 'default';
    const cols = (this.cols = ctx.cache.cols);
    const stamp = ++cycleStamp;
    const zones = ctx.cache.zoneIds.size;
    if (zoneDomainStamp.length < zones) {
      zoneDomainStamp = new Uint32Array(zones * 2);
      zoneTermBuf = new Float64Array(zones * 2);
    }
    const zoneTerm = (this.zoneTerm = zoneTermBuf);
    let zoneDomains = 0;
    for (let i = 0; i < n; i++) {
      const z = cols.zoneId[feasible[i]!]!;
      if (zoneDomainStamp[z] !== stamp) {
        zoneDomainStamp[z] = stamp;
        zoneTerm[z] = 4; // no matching pods: 0 × weight + 4
        zoneDomains++;
      }
    }
    this.hostWeight = Math.log(n + 2);
    const zoneWeight = Math.log(zoneDomains + 2);
    const tracked = countsFor(ctx, ns, constraints[0]!);
    for (const slot of hostDirty) hostScratch[slot] = 0;
    hostDirty = [];
    if (hostScratch.length < cols.capacity) hostScratch = new Uint16Array(cols.capacity);
    const perSlot = tracked.perSlot;
    for (const slot of perSlot.keys()) {
      const cnt = perSlot.get(slot)!;
      if (slot >= hostScratch.length) continue; // a slot the columns do not cover is never scored
      hostScratch[slot] = cnt;
      hostDirty.push(slot);
    }
    this.perSlot = hostScratch;
    const perZone = tracked.perZone;
    for (const zone of perZone.keys()) {
      const cnt = perZone.get(zone)!;
      const z = ctx.cache.zoneIds.get(zone);
      if (z === undefined || zoneDomainStamp[z] !== stamp) continue;
      zoneTerm[z] = cnt * zoneWeight + 4;
    }
  }

  /** The raw score of the node in `slot`: lower means fewer matching pods nearby. */
  score(slot: number): number {
    const c = this.cols;
    const flags = c.flags[slot]!;
    let s = 0;
    if (flags & F_HOSTNAME) s += this.perSlot[slot]! * this.hostWeight + 2;
    if (flags & F_ZONE) s += this.zoneTerm[c.zoneId[slot]!]!;
    return Math.round(s);
  }
}

const HOST = 0;
const ZONE = 1;
const OTHER = 2;

function valueOf(n: NodeInfo, kind: number, key: string): string | undefined {
  return kind === HOST ? n.hostname : kind === ZONE ? n.zone : n.labels[key];
}

/** PreScore + Score state for ScheduleAnyway (or system default) constraints. */
export class SpreadScore {
  private readonly ignored: Set<string> | undefined;
  private readonly kinds: number[];
  private readonly weights: number[];
  private readonly skewBias: number[];
  /** Per constraint: node name → matching pods (hostname key), or domain value → matching pods. */
  private readonly counts: ReadonlyMap<string, number>[];

  constructor(
    ctx: SpreadContext,
    pod: Pod,
    private readonly constraints: SpreadConstraint[],
    requireAllTopologies: boolean,
    feasible: readonly NodeInfo[],
  ) {
    const ns = pod.metadata?.namespace ?? 'default';
    this.kinds = constraints.map((c) => (c.key === LABEL_HOSTNAME ? HOST : c.key === LABEL_ZONE ? ZONE : OTHER));
    this.skewBias = constraints.map((c) => c.maxSkew - 1);
    const domains = constraints.map(() => new Set<string>());
    let ignored: Set<string> | undefined;
    for (const n of feasible) {
      if (requireAllTopologies && !hasAllKeys(n.labels, constraints)) {
        (ignored ??= new Set()).add(n.name);
        continue;
      }
      for (let i = 0; i < constraints.length; i++) {
        if (this.kinds[i] !== HOST) domains[i]!.add(valueOf(n, this.kinds[i]!, constraints[i]!.key) ?? '');
      }
    }
    this.ignored = ignored;
    const scored = feasible.length - (ignored?.size ?? 0);
    this.weights = constraints.map((_, i) => Math.log((this.kinds[i] === HOST ? scored : domains[i]!.size) + 2));
    const affinity = honoursAffinity(pod);
    this.counts = constraints.map((c, i) => {
      const tracked = countsFor(ctx, ns, c);
      if (this.kinds[i] === HOST) {
        const perNode = new Map<string, number>();
        for (const slot of tracked.occupied) {
          const info = ctx.cache.slots[slot];
          if (info) perNode.set(info.name, tracked.at(slot));
        }
        return perNode;
      }
      const m = new Map<string, number>();
      if (this.kinds[i] === ZONE && !requireAllTopologies && !affinity) {
        for (const d of domains[i]!) m.set(d, tracked.perZone.get(d) ?? 0);
        return m;
      }
      for (const d of domains[i]!) m.set(d, 0);
      for (const slot of tracked.occupied) {
        const n = ctx.cache.slots[slot];
        const cnt = tracked.at(slot);
        if (!n?.node) continue;
        if (requireAllTopologies && !hasAllKeys(n.labels, constraints)) continue;
        if (affinity && !podMatchesNode(pod, n.name, n.labels)) continue;
        const v = valueOf(n, this.kinds[i]!, c.key) ?? '';
        const cur = m.get(v);
        if (cur !== undefined) m.set(v, cur + cnt);
      }
      return m;
    });
  }

  isIgnored(n: NodeInfo): boolean {
    return this.ignored !== undefined && this.ignored.has(n.name);
  }

  /** The raw score: lower means fewer matching pods nearby. */
  score(n: NodeInfo): number {
    if (this.ignored !== undefined && this.ignored.has(n.name)) return 0;
    let s = 0;
    for (let i = 0; i < this.kinds.length; i++) {
      const kind = this.kinds[i]!;
      const v = valueOf(n, kind, this.constraints[i]!.key);
      if (v === undefined) continue;
      const cnt = this.counts[i]!.get(kind === HOST ? n.name : v) ?? 0;
      s += cnt * this.weights[i]! + this.skewBias[i]!;
    }
    return Math.round(s);
  }
}
