// The tracer end to end on converged clusters: pod → Service, pod → pod, pod → Internet,
// node and outside → NodePort, across flannel (vxlan, host-gw), Calico and the AWS VPC CNI.
import { describe, expect, it } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { fraction, add, ZERO, type Fraction } from '../../src/dataplane/netfilter/probability.js';
import { parseFraction } from '../../src/trace/tracer.js';
import type { TracePath } from '../../src/trace/types.js';
import { podsOf, session, simulate, WEB, type ProfileSpec } from './fixture.js';

function total(paths: readonly TracePath[]): Fraction {
  return paths.reduce((acc, p) => add(acc, parseFraction(p.probabilityExact)), ZERO);
}

function clusterWith(p: ProfileSpec, nodePrefix = 'node') {
  const sim = simulate(p, WEB.replace('NODE1', `${nodePrefix}-1`));
  return { sim, s: session(sim) };
}

const clientStart = (sim: ReturnType<typeof simulate>) => {
  const c = podsOf(sim, 'client')[0]!;
  return { kind: 'pod' as const, namespace: 'default', name: 'client', node: c.spec!.nodeName!, ip: c.status!.podIP! };
};

function serviceIP(sim: ReturnType<typeof simulate>, name: string): string {
  return (sim.cluster.store.get('Service', 'default', name) as unknown as { spec: { clusterIP: string } }).spec.clusterIP;
}

describe('flannel vxlan, kube-proxy iptables', () => {
  const { sim, s } = clusterWith({ cni: 'flannel', mode: 'vxlan' });
  const web = podsOf(sim, 'web');
  const start = clientStart(sim);

  it('pod → ClusterIP: one path per endpoint, probabilities exact and summing to 1, client IP kept', () => {
    const paths = s.trace(start, { proto: 'tcp', dst: serviceIP(sim, 'web'), dport: 80 });
    expect(paths).toHaveLength(3);
    expect(total(paths)).toEqual(fraction(1n, 1n));
    expect(new Set(paths.map((p) => p.endpoint))).toEqual(new Set(web.map((p) => `pod/default/${p.metadata!.name}`)));
    for (const p of paths) {
      expect(p.outcome).toBe('delivered');
      expect(p.clientIpSeen).toBe(start.ip);
      // The DNAT is visible: the rule that rewrote the destination is on the path.
      const dnat = p.hops.find((h) => h.stage === 'netfilter' && h.action === 'DNAT');
      expect(dnat?.rule).toMatch(/^-A KUBE-SEP-\S+ .*-j DNAT --to-destination [\d.]+:8080$/);
    }
  });

  it('a cross-node endpoint is reached through flannel.1: VXLAN UDP 8472 to the other node, the pod source kept (C6)', () => {
    const paths = s.trace(start, { proto: 'tcp', dst: serviceIP(sim, 'web'), dport: 80 });
    const remote = paths.filter((p) => {
      const pod = web.find((w) => `pod/default/${w.metadata!.name}` === p.endpoint)!;
      return pod.spec!.nodeName !== start.node;
    });
    expect(remote).toHaveLength(2);
    for (const p of remote) {
      const pod = web.find((w) => `pod/default/${w.metadata!.name}` === p.endpoint)!;
      const nodeIP = nodeAddress(sim, pod.spec!.nodeName!);
      const encap = p.hops.find((h) => h.stage === 'encap')!;
      expect(encap.packet.outer).toEqual({ kind: 'vxlan', src: nodeAddress(sim, start.node), dst: nodeIP, dport: 8472 });
      expect(encap.packet.src).toBe(start.ip);
      const route = p.hops.find((h) => h.stage === 'route' && h.at === `node/${start.node}`)!;
      expect(route.rule).toMatch(new RegExp(`^10\\.244\\.\\d+\\.0/24 via 10\\.244\\.\\d+\\.0 dev flannel\\.1 onlink`));
      expect(p.hops.filter((h) => h.stage === 'fabric')).toHaveLength(1);
      expect(p.hops.some((h) => h.stage === 'decap' && h.at === `node/${pod.spec!.nodeName}`)).toBe(true);
      expect(p.crossZone).toBe(true);
    }
  });

  it('pod → Internet is masqueraded to the node address by FLANNEL-POSTRTG (C7)', () => {
    const [p, ...rest] = s.trace(start, { proto: 'tcp', dst: '8.8.8.8', dport: 443 });
    expect(rest).toHaveLength(0);
    expect(p!.outcome).toBe('delivered');
    expect(p!.endpoint).toBe('internet');
    expect(p!.clientIpSeen).toBe(nodeAddress(sim, start.node));
    expect(p!.hops.some((h) => h.stage === 'netfilter' && h.chain === 'FLANNEL-POSTRTG' && h.action === 'MASQUERADE')).toBe(true);
  });

  it('outside → NodePort on a node: every endpoint reachable, the client IP lost to KUBE-POSTROUTING masquerade (eTP Cluster)', () => {
    const node = 'node-2';
    const paths = s.trace({ kind: 'external', label: 'internet' }, { proto: 'tcp', dst: nodeAddress(sim, node), dport: 30080, src: '203.0.113.7' });
    expect(paths).toHaveLength(3);
    expect(total(paths)).toEqual(fraction(1n, 1n));
    for (const p of paths) {
      expect(p.outcome).toBe('delivered');
      expect(p.clientIpSeen).not.toBe('203.0.113.7');
      expect(p.hops.some((h) => h.chain === 'KUBE-POSTROUTING' && h.action === 'MASQUERADE')).toBe(true);
    }
  });

  it('a ClusterIP port the Service does not declare is not DNATed: the packet follows the node routes', () => {
    // kube-proxy only DNATs the Service's ports; other ports to a ClusterIP follow the node's routes.
    const paths = s.trace(start, { proto: 'tcp', dst: serviceIP(sim, 'web'), dport: 81 });
    expect(paths.every((p) => !p.hops.some((h) => h.action === 'DNAT'))).toBe(true);
    expect(total(paths)).toEqual(fraction(1n, 1n));
  });
});

