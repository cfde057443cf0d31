// What the control plane needs to know about the cluster it runs: the flags of
// kube-apiserver, kube-controller-manager, the scheduler and the kubelet, with upstream defaults.

export interface ClusterConfig {
  /** kube-controller-manager --cluster-cidr (one per family, IPv4 first when dual-stack). */
  clusterCIDRs: string[];
  /** kube-apiserver --service-cluster-ip-range (one per family). */
  serviceCIDRs: string[];
  /** --node-cidr-mask-size-ipv4 / -ipv6. */
  nodeCIDRMaskSize: { ipv4: number; ipv6: number };
  /** --allocate-node-cidrs: false when the CNI hands out pod IPs itself (VPC CNIs, Calico IPAM). */
  allocateNodeCIDRs: boolean;
  /** --service-node-port-range. */
  nodePortRange: { base: number; size: number };
  /** kube-controller-manager --max-endpoints-per-slice. */
  maxEndpointsPerSlice: number;
  /** The PreferSameTrafficDistribution feature gate (PreferSameZone / PreferSameNode). */
  preferSameTrafficDistribution: boolean;
  kubelet: {
    /** Seconds from binding until containers run (image pull, sandbox, CNI). */
    containerStartSeconds: number;
    /** Seconds a container takes to exit after SIGTERM; capped by terminationGracePeriodSeconds. */
    sigtermExitSeconds: number;
  };
  nodeLifecycle: {
    /** DefaultTolerationSeconds admission: tolerationSeconds for not-ready/unreachable NoExecute. */
    defaultTolerationSeconds: number;
  };
  scheduler: {
    /** percentageOfNodesToScore; 0 means the adaptive default (50 - nodes/125, at least 5). */
    percentageOfNodesToScore: number;
  };
}

export const DEFAULT_CLUSTER_CONFIG: ClusterConfig = {
  clusterCIDRs: ['10.244.0.0/16'],
  serviceCIDRs: ['10.96.0.0/12'],
  nodeCIDRMaskSize: { ipv4: 24, ipv6: 64 },
  allocateNodeCIDRs: true,
  nodePortRange: { base: 30000, size: 2768 },
  maxEndpointsPerSlice: 100,
  preferSameTrafficDistribution: true,
  kubelet: { containerStartSeconds: 0, sigtermExitSeconds: 1 },
  nodeLifecycle: { defaultTolerationSeconds: 300 },
  scheduler: { percentageOfNodesToScore: 0 },
};

export function clusterConfig(overrides: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    ...DEFAULT_CLUSTER_CONFIG,
    ...overrides,
    kubelet: { ...DEFAULT_CLUSTER_CONFIG.kubelet, ...overrides.kubelet },
    nodeLifecycle: { ...DEFAULT_CLUSTER_CONFIG.nodeLifecycle, ...overrides.nodeLifecycle },
    scheduler: { ...DEFAULT_CLUSTER_CONFIG.scheduler, ...overrides.scheduler },
    nodeCIDRMaskSize: { ...DEFAULT_CLUSTER_CONFIG.nodeCIDRMaskSize, ...overrides.nodeCIDRMaskSize },
    nodePortRange: { ...DEFAULT_CLUSTER_CONFIG.nodePortRange, ...overrides.nodePortRange },
  };
}
