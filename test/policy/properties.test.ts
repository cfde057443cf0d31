// Properties of NetworkPolicy evaluation over random policy sets on the x/y/z model.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import type { Namespace, Pod } from 'kubernetes-types/core/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { IPBlock, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec } from 'kubernetes-types/networking/v1.js';
import { matchesSelector } from '../../src/cluster/labels.js';
import { buildPolicyIndex, PolicyIndex, type Endpoint, type PolicyResult } from '../../src/policy/index.js';
import { ALL_POD_REFS, makeNamespace, model, netpol, nodeIp, podIn } from './model.js';

const m = model();

// --- arbitraries -------------------------------------------------------------------------------

const podSel = fc.constantFrom<LabelSelector>({}, { matchLabels: { pod: 'a' } }, { matchLabels: { pod: 'b' } }, podIn('a', 'b'), {
  matchExpressions: [{ key: 'pod', operator: 'NotIn', values: ['c'] }],
});
const nsSel = fc.constantFrom<LabelSelector>({}, { matchLabels: { ns: 'x' } }, { matchLabels: { ns: 'y' } }, { matchExpressions: [{ key: 'ns', operator: 'In', values: ['y', 'z'] }] }, {
  matchLabels: { team: 'blue' },
});
const peer: fc.Arbitrary<NetworkPolicyPeer> = fc.oneof(
  podSel.map((podSelector) => ({ podSelector })),
  nsSel.map((namespaceSelector) => ({ namespaceSelector })),
  fc.tuple(podSel, nsSel).map(([podSelector, namespaceSelector]) => ({ podSelector, namespaceSelector })),
  fc
    .constantFrom<IPBlock>(
      { cidr: '10.244.0.0/16' },
      { cidr: '10.244.1.0/24' },
      { cidr: '10.244.0.0/16', except: ['10.244.2.0/24'] },
      { cidr: '0.0.0.0/0', except: ['10.244.1.10/32'] },
      { cidr: '203.0.113.0/24' },
      { cidr: '192.168.0.0/24' },
    )
    .map((ipBlock) => ({ ipBlock })),
);
const port: fc.Arbitrary<NetworkPolicyPort> = fc.oneof(
  fc.record(
    {
      port: fc.constantFrom<number | string>(80, 81, 'serve-80-tcp', 'serve-81-udp', 'serve-80-sctp'),
      protocol: fc.constantFrom('TCP', 'UDP', 'SCTP'),
    },
    { requiredKeys: [] },
  ),
  fc.record({ port: fc.constant(79), endPort: fc.constantFrom(80, 81), protocol: fc.constantFrom('TCP', 'UDP') }),
);
const rule = fc.record({ peers: fc.option(fc.array(peer, { maxLength: 2 }), { nil: undefined }), ports: fc.option(fc.array(port, { maxLength: 2 }), { nil: undefined }) });

const spec: fc.Arbitrary<{ ns: string; spec: NetworkPolicySpec }> = fc
  .record({
    ns: fc.constantFrom('x', 'y', 'z'),
    podSelector: podSel,
    policyTypes: fc.option(fc.constantFrom<string[]>(['Ingress'], ['Egress'], ['Ingress', 'Egress']), { nil: undefined }),
    ingress: fc.option(fc.array(rule, { maxLength: 2 }), { nil: undefined }),
    egress: fc.option(fc.array(rule, { maxLength: 2 }), { nil: undefined }),
  })
  .map((r) => ({
    ns: r.ns,
    spec: {
      podSelector: r.podSelector,
      ...(r.policyTypes ? { policyTypes: r.policyTypes } : {}),
      ...(r.ingress ? { ingress: r.ingress.map((x) => ({ from: x.peers, ports: x.ports })) } : {}),
      ...(r.egress ? { egress: r.egress.map((x) => ({ to: x.peers, ports: x.ports })) } : {}),
    },
  }));

const policies = (max = 4) => fc.array(spec, { maxLength: max }).map((list) => list.map((s, i) => netpol(s.ns, `p${i}`, s.spec)));

// --- probing -----------------------------------------------------------------------------------

const OUTSIDE = ['203.0.113.5', nodeIp('node-2')];
const TRAFFIC: readonly [number, string][] = [
  [80, 'TCP'],
  [81, 'UDP'],
  [80, 'SCTP'],
  [81, 'TCP'],
];

interface Probe {
  readonly key: string;
  readonly src: Endpoint;
  readonly dst: Endpoint;
  readonly port: number;
  readonly protocol: string;
}

