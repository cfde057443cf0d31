// Builds each node's data plane on demand, as the node would have it: the base host setup (lo,
// eth0 with the node address, default route via the subnet gateway), then the CNI's commands for
// the host and for each pod sandbox, and the node's netfilter rules (kube-proxy's, then the CNI's
// and portmap's). Hosts are built when a trace first reaches them and kept in a bounded cache.
import type { CniCluster, CniNode, CniPlugin, CniPod } from '../dataplane/cni/types.js';
import { renderPortmap } from '../dataplane/cni/portmap.js';
import type { ClusterKubeProxy } from '../dataplane/kubeproxy/cluster.js';
import { nodeRuleset } from '../dataplane/kubeproxy/save.js';
import { KUBE_IPVS_DEVICE, type IpvsRuleset } from '../dataplane/kubeproxy/ipvs.js';
import { parseIpvsadm, type IpvsNode } from '../dataplane/ipvs/index.js';
import { IpsetStore, Netfilter, parseIpsetSave, type RouteResult, type Ruleset } from '../dataplane/netfilter/index.js';
import { applyRestore, mustParseIptablesSave } from '../dataplane/netfilter/parse.js';
import { applyHostCommand, Network, routeInput, routeOutput, type Namespace, type RouteBranch } from '../dataplane/routing/index.js';
import type { Fabric, FabricNic } from '../dataplane/fabric/fabric.js';
import type { Topology } from '../topology/graph.js';
import type { Packet } from '../net/packet.js';

export const HOST_CACHE_SIZE = 128;

/** The sysctls kube-proxy's IPVS proxier sets on every node (net.ipv4.vs.conntrack, expire_quiescent_template). */
export const KUBE_PROXY_IPVS_SYSCTLS = { conntrack: true, expireQuiescentTemplate: true } as const;

/** Namespace names in the routing model. */
export const nodeNs = (node: string): string => `node/${node}`;
export const podNs = (namespace: string, name: string): string => `pod/${namespace}/${name}`;

export interface Host {
  readonly node: CniNode;
  readonly ns: Namespace;
  readonly netfilter: Netfilter;
  /** kube-proxy's IPVS state on this node (IPVS mode). */
  readonly ipvs?: IpvsRuleset;
  /** The same, read back as the IPVS interpreter's model (what `ipvsadm -Sn` shows). */
  readonly ipvsNode?: IpvsNode;
  /** Pods with a sandbox here, by netns name. */
  readonly pods: ReadonlyMap<string, CniPod>;
  /** Commands the model refused, with why (a CNI route the kernel would refuse too, e.g. a gateway not on-link). */
  readonly refused: readonly string[];
}

export interface HostsOptions {
  readonly plugin: CniPlugin;
  readonly cluster: CniCluster;
  readonly proxy: ClusterKubeProxy;
  readonly proxyMode: 'iptables' | 'ipvs';
  readonly fabric: Fabric;
  readonly topology: Topology;
  readonly cacheSize?: number;
  /** Netfilter evaluation: the compiled fast path (default) or the first-match reference walk. */
  readonly netfilterMode?: 'fast' | 'linear';
}

/** Every node's NICs as the fabric sees them (no host needs building for that). */
export function fabricNics(plugin: CniPlugin, cluster: CniCluster, node: CniNode): FabricNic[] {
  const host = plugin.host(node, cluster);
  const nics: FabricNic[] = [
    { owner: `node/${node.name}`, node: node.name, device: 'eth0', subnet: node.subnet, ...(node.zone ? { zone: node.zone } : {}), addresses: [node.internalIP, ...(host.eth0CloudIps ?? [])] },
  ];
  for (const n of host.nics ?? []) nics.push({ owner: `node/${node.name}`, node: node.name, device: n.name, subnet: n.subnet, ...(node.zone ? { zone: node.zone } : {}), addresses: n.cloudIps });
  for (const pod of cluster.podsOn(node.name)) {
    const pn = plugin.pod(pod, node, cluster, podNs(pod.namespace, pod.name));
    if (pn.nic) nics.push({ owner: `pod/${pod.namespace}/${pod.name}`, node: node.name, device: 'eth0', subnet: pn.nic.subnet, ...(node.zone ? { zone: node.zone } : {}), addresses: pn.nic.cloudIps });
  }
  return nics;
}

