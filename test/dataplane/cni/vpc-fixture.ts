// Shared setup for the VPC-native CNI tests: Node objects, CNI views of nodes and pods, and a
// routing Network built the way the caller does it (lo, eth0 with the node address and the default
// route via the subnet gateway, the plugin's extra NICs, then its commands, then each pod's).
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { expect } from 'vitest';
import type { CniCluster, CniNode, CniPlugin, CniPod, PodNetwork } from '../../../src/dataplane/cni/types.js';
import { subnetGateway } from '../../../src/dataplane/fabric/fabric.js';
import { applyHostCommands } from '../../../src/dataplane/routing/ipcommand.js';
import { Network } from '../../../src/dataplane/routing/network.js';
import { parseCidr } from '../../../src/net/cidr.js';
import { routePacket } from '../../../src/dataplane/routing/forward.js';
import type { RouteResult } from '../../../src/dataplane/netfilter/node.js';
import type { Packet } from '../../../src/net/packet.js';

export interface NodeDef {
  readonly name: string;
  readonly ip: string;
  readonly subnet: string;
  readonly instanceType: string;
}

export function nodeObject(d: NodeDef): Node {
  return {
    metadata: { name: d.name, labels: { 'node.kubernetes.io/instance-type': d.instanceType } },
    status: { addresses: [{ type: 'InternalIP', address: d.ip }, { type: 'Hostname', address: d.name }] },
  };
}

export function podObject(namespace: string, name: string, uid = `${namespace}-${name}`): Pod {
  return { metadata: { namespace, name, uid } };
}

export function cniNode(d: NodeDef): CniNode {
  return { name: d.name, internalIP: d.ip, subnet: d.subnet, podCIDRs: [], instanceType: d.instanceType };
}

export function cniPod(pod: Pod, node: string, ips: readonly string[]): CniPod {
  return { namespace: pod.metadata!.namespace!, name: pod.metadata!.name!, uid: pod.metadata!.uid!, node, ips, hostNetwork: false, hostPorts: [] };
}

export function cluster(clusterCIDRs: readonly string[], serviceCIDRs: readonly string[], nodes: readonly NodeDef[], pods: readonly CniPod[]): CniCluster {
  return {
    clusterCIDRs,
    serviceCIDRs,
    nodes: new Map(nodes.map((n) => [n.name, cniNode(n)])),
    podsOn: (node) => pods.filter((p) => p.node === node),
  };
}

export function must(r: { ok: true } | { ok: false; message: string }): void {
  if (!r.ok) throw new Error(r.message);
}

/**
 * Build every node's host namespace (named after the node) and every pod's sandbox, applying the
 * plugin's commands. Returns each pod's PodNetwork by uid. NICs have no segment: the fabric is not
 * part of these tests, so frames leaving a NIC come out as `external`.
 */
export function buildNetwork(cloud: 'aws' | 'alibaba', plugin: CniPlugin, c: CniCluster): { net: Network; pods: Map<string, PodNetwork> } {
  const net = new Network();
  const pods = new Map<string, PodNetwork>();
  for (const node of c.nodes.values()) {
    const hostNet = plugin.host(node, c);
    const ns = net.createNamespace(node.name);
    const len = parseCidr(node.subnet)!.prefix;
    must(ns.addLink({ name: 'eth0', kind: 'ether', mac: `02:00:00:00:00:${(ns.links.length + 1).toString(16).padStart(2, '0')}`, cloudIps: hostNet.eth0CloudIps ?? [] }));
    must(ns.addAddress('eth0', `${node.internalIP}/${len}`));
    must(ns.addRoute({ dst: 'default', via: subnetGateway(cloud, node.subnet), dev: 'eth0' }));
    for (const nic of hostNet.nics ?? []) must(ns.addLink({ name: nic.name, kind: 'ether', ...(nic.mac ? { mac: nic.mac } : {}), cloudIps: nic.cloudIps }));
    must(applyHostCommands(net, node.name, hostNet.commands));
    for (const pod of c.podsOn(node.name)) {
      const netns = `pod-${pod.namespace}-${pod.name}`;
      const p = plugin.pod(pod, node, c, netns);
      if (p.nic) {
        if (!net.has(netns)) net.createNamespace(netns, { ipForward: false });
        must(net.namespace(netns).addLink({ name: p.nic.name, kind: 'ether', ...(p.nic.mac ? { mac: p.nic.mac } : {}), cloudIps: p.nic.cloudIps }));
      }
      must(applyHostCommands(net, node.name, p.host));
      must(applyHostCommands(net, p.netns, p.pod));
      pods.set(pod.uid, p);
    }
  }
  return { net, pods };
}

/** A netfilter route callback backed by a routing namespace (the mark the rules set steers policy routing). */
export function routeVia(net: Network, ns: string): (p: Packet) => RouteResult | undefined {
  return (p) => {
    const b = routePacket(net.namespace(ns), p).branches[0]!;
    if (b.outcome === 'local') return { local: true, outInterface: 'lo' };
    if (b.outcome !== 'forward') return undefined;
    return { local: false, outInterface: b.outInterface!, ...(b.source ? { source: b.source } : {}), detail: b };
  };
}

export function expectOk<T extends { ok: boolean }>(r: T): asserts r is Extract<T, { ok: true }> {
  expect(r.ok, JSON.stringify(r)).toBe(true);
}

/** `count` pods on each node, allocated through the plugin's IPAM in order (as kubelet would ask for them). */
export function deploy(plugin: Pick<CniPlugin, 'ipam'>, perNode: ReadonlyMap<NodeDef, number>): CniPod[] {
  const pods: CniPod[] = [];
  for (const [node, count] of perNode) {
    for (let i = 0; i < count; i++) {
      const pod = podObject('default', `${node.name}-web-${i}`);
      const r = plugin.ipam.allocate(nodeObject(node), pod);
      expectOk(r);
      pods.push(cniPod(pod, node.name, r.ips));
    }
  }
  return pods;
}
