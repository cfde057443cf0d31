// The controller around the reconciler: watches, missing Nodes, finalize, outside edits, churn.
import { describe, expect, it } from 'vitest';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { KObject } from '../../../src/cluster/object.js';
import { Reconciler, type SliceWriter } from '../../../src/cluster/endpointslice/reconciler.js';
import { podToEndpoint } from '../../../src/cluster/endpointslice/podtoendpoint.js';
import type { Slice } from '../../../src/cluster/endpointslice/types.js';
import { existingSlice, harness, lengths, node, NS, pod, service, slicesFor } from './fixtures.js';

const TRIGGER = 'endpoints.kubernetes.io/last-change-trigger-time';

function names(slices: readonly Slice[]): string[] {
  return slices.flatMap((s) => s.endpoints.map((e) => e.targetRef!.name!)).sort();
}

describe('TestReconcilerPodMissingNode: pod0 on node-0, pod1 on node-1', () => {
  function setup(o: { publishNotReady: boolean; nodes: string[]; existing: boolean }) {
    const h = harness();
    for (const n of o.nodes) h.cluster.store.create(node(n));
    const svc = h.cluster.store.create(service('foo', { publishNotReadyAddresses: o.publishNotReady }));
    const pods = [h.cluster.store.create(pod(0, { nodeName: 'node-0' })), h.cluster.store.create(pod(1, { nodeName: 'node-1' }))];
    if (o.existing) {
      h.cluster.store.create(existingSlice(svc, 1, pods.map((p) => podToEndpoint(p, undefined, svc, 'IPv4'))));
    }
    h.writes.length = 0;
    h.cluster.settle();
    const warnings = h.cluster.events.filter((e) => e.reason === 'FailedToUpdateEndpointSlices');
    return { h, slices: slicesFor(h.cluster, 'foo'), warnings };
  }

  it('create, publishNotReady false: the Pod on the missing Node is skipped and the Service retried with an error', () => {
    const { h, slices, warnings } = setup({ publishNotReady: false, nodes: ['node-0'], existing: false });
    expect(names(slices)).toEqual(['pod0']);
    expect(warnings.map((w) => w.message)).toEqual([
      'Error updating Endpoint Slices for Service test/foo: skipping Pod pod1 for Service test/foo: Node node-1 Not Found',
    ]);
    // The retry fires after the 1s backoff and fails again.
    h.cluster.advance(1);
    expect(h.cluster.events.filter((e) => e.reason === 'FailedToUpdateEndpointSlices')).toHaveLength(2);
  });

  it('create, publishNotReady true: both Pods are published, no error', () => {
    const { slices, warnings } = setup({ publishNotReady: true, nodes: ['node-0'], existing: false });
    expect(names(slices)).toEqual(['pod0', 'pod1']);
    expect(warnings).toEqual([]);
  });

  it('update, publishNotReady false: the slice loses the Pod on the missing Node', () => {
    const { h, slices, warnings } = setup({ publishNotReady: false, nodes: ['node-0'], existing: true });
    expect(h.writes).toEqual(['MODIFIED foo-1']);
    expect(names(slices)).toEqual(['pod0']);
    expect(warnings).toHaveLength(1);
  });

  it('update, publishNotReady true and all Nodes missing: no change', () => {
    const { h, warnings } = setup({ publishNotReady: true, nodes: [], existing: true });
    expect(h.writes).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('update, publishNotReady false and no Nodes: the slice becomes the placeholder (updated, not deleted)', () => {
    const { h, slices } = setup({ publishNotReady: false, nodes: [], existing: true });
    expect(h.writes).toEqual(['MODIFIED foo-1']);
    expect(slices).toHaveLength(1);
    expect(slices[0]!.endpoints).toEqual([]);
    expect(slices[0]!.ports).toEqual([]);
  });

  it('when the missing Node appears the Pod is added at once', () => {
    const { h } = setup({ publishNotReady: false, nodes: ['node-0'], existing: false });
    h.cluster.store.create(node('node-1'));
    h.cluster.settle();
    expect(names(slicesFor(h.cluster, 'foo'))).toEqual(['pod0', 'pod1']);
  });
});

describe('TestReconcilerFinalizeSvcDeletionTimestamp', () => {
  function run(o: { deleting: boolean; create: boolean; update: boolean; del: boolean }) {
    const calls: string[] = [];
    const writer: SliceWriter = {
      create: (s) => (calls.push(`create ${s.metadata.name}`), s),
      update: (s) => (calls.push(`update ${s.metadata.name}`), s),
      delete: (s) => void calls.push(`delete ${s.metadata.name}`),
    };
    const r = new Reconciler({
      controllerName: 'endpointslice-controller.k8s.io',
      maxEndpointsPerSlice: 100,
      preferSameTrafficDistribution: false,
      getNode: () => undefined,
      writer,
      recordEvent: () => {},
    });
    const svc: Service = {
      ...service('foo'),
      metadata: { name: 'foo', namespace: NS, uid: 'uid-foo', ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
    };
    const mk = (name: string): Slice => ({
      ...existingSlice(svc as KObject & Service, 0, []),
      metadata: { name, namespace: NS, ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'foo', uid: 'uid-foo', controller: true }] },
    });
    const err = r.finalize(
      svc,
      o.create ? [mk('to-create')] : [],
      o.update ? [mk('to-update')] : [],
      o.del ? [mk('to-delete')] : [],
      undefined,
    );
    expect(err).toBeUndefined();
    return calls;
  }

  it('create and update, not deleting: both happen', () => {
    expect(run({ deleting: false, create: true, update: true, del: false })).toEqual(['create to-create', 'update to-update']);
  });
  it('create and update while the Service is being deleted: the create is skipped', () => {
    expect(run({ deleting: true, create: true, update: true, del: false })).toEqual(['update to-update']);
  });
  it('create, update and delete: the create becomes an update of the slice to delete', () => {
    expect(run({ deleting: false, create: true, update: true, del: true })).toEqual(['update to-update', 'update to-delete']);
    expect(run({ deleting: true, create: true, update: true, del: true })).toEqual(['update to-update', 'update to-delete']);
  });
  it('update and delete still go through while the Service is being deleted', () => {
    expect(run({ deleting: true, create: false, update: true, del: true })).toEqual(['update to-update', 'delete to-delete']);
  });
});

describe('EndpointSlice controller', () => {
  function basic() {
    const h = harness();
    h.cluster.store.create(node('node-1'));
    const svc = h.cluster.store.create(service('foo', { clusterIP: '10.96.0.10' }));
    for (let i = 0; i < 5; i++) h.cluster.store.create(pod(i));
    h.cluster.settle();
    return { h, svc };
  }

  it('writes slices with kind EndpointSlice, apiVersion discovery.k8s.io/v1 and a controller reference to the Service', () => {
    const { h, svc } = basic();
    const [s] = slicesFor(h.cluster, 'foo');
    expect(s!.kind).toBe('EndpointSlice');
    expect(s!.apiVersion).toBe('discovery.k8s.io/v1');
    expect(s!.metadata.generateName).toBe('foo-');
    expect(s!.metadata.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'Service', name: 'foo', uid: svc.metadata.uid, controller: true, blockOwnerDeletion: true },
    ]);
  });

  it('a sync with nothing changed writes nothing', () => {
    const { h, svc } = basic();
    h.writes.length = 0;
    h.cluster.store.update({ ...svc, metadata: { ...svc.metadata, annotations: { unrelated: 'x' } } });
    h.cluster.settle();
    h.cluster.advance(60);
    expect(h.writes).toEqual([]);
  });

  it('a slice deleted behind its back is recreated on the next sync', () => {
    const { h } = basic();
    const [s] = slicesFor(h.cluster, 'foo');
    h.cluster.store.delete('EndpointSlice', NS, s!.metadata.name!);
    h.cluster.settle();
    expect(slicesFor(h.cluster, 'foo')).toHaveLength(0);
    h.cluster.advance(1);
    expect(names(slicesFor(h.cluster, 'foo'))).toEqual(['pod0', 'pod1', 'pod2', 'pod3', 'pod4']);
  });

  it('a slice whose endpoints were changed behind its back is fixed on the next sync', () => {
    const { h } = basic();
    const [s] = slicesFor(h.cluster, 'foo');
    h.cluster.store.update({ ...s!, endpoints: s!.endpoints.slice(0, 2) } as Slice & KObject);
    h.cluster.advance(1);
    expect(names(slicesFor(h.cluster, 'foo'))).toEqual(['pod0', 'pod1', 'pod2', 'pod3', 'pod4']);
  });

  it('Pods leave when deleted, become unready, or turn terminal', () => {
    const { h } = basic();
    h.cluster.store.delete('Pod', NS, 'pod0', { gracePeriodSeconds: 0 });
    const p1 = h.cluster.store.get<KObject & Pod>('Pod', NS, 'pod1')!;
    h.cluster.store.update({ ...p1, status: { ...p1.status, conditions: [{ type: 'Ready', status: 'False' }] } });
    const p2 = h.cluster.store.get<KObject & Pod>('Pod', NS, 'pod2')!;
    h.cluster.store.update({ ...p2, status: { ...p2.status, phase: 'Succeeded', conditions: [{ type: 'Ready', status: 'False' }] } });
    h.cluster.settle();
    const eps = slicesFor(h.cluster, 'foo')[0]!.endpoints;
    expect(eps.map((e) => e.targetRef!.name).sort()).toEqual(['pod1', 'pod3', 'pod4']);
    expect(eps.find((e) => e.targetRef!.name === 'pod1')!.conditions).toEqual({ ready: false, serving: false, terminating: false });
  });

  it('a terminating Pod stays, serving but not ready', () => {
    const { h } = basic();
    h.cluster.store.delete('Pod', NS, 'pod0', { gracePeriodSeconds: 30 });
    h.cluster.settle();
    const ep = slicesFor(h.cluster, 'foo')[0]!.endpoints.find((e) => e.targetRef!.name === 'pod0')!;
    expect(ep.conditions).toEqual({ ready: false, serving: true, terminating: true });
  });

  it('a Pod label change moves its endpoint between Services (old and new labels are both checked)', () => {
    const h = harness();
    h.cluster.store.create(node('node-1'));
    h.cluster.store.create(service('a', { selector: { app: 'a' } }));
    h.cluster.store.create(service('b', { selector: { app: 'b' } }));
    const p = h.cluster.store.create(pod(1, { labels: { app: 'a' } }));
    h.cluster.settle();
    expect(names(slicesFor(h.cluster, 'a'))).toEqual(['pod1']);
    h.cluster.store.update({ ...p, metadata: { ...p.metadata, labels: { app: 'b' } } });
    h.cluster.settle();
    expect(names(slicesFor(h.cluster, 'a'))).toEqual([]);
    expect(names(slicesFor(h.cluster, 'b'))).toEqual(['pod1']);
  });

  it('a Pod event syncs only the Services that select it, not every Service', () => {
    const h = harness();
    h.cluster.store.create(node('node-1'));
    for (let i = 0; i < 200; i++) h.cluster.store.create(service(`svc${i}`, { selector: { app: `app${i}`, tier: 'web' } }));
    h.cluster.settle();
    const before = h.cluster.syncCounts.get('endpointslice') ?? 0;
    h.cluster.store.create(pod(1, { labels: { app: 'app7', tier: 'web' } }));
    h.cluster.settle();
    expect((h.cluster.syncCounts.get('endpointslice') ?? 0) - before).toBe(1);
    expect(names(slicesFor(h.cluster, 'svc7'))).toEqual(['pod1']);
  });

  it('no slices for a Service without selector or of type ExternalName; an empty selector selects the namespace', () => {
    const h = harness();
    h.cluster.store.create(node('node-1'));
    h.cluster.store.create(service('nosel', { selector: null }));
    h.cluster.store.create(service('ext', { type: 'ExternalName' }));
    h.cluster.store.create(service('all', { selector: {} }));
    h.cluster.store.create(pod(1, { labels: { x: 'y' } }));
    h.cluster.store.create(pod(2, { namespace: 'other' }));
    h.cluster.settle();
    expect(slicesFor(h.cluster, 'nosel')).toEqual([]);
    expect(slicesFor(h.cluster, 'ext')).toEqual([]);
    expect(names(slicesFor(h.cluster, 'all'))).toEqual(['pod1']);
  });

  it('a headless Service without ipFamilies gets slices of both address types', () => {
    const h = harness();
    h.cluster.store.create(node('node-1'));
    h.cluster.store.create(service('hl', { ipFamilies: [], clusterIP: 'None' }));
    h.cluster.store.create(pod(1, { ips: ['10.1.0.1', 'fd00::1'] }));
    h.cluster.settle();
    const slices = slicesFor(h.cluster, 'hl');
    expect(slices.map((s) => [s.addressType, s.endpoints[0]!.addresses]).sort()).toEqual([
      ['IPv4', ['10.1.0.1']],
      ['IPv6', ['fd00::1']],
    ]);
    for (const s of slices) expect(s.metadata.labels?.['service.kubernetes.io/headless']).toBe('');
  });

  it('a Node zone change updates the zone of its endpoints', () => {
    const h = harness();
    const n = h.cluster.store.create(node('node-1', { zone: 'zone-a' }));
    h.cluster.store.create(service('foo'));
    h.cluster.store.create(pod(1));
    h.cluster.settle();
    expect(slicesFor(h.cluster, 'foo')[0]!.endpoints[0]!.zone).toBe('zone-a');
    h.cluster.store.update({ ...n, metadata: { ...n.metadata, labels: { 'topology.kubernetes.io/zone': 'zone-b' } } });
    h.cluster.settle();
    expect(slicesFor(h.cluster, 'foo')[0]!.endpoints[0]!.zone).toBe('zone-b');
  });

  it('the trigger-time annotation is the Ready transition that changed since the last sync', () => {
    const h = harness();
    h.cluster.store.create(node('node-1'));
    const svc = h.cluster.store.create(service('foo'));
    h.cluster.store.create(pod(1));
    h.cluster.settle();
    const first = slicesFor(h.cluster, 'foo')[0]!;
    expect(first.metadata.annotations?.[TRIGGER]).toBe(svc.metadata.creationTimestamp);
    h.cluster.advance(42);
    h.cluster.store.create(pod(2, { readySince: h.cluster.clock.rfc3339() }));
    h.cluster.settle();
    expect(slicesFor(h.cluster, 'foo')[0]!.metadata.annotations?.[TRIGGER]).toBe('2026-01-01T00:00:42Z');
    // A change with no trigger (a Pod without a Ready transition time) removes the annotation.
    h.cluster.store.create(pod(3));
    h.cluster.settle();
    expect(slicesFor(h.cluster, 'foo')[0]!.metadata.annotations?.[TRIGGER]).toBeUndefined();
  });

  it('a recreated Service (new UID) replaces the old slices', () => {
    const { h, svc } = basic();
    const oldNames = slicesFor(h.cluster, 'foo').map((s) => s.metadata.name);
    h.cluster.store.delete('Service', NS, 'foo');
    h.cluster.settle();
    const again = h.cluster.store.create(service('foo', { clusterIP: '10.96.0.11' }));
    h.cluster.settle();
    const slices = slicesFor(h.cluster, 'foo');
    expect(again.metadata.uid).not.toBe(svc.metadata.uid);
    expect(slices).toHaveLength(1);
    expect(oldNames).not.toContain(slices[0]!.metadata.name);
    expect(slices[0]!.metadata.ownerReferences?.[0]?.uid).toBe(again.metadata.uid);
  });

  it('slices never exceed maxEndpointsPerSlice while Pods come and go', () => {
    const h = harness({ maxEndpointsPerSlice: 7 });
    h.cluster.store.create(node('node-1'));
    h.cluster.store.create(service('foo'));
    for (let i = 0; i < 40; i++) h.cluster.store.create(pod(i));
    h.cluster.settle();
    for (let i = 0; i < 40; i += 3) h.cluster.store.delete('Pod', NS, `pod${i}`, { gracePeriodSeconds: 0 });
    for (let i = 40; i < 50; i++) h.cluster.store.create(pod(i));
    h.cluster.settle();
    const slices = slicesFor(h.cluster, 'foo');
    expect(Math.max(...lengths(slices))).toBeLessThanOrEqual(7);
    expect(lengths(slices).reduce((a, b) => a + b, 0)).toBe(50 - 14);
  });
});
