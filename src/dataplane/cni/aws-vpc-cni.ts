// The Amazon VPC CNI (aws/amazon-vpc-cni-k8s): pods take VPC addresses from the node's ENIs
// (AwsEniIpam), the host routes each one to its veth, and policy routing sends a pod's traffic out
// of the ENI that owns its address, because the VPC drops packets whose source the ENI does not own.
//
// Host (pkg/networkutils/network.go): SetupHostNetwork sets eth0's MTU and adds
// `fwmark 0x80/0x80 lookup main` (prio 1024); SetupENINetwork gives each secondary ENI its primary
// address and a table (device number + 1) with the gateway link route and a default route; the
// nat/mangle rules SNAT pod traffic leaving the VPC to eth0's primary address and connmark
// NodePort / outbound traffic so replies leave by eth0. Pod (cmd/routed-eni-cni-plugin/driver):
// eth0 <ip>/32, `169.254.1.1 dev eth0 scope link`, `default via 169.254.1.1 dev eth0`, a
// permanent neighbour for 169.254.1.1 with the host veth's MAC (no proxy ARP); host side
// `<ip> dev eni… scope link`, `to <ip> lookup main` (prio 512) and, for pods on a secondary ENI,
// `from <ip> lookup <table>` (prio 1536).
//
// NetworkPolicy: the network policy agent (eBPF) ships with the CNI but is off unless
// ENABLE_NETWORK_POLICY is set, so the plugin does not enforce policy by default.
import { AwsEniIpam, RT_TABLE_MAIN, type AwsIpamMode } from '../../cluster/ipam/aws-eni.js';
import { parseCidr } from '../../net/cidr.js';
import { subnetGateway } from '../fabric/fabric.js';
import type { HostCommand } from '../routing/ipcommand.js';
import { podHostVethName, vethMac } from './eni-names.js';
import { eniLimits } from './instance-types.js';
import type { CniCluster, CniNic, CniNode, CniOptions, CniPlugin, CniPod, HostNetwork, PodNetwork } from './types.js';

export const AWS_VPC_CNI_MODES: readonly AwsIpamMode[] = ['secondary-ip', 'prefix'];

export interface AwsVpcCniOptions extends CniOptions {
  /** AWS_VPC_K8S_CNI_EXTERNALSNAT (default false): leave SNAT to a NAT gateway. */
  readonly externalSnat?: boolean;
  /** AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS. */
  readonly excludeSnatCidrs?: readonly string[];
  /** AWS_VPC_CNI_NODE_PORT_SUPPORT (default true). */
  readonly nodePortSupport?: boolean;
  /** AWS_VPC_K8S_CNI_RANDOMIZESNAT (default prng: --random-fully). */
  readonly randomizeSnat?: 'prng' | 'hashrandom' | 'none';
  /** AWS_VPC_ENI_MTU / the pod MTU (default 9001). */
  readonly mtu?: number;
  /** AWS_VPC_K8S_CNI_CONNMARK (default 0x80). */
  readonly connmark?: number;
  readonly warmEniTarget?: number;
  readonly warmPrefixTarget?: number;
}

export interface AwsVpcCni extends CniPlugin {
  readonly ipam: AwsEniIpam;
}

const VETH_PREFIX = 'eni';
const POD_GATEWAY = '169.254.1.1';
const TO_CONTAINER_PRIO = 512;
const HOST_RULE_PRIO = 1024;
const FROM_POD_PRIO = 1536;

