// CategorizeEndpoints (pkg/proxy/topology.go): which endpoints this node uses for Cluster and for
// Local traffic policy, honouring topology hints and falling back to serving+terminating endpoints.
import type { EndpointInfo } from './endpoints.js';
import { usesClusterEndpoints, usesLocalEndpoints, type ServicePortInfo } from './serviceport.js';

export type TopologyMode = '' | 'PreferSameZone' | 'PreferSameNode';

export interface CategorizedEndpoints {
  readonly cluster: readonly EndpointInfo[];
  readonly local: readonly EndpointInfo[];
  /** The union of the two: the endpoints that get a KUBE-SEP chain on this node. */
  readonly allReachable: readonly EndpointInfo[];
  /** The service has usable endpoints somewhere in the cluster. */
  readonly hasAny: boolean;
  readonly topologyMode: TopologyMode;
}

export interface TopologyNode {
  readonly nodeName: string;
  /** The node's `topology.kubernetes.io/zone` label. */
  readonly zone: string | undefined;
  /** The PreferSameTrafficDistribution feature gate (enables node hints). */
  readonly preferSameTrafficDistribution: boolean;
}

export function isLocalEndpoint(ep: EndpointInfo, nodeName: string): boolean {
  return nodeName !== '' && ep.nodeName === nodeName;
}

export function topologyModeFromHints(endpoints: readonly EndpointInfo[], node: TopologyNode): TopologyMode {
  let hasForNode = false;
  let allNodeHints = true;
  let hasForZone = false;
  let allZoneHints = true;
  const zone = node.zone ?? '';
  for (const ep of endpoints) {
    if (!ep.ready) continue;
    if (!ep.nodeHints || ep.nodeHints.size === 0) allNodeHints = false;
    else if (ep.nodeHints.has(node.nodeName)) hasForNode = true;
    if (!ep.zoneHints || ep.zoneHints.size === 0) allZoneHints = false;
    else if (ep.zoneHints.has(zone)) hasForZone = true;
  }
  if (node.preferSameTrafficDistribution && allNodeHints && hasForNode) return 'PreferSameNode';
  if (allZoneHints && hasForZone) return 'PreferSameZone';
  return '';
}

function availableForTopology(ep: EndpointInfo, mode: TopologyMode, node: TopologyNode): boolean {
  switch (mode) {
    case '':
      return true;
    case 'PreferSameNode':
      return ep.nodeHints?.has(node.nodeName) ?? false;
    case 'PreferSameZone':
      return ep.zoneHints?.has(node.zone ?? '') ?? false;
  }
}

export function categorizeEndpoints(
  endpoints: readonly EndpointInfo[],
  info: ServicePortInfo,
  node: TopologyNode,
): CategorizedEndpoints {
  let mode: TopologyMode = '';
  let cluster: EndpointInfo[] = [];
  let local: EndpointInfo[] = [];
  let hasAny = false;
  let useServingTerminating = false;
  const usesCluster = usesClusterEndpoints(info);

  if (usesCluster) {
    mode = topologyModeFromHints(endpoints, node);
    cluster = endpoints.filter((ep) => ep.ready && availableForTopology(ep, mode, node));
    // No ready endpoint anywhere (topology never empties the list): fall back to terminating ones.
    if (cluster.length === 0) cluster = endpoints.filter((ep) => ep.serving && ep.terminating);
    if (cluster.length > 0) hasAny = true;
  }

  if (!usesLocalEndpoints(info)) return { cluster, local, allReachable: cluster, hasAny, topologyMode: mode };

  let hasLocalReady = false;
  let hasLocalServingTerminating = false;
  for (const ep of endpoints) {
    if (ep.ready) {
      hasAny = true;
      if (isLocalEndpoint(ep, node.nodeName)) hasLocalReady = true;
    } else if (ep.serving && ep.terminating) {
      hasAny = true;
      if (isLocalEndpoint(ep, node.nodeName)) hasLocalServingTerminating = true;
    }
  }
  if (hasLocalReady) {
    local = endpoints.filter((ep) => isLocalEndpoint(ep, node.nodeName) && ep.ready);
  } else if (hasLocalServingTerminating) {
    useServingTerminating = true;
    local = endpoints.filter((ep) => isLocalEndpoint(ep, node.nodeName) && ep.serving && ep.terminating);
  }

  if (!usesCluster) return { cluster, local, allReachable: local, hasAny, topologyMode: mode };
  if (mode === '' && !useServingTerminating) return { cluster, local, allReachable: cluster, hasAny, topologyMode: mode };

  // Upstream builds the union through a Go map (random order); we keep the sorted endpoint order.
  const inUnion = new Set<EndpointInfo>([...cluster, ...local]);
  const allReachable = endpoints.filter((ep) => inUnion.has(ep));
  return { cluster, local, allReachable, hasAny, topologyMode: mode };
}
