// Cluster state → every node's kube-proxy rules. One ServiceModel holds the node-independent state
// (Services and EndpointSlices from the store); nodes whose iptables node-view keys are equal get one
// IptablesProxier and one rendering, shared rather than copied per node. Each sync hands the model's
// changes to the proxiers as partial syncs, so only the Services that changed are rewritten.
import type { Node, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Store } from '../../cluster/store.js';
import { formatIP, parseIP, type IPFamily } from './ip.js';
import type { IptablesRuleset } from './iptables-types.js';
import { IptablesProxier, iptablesNodeViewKey, type IptablesSyncResult } from './iptables.js';
import { renderIpvs, type IpvsRuleset } from './ipvs.js';
import { ServiceModel } from './model.js';
import type { NodeView, ProxierEnvironment } from './nodeview.js';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';

/** What the Profile says about kube-proxy and the pod network (structurally `Profile.kubeProxy` + CIDRs). */
export interface ClusterProxyConfig {
  readonly mode: 'iptables' | 'ipvs' | 'nftables';
  readonly masqueradeAll?: boolean;
  /** --ipvs-scheduler; default rr. */
  readonly ipvsScheduler?: string;
  /** --cluster-cidr: the ClusterCIDR local-traffic detector (kube-proxy's default detect-local mode). */
  readonly clusterCIDRs: readonly string[];
  /** The IP family rendered; default: the family of the first cluster CIDR, else IPv4. */
  readonly family?: IPFamily;
  readonly env?: ProxierEnvironment;
}

/** One distinct iptables rendering and the nodes that share it. */
export interface IptablesGroup {
  /** The node-view key (see iptablesNodeViewKey). */
  readonly key: string;
  readonly proxier: IptablesProxier;
  /** Names of the nodes that get exactly these rules, sorted. */
  readonly nodes: readonly string[];
  /** What the last sync of this group wrote. */
  readonly lastSync: IptablesSyncResult;
}

export interface NodeIptables {
  readonly node: NodeView;
  readonly group: IptablesGroup;
  /** The whole ruleset as it stands in the kernel (the same object for every node of the group). */
  readonly ruleset: IptablesRuleset;
}

export interface ClusterProxySyncResult {
  /** Services (`namespace/name`) whose ports or endpoints changed since the previous sync. */
  readonly changedServices: readonly string[];
  /** Distinct iptables renderings after the sync. */
  readonly groups: number;
  /** Per group synced: whether the sync was full and which Services it rewrote. */
  readonly synced: readonly { readonly nodes: readonly string[]; readonly full: boolean; readonly writtenServices: readonly string[] }[];
}

/** The node's own addresses as kube-proxy sees them: InternalIP addresses of the family, in order. */
export function nodeAddresses(node: Node, family: IPFamily): string[] {
  const out: string[] = [];
  for (const a of node.status?.addresses ?? []) {
    if (a.type !== 'InternalIP') continue;
    const ip = parseIP(a.address);
    if (ip && ip.family === family) out.push(formatIP(ip));
  }
  return out;
}

/** The NodeView of one Node: name, addresses, zone label, pod CIDRs, and the Profile's detector settings. */
export function nodeViewOf(node: Node, config: ClusterProxyConfig): NodeView {
  const family = familyOf(config);
  const zone = node.metadata?.labels?.[ZONE_LABEL];
  // Deliberately simplified: the node's interface addresses are its InternalIPs (no ExternalIP, no CNI bridge address).
  return {
    nodeName: node.metadata?.name ?? '',
    nodeIPs: nodeAddresses(node, family),
    ...(zone !== undefined ? { zone } : {}),
    detectLocalMode: 'ClusterCIDR',
    clusterCIDR: config.clusterCIDRs,
    ...(node.spec?.podCIDRs ? { podCIDRs: node.spec.podCIDRs } : {}),
    masqueradeAll: config.masqueradeAll ?? false,
  };
}

function familyOf(config: ClusterProxyConfig): IPFamily {
  if (config.family) return config.family;
  const first = config.clusterCIDRs[0];
  return first !== undefined && first.includes(':') ? 'IPv6' : 'IPv4';
}

interface NodeEntry {
  readonly object: Node;
  readonly view: NodeView;
  key: string;
}

interface MutableGroup {
  key: string;
  proxier: IptablesProxier;
  nodes: string[];
  lastSync: IptablesSyncResult;
}

/**
 * kube-proxy on every node of a cluster. Call `sync()` after the store changes (it reads the current
 * Services, EndpointSlices and Nodes), then ask for a node's rules.
 */
export class ClusterKubeProxy {
  readonly model: ServiceModel;
  readonly family: IPFamily;
  private readonly env: ProxierEnvironment;
  private nodes = new Map<string, NodeEntry>();
  private groups = new Map<string, MutableGroup>();
  private byNode = new Map<string, MutableGroup>();
  private readonly ipvsCache = new Map<string, { object: Node; modelState: number; ruleset: IpvsRuleset }>();
  /** Bumped on every sync that changed the model (IPVS renderings are cached per state). */
  private modelState = 0;
  private synced = false;

