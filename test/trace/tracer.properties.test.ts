// Properties of the tracer over random clusters (CNI, node count, replicas, NetworkPolicies):
// every distribution sums to exactly 1; a pod → pod path crosses exactly the links its CNI implies;
// with policies, no delivered path violates them; removing all policies never reduces reachability.
import { describe, expect } from 'vitest';
import { test } from '@fast-check/vitest';
import fc from 'fast-check';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { add, fraction, ZERO, type Fraction } from '../../src/dataplane/netfilter/probability.js';
import { parseFraction } from '../../src/trace/tracer.js';
import type { TracePath } from '../../src/trace/types.js';
import { podsOf, session, simulate, type ProfileSpec } from './fixture.js';

const CNIS: { spec: ProfileSpec; encap: 'vxlan' | 'ipip' | undefined; prefix: string }[] = [
  { spec: { cni: 'flannel', mode: 'vxlan' }, encap: 'vxlan', prefix: 'node' },
  { spec: { cni: 'flannel', mode: 'host-gw' }, encap: undefined, prefix: 'node' },
  { spec: { cni: 'calico', mode: 'ipip' }, encap: 'ipip', prefix: 'node' },
  { spec: { cni: 'calico', mode: 'vxlan' }, encap: 'vxlan', prefix: 'node' },
  { spec: { cni: 'calico', mode: 'none' }, encap: undefined, prefix: 'node' },
  { spec: { cloud: 'aws', cni: 'aws-vpc-cni', mode: 'secondary-ip' }, encap: undefined, prefix: 'ip-node' },
];

function total(paths: readonly TracePath[]): Fraction {
  return paths.reduce((acc, p) => add(acc, parseFraction(p.probabilityExact)), ZERO);
}

function nodesLine(cloud: string | undefined, count: number): string | undefined {
  if (cloud === 'aws') return undefined;
  return `    - {namePrefix: node, count: ${count}, zones: [zone-a, zone-b], subnet: 192.168.1.0/24, capacity: {cpu: "8", memory: 32Gi, pods: "110"}}`;
}

function objects(replicas: number, policies: string): string {
  return `
- apiVersion: v1
  kind: Namespace
  metadata: {name: other, labels: {team: other}}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: api, namespace: default}
  spec:
    replicas: ${replicas}
    selector: {matchLabels: {app: api}}
    template:
      metadata: {labels: {app: api, tier: back}}
      spec:
        containers: [{name: api, image: "api:1", ports: [{name: http, containerPort: 8080}, {name: admin, containerPort: 9090}]}]
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: front, namespace: default}
  spec:
    replicas: 2
    selector: {matchLabels: {app: front}}
    template:
      metadata: {labels: {app: front, role: frontend}}
      spec:
        containers: [{name: f, image: "front:1"}]
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: tool, namespace: other}
  spec:
    replicas: 1
    selector: {matchLabels: {app: tool}}
    template:
      metadata: {labels: {app: tool}}
      spec:
        containers: [{name: t, image: "tool:1"}]
- apiVersion: v1
  kind: Service
  metadata: {name: api, namespace: default}
  spec:
    selector: {app: api}
    ports: [{name: http, port: 80, targetPort: http}, {name: admin, port: 9090, targetPort: admin}]
${policies}`;
}

/** A small policy language: which pods a policy selects, and one ingress rule. */
const policyArb = fc.record({
  target: fc.constantFrom('{}', '{matchLabels: {app: api}}', '{matchLabels: {tier: back}}'),
  from: fc.constantFrom(
    '[]',
    '[{podSelector: {matchLabels: {role: frontend}}}]',
    '[{namespaceSelector: {matchLabels: {team: other}}}]',
    '[{podSelector: {}}]',
    '[{ipBlock: {cidr: 0.0.0.0/0}}]',
  ),
  ports: fc.constantFrom('', 'ports: [{port: 8080}]', 'ports: [{port: admin}]', 'ports: [{port: 9000, endPort: 9100}]'),
  hasRule: fc.boolean(),
});

function policyYaml(ps: readonly { target: string; from: string; ports: string; hasRule: boolean }[]): string {
  return ps
    .map(
      (p, i) => `- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: p${i}, namespace: default}
  spec:
    podSelector: ${p.target}
    policyTypes: [Ingress]
    ingress: ${p.hasRule ? `\n      - from: ${p.from}\n        ${p.ports || 'ports: []'}` : '[]'}`,
    )
    .join('\n');
}

function allPods(sim: ReturnType<typeof simulate>): Pod[] {
  return ['api', 'front', 'tool'].flatMap((a) => podsOf(sim, a));
}

