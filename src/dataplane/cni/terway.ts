// Alibaba Cloud Terway (AliyunContainerService/terway), veth datapath with policy routing.
//
// shared (ENI multi-IP, plugin/datapath/policy_router_linux.go): each secondary ENI gets the node's
// address as /32 (HostIPSet, from GetHostIP) and a table 1000 + ifindex with
// `default via <vSwitch gateway> dev ethN onlink`; per pod a veth `cali` + sha1(ns.name)[:11],
// host side `<ip> dev cali… scope link`, `to <ip> lookup main` (prio 512) and
// `from <ip> lookup <ENI table>` (prio 2048), so a pod's traffic leaves by the ENI that owns its
// address; pod side eth0 <ip>/32, `default via 169.254.1.1 dev eth0 onlink` and a permanent
// neighbour for 169.254.1.1 with the host veth's MAC.
//
// exclusive (exclusive_eni_linux.go): the pod's ENI is moved into its netns as eth0 with
// `<ip>/32` and `default via <gateway> dev eth0 onlink`; a veth pair (host `cali…` holding
// 169.254.1.1/32, pod `veth1` holding the pod address too) carries Service traffic:
// `169.254.1.1 dev veth1 scope link`, `<service CIDR> via 169.254.1.1 dev veth1 onlink`.
//
// Host sysctls (EnsureHostNsConfig): forwarding 1 and rp_filter 0 on all, default and every link.
// Egress: pods keep their VPC address; the vSwitch's NAT gateway SNAT entry translates Internet
// traffic (docs/design.md). Whether the node SNATs anything is unverified in the reference (§2.6,
// §6 item 8); the model installs no iptables rules.
//
// NetworkPolicy: shared mode enforces it — Terway ships a policy agent (Calico felix in the
// veth/policy-route datapath, Cilium in DataPath V2), which is why host veths take Calico's
// `cali` names. Exclusive mode has no NetworkPolicy (reference §2.6).
import { TerwayIpam, type TerwayIpamMode } from '../../cluster/ipam/terway.js';
import { subnetGateway } from '../fabric/fabric.js';
import type { HostCommand } from '../routing/ipcommand.js';
import { podHostVethName, vethMac } from './eni-names.js';
import { eniLimits } from './instance-types.js';
import type { CniCluster, CniNic, CniNode, CniOptions, CniPlugin, CniPod, HostNetwork, PodNetwork } from './types.js';

export const TERWAY_MODES: readonly TerwayIpamMode[] = ['shared', 'exclusive'];

export interface TerwayOptions extends CniOptions {
  /** The vSwitch pod ENIs are created in; default the node's. */
  readonly podSubnet?: (node: string) => string | undefined;
  /** Terway's default MTU is 1500. */
  readonly mtu?: number;
}

export interface Terway extends CniPlugin {
  readonly ipam: TerwayIpam;
}

const VETH_PREFIX = 'cali';
const LINK_IP = '169.254.1.1';
const TO_CONTAINER_PRIO = 512;
const FROM_CONTAINER_PRIO = 2048;
const EXCLUSIVE_SERVICE_VETH = 'veth1';

