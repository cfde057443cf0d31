// Properties of the EndpointSlice controller under random Pod and Node churn.
import { describe, expect } from 'vitest';
import { test } from '@fast-check/vitest';
import fc from 'fast-check';
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { KObject } from '../../../src/cluster/object.js';
import type { Cluster } from '../../../src/cluster/cluster.js';
import { portMapKey } from '../../../src/cluster/endpointslice/ports.js';
import { parseIP } from '../../../src/cluster/endpointslice/ip.js';
import type { Slice } from '../../../src/cluster/endpointslice/types.js';
import { EndpointSliceController } from '../../../src/cluster/controllers/endpointslice.js';
import { EndpointsController } from '../../../src/cluster/controllers/endpoints.js';
import { harness, node, NS, pod, service } from './fixtures.js';

const controllers = () => [new EndpointSliceController(), new EndpointsController()];

const MAX = 3;
const PODS = 24;
const NODES = 5; // node-4 does not exist at first: Pods on it hit the missing-Node path

type Op =
  | { k: 'create'; i: number; app: string; web: boolean; node: number; ready: boolean; dual: boolean }
  | { k: 'delete'; i: number; graceful: boolean }
  | { k: 'ready'; i: number; ready: boolean }
  | { k: 'label'; i: number; app: string; web: boolean }
  | { k: 'zone'; node: number; zone: number }
  | { k: 'nodeDel'; node: number }
  | { k: 'nodeAdd'; node: number }
  | { k: 'settle' };

const idx = fc.integer({ min: 0, max: PODS - 1 });
const app = fc.constantFrom('a', 'b', 'c');
const nodeIdx = fc.integer({ min: 0, max: NODES - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant('create' as const), i: idx, app, web: fc.boolean(), node: nodeIdx, ready: fc.boolean(), dual: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('delete' as const), i: idx, graceful: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('ready' as const), i: idx, ready: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('label' as const), i: idx, app, web: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('zone' as const), node: nodeIdx, zone: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('nodeDel' as const), node: nodeIdx }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('nodeAdd' as const), node: nodeIdx }) },
  { weight: 2, arbitrary: fc.constant({ k: 'settle' as const }) },
);

/** The Services under test: a named port, publishNotReadyAddresses, headless dual-stack, PreferClose. */
function services(): (KObject & Service)[] {
  return [
    service('svc-a', { selector: { app: 'a' }, clusterIP: '10.96.0.1', ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] }),
    service('svc-b', { selector: { app: 'b' }, clusterIP: '10.96.0.2', publishNotReadyAddresses: true }),
    service('svc-web', { selector: { web: 'true' }, ipFamilies: [], clusterIP: 'None', ports: [] }),
    service('svc-close', { selector: { app: 'a' }, clusterIP: '10.96.0.3', trafficDistribution: 'PreferClose' }),
  ];
}

function labels(a: string, web: boolean): Record<string, string> {
  return { app: a, ...(web ? { web: 'true' } : {}) };
}

function run(ops: readonly Op[], seed = 7): Cluster {
  const { cluster } = harness({ maxEndpointsPerSlice: MAX }, controllers(), seed);
  const { store } = cluster;
  for (let n = 0; n < NODES - 1; n++) store.create(node(`node-${n}`, { zone: `zone-${n % 3}`, cpu: '1' }));
  for (const s of services()) store.create(s);
  for (const op of ops) {
    const name = 'i' in op ? `pod${op.i}` : '';
    const p = name ? store.get<KObject & Pod>('Pod', NS, name) : undefined;
    switch (op.k) {
      case 'create':
        if (p) break;
        store.create(
          pod(op.i, {
            labels: labels(op.app, op.web),
            nodeName: `node-${op.node}`,
            ready: op.ready,
            ips: op.dual ? [`10.2.0.${op.i + 1}`, `fd00::${op.i + 1}`] : [`10.2.0.${op.i + 1}`],
            // Every third Pod does not name the port svc-a targets; the others map it to 8080 or 8081.
            ...(op.i % 3 === 0 ? {} : { containerPorts: [{ name: 'http', containerPort: 8080 + (op.i % 2), protocol: 'TCP' }] }),
          }),
        );
        break;
      case 'delete':
        if (p) store.delete('Pod', NS, name, { gracePeriodSeconds: op.graceful ? 30 : 0 });
        break;
      case 'ready':
        if (p) store.update({ ...p, status: { ...p.status, conditions: [{ type: 'Ready', status: op.ready ? 'True' : 'False' }] } });
        break;
      case 'label':
        if (p) store.update({ ...p, metadata: { ...p.metadata, labels: labels(op.app, op.web) } });
        break;
      case 'zone': {
        const n = store.get<KObject & Node>('Node', undefined, `node-${op.node}`);
        if (n) store.update({ ...n, metadata: { ...n.metadata, labels: { 'topology.kubernetes.io/zone': `zone-${op.zone}` } } });
        break;
      }
      case 'nodeDel':
        store.delete('Node', undefined, `node-${op.node}`);
        break;
      case 'nodeAdd':
        if (!store.get('Node', undefined, `node-${op.node}`)) store.create(node(`node-${op.node}`, { zone: `zone-${op.node % 3}`, cpu: '1' }));
        break;
      case 'settle':
        cluster.settle();
        break;
    }
  }
  cluster.settle();
  return cluster;
}