describe('tracer properties', () => {
  test.prop(
    [fc.nat(CNIS.length - 1), fc.integer({ min: 2, max: 5 }), fc.integer({ min: 1, max: 6 }), fc.nat(), fc.nat(), fc.constantFrom(80, 9090)],
    { numRuns: 24 },
  )('every trace is a distribution summing to exactly 1, and each pod → pod path crosses exactly the links its CNI implies', (ci, nodes, replicas, a, b, port) => {
    const c = CNIS[ci]!;
    const sim = simulate({ ...c.spec, ...(nodesLine(c.spec.cloud, nodes) ? { nodes: nodesLine(c.spec.cloud, nodes)! } : {}) }, objects(replicas, ''));
    const s = session(sim);
    const pods = allPods(sim);
    const src = pods[a % pods.length]!;
    const dst = pods[b % pods.length]!;
    const start = { kind: 'pod' as const, namespace: src.metadata!.namespace!, name: src.metadata!.name!, node: src.spec!.nodeName! };
    const svc = (sim.cluster.store.get('Service', 'default', 'api') as unknown as { spec: { clusterIP: string } }).spec.clusterIP;
    const toSvc = s.trace(start, { proto: 'tcp', dst: svc, dport: port });
    expect(total(toSvc)).toEqual(fraction(1n, 1n));
    expect(toSvc.every((p) => p.outcome === 'delivered')).toBe(true);

    const toPod = s.trace(start, { proto: 'tcp', dst: dst.status!.podIP!, dport: 8080 });
    expect(total(toPod)).toEqual(fraction(1n, 1n));
    expect(toPod).toHaveLength(1);
    const p = toPod[0]!;
    expect(p.outcome).toBe('delivered');
    expect(p.endpoint).toBe(`pod/${dst.metadata!.namespace}/${dst.metadata!.name}`);
    expect(p.clientIpSeen).toBe(src.status!.podIP);
    const fabric = p.hops.filter((h) => h.stage === 'fabric');
    const encaps = p.hops.filter((h) => h.stage === 'encap');
    if (src === dst) return void expect([...s.problems]).toEqual([]);
    if (src.spec!.nodeName === dst.spec!.nodeName) {
      expect(fabric).toHaveLength(0);
      expect(encaps).toHaveLength(0);
    } else {
      expect(fabric).toHaveLength(1);
      expect(fabric[0]!.note).toContain(`node/${src.spec!.nodeName} `);
      expect(fabric[0]!.note).toContain(`→ node/${dst.spec!.nodeName} `);
      expect(encaps.map((h) => h.packet.outer?.kind)).toEqual(c.encap ? [c.encap] : []);
    }
    // Every move followed a link of the topology graph.
    expect([...s.problems]).toEqual([]);
  });

  test.prop([fc.array(policyArb, { minLength: 1, maxLength: 3 }), fc.integer({ min: 2, max: 4 }), fc.nat(), fc.constantFrom(80, 9090)], { numRuns: 20 })(
    'with any NetworkPolicy set (Calico), no delivered path violates it, and removing all policies never reduces reachability',
    (policies, nodes, a, port) => {
      const spec: ProfileSpec = { cni: 'calico', mode: 'ipip', nodes: nodesLine(undefined, nodes)! };
      const withP = simulate(spec, objects(3, policyYaml(policies)));
      const sp = session(withP);
      // The same cluster with NetworkPolicy not enforced: what the policies could only take away from.
      const sn = session(withP, { enforcePolicy: false });
      const pods = allPods(withP);
      const src = pods[a % pods.length]!;
      const start = { kind: 'pod' as const, namespace: src.metadata!.namespace!, name: src.metadata!.name!, node: src.spec!.nodeName! };
      const svc = (withP.cluster.store.get('Service', 'default', 'api') as unknown as { spec: { clusterIP: string } }).spec.clusterIP;
      const dsts = [{ dst: svc, dport: port }, ...pods.map((p) => ({ dst: p.status!.podIP!, dport: 8080 }))];
      for (const d of dsts) {
        const pw = sp.trace(start, { proto: 'tcp', ...d });
        const pn = sn.trace(start, { proto: 'tcp', ...d });
        for (const path of pw.filter((x) => x.outcome === 'delivered')) {
          const [, ns, name] = path.endpoint!.split('/');
          const dstPod = sp.pod(ns!, name!)!;
          const dnat = [...path.hops].reverse().find((h) => h.stage === 'deliver')!;
          const verdict = sp.policy.evaluate({ src: { pod: src }, dst: { pod: dstPod }, protocol: 'TCP', port: dnat.packet.dport });
          expect(verdict.allowed, `${path.endpoint} delivered though policy says ${verdict.ingress.text}`).toBe(true);
        }
        const reachW = new Set(pw.filter((x) => x.outcome === 'delivered').map((x) => x.endpoint));
        const reachN = new Set(pn.filter((x) => x.outcome === 'delivered').map((x) => x.endpoint));
        for (const e of reachW) expect(reachN.has(e)).toBe(true);
        // Without enforcement every path is delivered: policies are the only thing that drops here.
        expect(pn.every((x) => x.outcome === 'delivered')).toBe(true);
        expect(total(pw)).toEqual(fraction(1n, 1n));
      }
    },
  );
});
