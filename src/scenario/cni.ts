// The Profile's CNI as a plugin model: its IPAM goes to the kubelet, its renderers to the tracer.
import type { CniOptions, CniPlugin } from '../dataplane/cni/types.js';
import { createFlannel } from '../dataplane/cni/flannel.js';
import { createCalico } from '../dataplane/cni/calico.js';
import { createAwsVpcCni } from '../dataplane/cni/aws-vpc-cni.js';
import { createTerway } from '../dataplane/cni/terway.js';
import type { Profile } from './types.js';

/** The NIC MTU of the profile's machines: AWS instances use jumbo frames inside the VPC. */
export function nicMtu(profile: Profile): number {
  return profile.cloud === 'aws' ? 9001 : 1500;
}

export function createCniPlugin(profile: Profile): CniPlugin {
  const subnets = new Map(profile.nodes.map((n) => [n.name, n.subnet]));
  const options: CniOptions = {
    mode: profile.cni.mode ?? '',
    clusterCIDRs: profile.cluster.clusterCIDRs,
    serviceCIDRs: profile.cluster.serviceCIDRs,
    nodeCIDRMaskSize: profile.cluster.nodeCIDRMaskSize.ipv4,
    cloud: profile.cloud,
    nodeSubnet: (node) => subnets.get(node),
  };
  const set = profile.cni.settings;
  switch (profile.cni.plugin) {
    case 'flannel':
      return createFlannel({ ...options, nicMtu: nicMtu(profile), ...(set.ipMasq !== undefined ? { ipMasq: set.ipMasq } : {}) });
    case 'calico':
      return createCalico({ ...options, nicMtu: nicMtu(profile), ...(set.natOutgoing !== undefined ? { natOutgoing: set.natOutgoing } : {}) });
    case 'aws-vpc-cni':
      return createAwsVpcCni({
        ...options,
        ...(set.externalSNAT !== undefined ? { externalSnat: set.externalSNAT } : {}),
        ...(set.excludeSNATCIDRs ? { excludeSnatCidrs: set.excludeSNATCIDRs } : {}),
      });
    case 'terway':
      return createTerway(options);
  }
}

/** `flannel vxlan`, `aws-vpc-cni secondary-ip`. */
export function cniLabel(plugin: CniPlugin): string {
  return `${plugin.name} ${plugin.mode}`;
}