  constructor(
    private readonly store: Store,
    readonly config: ClusterProxyConfig,
  ) {
    this.family = familyOf(config);
    this.env = { ...config.env, ipFamily: this.family };
    this.model = new ServiceModel(this.family, {
      ...(config.env?.preferSameTrafficDistribution !== undefined ? { preferSameTrafficDistribution: config.env.preferSameTrafficDistribution } : {}),
    });
  }

  /** Read the store and bring every node's rules up to date. */
  sync(): ClusterProxySyncResult {
    const services = this.store.list('Service') as unknown as Service[];
    const slices = this.store.list('EndpointSlice') as unknown as EndpointSlice[];
    const changedServices = this.model.update(services, slices);
    const modelChanged = changedServices.length > 0 || !this.synced;
    if (modelChanged) this.modelState++;
    this.synced = true;

    // Node views and keys; a key is recomputed only when the model or the Node changed.
    const nodes = new Map<string, NodeEntry>();
    for (const object of this.store.list('Node') as unknown as Node[]) {
      const name = object.metadata?.name ?? '';
      const old = this.nodes.get(name);
      if (old && old.object === object && !modelChanged) {
        nodes.set(name, old);
        continue;
      }
      const view = old && old.object === object ? old.view : nodeViewOf(object, this.config);
      nodes.set(name, { object, view, key: iptablesNodeViewKey(this.model, view, this.env) });
    }
    this.nodes = nodes;

    // Existing renderings are re-keyed under the new model (their rules follow their own node view).
    const groups = new Map<string, MutableGroup>();
    for (const g of this.groups.values()) {
      const key = modelChanged ? g.proxier.nodeViewKey() : g.key;
      if (!groups.has(key)) groups.set(key, { ...g, key, nodes: [] });
    }
    const fresh = new Set<MutableGroup>();
    for (const [name, entry] of nodes) {
      let g = groups.get(entry.key);
      if (!g) {
        const proxier = new IptablesProxier(this.model, entry.view, this.env);
        g = { key: entry.key, proxier, nodes: [], lastSync: proxier.sync({ full: true }) };
        groups.set(entry.key, g);
        fresh.add(g);
      }
      g.nodes.push(name);
    }
    const synced: { nodes: readonly string[]; full: boolean; writtenServices: readonly string[] }[] = [];
    this.byNode = new Map();
    for (const [key, g] of [...groups]) {
      if (g.nodes.length === 0) {
        groups.delete(key);
        continue;
      }
      g.nodes.sort();
      if (!fresh.has(g) && modelChanged) g.lastSync = g.proxier.sync();
      if (fresh.has(g) || modelChanged) synced.push({ nodes: g.nodes, full: g.lastSync.full, writtenServices: g.lastSync.writtenServices });
      for (const n of g.nodes) this.byNode.set(n, g);
    }
    this.groups = groups;
    for (const name of [...this.ipvsCache.keys()]) if (!nodes.has(name)) this.ipvsCache.delete(name);
    return { changedServices, groups: groups.size, synced };
  }

  /** Node names, sorted. */
  nodeNames(): string[] {
    return [...this.nodes.keys()].sort();
  }

  nodeView(name: string): NodeView | undefined {
    return this.nodes.get(name)?.view;
  }

  /** Distinct iptables renderings and the nodes sharing each. */
  iptablesGroups(): readonly IptablesGroup[] {
    return [...this.groups.values()];
  }

  /** The node's iptables-mode rules; undefined for an unknown node. */
  iptables(nodeName: string): NodeIptables | undefined {
    this.ensureSynced();
    const entry = this.nodes.get(nodeName);
    const group = this.byNode.get(nodeName);
    if (!entry || !group) return undefined;
    return { node: entry.view, group, ruleset: group.proxier.current() };
  }

  /**
   * The node's IPVS-mode state. IPVS rules depend on the node's own endpoints (the KUBE-LOOP-BACK
   * set) and addresses, so they are rendered per node, and cached until the model or the Node changes.
   */
  ipvs(nodeName: string): IpvsRuleset | undefined {
    this.ensureSynced();
    const entry = this.nodes.get(nodeName);
    if (!entry) return undefined;
    const cached = this.ipvsCache.get(nodeName);
    if (cached && cached.object === entry.object && cached.modelState === this.modelState) return cached.ruleset;
    const ruleset = renderIpvs(this.model, entry.view, { ...this.env, ...(this.config.ipvsScheduler ? { scheduler: this.config.ipvsScheduler } : {}) });
    this.ipvsCache.set(nodeName, { object: entry.object, modelState: this.modelState, ruleset });
    return ruleset;
  }

  private ensureSynced(): void {
    if (!this.synced) this.sync();
  }
}