export class Hosts {
  readonly network = new Network();
  private readonly cache = new Map<string, Host>();
  /** Built hosts by the name of each namespace they hold (the node's and its pods'). */
  private readonly byNamespace = new Map<string, Host>();
  /** kube-proxy's ruleset per iptables group (shared by the nodes with the same node view). */
  private readonly groupRules = new Map<string, { readonly payload: unknown; readonly ruleset: Ruleset }>();
  private readonly cacheSize: number;

  constructor(private readonly o: HostsOptions) {
    this.cacheSize = o.cacheSize ?? HOST_CACHE_SIZE;
  }

  /** Hosts currently built. */
  get size(): number {
    return this.cache.size;
  }

  host(name: string): Host | undefined {
    const hit = this.cache.get(name);
    if (hit) {
      // Most recently used last.
      this.cache.delete(name);
      this.cache.set(name, hit);
      return hit;
    }
    const node = this.o.cluster.nodes.get(name);
    if (!node) return undefined;
    if (this.cache.size >= this.cacheSize) this.evict();
    const host = this.build(node);
    this.cache.set(name, host);
    this.byNamespace.set(host.ns.name, host);
    for (const pod of host.pods.keys()) this.byNamespace.set(pod, host);
    return host;
  }

  /** Commands refused on the hosts built so far, by node. */
  *refusedCommands(): Iterable<[string, string]> {
    for (const h of this.cache.values()) for (const m of h.refused) yield [h.node.name, m];
  }

  /** The host whose namespace (node or pod) is `nsName`. */
  hostOfNamespace(nsName: string): Host | undefined {
    return this.byNamespace.get(nsName);
  }

  private evict(): void {
    const [oldest, host] = this.cache.entries().next().value as [string, Host];
    this.cache.delete(oldest);
    for (const pod of host.pods.keys()) {
      this.network.deleteNamespace(pod);
      this.o.topology.removePod(pod);
      this.byNamespace.delete(pod);
    }
    this.network.deleteNamespace(host.ns.name);
    this.byNamespace.delete(host.ns.name);
  }

