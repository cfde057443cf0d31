// flannel (flannel-io/flannel with --kube-subnet-mgr, and its CNI meta-plugin delegating to
// bridge + host-local), reference §4.2–4.5 and, for the `vpc-route` mode, §2.7 (flannel on ACK,
// the `alloc` backend). The lease is node.spec.podCIDR; pods sit on the `cni0` bridge whose
// address is the lease's .1 (isGateway), and reach other nodes by:
//   vxlan     flannel.1 (VNI 1, UDP 8472): per remote lease a route via its network address
//             onlink, a permanent neighbour and an FDB entry to the remote node IP;
//   host-gw   per remote lease a route via the remote node IP on eth0 (needs L2 adjacency);
//   vpc-route nothing on the host: the cloud's VPC route table sends each podCIDR to its node.
// IPv4 only: a dual-stack lease's IPv6 half is not rendered.
import { HostLocalIpam } from '../../cluster/ipam/host-local.js';
import { cidrContains, containsIp, nthAddress, parseCidr } from '../../net/cidr.js';
import { parseIp, type IpAddress } from '../../net/ip.js';
import { saveString } from '../netfilter/tokens.js';
import type { HostCommand } from '../routing/ipcommand.js';
import { bridgeVethName, derivedMac } from './names.js';
import { renderPortmap } from './portmap.js';
import type { CniCluster, CniNode, CniOptions, CniPlugin, CniPod, HostNetwork, PodNetwork, VpcRoute } from './types.js';

export type FlannelMode = 'vxlan' | 'host-gw' | 'vpc-route';

export interface FlannelOptions extends CniOptions {
  /** MTU of the nodes' eth0 (default 1500); CniNode does not carry it. */
  readonly nicMtu?: number;
  /** flanneld --ip-masq (kube-flannel.yml sets it; ACK's flannel too). Default true. */
  readonly ipMasq?: boolean;
}

export const FLANNEL_VNI = 1;
export const FLANNEL_VXLAN_PORT = 8472;
/** The VXLAN overhead flannel subtracts from the external MTU. The reference marks 50 as unverified [U]. */
export const VXLAN_OVERHEAD = 50;
/** kube-proxy's masquerade mark (trafficmngr.KubeProxyMark). */
const KUBE_PROXY_MARK = '0x4000/0x4000';
const MASQ_COMMENT = saveString('flanneld masq');
const FWD_COMMENT = saveString('flanneld forward');

/** The VTEP MAC of a node's flannel.1. Upstream lets the kernel (or flanneld) pick one at random; kubepath derives it from the node name. */
export function flannelVtepMac(nodeName: string): string {
  return derivedMac('flannel.1', nodeName);
}

/** The node's IPv4 lease (node.spec.podCIDR), or undefined when the control plane gave it none. */
function leaseOf(node: CniNode): string | undefined {
  return node.podCIDRs.find((c) => !c.includes(':'));
}

function v4(cidrs: readonly string[]): string | undefined {
  return cidrs.find((c) => !c.includes(':'));
}

// Every host render walks every other lease: parse each lease once.
const leaseNetworks = new Map<string, string>();

const nodeIps = new Map<string, IpAddress | undefined>();

function parsedNodeIp(text: string): IpAddress | undefined {
  if (!nodeIps.has(text)) {
    if (nodeIps.size >= 100_000) nodeIps.clear();
    nodeIps.set(text, parseIp(text));
  }
  return nodeIps.get(text);
}

function networkAddress(cidr: string): string {
  let a = leaseNetworks.get(cidr);
  if (a === undefined) {
    if (leaseNetworks.size >= 100_000) leaseNetworks.clear();
    a = nthAddress(parseCidr(cidr)!, 0)!;
    leaseNetworks.set(cidr, a);
  }
  return a;
}

