// NetworkPolicy semantics beyond the §3.2 table: defaults, rule shapes, ports, peers that are not
// pods, and the verdicts (which rule allowed, why nothing did) a traced packet shows.
import { describe, expect, test } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { NetworkPolicy } from 'kubernetes-types/networking/v1.js';
import { buildPolicyIndex, effectivePolicyTypes, type PolicyIndex } from '../../src/policy/index.js';
import { ALL, labels, makePod, model, netpol, nodeIp } from './model.js';

const m = model();
const index = (policies: NetworkPolicy[], extraPods: Pod[] = [], opts?: { ipBlockMatchesPods?: boolean }): PolicyIndex =>
  buildPolicyIndex({ policies, pods: [...m.pods, ...extraPods], namespaces: m.namespaces, nodes: m.nodes }, opts);
const pod = (ref: string) => ({ pod: m.pod(ref) });

describe('policyTypes defaulting (pkg/apis/networking/v1/defaults.go)', () => {
  test('no policyTypes: Ingress, plus Egress only when egress rules exist', () => {
    expect(effectivePolicyTypes(netpol('x', 'p', { podSelector: ALL }))).toEqual({ ingress: true, egress: false });
    expect(effectivePolicyTypes(netpol('x', 'p', { podSelector: ALL, egress: [] }))).toEqual({ ingress: true, egress: false });
    expect(effectivePolicyTypes(netpol('x', 'p', { podSelector: ALL, egress: [{}] }))).toEqual({ ingress: true, egress: true });
  });

  test('policyTypes [Egress] with ingress rules present does not isolate ingress', () => {
    const i = index([netpol('x', 'egress-only', { podSelector: ALL, policyTypes: ['Egress'], ingress: [{ from: [{ podSelector: labels({ pod: 'nobody' }) }] }], egress: [{}] })]);
    const r = i.evaluate({ src: pod('y/a'), dst: pod('x/a'), protocol: 'TCP', port: 80 });
    expect(r.ingress.kind).toBe('not-isolated');
    expect(r.allowed).toBe(true);
  });

  test('egress rules with no policyTypes isolate egress', () => {
    const i = index([netpol('x', 'egress-80', { podSelector: labels({ pod: 'a' }), egress: [{ ports: [{ port: 80 }] }] })]);
    expect(i.evaluate({ src: pod('x/a'), dst: pod('y/a'), protocol: 'TCP', port: 81 }).allowed).toBe(false);
    expect(i.evaluate({ src: pod('x/a'), dst: pod('y/a'), protocol: 'TCP', port: 80 }).allowed).toBe(true);
  });
});

describe('rule shapes', () => {
  test('ingress: [{}] allows everything; ingress: [] allows nothing', () => {
    const open = index([netpol('x', 'allow-all', { podSelector: ALL, ingress: [{}] })]);
    const closed = index([netpol('x', 'deny-all', { podSelector: ALL, ingress: [] })]);
    expect(open.evaluate({ src: { ip: '198.51.100.1' }, dst: pod('x/a'), protocol: 'UDP', port: 9 }).allowed).toBe(true);
    expect(closed.evaluate({ src: pod('x/b'), dst: pod('x/a'), protocol: 'TCP', port: 80 }).allowed).toBe(false);
  });

  test('an empty from list means all sources (ports still apply)', () => {
    const i = index([netpol('x', 'p', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [], ports: [{ port: 80 }] }] })]);
    expect(i.evaluate({ src: { ip: '198.51.100.1' }, dst: pod('x/a'), protocol: 'TCP', port: 80 }).allowed).toBe(true);
    expect(i.evaluate({ src: pod('z/c'), dst: pod('x/a'), protocol: 'TCP', port: 81 }).allowed).toBe(false);
  });

  test('a policy selects only pods of its own namespace', () => {
    const i = index([netpol('y', 'deny-all', { podSelector: labels({ pod: 'a' }), policyTypes: ['Ingress'] })]);
    expect(i.evaluate({ src: pod('z/a'), dst: pod('x/a'), protocol: 'TCP', port: 80 }).allowed).toBe(true);
    expect(i.evaluate({ src: pod('z/a'), dst: pod('y/a'), protocol: 'TCP', port: 80 }).allowed).toBe(false);
  });

  test('a namespace without a Namespace object still matches kubernetes.io/metadata.name', () => {
    const lone = makePod('lonely', 'p', { labels: { app: 'p' }, ip: '10.244.9.9' });
    const i = index([netpol('x', 'from-lonely', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ namespaceSelector: labels({ 'kubernetes.io/metadata.name': 'lonely' }) }] }] })], [lone]);
    expect(i.evaluate({ src: { pod: lone }, dst: pod('x/a'), protocol: 'TCP', port: 80 }).allowed).toBe(true);
  });

  test('the query protocol is case-insensitive (packets may say tcp)', () => {
    const i = index([netpol('x', 'tcp-80', { podSelector: labels({ pod: 'a' }), ingress: [{ ports: [{ port: 80 }] }] })]);
    expect(i.evaluate({ src: pod('y/a'), dst: pod('x/a'), protocol: 'tcp', port: 80 }).allowed).toBe(true);
    expect(i.evaluate({ src: pod('y/a'), dst: pod('x/a'), protocol: 'udp', port: 80 }).allowed).toBe(false);
  });

  test('protocols without ports (ICMP) match only rules without ports', () => {
    const i = index([
      netpol('x', 'tcp-80', { podSelector: labels({ pod: 'a' }), ingress: [{ ports: [{ port: 80 }] }] }),
      netpol('x', 'from-b', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ podSelector: labels({ pod: 'b' }) }] }] }),
    ]);
    expect(i.evaluate({ src: pod('x/c'), dst: pod('x/a'), protocol: 'ICMP', port: 0 }).allowed).toBe(false);
    expect(i.evaluate({ src: pod('x/b'), dst: pod('x/a'), protocol: 'ICMP', port: 0 }).allowed).toBe(true);
  });
});

