// Small pieces both ENI IPAMs (AWS VPC CNI, Terway) need: the node's instance type, the pod's key,
// and an ENI's pod-address slots (handed out in assignment order, released ones first).
import type { Node, Pod } from 'kubernetes-types/core/v1.js';

const INSTANCE_TYPE_LABELS = ['node.kubernetes.io/instance-type', 'beta.kubernetes.io/instance-type'];

/** The instance type the cloud node controller labelled the node with. */
export function instanceTypeLabel(node: Node): string | undefined {
  const labels = node.metadata?.labels ?? {};
  for (const k of INSTANCE_TYPE_LABELS) if (labels[k]) return labels[k];
  return undefined;
}

/**
 * The pod-address slots of an ENI: indexes into `podAddresses`. Slots before `cursor` were handed
 * out at least once; `released` (ascending) are free again and go first, lowest first.
 */
export interface AddressSlots {
  readonly podAddresses: readonly string[];
  cursor: number;
  released: number[];
}

/** The next free slot, or undefined when every address of the ENI is in use. */
export function takeSlot(s: AddressSlots): number | undefined {
  if (s.released.length) return s.released.shift();
  if (s.cursor < s.podAddresses.length) return s.cursor++;
  return undefined;
}

export function releaseSlot(s: AddressSlots, slot: number): void {
  let i = s.released.length;
  while (i > 0 && s.released[i - 1]! > slot) i--;
  s.released.splice(i, 0, slot);
}

/**
 * Mark a slot in use that the IPAM finds taken (a pod's address on restart); the never-used slots
 * before it stay free. False when the slot was already in use.
 */
export function claimSlot(s: AddressSlots, slot: number): boolean {
  const r = s.released.indexOf(slot);
  if (r >= 0) {
    s.released.splice(r, 1);
    return true;
  }
  if (slot < s.cursor) return false;
  for (let i = s.cursor; i < slot; i++) releaseSlot(s, i);
  s.cursor = slot + 1;
  return true;
}

/** The key a pod's addresses are held under: its uid, else namespace/name. */
export function podUid(pod: Pod): string {
  return pod.metadata?.uid ?? `${pod.metadata?.namespace ?? 'default'}/${pod.metadata?.name ?? ''}`;
}
