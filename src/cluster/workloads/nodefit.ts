// The node predicates a DaemonSet evaluates itself (component-helpers nodeaffinity and the core
// v1 taint helpers): nodeSelector, required node affinity, taints and tolerations.
import type { Node, NodeSelectorRequirement, NodeSelectorTerm, PodSpec, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import { matchesMap } from '../labels.js';

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_DISK_PRESSURE = 'node.kubernetes.io/disk-pressure';
export const TAINT_MEMORY_PRESSURE = 'node.kubernetes.io/memory-pressure';
export const TAINT_PID_PRESSURE = 'node.kubernetes.io/pid-pressure';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
export const TAINT_NETWORK_UNAVAILABLE = 'node.kubernetes.io/network-unavailable';

/** Toleration.ToleratesTaint. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? 'Equal') {
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    case 'Exists':
      return true;
    default:
      return false;
  }
}

/** FindMatchingUntoleratedTaint: the first taint passing `filter` that no toleration tolerates. */
export function untoleratedTaint(taints: readonly Taint[] | undefined, tolerations: readonly Toleration[] | undefined, filter: (t: Taint) => boolean): Taint | undefined {
  for (const taint of taints ?? []) {
    if (!filter(taint)) continue;
    if (!(tolerations ?? []).some((t) => toleratesTaint(t, taint))) return taint;
  }
  return undefined;
}

/** Toleration.MatchToleration: same key, operator, value and effect. */
function sameToleration(a: Toleration, b: Toleration): boolean {
  return (a.key ?? '') === (b.key ?? '') && (a.operator ?? '') === (b.operator ?? '') && (a.value ?? '') === (b.value ?? '') && (a.effect ?? '') === (b.effect ?? '');
}

/** AddOrUpdateTolerationInPodSpec: replace a matching toleration, or append. */
export function addOrUpdateToleration(list: readonly Toleration[] | undefined, t: Toleration): Toleration[] {
  const out: Toleration[] = [];
  let updated = false;
  for (const x of list ?? []) {
    if (sameToleration(t, x)) {
      out.push(t);
      updated = true;
    } else {
      out.push(x);
    }
  }
  if (!updated) out.push(t);
  return out;
}

/** AddOrUpdateDaemonPodTolerations: DaemonSet pods survive node problems and cordons. */
export function withDaemonTolerations(spec: PodSpec): PodSpec {
  let t = spec.tolerations;
  t = addOrUpdateToleration(t, { key: TAINT_NOT_READY, operator: 'Exists', effect: 'NoExecute' });
  t = addOrUpdateToleration(t, { key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute' });
  t = addOrUpdateToleration(t, { key: TAINT_DISK_PRESSURE, operator: 'Exists', effect: 'NoSchedule' });
  t = addOrUpdateToleration(t, { key: TAINT_MEMORY_PRESSURE, operator: 'Exists', effect: 'NoSchedule' });
  t = addOrUpdateToleration(t, { key: TAINT_PID_PRESSURE, operator: 'Exists', effect: 'NoSchedule' });
  t = addOrUpdateToleration(t, { key: TAINT_UNSCHEDULABLE, operator: 'Exists', effect: 'NoSchedule' });
  if (spec.hostNetwork) t = addOrUpdateToleration(t, { key: TAINT_NETWORK_UNAVAILABLE, operator: 'Exists', effect: 'NoSchedule' });
  return { ...spec, tolerations: t };
}

/** GetRequiredNodeAffinity(pod).Match(node): nodeSelector and required node affinity. */
export function requiredAffinityMatches(spec: PodSpec, node: Node): boolean {
  const labels = node.metadata?.labels;
  if (spec.nodeSelector && !matchesMap(spec.nodeSelector, labels)) return false;
  const required = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!required) return true;
  return required.nodeSelectorTerms.some((term) => termMatches(term, node));
}

/** A term with neither expressions nor fields matches nothing; a malformed one neither. */
function termMatches(term: NodeSelectorTerm, node: Node): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata?.labels ?? {};
  for (const r of exprs) if (!requirementMatches(r, labels)) return false;
  for (const r of fields) {
    if (r.key !== 'metadata.name') return false;
    const name = node.metadata?.name ?? '';
    if (r.operator === 'In') {
      if ((r.values ?? []).length !== 1 || !(r.values ?? []).includes(name)) return false;
    } else if (r.operator === 'NotIn') {
      if ((r.values ?? []).length !== 1 || (r.values ?? []).includes(name)) return false;
    } else {
      return false;
    }
  }
  return true;
}

function requirementMatches(r: NodeSelectorRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = labels[r.key];
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return has && values.includes(v!);
    case 'NotIn':
      return !has || !values.includes(v!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (!has || values.length !== 1 || !/^[+-]?\d+$/.test(values[0]!) || !/^[+-]?\d+$/.test(v!)) return false;
      const a = Number.parseInt(v!, 10);
      const b = Number.parseInt(values[0]!, 10);
      return r.operator === 'Gt' ? a > b : a < b;
    }
    default:
      return false;
  }
}

/** ReplaceDaemonSetPodNodeNameNodeAffinity: require exactly this node (matchFields metadata.name). */
export function pinToNode(spec: PodSpec, nodeName: string): PodSpec {
  const term: NodeSelectorTerm = { matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] };
  const affinity = spec.affinity ?? {};
  const na = affinity.nodeAffinity ?? {};
  return {
    ...spec,
    affinity: { ...affinity, nodeAffinity: { ...na, requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [term] } } },
  };
}

/** util.GetTargetNodeName: the node a DaemonSet pod is bound or pinned to. */
export function targetNodeName(spec: PodSpec | undefined): string | undefined {
  if (spec?.nodeName) return spec.nodeName;
  const terms = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const t of terms) {
    for (const f of t.matchFields ?? []) {
      if (f.key === 'metadata.name' && f.operator === 'In') return f.values?.length === 1 ? f.values[0] : undefined;
    }
  }
  return undefined;
}