describe('flannel host-gw', () => {
  const { sim, s } = clusterWith({ cni: 'flannel', mode: 'host-gw' });
  const start = clientStart(sim);
  it('pod → pod on another node: routed via the node address on eth0, no encapsulation', () => {
    const target = podsOf(sim, 'web').find((p) => p.spec!.nodeName !== start.node)!;
    const [p, ...rest] = s.trace(start, { proto: 'tcp', dst: target.status!.podIP!, dport: 8080 });
    expect(rest).toHaveLength(0);
    expect(p!.outcome).toBe('delivered');
    expect(p!.endpoint).toBe(`pod/default/${target.metadata!.name}`);
    expect(p!.hops.some((h) => h.stage === 'encap')).toBe(false);
    const route = p!.hops.find((h) => h.stage === 'route' && h.at === `node/${start.node}`)!;
    expect(route.rule).toContain(`via ${nodeAddress(sim, target.spec!.nodeName!)} dev eth0`);
  });
});

describe('NetworkPolicy', () => {
  const DENY = `
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: web-only-from-frontend, namespace: default}
  spec:
    podSelector: {matchLabels: {app: web}}
    ingress:
      - from: [{podSelector: {matchLabels: {role: frontend}}}]
`;
  it('Calico enforces it: the path ends at the policy that isolated the pod, saying why', () => {
    const sim = simulate({ cni: 'calico', mode: 'ipip' }, WEB.replace('NODE1', 'node-1') + DENY);
    const s = session(sim);
    const paths = s.trace(clientStart(sim), { proto: 'tcp', dst: serviceIP(sim, 'web'), dport: 80 });
    expect(paths.length).toBe(3);
    for (const p of paths) {
      expect(p.outcome).toBe('dropped');
      const last = p.hops[p.hops.length - 1]!;
      expect(last.stage).toBe('policy');
      expect(last.action).toBe('deny');
      expect(last.note).toContain('default/web-only-from-frontend');
    }
  });

  it('flannel does not enforce it: the packet is delivered, with a note that the policy would deny it', () => {
    const sim = simulate({ cni: 'flannel', mode: 'vxlan' }, WEB.replace('NODE1', 'node-1') + DENY);
    const s = session(sim);
    const paths = s.trace(clientStart(sim), { proto: 'tcp', dst: serviceIP(sim, 'web'), dport: 80 });
    for (const p of paths) {
      expect(p.outcome).toBe('delivered');
      expect(p.hops.some((h) => h.stage === 'policy' && h.action === 'not-enforced')).toBe(true);
    }
  });
});

