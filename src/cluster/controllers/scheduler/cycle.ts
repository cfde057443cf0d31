// One scheduling cycle of kube-scheduler's default profile: PreFilter, Filter over a rotating
// window of nodes (percentageOfNodesToScore), Score with the default plugin weights, and host
// selection with ties broken at random. Per-node numbers come from the cache's typed-array
// columns (see cache.ts); objects are only touched for the rarer checks.
import type { Pod, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import type { Store } from '../../store.js';
import type { Rng } from '../../rng.js';
import { findUntoleratedTaint, formatTaint, tolerationsTolerateTaint, toleratesTaint } from '../../apiserver/tolerations.js';
import { podMatchesNode, preferredNodeAffinityScore } from '../../apiserver/node-affinity.js';
import { podRequests, type PodRequests } from '../../apiserver/resources.js';
import { F_FILTER_TAINTS, F_HOSTNAME, F_PORTS, F_PREFER_TAINTS, F_UNSCHEDULABLE, F_ZONE, hostPortsOf, type HostPort, type NodeInfo, type SchedulerCache } from './cache.js';
import { countsForSelector, DefaultSpreadScore, podSpreadConstraints, SpreadFilter, SpreadScore, systemDefaultConstraints, type DefaultSelectorCache } from './spread.js';
import { InterPodFilter, requiredAffinityTerms, requiredAntiAffinityTerms } from './interpod.js';
import type { ServiceSelectorIndex } from './services.js';
import { MAX_NODE_SCORE, resourceScore, WEIGHT } from './scores.js';
import type { WindowIndex } from './window.js';

export const REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
export const REASON_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector";
export const REASON_NODE_PORTS = "node(s) didn't have free ports for the requested pod ports";
const TAINT_UNSCHEDULABLE: Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

const MIN_FEASIBLE_NODES_TO_FIND = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;

export interface CycleEnv {
  store: Store;
  cache: SchedulerCache;
  services: ServiceSelectorIndex;
  defaultSelectors: DefaultSelectorCache;
  rng: Rng;
  /** percentageOfNodesToScore; 0 is adaptive. */
  percentageOfNodesToScore: number;
  /** Rotates across cycles so every node gets its turn (sched.nextStartNodeIndex). */
  nextStartNodeIndex: number;
  /** The common cycle without walking the window (see window.ts); absent: always linear. */
  window?: WindowIndex;
}

/** Below this many nodes the linear cycle is cheap enough. */
const WINDOW_MIN_NODES = 200;

export type CycleResult =
  | { ok: true; node: NodeInfo }
  | { ok: false; message: string; plugins: Set<string> };

/** numFeasibleNodesToFind */
export function numFeasibleNodesToFind(percentage: number, numAllNodes: number): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  let p = percentage;
  if (p <= 0) {
    p = 50 - Math.trunc(numAllNodes / 125);
    if (p < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND) p = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND;
  }
  const n = Math.trunc((numAllNodes * p) / 100);
  return n < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : n;
}

interface FilterState {
  pod: Pod;
  tolerations: readonly Toleration[] | undefined;
  toleratesUnschedulable: boolean;
  checksAffinity: boolean;
  requests: Readonly<PodRequests>;
  shape: number;
  ports: HostPort[];
  spread?: SpreadFilter;
  interPod?: InterPodFilter;
}

interface Failure {
  plugin: string;
  reasons: string[];
}

