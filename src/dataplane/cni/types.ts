// What a CNI plugin model provides: the pod IPAM the kubelet calls, and renderers that say how the
// plugin (and the node's own setup) leaves a host and a pod sandbox — as the iproute2 commands and
// iptables rules it would run. The same commands program the routing model and, in the kernel
// suite, real network namespaces. Renderers read plain data (CniNode, CniPod), never the store.
import type { PodIpam } from '../../cluster/ipam/pod-ipam.js';
import type { HostCommand } from '../routing/ipcommand.js';

export interface CniNode {
  readonly name: string;
  readonly zone?: string;
  /** The node's primary address (InternalIP), on its primary NIC `eth0`. */
  readonly internalIP: string;
  /** The subnet the primary NIC sits in (bare-metal LAN, AWS subnet, Alibaba vSwitch), e.g. 192.168.1.0/24. */
  readonly subnet: string;
  /** node.spec.podCIDRs (empty when the control plane does not allocate them). */
  readonly podCIDRs: readonly string[];
  readonly instanceType?: string;
}

export interface CniHostPort {
  readonly hostPort: number;
  readonly containerPort: number;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly hostIP?: string;
}

export interface CniPod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly node: string;
  /** status.podIPs, primary family first; empty until the sandbox has addresses. */
  readonly ips: readonly string[];
  readonly hostNetwork: boolean;
  readonly hostPorts: readonly CniHostPort[];
}

/** The cluster as a CNI sees it. */
export interface CniCluster {
  /** The pod network: --cluster-cidr for overlays, the VPC CIDR for VPC-native CNIs. */
  readonly clusterCIDRs: readonly string[];
  readonly serviceCIDRs: readonly string[];
  readonly nodes: ReadonlyMap<string, CniNode>;
  /** Pods with a sandbox on `node` (not hostNetwork ones), in a stable order. */
  podsOn(node: string): readonly CniPod[];
}

/** An extra NIC the cloud attaches to the host (a secondary ENI), created before the commands run. */
export interface CniNic {
  readonly name: string;
  readonly mac?: string;
  /** Addresses the VPC delivers to this NIC without the OS holding them (ENI secondary IPs for pods). */
  readonly cloudIps: readonly string[];
  /** The subnet it sits in (a secondary ENI can be in another subnet/vSwitch than eth0). */
  readonly subnet: string;
}

/**
 * A host as the CNI leaves it, on top of the node's base setup (lo, `eth0` with the node address,
 * the default route via the subnet gateway), which the caller applies first.
 */
export interface HostNetwork {
  /** NICs besides eth0 (AWS / Terway secondary ENIs). `eth0`'s own cloud IPs are in `eth0CloudIps`. */
  readonly nics?: readonly CniNic[];
  /** Secondary IPs of eth0 that pods use (AWS VPC CNI uses the primary ENI for pods too). */
  readonly eth0CloudIps?: readonly string[];
  /** `ip …`, `bridge …`, `sysctl -w …` commands for the host namespace, in order. */
  readonly commands: readonly HostCommand[];
  /**
   * The plugin's iptables rules as an `iptables-restore --noflush` payload (`*nat`, `:CHAIN - [0:0]`,
   * `-A POSTROUTING -j CHAIN`, …, `COMMIT`), applied after kube-proxy's rules. Empty when none.
   */
  readonly iptables: string;
}

/** A pod sandbox (CNI ADD): commands in the host namespace (they create the veth with its peer in the pod's netns) and in the pod's netns. */
export interface PodNetwork {
  /** The pod's netns name the host commands refer to (`… peer name eth0 netns <netns>`). */
  readonly netns: string;
  readonly host: readonly HostCommand[];
  readonly pod: readonly HostCommand[];
  /** The host-side interface (`vethXXXXXXXX`, `caliXXXXXXXXXXX`, `eniXXXXXXXXXXX`); undefined when the pod owns a NIC (exclusive ENI). */
  readonly hostInterface?: string;
  /** Exclusive ENI: the pod's eth0 is a VPC NIC the cloud delivers to directly. */
  readonly nic?: CniNic;
}

/** A route in the VPC route table the cloud programs for the CNI (flannel on ACK: one per node pod CIDR). */
export interface VpcRoute {
  readonly destination: string;
  /** The node (instance) the route points at. */
  readonly node: string;
}

export interface CniPlugin {
  /** `flannel`, `calico`, `aws-vpc-cni`, `terway`. */
  readonly name: string;
  /** `vxlan`, `host-gw`, `vpc-route`, `ipip`, `vxlan`, `none`, `secondary-ip`, `prefix`, `shared`, `exclusive`. */
  readonly mode: string;
  /** The IPAM the kubelet calls on CNI ADD / DEL. */
  readonly ipam: PodIpam;
  /** Whether pod IPs are VPC addresses the cloud fabric delivers (AWS VPC CNI, Terway). */
  readonly vpcNative: boolean;
  /** Whether the plugin enforces NetworkPolicy (flannel alone does not). */
  readonly enforcesNetworkPolicy: boolean;
  host(node: CniNode, cluster: CniCluster): HostNetwork;
  /** CNI ADD for a pod that has its addresses (pod.ips non-empty, not hostNetwork). `netns` is the name to use. */
  pod(pod: CniPod, node: CniNode, cluster: CniCluster, netns: string): PodNetwork;
  /** Routes the cloud adds to the VPC route table for this plugin. */
  vpcRoutes?(cluster: CniCluster): readonly VpcRoute[];
  /** The interface name the plugin gives a pod's host-side veth (deterministic, as the plugin derives it). */
  hostInterfaceName?(pod: CniPod): string;
}

/** Options common to the plugin constructors: what the Profile says. */
export interface CniOptions {
  readonly mode: string;
  readonly clusterCIDRs: readonly string[];
  readonly serviceCIDRs: readonly string[];
  /** The node CIDR mask (flannel uses node.spec.podCIDR). */
  readonly nodeCIDRMaskSize?: number;
  /** Cloud (for subnet gateways, VPC routes). */
  readonly cloud: 'none' | 'aws' | 'alibaba';
  /** The subnet a node's primary NIC sits in, by node name (IPAMs that hand out VPC addresses need it). */
  readonly nodeSubnet: (node: string) => string | undefined;
}
