// Calico (projectcalico/calico: calico CNI plugin + calico-ipam, Felix, BIRD), reference §4.6.
// Pods get a /32 on eth0 and route everything via 169.254.1.1, which the host-side veth
// (`cali` + sha1("<ns>.<pod>")[:11], C14) answers by proxy ARP; the host routes each local pod
// as `<ip> dev caliX scope link`, blackholes its own blocks and reaches other nodes' blocks by:
//   ipip   `<block> via <node IP> dev tunl0 proto bird onlink` (BIRD), IPIP Always (C10);
//   vxlan  `<block> via <remote tunnel IP> dev vxlan.calico onlink` + neighbour + FDB (Felix);
//   none   `<block> via <node IP> dev eth0 proto bird` (BGP, no encapsulation).
// The exact route texts for IPIP and VXLAN are marked unverified in the reference [D/U]; the
// shapes follow BIRD's kernel protocol (proto bird) and Felix's route table (proto 80 for its
// blackholes). IPv4 only: an IPv6 pool is allocated by the IPAM but not rendered.
import { CalicoIpam } from '../../cluster/ipam/calico.js';
import { containsIp } from '../../net/cidr.js';
import type { HostCommand } from '../routing/ipcommand.js';
import { calicoVethName, derivedMac } from './names.js';
import { renderPortmap } from './portmap.js';
import type { CniCluster, CniNode, CniOptions, CniPlugin, CniPod, HostNetwork, PodNetwork } from './types.js';

export type CalicoMode = 'ipip' | 'vxlan' | 'none';

export interface CalicoOptions extends CniOptions {
  /** MTU of the nodes' eth0 (default 1500); CniNode does not carry it. */
  readonly nicMtu?: number;
  /** IPPool natOutgoing (calico-node's default pool: true). */
  readonly natOutgoing?: boolean;
  /** IPPool blockSize (default 26). */
  readonly blockSize?: number;
  /** IPAMConfig strictAffinity (default false: nodes may borrow). */
  readonly strictAffinity?: boolean;
}

/** The link-local gateway every Calico pod routes through. */
export const CALICO_POD_GATEWAY = '169.254.1.1';
/** What the calico CNI plugin sets as the host-side veth MAC. */
export const CALICO_HOST_VETH_MAC = 'ee:ee:ee:ee:ee:ee';
/** Felix's VXLAN defaults (FelixConfiguration vxlanVNI / vxlanPort). */
export const CALICO_VXLAN_VNI = 4096;
export const CALICO_VXLAN_PORT = 4789;
const IPIP_OVERHEAD = 20;
const VXLAN_OVERHEAD = 50;

/** The VTEP MAC of a node's vxlan.calico. Felix generates one at random and stores it on the Node; kubepath derives it from the node name. */
export function calicoVtepMac(nodeName: string): string {
  return derivedMac('vxlan.calico', nodeName);
}

/** A Calico plugin with its IPAM's block view, plus the portmap rules calico.yaml's conflist chains for hostPorts. */
export interface CalicoPlugin extends CniPlugin {
  readonly ipam: CalicoIpam;
  /** portmap's nat rules for the node's pods with hostPorts (snat, /32 pod addresses); empty when none. */
  hostPortRules(node: CniNode, cluster: CniCluster): string;
}