function probes(pods: (ref: string) => Pod): Probe[] {
  const ends: [string, Endpoint][] = [...ALL_POD_REFS.map((r): [string, Endpoint] => [r, { pod: pods(r) }]), ...OUTSIDE.map((ip): [string, Endpoint] => [ip, { ip }])];
  const out: Probe[] = [];
  for (const [s, src] of ends) {
    for (const [d, dst] of ends) {
      if ('ip' in src && 'ip' in dst && !('pod' in src) && !('pod' in dst)) continue;
      for (const [port, protocol] of TRAFFIC) out.push({ key: `${s}>${d} ${port}/${protocol}`, src, dst, port, protocol });
    }
  }
  return out;
}

const PROBES = probes((r) => m.pod(r));

function run(index: PolicyIndex, list: readonly Probe[] = PROBES): Map<string, PolicyResult> {
  return new Map(list.map((p) => [p.key, index.evaluate({ src: p.src, dst: p.dst, protocol: p.protocol, port: p.port })]));
}

const build = (ps: NetworkPolicy[], namespaces: Namespace[] = m.namespaces, pods: Pod[] = m.pods) => buildPolicyIndex({ policies: ps, pods, namespaces, nodes: m.nodes });

/** Written from the API docs, independently of the evaluator: does `p` isolate this end in `dir`? */
function selects(p: NetworkPolicy, end: Endpoint, dir: 'ingress' | 'egress'): boolean {
  if (!('pod' in end)) return false;
  const pod = end.pod;
  if (pod.metadata!.namespace !== p.metadata!.namespace || !matchesSelector(p.spec!.podSelector, pod.metadata!.labels)) return false;
  const types = p.spec!.policyTypes ?? (p.spec!.egress?.length ? ['Ingress', 'Egress'] : ['Ingress']);
  return types.includes(dir === 'ingress' ? 'Ingress' : 'Egress');
}

const isolated = (kind: string) => kind === 'allowed' || kind === 'denied' || kind === 'exempt';

