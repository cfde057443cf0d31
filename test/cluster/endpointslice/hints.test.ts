// Topology hints (TestReconcileTopology) and trafficDistribution (TestReconcile_TrafficDistribution).
import { describe, expect, it } from 'vitest';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { KObject } from '../../../src/cluster/object.js';
import { podToEndpoint } from '../../../src/cluster/endpointslice/podtoendpoint.js';
import { TopologyCache } from '../../../src/cluster/endpointslice/topologycache.js';
import type { Slice } from '../../../src/cluster/endpointslice/types.js';
import { existingSlice, harness, node, pod, service, slicesFor } from './fixtures.js';

const HINTS = 'service.kubernetes.io/topology-aware-hints';

function hintCounts(slices: readonly Slice[]): { byZone: Record<string, number>; crossZone: number; byNode: Record<string, number> } {
  const byZone: Record<string, number> = {};
  const byNode: Record<string, number> = {};
  let crossZone = 0;
  for (const s of slices) {
    for (const ep of s.endpoints) {
      const z = ep.hints?.forZones?.length === 1 ? ep.hints.forZones[0]!.name : '';
      byZone[z] = (byZone[z] ?? 0) + 1;
      if (z !== '' && z !== ep.zone) crossZone++;
      for (const n of ep.hints?.forNodes ?? []) byNode[n.name] = (byNode[n.name] ?? 0) + 1;
    }
  }
  return { byZone, crossZone, byNode };
}

describe('TestReconcileTopology: 3 zones, 10 ready Nodes of 100m each', () => {
  const zones = ['zone-a', 'zone-b', 'zone-c'];
  // Pod index i*10+j sits on node-<zone>-<j> (the upstream Pods are named i*100+j).
  const slicePods: Record<string, number[]> = {
    'zone-a-b': [7, 8, 16, 17, 18],
    'zone-a-c': [5, 6, 25, 26],
    'zone-c': [27, 28, 29],
  };

  function setup(annotation: string, sliceNames: string[]) {
    const h = harness();
    const nodes = new Map<string, KObject & Node>();
    for (const zone of zones) {
      for (let j = 0; j < 10; j++) {
        const n = h.cluster.store.create(node(`node-${zone}-${j}`, { zone, cpu: '100m' }));
        nodes.set(n.metadata.name!, n);
      }
    }
    const svc = h.cluster.store.create(service('foo', { annotations: { [HINTS]: annotation } }));
    sliceNames.forEach((name, k) => {
      const pods: (KObject & Pod)[] = slicePods[name]!.map((idx) => {
        const zone = zones[Math.floor(idx / 10)]!;
        return h.cluster.store.create(pod(idx, { nodeName: `node-${zone}-${idx % 10}` }));
      });
      const eps = pods.map((p) => podToEndpoint(p, nodes.get(p.spec!.nodeName!), svc, 'IPv4'));
      const s = existingSlice(svc, k, eps);
      h.cluster.store.create({ ...s, metadata: { ...s.metadata, name } });
    });
    h.writes.length = 0;
    return h;
  }

  it('annotation auto on 3 endpoints of zone-c: one hint per zone, 2 of them cross-zone, 1 update', () => {
    const h = setup('auto', ['zone-c']);
    h.cluster.settle();
    expect(h.writes).toEqual(['MODIFIED zone-c']);
    const c = hintCounts(slicesFor(h.cluster, 'foo'));
    expect(c.byZone).toEqual({ 'zone-a': 1, 'zone-b': 1, 'zone-c': 1 });
    expect(c.crossZone).toBe(2);
    expect(h.cluster.events.map((e) => [e.type, e.reason, e.message])).toContainEqual([
      'Normal',
      'TopologyAwareHintsEnabled',
      'Topology Aware Hints has been enabled, addressType: IPv4',
    ]);
    // A resync with nothing new writes nothing.
    const svc = h.cluster.store.get<KObject>('Service', 'test', 'foo')!;
    h.cluster.store.update({ ...svc, metadata: { ...svc.metadata, annotations: { ...svc.metadata.annotations, touch: '1' } } });
    h.cluster.settle();
    expect(h.writes).toEqual(['MODIFIED zone-c']);
  });

  it('ratio beyond the threshold (4 endpoints, 3 zones need 2 each): no hints, no writes, an event', () => {
    const h = setup('auto', ['zone-a-c']);
    h.cluster.settle();
    expect(h.writes).toEqual([]);
    expect(hintCounts(slicesFor(h.cluster, 'foo')).byZone).toEqual({ '': 4 });
    expect(h.cluster.events.map((e) => e.message)).toContain(
      'Unable to allocate minimum required endpoints to each zone without exceeding overload threshold (4 endpoints, 3 zones), addressType: IPv4',
    );
  });

  it('annotation Auto on 9 endpoints over two slices: 3 hints per zone, 1 cross-zone, 2 updates', () => {
    const h = setup('Auto', ['zone-a-c', 'zone-a-b']);
    h.cluster.settle();
    expect(h.writes.sort()).toEqual(['MODIFIED zone-a-b', 'MODIFIED zone-a-c']);
    const c = hintCounts(slicesFor(h.cluster, 'foo'));
    expect(c.byZone).toEqual({ 'zone-a': 3, 'zone-b': 3, 'zone-c': 3 });
    expect(c.crossZone).toBe(1);
  });

  it('annotation disabled: no hints and no writes', () => {
    const h = setup('disabled', ['zone-a-c', 'zone-a-b']);
    h.cluster.settle();
    expect(h.writes).toEqual([]);
    expect(hintCounts(slicesFor(h.cluster, 'foo')).byZone).toEqual({ '': 9 });
  });

  it('hints are removed, with an event, when the annotation is dropped', () => {
    const h = setup('auto', ['zone-c']);
    h.cluster.settle();
    const svc = h.cluster.store.get<KObject>('Service', 'test', 'foo')!;
    h.cluster.store.update({ ...svc, metadata: { ...svc.metadata, annotations: {} } });
    h.cluster.settle();
    expect(hintCounts(slicesFor(h.cluster, 'foo')).byZone).toEqual({ '': 3 });
    expect(h.cluster.events.map((e) => e.message)).toContain('Topology Aware Hints has been disabled, addressType: IPv4');
  });
});