describe('named ports', () => {
  test('a named egress port resolves against the destination pod', () => {
    const web = makePod('y', 'web', { labels: { app: 'web' }, ip: '10.244.1.50' });
    const webOn8080: Pod = { ...web, spec: { ...web.spec!, containers: [{ name: 'web', image: 'nginx', ports: [{ name: 'http', containerPort: 8080 }] }] } };
    const i = index([netpol('x', 'egress-http', { podSelector: labels({ pod: 'a' }), policyTypes: ['Egress'], egress: [{ ports: [{ port: 'http' }] }] })], [webOn8080]);
    expect(i.evaluate({ src: pod('x/a'), dst: { pod: webOn8080 }, protocol: 'TCP', port: 8080 }).allowed).toBe(true);
    expect(i.evaluate({ src: pod('x/a'), dst: { pod: webOn8080 }, protocol: 'TCP', port: 80 }).allowed).toBe(false);
    // y/a has no port named http
    expect(i.evaluate({ src: pod('x/a'), dst: pod('y/a'), protocol: 'TCP', port: 8080 }).allowed).toBe(false);
  });

  test('a named egress port never matches a destination outside the pod network (nothing to resolve it against)', () => {
    const i = index([netpol('x', 'egress-named', { podSelector: labels({ pod: 'a' }), policyTypes: ['Egress'], egress: [{ ports: [{ port: 'serve-80-tcp' }] }] })]);
    expect(i.evaluate({ src: pod('x/a'), dst: { ip: '203.0.113.10' }, protocol: 'TCP', port: 80 }).allowed).toBe(false);
    expect(i.evaluate({ src: pod('x/a'), dst: pod('y/b'), protocol: 'TCP', port: 80 }).allowed).toBe(true);
  });

  test('ports of sidecars (restartable init containers) resolve too', () => {
    const base = makePod('x', 'side', { labels: { app: 'side' }, ip: '10.244.2.50' });
    const withSidecar: Pod = { ...base, spec: { ...base.spec!, containers: [], initContainers: [{ name: 'proxy', image: 'envoy', restartPolicy: 'Always', ports: [{ name: 'proxy', containerPort: 15001 }] }] } };
    const i = index([netpol('x', 'proxy-only', { podSelector: labels({ app: 'side' }), ingress: [{ ports: [{ port: 'proxy' }] }] })], [withSidecar]);
    expect(i.evaluate({ src: pod('y/a'), dst: { pod: withSidecar }, protocol: 'TCP', port: 15001 }).allowed).toBe(true);
  });
});