/** The filter plugins in upstream order; undefined when the node fits. */
function runFilters(s: FilterState, cache: SchedulerCache, slot: number): Failure | undefined {
  const c = cache.cols;
  const flags = c.flags[slot]!;
  // NodeUnschedulable
  if (flags & F_UNSCHEDULABLE && !s.toleratesUnschedulable) return { plugin: 'NodeUnschedulable', reasons: [REASON_UNSCHEDULABLE] };
  // TaintToleration
  if (flags & F_FILTER_TAINTS) {
    const t = findUntoleratedTaint(cache.slots[slot]!.filterTaints, s.tolerations, alwaysTrue);
    if (t) return { plugin: 'TaintToleration', reasons: [`node(s) had untolerated taint ${formatTaint(t)}`] };
  }
  // NodeAffinity
  if (s.checksAffinity) {
    const n = cache.slots[slot]!;
    if (!podMatchesNode(s.pod, n.name, n.labels)) return { plugin: 'NodeAffinity', reasons: [REASON_NODE_AFFINITY] };
  }
  // NodePorts
  if (s.ports.length && flags & F_PORTS) {
    const n = cache.slots[slot]!;
    for (const p of s.ports) if (n.portConflict(p)) return { plugin: 'NodePorts', reasons: [REASON_NODE_PORTS] };
  }
  // NodeResourcesFit
  const r = s.requests;
  const tooMany = c.podCount[slot]! + 1 > c.allocPods[slot]!;
  const noCpu = r.milliCPU > 0 && r.milliCPU > c.allocCpu[slot]! - c.reqCpu[slot]!;
  const noMem = r.memory > 0 && r.memory > c.allocMem[slot]! - c.reqMem[slot]!;
  if (tooMany || noCpu || noMem) {
    const reasons: string[] = [];
    if (tooMany) reasons.push('Too many pods');
    if (noCpu) reasons.push('Insufficient cpu');
    if (noMem) reasons.push('Insufficient memory');
    return { plugin: 'NodeResourcesFit', reasons };
  }
  // PodTopologySpread
  if (s.spread) {
    const reason = s.spread.check(cache.slots[slot]!);
    if (reason) return { plugin: 'PodTopologySpread', reasons: [reason] };
  }
  // InterPodAffinity
  if (s.interPod) {
    const f = s.interPod.check(cache.slots[slot]!);
    if (f) return { plugin: 'InterPodAffinity', reasons: [f.reason] };
  }
  return undefined;
}

function alwaysTrue(): boolean {
  return true;
}

/** The node names a required affinity on metadata.name restricts the pod to (NodeAffinity PreFilter). */
function nodeNamesFromAffinity(pod: Pod): Set<string> | 'conflict' | undefined {
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!terms?.length) return undefined;
  let names: Set<string> | undefined;
  for (const t of terms) {
    let termNames: Set<string> | undefined;
    for (const r of t.matchFields ?? []) {
      if (r.key !== 'metadata.name' || r.operator !== 'In') continue;
      const s = new Set(r.values ?? []);
      termNames = termNames ? new Set([...termNames].filter((x) => s.has(x))) : s;
    }
    if (!termNames) return undefined;
    names = names ? new Set([...names, ...termNames]) : termNames;
  }
  if (names && names.size === 0) return 'conflict';
  return names;
}

/** What a cycle needs from a pod's spec; pods of one template share their spec until bound. */
interface SpecFacts {
  tolerations: readonly Toleration[] | undefined;
  toleratesUnschedulable: boolean;
  checksAffinity: boolean;
  requests: Readonly<PodRequests>;
  /** requestShape(requests) */
  shape: number;
  ports: HostPort[];
}

const factsBySpec = new WeakMap<object, SpecFacts>();

function specFacts(pod: Pod): SpecFacts {
  const spec = pod.spec;
  const hit = spec && factsBySpec.get(spec);
  if (hit) return hit;
  const tolerations = spec?.tolerations;
  const requests = podRequests(pod);
  const facts: SpecFacts = {
    tolerations,
    toleratesUnschedulable: tolerationsTolerateTaint(tolerations, TAINT_UNSCHEDULABLE),
    checksAffinity: !!spec?.nodeSelector || !!spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution,
    requests,
    shape: requestShape(requests),
    ports: hostPortsOf(pod),
  };
  if (spec) factsBySpec.set(spec, facts);
  return facts;
}

let feasibleBuf = new Int32Array(1024);

