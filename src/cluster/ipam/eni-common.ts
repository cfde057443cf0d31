// Small pieces both ENI IPAMs (AWS VPC CNI, Terway) need: the node's instance type, the pod's key,
// and the sorted free list of released address slots.
import type { Node, Pod } from 'kubernetes-types/core/v1.js';

const INSTANCE_TYPE_LABELS = ['node.kubernetes.io/instance-type', 'beta.kubernetes.io/instance-type'];

/** The instance type the cloud node controller labelled the node with. */
export function instanceTypeLabel(node: Node): string | undefined {
  const labels = node.metadata?.labels ?? {};
  for (const k of INSTANCE_TYPE_LABELS) if (labels[k]) return labels[k];
  return undefined;
}

/** Insert into an ascending list (released slots are handed out lowest first). */
export function insertSorted(list: number[], v: number): void {
  let i = list.length;
  while (i > 0 && list[i - 1]! > v) i--;
  list.splice(i, 0, v);
}

/** The key a pod's addresses are held under: its uid, else namespace/name. */
export function podUid(pod: Pod): string {
  return pod.metadata?.uid ?? `${pod.metadata?.namespace ?? 'default'}/${pod.metadata?.name ?? ''}`;
}
