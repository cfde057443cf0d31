// The node-independent part of kube-proxy's state for one IP family: the ServicePortMap and the
// EndpointsMap, built from Services and EndpointSlices. One model can feed the proxiers of every node:
// what differs per node (local endpoints, zone, node IP) is applied when a node renders its rules,
// and rendered chunks are cached per "node facts" so nodes that see the same thing share them.
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { cmp, endpointPortKey, endpointsFromSlices, sliceServiceKey, type EndpointInfo } from './endpoints.js';
import { cidrContains, parseCIDR, parseIP, type IPFamily } from './ip.js';
import { servicePortInfos, usesClusterEndpoints, usesLocalEndpoints, type ServicePortInfo } from './serviceport.js';

export interface PortEntry {
  readonly info: ServicePortInfo;
  /** Sorted by "ip:port"; empty when the port has no endpoints. */
  readonly endpoints: readonly EndpointInfo[];
  /** The rules depend on which endpoints run on the node (a Local traffic policy is in use). */
  readonly dependsOnLocal: boolean;
  /** Every ready endpoint has a zone hint: the node's zone picks the endpoints. */
  readonly dependsOnZone: boolean;
  /** Every ready endpoint has a node hint (PreferSameNode). */
  readonly dependsOnNodeHints: boolean;
  /** A firewall chain may allow the node's own IP. */
  readonly dependsOnNodeIP: boolean;
  /** Rendered chunks by node-facts key; owned by the renderers. */
  readonly chunks: Map<string, unknown>;
}

export interface ServiceEntry {
  /** `namespace/name`. */
  readonly key: string;
  /** Bumped whenever the ports or endpoints change by value. */
  readonly version: number;
  readonly ports: readonly PortEntry[];
  readonly service: Service;
  readonly slices: readonly EndpointSlice[];
  /** Value signature of `ports`, to tell real changes from no-op object updates. */
  readonly signature: string;
}

export interface ServiceModelOptions {
  /** The PreferSameTrafficDistribution feature gate (node hints). Default true. */
  preferSameTrafficDistribution?: boolean;
}

function setKey(s: ReadonlySet<string> | undefined): string {
  return s ? [...s].sort().join(',') : '';
}

function signature(ports: readonly PortEntry[]): string {
  const parts: string[] = [];
  for (const p of ports) {
    const i = p.info;
    parts.push(
      JSON.stringify([
        i.key, i.clusterIP, i.port, i.nodePort, i.externalIPs, i.loadBalancerVIPs, i.loadBalancerSourceRanges,
        i.sessionAffinityClientIP, i.stickyMaxAgeSeconds, i.healthCheckNodePort, i.externalPolicyLocal,
        i.internalPolicyLocal, i.targetPort,
      ]),
    );
    for (const e of p.endpoints) {
      parts.push(
        `${e.endpoint}|${e.nodeName ?? ''}|${e.zone ?? ''}|${+e.ready}${+e.serving}${+e.terminating}|${setKey(e.zoneHints)}|${setKey(e.nodeHints)}`,
      );
    }
  }
  return parts.join('\n');
}

function sameSlices(a: readonly EndpointSlice[], b: readonly EndpointSlice[]): boolean {
  if (a.length !== b.length) return false;
  if (a.every((s, i) => s === b[i])) return true;
  const set = new Set(a);
  return b.every((s) => set.has(s));
}

export class ServiceModel {
  readonly family: IPFamily;
  readonly preferSameTrafficDistribution: boolean;
  private readonly entries = new Map<string, ServiceEntry>();
  private sortedKeys: string[] | undefined;
  /** Ports whose rules depend on the node (Local policy, hints, firewall self-allowance), in render order. */
  private nodeDependent: PortEntry[] | undefined;
  private endpointTotal = 0;
  private nextVersion = 1;

  constructor(family: IPFamily = 'IPv4', opts: ServiceModelOptions = {}) {
    this.family = family;
    this.preferSameTrafficDistribution = opts.preferSameTrafficDistribution ?? true;
  }

  /** Replace the whole state; returns the keys of Services whose ports or endpoints changed. */
  update(services: readonly Service[], slices: readonly EndpointSlice[]): string[] {
    const byService = new Map<string, EndpointSlice[]>();
    for (const s of slices) {
      const key = sliceServiceKey(s);
      if (key === undefined) continue;
      let list = byService.get(key);
      if (!list) byService.set(key, (list = []));
      list.push(s);
    }
    const changed: string[] = [];
    const seen = new Set<string>();
    for (const svc of services) {
      const key = `${svc.metadata?.namespace ?? 'default'}/${svc.metadata?.name ?? ''}`;
      seen.add(key);
      if (this.setService(key, svc, byService.get(key) ?? [])) changed.push(key);
    }
    for (const key of [...this.entries.keys()]) {
      if (!seen.has(key) && this.setService(key, undefined, [])) changed.push(key);
    }
    return changed;
  }

