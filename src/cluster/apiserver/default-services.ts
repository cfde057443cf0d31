// The two Services every cluster starts with: `kubernetes` in default (written by the API server
// itself, network+1 of the service range) and kubeadm's `kube-dns` in kube-system (network+10).
import type { Service } from 'kubernetes-types/core/v1.js';
import type { Store } from '../store.js';
import type { ClusterConfig } from '../config.js';
import type { Stored } from '../object.js';
import { mustParseCidr, nthAddress } from '../../net/cidr.js';

export interface DefaultServicesOptions {
  /** kube-apiserver --secure-port (the `kubernetes` Service's targetPort). */
  apiServerPort?: number;
}

/** `kubernetes.default`'s address: GetIndexedIP(primary service range, 1). */
export function kubernetesServiceIP(config: ClusterConfig): string {
  return nthAddress(mustParseCidr(config.serviceCIDRs[0]!), 1)!;
}

/** kubeadm's DNS Service address: the 10th address of the primary service range. */
export function clusterDnsIP(config: ClusterConfig): string {
  return nthAddress(mustParseCidr(config.serviceCIDRs[0]!), 10)!;
}

export function kubernetesService(config: ClusterConfig, opts: DefaultServicesOptions = {}): Service {
  const ip = kubernetesServiceIP(config);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { component: 'apiserver', provider: 'kubernetes' },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP: ip,
      clusterIPs: [ip],
      sessionAffinity: 'None',
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: opts.apiServerPort ?? 6443 }],
    },
  };
}

export function kubeDnsService(config: ClusterConfig): Service {
  const ip = clusterDnsIP(config);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'kube-dns',
      namespace: 'kube-system',
      labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' },
      annotations: { 'prometheus.io/port': '9153', 'prometheus.io/scrape': 'true' },
    },
    spec: {
      selector: { 'k8s-app': 'kube-dns' },
      clusterIP: ip,
      clusterIPs: [ip],
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
      ],
    },
  };
}

/** Create `kubernetes` and `kube-dns` unless they exist; returns them as stored. */
export function createDefaultServices(
  store: Store,
  config: ClusterConfig,
  opts: DefaultServicesOptions = {},
): { kubernetes: Stored<Service>; kubeDns: Stored<Service> } {
  const ensure = (svc: Service): Stored<Service> =>
    store.get<Stored<Service>>('Service', svc.metadata!.namespace, svc.metadata!.name!) ??
    store.create(svc as Stored<Service>);
  return { kubernetes: ensure(kubernetesService(config, opts)), kubeDns: ensure(kubeDnsService(config)) };
}