describe('ipBlock', () => {
  test('matches pod IPs by default (e2e and Cyclonus), not with ipBlockMatchesPods: false', () => {
    const p = netpol('x', 'from-cidr', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/16' } }] }] });
    expect(index([p]).evaluate({ src: pod('y/b'), dst: pod('x/a'), protocol: 'TCP', port: 80 }).allowed).toBe(true);
    const strict = index([p], [], { ipBlockMatchesPods: false });
    expect(strict.evaluate({ src: pod('y/b'), dst: pod('x/a'), protocol: 'TCP', port: 80 }).allowed).toBe(false);
    // outside addresses still match in both modes
    expect(strict.evaluate({ src: { ip: '10.244.200.1' }, dst: pod('x/a'), protocol: 'TCP', port: 80 }).allowed).toBe(true);
  });

  test('an {ip} that is a pod IP is that pod (selectors match it)', () => {
    const i = index([netpol('x', 'from-y', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ namespaceSelector: labels({ ns: 'y' }) }] }] })]);
    expect(i.evaluate({ src: { ip: m.pod('y/c').status!.podIP! }, dst: pod('x/a'), protocol: 'TCP', port: 80 }).allowed).toBe(true);
    expect(i.evaluate({ src: { ip: m.pod('z/c').status!.podIP! }, dst: pod('x/a'), protocol: 'TCP', port: 80 }).allowed).toBe(false);
  });

  test('IPv6 blocks match the IPv6 address of a dual-stack pod', () => {
    const base = makePod('y', 'dual', { labels: { app: 'dual' }, ip: '10.244.1.77' });
    const dual: Pod = { ...base, status: { ...base.status, podIPs: [{ ip: '10.244.1.77' }, { ip: 'fd00:10:244:1::77' }] } };
    const i = index([netpol('x', 'from-v6', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ ipBlock: { cidr: 'fd00:10:244::/48' } }] }] })], [dual]);
    expect(i.evaluate({ src: { pod: dual }, dst: pod('x/a'), protocol: 'TCP', port: 80 }).allowed).toBe(true);
    expect(i.evaluate({ src: { pod: dual, ip: '10.244.1.77' }, dst: pod('x/a'), protocol: 'TCP', port: 80 }).allowed).toBe(false);
    expect(i.evaluate({ src: { ip: 'fd00:10:244:1:0:0:0:77' }, dst: pod('x/a'), protocol: 'TCP', port: 80 }).allowed).toBe(true);
  });

  test('an unparsable CIDR matches nothing', () => {
    const i = index([netpol('x', 'bad', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }] })]);
    expect(i.evaluate({ src: { ip: '10.0.0.1' }, dst: pod('x/a'), protocol: 'TCP', port: 80 }).allowed).toBe(false);
  });
});

describe('hostNetwork pods (no pod network identity)', () => {
  const hostPod = makePod('x', 'agent', { node: 'node-2', hostNetwork: true, labels: { pod: 'a' } });

  test('are not selected by policies, even when their labels match', () => {
    const i = index([netpol('x', 'deny-all', { podSelector: ALL, policyTypes: ['Ingress', 'Egress'] })], [hostPod]);
    const r = i.evaluate({ src: pod('y/a'), dst: { pod: hostPod }, protocol: 'TCP', port: 80 });
    expect(r.ingress).toMatchObject({ kind: 'not-isolated', why: 'host-network' });
    expect(i.evaluate({ src: { pod: hostPod }, dst: pod('y/a'), protocol: 'TCP', port: 80 }).egress).toMatchObject({ kind: 'not-isolated', why: 'host-network' });
  });

  test('as peers they are not matched by pod or namespace selectors, only by an ipBlock holding the node IP', () => {
    const bySelector = index([netpol('z', 'from-all-pods', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ namespaceSelector: {} }] }] })], [hostPod]);
    expect(bySelector.evaluate({ src: { pod: hostPod }, dst: pod('z/a'), protocol: 'TCP', port: 80 }).allowed).toBe(false);
    const byIp = index([netpol('z', 'from-nodes', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ ipBlock: { cidr: `${nodeIp('node-2')}/32` } }] }] })], [hostPod]);
    expect(byIp.evaluate({ src: { pod: hostPod }, dst: pod('z/a'), protocol: 'TCP', port: 80 }).allowed).toBe(true);
  });
});

describe('a pod talking to itself', () => {
  test('is allowed in both directions even under default-deny (the packet stays on lo)', () => {
    const i = index([netpol('x', 'deny-all', { podSelector: ALL, policyTypes: ['Ingress', 'Egress'] })]);
    const r = i.evaluate({ src: pod('x/a'), dst: pod('x/a'), protocol: 'TCP', port: 80 });
    expect(r.allowed).toBe(true);
    expect(r.ingress).toMatchObject({ kind: 'exempt', why: 'self' });
    expect(r.egress).toMatchObject({ kind: 'exempt', why: 'self' });
  });
});

