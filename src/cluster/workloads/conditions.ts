// Status conditions as the apps and batch controllers keep them: setting a condition with the same
// status and reason is a no-op; a status change moves lastTransitionTime.

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastUpdateTime?: string;
  lastProbeTime?: string;
}

export function getCondition<C extends Condition>(conds: readonly C[] | undefined, type: string): C | undefined {
  return conds?.find((c) => c.type === type);
}

/** SetDeploymentCondition & co: returns the new list (the input when nothing changes). */
export function setCondition<C extends Condition>(conds: readonly C[] | undefined, cond: C): C[] {
  const list = conds ?? [];
  const cur = getCondition(list, cond.type);
  if (cur && cur.status === cond.status && cur.reason === cond.reason) return list as C[];
  const next = cur && cur.status === cond.status ? { ...cond, lastTransitionTime: cur.lastTransitionTime } : cond;
  return [...list.filter((c) => c.type !== cond.type), next];
}

export function removeCondition<C extends Condition>(conds: readonly C[] | undefined, type: string): C[] | undefined {
  if (!conds || !conds.some((c) => c.type === type)) return conds as C[] | undefined;
  return conds.filter((c) => c.type !== type);
}