describe('TopologyCache (TestSetNodes, TestAddHints)', () => {
  const n = (name: string, zone: string | undefined, cpu: string | undefined, ready = true, labels: Record<string, string> = {}) =>
    node(name, { ...(zone ? { zone } : {}), ...(cpu ? { cpu } : {}), ready, labels });

  it('zone shares are the allocatable CPU of ready Nodes; unready and control-plane Nodes are left out', () => {
    const c = new TopologyCache();
    c.setNodes([
      n('a1', 'zone-a', '1'),
      n('a2', 'zone-a', '2'),
      n('b1', 'zone-b', '1'),
      n('b2', 'zone-b', '8', false),
      n('cp', 'zone-c', '4', true, { 'node-role.kubernetes.io/control-plane': '' }),
    ]);
    expect(Object.fromEntries(c.zoneRatios()!)).toEqual({ 'zone-a': 0.75, 'zone-b': 0.25 });
  });

  it('a ready Node without zone or CPU, or a single zone, leaves no node information', () => {
    const c = new TopologyCache();
    c.setNodes([n('a1', 'zone-a', '1'), n('b1', 'zone-b', '1'), n('x', undefined, '1')]);
    expect(c.hasSufficientNodeInfo()).toBe(false);
    c.setNodes([n('a1', 'zone-a', '1'), n('b1', 'zone-b', undefined)]);
    expect(c.hasSufficientNodeInfo()).toBe(false);
    c.setNodes([n('a1', 'zone-a', '1'), n('a2', 'zone-a', '1')]);
    expect(c.hasSufficientNodeInfo()).toBe(false);
    expect(c.allocations(10).event?.message).toBe(
      'Insufficient Node information: allocatable CPU or zone not specified on one or more nodes',
    );
  });

  it('allocations: minimum is ceil(desired / 1.2), maximum leaves room for the other minimums', () => {
    const c = new TopologyCache();
    c.setNodes([n('a', 'zone-a', '3'), n('b', 'zone-b', '1')]);
    const a = c.allocations(8).allocations!;
    // zone-a: desired 6, minimum ceil(5) = 5; zone-b: desired 2, minimum ceil(1.67) = 2; total minimum 7.
    expect(a.get('zone-a')).toEqual({ minimum: 5, maximum: 6, desired: 6 });
    expect(a.get('zone-b')).toEqual({ minimum: 2, maximum: 3, desired: 2 });
    expect(c.allocations(1).event?.message).toBe('Insufficient number of endpoints (1 endpoints, 2 zones)');
  });

  it('endpoints follow a CPU-weighted split: 3:1 CPU over 8 endpoints gives 6 and 2 hints', () => {
    const h = harness();
    h.cluster.store.create(node('node-a', { zone: 'zone-a', cpu: '3' }));
    h.cluster.store.create(node('node-b', { zone: 'zone-b', cpu: '1' }));
    h.cluster.settle();
    h.cluster.store.create(service('foo', { annotations: { 'service.kubernetes.io/topology-mode': 'Auto' } }));
    for (let i = 0; i < 8; i++) h.cluster.store.create(pod(i, { nodeName: i < 4 ? 'node-a' : 'node-b' }));
    h.cluster.settle();
    const c = hintCounts(slicesFor(h.cluster, 'foo'));
    expect(c.byZone).toEqual({ 'zone-a': 6, 'zone-b': 2 });
    expect(c.crossZone).toBe(2);
  });

  it('an endpoint without a zone disables hints for the Service', () => {
    const h = harness();
    h.cluster.store.create(node('node-a', { zone: 'zone-a', cpu: '1' }));
    h.cluster.store.create(node('node-b', { zone: 'zone-b', cpu: '1' }));
    h.cluster.store.create(node('node-z', { cpu: '1', ready: false }));
    h.cluster.settle();
    h.cluster.store.create(service('foo', { annotations: { 'service.kubernetes.io/topology-mode': 'Auto' } }));
    // 10 ready endpoints over 2 zones: minimums of 5 each fit, so only the zone-less one stops hints.
    for (let i = 0; i < 10; i++) h.cluster.store.create(pod(i, { nodeName: i < 5 ? 'node-a' : i < 9 ? 'node-b' : 'node-z' }));
    h.cluster.settle();
    expect(hintCounts(slicesFor(h.cluster, 'foo')).byZone).toEqual({ '': 10 });
    expect(h.cluster.events.map((e) => e.message)).toContain(
      'One or more endpoints do not have a zone specified, addressType: IPv4',
    );
  });
});