describe('NetworkPolicy evaluation properties', () => {
  test('allowed iff the egress verdict of the source and the ingress verdict of the destination both allow', () => {
    fc.assert(
      fc.property(policies(), (ps) => {
        const index = build(ps);
        const bad: string[] = [];
        for (const p of PROBES) {
          const r = index.evaluate({ src: p.src, dst: p.dst, protocol: p.protocol, port: p.port });
          if (r.allowed !== (r.egress.allowed && r.ingress.allowed)) bad.push(`${p.key}: allowed ${r.allowed}`);
          // each direction is a function of its own end alone
          if (index.verdict('egress', p.src, p.dst, p.protocol, p.port).text !== r.egress.text) bad.push(`${p.key}: egress differs`);
          if (index.verdict('ingress', p.dst, p.src, p.protocol, p.port).text !== r.ingress.text) bad.push(`${p.key}: ingress differs`);
        }
        expect(bad).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  test('removing all policies allows everything', () => {
    fc.assert(
      fc.property(policies(), (ps) => {
        const index = build(ps);
        for (const p of ps) index.deletePolicy(p.metadata!.namespace!, p.metadata!.name!);
        const bad = [...run(index)].filter(([, r]) => !r.allowed || r.ingress.kind !== 'not-isolated' || r.egress.kind !== 'not-isolated').map(([k]) => k);
        expect(bad).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  test('adding a policy changes verdicts only for the ends it selects, and never narrows what an already isolated end allowed', () => {
    fc.assert(
      fc.property(policies(3), spec, (ps, extra) => {
        const added = netpol(extra.ns, 'added', extra.spec);
        const before = run(build(ps));
        const after = run(build([...ps, added]));
        const bad: string[] = [];
        for (const p of PROBES) {
          const b = before.get(p.key)!;
          const a = after.get(p.key)!;
          for (const [dir, target] of [
            ['ingress', p.dst],
            ['egress', p.src],
          ] as const) {
            if (a[dir].allowed !== b[dir].allowed && !selects(added, target, dir)) bad.push(`${p.key} ${dir}: changed though the policy does not select it`);
            // additivity: an end already isolated in this direction keeps everything it allowed
            if (isolated(b[dir].kind) && b[dir].allowed && !a[dir].allowed) bad.push(`${p.key} ${dir}: narrowed`);
            // an end that was not isolated can only lose
            if (!isolated(b[dir].kind) && a[dir].allowed && !b[dir].allowed) bad.push(`${p.key} ${dir}: widened`);
          }
        }
        expect(bad).toEqual([]);
      }),
      { numRuns: 80 },
    );
  });

  test('denied iff every isolating policy, alone, denies (policies are a union of allow-lists)', () => {
    fc.assert(
      fc.property(policies(), (ps) => {
        const index = build(ps);
        const alone = new Map(ps.map((p) => [`${p.metadata!.namespace}/${p.metadata!.name}`, build([p])]));
        const bad: string[] = [];
        for (const p of PROBES) {
          const q = { src: p.src, dst: p.dst, protocol: p.protocol, port: p.port };
          const r = index.evaluate(q);
          for (const dir of ['ingress', 'egress'] as const) {
            const v = r[dir];
            if (v.kind !== 'allowed' && v.kind !== 'denied') continue;
            const single = v.isolatedBy.map((ref) => alone.get(ref)!.evaluate(q)[dir]);
            if ((v.kind === 'denied') !== single.every((s) => !s.allowed)) bad.push(`${p.key} ${dir}: ${v.kind} but policies alone say ${single.map((s) => s.allowed)}`);
            if (v.kind === 'allowed' && !alone.get(v.match.policy)!.evaluate(q)[dir].allowed) bad.push(`${p.key} ${dir}: ${v.match.policy} alone does not allow`);
          }
        }
        expect(bad).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  test('the order policies are given in does not change any verdict', () => {
    fc.assert(
      fc.property(
        policies(5).chain((ps) => fc.tuple(fc.constant(ps), fc.shuffledSubarray(ps, { minLength: ps.length, maxLength: ps.length }))),
        ([ps, shuffled]) => {
          expect(run(build(shuffled))).toEqual(run(build(ps)));
        },
      ),
      { numRuns: 40 },
    );
  });

  test('incremental updates (policies, pod labels, namespace labels) answer as a fresh build', () => {
    const podLabels = fc.constantFrom<Record<string, string>>({ pod: 'a' }, { pod: 'b' }, { pod: 'c' }, { pod: 'a', extra: '1' }, {});
    const nsLabels = fc.constantFrom<Record<string, string>>({ ns: 'x' }, { ns: 'y' }, { ns: 'z', team: 'blue' }, { team: 'blue' });
    const op = fc.oneof(
      spec.map((s) => ({ kind: 'set-policy' as const, s, name: 'q' })),
      fc.record({ kind: fc.constant('set-policy' as const), s: spec, name: fc.constantFrom('p0', 'p1', 'r') }),
      fc.record({ kind: fc.constant('delete-policy' as const), ns: fc.constantFrom('x', 'y', 'z'), name: fc.constantFrom('p0', 'p1', 'q', 'r') }),
      fc.record({ kind: fc.constant('relabel-pod' as const), ref: fc.constantFrom(...ALL_POD_REFS), labels: podLabels }),
      fc.record({ kind: fc.constant('relabel-ns' as const), ns: fc.constantFrom('x', 'y', 'z'), labels: nsLabels }),
    );
    fc.assert(
      fc.property(policies(3), fc.array(op, { maxLength: 6 }), (initial, ops) => {
        const index = build(initial);
        const pols = new Map(initial.map((p) => [`${p.metadata!.namespace}/${p.metadata!.name}`, p]));
        const pods = new Map(m.pods.map((p) => [`${p.metadata!.namespace}/${p.metadata!.name}`, p]));
        const nss = new Map(m.namespaces.map((n) => [n.metadata!.name!, n]));
        // Interleave queries so that stale cache entries would be seen.
        run(index, PROBES.filter((_, i) => i % 7 === 0));
        for (const o of ops) {
          if (o.kind === 'set-policy') {
            const p = netpol(o.s.ns, o.name, o.s.spec);
            pols.set(`${o.s.ns}/${o.name}`, p);
            index.setPolicy(p);
          } else if (o.kind === 'delete-policy') {
            pols.delete(`${o.ns}/${o.name}`);
            index.deletePolicy(o.ns, o.name);
          } else if (o.kind === 'relabel-pod') {
            const old = pods.get(o.ref)!;
            const p = { ...old, metadata: { ...old.metadata, labels: o.labels } };
            pods.set(o.ref, p);
            index.setPod(p);
          } else {
            const n = makeNamespace(o.ns, o.labels);
            nss.set(o.ns, n);
            index.setNamespace(n);
          }
          run(index, PROBES.filter((_, i) => i % 5 === 0));
        }
        const list = probes((r) => pods.get(r)!);
        const fresh = buildPolicyIndex({ policies: [...pols.values()], pods: [...pods.values()], namespaces: [...nss.values()], nodes: m.nodes });
        expect(run(index, list)).toEqual(run(fresh, list));
      }),
      { numRuns: 60 },
    );
  });
});
