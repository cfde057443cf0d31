// What every cluster has before users apply anything: the system namespaces, the `kubernetes`
// Service and kubeadm's CoreDNS (Deployment coredns + Service kube-dns at the .10 address).
import type { Cluster } from '../cluster/cluster.js';

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export function bootstrapSystemObjects(cluster: Cluster): void {
  for (const name of SYSTEM_NAMESPACES) {
    cluster.store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
}
