// Services and EndpointSlices placed in the kernel lab's address plan (test/kernel/harness.ts: every
// address inside 198.18.0.0/15): a converged scenario's objects remapped onto the lab's three
// endpoint hosts, and fast-check-generated Services of every kind kube-proxy handles. The real
// renderer turns them into a node dump, the harness loads it into a namespace.
import fc from 'fast-check';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { renderIptables } from '../../../src/dataplane/kubeproxy/iptables.js';
import type { NodeView, ProxierEnvironment } from '../../../src/dataplane/kubeproxy/nodeview.js';
import { iptablesNodeSave } from '../../../src/dataplane/kubeproxy/save.js';
import { LAB_HOSTS, SERVER_PORTS, type KernelCase, type KernelCaseFlow, type Source } from '../../kernel/harness.js';

export const LAB_NODE_IP = '198.18.128.1';
/** The lab's pod network: client and endpoint hosts are inside, the external host is not. */
export const LAB_POD_CIDR = '198.18.0.0/17';
export const EP_IPS = [LAB_HOSTS.ep1.ip, LAB_HOSTS.ep2.ip, LAB_HOSTS.ep3.ip] as const;
export const EP_ROLE: Record<string, Source> = { [LAB_HOSTS.ep1.ip]: 'ep1', [LAB_HOSTS.ep2.ip]: 'ep2', [LAB_HOSTS.ep3.ip]: 'ep3' };

/**
 * The iptables environment of the lab: no nfacct counters (kube-proxy then leaves out the
 * `-m nfacct` matches; iptables-save prints them with a double space the canonical printer lacks).
 */
export const LAB_ENV: ProxierEnvironment = { nfacct: false };

export function labNodeView(nodeName: string, zone?: string): NodeView {
  return { nodeName, nodeIPs: [LAB_NODE_IP], ...(zone ? { zone } : {}), clusterCIDR: LAB_POD_CIDR };
}

/** A kernel case whose rules are the node dump kubepath renders for these objects. */
export function renderedCase(name: string, services: readonly Service[], slices: readonly EndpointSlice[], node: NodeView, flows: readonly KernelCaseFlow[]): KernelCase {
  const payload = renderIptables(services, slices, node, LAB_ENV);
  return { name, rules: iptablesNodeSave(payload, Date.UTC(2026, 0, 1)), flows };
}

// ---------------------------------------------------------------- remapping a converged cluster

export interface Remapped {
  readonly services: Service[];
  readonly slices: EndpointSlice[];
  /** Old ClusterIP → lab ClusterIP. */
  readonly clusterIPs: Map<string, string>;
}

/**
 * ClusterIPs → 198.19.0.10+, each Service's endpoint addresses (sorted) → ep1, ep2, ep3 (more than
 * three are dropped), endpoint ports → the lab servers' ports. Node names stay as they were.
 */
export function remapToLab(services: readonly Service[], slices: readonly EndpointSlice[]): Remapped {
  const clusterIPs = new Map<string, string>();
  const sorted = [...services].sort((a, b) => key(a).localeCompare(key(b)));
  for (const s of sorted) {
    const ip = s.spec?.clusterIP;
    if (ip && ip !== 'None' && !clusterIPs.has(ip)) clusterIPs.set(ip, `198.19.0.${10 + clusterIPs.size}`);
  }
  const outServices = services.map((s) => {
    const ip = s.spec?.clusterIP;
    const mapped = ip ? clusterIPs.get(ip) : undefined;
    return mapped ? { ...s, spec: { ...s.spec, clusterIP: mapped, clusterIPs: [mapped] } } : s;
  });
  const allPorts = [...new Set(slices.flatMap((sl) => (sl.ports ?? []).map((p) => p.port ?? 0)))].sort((a, b) => a - b);
  const portMap = new Map(allPorts.map((p, i) => [p, SERVER_PORTS[i % SERVER_PORTS.length]!]));
  const byService = new Map<string, EndpointSlice[]>();
  for (const sl of slices) {
    const k = `${sl.metadata?.namespace}/${sl.metadata?.labels?.['kubernetes.io/service-name'] ?? ''}`;
    byService.set(k, [...(byService.get(k) ?? []), sl]);
  }
  const outSlices: EndpointSlice[] = [];
  for (const group of byService.values()) {
    const addrs = [...new Set(group.flatMap((sl) => sl.endpoints.flatMap((e) => e.addresses)))].sort();
    const addrMap = new Map(addrs.slice(0, EP_IPS.length).map((a, i) => [a, EP_IPS[i]!]));
    for (const sl of group) {
      outSlices.push({
        ...sl,
        endpoints: sl.endpoints
          .filter((e) => e.addresses.every((a) => addrMap.has(a)))
          .map((e) => ({ ...e, addresses: e.addresses.map((a) => addrMap.get(a)!) })),
        ports: (sl.ports ?? []).map((p) => ({ ...p, port: portMap.get(p.port ?? 0)! })),
      });
    }
  }
  return { services: outServices, slices: outSlices, clusterIPs };
}

function key(s: Service): string {
  return `${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`;
}

// ---------------------------------------------------------------- generated Services

export type LabServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer';

export interface LabEndpoint {
  readonly host: 0 | 1 | 2;
  /** On the lab node (matters for Local traffic policies). */
  readonly local: boolean;
  readonly ready: boolean;
}

export interface LabService {
  readonly index: number;
  readonly type: LabServiceType;
  readonly protocol: 'TCP' | 'UDP';
  readonly externalIP: boolean;
  readonly externalLocal: boolean;
  readonly affinity: boolean;
  readonly targetPort: number;
  readonly endpoints: readonly LabEndpoint[];
}