/** A flannel plugin, plus the portmap rules its conflist (kube-flannel's `cbr0`) chains for hostPorts. */
export interface FlannelPlugin extends CniPlugin {
  /** portmap's nat rules for the node's pods with hostPorts (an iptables-restore --noflush payload; empty when none). */
  hostPortRules(node: CniNode, cluster: CniCluster): string;
}

export function createFlannel(options: FlannelOptions): FlannelPlugin {
  const mode = (options.mode || 'vxlan') as FlannelMode;
  if (mode !== 'vxlan' && mode !== 'host-gw' && mode !== 'vpc-route') throw new Error(`flannel has no backend "${options.mode}" (vxlan, host-gw, vpc-route)`);
  const nicMtu = options.nicMtu ?? 1500;
  // FLANNEL_MTU in /run/flannel/subnet.env: what cni0 and the pod veths get.
  const mtu = mode === 'vxlan' ? nicMtu - VXLAN_OVERHEAD : nicMtu;
  const network = v4(options.clusterCIDRs);
  const ipMasq = options.ipMasq ?? true;
  const ipam = new HostLocalIpam({ pluginType: 'flannel' });

  function host(node: CniNode, cluster: CniCluster): HostNetwork {
    const lease = leaseOf(node);
    // flanneld cannot start without a lease ("pod cidr not assigned"): nothing is programmed.
    if (!lease) return { commands: [], iptables: '' };
    const commands: HostCommand[] = [];
    if (mode === 'vxlan') {
      commands.push(
        `ip link add flannel.1 address ${flannelVtepMac(node.name)} mtu ${mtu} type vxlan id ${FLANNEL_VNI} local ${node.internalIP} dev eth0 dstport ${FLANNEL_VXLAN_PORT} nolearning`,
        `ip addr add ${networkAddress(lease)}/32 dev flannel.1`,
        'ip link set flannel.1 up',
      );
    }
    const lan = mode === 'host-gw' ? parseCidr(node.subnet) : undefined;
    for (const remote of cluster.nodes.values()) {
      if (remote.name === node.name) continue;
      const rlease = leaseOf(remote);
      if (!rlease) continue;
      if (mode === 'vxlan') {
        // handleSubnetEvents: neighbour, then FDB, then the route.
        const rnet = networkAddress(rlease);
        const mac = flannelVtepMac(remote.name);
        commands.push(
          `ip neigh replace ${rnet} lladdr ${mac} dev flannel.1 nud permanent`,
          `bridge fdb replace ${mac} dev flannel.1 dst ${remote.internalIP}`,
          `ip route add ${rlease} via ${rnet} dev flannel.1 onlink`,
        );
      } else if (mode === 'host-gw') {
        // A gateway off this node's subnet is refused by the kernel ("Nexthop has invalid
        // gateway"); flanneld logs the failure and carries on without the route (C8).
        const ip = parsedNodeIp(remote.internalIP);
        if (lan && ip && cidrContains(lan, ip)) commands.push(`ip route add ${rlease} via ${remote.internalIP} dev eth0`);
      }
    }
    // The bridge plugin creates cni0 on the first CNI ADD; kubepath creates it with the host.
    const gateway = nthAddress(parseCidr(lease)!, 1)!;
    const len = lease.slice(lease.indexOf('/') + 1);
    commands.push(`ip link add cni0 mtu ${mtu} type bridge`, `ip addr add ${gateway}/${len} dev cni0`, 'ip link set cni0 up', 'sysctl -w net.ipv4.ip_forward=1');
    return { commands, iptables: network && ipMasq ? renderFlannelIptables(network, lease) : network ? renderForward(network) : '' };
  }

  function pod(p: CniPod, node: CniNode, _cluster: CniCluster, netns: string): PodNetwork {
    const lease = leaseOf(node);
    const ip = p.ips.find((a) => !a.includes(':') && lease !== undefined && containsIp(lease, a));
    const veth = bridgeVethName(p);
    if (!lease || !ip) return { netns, host: [], pod: [], hostInterface: veth };
    const gateway = nthAddress(parseCidr(lease)!, 1)!;
    const len = lease.slice(lease.indexOf('/') + 1);
    return {
      netns,
      hostInterface: veth,
      host: [
        `ip link add ${veth} mtu ${mtu} type veth peer name eth0 mtu ${mtu} netns ${netns}`,
        `ip link set ${veth} master cni0`,
        // kube-flannel's cni-conf.json sets hairpinMode (the routing model does not use it).
        `ip link set dev ${veth} type bridge_slave hairpin on`,
        `ip link set ${veth} up`,
      ],
      pod: [
        `ip addr add ${ip}/${len} dev eth0`,
        'ip link set eth0 up',
        // host-local's `routes: [{dst: <Network>}]` with the range gateway, then isDefaultGateway.
        ...(network ? [`ip route add ${network} via ${gateway} dev eth0`] : []),
        `ip route add default via ${gateway} dev eth0`,
      ],
    };
  }

  function vpcRoutes(cluster: CniCluster): readonly VpcRoute[] {
    if (mode !== 'vpc-route') return [];
    const out: VpcRoute[] = [];
    for (const n of cluster.nodes.values()) {
      const lease = leaseOf(n);
      if (lease) out.push({ destination: lease, node: n.name });
    }
    return out;
  }

  return {
    name: 'flannel',
    mode,
    ipam,
    vpcNative: false,
    enforcesNetworkPolicy: false,
    host,
    pod,
    vpcRoutes,
    hostInterfaceName: bridgeVethName,
    hostPortRules: (node, cluster) => renderPortmap(cluster.podsOn(node.name), node, { networkName: 'cbr0' }),
  };
}

