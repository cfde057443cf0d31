// The NetworkPolicy edge cases of reference §3.2 (N1–N18), one test each, on the x/y/z model.
import { describe, expect, test } from 'vitest';
import type { NetworkPolicy } from 'kubernetes-types/networking/v1.js';
import { buildPolicyIndex, type PolicyIndex } from '../../src/policy/index.js';
import { ALL, labels, makeNamespace, makePod, model, netpol, nodeIp } from './model.js';

const m = model();
const index = (...policies: NetworkPolicy[]): PolicyIndex => buildPolicyIndex({ policies, pods: m.pods, namespaces: m.namespaces, nodes: m.nodes });
const pod = (ref: string) => ({ pod: m.pod(ref) });
const tcp = (i: PolicyIndex, from: string, to: string, port = 80, protocol = 'TCP') => i.evaluate({ src: pod(from), dst: pod(to), protocol, port }).allowed;

describe('NetworkPolicy edge cases (reference §3.2)', () => {
  test('N1: with no policy, anything is allowed (pods, outside addresses, every protocol)', () => {
    const i = index();
    for (const [from, to] of [
      ['x/a', 'y/b'],
      ['z/c', 'x/a'],
    ] as const) {
      for (const protocol of ['TCP', 'UDP', 'SCTP']) expect(tcp(i, from, to, 443, protocol)).toBe(true);
    }
    const r = i.evaluate({ src: { ip: '203.0.113.7' }, dst: pod('x/a'), protocol: 'TCP', port: 80 });
    expect(r.allowed).toBe(true);
    expect(r.ingress.kind).toBe('not-isolated');
    expect(r.egress).toMatchObject({ kind: 'not-isolated', why: 'not-a-pod' });
  });

  test('N2: default-deny ingress in x denies y/a → x/a but x/a → y/a stays allowed (egress not isolated)', () => {
    const i = index(netpol('x', 'default-deny', { podSelector: ALL, policyTypes: ['Ingress'] }));
    expect(tcp(i, 'y/a', 'x/a')).toBe(false);
    expect(tcp(i, 'x/a', 'y/a')).toBe(true);
    expect(i.evaluate({ src: pod('x/a'), dst: pod('y/a'), protocol: 'TCP', port: 80 }).egress.kind).toBe('not-isolated');
  });

  test('N3: egress: [] without policyTypes defaults to [Ingress]: x/a → y/a allowed, all ingress to x denied', () => {
    const i = index(netpol('x', 'empty-egress', { podSelector: ALL, egress: [] }));
    expect(tcp(i, 'x/a', 'y/a')).toBe(true);
    expect(tcp(i, 'y/a', 'x/a')).toBe(false);
    expect(tcp(i, 'x/b', 'x/a')).toBe(false);
  });

  test('N4: namespaceSelector and podSelector in one peer are ANDed', () => {
    const i = index(netpol('x', 'and', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ namespaceSelector: labels({ ns: 'y' }), podSelector: labels({ pod: 'b' }) }] }] }));
    expect(tcp(i, 'y/b', 'x/a')).toBe(true);
    expect(tcp(i, 'y/a', 'x/a')).toBe(false);
    expect(tcp(i, 'x/b', 'x/a')).toBe(false);
  });

  test('N5: namespaceSelector and podSelector as two peers are ORed', () => {
    const i = index(netpol('x', 'or', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ namespaceSelector: labels({ ns: 'y' }) }, { podSelector: labels({ pod: 'b' }) }] }] }));
    expect(tcp(i, 'y/a', 'x/a')).toBe(true);
    expect(tcp(i, 'x/b', 'x/a')).toBe(true);
    expect(tcp(i, 'z/b', 'x/a')).toBe(false);
  });

  test("N6: a podSelector alone selects pods of the policy's own namespace", () => {
    const i = index(netpol('x', 'own-ns', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ podSelector: {} }] }] }));
    for (const p of ['b', 'c']) expect(tcp(i, `x/${p}`, 'x/a')).toBe(true);
    for (const p of ['a', 'b', 'c']) expect(tcp(i, `y/${p}`, 'x/a')).toBe(false);
  });

  test('N7: namespaceSelector {} admits every pod of every namespace, but not an outside address', () => {
    const i = index(netpol('x', 'all-ns', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ namespaceSelector: {} }] }] }));
    for (const ns of ['x', 'y', 'z']) for (const p of ['a', 'b', 'c']) expect(tcp(i, `${ns}/${p}`, 'x/a')).toBe(true);
    expect(i.evaluate({ src: { ip: '203.0.113.7' }, dst: pod('x/a'), protocol: 'TCP', port: 80 }).allowed).toBe(false);
  });

  test('N8: a port without protocol means TCP: UDP 53 is denied, TCP 53 allowed', () => {
    const i = index(netpol('x', 'dns-tcp', { podSelector: labels({ pod: 'a' }), ingress: [{ ports: [{ port: 53 }] }] }));
    expect(tcp(i, 'y/a', 'x/a', 53, 'UDP')).toBe(false);
    expect(tcp(i, 'y/a', 'x/a', 53, 'TCP')).toBe(true);
  });

  test('N9: ipBlock except carves out addresses; a second policy allowing the carved address re-allows it (additive)', () => {
    const wide = netpol('x', 'wide', { podSelector: labels({ pod: 'a' }), policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }] }] });
    const to = (i: PolicyIndex, ip: string) => i.evaluate({ src: pod('x/a'), dst: { ip }, protocol: 'TCP', port: 443 }).allowed;
    const one = index(wide);
    expect(to(one, '10.1.2.3')).toBe(false);
    expect(to(one, '10.2.0.1')).toBe(true);
    expect(to(one, '192.0.2.1')).toBe(false);
    const two = index(wide, netpol('x', 'one-host', { podSelector: labels({ pod: 'a' }), policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.1.2.3/32' } }] }] }));
    expect(to(two, '10.1.2.3')).toBe(true);
    expect(to(two, '10.1.2.4')).toBe(false);
  });

  test('N10: endPort is an inclusive range: 32768 allowed, 32769 and 31999 denied', () => {
    const i = index(netpol('x', 'range', { podSelector: labels({ pod: 'a' }), ingress: [{ ports: [{ port: 32000, endPort: 32768 }] }] }));
    expect(tcp(i, 'y/a', 'x/a', 32000)).toBe(true);
    expect(tcp(i, 'y/a', 'x/a', 32768)).toBe(true);
    expect(tcp(i, 'y/a', 'x/a', 32769)).toBe(false);
    expect(tcp(i, 'y/a', 'x/a', 31999)).toBe(false);
  });

  test('N11: a named ingress port serve-81-tcp opens 81 and not 80', () => {
    const i = index(netpol('x', 'named', { podSelector: labels({ pod: 'a' }), ingress: [{ ports: [{ port: 'serve-81-tcp' }] }] }));
    expect(tcp(i, 'y/a', 'x/a', 81)).toBe(true);
    expect(tcp(i, 'y/a', 'x/a', 80)).toBe(false);
  });

  test('N12: both ends must allow: x/a egress only to y/a, y/b ingress allows x/a → x/a → y/b denied', () => {
    const i = index(
      netpol('x', 'egress-to-ya', { podSelector: labels({ pod: 'a' }), policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: labels({ ns: 'y' }), podSelector: labels({ pod: 'a' }) }] }] }),
      netpol('y', 'from-xa', { podSelector: labels({ pod: 'b' }), ingress: [{ from: [{ namespaceSelector: labels({ ns: 'x' }), podSelector: labels({ pod: 'a' }) }] }] }),
    );
    const r = i.evaluate({ src: pod('x/a'), dst: pod('y/b'), protocol: 'TCP', port: 80 });
    expect(r.allowed).toBe(false);
    expect(r.egress.kind).toBe('denied');
    expect(r.ingress.kind).toBe('allowed');
    expect(tcp(i, 'x/a', 'y/a')).toBe(true);
  });

  describe("N13: traffic from the pod's own node is always allowed into an isolated pod", () => {
    const deny = netpol('x', 'deny-all', { podSelector: ALL, policyTypes: ['Ingress'] });
    const i = index(deny);
    const nodeOfXa = m.pod('x/a').spec!.nodeName!;

    test('the node IP (kubelet probe) of x/a’s node is exempt', () => {
      const r = i.evaluate({ src: { ip: nodeIp(nodeOfXa) }, dst: pod('x/a'), protocol: 'TCP', port: 80 });
      expect(r.allowed).toBe(true);
      expect(r.ingress).toMatchObject({ kind: 'exempt', why: 'node-local', isolatedBy: ['x/deny-all'] });
    });

    test('a caller-marked fromNode source is exempt', () => {
      expect(i.evaluate({ src: { ip: '169.254.1.1', fromNode: true }, dst: pod('x/a'), protocol: 'TCP', port: 80 }).ingress).toMatchObject({ kind: 'exempt', why: 'node-local' });
    });

    test('a hostNetwork pod on the same node is exempt; one on another node is not', () => {
      const same = makePod('y', 'host-same', { node: nodeOfXa, hostNetwork: true, labels: { app: 'agent' } });
      const other = makePod('y', 'host-other', { node: 'node-2', hostNetwork: true, labels: { app: 'agent' } });
      expect(i.evaluate({ src: { pod: same }, dst: pod('x/a'), protocol: 'TCP', port: 80 }).allowed).toBe(true);
      const r = i.evaluate({ src: { pod: other }, dst: pod('x/a'), protocol: 'TCP', port: 80 });
      expect(r.allowed).toBe(false);
      expect(r.egress).toMatchObject({ kind: 'not-isolated', why: 'host-network' });
    });

    test('another node’s IP is not exempt', () => {
      expect(i.evaluate({ src: { ip: nodeIp('node-2') }, dst: pod('x/a'), protocol: 'TCP', port: 80 }).allowed).toBe(false);
    });

    test('without Node objects, node addresses are learnt from pods’ hostIPs', () => {
      const noNodes = buildPolicyIndex({ policies: [deny], pods: m.pods, namespaces: m.namespaces });
      expect(noNodes.evaluate({ src: { ip: nodeIp(nodeOfXa) }, dst: pod('x/a'), protocol: 'TCP', port: 80 }).allowed).toBe(true);
    });
  });

  test('N14: a policy allowing only UDP 81 denies TCP 81 and isolates the pod', () => {
    const i = index(netpol('x', 'udp-81', { podSelector: labels({ pod: 'a' }), ingress: [{ ports: [{ port: 81, protocol: 'UDP' }] }] }));
    expect(tcp(i, 'y/a', 'x/a', 81, 'TCP')).toBe(false);
    expect(tcp(i, 'y/a', 'x/a', 81, 'UDP')).toBe(true);
    expect(tcp(i, 'y/a', 'x/a', 80, 'TCP')).toBe(false);
  });

  test('N15: a policy allowing only SCTP 80 denies TCP 81', () => {
    const i = index(netpol('x', 'sctp-80', { podSelector: labels({ pod: 'a' }), ingress: [{ ports: [{ port: 80, protocol: 'SCTP' }] }] }));
    expect(tcp(i, 'y/a', 'x/a', 81, 'TCP')).toBe(false);
    expect(tcp(i, 'y/a', 'x/a', 80, 'SCTP')).toBe(true);
  });

  test('N16: a pod whose labels change to match a deny policy is denied after the update', () => {
    const i = index(netpol('x', 'deny-ingress-via-label-selector', { podSelector: labels({ target: 'isolated' }), policyTypes: ['Ingress'] }));
    expect(tcp(i, 'y/a', 'x/a')).toBe(true);
    const old = m.pod('x/a');
    const updated = { ...old, metadata: { ...old.metadata, labels: { ...old.metadata!.labels, target: 'isolated' } } };
    i.setPod(updated);
    expect(i.evaluate({ src: pod('y/a'), dst: { pod: updated }, protocol: 'TCP', port: 80 }).allowed).toBe(false);
    // …and found by its IP too.
    expect(i.evaluate({ src: pod('y/a'), dst: { ip: updated.status!.podIP! }, protocol: 'TCP', port: 80 }).allowed).toBe(false);
  });

  test('N17: a namespace that gains a label matched by a namespaceSelector is allowed after the update', () => {
    const i = index(netpol('x', 'allow-client-a-via-ns-selector', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ namespaceSelector: labels({ ns2: 'updated' }) }] }] }));
    expect(tcp(i, 'y/a', 'x/a')).toBe(false);
    i.setNamespace(makeNamespace('y', { ns: 'y', ns2: 'updated' }));
    expect(tcp(i, 'y/a', 'x/a')).toBe(true);
    expect(tcp(i, 'z/a', 'x/a')).toBe(false);
  });

  test('N18: replies of an allowed connection pass even when the replying pod has default-deny egress', () => {
    const i = index(netpol('x', 'deny-egress', { podSelector: ALL, policyTypes: ['Egress'] }));
    expect(tcp(i, 'y/a', 'x/a')).toBe(true);
    expect(tcp(i, 'x/a', 'y/a')).toBe(false);
    const reply = i.evaluate({ src: pod('x/a'), dst: pod('y/a'), protocol: 'TCP', port: 80, isReply: true });
    expect(reply.allowed).toBe(true);
    expect(reply.egress.kind).toBe('reply');
    expect(reply.ingress.kind).toBe('reply');
  });
});
