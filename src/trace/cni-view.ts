// The cluster as the CNI and the fabric see it, read from the store: nodes with their address,
// subnet, zone and pod CIDRs; pods with a sandbox (addresses, hostPorts) per node.
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { Store } from '../cluster/store.js';
import type { Stored } from '../cluster/object.js';
import type { CniCluster, CniHostPort, CniNode, CniPod } from '../dataplane/cni/types.js';
import { containsIp, enclosingSubnet } from '../net/cidr.js';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const INSTANCE_TYPE_LABEL = 'node.kubernetes.io/instance-type';

export function internalIP(node: Node): string | undefined {
  return node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
}

/** A pod holds a sandbox (and its addresses) from the CNI ADD until it has terminated. */
export function hasSandbox(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return !!pod.spec?.nodeName && !pod.spec.hostNetwork && (pod.status?.podIPs?.length ?? 0) > 0 && phase !== 'Succeeded' && phase !== 'Failed';
}

export function cniPod(pod: Pod): CniPod {
  const hostPorts: CniHostPort[] = [];
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort) continue;
      hostPorts.push({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: (p.protocol ?? 'TCP') as CniHostPort['protocol'], ...(p.hostIP ? { hostIP: p.hostIP } : {}) });
    }
  }
  return {
    namespace: pod.metadata?.namespace ?? 'default',
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? '',
    node: pod.spec?.nodeName ?? '',
    ips: (pod.status?.podIPs ?? []).map((p) => p.ip!).filter((ip) => !!ip),
    hostNetwork: pod.spec?.hostNetwork === true,
    hostPorts,
  };
}

export interface CniViewOptions {
  readonly clusterCIDRs: readonly string[];
  readonly serviceCIDRs: readonly string[];
  /** Subnets the profile's nodes sit in; a node's subnet is the one holding its address. */
  readonly subnets: readonly string[];
}

/** A CniCluster over the store's current Nodes and Pods (pods per node read through the store's node index). */
export function cniClusterView(store: Store, options: CniViewOptions): CniCluster {
  const nodes = new Map<string, CniNode>();
  for (const n of store.list<Stored<Node>>('Node')) {
    const name = n.metadata!.name!;
    const ip = internalIP(n);
    if (!ip) continue;
    const zone = n.metadata?.labels?.[ZONE_LABEL];
    const instanceType = n.metadata?.labels?.[INSTANCE_TYPE_LABEL];
    nodes.set(name, {
      name,
      internalIP: ip,
      subnet: options.subnets.find((s) => containsIp(s, ip)) ?? enclosingSubnet(ip),
      podCIDRs: n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : []),
      ...(zone !== undefined ? { zone } : {}),
      ...(instanceType !== undefined ? { instanceType } : {}),
    });
  }
  const podsByNode = new Map<string, CniPod[]>();
  for (const p of store.list<Stored<Pod>>('Pod')) {
    if (!hasSandbox(p)) continue;
    const node = p.spec!.nodeName!;
    let list = podsByNode.get(node);
    if (!list) podsByNode.set(node, (list = []));
    list.push(cniPod(p));
  }
  for (const list of podsByNode.values()) list.sort((a, b) => (a.namespace === b.namespace ? (a.name < b.name ? -1 : 1) : a.namespace < b.namespace ? -1 : 1));
  return {
    clusterCIDRs: options.clusterCIDRs,
    serviceCIDRs: options.serviceCIDRs,
    nodes,
    podsOn: (node) => podsByNode.get(node) ?? [],
  };
}
