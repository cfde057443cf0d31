// The legacy Endpoints controller: subsets, repacking, single family, truncation at 1000.
import { describe, expect, it } from 'vitest';
import type { Endpoints, EndpointSubset, Pod } from 'kubernetes-types/core/v1.js';
import type { KObject } from '../../../src/cluster/object.js';
import { EndpointsController } from '../../../src/cluster/controllers/endpoints.js';
import { repackSubsets } from '../../../src/cluster/endpointslice/endpoints/repack.js';
import { truncateSubsets } from '../../../src/cluster/endpointslice/endpoints/truncate.js';
import { harness, node, NS, pod, podIP, service } from '../endpointslice/fixtures.js';

type Ep = KObject & Endpoints;

function setup() {
  const h = harness({}, [new EndpointsController()]);
  const writes: string[] = [];
  h.cluster.store.watch('Endpoints', (ev) => writes.push(`${ev.type} ${ev.object.metadata.name}`));
  h.cluster.store.create(node('node-1'));
  return { ...h, writes };
}

const get = (h: ReturnType<typeof setup>, name = 'foo') => h.cluster.store.get<Ep>('Endpoints', NS, name);
const ips = (as: EndpointSubset['addresses']) => (as ?? []).map((a) => a.ip);

describe('Endpoints controller', () => {
  it('ready Pods go to addresses, unready ones to notReadyAddresses, with labels, ports and the trigger time', () => {
    const h = setup();
    const svc = h.cluster.store.create(service('foo', { clusterIP: '10.96.0.1', labels: { app: 'web' } }));
    for (let i = 0; i < 4; i++) h.cluster.store.create(pod(i, { ready: i !== 3 }));
    h.cluster.settle();
    const ep = get(h)!;
    expect(ep.metadata.labels).toEqual({ app: 'web' });
    expect(ep.metadata.annotations).toEqual({ 'endpoints.kubernetes.io/last-change-trigger-time': svc.metadata.creationTimestamp });
    expect(ep.subsets).toHaveLength(1);
    expect(ips(ep.subsets![0]!.addresses)).toEqual([podIP(0), podIP(1), podIP(2)]);
    expect(ips(ep.subsets![0]!.notReadyAddresses)).toEqual([podIP(3)]);
    expect(ep.subsets![0]!.ports).toEqual([{ name: 'foo', port: 80, protocol: 'TCP' }]);
    const a = ep.subsets![0]!.addresses![0]!;
    expect(a).toEqual({
      ip: podIP(0),
      nodeName: 'node-1',
      targetRef: { kind: 'Pod', namespace: NS, name: 'pod0', uid: h.cluster.store.get<KObject & Pod>('Pod', NS, 'pod0')!.metadata.uid },
    });
  });

  it('terminating Pods are left out, unless publishNotReadyAddresses (then they are ready addresses)', () => {
    const h = setup();
    h.cluster.store.create(service('foo', { clusterIP: '10.96.0.1' }));
    h.cluster.store.create(service('pub', { clusterIP: '10.96.0.2', publishNotReadyAddresses: true }));
    h.cluster.store.create(pod(1, { terminating: true }));
    h.cluster.store.create(pod(2, { ready: false }));
    h.cluster.settle();
    expect(ips(get(h)!.subsets![0]!.addresses)).toEqual([]);
    expect(ips(get(h)!.subsets![0]!.notReadyAddresses)).toEqual([podIP(2)]);
    expect(ips(get(h, 'pub')!.subsets![0]!.addresses)).toEqual([podIP(1), podIP(2)]);
    expect(get(h, 'pub')!.subsets![0]!.notReadyAddresses).toBeUndefined();
  });

  it('is single-family: the first Pod IP of ipFamilies[0]', () => {
    const h = setup();
    h.cluster.store.create(service('foo', { ipFamilies: ['IPv6', 'IPv4'], clusterIP: 'fd00::10' }));
    h.cluster.store.create(pod(1, { ips: ['10.1.0.1', 'fd00::1'] }));
    h.cluster.store.create(pod(2, { ips: ['10.1.0.2'] }));
    h.cluster.settle();
    expect(get(h)!.subsets!.flatMap((s) => ips(s.addresses))).toEqual(['fd00::1']);
  });

  it('a headless Service without ports gets port-less subsets and the headless label; hostname follows the subdomain rule', () => {
    const h = setup();
    h.cluster.store.create(service('foo', { clusterIP: 'None', ports: [] }));
    h.cluster.store.create(pod(1, { hostname: 'web-0', subdomain: 'foo' }));
    h.cluster.store.create(pod(2, { hostname: 'web-1', subdomain: 'other' }));
    h.cluster.settle();
    const ep = get(h)!;
    expect(ep.metadata.labels).toEqual({ 'service.kubernetes.io/headless': '' });
    expect(ep.subsets).toHaveLength(1);
    expect(ep.subsets![0]!.ports).toBeUndefined();
    expect(ep.subsets![0]!.addresses!.map((a) => a.hostname)).toEqual(['web-0', undefined]);
  });

  it('a headful Service without ports gets no subsets', () => {
    const h = setup();
    h.cluster.store.create(service('foo', { clusterIP: '10.96.0.1', ports: [] }));
    h.cluster.store.create(pod(1));
    h.cluster.settle();
    expect(get(h)!.subsets).toBeUndefined();
  });

  it('subsets group ports by the set of addresses offering them; a port that does not resolve is left out per Pod', () => {
    const h = setup();
    h.cluster.store.create(
      service('foo', {
        clusterIP: '10.96.0.1',
        ports: [
          { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
          { name: 'metrics', port: 9090, targetPort: 9090, protocol: 'TCP' },
        ],
      }),
    );
    h.cluster.store.create(pod(1, { containerPorts: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }));
    h.cluster.store.create(pod(2, { containerPorts: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }));
    h.cluster.store.create(pod(3));
    h.cluster.settle();
    const subsets = get(h)!.subsets!;
    const byPorts = Object.fromEntries(subsets.map((s) => [s.ports!.map((p) => `${p.name}:${p.port}`).join(','), ips(s.addresses)]));
    // Repacking maps each port to the addresses offering it, then merges ports with equal sets.
    expect(byPorts).toEqual({ 'http:8080': [podIP(1), podIP(2)], 'metrics:9090': [podIP(1), podIP(2), podIP(3)] });
  });

  it('a sync with nothing changed writes nothing', () => {
    const h = setup();
    const svc = h.cluster.store.create(service('foo', { clusterIP: '10.96.0.1' }));
    for (let i = 0; i < 3; i++) h.cluster.store.create(pod(i));
    h.cluster.settle();
    h.writes.length = 0;
    h.cluster.store.update({ ...svc, metadata: { ...svc.metadata, annotations: { x: 'y' } } });
    const p = h.cluster.store.get<KObject & Pod>('Pod', NS, 'pod0')!;
    h.cluster.store.update({ ...p, metadata: { ...p.metadata, annotations: { x: 'y' } } });
    h.cluster.settle();
    expect(h.writes).toEqual([]);
  });

  it('a Service label change updates the Endpoints labels; the headless label alone does not count', () => {
    const h = setup();
    const svc = h.cluster.store.create(service('foo', { clusterIP: 'None', labels: { a: '1' } }));
    h.cluster.settle();
    h.writes.length = 0;
    h.cluster.store.update({ ...svc, metadata: { ...svc.metadata, labels: { a: '2' } } });
    h.cluster.settle();
    expect(h.writes).toEqual(['MODIFIED foo']);
    expect(get(h)!.metadata.labels).toEqual({ a: '2', 'service.kubernetes.io/headless': '' });
  });

  it('the Endpoints object is deleted with its Service, and recreated if deleted while the Service lives', () => {
    const h = setup();
    h.cluster.store.create(service('foo', { clusterIP: '10.96.0.1' }));
    h.cluster.store.create(pod(1));
    h.cluster.settle();
    h.cluster.store.delete('Endpoints', NS, 'foo');
    h.cluster.settle();
    expect(get(h)).toBeDefined();
    h.cluster.store.delete('Service', NS, 'foo');
    h.cluster.settle();
    expect(get(h)).toBeUndefined();
  });

  it('no Endpoints for a Service without selector or of type ExternalName', () => {
    const h = setup();
    h.cluster.store.create(service('nosel', { selector: null }));
    h.cluster.store.create(service('ext', { type: 'ExternalName' }));
    h.cluster.store.create(pod(1));
    h.cluster.settle();
    expect(h.cluster.store.list('Endpoints')).toEqual([]);
  });

  it('over 1000 addresses: truncated to 1000 with the over-capacity annotation, removed when back under', () => {
    const h = setup();
    h.cluster.store.create(service('foo', { clusterIP: '10.96.0.1' }));
    for (let i = 0; i < 1001; i++) h.cluster.store.create(pod(i));
    h.cluster.settle();
    let ep = get(h)!;
    expect(ep.metadata.annotations?.['endpoints.kubernetes.io/over-capacity']).toBe('truncated');
    expect(ep.subsets![0]!.addresses).toHaveLength(1000);
    // Addresses keep their sorted order: the first 1000 by IP are kept.
    const all = Array.from({ length: 1001 }, (_, i) => podIP(i)).sort();
    expect(ips(ep.subsets![0]!.addresses)).toEqual(all.slice(0, 1000));
    h.cluster.store.delete('Pod', NS, 'pod0', { gracePeriodSeconds: 0 });
    h.cluster.settle();
    ep = get(h)!;
    expect(ep.metadata.annotations?.['endpoints.kubernetes.io/over-capacity']).toBeUndefined();
    expect(ep.subsets![0]!.addresses).toHaveLength(1000);
  });

  it('ready addresses are kept before not-ready ones: 900 ready + 200 unready keep 900 + 100', () => {
    const h = setup();
    h.cluster.store.create(service('foo', { clusterIP: '10.96.0.1' }));
    for (let i = 0; i < 1100; i++) h.cluster.store.create(pod(i, { ready: i < 900 }));
    h.cluster.settle();
    const s = get(h)!.subsets![0]!;
    expect([s.addresses!.length, s.notReadyAddresses!.length]).toEqual([900, 100]);
  });

  it('three named-port subsets of 334 ready addresses are cut by ceil share: 334, 334, 332', () => {
    const h = setup();
    h.cluster.store.create(service('foo', { clusterIP: '10.96.0.1', ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] }));
    for (let i = 0; i < 1002; i++) {
      h.cluster.store.create(pod(i, { containerPorts: [{ name: 'http', containerPort: 8080 + (i % 3), protocol: 'TCP' }] }));
    }
    h.cluster.settle();
    const ep = get(h)!;
    expect(ep.metadata.annotations?.['endpoints.kubernetes.io/over-capacity']).toBe('truncated');
    expect(ep.subsets!.map((s) => s.addresses!.length)).toEqual([334, 334, 332]);
  });
});