describe('TestReconcile_TrafficDistribution: node-0/zone-a {pod0}, node-1/zone-b {pod1..3}, node-2/zone-c {pod4, pod5}', () => {
  function run(o: { preferSame: boolean; trafficDistribution?: string; topology: string }) {
    const h = harness({ preferSameTrafficDistribution: o.preferSame });
    for (let i = 0; i < 3; i++) h.cluster.store.create(node(`node-${i}`, { zone: `zone-${'abc'[i]}`, cpu: '100m' }));
    h.cluster.settle();
    h.cluster.store.create(
      service('foo', {
        annotations: { [HINTS]: o.topology },
        ...(o.trafficDistribution ? { trafficDistribution: o.trafficDistribution } : {}),
      }),
    );
    const nodeOf = [0, 1, 1, 1, 2, 2];
    for (let i = 0; i < 6; i++) h.cluster.store.create(pod(i, { nodeName: `node-${nodeOf[i]}` }));
    h.cluster.settle();
    return hintCounts(slicesFor(h.cluster, 'foo'));
  }

  it('PreferClose with the topology annotation Disabled: each endpoint hints its own zone', () => {
    const c = run({ preferSame: false, trafficDistribution: 'PreferClose', topology: 'Disabled' });
    expect(c.byZone).toEqual({ 'zone-a': 1, 'zone-b': 3, 'zone-c': 2 });
    expect(c.crossZone).toBe(0);
  });

  it('PreferClose with the annotation Auto: the topology cache wins (2 per zone, 1 cross-zone)', () => {
    const c = run({ preferSame: false, trafficDistribution: 'PreferClose', topology: 'Auto' });
    expect(c.byZone).toEqual({ 'zone-a': 2, 'zone-b': 2, 'zone-c': 2 });
    expect(c.crossZone).toBe(1);
  });

  it('neither: no hints', () => {
    expect(run({ preferSame: false, topology: '' }).byZone).toEqual({ '': 6 });
  });

  it('PreferSameNode with PreferSameTrafficDistribution on: zone and node hints', () => {
    const c = run({ preferSame: true, trafficDistribution: 'PreferSameNode', topology: 'Disabled' });
    expect(c.byZone).toEqual({ 'zone-a': 1, 'zone-b': 3, 'zone-c': 2 });
    expect(c.byNode).toEqual({ 'node-0': 1, 'node-1': 3, 'node-2': 2 });
  });

  it('PreferSameZone with PreferSameTrafficDistribution off: treated as unset, no hints', () => {
    expect(run({ preferSame: false, trafficDistribution: 'PreferSameZone', topology: 'Disabled' }).byZone).toEqual({ '': 6 });
  });

  it('PreferSameZone with the gate on: own-zone hints, no node hints', () => {
    const c = run({ preferSame: true, trafficDistribution: 'PreferSameZone', topology: 'Disabled' });
    expect(c.byZone).toEqual({ 'zone-a': 1, 'zone-b': 3, 'zone-c': 2 });
    expect(c.byNode).toEqual({});
  });

  it('unready endpoints get no hint', () => {
    const h = harness();
    h.cluster.store.create(node('node-0', { zone: 'zone-a', cpu: '1' }));
    h.cluster.store.create(service('foo', { trafficDistribution: 'PreferClose' }));
    h.cluster.store.create(pod(0, { nodeName: 'node-0' }));
    h.cluster.store.create(pod(1, { nodeName: 'node-0', ready: false }));
    h.cluster.settle();
    const eps = slicesFor(h.cluster, 'foo')[0]!.endpoints;
    expect(eps.find((e) => e.targetRef?.name === 'pod0')!.hints).toEqual({ forZones: [{ name: 'zone-a' }] });
    expect(eps.find((e) => e.targetRef?.name === 'pod1')!.hints).toBeUndefined();
  });
});