export function createCalico(options: CalicoOptions): CalicoPlugin {
  const mode = (options.mode || 'ipip') as CalicoMode;
  if (mode !== 'ipip' && mode !== 'vxlan' && mode !== 'none') throw new Error(`calico has no encapsulation mode "${options.mode}" (ipip, vxlan, none)`);
  const nicMtu = options.nicMtu ?? 1500;
  // Calico's MTU auto-detection: the host MTU less the encapsulation overhead.
  const vethMtu = nicMtu - (mode === 'ipip' ? IPIP_OVERHEAD : mode === 'vxlan' ? VXLAN_OVERHEAD : 0);
  const pool = options.clusterCIDRs.find((c) => !c.includes(':'));
  const natOutgoing = options.natOutgoing ?? true;
  const ipam = new CalicoIpam({
    pools: options.clusterCIDRs,
    ...(options.blockSize !== undefined ? { blockSize: options.blockSize } : {}),
    ...(mode !== 'none' ? { tunnel: mode } : {}),
    ...(options.strictAffinity !== undefined ? { strictAffinity: options.strictAffinity } : {}),
  });
  // Nodes whose tunnel address is known assigned (reset when the IPAM forgets a node).
  const tunnelled = new Set<string>();
  let tunnelGeneration = ipam.generation;

  /** How this node reaches `dst` (a remote block, or a /32 borrowed by a remote node); undefined when BGP gives no usable route. */
  function remoteRoute(node: CniNode, remote: CniNode, dst: string): HostCommand | undefined {
    if (mode === 'ipip') return `ip route add ${dst} via ${remote.internalIP} dev tunl0 proto bird onlink`;
    if (mode === 'vxlan') {
      const vtep = ipam.tunnelAddress(remote.name);
      return vtep ? `ip route add ${dst} via ${vtep} dev vxlan.calico onlink` : undefined;
    }
    // Without encapsulation the peer must be on-link; BIRD's recursive next hop towards a routed
    // peer would point at the subnet router, which knows no pod routes (not modelled).
    return containsIp(node.subnet, remote.internalIP) ? `ip route add ${dst} via ${remote.internalIP} dev eth0 proto bird` : undefined;
  }

  function host(node: CniNode, cluster: CniCluster): HostNetwork {
    const commands: HostCommand[] = [];
    // calico-node assigns every node its tunnel address at start-up, before pods.
    if (mode !== 'none') {
      if (tunnelGeneration !== ipam.generation) {
        tunnelled.clear();
        tunnelGeneration = ipam.generation;
      }
      for (const n of cluster.nodes.values()) {
        if (tunnelled.has(n.name)) continue;
        if (ipam.ensureTunnelAddress(n.name) !== undefined) tunnelled.add(n.name);
      }
    }
    const tunnel = ipam.tunnelAddress(node.name);
    if (mode === 'ipip') {
      // Loading the ipip module creates tunl0 in every namespace; Felix then sets it up (and
      // ignores EEXIST from its own `ip link add`). Written as the add the model needs.
      commands.push('ip link add tunl0 type ipip', `ip link set tunl0 mtu ${nicMtu - IPIP_OVERHEAD} up`);
      if (tunnel) commands.push(`ip addr add ${tunnel}/32 dev tunl0`);
    } else if (mode === 'vxlan') {
      commands.push(
        `ip link add vxlan.calico address ${calicoVtepMac(node.name)} mtu ${nicMtu - VXLAN_OVERHEAD} type vxlan id ${CALICO_VXLAN_VNI} local ${node.internalIP} dev eth0 dstport ${CALICO_VXLAN_PORT} nolearning`,
        'ip link set vxlan.calico up',
      );
      if (tunnel) commands.push(`ip addr add ${tunnel}/32 dev vxlan.calico`);
    }
    // The node's own blocks: BIRD's static blackhole (exported by BGP), or Felix's in VXLAN mode.
    for (const block of ipam.affineBlocks(node.name)) if (!block.includes(':')) commands.push(`ip route add blackhole ${block} proto ${mode === 'vxlan' ? '80' : 'bird'}`);
    const byName = new Map<string, CniNode>();
    for (const remote of cluster.nodes.values()) {
      byName.set(remote.name, remote);
      if (remote.name === node.name) continue;
      if (mode === 'vxlan') {
        const vtep = ipam.tunnelAddress(remote.name);
        if (!vtep) continue;
        const mac = calicoVtepMac(remote.name);
        commands.push(`ip neigh replace ${vtep} lladdr ${mac} dev vxlan.calico nud permanent`, `bridge fdb replace ${mac} dev vxlan.calico dst ${remote.internalIP}`);
      }
      for (const block of ipam.affineBlocks(remote.name)) {
        if (block.includes(':')) continue;
        const r = remoteRoute(node, remote, block);
        if (r) commands.push(r);
      }
    }
    // Addresses borrowed from another node's block are advertised as /32s by the node using them.
    for (const { ip, node: holder } of ipam.borrowed()) {
      if (holder === node.name || ip.includes(':')) continue;
      const remote = byName.get(holder);
      const r = remote && remoteRoute(node, remote, ip);
      if (r) commands.push(r);
    }
    return { commands, iptables: pool ? renderCalicoNat(pool, mode, natOutgoing) : '' };
  }

  function pod(p: CniPod, _node: CniNode, _cluster: CniCluster, netns: string): PodNetwork {
    const veth = calicoVethName(p.namespace, p.name);
    const ip = p.ips.find((a) => !a.includes(':'));
    if (!ip) return { netns, host: [], pod: [], hostInterface: veth };
    return {
      netns,
      hostInterface: veth,
      host: [
        `ip link add ${veth} address ${CALICO_HOST_VETH_MAC} mtu ${vethMtu} type veth peer name eth0 mtu ${vethMtu} netns ${netns}`,
        // configureSysctls: proxy ARP answers the pod's ARP for 169.254.1.1; the link forwards.
        `sysctl -w net.ipv4.conf.${veth}.proxy_arp=1`,
        `sysctl -w net.ipv4.conf.${veth}.forwarding=1`,
        `ip link set ${veth} up`,
        `ip route add ${ip} dev ${veth} scope link`,
      ],
      pod: ['ip link set eth0 up', `ip addr add ${ip}/32 dev eth0`, `ip route add ${CALICO_POD_GATEWAY} dev eth0 scope link`, `ip route add default via ${CALICO_POD_GATEWAY} dev eth0`],
    };
  }

  return {
    name: 'calico',
    mode,
    ipam,
    vpcNative: false,
    enforcesNetworkPolicy: true,
    host,
    pod,
    hostInterfaceName: (p: CniPod) => calicoVethName(p.namespace, p.name),
    hostPortRules: (node, cluster) => renderPortmap(cluster.podsOn(node.name), node, { networkName: 'k8s-pod-network', podPrefixLength: 32 }),
  };
}