export const labServiceArbitrary = (index: number): fc.Arbitrary<LabService> =>
  fc.record({
    index: fc.constant(index),
    type: fc.constantFrom<LabServiceType>('ClusterIP', 'NodePort', 'LoadBalancer'),
    protocol: fc.constantFrom<'TCP' | 'UDP'>('TCP', 'TCP', 'UDP'),
    externalIP: fc.boolean(),
    externalLocal: fc.boolean(),
    affinity: fc.boolean(),
    targetPort: fc.constantFrom(...SERVER_PORTS),
    endpoints: fc.uniqueArray(
      fc.record({
        host: fc.constantFrom<0 | 1 | 2>(0, 1, 2),
        local: fc.boolean(),
        ready: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }),
      }),
      { maxLength: 3, selector: (e) => e.host },
    ),
  });

/** One to three Services of every kind. */
export const labServicesArbitrary: fc.Arbitrary<LabService[]> = fc
  .integer({ min: 1, max: 3 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => labServiceArbitrary(i))));

export function clusterIPOf(s: LabService): string {
  return `198.19.1.${10 + s.index}`;
}
export function externalIPOf(s: LabService): string {
  return `198.19.200.${10 + s.index}`;
}
export function loadBalancerIPOf(s: LabService): string {
  return `198.19.100.${10 + s.index}`;
}
export function nodePortOf(s: LabService): number {
  return 30100 + s.index;
}
export function portOf(s: LabService): number {
  return 80 + s.index;
}

export function labObjects(list: readonly LabService[], localNode: string): { services: Service[]; slices: EndpointSlice[] } {
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (const s of list) {
    const name = `svc${s.index}`;
    const external = s.type !== 'ClusterIP' || s.externalIP;
    services.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { namespace: 'lab', name },
      spec: {
        type: s.type,
        clusterIP: clusterIPOf(s),
        clusterIPs: [clusterIPOf(s)],
        ipFamilies: ['IPv4'],
        ports: [{ name: 'p', port: portOf(s), protocol: s.protocol, targetPort: s.targetPort, ...(s.type !== 'ClusterIP' ? { nodePort: nodePortOf(s) } : {}) }],
        ...(s.externalIP ? { externalIPs: [externalIPOf(s)] } : {}),
        ...(external ? { externalTrafficPolicy: s.externalLocal ? 'Local' : 'Cluster' } : {}),
        ...(s.affinity ? { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } } } : {}),
      },
      ...(s.type === 'LoadBalancer' ? { status: { loadBalancer: { ingress: [{ ip: loadBalancerIPOf(s), ipMode: 'VIP' }] } } } : {}),
    });
    slices.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { namespace: 'lab', name: `${name}-abcde`, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      endpoints: s.endpoints.map((e) => ({
        addresses: [EP_IPS[e.host]],
        conditions: { ready: e.ready, serving: e.ready, terminating: false },
        nodeName: e.local ? localNode : 'other-node',
      })),
      ports: [{ name: 'p', port: s.targetPort, protocol: s.protocol }],
    });
  }
  return { services, slices };
}

/**
 * Connections to every address of every Service, from a pod, from the node and from outside, and
 * the fate upstream kube-proxy gives each TCP connection: refused when the Service has no ready
 * endpoints, dropped for external traffic to a Local policy without local endpoints, else answered.
 */
export function labFlows(list: readonly LabService[]): KernelCaseFlow[] {
  const flows: KernelCaseFlow[] = [];
  for (const s of list) {
    const proto = s.protocol === 'TCP' ? 'tcp' : 'udp';
    const ready = s.endpoints.filter((e) => e.ready);
    const anyReady = ready.length > 0;
    const localReady = ready.some((e) => e.local);
    const targets: { dst: string; dport: number; external: boolean }[] = [{ dst: clusterIPOf(s), dport: portOf(s), external: false }];
    if (s.type !== 'ClusterIP') targets.push({ dst: LAB_NODE_IP, dport: nodePortOf(s), external: true });
    if (s.type === 'LoadBalancer') targets.push({ dst: loadBalancerIPOf(s), dport: portOf(s), external: true });
    if (s.externalIP) targets.push({ dst: externalIPOf(s), dport: portOf(s), external: true });
    for (const t of targets) {
      for (const from of ['client', 'node', 'ext'] as const) {
        // Pods and the node itself are short-circuited to all endpoints; outside clients of a Local policy are not.
        const localOnly = t.external && s.externalLocal && from === 'ext';
        // No endpoints: external destinations are rejected in KUBE-EXTERNAL-SERVICES, which INPUT and
        // FORWARD jump to but OUTPUT does not: the node's own connection to an LB IP or externalIP leaves
        // un-NATed (here towards the external host, which does not answer).
        const unrejected = t.external && t.dst !== LAB_NODE_IP && from === 'node';
        let expect: string | undefined;
        if (proto === 'tcp') expect = !anyReady ? (unrejected ? 'timeout' : 'error:ECONNREFUSED') : localOnly && !localReady ? 'timeout' : 'ok';
        const slow = expect === 'timeout' || proto === 'udp';
        flows.push({ from, proto, dst: t.dst, dport: t.dport, ...(expect ? { expect } : {}), ...(slow ? { timeoutMs: 700 } : {}) });
      }
    }
  }
  // Grouped by source (one agent process per group), the order kept within a group.
  const order: Source[] = ['client', 'node', 'ext'];
  return order.flatMap((src) => flows.filter((f) => f.from === src));
}
