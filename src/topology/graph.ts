// The cluster's topology as a graph of locations and links (graphology): nodes, the pods on them,
// the network between hosts (LAN or VPC) and the Internet. The tracer reads zones from it and
// checks that every move follows a link; reports draw paths over it.
import { MultiUndirectedGraph } from 'graphology';

export type LocationKind = 'node' | 'pod' | 'fabric' | 'internet';

export interface LocationAttributes {
  readonly kind: LocationKind;
  readonly zone?: string;
  /** The address that names it in the network (node InternalIP, pod IP). */
  readonly address?: string;
  /** A pod's node. */
  readonly node?: string;
  readonly label: string;
}

export type LinkKind = 'veth' | 'nic' | 'uplink' | 'eni';

export interface LinkAttributes {
  readonly kind: LinkKind;
  /** Interface at the source end (the node's side for veth, the NIC for nic). */
  readonly device?: string;
  readonly subnet?: string;
}

export class Topology {
  readonly graph = new MultiUndirectedGraph<LocationAttributes, LinkAttributes>({ allowSelfLoops: false });

  constructor(readonly fabricName: string) {
    this.graph.addNode(fabricName, { kind: 'fabric', label: fabricName === 'vpc' ? 'VPC' : 'network' });
    this.graph.addNode('internet', { kind: 'internet', label: 'Internet' });
    this.graph.addEdge(fabricName, 'internet', { kind: 'uplink' });
  }

  addNode(name: string, attrs: { zone?: string; address: string; subnet: string }): void {
    const key = `node/${name}`;
    if (this.graph.hasNode(key)) return;
    this.graph.addNode(key, { kind: 'node', label: name, address: attrs.address, ...(attrs.zone !== undefined ? { zone: attrs.zone } : {}) });
    this.graph.addEdge(key, this.fabricName, { kind: 'nic', device: 'eth0', subnet: attrs.subnet });
  }

  /** A pod and its link to its node (added as hosts are built: 150,000 pods need not all be in the graph). */
  addPod(key: string, attrs: { node: string; address?: string; device?: string; ownNic?: boolean }): void {
    if (this.graph.hasNode(key)) return;
    const nodeKey = `node/${attrs.node}`;
    const zone = this.graph.hasNode(nodeKey) ? this.graph.getNodeAttribute(nodeKey, 'zone') : undefined;
    this.graph.addNode(key, { kind: 'pod', label: key.slice(4), node: attrs.node, ...(attrs.address ? { address: attrs.address } : {}), ...(zone !== undefined ? { zone } : {}) });
    if (attrs.ownNic) this.graph.addEdge(key, this.fabricName, { kind: 'eni', device: 'eth0' });
    // A veth to the node: every pod but an exclusive-ENI one without a Service veth.
    if ((!attrs.ownNic || attrs.device) && this.graph.hasNode(nodeKey)) this.graph.addEdge(nodeKey, key, { kind: 'veth', ...(attrs.device ? { device: attrs.device } : {}) });
  }

  removePod(key: string): void {
    if (this.graph.hasNode(key)) this.graph.dropNode(key);
  }

  zoneOf(location: string): string | undefined {
    return this.graph.hasNode(location) ? this.graph.getNodeAttribute(location, 'zone') : undefined;
  }

  /** Whether a packet can move between two locations in one link. */
  linked(a: string, b: string): boolean {
    return this.graph.hasNode(a) && this.graph.hasNode(b) && this.graph.areNeighbors(a, b);
  }
}
