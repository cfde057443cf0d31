// The index itself: policies grouped by namespace, per-pod selection cached and invalidated only
// by changes in the pod's namespace, and the IP / node maps kept current.
import { describe, expect, test } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { buildPolicyIndex, compilePolicy } from '../../src/policy/index.js';
import { ALL, labels, makeNamespace, makeNode, makePod, model, netpol, nodeIp } from './model.js';

const m = model();

describe('PolicyIndex', () => {
  test('selection is computed once per Pod object and reused', () => {
    const i = buildPolicyIndex({ policies: [netpol('x', 'deny', { podSelector: ALL, policyTypes: ['Ingress'] })], pods: m.pods, namespaces: m.namespaces });
    const first = i.selecting(m.pod('x/a'));
    expect(first.ingress.map((p) => p.ref)).toEqual(['x/deny']);
    expect(i.selecting(m.pod('x/a'))).toBe(first);
  });

  test('a policy change in another namespace keeps the cached selection; one in the same namespace refreshes it', () => {
    const i = buildPolicyIndex({ policies: [netpol('x', 'deny', { podSelector: ALL, policyTypes: ['Ingress'] })], pods: m.pods, namespaces: m.namespaces });
    const first = i.selecting(m.pod('x/a'));
    i.setPolicy(netpol('y', 'other', { podSelector: ALL, policyTypes: ['Egress'] }));
    expect(i.selecting(m.pod('x/a'))).toBe(first);
    i.setPolicy(netpol('x', 'egress', { podSelector: labels({ pod: 'a' }), policyTypes: ['Egress'] }));
    const second = i.selecting(m.pod('x/a'));
    expect(second).not.toBe(first);
    expect(second.egress.map((p) => p.ref)).toEqual(['x/egress']);
    i.deletePolicy('x', 'egress');
    i.deletePolicy('x', 'deny');
    expect(i.selecting(m.pod('x/a'))).toEqual({ ingress: [], egress: [] });
  });

  test('a pod in a namespace without policies needs no selection work', () => {
    const i = buildPolicyIndex({ policies: [netpol('x', 'deny', { podSelector: ALL, policyTypes: ['Ingress'] })] });
    expect(i.selecting(m.pod('y/a'))).toEqual({ ingress: [], egress: [] });
    expect(i.policiesIn('y')).toEqual([]);
    expect(i.policiesIn('x').map((p) => p.name)).toEqual(['deny']);
  });

  test('in a large cluster only the policies of the pod’s own namespace are considered', () => {
    const policies = [];
    for (let n = 0; n < 2000; n++) {
      for (let k = 0; k < 5; k++) policies.push(netpol(`ns-${n}`, `p${k}`, { podSelector: labels({ app: `app-${k}` }), ingress: [{ from: [{ podSelector: {} }] }] }));
    }
    const i = buildPolicyIndex({ policies });
    const web = makePod('ns-7', 'web', { labels: { app: 'app-3' }, ip: '10.50.0.7' });
    const client = makePod('ns-7', 'client', { labels: { app: 'client' }, ip: '10.50.0.8' });
    const stranger = makePod('ns-8', 'client', { labels: { app: 'client' }, ip: '10.50.0.9' });
    expect(i.selecting(web).ingress.map((p) => p.ref)).toEqual(['ns-7/p3']);
    expect(i.evaluate({ src: { pod: client }, dst: { pod: web }, protocol: 'TCP', port: 80 }).allowed).toBe(true);
    expect(i.evaluate({ src: { pod: stranger }, dst: { pod: web }, protocol: 'TCP', port: 80 }).allowed).toBe(false);
  });

  test('deleting a pod forgets its IP; a new pod with the IP takes it over', () => {
    const i = buildPolicyIndex({ pods: m.pods, namespaces: m.namespaces });
    const ip = m.pod('y/b').status!.podIP!;
    expect(i.podWithIp(ip)?.metadata?.name).toBe('b');
    i.deletePod('y', 'b');
    expect(i.podWithIp(ip)).toBeUndefined();
    const reuse: Pod = makePod('z', 'new', { labels: { app: 'new' }, ip });
    i.setPod(reuse);
    expect(i.podWithIp(ip)).toBe(reuse);
    // an update that changes the IP moves the entry
    const moved: Pod = { ...reuse, status: { ...reuse.status, podIP: '10.99.0.1', podIPs: [{ ip: '10.99.0.1' }] } };
    i.setPod(moved);
    expect(i.podWithIp(ip)).toBeUndefined();
    expect(i.podWithIp('10.99.0.1')).toBe(moved);
  });

  test('hostNetwork pods are not entered under their (node) IP', () => {
    const host = makePod('x', 'agent', { hostNetwork: true, node: 'node-1', labels: { app: 'agent' } });
    const i = buildPolicyIndex({ pods: [host] });
    expect(i.podWithIp(nodeIp('node-1'))).toBeUndefined();
  });

  test('namespace labels: known ones as given (with the name label), unknown ones get only the name label', () => {
    const i = buildPolicyIndex({ namespaces: [{ metadata: { name: 'bare', labels: { team: 'red' } } }, makeNamespace('x')] });
    expect(i.labelsOfNamespace('bare')).toEqual({ team: 'red', 'kubernetes.io/metadata.name': 'bare' });
    expect(i.labelsOfNamespace('nowhere')).toEqual({ 'kubernetes.io/metadata.name': 'nowhere' });
    i.deleteNamespace('x');
    expect(i.labelsOfNamespace('x')).toEqual({ 'kubernetes.io/metadata.name': 'x' });
  });

  test('node addresses: a deleted node no longer counts as the pod’s own node', () => {
    const deny = netpol('x', 'deny', { podSelector: ALL, policyTypes: ['Ingress'] });
    const bare = m.pods.map((p) => ({ ...p, status: { ...p.status, hostIP: undefined, hostIPs: undefined } }));
    const i = buildPolicyIndex({ policies: [deny], pods: bare, namespaces: m.namespaces, nodes: [makeNode('node-1')] });
    const xa = bare.find((p) => p.metadata!.namespace === 'x' && p.metadata!.name === 'a')!;
    const q = { src: { ip: nodeIp('node-1') }, dst: { pod: xa }, protocol: 'TCP', port: 80 };
    expect(i.evaluate(q).ingress).toMatchObject({ kind: 'exempt', why: 'node-local' });
    i.deleteNode('node-1');
    expect(i.evaluate(q).ingress.kind).toBe('denied');
  });

  test('a policy without a namespace belongs to "default"; a missing podSelector selects every pod', () => {
    const c = compilePolicy({ metadata: { name: 'p' } });
    expect(c.ref).toBe('default/p');
    expect(c.podSelector).toEqual({});
    expect(c.ingress).toEqual([]);
    expect(c.egress).toBeUndefined();
  });
});