/** A cluster holding the same Nodes, Services and Pods, reconciled once from nothing. */
function fromScratch(c: Cluster): Cluster {
  const { cluster } = harness({ maxEndpointsPerSlice: MAX }, controllers(), 99);
  for (const kind of ['Node', 'Service', 'Pod']) {
    for (const o of c.store.list(kind)) {
      const { uid: _u, resourceVersion: _r, creationTimestamp: _c, ...meta } = o.metadata;
      cluster.store.create({ ...o, metadata: meta });
    }
  }
  cluster.settle();
  return cluster;
}

/** Per Service and address type, the endpoints (with their slice's ports), ignoring slice names and Pod uids. */
function endpointSets(c: Cluster): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const s of c.store.list<Slice>('EndpointSlice')) {
    const key = `${s.metadata.labels?.['kubernetes.io/service-name']}/${s.addressType}`;
    const list = (out[key] ??= []);
    for (const ep of s.endpoints) {
      const { uid: _u, ...ref } = ep.targetRef ?? {};
      list.push(`${portMapKey(s.ports)}|${JSON.stringify({ ...ep, targetRef: ref })}`);
    }
  }
  for (const k in out) out[k]!.sort();
  return out;
}

describe('EndpointSlice controller properties', () => {
  test.prop([fc.array(opArb, { maxLength: 60 })], { numRuns: 150 })(
    'after any churn the slices equal a from-scratch reconcile of the same state',
    (ops) => {
      const c = run(ops);
      expect(endpointSets(c)).toEqual(endpointSets(fromScratch(c)));
    },
  );

  test.prop([fc.array(opArb, { maxLength: 60 })], { numRuns: 100 })(
    'after any churn the Endpoints objects equal a from-scratch sync of the same state',
    (ops) => {
      const dump = (c: Cluster) =>
        c.store.list('Endpoints').map((e) => JSON.stringify([e.metadata.name, e.metadata.labels, e['subsets']]).replace(/"uid":"[^"]*"/g, ''));
      const c = run(ops);
      expect(dump(c).sort()).toEqual(dump(fromScratch(c)).sort());
    },
  );

  test.prop([fc.array(opArb, { maxLength: 60 })], { numRuns: 150 })(
    'every Pod that should be an endpoint appears exactly once per address type, and no slice exceeds the maximum',
    (ops) => {
      const c = run(ops);
      const { store } = c;
      const slices = store.list<Slice>('EndpointSlice');
      for (const s of slices) expect(s.endpoints.length).toBeLessThanOrEqual(MAX);
      for (const svc of store.list<KObject & Service>('Service')) {
        const types = svc.spec!.ipFamilies?.length ? svc.spec!.ipFamilies : ['IPv4', 'IPv6'];
        for (const t of types) {
          const seen = new Map<string, number>();
          for (const s of slices) {
            if (s.metadata.labels?.['kubernetes.io/service-name'] !== svc.metadata.name || s.addressType !== t) continue;
            for (const ep of s.endpoints) seen.set(ep.targetRef!.name!, (seen.get(ep.targetRef!.name!) ?? 0) + 1);
          }
          const want = store
            .list<KObject & Pod>('Pod', NS)
            .filter((p) => Object.entries(svc.spec!.selector!).every(([k, v]) => p.metadata.labels?.[k] === v))
            .filter((p) => svc.spec!.publishNotReadyAddresses || store.get('Node', undefined, p.spec!.nodeName!))
            .filter((p) => (p.status!.podIPs ?? []).some((ip) => parseIP(ip.ip!)?.family === t))
            .map((p) => p.metadata.name!)
            .sort();
          expect([...seen.keys()].sort()).toEqual(want);
          for (const n of seen.values()) expect(n).toBe(1);
        }
      }
    },
  );

  test.prop([fc.array(opArb, { maxLength: 60 })], { numRuns: 60 })(
    'replaying the same events with the same seed gives identical slices',
    (ops) => {
      const dump = (c: Cluster) =>
        JSON.stringify(c.store.list<Slice>('EndpointSlice').sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1)));
      expect(dump(run(ops, 11))).toBe(dump(run(ops, 11)));
    },
  );

  test.prop([fc.array(opArb, { maxLength: 40 })], { numRuns: 60 })('a resync after settling writes nothing', (ops) => {
    const c = run(ops);
    let writes = 0;
    c.store.watch('EndpointSlice', () => writes++);
    for (const svc of c.store.list<KObject & Service>('Service')) {
      c.store.update({ ...svc, metadata: { ...svc.metadata, annotations: { resync: '1' } } });
    }
    c.settle();
    expect(writes).toBe(0);
  });
});