describe('Calico IPIP', () => {
  const { sim, s } = clusterWith({ cni: 'calico', mode: 'ipip' });
  const start = clientStart(sim);
  it('pod → pod on another node goes through tunl0 (IPIP), routed via the 169.254.1.1 gateway in the pod', () => {
    const target = podsOf(sim, 'web').find((p) => p.spec!.nodeName !== start.node)!;
    const [p] = s.trace(start, { proto: 'tcp', dst: target.status!.podIP!, dport: 8080 });
    expect(p!.outcome).toBe('delivered');
    expect(p!.hops[0]!.rule).toMatch(/^default via 169\.254\.1\.1 dev eth0/);
    const encap = p!.hops.find((h) => h.stage === 'encap')!;
    expect(encap.packet.outer?.kind).toBe('ipip');
    expect(encap.packet.outer?.dst).toBe(nodeAddress(sim, target.spec!.nodeName!));
  });
});

describe('AWS VPC CNI', () => {
  const { sim, s } = clusterWith({ cloud: 'aws', cni: 'aws-vpc-cni', mode: 'secondary-ip' }, 'ip-node');
  const start = clientStart(sim);
  it('pods get VPC addresses of their node subnet, and pod → pod crosses the VPC fabric without encapsulation', () => {
    const target = podsOf(sim, 'web').find((p) => p.spec!.nodeName !== start.node)!;
    const [p, ...rest] = s.trace(start, { proto: 'tcp', dst: target.status!.podIP!, dport: 8080 });
    expect(rest).toHaveLength(0);
    expect(p!.outcome).toBe('delivered');
    expect(p!.hops.some((h) => h.stage === 'encap')).toBe(false);
    expect(p!.hops.filter((h) => h.stage === 'fabric').map((h) => h.at)).toEqual(['vpc']);
    expect(p!.clientIpSeen).toBe(start.ip);
    expect(p!.crossZone).toBe(true);
  });
  it('pod → Internet is SNATed to the node primary IP by AWS-SNAT-CHAIN-0', () => {
    const [p] = s.trace(start, { proto: 'tcp', dst: '8.8.8.8', dport: 443 });
    expect(p!.endpoint).toBe('internet');
    expect(p!.clientIpSeen).toBe(nodeAddress(sim, start.node));
    expect(p!.hops.some((h) => h.chain?.startsWith('AWS-SNAT-CHAIN') && h.action === 'SNAT')).toBe(true);
  });
});

function nodeAddress(sim: ReturnType<typeof simulate>, node: string): string {
  const n = sim.cluster.store.get('Node', undefined, node) as unknown as { status: { addresses: { type: string; address: string }[] } };
  return n.status.addresses.find((a) => a.type === 'InternalIP')!.address;
}

export type { Pod };

