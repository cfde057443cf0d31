// Label selectors as apimachinery evaluates them.
import type { LabelSelector, LabelSelectorRequirement } from 'kubernetes-types/meta/v1.js';

export type Labels = Readonly<Record<string, string>> | undefined;

/** A Service-style selector (a plain map): every pair must match. An empty map matches everything. */
export function matchesMap(selector: Readonly<Record<string, string>>, labels: Labels): boolean {
  for (const k in selector) if (labels?.[k] !== selector[k]) return false;
  return true;
}

/** A metav1.LabelSelector. An empty selector matches everything; a missing one matches nothing. */
export function matchesSelector(selector: LabelSelector | undefined, labels: Labels): boolean {
  if (!selector) return false;
  if (selector.matchLabels && !matchesMap(selector.matchLabels, labels)) return false;
  const exprs = selector.matchExpressions;
  if (exprs) for (let i = 0; i < exprs.length; i++) if (!matchesRequirement(exprs[i]!, labels)) return false;
  return true;
}

/**
 * matchesSelector for one selector over many stored objects: objects of one template share
 * their labels object, so the last answer is kept. Only for objects that are not changed while
 * the matcher is in use (stored objects never are).
 */
export function selectorMatcher(selector: LabelSelector | undefined): (labels: Labels) => boolean {
  let last: Labels | null = null;
  let answer = false;
  return (labels) => {
    if (labels !== last || labels === undefined) {
      answer = matchesSelector(selector, labels);
      last = labels;
    }
    return answer;
  };
}

export function matchesRequirement(r: LabelSelectorRequirement, labels: Labels): boolean {
  const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = has ? labels![r.key] : undefined;
  switch (r.operator) {
    case 'In':
      return has && (r.values ?? []).includes(v!);
    case 'NotIn':
      return !has || !(r.values ?? []).includes(v!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    default:
      return false;
  }
}

/** `app=web,tier in (front)` — kubectl's rendering of a selector. */
export function formatSelector(selector: LabelSelector | Readonly<Record<string, string>> | undefined): string {
  if (!selector) return '<none>';
  const sel = 'matchLabels' in selector || 'matchExpressions' in selector ? (selector as LabelSelector) : { matchLabels: selector as Record<string, string> };
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const r of sel.matchExpressions ?? []) {
    if (r.operator === 'Exists') parts.push(r.key);
    else if (r.operator === 'DoesNotExist') parts.push(`!${r.key}`);
    else parts.push(`${r.key} ${r.operator === 'In' ? 'in' : 'notin'} (${(r.values ?? []).join(',')})`);
  }
  return parts.length ? parts.join(',') : '<none>';
}
