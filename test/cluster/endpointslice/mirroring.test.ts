// The EndpointSliceMirroring controller: user-managed Endpoints of selector-less Services.
import { describe, expect, it } from 'vitest';
import type { EndpointAddress, Endpoints } from 'kubernetes-types/core/v1.js';
import type { KObject } from '../../../src/cluster/object.js';
import { EndpointSliceMirroringController } from '../../../src/cluster/controllers/endpointslicemirroring.js';
import { EndpointsController } from '../../../src/cluster/controllers/endpoints.js';
import { EndpointSliceController } from '../../../src/cluster/controllers/endpointslice.js';
import { harness, node, NS, pod, service, slicesFor } from './fixtures.js';

const MIRROR = 'endpointslicemirroring-controller.k8s.io';

function endpoints(
  name: string,
  subsets: Endpoints['subsets'],
  meta: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): KObject & Endpoints {
  return { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: NS, ...meta }, subsets };
}

const a = (ip: string, extra: Partial<EndpointAddress> = {}): EndpointAddress => ({ ip, ...extra });

function setup() {
  return harness({}, [new EndpointSliceMirroringController()]);
}

describe('EndpointSliceMirroring controller', () => {
  it('mirrors the Endpoints of a selector-less Service into one slice per subset and address type', () => {
    const h = setup();
    h.cluster.store.create(service('ext', { selector: null, clusterIP: '10.96.0.5' }));
    const ep = h.cluster.store.create(
      endpoints(
        'ext',
        [
          {
            addresses: [a('192.168.0.1', { nodeName: 'n1', hostname: 'db-0' }), a('192.168.0.2')],
            notReadyAddresses: [a('192.168.0.3')],
            ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
          },
        ],
        {
          labels: { team: 'data' },
          annotations: {
            note: 'kept',
            'endpoints.kubernetes.io/last-change-trigger-time': '2026-01-01T00:00:00Z',
            'kubectl.kubernetes.io/last-applied-configuration': '{}',
          },
        },
      ),
    );
    h.cluster.settle();
    const slices = slicesFor(h.cluster, 'ext');
    expect(slices).toHaveLength(1);
    const s = slices[0]!;
    expect(s.metadata.name).toMatch(/^ext-/);
    expect(s.metadata.labels).toEqual({
      team: 'data',
      'kubernetes.io/service-name': 'ext',
      'endpointslice.kubernetes.io/managed-by': MIRROR,
    });
    expect(s.metadata.annotations).toEqual({ note: 'kept' });
    expect(s.metadata.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'Endpoints', name: 'ext', uid: ep.metadata.uid, controller: true, blockOwnerDeletion: true },
    ]);
    expect(s.addressType).toBe('IPv4');
    expect(s.ports).toEqual([{ name: 'pg', port: 5432, protocol: 'TCP' }]);
    expect(s.endpoints).toEqual([
      { addresses: ['192.168.0.1'], conditions: { ready: true }, hostname: 'db-0', nodeName: 'n1' },
      { addresses: ['192.168.0.2'], conditions: { ready: true } },
      { addresses: ['192.168.0.3'], conditions: { ready: false } },
    ]);
  });

  it('addresses of both families give an IPv4 and an IPv6 slice; subsets with other ports give other slices', () => {
    const h = setup();
    h.cluster.store.create(service('ext', { selector: null }));
    h.cluster.store.create(
      endpoints('ext', [
        { addresses: [a('10.0.0.1'), a('fd00::1')], ports: [{ name: 'a', port: 1, protocol: 'TCP' }] },
        { addresses: [a('10.0.0.2')], ports: [{ name: 'b', port: 2, protocol: 'TCP' }] },
      ]),
    );
    h.cluster.settle();
    const got = slicesFor(h.cluster, 'ext')
      .map((s) => `${s.addressType} ${s.ports![0]!.name} ${s.endpoints.map((e) => e.addresses[0]).join(',')}`)
      .sort();
    expect(got).toEqual(['IPv4 a 10.0.0.1', 'IPv4 b 10.0.0.2', 'IPv6 a fd00::1']);
  });

  it('an Endpoints change updates the same slice; a resync with no change writes nothing', () => {
    const h = setup();
    h.cluster.store.create(service('ext', { selector: null }));
    const ep = h.cluster.store.create(endpoints('ext', [{ addresses: [a('10.0.0.1')], ports: [{ port: 80 }] }]));
    h.cluster.settle();
    const name = slicesFor(h.cluster, 'ext')[0]!.metadata.name;
    h.writes.length = 0;
    h.cluster.store.update({ ...ep, subsets: [{ addresses: [a('10.0.0.1'), a('10.0.0.2')], ports: [{ port: 80 }] }] });
    h.cluster.settle();
    expect(h.writes).toEqual([`MODIFIED ${name}`]);
    h.writes.length = 0;
    const cur = h.cluster.store.get<KObject & Endpoints>('Endpoints', NS, 'ext')!;
    h.cluster.store.update({ ...cur });
    h.cluster.settle();
    expect(h.writes).toEqual([]);
  });

  it('Endpoints labelled skip-mirror=true are not mirrored; adding the label removes mirrored slices', () => {
    const h = setup();
    h.cluster.store.create(service('ext', { selector: null }));
    h.cluster.store.create(
      endpoints('skip', [{ addresses: [a('10.0.0.9')], ports: [{ port: 80 }] }], { labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } }),
    );
    h.cluster.store.create(service('skip', { selector: null }));
    const ep = h.cluster.store.create(endpoints('ext', [{ addresses: [a('10.0.0.1')], ports: [{ port: 80 }] }]));
    h.cluster.settle();
    expect(slicesFor(h.cluster, 'skip')).toEqual([]);
    expect(slicesFor(h.cluster, 'ext')).toHaveLength(1);
    h.cluster.store.update({ ...ep, metadata: { ...ep.metadata, labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } } });
    h.cluster.settle();
    expect(slicesFor(h.cluster, 'ext')).toEqual([]);
  });

  it('nothing is mirrored for a Service with a selector, or without a Service; mirrored slices go when a selector appears', () => {
    const h = setup();
    const svc = h.cluster.store.create(service('ext', { selector: null }));
    h.cluster.store.create(service('sel', {}));
    h.cluster.store.create(endpoints('sel', [{ addresses: [a('10.0.0.1')], ports: [{ port: 80 }] }]));
    h.cluster.store.create(endpoints('orphan', [{ addresses: [a('10.0.0.1')], ports: [{ port: 80 }] }]));
    h.cluster.store.create(endpoints('ext', [{ addresses: [a('10.0.0.1')], ports: [{ port: 80 }] }]));
    h.cluster.settle();
    expect(slicesFor(h.cluster, 'sel')).toEqual([]);
    expect(slicesFor(h.cluster, 'orphan')).toEqual([]);
    expect(slicesFor(h.cluster, 'ext')).toHaveLength(1);
    h.cluster.store.update({ ...svc, spec: { ...svc.spec, selector: { app: 'x' } } });
    h.cluster.settle();
    expect(slicesFor(h.cluster, 'ext')).toEqual([]);
  });

  it('deleting the Endpoints deletes the mirrored slices', () => {
    const h = setup();
    h.cluster.store.create(service('ext', { selector: null }));
    h.cluster.store.create(endpoints('ext', [{ addresses: [a('10.0.0.1')], ports: [{ port: 80 }] }]));
    h.cluster.settle();
    h.cluster.store.delete('Endpoints', NS, 'ext');
    h.cluster.settle();
    expect(slicesFor(h.cluster, 'ext')).toEqual([]);
  });

  it('a mirrored slice deleted behind its back is recreated', () => {
    const h = setup();
    h.cluster.store.create(service('ext', { selector: null }));
    h.cluster.store.create(endpoints('ext', [{ addresses: [a('10.0.0.1')], ports: [{ port: 80 }] }]));
    h.cluster.settle();
    h.cluster.store.delete('EndpointSlice', NS, slicesFor(h.cluster, 'ext')[0]!.metadata.name!);
    h.cluster.settle();
    expect(slicesFor(h.cluster, 'ext')).toHaveLength(1);
  });

  it('at most 1000 addresses per subset are mirrored, and invalid IPs are skipped, each with an event', () => {
    const h = setup();
    h.cluster.store.create(service('big', { selector: null }));
    const addrs = Array.from({ length: 1001 }, (_, i) => a(`10.9.${Math.floor(i / 250)}.${i % 250}`));
    // Subsets are repacked first, so addresses are taken in IP order: the invalid one sorts first.
    h.cluster.store.create(endpoints('big', [{ addresses: [a('0.0.0.256'), ...addrs], ports: [{ port: 80 }] }]));
    h.cluster.settle();
    expect(slicesFor(h.cluster, 'big')[0]!.endpoints).toHaveLength(1000);
    expect(h.cluster.events.map((e) => `${e.reason}: ${e.message}`)).toEqual([
      'InvalidIPAddress: Skipped 1 invalid IP addresses when mirroring to EndpointSlices',
      'TooManyAddressesToMirror: A max of 1000 addresses can be mirrored to EndpointSlices per Endpoints subset. 2 addresses were skipped',
    ]);
  });

  it('with all three controllers, a selector Service gets controller slices only and nothing loops', () => {
    const h = harness({}, [new EndpointSliceController(), new EndpointSliceMirroringController(), new EndpointsController()]);
    h.cluster.store.create(node('node-1'));
    h.cluster.store.create(service('web', { clusterIP: '10.96.0.1' }));
    h.cluster.store.create(service('ext', { selector: null, clusterIP: '10.96.0.2' }));
    h.cluster.store.create(endpoints('ext', [{ addresses: [a('192.168.1.1')], ports: [{ port: 80 }] }]));
    for (let i = 0; i < 3; i++) h.cluster.store.create(pod(i));
    h.cluster.settle();
    h.cluster.advance(30);
    expect(slicesFor(h.cluster, 'web').map((s) => s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'])).toEqual([
      'endpointslice-controller.k8s.io',
    ]);
    expect(slicesFor(h.cluster, 'ext').map((s) => s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'])).toEqual([MIRROR]);
    expect(h.cluster.store.get<KObject & Endpoints>('Endpoints', NS, 'web')!.subsets![0]!.addresses).toHaveLength(3);
  });
});
