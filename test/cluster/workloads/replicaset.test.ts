import { describe, expect, it } from 'vitest';
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Cluster } from '../../../src/cluster/cluster.js';
import { ReplicaSetController } from '../../../src/cluster/controllers/replicaset.js';
import type { KObject, Stored } from '../../../src/cluster/object.js';
import { activePods, addNode, get, pods, setPhase, setRunning, testCluster, update, type P } from './harness.js';

type RS = Stored<ReplicaSet>;

function replicaSet(name: string, replicas: number, extra: Partial<KObject['metadata']> = {}): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: 'default', ...extra },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name, tier: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
    },
  };
}

function scale(c: Cluster, name: string, replicas: number): void {
  update<RS>(c, 'ReplicaSet', name, (r) => ({ ...r, spec: { ...r.spec!, replicas } }));
  c.settle();
}

function bind(c: Cluster, p: P, node: string): P {
  const cur = get<P>(c, 'Pod', p.metadata.name!);
  return c.store.update<P>({ ...cur, spec: { ...cur.spec!, nodeName: node } });
}

describe('ReplicaSet', () => {
  it('creates pods from the template with generateName <rs>- and a controller reference', () => {
    const c = testCluster([new ReplicaSetController()]);
    c.store.create(replicaSet('web', 3));
    c.settle();
    const ps = pods(c);
    expect(ps).toHaveLength(3);
    for (const p of ps) {
      expect(p.metadata.generateName).toBe('web-');
      expect(p.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      expect(p.metadata.labels).toEqual({ app: 'web', tier: 'web' });
      expect(p.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: get<RS>(c, 'ReplicaSet', 'web').metadata.uid, controller: true, blockOwnerDeletion: true }]);
      expect(p.spec!.nodeName).toBeUndefined();
    }
    expect(get<RS>(c, 'ReplicaSet', 'web').status).toEqual({ replicas: 3, fullyLabeledReplicas: 3, readyReplicas: 0, availableReplicas: 0, observedGeneration: 1 });
    expect(c.events.filter((e) => e.reason === 'SuccessfulCreate')).toHaveLength(3);
  });

  it('scales down in ActivePodsWithRanks order: unassigned, pending, not ready, deletion cost, co-located, newer ready', () => {
    const c = testCluster([new ReplicaSetController()]);
    for (const n of ['n1', 'n2', 'n3']) addNode(c, n);
    // A controller owner makes the ReplicaSet rank pods by co-location with its siblings' pods.
    c.store.create(replicaSet('web', 7, { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'x', uid: 'owner-uid', controller: true }] }));
    c.settle();
    const [a, b, cc, d, e, f, g] = pods(c);
    // a: unassigned.  b: on n1, Pending.  c: on n2, Running not ready.
    bind(c, b!, 'n1');
    setRunning(c, bind(c, cc!, 'n2'), false);
    // g ready early on its own node; d, e (n1) and f (n2) ready later.
    c.advance(10);
    setRunning(c, bind(c, g!, 'n3'), true);
    c.advance(90);
    for (const [p, n] of [[d!, 'n1'], [e!, 'n1'], [f!, 'n2']] as const) setRunning(c, bind(c, p, n), true);
    update<P>(c, 'Pod', f!.metadata.name!, (p) => ({ ...p, metadata: { ...p.metadata, annotations: { 'controller.kubernetes.io/pod-deletion-cost': '10' } } }));
    c.advance(100);
    const order: string[] = [];
    for (let n = 6; n >= 0; n--) {
      const before = new Set(activePods(c).map((p) => p.metadata.name));
      scale(c, 'web', n);
      const gone = [...before].filter((x) => !activePods(c).some((p) => p.metadata.name === x));
      expect(gone).toHaveLength(1);
      order.push(gone[0]!);
    }
    const names = Object.fromEntries([a, b, cc, d, e, f, g].map((p, i) => [p!.metadata.name!, 'abcdefg'[i]]));
    // d before e: both doubled up on n1 (rank 2); then e (rank 1, ready 100s) before g (ready 190s);
    // f last for its higher deletion cost.
    expect(order.map((x) => names[x])).toEqual(['a', 'b', 'c', 'd', 'e', 'g', 'f']);
  });

  it('counts only active pods: a failed pod is replaced, a terminating one too', () => {
    const c = testCluster([new ReplicaSetController()]);
    addNode(c, 'n1');
    c.store.create(replicaSet('web', 2));
    c.settle();
    const [p1, p2] = pods(c);
    setPhase(c, bind(c, p1!, 'n1'), 'Failed');
    c.settle();
    expect(activePods(c)).toHaveLength(2);
    expect(pods(c)).toHaveLength(3);
    bind(c, p2!, 'n1');
    c.store.delete('Pod', 'default', p2!.metadata.name!);
    c.settle();
    expect(get<P>(c, 'Pod', p2!.metadata.name!).metadata.deletionTimestamp).toBeDefined();
    expect(activePods(c)).toHaveLength(2);
    expect(get<RS>(c, 'ReplicaSet', 'web').status!.replicas).toBe(2);
  });

  it('adopts a matching orphan pod instead of creating one, and releases a pod whose labels change', () => {
    const c = testCluster([new ReplicaSetController()]);
    c.store.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'stray', namespace: 'default', labels: { app: 'web' } }, spec: { containers: [] } });
    c.store.create(replicaSet('web', 2));
    c.settle();
    expect(pods(c)).toHaveLength(2);
    const stray = get<P>(c, 'Pod', 'stray');
    expect(stray.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'ReplicaSet', name: 'web', controller: true });
    // Matching the selector but not the template's tier label: not fully labeled.
    expect(get<RS>(c, 'ReplicaSet', 'web').status!.fullyLabeledReplicas).toBe(1);
    update<P>(c, 'Pod', 'stray', (p) => ({ ...p, metadata: { ...p.metadata, labels: { app: 'other' } } }));
    c.settle();
    expect(get<P>(c, 'Pod', 'stray').metadata.ownerReferences).toBeUndefined();
    expect(pods(c)).toHaveLength(3);
  });

  it('reports ready and (after minReadySeconds) available replicas', () => {
    const c = testCluster([new ReplicaSetController()]);
    addNode(c, 'n1');
    const rs = replicaSet('web', 2);
    c.store.create({ ...rs, spec: { ...(rs['spec'] as object), minReadySeconds: 5 } });
    c.settle();
    for (const p of pods(c)) setRunning(c, bind(c, p, 'n1'), true);
    c.settle();
    expect(get<RS>(c, 'ReplicaSet', 'web').status).toMatchObject({ readyReplicas: 2, availableReplicas: 0 });
    c.advance(5);
    expect(get<RS>(c, 'ReplicaSet', 'web').status!.availableReplicas).toBe(0);
    c.advance(0.01);
    expect(get<RS>(c, 'ReplicaSet', 'web').status!.availableReplicas).toBe(2);
  });
});