/**
 * Felix's nat-table chains for outgoing traffic. Upstream matches the pools with ipsets
 * (`-m set --match-set cali40masq-ipam-pools src -m set ! --match-set cali40all-ipam-pools dst`);
 * with one pool that is `-s POOL ! -d POOL`, written so because HostNetwork carries no ipsets.
 * The comment hashes are Felix's rule IDs: Z-c7…, nYKh…, flqW… and e9dn… (vxlan.calico) were seen
 * in iptables-save dumps; O3lY… (the POSTROUTING hook) and SXWv… (tunl0) are from memory [U].
 */
export function renderCalicoNat(pool: string, mode: CalicoMode, natOutgoing: boolean): string {
  const tunnelDev = mode === 'ipip' ? 'tunl0' : mode === 'vxlan' ? 'vxlan.calico' : undefined;
  const tunnelId = mode === 'ipip' ? 'SXWvdsbh4Mw7wOln' : 'e9dnSgSVNmIcpVhP';
  return [
    '*nat',
    // Built-in chains are declared so the payload also loads alone; --noflush keeps their rules.
    ':POSTROUTING ACCEPT [0:0]',
    ':cali-POSTROUTING - [0:0]',
    ':cali-fip-snat - [0:0]',
    ':cali-nat-outgoing - [0:0]',
    // Felix inserts its hooks at the top of the built-in chains (ChainInsertMode insert).
    '-I POSTROUTING 1 -m comment --comment "cali:O3lYWMrLQYEMJtB5" -j cali-POSTROUTING',
    '-A cali-POSTROUTING -m comment --comment "cali:Z-c7XtVd2Bq7s_hA" -j cali-fip-snat',
    '-A cali-POSTROUTING -m comment --comment "cali:nYKhEzDlr11Jccal" -j cali-nat-outgoing',
    // Host-originated traffic into the tunnel takes the tunnel address as its source.
    ...(tunnelDev
      ? [`-A cali-POSTROUTING -o ${tunnelDev} -m comment --comment "cali:${tunnelId}" -m addrtype ! --src-type LOCAL --limit-iface-out -m addrtype --src-type LOCAL -j MASQUERADE --random-fully`]
      : []),
    ...(natOutgoing ? [`-A cali-nat-outgoing -s ${pool} ! -d ${pool} -m comment --comment "cali:flqWnvo8yq4ULQLa" -j MASQUERADE --random-fully`] : []),
    'COMMIT',
    '',
  ].join('\n');
}
