// Everything a trace needs from a converged cluster: the CNI's view of nodes and pods, the fabric
// between hosts, kube-proxy's rules, the NetworkPolicy index and the lazily built hosts. One session
// answers many traces of the same cluster state.
import type { Namespace as K8sNamespace, Node, Pod } from 'kubernetes-types/core/v1.js';
import type { NetworkPolicy } from 'kubernetes-types/networking/v1.js';
import type { Stored } from '../cluster/object.js';
import type { Store } from '../cluster/store.js';
import type { CniCluster, CniPlugin } from '../dataplane/cni/types.js';
import { Fabric, type Cloud } from '../dataplane/fabric/fabric.js';
import { ClusterKubeProxy } from '../dataplane/kubeproxy/cluster.js';
import { buildPolicyIndex, type PolicyIndex } from '../policy/index.js';
import { makePacket, type L4Protocol } from '../net/packet.js';
import { cniClusterView } from './cni-view.js';
import { fabricNics, Hosts } from './hosts.js';
import { mergePaths, Tracer, type Start } from './tracer.js';
import type { TracePath } from './types.js';
import { routeOutput } from '../dataplane/routing/index.js';
import { Topology } from '../topology/graph.js';

export interface SessionOptions {
  readonly store: Store;
  readonly plugin: CniPlugin;
  readonly cloud: Cloud;
  readonly clusterCIDRs: readonly string[];
  readonly serviceCIDRs: readonly string[];
  /** The subnets the profile's nodes sit in. */
  readonly subnets: readonly string[];
  readonly kubeProxy: { readonly mode: 'iptables' | 'ipvs'; readonly masqueradeAll?: boolean; readonly ipvsScheduler?: string };
  /** Whether NetworkPolicy is enforced (default: whether the CNI enforces it). */
  readonly enforcePolicy?: boolean;
  readonly hostCacheSize?: number;
  readonly netfilterMode?: 'fast' | 'linear';
}

/** A packet to trace: protocol, destination, optional source port. */
export interface Flow {
  readonly proto: L4Protocol;
  readonly dst: string;
  readonly dport: number;
  readonly sport?: number;
  /** Source address for an external start. */
  readonly src?: string;
  /** IP TTL the packet starts with (default 64). */
  readonly ttl?: number;
}

export const DEFAULT_SPORT = 40000;

export class TraceSession {
  readonly cluster: CniCluster;
  readonly fabric: Fabric;
  readonly topology: Topology;
  readonly proxy: ClusterKubeProxy;
  readonly hosts: Hosts;
  readonly policy: PolicyIndex;
  readonly enforcePolicy: boolean;
  /** Model inconsistencies met by traces so far (shown as warnings). */
  readonly problems = new Set<string>();
  private readonly pods = new Map<string, Pod>();
  private readonly hostNet = new Map<string, Pod[]>();

