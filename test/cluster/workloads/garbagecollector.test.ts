import { describe, expect, it } from 'vitest';
import { DeploymentController } from '../../../src/cluster/controllers/deployment.js';
import { GarbageCollector } from '../../../src/cluster/controllers/garbagecollector.js';
import { NamespaceController } from '../../../src/cluster/controllers/namespace.js';
import { ReplicaSetController } from '../../../src/cluster/controllers/replicaset.js';
import { controllerRef, type KObject } from '../../../src/cluster/object.js';
import { activePods, addNode, deployment, FakeKubelet, pods, testCluster } from './harness.js';

function configMap(name: string, ns: string, owners: KObject[] = []): KObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns, ...(owners.length ? { ownerReferences: owners.map((o) => ({ ...controllerRef(o), controller: false })) } : {}) },
  };
}

describe('garbage collector', () => {
  it('deleting a Deployment cascades to its ReplicaSets and their pods (background)', () => {
    const gc = new GarbageCollector();
    const c = testCluster([new DeploymentController(), new ReplicaSetController(), gc, new FakeKubelet({ bind: true, run: true, ready: true, terminateSeconds: 3 })]);
    addNode(c, 'n1');
    const d = c.store.create(deployment('web', 3));
    c.settle();
    const rs = c.store.list('ReplicaSet', 'default')[0]!;
    expect(gc.dependentsOf(d.metadata.uid!).has(rs.metadata.uid!)).toBe(true);
    expect(gc.dependentsOf(rs.metadata.uid!).size).toBe(3);
    c.store.delete('Deployment', 'default', 'web');
    c.settle();
    expect(c.store.list('ReplicaSet', 'default')).toHaveLength(0);
    // Pods terminate gracefully, and the ReplicaSet is gone so none is recreated.
    expect(activePods(c)).toHaveLength(0);
    expect(pods(c)).toHaveLength(3);
    c.advance(4);
    expect(pods(c)).toHaveLength(0);
  });

  it('works for any kind: a Service owning an EndpointSlice', () => {
    const c = testCluster([new GarbageCollector()]);
    const svc = c.store.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { ports: [{ port: 80 }] } });
    c.store.create({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-abcde', namespace: 'default', ownerReferences: [controllerRef(svc)] },
      addressType: 'IPv4',
      endpoints: [],
    });
    c.settle();
    c.store.delete('Service', 'default', 'web');
    c.settle();
    expect(c.store.list('EndpointSlice', 'default')).toHaveLength(0);
  });

  it('collects an object created with an owner uid that does not exist', () => {
    const c = testCluster([new GarbageCollector()]);
    c.store.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'orphan', namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'gone', uid: 'no-such-uid' }] },
    });
    c.settle();
    expect(c.store.get('ConfigMap', 'default', 'orphan')).toBeUndefined();
  });

  it('a dependent with another live owner survives and loses only the dangling reference', () => {
    const c = testCluster([new GarbageCollector()]);
    const a = c.store.create(configMap('a', 'default'));
    const b = c.store.create(configMap('b', 'default'));
    c.store.create(configMap('dep', 'default', [a, b]));
    c.settle();
    c.store.delete('ConfigMap', 'default', 'a');
    c.settle();
    const dep = c.store.get('ConfigMap', 'default', 'dep')!;
    expect(dep.metadata.ownerReferences!.map((r) => r.name)).toEqual(['b']);
    c.store.delete('ConfigMap', 'default', 'b');
    c.settle();
    expect(c.store.get('ConfigMap', 'default', 'dep')).toBeUndefined();
  });

  it('a namespaced owner in another namespace counts as absent', () => {
    const c = testCluster([new GarbageCollector()]);
    const owner = c.store.create(configMap('owner', 'team-a'));
    c.store.create(configMap('dep', 'team-b', [owner]));
    c.settle();
    expect(c.store.get('ConfigMap', 'team-b', 'dep')).toBeUndefined();
    expect(c.store.get('ConfigMap', 'team-a', 'owner')).toBeDefined();
  });
});

describe('namespace controller', () => {
  it('deleting a Namespace deletes every namespaced object in it and nothing elsewhere', () => {
    const c = testCluster([new NamespaceController(), new DeploymentController(), new ReplicaSetController(), new GarbageCollector(), new FakeKubelet({ bind: true, run: true, ready: true, terminateSeconds: 2 })]);
    addNode(c, 'n1');
    c.store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
    c.store.create({ ...deployment('web', 2), metadata: { name: 'web', namespace: 'team' } });
    c.store.create(configMap('settings', 'team'));
    c.store.create(deployment('web', 1));
    c.settle();
    expect(activePods(c, 'team')).toHaveLength(2);
    c.store.delete('Namespace', undefined, 'team');
    c.settle();
    expect(c.store.list('Deployment', 'team')).toHaveLength(0);
    expect(c.store.list('ReplicaSet', 'team')).toHaveLength(0);
    expect(c.store.list('ConfigMap', 'team')).toHaveLength(0);
    expect(activePods(c, 'team')).toHaveLength(0);
    c.advance(3);
    expect(pods(c, 'team')).toHaveLength(0);
    expect(activePods(c, 'default')).toHaveLength(1);
    expect(c.store.get('Node', undefined, 'n1')).toBeDefined();
  });

  it('objects may be created in a namespace that does not exist', () => {
    const c = testCluster([new NamespaceController()]);
    c.store.create(configMap('x', 'nowhere'));
    c.settle();
    expect(c.store.get('ConfigMap', 'nowhere', 'x')).toBeDefined();
  });
});