export function createAwsVpcCni(options: AwsVpcCniOptions): AwsVpcCni {
  const mode = (options.mode || 'secondary-ip') as AwsIpamMode;
  if (!AWS_VPC_CNI_MODES.includes(mode)) throw new Error(`aws-vpc-cni: unknown mode "${options.mode}" (expected ${AWS_VPC_CNI_MODES.join(' or ')})`);
  const mtu = options.mtu ?? 9001;
  const mark = options.connmark ?? 0x80;
  const externalSnat = options.externalSnat ?? false;
  const nodePortSupport = options.nodePortSupport ?? true;
  const ipam = new AwsEniIpam({
    mode,
    nodeSubnet: options.nodeSubnet,
    limits: (type) => eniLimits('aws', type),
    ...(options.warmEniTarget !== undefined ? { warmEniTarget: options.warmEniTarget } : {}),
    ...(options.warmPrefixTarget !== undefined ? { warmPrefixTarget: options.warmPrefixTarget } : {}),
  });
  const hostInterfaceName = (pod: CniPod): string => podHostVethName(VETH_PREFIX, pod.namespace, pod.name);

  return {
    name: 'aws-vpc-cni',
    mode,
    ipam,
    vpcNative: true,
    enforcesNetworkPolicy: false,
    hostInterfaceName,

    host(node: CniNode, cluster: CniCluster): HostNetwork {
      const enis = ipam.enis(node.name);
      const secondary = enis.slice(1);
      const commands: HostCommand[] = [`ip link set eth0 mtu ${mtu}`];
      // aws-vpc-cni-init loosens reverse-path filtering on the primary ENI for NodePort replies.
      if (nodePortSupport) commands.push('sysctl -w net.ipv4.conf.eth0.rp_filter=2');
      if (nodePortSupport || !externalSnat) commands.push(`ip rule add fwmark ${hex(mark)}/${hex(mark)} lookup main priority ${HOST_RULE_PRIO}`);
      const nics: CniNic[] = [];
      for (const eni of secondary) {
        const gw = subnetGateway('aws', eni.subnet);
        const len = parseCidr(eni.subnet)?.prefix ?? 32;
        nics.push({ name: eni.name, mac: eni.mac, cloudIps: [...eni.podAddresses], subnet: eni.subnet });
        commands.push(
          `ip link set ${eni.name} mtu ${mtu} up`,
          // Upstream adds the address with the subnet mask and then deletes the main-table subnet
          // route it creates; noprefixroute leaves the same state.
          `ip addr add ${eni.primaryIp}/${len} dev ${eni.name} noprefixroute`,
          `ip route replace ${gw} dev ${eni.name} scope link table ${eni.routeTable}`,
          `ip route replace default via ${gw} dev ${eni.name} table ${eni.routeTable}`,
        );
      }
      return {
        nics,
        eth0CloudIps: [...(enis[0]?.podAddresses ?? [])],
        commands,
        iptables: iptablesPayload(node, cluster.clusterCIDRs.length ? cluster.clusterCIDRs : options.clusterCIDRs, {
          externalSnat,
          nodePortSupport,
          mark,
          excludeSnatCidrs: options.excludeSnatCidrs ?? [],
          randomizeSnat: options.randomizeSnat ?? 'prng',
        }),
      };
    },

    pod(pod: CniPod, node: CniNode, _cluster: CniCluster, netns: string): PodNetwork {
      const ip = pod.ips.find((a) => !a.includes(':')) ?? pod.ips[0]!;
      const veth = hostInterfaceName(pod);
      const mac = vethMac(`${node.name}/${veth}`);
      // A pod whose address ipamd does not know is routed as if it sat on the primary ENI.
      const table = ipam.eniOf(node.name, ip)?.routeTable ?? RT_TABLE_MAIN;
      const host: HostCommand[] = [
        `ip link add ${veth} address ${mac} mtu ${mtu} type veth peer name eth0 netns ${netns}`,
        `ip link set ${veth} up`,
        `ip route replace ${ip} dev ${veth} scope link`,
        `ip rule add to ${ip} lookup main priority ${TO_CONTAINER_PRIO}`,
      ];
      if (table !== RT_TABLE_MAIN) host.push(`ip rule add from ${ip} lookup ${table} priority ${FROM_POD_PRIO}`);
      const podCommands: HostCommand[] = [
        'ip link set eth0 up',
        `ip route add ${POD_GATEWAY} dev eth0 scope link`,
        `ip route add default via ${POD_GATEWAY} dev eth0`,
        `ip addr add ${ip}/32 dev eth0`,
        `ip neigh add ${POD_GATEWAY} lladdr ${mac} dev eth0 nud permanent`,
      ];
      return { netns, host, pod: podCommands, hostInterface: veth };
    },
  };
}