describe('verdicts', () => {
  test('denied: the sentence names the isolating policy and the port no rule holds', () => {
    const i = index([netpol('x', 'deny-all-but-80', { podSelector: labels({ pod: 'a' }), ingress: [{ ports: [{ port: 80 }] }] })]);
    const v = i.evaluate({ src: pod('y/a'), dst: pod('x/a'), protocol: 'TCP', port: 81 }).ingress;
    expect(v.kind).toBe('denied');
    expect(v).toMatchObject({ isolatedBy: ['x/deny-all-but-80'] });
    expect(v.text).toBe('x/a is isolated for ingress by x/deny-all-but-80 and no rule allows pod y/a on port 81/TCP: port 81/TCP is not in any ingress rule of x/deny-all-but-80');
  });

  test('denied: policies without rules and rules whose peers miss are explained', () => {
    const i = index([
      netpol('x', 'deny-all', { podSelector: ALL, policyTypes: ['Egress'] }),
      netpol('x', 'to-y-80', { podSelector: labels({ pod: 'a' }), policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: labels({ ns: 'y' }) }], ports: [{ port: 80 }] }] }),
    ]);
    const v = i.evaluate({ src: pod('x/a'), dst: pod('z/b'), protocol: 'TCP', port: 80 }).egress;
    expect(v.kind).toBe('denied');
    expect(v.text).toBe(
      'x/a is isolated for egress by x/deny-all, x/to-y-80 and no rule allows pod z/b on port 80/TCP: x/deny-all has no egress rules; pod z/b is not in the to peers of any egress rule of x/to-y-80 that allows port 80/TCP',
    );
  });

  test('allowed: names policy, rule, peer and port (0-based, as in the YAML)', () => {
    const i = index([
      netpol('x', 'b-or-y', {
        podSelector: labels({ pod: 'a' }),
        ingress: [
          { from: [{ ipBlock: { cidr: '192.0.2.0/24' } }] },
          { from: [{ namespaceSelector: labels({ ns: 'y' }) }, { podSelector: labels({ pod: 'b' }) }], ports: [{ port: 81 }, { port: 80, protocol: 'TCP' }] },
        ],
      }),
    ]);
    const v = i.evaluate({ src: pod('x/b'), dst: pod('x/a'), protocol: 'TCP', port: 80 }).ingress;
    expect(v.kind).toBe('allowed');
    if (v.kind !== 'allowed') return;
    expect(v.match).toMatchObject({ policy: 'x/b-or-y', direction: 'ingress', rule: 1, peer: 1, port: 1 });
    expect(v.text).toBe('x/a is isolated for ingress by x/b-or-y; pod x/b on port 80/TCP allowed by x/b-or-y spec.ingress[1].from[1] (podSelector pod=b), ports[1] (80/TCP)');
  });

  test('allowed by a rule without peers or ports: both indices are undefined', () => {
    const i = index([netpol('x', 'allow-all', { podSelector: ALL, ingress: [{}] })]);
    const v = i.evaluate({ src: { ip: '198.51.100.9' }, dst: pod('x/c'), protocol: 'UDP', port: 5353 }).ingress;
    expect(v).toMatchObject({ kind: 'allowed', match: { rule: 0, peer: undefined, port: undefined } });
    expect(v.text).toContain('spec.ingress[0] (all sources), all ports');
  });

  test('several isolating policies: isolatedBy lists them all, the first allowing one by name is reported', () => {
    const i = index([
      netpol('x', 'zz-allow-all', { podSelector: ALL, ingress: [{}] }),
      netpol('x', 'aa-deny', { podSelector: ALL, policyTypes: ['Ingress'] }),
      netpol('x', 'mm-allow-80', { podSelector: labels({ pod: 'a' }), ingress: [{ ports: [{ port: 80 }] }] }),
    ]);
    const v = i.evaluate({ src: pod('y/a'), dst: pod('x/a'), protocol: 'TCP', port: 80 }).ingress;
    expect(v).toMatchObject({ kind: 'allowed', isolatedBy: ['x/aa-deny', 'x/mm-allow-80', 'x/zz-allow-all'], match: { policy: 'x/mm-allow-80' } });
  });

  test('not isolated: says no policy selects the pod in that direction', () => {
    const i = index([netpol('x', 'deny-a', { podSelector: labels({ pod: 'a' }), policyTypes: ['Ingress'] })]);
    expect(i.evaluate({ src: pod('y/a'), dst: pod('x/b'), protocol: 'TCP', port: 80 }).ingress.text).toBe('no NetworkPolicy selects x/b for ingress');
  });
});