export function runCycle(env: CycleEnv, pod: Pod): CycleResult {
  const cache = env.cache;
  const all = cache.nodeSlots();
  const allCount = all.length;
  if (allCount === 0) return { ok: false, message: 'no nodes available to schedule pods', plugins: new Set() };
  const restrict = nodeNamesFromAffinity(pod);
  if (restrict === 'conflict') {
    return { ok: false, message: `0/${allCount} nodes are available: pod affinity terms conflict.`, plugins: new Set(['NodeAffinity']) };
  }
  const slots = restrict ? all.filter((slot) => restrict.has(cache.slots[slot]!.name)) : all;
  const facts = specFacts(pod);
  const state: FilterState = {
    pod,
    tolerations: facts.tolerations,
    toleratesUnschedulable: facts.toleratesUnschedulable,
    checksAffinity: facts.checksAffinity,
    requests: facts.requests,
    shape: facts.shape,
    ports: facts.ports,
  };
  if (pod.spec?.topologySpreadConstraints?.length) {
    const hard = podSpreadConstraints(pod, 'DoNotSchedule');
    if (hard.length) state.spread = new SpreadFilter(env, pod, hard);
  }
  if (requiredAffinityTerms(pod).length || requiredAntiAffinityTerms(pod).length || cache.antiAffinityPods.size) {
    const f = new InterPodFilter(env.store, cache, pod);
    if (f.active) state.interPod = f;
  }

  const len = slots.length;
  const numToFind = numFeasibleNodesToFind(env.percentageOfNodesToScore, len);
  if (feasibleBuf.length < numToFind) feasibleBuf = new Int32Array(numToFind * 2);
  const feasible = feasibleBuf;
  let found = 0;
  let histogram: Map<string, number> | undefined;
  let plugins: Set<string> | undefined;
  let failed = 0;
  const start = len ? env.nextStartNodeIndex % len : 0;
  // The common node (no taints, not cordoned) and pod (no affinity, ports, spreading or pod
  // affinity) need only the resource check; anything else goes through every filter.
  const cols = cache.cols;
  const simplePod = !state.checksAffinity && state.ports.length === 0 && !state.spread && !state.interPod;
  const cpu = state.requests.milliCPU;
  const mem = state.requests.memory;
  const flagCol = cols.flags;
  const freePods = cols.freePods;
  const freeCpu = cols.freeCpu;
  const freeMem = cols.freeMem;
  // A node scored for this shape since its totals last changed passed NodeResourcesFit for it.
  const memoShape = cols.memoShape;
  const shape = state.shape;
  if (
    simplePod &&
    env.window &&
    !restrict &&
    len >= WINDOW_MIN_NODES &&
    numToFind < len &&
    !pod.spec?.topologySpreadConstraints?.length &&
    !pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.length &&
    env.window.prepare(cache, state.shape, state.requests)
  ) {
    const w = env.window;
    const span = w.span(start, numToFind);
    if (span.found > 0) {
      env.nextStartNodeIndex = (env.nextStartNodeIndex + span.examined) % allCount;
      if (span.found === 1) return { ok: true, node: cache.slots[w.firstFeasible(start)]! };
      const sel = env.defaultSelectors.get(env.store, env.services, pod);
      // The system default constraints share one selector: only its counts are read here.
      const spread = sel ? { counts: countsForSelector(env, pod.metadata?.namespace ?? 'default', sel) } : undefined;
      const chosen = w.select(start, span.examined, span.found, spread, cache.zoneIds, env.rng);
      if (chosen !== undefined) return { ok: true, node: cache.slots[chosen]! };
      // Many nodes hold matching pods: score the same window linearly.
      if (feasibleBuf.length < span.found) feasibleBuf = new Int32Array(span.found * 2);
      const n = w.feasibleSlots(start, span.examined, feasibleBuf);
      return { ok: true, node: cache.slots[scoreAndSelect(env, pod, state, feasibleBuf, n)]! };
    }
    // No node fits: the linear loop below writes the reasons.
  }
  for (let i = 0; i < len && found < numToFind; i++) {
    let at = start + i;
    if (at >= len) at -= len;
    const slot = slots[at]!;
    if (
      simplePod &&
      (flagCol[slot]! & (F_UNSCHEDULABLE | F_FILTER_TAINTS)) === 0 &&
      (memoShape[slot] === shape ||
        (freePods[slot]! >= 1 && (cpu === 0 || cpu <= freeCpu[slot]!) && (mem === 0 || mem <= freeMem[slot]!)))
    ) {
      feasible[found++] = slot;
      continue;
    }
    const f = runFilters(state, cache, slot);
    if (!f) {
      feasible[found++] = slot;
      continue;
    }
    failed++;
    (plugins ??= new Set()).add(f.plugin);
    histogram ??= new Map();
    for (const r of f.reasons) histogram.set(r, (histogram.get(r) ?? 0) + 1);
  }
  env.nextStartNodeIndex = (env.nextStartNodeIndex + found + failed) % allCount;

  if (found === 0) {
    histogram ??= new Map();
    plugins ??= new Set();
    if (restrict && len < allCount) {
      const r = "node(s) didn't satisfy plugin(s) [NodeAffinity]";
      histogram.set(r, (histogram.get(r) ?? 0) + allCount - len);
      plugins.add('NodeAffinity');
    }
    const parts = [...histogram].map(([reason, count]) => `${count} ${reason}`).sort();
    return { ok: false, message: `0/${allCount} nodes are available: ${parts.join(', ')}.`, plugins };
  }
  if (found === 1) return { ok: true, node: cache.slots[feasible[0]!]! };
  return { ok: true, node: cache.slots[scoreAndSelect(env, pod, state, feasible, found)]! };
}

