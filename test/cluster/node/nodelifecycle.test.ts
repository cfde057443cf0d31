import { describe, expect, it } from 'vitest';
import { NodeLifecycleController } from '../../../src/cluster/controllers/nodelifecycle.js';
import { Kubelet } from '../../../src/cluster/controllers/kubelet.js';
import { Scheduler } from '../../../src/cluster/controllers/scheduler.js';
import { condition, getNode, getPod, newCluster, node, pod, setNodeReady, type PodOpts } from './fixtures.js';

function lifecycleCluster() {
  const t = newCluster([new NodeLifecycleController(), new Scheduler(), new Kubelet()]);
  t.cluster.store.create(node('n1', { ip: '10.0.0.1', podCIDR: '10.244.0.0/24' }));
  t.cluster.store.create(node('n2', { ip: '10.0.0.2', podCIDR: '10.244.1.0/24' }));
  return t.cluster;
}

function runOn(c: ReturnType<typeof lifecycleCluster>, name: string, nodeName: string, o: PodOpts = {}) {
  c.store.create(pod(name, { nodeName, ...o }));
}

describe('node lifecycle: NotReady nodes', () => {
  it('taints a NotReady node, marks its pods not Ready at once and evicts them after 300 s', () => {
    const c = lifecycleCluster();
    runOn(c, 'a', 'n1');
    runOn(c, 'b', 'n1');
    runOn(c, 'other', 'n2');
    c.advance(100);
    setNodeReady(c, 'n1', 'False');
    c.settle();
    const taints = getNode(c, 'n1').spec!.taints!;
    expect(taints).toEqual([
      { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute', timeAdded: '2026-01-01T00:01:40Z' },
    ]);
    expect(condition(getPod(c, 'a'), 'Ready')).toBe('False');
    expect(condition(getPod(c, 'a'), 'ContainersReady')).toBe('True');
    expect(getPod(c, 'a')!.status!.phase).toBe('Running');
    expect(condition(getPod(c, 'other'), 'Ready')).toBe('True');
    expect(c.events.filter((e) => e.reason === 'NodeNotReady').map((e) => e.object)).toEqual(['Node/n1', 'Pod/default/a', 'Pod/default/b']);
    c.advance(299);
    expect(getPod(c, 'a')!.metadata.deletionTimestamp).toBeUndefined();
    c.advance(1);
    const a = getPod(c, 'a')!;
    expect(a.metadata.deletionTimestamp).toBeDefined();
    expect(a.status!.conditions!.find((x) => x.type === 'DisruptionTarget')).toMatchObject({ status: 'True', reason: 'DeletionByTaintManager' });
    expect(getPod(c, 'other')!.metadata.deletionTimestamp).toBeUndefined();
    expect(c.events.filter((e) => e.reason === 'TaintManagerEviction').map((e) => e.message)).toEqual([
      'Marking for deletion Pod default/a',
      'Marking for deletion Pod default/b',
    ]);
  });

  it('uses the unreachable taint for Ready=Unknown', () => {
    const c = lifecycleCluster();
    setNodeReady(c, 'n1', 'Unknown');
    c.settle();
    expect(getNode(c, 'n1').spec!.taints!.map((t) => `${t.key}:${t.effect}`)).toEqual([
      'node.kubernetes.io/unreachable:NoSchedule',
      'node.kubernetes.io/unreachable:NoExecute',
    ]);
  });

  it('evicts after the least matching tolerationSeconds, at once without a toleration, never with an unbounded one', () => {
    const c = lifecycleCluster();
    runOn(c, 'short', 'n1', { tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }] });
    runOn(c, 'forever', 'n1', { tolerations: [{ operator: 'Exists' }] });
    c.settle();
    // No admission would leave a pod without tolerations; strip them to see the untolerated case.
    const bare = c.store.create(pod('bare', { nodeName: 'n1' }));
    c.store.update({ ...bare, spec: { ...bare.spec!, tolerations: [] } });
    c.settle();
    setNodeReady(c, 'n1', 'False');
    c.settle();
    expect(getPod(c, 'bare')!.metadata.deletionTimestamp).toBeDefined();
    expect(getPod(c, 'short')!.metadata.deletionTimestamp).toBeUndefined();
    c.advance(30);
    expect(getPod(c, 'short')!.metadata.deletionTimestamp).toBeDefined();
    c.advance(3600);
    expect(getPod(c, 'forever')!.metadata.deletionTimestamp).toBeUndefined();
  });

  it('evicts at once for a NoExecute taint the pod does not tolerate', () => {
    const c = lifecycleCluster();
    runOn(c, 'p', 'n2');
    c.settle();
    const n2 = getNode(c, 'n2');
    c.store.update({ ...n2, spec: { ...n2.spec, taints: [{ key: 'maintenance', effect: 'NoExecute' }] } });
    c.settle();
    expect(getPod(c, 'p')!.metadata.deletionTimestamp).toBeDefined();
  });

  it('a node back to Ready loses its taints and pending evictions are cancelled', () => {
    const c = lifecycleCluster();
    runOn(c, 'p', 'n1');
    c.settle();
    setNodeReady(c, 'n1', 'False');
    c.advance(120);
    setNodeReady(c, 'n1', 'True');
    c.settle();
    expect(getNode(c, 'n1').spec!.taints).toBeUndefined();
    expect(condition(getPod(c, 'p'), 'Ready')).toBe('True');
    c.advance(600);
    expect(getPod(c, 'p')!.metadata.deletionTimestamp).toBeUndefined();
    expect(c.events.some((e) => e.reason === 'TaintManagerEviction' && e.message === 'Cancelling deletion of Pod default/p')).toBe(true);
  });

  it('evicted pods of an unreachable node stay Terminating (their kubelet is gone)', () => {
    const c = lifecycleCluster();
    runOn(c, 'p', 'n1');
    c.settle();
    setNodeReady(c, 'n1', 'Unknown');
    c.advance(400);
    expect(getPod(c, 'p')!.metadata.deletionTimestamp).toBeDefined();
    expect(getPod(c, 'p')!.status!.phase).toBe('Running');
  });
});

describe('node lifecycle: cordon', () => {
  it('spec.unschedulable adds the unschedulable NoSchedule taint and uncordon removes it', () => {
    const c = lifecycleCluster();
    const n = getNode(c, 'n1');
    c.store.update({ ...n, spec: { ...n.spec, unschedulable: true, taints: [{ key: 'team', value: 'a', effect: 'PreferNoSchedule' }] } });
    c.settle();
    expect(getNode(c, 'n1').spec!.taints).toEqual([
      { key: 'team', value: 'a', effect: 'PreferNoSchedule' },
      { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' },
    ]);
    const cordoned = getNode(c, 'n1');
    c.store.update({ ...cordoned, spec: { ...cordoned.spec, unschedulable: false } });
    c.settle();
    expect(getNode(c, 'n1').spec!.taints).toEqual([{ key: 'team', value: 'a', effect: 'PreferNoSchedule' }]);
  });

  it('new pods avoid a NotReady node and go to the Ready one', () => {
    const c = lifecycleCluster();
    setNodeReady(c, 'n1', 'False');
    c.settle();
    for (let i = 0; i < 3; i++) c.store.create(pod(`p${i}`));
    c.settle();
    for (let i = 0; i < 3; i++) expect(getPod(c, `p${i}`)!.spec!.nodeName).toBe('n2');
  });
});