  constructor(readonly o: SessionOptions) {
    const { store, plugin } = o;
    this.cluster = cniClusterView(store, { clusterCIDRs: o.clusterCIDRs, serviceCIDRs: o.serviceCIDRs, subnets: o.subnets });
    // The fabric: every node NIC and the addresses the cloud delivers to it, and the VPC routes.
    this.fabric = new Fabric({ cloud: o.cloud, vpcCIDRs: o.cloud === 'none' ? [] : plugin.vpcNative ? o.clusterCIDRs : [...o.subnets] });
    for (const node of this.cluster.nodes.values()) {
      if (plugin.vpcNative) for (const nic of fabricNics(plugin, this.cluster, node)) this.fabric.addNic(nic);
      else this.fabric.addNic({ owner: `node/${node.name}`, node: node.name, device: 'eth0', subnet: node.subnet, ...(node.zone ? { zone: node.zone } : {}), addresses: [node.internalIP] });
    }
    for (const r of plugin.vpcRoutes?.(this.cluster) ?? []) this.fabric.addRoute(r);
    this.topology = new Topology(o.cloud === 'none' ? 'network' : 'vpc');
    for (const node of this.cluster.nodes.values()) this.topology.addNode(node.name, { address: node.internalIP, subnet: node.subnet, ...(node.zone ? { zone: node.zone } : {}) });
    this.proxy = new ClusterKubeProxy(store, {
      mode: o.kubeProxy.mode,
      masqueradeAll: o.kubeProxy.masqueradeAll ?? false,
      ...(o.kubeProxy.ipvsScheduler ? { ipvsScheduler: o.kubeProxy.ipvsScheduler } : {}),
      clusterCIDRs: o.clusterCIDRs,
    });
    this.proxy.sync();
    this.hosts = new Hosts({ plugin, cluster: this.cluster, proxy: this.proxy, proxyMode: o.kubeProxy.mode, fabric: this.fabric, topology: this.topology, ...(o.hostCacheSize ? { cacheSize: o.hostCacheSize } : {}), ...(o.netfilterMode ? { netfilterMode: o.netfilterMode } : {}) });
    const pods = store.list<Stored<Pod>>('Pod');
    for (const p of pods) {
      this.pods.set(`${p.metadata.namespace}/${p.metadata.name}`, p);
      if (p.spec?.hostNetwork && p.spec.nodeName) {
        const list = this.hostNet.get(p.spec.nodeName) ?? [];
        list.push(p);
        this.hostNet.set(p.spec.nodeName, list);
      }
    }
    this.policy = buildPolicyIndex({
      policies: store.list<Stored<NetworkPolicy>>('NetworkPolicy'),
      pods,
      namespaces: store.list<Stored<K8sNamespace>>('Namespace'),
      nodes: store.list<Stored<Node>>('Node'),
    });
    this.enforcePolicy = o.enforcePolicy ?? plugin.enforcesNetworkPolicy;
  }

  pod(namespace: string, name: string): Pod | undefined {
    return this.pods.get(`${namespace}/${name}`);
  }

  /** Every path (exact), or `samples` sampled paths merged into frequencies. */
  trace(start: Start, flow: Flow, options: { samples?: number; random?: () => number } = {}): TracePath[] {
    const packet = makePacket({ src: this.sourceAddress(start, flow), dst: flow.dst, proto: flow.proto, sport: flow.sport ?? DEFAULT_SPORT, dport: flow.dport, ...(flow.ttl !== undefined ? { ttl: flow.ttl } : {}) });
    const base = {
      hosts: this.hosts,
      fabric: this.fabric,
      topology: this.topology,
      policy: this.policy,
      enforcePolicy: this.enforcePolicy,
      cniName: this.o.plugin.name,
      pod: (ns: string, n: string) => this.pod(ns, n),
      hostNetworkPods: (node: string) => this.hostNet.get(node) ?? [],
    };
    if (!options.samples) {
      const tracer = new Tracer(base);
      const paths = mergePaths(tracer.walk(start, packet));
      for (const p of tracer.problems) this.problems.add(p);
      return paths;
    }
    const tracer = new Tracer({ ...base, random: options.random! });
    const drawn: TracePath[] = [];
    for (let i = 0; i < options.samples; i++) {
      for (const p of tracer.walk(start, packet)) drawn.push({ ...p, probability: 1 / options.samples, probabilityExact: `1/${options.samples}` });
    }
    for (const p of tracer.problems) this.problems.add(p);
    return mergePaths(drawn);
  }

  /** The address a packet from `start` carries: the pod IP, the node's chosen source, or the given external one. */
  sourceAddress(start: Start, flow: Flow): string {
    const family = flow.dst.includes(':') ? 6 : 4;
    if (start.kind === 'pod') {
      const pod = this.pod(start.namespace, start.name);
      const ips = (pod?.status?.podIPs ?? []).map((p) => p.ip!);
      const ip = ips.find((a) => (a.includes(':') ? 6 : 4) === family);
      if (!ip) throw new Error(`pod ${start.namespace}/${start.name} has no IPv${family} address`);
      return ip;
    }
    if (start.kind === 'node') {
      const host = this.hosts.host(start.node);
      if (!host) throw new Error(`no node ${start.node}`);
      const probe = makePacket({ src: family === 4 ? '0.0.0.0' : '::', dst: flow.dst, proto: flow.proto, sport: 1, dport: flow.dport });
      const b = routeOutput(host.ns, { packet: probe }).branches[0];
      return b?.source ?? this.cluster.nodes.get(start.node)!.internalIP;
    }
    return flow.src ?? (family === 4 ? '203.0.113.10' : '2001:db8::10');
  }
}