describe('Terway shared ENI, kube-proxy IPVS (ACK)', () => {
  const { sim, s } = clusterWith({ cloud: 'alibaba', cni: 'terway', mode: 'shared', kubeProxy: 'ipvs' }, 'cn-node');
  const start = clientStart(sim);
  it('pod → ClusterIP: IPVS rr picks each real server with exactly 1/3, masquerading the destination only', () => {
    const paths = s.trace(start, { proto: 'tcp', dst: serviceIP(sim, 'web'), dport: 80 });
    expect(paths.map((p) => p.probabilityExact)).toEqual(['1/3', '1/3', '1/3']);
    for (const p of paths) {
      expect(p.outcome).toBe('delivered');
      expect(p.clientIpSeen).toBe(start.ip);
      const ipvs = p.hops.find((h) => h.stage === 'ipvs')!;
      expect(ipvs.action).toBe('MASQ');
      expect(ipvs.rule).toMatch(/^-A -t [\d.]+:80 -s rr\n-a -t [\d.]+:80 -r [\d.]+:8080 -m -w 1$/);
    }
  });
  it('outside → NodePort: IPVS on the node, then KUBE-POSTROUTING masquerades (the client IP is lost)', () => {
    const node = 'cn-node-2';
    const paths = s.trace({ kind: 'external', label: 'internet' }, { proto: 'tcp', dst: nodeAddress(sim, node), dport: 30080, src: '203.0.113.7' });
    expect(total(paths)).toEqual(fraction(1n, 1n));
    expect(paths).toHaveLength(3);
    for (const p of paths) {
      expect(p.outcome).toBe('delivered');
      expect(p.clientIpSeen).not.toBe('203.0.113.7');
      expect(p.hops.some((h) => h.stage === 'ipvs')).toBe(true);
      expect(p.hops.some((h) => h.chain === 'KUBE-POSTROUTING' && h.action === 'MASQUERADE')).toBe(true);
    }
  });
});

describe('hostPort, VPC routes, TTL and unroutable destinations', () => {
  const HOSTPORT = `
- apiVersion: v1
  kind: Pod
  metadata: {name: edge, namespace: default, labels: {app: edge}}
  spec:
    nodeName: node-2
    containers: [{name: e, image: "envoy:1", ports: [{containerPort: 8443, hostPort: 443}]}]
`;
  it('nodeIP:hostPort is DNATed by portmap (CNI-HOSTPORT-DNAT) to the pod on that node', () => {
    const sim = simulate({ cni: 'flannel', mode: 'vxlan' }, WEB.replace('NODE1', 'node-1') + HOSTPORT);
    const s = session(sim);
    const edge = podsOf(sim, 'edge')[0]!;
    const paths = s.trace({ kind: 'external', label: 'internet' }, { proto: 'tcp', dst: nodeAddress(sim, 'node-2'), dport: 443, src: '203.0.113.9' });
    expect(paths).toHaveLength(1);
    expect(paths[0]!.outcome).toBe('delivered');
    expect(paths[0]!.endpoint).toBe('pod/default/edge');
    const dnat = paths[0]!.hops.find((h) => h.action === 'DNAT')!;
    expect(dnat.chain).toMatch(/^CNI-DN-/);
    expect(dnat.packet).toMatchObject({ dst: edge.status!.podIP, dport: 8443 });
    // portmap does not masquerade outside traffic: the pod sees the client.
    expect(paths[0]!.clientIpSeen).toBe('203.0.113.9');
  });

  it('flannel on ACK (vpc-route): a cross-node pod packet leaves unencapsulated and the vRouter follows the node pod-CIDR route entry', () => {
    const { sim, s } = clusterWith(
      { cloud: 'alibaba', cni: 'flannel', mode: 'vpc-route', clusterCIDR: '172.20.0.0/16', serviceCIDR: '172.21.0.0/20', allocateNodeCIDRs: true },
      'cn-node',
    );
    const start = clientStart(sim);
    const target = podsOf(sim, 'web').find((p) => p.spec!.nodeName !== start.node)!;
    const [p, ...rest] = s.trace(start, { proto: 'tcp', dst: target.status!.podIP!, dport: 8080 });
    expect(rest).toHaveLength(0);
    expect(p!.outcome).toBe('delivered');
    expect(p!.hops.some((h) => h.stage === 'encap')).toBe(false);
    const fabric = p!.hops.find((h) => h.stage === 'fabric')!;
    expect(fabric.note).toMatch(new RegExp(`vRouter: route entry 172\\.20\\.\\d+\\.0/24 → ${target.spec!.nodeName}`));
  });

  it('a packet whose TTL runs out on the way ends as a loop (TTL exceeded), not delivered', () => {
    const { sim, s } = clusterWith({ cni: 'flannel', mode: 'host-gw' });
    const start = clientStart(sim);
    const target = podsOf(sim, 'web').find((p) => p.spec!.nodeName !== start.node)!;
    const ok = s.trace(start, { proto: 'tcp', dst: target.status!.podIP!, dport: 8080, ttl: 3 });
    expect(ok[0]!.outcome).toBe('delivered');
    const [p] = s.trace(start, { proto: 'tcp', dst: target.status!.podIP!, dport: 8080, ttl: 1 });
    expect(p!.outcome).toBe('loop');
    expect(p!.reason).toMatch(/TTL/i);
  });

  it("outside → a ClusterIP has no route: Service addresses exist only in the nodes' rules", () => {
    const { sim, s } = clusterWith({ cni: 'flannel', mode: 'vxlan' });
    const [p] = s.trace({ kind: 'external', label: 'internet' }, { proto: 'tcp', dst: serviceIP(sim, 'web'), dport: 80, src: '203.0.113.9' });
    expect(p!.outcome).toBe('no-route');
  });
});

