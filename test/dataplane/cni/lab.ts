// A cluster's nodes and pods built in the routing model the way the lead's tracer builds them:
// per node `lo`, an `eth0` NIC on an L2 segment (its subnet) with the node address, the default
// route via the subnet's .1 (a router outside the model), then the plugin's host commands, then
// per pod the plugin's host and pod commands. Pod addresses come from the plugin's own IPAM.
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { expect } from 'vitest';
import { nthAddress, parseCidr } from '../../../src/net/cidr.js';
import { makePacket } from '../../../src/net/packet.js';
import type { CniCluster, CniNode, CniPlugin, CniPod, HostNetwork } from '../../../src/dataplane/cni/types.js';
import { applyHostCommand, applyHostCommands, Network, type WalkPath } from '../../../src/dataplane/routing/index.js';

export interface LabPod extends CniPod {
  readonly netns: string;
  readonly hostInterface?: string;
}

export interface Lab {
  readonly net: Network;
  readonly cluster: CniCluster;
  readonly pods: readonly LabPod[];
  readonly hosts: ReadonlyMap<string, HostNetwork>;
  pod(name: string): LabPod;
}

export function node(name: string, internalIP: string, subnet: string, podCIDRs: readonly string[] = []): CniNode {
  return { name, internalIP, subnet, podCIDRs };
}

export function kubeNode(n: CniNode): Node {
  return { metadata: { name: n.name }, spec: { ...(n.podCIDRs[0] ? { podCIDR: n.podCIDRs[0] } : {}), podCIDRs: [...n.podCIDRs] } };
}

export function kubePod(namespace: string, name: string, uid = `uid-${namespace}-${name}`): Pod {
  return { metadata: { namespace, name, uid } };
}

export function cniCluster(nodes: readonly CniNode[], pods: readonly CniPod[], clusterCIDRs: readonly string[] = ['10.244.0.0/16']): CniCluster {
  const map = new Map(nodes.map((n) => [n.name, n]));
  return {
    clusterCIDRs,
    serviceCIDRs: ['10.96.0.0/12'],
    nodes: map,
    podsOn: (name) => pods.filter((p) => p.node === name),
  };
}

/** Gateway of a node subnet: its first address (the lead's base setup routes default via it). */
export function subnetGateway(subnet: string): string {
  return nthAddress(parseCidr(subnet)!, 1)!;
}

/** The base setup of a node namespace, before the CNI runs. */
export function addNodeNamespace(net: Network, n: CniNode): void {
  const ns = net.createNamespace(n.name);
  const len = n.subnet.split('/')[1];
  const ok = (r: { ok: boolean; message?: string }) => expect(r.ok, r.message).toBe(true);
  ok(ns.addLink({ name: 'eth0', kind: 'ether', segment: n.subnet, up: true }));
  ok(ns.addAddress('eth0', `${n.internalIP}/${len}`));
  ok(applyHostCommand(net, n.name, `ip route add default via ${subnetGateway(n.subnet)} dev eth0`) as { ok: boolean; message?: string });
  net.addExternalStation(n.subnet, subnetGateway(n.subnet));
}

/**
 * Allocate addresses for `placement` (pod name → node name, in creation order) through the
 * plugin's IPAM, render and apply everything. Refusals fail the test with the command.
 */
export function buildLab(plugin: CniPlugin, nodes: readonly CniNode[], placement: readonly (readonly [string, string])[], clusterCIDRs?: readonly string[]): Lab {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const pods: CniPod[] = [];
  for (const [name, nodeName] of placement) {
    const n = byName.get(nodeName)!;
    const res = plugin.ipam.allocate(kubeNode(n), kubePod('default', name));
    if (!res.ok) throw new Error(`IPAM refused ${name} on ${nodeName}: ${res.reason}`);
    pods.push({ namespace: 'default', name, uid: `uid-default-${name}`, node: nodeName, ips: res.ips, hostNetwork: false, hostPorts: [] });
  }
  const cluster = cniCluster(nodes, pods, clusterCIDRs);
  const net = new Network();
  const hosts = new Map<string, HostNetwork>();
  for (const n of nodes) addNodeNamespace(net, n);
  for (const n of nodes) {
    const h = plugin.host(n, cluster);
    hosts.set(n.name, h);
    const r = applyHostCommands(net, n.name, h.commands);
    expect(r.ok, `host commands of ${n.name}: ${r.ok ? '' : r.message}`).toBe(true);
  }
  const labPods: LabPod[] = [];
  for (const p of pods) {
    const netns = `pod-${p.namespace}-${p.name}`;
    const n = byName.get(p.node)!;
    const pn = plugin.pod(p, n, cluster, netns);
    const a = applyHostCommands(net, n.name, pn.host);
    expect(a.ok, `pod ${p.name} host commands: ${a.ok ? '' : a.message}`).toBe(true);
    const b = applyHostCommands(net, pn.netns, pn.pod);
    expect(b.ok, `pod ${p.name} commands: ${b.ok ? '' : b.message}`).toBe(true);
    labPods.push({ ...p, netns: pn.netns, ...(pn.hostInterface ? { hostInterface: pn.hostInterface } : {}) });
  }
  return {
    net,
    cluster,
    pods: labPods,
    hosts,
    pod: (name) => {
      const p = labPods.find((x) => x.name === name);
      if (!p) throw new Error(`no pod ${name}`);
      return p;
    },
  };
}

/** Walk a TCP SYN from one pod to another (or any address). */
export function walkFrom(lab: Lab, from: LabPod, dst: string, dport = 8080): WalkPath[] {
  return lab.net.walk({ namespace: from.netns, datagram: { packet: makePacket({ src: from.ips[0]!, dst, proto: 'tcp', sport: 40000, dport }) } });
}

/** The route hops of a path as `namespace: in → out` (tunnel device when encapsulated, `local` when delivered). */
export function routeSequence(path: WalkPath): string[] {
  const out: string[] = [];
  for (const h of path.hops) {
    if (h.kind !== 'route' || !h.branch) continue;
    const b = h.branch;
    const dev = b.outcome === 'local' ? 'local' : b.encap ? b.encap.device : (b.outInterface ?? b.outcome);
    out.push(`${h.namespace}: ${h.iif ?? '-'} → ${dev}`);
  }
  return out;
}

/** Every pod reaches every other pod: one path, delivered in the target's namespace, source preserved. */
export function expectFullMesh(lab: Lab): void {
  for (const a of lab.pods) {
    for (const b of lab.pods) {
      if (a === b) continue;
      const paths = walkFrom(lab, a, b.ips[0]!);
      expect(paths.length, `${a.name} → ${b.name}`).toBe(1);
      const p = paths[0]!;
      expect({ outcome: p.outcome, at: p.namespace, src: p.datagram.packet.src }, `${a.name} → ${b.name}: ${routeSequence(p).join(' | ')}`).toEqual({ outcome: 'local', at: b.netns, src: a.ips[0] });
    }
  }
}