  /**
   * Set one Service (undefined: deleted) and the EndpointSlices labelled with its name.
   * Returns true when its ports or endpoints changed by value (what makes a partial sync rewrite it).
   */
  setService(key: string, service: Service | undefined, slices: readonly EndpointSlice[]): boolean {
    const old = this.entries.get(key);
    if (!service) {
      if (!old) return false;
      this.removeEntry(old);
      return true;
    }
    if (old && old.service === service && sameSlices(old.slices, slices)) return false;
    const ports = this.buildPorts(service, slices);
    const sig = signature(ports);
    if (old && old.signature === sig) {
      // Same content: keep the old entry (and its rendered chunks), refresh the object references.
      this.entries.set(key, { ...old, service, slices: [...slices] });
      return false;
    }
    if (old) this.removeEntry(old);
    if (ports.length === 0 && !old) {
      // Not proxied in this family (headless, ExternalName, other family): remember nothing.
      return false;
    }
    if (ports.length === 0) return true;
    const entry: ServiceEntry = { key, version: this.nextVersion++, ports, service, slices: [...slices], signature: sig };
    this.entries.set(key, entry);
    this.sortedKeys = undefined;
    this.nodeDependent = undefined;
    for (const p of ports) this.endpointTotal += p.endpoints.length;
    return true;
  }

  private removeEntry(entry: ServiceEntry): void {
    this.entries.delete(entry.key);
    this.sortedKeys = undefined;
    this.nodeDependent = undefined;
    for (const p of entry.ports) this.endpointTotal -= p.endpoints.length;
  }

  private buildPorts(service: Service, slices: readonly EndpointSlice[]): PortEntry[] {
    const infos = servicePortInfos(service, this.family);
    if (infos.length === 0) return [];
    const eps = endpointsFromSlices(slices, this.family, this.preferSameTrafficDistribution);
    const ports = infos.map((info) => this.portEntry(info, eps.get(endpointPortKey(info.portName, info.protocol)) ?? []));
    // Upstream iterates a Go map; we render a Service's ports by name, then protocol.
    return ports.sort((a, b) => cmp(a.info.portName, b.info.portName) || cmp(a.info.protocol, b.info.protocol));
  }

  private portEntry(info: ServicePortInfo, endpoints: EndpointInfo[]): PortEntry {
    const ready = endpoints.filter((e) => e.ready);
    const cluster = usesClusterEndpoints(info);
    return {
      info,
      endpoints,
      dependsOnLocal: usesLocalEndpoints(info) && endpoints.length > 0,
      dependsOnZone: cluster && ready.length > 0 && ready.every((e) => e.zoneHints !== undefined),
      dependsOnNodeHints:
        this.preferSameTrafficDistribution && cluster && ready.length > 0 && ready.every((e) => e.nodeHints !== undefined),
      dependsOnNodeIP: info.loadBalancerVIPs.length > 0 && info.loadBalancerSourceRanges.length > 0,
      chunks: new Map(),
    };
  }

  get(key: string): ServiceEntry | undefined {
    return this.entries.get(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Service keys in render order (namespace/name, byte-wise). */
  keys(): readonly string[] {
    if (!this.sortedKeys) this.sortedKeys = [...this.entries.keys()].sort(cmp);
    return this.sortedKeys;
  }

  /** The ports whose rules differ from node to node, in render order (most clusters: none). */
  nodeDependentPorts(): readonly PortEntry[] {
    if (!this.nodeDependent) {
      const out: PortEntry[] = [];
      for (const key of this.keys()) {
        for (const port of this.entries.get(key)!.ports) {
          if (port.dependsOnLocal || port.dependsOnZone || port.dependsOnNodeHints || port.dependsOnNodeIP) out.push(port);
        }
      }
      this.nodeDependent = out;
    }
    return this.nodeDependent;
  }

  /** Sum of endpoints over all service ports (decides large-cluster mode). */
  get totalEndpoints(): number {
    return this.endpointTotal;
  }
}

/** What about a node one service port's rules depend on, as a short string ('' for nothing). */
export function nodeFacts(port: PortEntry, nodeName: string, zone: string | undefined, nodeIP: string | undefined): string {
  let out = '';
  if (port.dependsOnLocal) {
    const idx: number[] = [];
    port.endpoints.forEach((e, i) => {
      if (nodeName !== '' && e.nodeName === nodeName) idx.push(i);
    });
    out += `L${idx.join(',')};`;
  }
  if (port.dependsOnNodeHints) {
    const idx: number[] = [];
    port.endpoints.forEach((e, i) => {
      if (e.nodeHints?.has(nodeName)) idx.push(i);
    });
    out += `N${idx.join(',')};`;
  }
  if (port.dependsOnZone) out += `Z${zone ?? ''};`;
  if (port.dependsOnNodeIP) out += `F${allowsNode(port.info, nodeIP) ? 1 : 0};`;
  return out;
}

/** A loadBalancerSourceRange contains the node's primary IP. */
export function allowsNode(info: ServicePortInfo, nodeIP: string | undefined): boolean {
  if (!nodeIP) return false;
  const ip = parseIP(nodeIP);
  return info.loadBalancerSourceRanges.some((r) => {
    const c = parseCIDR(r);
    return c !== undefined && cidrContains(c, ip);
  });
}