describe('RepackSubsets and truncation (units)', () => {
  const addr = (ip: string, uid = ip) => ({ ip, targetRef: { kind: 'Pod', name: ip, uid } });
  const port = (name: string, p: number) => ({ name, port: p, protocol: 'TCP' });

  it('addresses are sorted by IP bytes ("10.0.0.10" before "10.0.0.9"), then UID', () => {
    const out = repackSubsets([
      { addresses: [addr('10.0.0.9')], ports: [port('a', 1)] },
      { addresses: [addr('10.0.0.10')], ports: [port('a', 1)] },
      { addresses: [addr('10.0.0.10', 'b-uid')], ports: [port('a', 1)] },
    ]);
    expect(out).toHaveLength(1);
    expect(out[0]!.addresses!.map((a) => [a.ip, a.targetRef!.uid])).toEqual([
      ['10.0.0.10', '10.0.0.10'],
      ['10.0.0.10', 'b-uid'],
      ['10.0.0.9', '10.0.0.9'],
    ]);
  });

  it('not ready trumps ready for the same address and port', () => {
    const out = repackSubsets([
      { addresses: [addr('1.1.1.1')], ports: [port('a', 1)] },
      { notReadyAddresses: [addr('1.1.1.1')], ports: [port('a', 1)] },
    ]);
    expect(out).toEqual([{ notReadyAddresses: [addr('1.1.1.1')], ports: [port('a', 1)] }]);
  });

  it('ports offered by the same addresses merge into one subset', () => {
    const out = repackSubsets([
      { addresses: [addr('1.1.1.1')], ports: [port('a', 1)] },
      { addresses: [addr('1.1.1.1')], ports: [port('b', 2)] },
      { addresses: [addr('2.2.2.2')], ports: [port('a', 1)] },
    ]);
    expect(out.map((s) => [ips(s.addresses), s.ports!.map((p) => p.name)])).toEqual([
      [['1.1.1.1', '2.2.2.2'], ['a']],
      [['1.1.1.1'], ['b']],
    ]);
  });

  it('truncation with not-ready addresses over: each subset keeps ceil(share × room)', () => {
    const many = (n: number, base: number) => Array.from({ length: n }, (_, i) => addr(`10.${base}.${Math.floor(i / 250)}.${i % 250}`));
    // 900 ready leave room for 100 not-ready; shares 150/200 and 50/200 give 75 and 25.
    const { subsets, truncated } = truncateSubsets([
      { addresses: many(600, 1), notReadyAddresses: many(150, 2), ports: [port('a', 1)] },
      { addresses: many(300, 3), notReadyAddresses: many(50, 4), ports: [port('b', 2)] },
    ]);
    expect(truncated).toBe(true);
    expect(subsets.map((s) => [s.addresses?.length, s.notReadyAddresses?.length])).toEqual([
      [600, 75],
      [300, 25],
    ]);
    // Ready alone over 1000: all not-ready go, ready cut by share (700/1100 and 400/1100 of 1000).
    const r = truncateSubsets([
      { addresses: many(700, 5), notReadyAddresses: many(10, 6) },
      { addresses: many(400, 7) },
    ]);
    expect(r.subsets.map((s) => [s.addresses?.length, s.notReadyAddresses?.length ?? 0])).toEqual([
      [637, 0],
      [363, 0],
    ]);
    expect(truncateSubsets([{ addresses: many(1000, 8) }]).truncated).toBe(false);
  });
});
