// How a pod sandbox gets its addresses. The kubelet asks a PodIpam; the default is host-local on
// the node's podCIDR(s) (what flannel and the bridge plugin delegate to). CNI models that hand
// out VPC addresses (AWS VPC CNI, Terway) or block-based IPAM (Calico) implement the same interface.
import type { Node, Pod } from 'kubernetes-types/core/v1.js';

export type PodIpamResult =
  /** Addresses, primary family first. */
  | { ok: true; ips: string[] }
  /** Why the CNI ADD failed, as the plugin would say it. */
  | { ok: false; reason: string };

export interface PodIpam {
  /** The CNI plugin type named in sandbox errors (`plugin type="…" failed (add)`). */
  readonly name: string;
  allocate(node: Node, pod: Pod): PodIpamResult;
  /** Give back what the pod holds on that node (CNI DEL); a no-op when it holds nothing. */
  release(node: Node, pod: Pod): void;
  /** Record addresses a running pod already has (the kubelet found it at start-up). */
  reserve?(node: Node, pod: Pod, ips: readonly string[]): void;
  /** The node is gone: drop its state. */
  forgetNode?(nodeName: string): void;
}