export function createTerway(options: TerwayOptions): Terway {
  const mode = (options.mode || 'shared') as TerwayIpamMode;
  if (!TERWAY_MODES.includes(mode)) throw new Error(`terway: unknown mode "${options.mode}" (expected ${TERWAY_MODES.join(' or ')})`);
  const mtu = options.mtu ?? 1500;
  const ipam = new TerwayIpam({
    mode,
    nodeSubnet: options.nodeSubnet,
    ...(options.podSubnet ? { podSubnet: options.podSubnet } : {}),
    limits: (type) => eniLimits('alibaba', type),
  });
  const hostInterfaceName = (pod: CniPod): string => podHostVethName(VETH_PREFIX, pod.namespace, pod.name);

  return {
    name: 'terway',
    mode,
    ipam,
    vpcNative: true,
    enforcesNetworkPolicy: mode === 'shared',
    hostInterfaceName,

    host(node: CniNode): HostNetwork {
      const enis = mode === 'shared' ? ipam.enis(node.name) : [];
      const links = ['eth0', ...enis.map((e) => e.name)];
      const commands: HostCommand[] = [];
      for (const key of ['default', 'all', ...links]) {
        commands.push(`sysctl -w net.ipv4.conf.${key}.forwarding=1`, `sysctl -w net.ipv4.conf.${key}.rp_filter=0`);
      }
      const nics: CniNic[] = [];
      for (const eni of enis) {
        nics.push({ name: eni.name, mac: eni.mac, cloudIps: [...eni.podAddresses], subnet: eni.subnet });
        commands.push(
          `ip link set ${eni.name} mtu ${mtu} up`,
          `ip addr add ${node.internalIP}/32 dev ${eni.name}`,
          `ip route replace default via ${subnetGateway('alibaba', eni.subnet)} dev ${eni.name} onlink table ${eni.routeTable}`,
        );
      }
      return { nics, commands, iptables: '' };
    },

    pod(pod: CniPod, node: CniNode, cluster: CniCluster, netns: string): PodNetwork {
      const ip = pod.ips.find((a) => !a.includes(':')) ?? pod.ips[0]!;
      const veth = hostInterfaceName(pod);
      const mac = vethMac(`${node.name}/${veth}`);
      const eni = ipam.eniOf(node.name, ip);
      if (mode === 'exclusive') {
        const subnet = eni?.subnet ?? node.subnet;
        const nic: CniNic = { name: 'eth0', ...(eni ? { mac: eni.mac } : {}), cloudIps: [ip], subnet };
        const serviceCIDRs = cluster.serviceCIDRs.length ? cluster.serviceCIDRs : options.serviceCIDRs;
        return {
          netns,
          nic,
          host: [
            `ip link add ${veth} address ${mac} mtu ${mtu} type veth peer name ${EXCLUSIVE_SERVICE_VETH} netns ${netns}`,
            `ip link set ${veth} up`,
            `ip addr add ${LINK_IP}/32 dev ${veth}`,
            `ip route replace ${ip} dev ${veth} scope link`,
          ],
          pod: [
            `ip link set eth0 mtu ${mtu} up`,
            `ip addr add ${ip}/32 dev eth0`,
            `ip route add default via ${subnetGateway('alibaba', subnet)} dev eth0 onlink`,
            `ip link set ${EXCLUSIVE_SERVICE_VETH} up`,
            `ip addr add ${ip}/32 dev ${EXCLUSIVE_SERVICE_VETH}`,
            `ip route add ${LINK_IP} dev ${EXCLUSIVE_SERVICE_VETH} scope link`,
            ...serviceCIDRs.filter((c) => !c.includes(':')).map((c) => `ip route add ${c} via ${LINK_IP} dev ${EXCLUSIVE_SERVICE_VETH} onlink`),
            `ip neigh add ${LINK_IP} lladdr ${mac} dev ${EXCLUSIVE_SERVICE_VETH} nud permanent`,
          ],
        };
      }
      const host: HostCommand[] = [
        `ip link add ${veth} address ${mac} mtu ${mtu} type veth peer name eth0 netns ${netns}`,
        `ip link set ${veth} up`,
        `ip route replace ${ip} dev ${veth} scope link`,
        `ip rule add to ${ip} lookup main priority ${TO_CONTAINER_PRIO}`,
      ];
      // An address terwayd does not know has no ENI table: its traffic follows the main table.
      if (eni) host.push(`ip rule add from ${ip} lookup ${eni.routeTable} priority ${FROM_CONTAINER_PRIO}`);
      return {
        netns,
        host,
        pod: [
          'ip link set eth0 up',
          `ip addr add ${ip}/32 dev eth0`,
          `ip route add default via ${LINK_IP} dev eth0 onlink`,
          `ip neigh add ${LINK_IP} lladdr ${mac} dev eth0 nud permanent`,
        ],
        hostInterface: veth,
      };
    },
  };
}
