// Upstream reconciler_test.go cases, driven through the controller on a Cluster.
import { describe, expect, it } from 'vitest';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { KObject } from '../../../src/cluster/object.js';
import { podToEndpoint } from '../../../src/cluster/endpointslice/podtoendpoint.js';
import { placeholderSliceEqual, newEndpointSlice } from '../../../src/cluster/endpointslice/slicemeta.js';
import type { Slice } from '../../../src/cluster/endpointslice/types.js';
import { existingSlice, harness, lengths, node, NS, pod, service, slicesFor } from './fixtures.js';

const MANAGED_BY = 'endpointslice-controller.k8s.io';

/** 250-style pod sets: every third Pod not ready, as the upstream tests build them. */
function createPods(h: ReturnType<typeof harness>, n: number, from = 0): (KObject & Pod)[] {
  const out: (KObject & Pod)[] = [];
  for (let i = from; i < from + n; i++) out.push(h.cluster.store.create(pod(i, { ready: i % 3 !== 0 })));
  return out;
}

function setup(config: Parameters<typeof harness>[0] = {}) {
  const h = harness(config);
  h.cluster.store.create(node('node-1'));
  return h;
}

describe('EndpointSlice reconciler (upstream reconciler_test.go)', () => {
  it('TestReconcileEmpty: a Service without Pods gets one placeholder slice with no ports or endpoints', () => {
    const h = setup();
    h.cluster.store.create(service('foo'));
    h.cluster.settle();
    const slices = slicesFor(h.cluster, 'foo');
    expect(slices).toHaveLength(1);
    expect(slices[0]!.metadata.name).toMatch(/^foo-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    // No clusterIP: the Service counts as headless.
    expect(slices[0]!.metadata.labels).toEqual({
      'kubernetes.io/service-name': 'foo',
      'endpointslice.kubernetes.io/managed-by': MANAGED_BY,
      'service.kubernetes.io/headless': '',
    });
    expect(slices[0]!.ports).toEqual([]);
    expect(slices[0]!.endpoints).toEqual([]);
    expect(h.writes).toHaveLength(1);
  });

  describe('TestReconcile1Pod: one dual-IP Pod against Service variants', () => {
    const v4Endpoint = (p: KObject & Pod) => ({
      addresses: ['1.2.3.4'],
      conditions: { ready: true, serving: true, terminating: false },
      targetRef: { kind: 'Pod', namespace: NS, name: 'pod1', uid: p.metadata.uid },
      nodeName: 'node-1',
      zone: 'us-central1-a',
    });
    const v6Endpoint = (p: KObject & Pod) => ({ ...v4Endpoint(p), addresses: ['1234::5678:0:0:9abc:def0'] });
    const base = { 'kubernetes.io/service-name': 'foo', 'endpointslice.kubernetes.io/managed-by': MANAGED_BY };
    const cases: {
      name: string;
      svc: Parameters<typeof service>[1];
      types: string[];
      labels: Record<string, string>;
    }[] = [
      { name: 'no-family-service', svc: { ipFamilies: [], clusterIP: '10.0.0.10' }, types: ['IPv4'], labels: base },
      { name: 'ipv4 (headless)', svc: {}, types: ['IPv4'], labels: { ...base, 'service.kubernetes.io/headless': '' } },
      { name: 'ipv4-clusterip', svc: { clusterIP: '1.1.1.1' }, types: ['IPv4'], labels: base },
      {
        name: 'ipv4-labels',
        svc: { labels: { foo: 'bar' } },
        types: ['IPv4'],
        labels: { ...base, foo: 'bar', 'service.kubernetes.io/headless': '' },
      },
      {
        name: 'ipv4-bad-labels (reserved labels ignored)',
        svc: {
          labels: {
            'kubernetes.io/service-name': 'bad',
            'endpointslice.kubernetes.io/managed-by': 'actor',
            'service.kubernetes.io/headless': 'invalid',
          },
        },
        types: ['IPv4'],
        labels: { ...base, 'service.kubernetes.io/headless': '' },
      },
      { name: 'ipv6', svc: { ipFamilies: ['IPv6'] }, types: ['IPv6'], labels: { ...base, 'service.kubernetes.io/headless': '' } },
      {
        name: 'ipv6-clusterip',
        svc: { ipFamilies: ['IPv6'], clusterIP: '1234::5678:0000:0000:9abc:def1' },
        types: ['IPv6'],
        labels: base,
      },
      { name: 'dualstack-service', svc: { ipFamilies: ['IPv4', 'IPv6'], clusterIP: '10.0.0.10' }, types: ['IPv4', 'IPv6'], labels: base },
    ];
    for (const tc of cases) {
      it(tc.name, () => {
        const h = harness();
        h.cluster.store.create(
          node('node-1', { labels: { 'topology.kubernetes.io/zone': 'us-central1-a', 'topology.kubernetes.io/region': 'us-central1' } }),
        );
        const svc = h.cluster.store.create(service('foo', tc.svc));
        const p = h.cluster.store.create(
          pod(1, { ips: ['1.2.3.4', '1234::5678:0000:0000:9abc:def0'], hostname: 'example-hostname' }),
        );
        h.cluster.settle();
        const slices = slicesFor(h.cluster, 'foo');
        expect(slices.map((s) => s.addressType).sort()).toEqual(tc.types);
        expect(h.writes).toHaveLength(tc.types.length);
        for (const s of slices) {
          expect(s.metadata.name!.startsWith('foo-')).toBe(true);
          expect(s.metadata.labels).toEqual(tc.labels);
          // The Service is new to the trigger-time tracker: its creation time is published.
          expect(s.metadata.annotations?.['endpoints.kubernetes.io/last-change-trigger-time']).toBe(
            svc.metadata.creationTimestamp,
          );
          expect(s.endpoints).toEqual([s.addressType === 'IPv4' ? v4Endpoint(p) : v6Endpoint(p)]);
        }
      });
    }
  });

  describe('TestReconcile1EndpointSlice: an existing placeholder and no Pods', () => {
    it('an equal placeholder is left alone', () => {
      const h = setup();
      const svc = h.cluster.store.create(service('foo'));
      h.cluster.store.create(newEndpointSlice(svc, [], 'IPv4', MANAGED_BY) as Slice & KObject);
      h.writes.length = 0;
      h.cluster.settle();
      expect(h.writes).toEqual([]);
      expect(slicesFor(h.cluster, 'foo')).toHaveLength(1);
    });

    it('a different placeholder is replaced by an update of the same slice', () => {
      const h = setup();
      const svc = h.cluster.store.create(service('foo'));
      const empty = existingSlice(svc, 1, [], {
        labels: { bar: 'baz', 'kubernetes.io/service-name': 'foo', 'endpointslice.kubernetes.io/managed-by': MANAGED_BY },
      });
      h.cluster.store.create(empty);
      h.writes.length = 0;
      h.cluster.settle();
      expect(h.writes).toEqual(['MODIFIED foo-1']);
      const [s] = slicesFor(h.cluster, 'foo');
      expect(s!.ports).toEqual([]);
      expect(s!.endpoints).toEqual([]);
    });
  });

  it('TestPlaceHolderSliceCompare: only namespace and labels of the metadata count', () => {
    const blank = (o: Partial<Slice> = {}, meta: Slice['metadata'] = {}): Slice => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: meta,
      addressType: 'IPv4',
      endpoints: [],
      ...o,
    });
    expect(placeholderSliceEqual(blank(), blank())).toBe(true);
    expect(placeholderSliceEqual(blank({}, { name: 'foo' }), blank({}, { name: 'bar' }))).toBe(true);
    expect(placeholderSliceEqual(blank({}, { labels: { foo: 'true' } }), blank({}, { labels: { bar: 'true' } }))).toBe(false);
    expect(placeholderSliceEqual(blank({}, { creationTimestamp: '1' }), blank({}, { creationTimestamp: '2' }))).toBe(true);
    expect(placeholderSliceEqual(blank({ addressType: 'IPv4' }), blank({ addressType: 'IPv6' }))).toBe(false);
    expect(placeholderSliceEqual(blank({ ports: undefined }), blank({ ports: [] }))).toBe(true);
  });

  it('TestReconcile1EndpointSlicePublishNotReadyAddresses: unready Pods are published as ready', () => {
    const h = setup();
    h.cluster.store.create(service('foo', { publishNotReadyAddresses: true }));
    createPods(h, 50);
    h.cluster.settle();
    const slices = slicesFor(h.cluster, 'foo');
    expect(lengths(slices)).toEqual([50]);
    expect(h.writes).toHaveLength(1);
    for (const ep of slices[0]!.endpoints) expect(ep.conditions?.ready).toBe(true);
  });

  it('TestReconcileManyPods: 250 Pods and no slices give 3 creates of 100, 100 and 50', () => {
    const h = setup();
    h.cluster.store.create(service('foo'));
    createPods(h, 250);
    h.cluster.settle();
    expect(lengths(slicesFor(h.cluster, 'foo'))).toEqual([100, 100, 50]);
    expect(h.writes.map((w) => w.split(' ')[0])).toEqual(['ADDED', 'ADDED', 'ADDED']);
  });

  /** Slices of about a quarter of the Pods each, as in the SomePreexisting tests. */
  function quarterSlices(svc: KObject & Service, pods: (KObject & Pod)[]): Slice[] {
    const s1: Slice['endpoints'] = [];
    const s2: Slice['endpoints'] = [];
    for (let i = 1; i < pods.length - 4; i += 4) s1.push(podToEndpoint(pods[i]!, undefined, svc, 'IPv4'));
    for (let i = 3; i < pods.length - 4; i += 4) s2.push(podToEndpoint(pods[i]!, undefined, svc, 'IPv4'));
    return [existingSlice(svc, 1, s1), existingSlice(svc, 2, s2)];
  }

  it('TestReconcileEndpointSlicesSomePreexisting: 62 and 61 plus 127 new give a create then an update (89, 61, 100)', () => {
    const h = setup();
    const svc = h.cluster.store.create(service('foo'));
    const pods = createPods(h, 250);
    const [s1, s2] = quarterSlices(svc, pods);
    expect([s1!.endpoints.length, s2!.endpoints.length]).toEqual([62, 61]);
    h.cluster.store.create(s1!);
    h.cluster.store.create(s2!);
    h.writes.length = 0;
    h.cluster.settle();
    expect(h.writes.map((w) => w.split(' ')[0])).toEqual(['ADDED', 'MODIFIED']);
    expect(h.writes[1]).toBe('MODIFIED foo-1');
    expect(lengths(slicesFor(h.cluster, 'foo'))).toEqual([100, 89, 61]);
  });

  it('TestReconcileEndpointSlicesSomePreexistingWorseAllocation: 74 and 74 plus 152 new give two creates (74, 74, 100, 52)', () => {
    const h = setup();
    const svc = h.cluster.store.create(service('foo'));
    const pods = createPods(h, 300);
    for (const s of quarterSlices(svc, pods)) h.cluster.store.create(s);
    h.writes.length = 0;
    h.cluster.settle();
    expect(h.writes.map((w) => w.split(' ')[0])).toEqual(['ADDED', 'ADDED']);
    expect(lengths(slicesFor(h.cluster, 'foo'))).toEqual([100, 74, 74, 52]);
  });

  it('TestReconcileEndpointSlicesUpdating: a port change updates the slices in place', () => {
    const h = setup();
    const svc = h.cluster.store.create(service('foo'));
    createPods(h, 250);
    h.cluster.settle();
    h.writes.length = 0;
    h.cluster.store.update({ ...svc, spec: { ...svc.spec, ports: [{ name: 'foo', port: 80, targetPort: 81, protocol: 'TCP' }] } });
    h.cluster.settle();
    expect(h.writes.map((w) => w.split(' ')[0])).toEqual(['MODIFIED', 'MODIFIED', 'MODIFIED']);
    const slices = slicesFor(h.cluster, 'foo');
    expect(lengths(slices)).toEqual([100, 100, 50]);
    for (const s of slices) expect(s.ports).toEqual([{ name: 'foo', protocol: 'TCP', port: 81 }]);
  });

  it('TestReconcileEndpointSlicesServicesLabelsUpdating: a Service label change updates every slice', () => {
    const h = setup();
    const svc = h.cluster.store.create(service('foo'));
    createPods(h, 250);
    h.cluster.settle();
    h.writes.length = 0;
    h.cluster.store.update({ ...svc, metadata: { ...svc.metadata, labels: { new: 'label' } } });
    h.cluster.settle();
    expect(h.writes).toHaveLength(3);
    for (const s of slicesFor(h.cluster, 'foo')) expect(s.metadata.labels?.['new']).toBe('label');
  });

  it('TestReconcileEndpointSlicesServicesReservedLabels: reserved labels on the Service change nothing', () => {
    const h = setup();
    const svc = h.cluster.store.create(service('foo'));
    createPods(h, 250);
    h.cluster.settle();
    h.writes.length = 0;
    h.cluster.store.update({
      ...svc,
      metadata: {
        ...svc.metadata,
        labels: {
          'kubernetes.io/service-name': 'bad',
          'endpointslice.kubernetes.io/managed-by': 'actor',
          'service.kubernetes.io/headless': 'invalid',
        },
      },
    });
    h.cluster.settle();
    expect(h.writes).toEqual([]);
    expect(lengths(slicesFor(h.cluster, 'foo'))).toEqual([100, 100, 50]);
  });

  it('TestReconcileEndpointSlicesRecycling: 10 slices of 30 are left alone, then a port change repacks them to 100, 100, 100', () => {
    const h = setup();
    const svc = h.cluster.store.create(service('foo'));
    const pods = createPods(h, 300);
    for (let n = 0; n < 10; n++) {
      const eps = pods.slice(n * 30, n * 30 + 30).map((p) => podToEndpoint(p, undefined, svc, 'IPv4'));
      h.cluster.store.create(existingSlice(svc, n, eps));
    }
    h.writes.length = 0;
    h.cluster.settle();
    expect(h.writes).toEqual([]);
    h.cluster.store.update({ ...svc, spec: { ...svc.spec, ports: [{ name: 'foo', port: 80, targetPort: 81, protocol: 'TCP' }] } });
    h.cluster.settle();
    expect(h.writes.filter((w) => w.startsWith('MODIFIED'))).toHaveLength(3);
    expect(h.writes.filter((w) => w.startsWith('DELETED'))).toHaveLength(7);
    expect(h.writes.filter((w) => w.startsWith('ADDED'))).toHaveLength(0);
    // Updates come before deletes.
    expect(h.writes.slice(0, 3).every((w) => w.startsWith('MODIFIED'))).toBe(true);
    expect(lengths(slicesFor(h.cluster, 'foo'))).toEqual([100, 100, 100]);
  });

  it('TestReconcileEndpointSlicesUpdatePacking: new endpoints go to the slice that ends up fullest (95, 20)', () => {
    const h = setup();
    const svc = h.cluster.store.create(service('foo'));
    const pods: (KObject & Pod)[] = [];
    for (let i = 0; i < 80; i++) pods.push(h.cluster.store.create(pod(i)));
    for (let i = 100; i < 120; i++) pods.push(h.cluster.store.create(pod(i)));
    h.cluster.store.create(existingSlice(svc, 1, pods.slice(0, 80).map((p) => podToEndpoint(p, undefined, svc, 'IPv4'))));
    h.cluster.store.create(existingSlice(svc, 2, pods.slice(80).map((p) => podToEndpoint(p, undefined, svc, 'IPv4'))));
    // Every tenth Pod turns unready, so both slices need an update.
    pods.forEach((p, i) => {
      if (i % 10 === 0) {
        h.cluster.store.update({ ...p, status: { ...p.status, conditions: [{ type: 'Ready', status: 'False' }] } });
      }
    });
    for (let i = 200; i < 215; i++) h.cluster.store.create(pod(i));
    h.writes.length = 0;
    h.cluster.settle();
    expect(h.writes.sort()).toEqual(['MODIFIED foo-1', 'MODIFIED foo-2']);
    expect(lengths(slicesFor(h.cluster, 'foo'))).toEqual([95, 20]);
  });

  it('TestReconcileEndpointSlicesReplaceDeprecated: slices of the old IP address type are replaced by IPv4 ones (100, 30)', () => {
    const h = setup();
    const svc = h.cluster.store.create(service('foo'));
    const pods: (KObject & Pod)[] = [];
    for (let i = 0; i < 80; i++) pods.push(h.cluster.store.create(pod(i)));
    for (let i = 100; i < 150; i++) pods.push(h.cluster.store.create(pod(i)));
    const ep = (p: KObject & Pod) => podToEndpoint(p, undefined, service('x'), 'IPv4');
    h.cluster.store.create(existingSlice(svc, 1, pods.slice(0, 80).map(ep), { addressType: 'IP' }));
    h.cluster.store.create(existingSlice(svc, 2, pods.slice(80).map(ep), { addressType: 'IP' }));
    h.writes.length = 0;
    h.cluster.settle();
    expect(h.writes.filter((w) => w.startsWith('DELETED')).sort()).toEqual(['DELETED foo-1', 'DELETED foo-2']);
    const slices = slicesFor(h.cluster, 'foo');
    expect(lengths(slices)).toEqual([100, 30]);
    for (const s of slices) expect(s.addressType).toBe('IPv4');
  });

  describe('TestReconcileEndpointSlicesRecreation', () => {
    it('a slice owned by the Service is kept', () => {
      const h = setup();
      const svc = h.cluster.store.create(service('foo'));
      const p = h.cluster.store.create(pod(1));
      h.cluster.store.create(existingSlice(svc, 1, [podToEndpoint(p, undefined, service('x'), 'IPv4')]));
      h.writes.length = 0;
      h.cluster.settle();
      expect(h.writes).toEqual([]);
    });

    it('a slice owned by another Service UID (a recreated Service) is replaced: create, then delete', () => {
      const h = setup();
      const svc = h.cluster.store.create(service('foo'));
      const p = h.cluster.store.create(pod(1));
      h.cluster.store.create(existingSlice(svc, 1, [podToEndpoint(p, undefined, service('x'), 'IPv4')], { ownerUid: 'different' }));
      h.writes.length = 0;
      h.cluster.settle();
      expect(h.writes.map((w) => w.split(' ')[0])).toEqual(['ADDED', 'DELETED']);
      const slices = slicesFor(h.cluster, 'foo');
      expect(slices).toHaveLength(1);
      expect(slices[0]!.metadata.ownerReferences?.[0]?.uid).toBe(svc.metadata.uid);
    });
  });

  it('TestReconcileEndpointSlicesNamedPorts: a named port mapping to 5 numbers gives 5 slices of 60', () => {
    const h = setup();
    h.cluster.store.create(service('named-port-example', { ports: [{ port: 80, targetPort: 'http', protocol: 'TCP' }] }));
    for (let i = 0; i < 300; i++) {
      h.cluster.store.create(
        pod(i, { ready: i % 3 !== 0, containerPorts: [{ name: 'http', containerPort: 8080 + (i % 5), protocol: 'TCP' }] }),
      );
    }
    h.cluster.settle();
    const slices = slicesFor(h.cluster, 'named-port-example');
    expect(lengths(slices)).toEqual([60, 60, 60, 60, 60]);
    expect(slices.map((s) => s.ports![0]!.port).sort()).toEqual([8080, 8081, 8082, 8083, 8084]);
    for (const s of slices) {
      expect(s.addressType).toBe('IPv4');
      expect(s.ports).toEqual([{ name: '', protocol: 'TCP', port: s.ports![0]!.port }]);
    }
  });

  describe('TestReconcileMaxEndpointsPerSlice: 250 endpoints', () => {
    const rows: [number, number[]][] = [
      [50, [50, 50, 50, 50, 50]],
      [80, [80, 80, 80, 10]],
      [150, [150, 100]],
      [250, [250]],
      [500, [250]],
    ];
    for (const [max, want] of rows) {
      it(`maxEndpointsPerSlice ${max} gives ${want.join(', ')}`, () => {
        const h = setup({ maxEndpointsPerSlice: max });
        h.cluster.store.create(service('foo'));
        createPods(h, 250);
        h.cluster.settle();
        expect(lengths(slicesFor(h.cluster, 'foo'))).toEqual(want);
      });
    }
  });

  it('TestReconcileHeadlessServiceNoPorts: a headless Service without ports causes no churn (issue 133474)', () => {
    const h = setup();
    const svc = h.cluster.store.create(service('headless-no-ports', { clusterIP: 'None', ports: [] }));
    h.cluster.store.create(pod(1));
    h.cluster.settle();
    expect(h.writes).toHaveLength(1);
    const [s] = slicesFor(h.cluster, 'headless-no-ports');
    expect(s!.ports).toEqual([]);
    expect(s!.endpoints).toHaveLength(1);
    // The API server would serialize the empty port list as nil: that must not cause a write.
    h.cluster.store.update({ ...s!, ports: undefined } as Slice & KObject);
    h.writes.length = 0;
    h.cluster.store.update({ ...svc, metadata: { ...svc.metadata, annotations: { touch: '1' } } });
    h.cluster.settle();
    h.cluster.advance(5);
    expect(h.writes).toEqual([]);
  });
});
