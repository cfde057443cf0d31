// Node selectors and node affinity (component-helpers/scheduling/corev1/nodeaffinity).
import type { Node, NodeSelectorRequirement, NodeSelectorTerm, Pod, PreferredSchedulingTerm } from 'kubernetes-types/core/v1.js';

type Labels = Readonly<Record<string, string>> | undefined;

function matchesLabelRequirement(r: NodeSelectorRequirement, labels: Labels): boolean {
  const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = has ? labels![r.key]! : undefined;
  switch (r.operator) {
    case 'In':
      return has && (r.values ?? []).includes(v!);
    case 'NotIn':
      return !has || !(r.values ?? []).includes(v!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (!has || (r.values ?? []).length !== 1) return false;
      const lv = parseInt64(v!);
      const rv = parseInt64(r.values![0]!);
      if (lv === undefined || rv === undefined) return false;
      return r.operator === 'Gt' ? lv > rv : lv < rv;
    }
    default:
      return false;
  }
}

function parseInt64(s: string): number | undefined {
  return /^[+-]?\d+$/.test(s) ? Number(s) : undefined;
}

function matchesFieldRequirement(r: NodeSelectorRequirement, nodeName: string): boolean {
  if (r.key !== 'metadata.name') return false;
  if (r.operator === 'In') return (r.values ?? []).includes(nodeName);
  if (r.operator === 'NotIn') return !(r.values ?? []).includes(nodeName);
  return false;
}

/** One term: every expression and field requirement holds; an empty term matches nothing. */
export function matchesNodeSelectorTerm(term: NodeSelectorTerm, nodeName: string, labels: Labels): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  for (const r of exprs) if (!matchesLabelRequirement(r, labels)) return false;
  for (const r of fields) if (!matchesFieldRequirement(r, nodeName)) return false;
  return true;
}

/** Terms are ORed. */
export function matchesNodeSelectorTerms(terms: readonly NodeSelectorTerm[], nodeName: string, labels: Labels): boolean {
  for (const t of terms) if (matchesNodeSelectorTerm(t, nodeName, labels)) return true;
  return false;
}

/** nodeSelector and required node affinity both hold (RequiredNodeAffinity.Match). */
export function podMatchesNodeSelectorAndAffinity(pod: Pod, node: Node): boolean {
  return podMatchesNode(pod, node.metadata?.name ?? '', node.metadata?.labels);
}

export function podMatchesNode(pod: Pod, nodeName: string, labels: Labels): boolean {
  const sel = pod.spec?.nodeSelector;
  if (sel) for (const k in sel) if (labels?.[k] !== sel[k]) return false;
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) return matchesNodeSelectorTerms(required.nodeSelectorTerms ?? [], nodeName, labels);
  return true;
}

/** Sum of the weights of the preferred terms the node matches. */
export function preferredNodeAffinityScore(terms: readonly PreferredSchedulingTerm[], nodeName: string, labels: Labels): number {
  let score = 0;
  for (const t of terms) if (t.weight && matchesNodeSelectorTerm(t.preference, nodeName, labels)) score += t.weight;
  return score;
}