  private build(node: CniNode): Host {
    const { plugin, cluster } = this.o;
    const net = this.network;
    const name = nodeNs(node.name);
    const ns = net.createNamespace(name);
    const refused: string[] = [];
    const apply = (nsName: string, cmds: readonly string[]) => {
      for (const c of cmds) {
        const r = applyHostCommand(net, nsName, c);
        if (!r.ok) refused.push(r.message);
      }
    };
    const hostNet = plugin.host(node, cluster);
    const prefix = node.subnet.split('/')[1];
    // The node's NIC: an `ether` link with no segment — frames leaving it go to the fabric.
    ns.addLink({ name: 'eth0', kind: 'ether', up: true, mtu: this.nicMtu(), cloudIps: hostNet.eth0CloudIps ?? [] });
    for (const nic of hostNet.nics ?? []) ns.addLink({ name: nic.name, kind: 'ether', up: true, mtu: this.nicMtu(), cloudIps: nic.cloudIps, ...(nic.mac ? { mac: nic.mac } : {}) });
    apply(name, [`ip addr add ${node.internalIP}/${prefix} dev eth0`, `ip route add default via ${this.o.fabric.gateway(node.subnet)} dev eth0`]);
    apply(name, hostNet.commands);
    const pods = new Map<string, CniPod>();
    for (const pod of cluster.podsOn(node.name)) {
      const pns = podNs(pod.namespace, pod.name);
      const pn = plugin.pod(pod, node, cluster, pns);
      pods.set(pn.netns, pod);
      this.o.topology.addPod(pn.netns, { node: node.name, ...(pod.ips[0] ? { address: pod.ips[0] } : {}), ...(pn.hostInterface ? { device: pn.hostInterface } : {}), ownNic: !!pn.nic });
      if (pn.nic) {
        // An exclusive ENI: the NIC itself is the pod's eth0.
        if (!net.has(pn.netns)) net.createNamespace(pn.netns, { ipForward: false });
        net.namespace(pn.netns).addLink({ name: 'eth0', kind: 'ether', up: true, mtu: this.nicMtu(), cloudIps: pn.nic.cloudIps, ...(pn.nic.mac ? { mac: pn.nic.mac } : {}) });
      }
      apply(name, pn.host);
      if (!net.has(pn.netns)) net.createNamespace(pn.netns, { ipForward: false });
      apply(pn.netns, pn.pod);
    }

    // Netfilter: kube-proxy's rules, then the CNI's and portmap's payloads.
    let ipvs: IpvsRuleset | undefined;
    let ipvsNode: IpvsNode | undefined;
    let ruleset: Ruleset;
    let ipsets: IpsetStore | undefined;
    if (this.o.proxyMode === 'ipvs') {
      ipvs = this.o.proxy.ipvs(node.name);
      ruleset = ipvs ? nodeRuleset(ipvs.iptables, 'ipvs') : this.emptyRuleset();
      if (ipvs) {
        const r = parseIpsetSave(ipvs.ipsetSaveText);
        if (r.ok) ipsets = r.store;
        // kube-proxy binds every Service address to the kube-ipvs0 dummy device.
        ns.addLink({ name: KUBE_IPVS_DEVICE, kind: 'dummy', up: false });
        for (const a of ipvs.dummyAddresses) ns.addAddress(KUBE_IPVS_DEVICE, a.includes('/') ? a : `${a}/${a.includes(':') ? 128 : 32}`);
        const parsed = parseIpvsadm(ipvs.ipvsadmText, { file: `ipvsadm -Sn on ${node.name}` });
        if (parsed.ok) ipvsNode = { config: parsed.config, sysctls: KUBE_PROXY_IPVS_SYSCTLS };
        else refused.push(...parsed.diagnostics.map((d) => `ipvsadm line ${d.line}: ${d.message}`));
      }
    } else {
      const ipt = this.o.proxy.iptables(node.name);
      if (ipt) {
        let base = this.groupRules.get(ipt.group.key);
        if (!base || base.payload !== ipt.ruleset) {
          base = { payload: ipt.ruleset, ruleset: nodeRuleset(ipt.ruleset, 'iptables') };
          this.groupRules.set(ipt.group.key, base);
        }
        ruleset = base.ruleset;
      } else ruleset = this.emptyRuleset();
    }
    for (const payload of [hostNet.iptables, renderPortmap(cluster.podsOn(node.name), node)]) {
      if (!payload.trim()) continue;
      const r = applyRestore(ruleset, payload, { noflush: true, file: `${plugin.name} rules on ${node.name}` });
      if (r.ok) ruleset = r.ruleset;
      else refused.push(...r.diagnostics.map((d) => `${plugin.name} iptables line ${d.line}: ${d.message}`));
    }
    const interfaces = () =>
      ns.links.map((l) => ({ name: l.name, addresses: l.addresses.map((a) => `${a.address}/${a.len}`) }));
    const netfilter = new Netfilter(ruleset, {
      node: { interfaces: interfaces(), route: (p) => routeFor(ns, p) },
      ...(ipsets ? { ipsets } : {}),
      ...(this.o.netfilterMode ? { mode: this.o.netfilterMode } : {}),
    });
    return { node, ns, netfilter, ...(ipvs ? { ipvs } : {}), ...(ipvsNode ? { ipvsNode } : {}), pods, refused };
  }

  private nicMtu(): number {
    // AWS instances run jumbo frames inside the VPC; elsewhere 1500.
    return this.o.fabric.options.cloud === 'aws' ? 9001 : 1500;
  }

  private emptyRuleset(): Ruleset {
    return mustParseIptablesSave('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n', { family: 4 });
  }
}

/** A route decision for the netfilter evaluator, keeping the routing layer's full branch as `detail`. */
export function routeFor(ns: Namespace, p: Packet): RouteResult | undefined {
  const step = p.inInterface !== undefined ? routeInput(ns, { packet: p }, p.inInterface) : routeOutput(ns, { packet: p }, { strictSource: false });
  const b = step.branches[0];
  if (!b) return undefined;
  if (b.outcome === 'local' || b.outcome === 'broadcast') return { local: true, outInterface: 'lo', detail: b };
  if (b.outcome !== 'forward') return undefined;
  // Netfilter sees the tunnel device as the out interface; the underlay is the routing layer's business.
  const out = b.encap ? b.encap.device : b.outInterface!;
  return { local: false, outInterface: out, ...(b.source ? { source: b.source } : {}), detail: b };
}

/** The routing branch a netfilter outcome left by. */
export function branchOf(route: RouteResult | undefined): RouteBranch | undefined {
  return route?.detail as RouteBranch | undefined;
}