let taintBuf = new Float64Array(1024);
let affinityBuf = new Float64Array(1024);
let spreadBuf = new Float64Array(1024);
let baseBuf = new Float64Array(1024);
let normTable = new Float64Array(256);

/**
 * Score the feasible slots and return the chosen one: one pass for the raw plugin scores, one
 * for normalisation, weighting and selection. The highest total wins; among equal totals each
 * node is equally likely (upstream samples a reservoir; one draw among the tied is the same law).
 */
function scoreAndSelect(env: CycleEnv, pod: Pod, state: FilterState, feasible: Int32Array, n: number): number {
  const cache = env.cache;
  const c = cache.cols;
  if (baseBuf.length < n) {
    taintBuf = new Float64Array(n * 2);
    affinityBuf = new Float64Array(n * 2);
    spreadBuf = new Float64Array(n * 2);
    baseBuf = new Float64Array(n * 2);
  }
  const r = state.requests;
  const preferred = pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
  const hasPreferred = !!preferred && preferred.length > 0;
  let preferTolerations: Toleration[] | undefined;

  // PodTopologySpread: the pod's soft constraints, or the system defaults when it has none.
  const own = pod.spec?.topologySpreadConstraints;
  let general: SpreadScore | undefined;
  let fast: DefaultSpreadScore | undefined;
  if (own?.length) {
    const soft = podSpreadConstraints(pod, 'ScheduleAnyway');
    if (soft.length) general = new SpreadScore(env, pod, soft, true, slotsToInfos(cache, feasible, n));
  } else {
    const sel = env.defaultSelectors.get(env.store, env.services, pod);
    if (sel) {
      const constraints = systemDefaultConstraints(sel, pod);
      if (state.checksAffinity) general = new SpreadScore(env, pod, constraints, false, slotsToInfos(cache, feasible, n));
      else fast = new DefaultSpreadScore(env, pod, constraints, feasible, n);
    }
  }

  const shape = state.shape;
  let maxTaint = 0;
  let maxAffinity = 0;
  let minSpread = Infinity;
  let maxSpread = 0;
  // Columns and spreading inputs in locals: this loop runs for every feasible node of every pod.
  const flagCol = c.flags;
  const memoShape = c.memoShape;
  const memoScore = c.memoScore;
  const zoneId = c.zoneId;
  const perSlot = fast?.perSlot;
  const hostWeight = fast ? fast.hostWeight : 0;
  const zoneTerm = fast?.zoneTerm;
  const taints = taintBuf;
  const base = baseBuf;
  const spread = spreadBuf;
  for (let i = 0; i < n; i++) {
    const slot = feasible[i]!;
    const flags = flagCol[slot]!;
    // TaintToleration: intolerable PreferNoSchedule taints, fewer is better.
    let tc = 0;
    if (flags & F_PREFER_TAINTS) {
      preferTolerations ??= (pod.spec?.tolerations ?? []).filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
      for (const t of cache.slots[slot]!.preferNoScheduleTaints) if (!preferTolerations.some((tol) => toleratesTaint(tol, t))) tc++;
      if (tc > maxTaint) maxTaint = tc;
    }
    taints[i] = tc;
    // NodeAffinity: preferred terms.
    if (hasPreferred) {
      const info = cache.slots[slot]!;
      const a = preferredNodeAffinityScore(preferred!, info.name, info.labels);
      affinityBuf[i] = a;
      if (a > maxAffinity) maxAffinity = a;
    }
    // NodeResourcesFit (LeastAllocated on non-zero requests) and BalancedAllocation (actual
    // requests), remembered per node until its totals change or a pod of another shape asks.
    if (memoShape[slot] === shape) {
      base[i] = memoScore[slot]!;
    } else {
      const b = resourceScore(c, slot, r);
      memoShape[slot] = shape;
      memoScore[slot] = b;
      base[i] = b;
    }
    // PodTopologySpread raw score (DefaultSpreadScore.score, inlined).
    if (perSlot !== undefined) {
      let sc = 0;
      if (flags & F_HOSTNAME) sc += perSlot[slot]! * hostWeight + 2;
      if (flags & F_ZONE) sc += zoneTerm![zoneId[slot]!]!;
      const sp = Math.round(sc);
      spread[i] = sp;
      if (sp < minSpread) minSpread = sp;
      if (sp > maxSpread) maxSpread = sp;
    } else if (general) {
      const info = cache.slots[slot]!;
      const sp = general.score(info);
      spread[i] = sp;
      if (!general.isIgnored(info)) {
        if (sp < minSpread) minSpread = sp;
        if (sp > maxSpread) maxSpread = sp;
      }
    }
  }

  const spreading = !!(fast || general);
  // Raw spreading scores are small integers: normalise each distinct value once.
  const range = spreading && maxSpread > 0 ? maxSpread - minSpread + 1 : 0;
  const useTable = range > 0 && range <= 4096;
  if (useTable) {
    if (normTable.length < range) normTable = new Float64Array(range * 2);
    for (let v = 0; v < range; v++) normTable[v] = Math.trunc((MAX_NODE_SCORE * (maxSpread - v)) / maxSpread);
  }
  let best = -1;
  let bestScore = -Infinity;
  let ties = 0;
  const totals = spreadBuf; // reused in place: each slot is read before it is overwritten
  if (!general && maxTaint === 0 && maxAffinity === 0 && (useTable || !spreading || maxSpread === 0)) {
    // The common case: everything but the resource scores is a function of the raw spread score.
    // Integer sums below 2^53 are exact, so grouping the constant terms changes no total.
    const constant = WEIGHT.taint * MAX_NODE_SCORE;
    const flat = constant + (spreading ? WEIGHT.spread * MAX_NODE_SCORE : 0);
    if (useTable) for (let v = 0; v < range; v++) normTable[v] = constant + WEIGHT.spread * normTable[v]!;
    for (let i = 0; i < n; i++) {
      const total = base[i]! + (useTable ? normTable[spread[i]! - minSpread]! : flat);
      totals[i] = total;
      if (total > bestScore) {
        bestScore = total;
        best = i;
        ties = 1;
      } else if (total === bestScore) {
        ties++;
      }
    }
  } else {
    for (let i = 0; i < n; i++) {
      let total = base[i]!;
      total += WEIGHT.taint * (maxTaint === 0 ? MAX_NODE_SCORE : MAX_NODE_SCORE - Math.trunc((MAX_NODE_SCORE * taints[i]!) / maxTaint));
      if (maxAffinity > 0) total += WEIGHT.nodeAffinity * Math.trunc((MAX_NODE_SCORE * affinityBuf[i]!) / maxAffinity);
      if (spreading) {
        let sc: number;
        if (general && general.isIgnored(cache.slots[feasible[i]!]!)) sc = 0;
        else if (maxSpread === 0) sc = MAX_NODE_SCORE;
        else if (useTable) sc = normTable[spread[i]! - minSpread]!;
        else sc = Math.trunc((MAX_NODE_SCORE * (maxSpread + minSpread - spread[i]!)) / maxSpread);
        total += WEIGHT.spread * sc;
      }
      totals[i] = total;
      if (total > bestScore) {
        bestScore = total;
        best = i;
        ties = 1;
      } else if (total === bestScore) {
        ties++;
      }
    }
  }
  if (ties > 1) {
    let k = env.rng.int(0, ties - 1);
    for (let i = best; i < n; i++) if (totals[i] === bestScore && k-- === 0) return feasible[i]!;
  }
  return feasible[best]!;
}

/** An integer per distinct request tuple (pods of one template share it); ids are never reused. */
const shapes = new Map<string, number>();
let nextShape = 1;
function requestShape(r: PodRequests): number {
  const key = `${r.milliCPU}/${r.memory}/${r.nonZeroMilliCPU}/${r.nonZeroMemory}`;
  let id = shapes.get(key);
  if (id === undefined) {
    if (shapes.size > 100_000) shapes.clear();
    shapes.set(key, (id = nextShape++));
  }
  return id;
}

function slotsToInfos(cache: SchedulerCache, slots: Int32Array, n: number): NodeInfo[] {
  const out: NodeInfo[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = cache.slots[slots[i]!]!;
  return out;
}