/** flanneld's masquerade rules (trafficmngr/iptables masqRules, --random-fully) and forward rules, as iptables-save prints them. */
export function renderFlannelIptables(network: string, lease: string): string {
  const c = `-m comment --comment ${MASQ_COMMENT}`;
  return [
    '*nat',
    // Built-in chains are declared so the payload also loads alone; --noflush keeps their rules.
    ':POSTROUTING ACCEPT [0:0]',
    ':FLANNEL-POSTRTG - [0:0]',
    `-A POSTROUTING ${c} -j FLANNEL-POSTRTG`,
    // kube-proxy already marked it for masquerade: no double NAT.
    `-A FLANNEL-POSTRTG -m mark --mark ${KUBE_PROXY_MARK} ${c} -j RETURN`,
    `-A FLANNEL-POSTRTG -s ${lease} -d ${network} ${c} -j RETURN`,
    `-A FLANNEL-POSTRTG -s ${network} -d ${lease} ${c} -j RETURN`,
    // External traffic arriving for local pods keeps its source.
    `-A FLANNEL-POSTRTG ! -s ${network} -d ${lease} ${c} -j RETURN`,
    `-A FLANNEL-POSTRTG -s ${network} ! -d 224.0.0.0/4 ${c} -j MASQUERADE --random-fully`,
    `-A FLANNEL-POSTRTG ! -s ${network} -d ${network} ${c} -j MASQUERADE --random-fully`,
    'COMMIT',
    renderForward(network).trimEnd(),
    '',
  ].join('\n');
}

/** FLANNEL-FWD; declaring FORWARD ACCEPT matches flanneld, which sets that policy ("Changing default FORWARD chain policy to ACCEPT"). */
function renderForward(network: string): string {
  const c = `-m comment --comment ${FWD_COMMENT}`;
  return ['*filter', ':FORWARD ACCEPT [0:0]', ':FLANNEL-FWD - [0:0]', `-A FORWARD ${c} -j FLANNEL-FWD`, `-A FLANNEL-FWD -s ${network} ${c} -j ACCEPT`, `-A FLANNEL-FWD -d ${network} ${c} -j ACCEPT`, 'COMMIT', ''].join('\n');
}
