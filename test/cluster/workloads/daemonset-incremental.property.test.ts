import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { createCluster } from '../../../src/cluster/index.js';
import { DaemonSetController } from '../../../src/cluster/controllers/daemonset.js';
import type { Stored } from '../../../src/cluster/object.js';

// The DaemonSet controller keeps a full sync's per-node view and, when only its pods changed,
// recomputes just their nodes. Whatever happens, that must give exactly what full syncs give.

type Op =
  | { t: 'deletePod'; i: number }
  | { t: 'failPod'; i: number }
  | { t: 'relabelPod'; i: number }
  | { t: 'taintNode'; i: number }
  | { t: 'labelNode'; i: number }
  | { t: 'addNode' }
  | { t: 'deleteNode'; i: number }
  | { t: 'orphan' }
  | { t: 'image'; v: number }
  | { t: 'advance'; s: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('deletePod' as const), i: fc.nat(50) }) },
  fc.record({ t: fc.constant('failPod' as const), i: fc.nat(50) }),
  fc.record({ t: fc.constant('relabelPod' as const), i: fc.nat(50) }),
  fc.record({ t: fc.constant('taintNode' as const), i: fc.nat(20) }),
  fc.record({ t: fc.constant('labelNode' as const), i: fc.nat(20) }),
  fc.record({ t: fc.constant('addNode' as const) }),
  fc.record({ t: fc.constant('deleteNode' as const), i: fc.nat(20) }),
  fc.record({ t: fc.constant('orphan' as const) }),
  fc.record({ t: fc.constant('image' as const), v: fc.nat(3) }),
  { weight: 4, arbitrary: fc.record({ t: fc.constant('advance' as const), s: fc.integer({ min: 1, max: 40 }) }) },
);

function run(nodes: number, ops: Op[], nodeSelector: boolean): string {
  const c = createCluster({}, { seed: 5 });
  const { store } = c;
  let added = 0;
  const addNode = (name: string) =>
    store.create({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(added++ % 2 ? { role: 'agent' } : {}) } },
      spec: {},
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    });
  for (let i = 0; i < nodes; i++) addNode(`n${i}`);
  store.create({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'c', image: 'agent:0' }], ...(nodeSelector ? { nodeSelector: { role: 'agent' } } : {}) } },
    },
  });
  c.settle();
  const pods = () => store.list<Stored<Pod>>('Pod').filter((p) => !p.metadata.deletionTimestamp);
  for (const o of ops) {
    const ps = pods();
    const p = ps.length ? ps['i' in o ? o.i % ps.length : 0] : undefined;
    const ns = store.list('Node');
    const n = ns.length ? ns['i' in o ? o.i % ns.length : 0] : undefined;
    if (o.t === 'deletePod' && p) store.delete('Pod', 'default', p.metadata.name!);
    if (o.t === 'failPod' && p) store.update({ ...p, status: { ...p.status, phase: 'Failed' } });
    if (o.t === 'relabelPod' && p) store.update({ ...p, metadata: { ...p.metadata, labels: { other: 'x' } } });
    if (o.t === 'taintNode' && n) store.update({ ...n, spec: { ...(n['spec'] as object), taints: [{ key: 'k', effect: 'NoSchedule' }] } });
    if (o.t === 'labelNode' && n) store.update({ ...n, metadata: { ...n.metadata, labels: { ...n.metadata.labels, role: 'agent' } } });
    if (o.t === 'addNode') addNode(`x${added}`);
    if (o.t === 'deleteNode' && n) store.delete('Node', undefined, n.metadata.name!);
    if (o.t === 'orphan') store.create({ apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'stray-', namespace: 'default', labels: { app: 'agent' } }, spec: { containers: [{ name: 'c', image: 'x' }] } });
    if (o.t === 'image') {
      const ds = store.get<Stored<{ spec: { template: { spec: { containers: { name: string; image: string }[] } } } }>>('DaemonSet', 'default', 'agent')!;
      const t = ds.spec.template;
      store.update({ ...ds, spec: { ...ds.spec, template: { ...t, spec: { ...t.spec, containers: [{ name: 'c', image: `agent:${o.v}` }] } } } });
    }
    if (o.t === 'advance') c.advance(o.s);
    else c.settle();
  }
  c.advance(120);
  return JSON.stringify([store.kinds().sort().map((k) => store.list(k)), c.events]);
}

describe('DaemonSet incremental sync', () => {
  afterEach(() => {
    DaemonSetController.incremental = true;
    DaemonSetController.check = false;
  });

  it('gives the same pods, statuses and events as full syncs, whatever happens to pods and nodes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(op, { maxLength: 25 }), fc.boolean(), (nodes, ops, nodeSelector) => {
        DaemonSetController.incremental = true;
        DaemonSetController.check = true;
        const incremental = run(nodes, ops, nodeSelector);
        DaemonSetController.incremental = false;
        DaemonSetController.check = false;
        const full = run(nodes, ops, nodeSelector);
        expect(incremental).toBe(full);
      }),
      { numRuns: 60 },
    );
  });
});
