// What every cluster has before users apply anything, as kubeadm leaves it: the system
// namespaces, the `kubernetes` Service (.1 of the service range), and CoreDNS — the `coredns`
// Deployment behind the `kube-dns` Service at the .10 address.
import type { Cluster } from '../cluster/cluster.js';
import { createDefaultServices } from '../cluster/apiserver.js';
import type { KObject } from '../cluster/object.js';

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export const COREDNS_IMAGE = 'registry.k8s.io/coredns/coredns:v1.12.1';

export function bootstrapSystemObjects(cluster: Cluster): void {
  for (const name of SYSTEM_NAMESPACES) {
    cluster.store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  createDefaultServices(cluster.store, cluster.config);
  cluster.store.create(corednsDeployment());
}

// kubeadm's CoreDNS manifest, reduced to what affects scheduling and endpoints.
function corednsDeployment(): KObject {
  const labels = { 'k8s-app': 'kube-dns' };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'coredns', namespace: 'kube-system', labels },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels },
        spec: {
          priorityClassName: 'system-cluster-critical',
          dnsPolicy: 'Default',
          tolerations: [
            { key: 'CriticalAddonsOnly', operator: 'Exists' },
            { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
          ],
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 100,
                  podAffinityTerm: {
                    labelSelector: { matchExpressions: [{ key: 'k8s-app', operator: 'In', values: ['kube-dns'] }] },
                    topologyKey: 'kubernetes.io/hostname',
                  },
                },
              ],
            },
          },
          containers: [
            {
              name: 'coredns',
              image: COREDNS_IMAGE,
              args: ['-conf', '/etc/coredns/Corefile'],
              ports: [
                { name: 'dns', containerPort: 53, protocol: 'UDP' },
                { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
                { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
              ],
              readinessProbe: { httpGet: { path: '/ready', port: 8181, scheme: 'HTTP' } },
              resources: { requests: { cpu: '100m', memory: '70Mi' }, limits: { memory: '170Mi' } },
            },
          ],
        },
      },
    },
  };
}