describe('the cloud fabric checks what a VPC checks', () => {
  const awsNodes = `    - {namePrefix: ip-node, count: 2, instanceType: m5.large, zones: [us-east-1a], subnet: 192.168.96.0/19, capacity: {cpu: "2", memory: 8Gi, pods: "29"}}`;
  it('Calico without encapsulation on AWS: the EC2 source/destination check drops pod traffic between nodes', () => {
    const { sim, s } = clusterWith({ cloud: 'aws', cni: 'calico', mode: 'none', clusterCIDR: '10.244.0.0/16', nodes: awsNodes }, 'ip-node');
    const start = clientStart(sim);
    const target = podsOf(sim, 'web').find((p) => p.spec!.nodeName !== start.node)!;
    const [p] = s.trace(start, { proto: 'tcp', dst: target.status!.podIP!, dport: 8080 });
    expect(p!.outcome).toBe('dropped');
    expect(p!.reason).toContain('EC2 source/destination check');
  });
  it('Calico IPIP on AWS: the outer packet is node to node, so it passes', () => {
    const { sim, s } = clusterWith({ cloud: 'aws', cni: 'calico', mode: 'ipip', clusterCIDR: '10.244.0.0/16', nodes: awsNodes }, 'ip-node');
    const start = clientStart(sim);
    const target = podsOf(sim, 'web').find((p) => p.spec!.nodeName !== start.node)!;
    const [p] = s.trace(start, { proto: 'tcp', dst: target.status!.podIP!, dport: 8080 });
    expect(p!.outcome).toBe('delivered');
  });
});

describe('CNI settings from the Profile, and hostNetwork pods', () => {
  it('AWS VPC CNI with externalSNAT: true leaves the pod address on Internet traffic (a NAT gateway translates it)', () => {
    const { sim, s } = clusterWith({ cloud: 'aws', cni: 'aws-vpc-cni', mode: 'secondary-ip', cniExtra: 'externalSNAT: true' }, 'ip-node');
    const start = clientStart(sim);
    const [p] = s.trace(start, { proto: 'tcp', dst: '8.8.8.8', dport: 443 });
    expect(p!.endpoint).toBe('internet');
    expect(p!.clientIpSeen).toBe(start.ip);
    expect(p!.hops.some((h) => h.action === 'SNAT' || h.action === 'MASQUERADE')).toBe(false);
  });
  it('a hostNetwork pod answers on its node address: the path ends at that pod', () => {
    const HOSTNET = `
- apiVersion: v1
  kind: Pod
  metadata: {name: exporter, namespace: default, labels: {app: exporter}}
  spec:
    nodeName: node-3
    hostNetwork: true
    containers: [{name: e, image: "node-exporter:1", ports: [{containerPort: 9100}]}]
`;
    const sim = simulate({ cni: 'flannel', mode: 'vxlan' }, WEB.replace('NODE1', 'node-1') + HOSTNET);
    const s = session(sim);
    const [p] = s.trace(clientStart(sim), { proto: 'tcp', dst: nodeAddress(sim, 'node-3'), dport: 9100 });
    expect(p!.outcome).toBe('delivered');
    expect(p!.endpoint).toBe('pod/default/exporter');
    expect(p!.hops.at(-1)!.note).toContain('(hostNetwork)');
  });
});