interface SnatSettings {
  readonly externalSnat: boolean;
  readonly nodePortSupport: boolean;
  readonly mark: number;
  readonly excludeSnatCidrs: readonly string[];
  readonly randomizeSnat: 'prng' | 'hashrandom' | 'none';
}

/**
 * The rules networkutils programs, as iptables-save would print them. The VPC CIDR RETURN rules
 * are inserted at position 1 one after another upstream, so they list in reverse order.
 */
export function iptablesPayload(node: Pick<CniNode, 'internalIP'>, vpcCIDRs: readonly string[], s: SnatSettings): string {
  const m = hex(s.mark);
  const snat = !s.externalSnat;
  const restore = `-j CONNMARK --restore-mark --nfmask ${m} --ctmask ${m}`;
  const mangle: string[] = [];
  if (s.nodePortSupport) mangle.push(`-A PREROUTING -i eth0 -m comment --comment "AWS, primary ENI" -m addrtype --dst-type LOCAL --limit-iface-in -j CONNMARK --set-xmark ${m}/${m}`);
  if (s.nodePortSupport || snat) mangle.push(`-A PREROUTING -i ${VETH_PREFIX}+ -m comment --comment "AWS, primary ENI" ${restore}`);
  if (s.nodePortSupport) mangle.push(`-A PREROUTING -i vlan+ -m comment --comment "AWS, primary ENI" ${restore}`);

  // Built-in chains are declared so the payload loads on a table that is not there yet; under
  // --noflush that only sets their (ACCEPT) policy and keeps kube-proxy's rules.
  const nat: string[] = [':PREROUTING ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ':AWS-CONNMARK-CHAIN-0 - [0:0]', ':AWS-SNAT-CHAIN-0 - [0:0]'];
  if (snat) {
    const exclusions = new Set(s.excludeSnatCidrs);
    const all = [...vpcCIDRs, ...s.excludeSnatCidrs];
    nat.push(
      `-A PREROUTING -i ${VETH_PREFIX}+ -m comment --comment "AWS, outbound connections" -j AWS-CONNMARK-CHAIN-0`,
      `-A PREROUTING -m comment --comment "AWS, CONNMARK" ${restore}`,
      '-A POSTROUTING -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0',
    );
    for (const c of [...all].reverse())
      nat.push(`-A AWS-CONNMARK-CHAIN-0 -d ${c} -m comment --comment "AWS CONNMARK CHAIN, ${exclusions.has(c) ? 'EXCLUDED CIDR' : 'VPC CIDR'}" -j RETURN`);
    nat.push(`-A AWS-CONNMARK-CHAIN-0 -m comment --comment "AWS, CONNMARK" -j CONNMARK --set-xmark ${m}/${m}`);
    for (const c of [...all].reverse())
      nat.push(`-A AWS-SNAT-CHAIN-0 -d ${c} -m comment --comment "AWS SNAT CHAIN${exclusions.has(c) ? ' EXCLUSION' : ''}" -j RETURN`);
    const random = s.randomizeSnat === 'prng' ? ' --random-fully' : s.randomizeSnat === 'hashrandom' ? ' --random' : '';
    nat.push(`-A AWS-SNAT-CHAIN-0 ! -o vlan+ -m comment --comment "AWS, SNAT" -m addrtype ! --dst-type LOCAL -j SNAT --to-source ${node.internalIP}${random}`);
  }
  const out: string[] = [];
  if (mangle.length) out.push('*mangle', ':PREROUTING ACCEPT [0:0]', ...mangle, 'COMMIT');
  out.push('*nat', ...nat, 'COMMIT');
  return out.join('\n') + '\n';
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
