import { describe, expect, it } from 'vitest';
import type { DaemonSet } from 'kubernetes-types/apps/v1.js';
import type { Node } from 'kubernetes-types/core/v1.js';
import type { Cluster } from '../../../src/cluster/cluster.js';
import { DaemonSetController } from '../../../src/cluster/controllers/daemonset.js';
import type { KObject, Stored } from '../../../src/cluster/object.js';
import { activePods, addNode, FakeKubelet, get, setImage, setRunning, testCluster, update, type P } from './harness.js';

type DS = Stored<DaemonSet>;
type N = Stored<Node>;

function daemonSet(spec: Record<string, unknown> = {}, podSpec: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'c', image: 'agent:1' }], ...podSpec } },
      ...spec,
    },
  };
}

const nodesWithPods = (c: Cluster) => activePods(c).map((p) => p.spec!.nodeName).sort();

function setup(spec: Record<string, unknown> = {}, podSpec: Record<string, unknown> = {}, kubelet = new FakeKubelet({ bind: true, run: true, ready: true })) {
  const c = testCluster([new DaemonSetController(), kubelet]);
  addNode(c, 'n1');
  addNode(c, 'n2', { labels: { disk: 'ssd' } });
  addNode(c, 'n3', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] });
  addNode(c, 'n4', { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] });
  c.store.create(daemonSet(spec, podSpec));
  c.settle();
  return { c, kubelet };
}

describe('DaemonSet', () => {
  it('runs one pod per eligible node: untolerated taints excluded, the automatic tolerations honoured', () => {
    const { c } = setup();
    expect(nodesWithPods(c)).toEqual(['n1', 'n2', 'n4']);
    const p = activePods(c).find((x) => x.spec!.nodeName === 'n1')!;
    expect(p.metadata.generateName).toBe('agent-');
    expect(p.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution).toEqual({
      nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }],
    });
    expect(p.spec!.tolerations).toEqual([
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
      { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
    ]);
    const hash = p.metadata.labels!['controller-revision-hash']!;
    expect(c.store.get('ControllerRevision', 'default', `agent-${hash}`)).toBeDefined();
    expect(get<DS>(c, 'DaemonSet', 'agent').status).toMatchObject({
      desiredNumberScheduled: 3,
      currentNumberScheduled: 3,
      numberMisscheduled: 0,
      numberReady: 3,
      updatedNumberScheduled: 3,
      numberAvailable: 3,
      numberUnavailable: 0,
    });
  });

  it('hostNetwork daemons also tolerate network-unavailable; a toleration for the taint admits n3', () => {
    const { c } = setup({}, { hostNetwork: true, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }] });
    expect(nodesWithPods(c)).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(activePods(c)[0]!.spec!.tolerations!.map((t) => t.key)).toContain('node.kubernetes.io/network-unavailable');
  });

  it('follows nodes: added, relabelled out of the nodeSelector, tainted NoExecute, deleted', () => {
    const { c } = setup({}, { nodeSelector: { disk: 'ssd' } });
    expect(nodesWithPods(c)).toEqual(['n2']);
    addNode(c, 'n5', { labels: { disk: 'ssd' } });
    c.settle();
    expect(nodesWithPods(c)).toEqual(['n2', 'n5']);
    update<N>(c, 'Node', 'n2', (n) => ({ ...n, metadata: { ...n.metadata, labels: { 'kubernetes.io/hostname': 'n2' } } }), undefined);
    c.settle();
    expect(nodesWithPods(c)).toEqual(['n5']);
    update<N>(c, 'Node', 'n1', (n) => ({ ...n, metadata: { ...n.metadata, labels: { ...n.metadata.labels, disk: 'ssd' } } }), undefined);
    c.settle();
    expect(nodesWithPods(c)).toEqual(['n1', 'n5']);
    // A NoSchedule taint keeps the running daemon; a NoExecute one evicts it.
    update<N>(c, 'Node', 'n1', (n) => ({ ...n, spec: { taints: [{ key: 'maintenance', effect: 'NoSchedule' }] } }), undefined);
    c.settle();
    expect(nodesWithPods(c)).toEqual(['n1', 'n5']);
    expect(get<DS>(c, 'DaemonSet', 'agent').status).toMatchObject({ desiredNumberScheduled: 1, numberMisscheduled: 1 });
    update<N>(c, 'Node', 'n1', (n) => ({ ...n, spec: { taints: [{ key: 'maintenance', effect: 'NoExecute' }] } }), undefined);
    c.settle();
    expect(nodesWithPods(c)).toEqual(['n5']);
    c.store.delete('Node', undefined, 'n5');
    c.settle();
    expect(get<DS>(c, 'DaemonSet', 'agent').status).toMatchObject({ desiredNumberScheduled: 0, currentNumberScheduled: 0 });
  });

  it('RollingUpdate with maxUnavailable 1 replaces one node at a time', () => {
    const kubelet = new FakeKubelet({ bind: true, run: true, ready: true, terminateSeconds: 1 });
    const { c } = setup({}, {}, kubelet);
    kubelet.opts.ready = false;
    update<DS>(c, 'DaemonSet', 'agent', (d) => setImage(d, 'agent:2'));
    c.settle();
    const image = (p: P) => p.spec!.containers[0]!.image;
    expect(activePods(c).filter((p) => image(p) === 'agent:1')).toHaveLength(2);
    c.advance(2);
    const fresh = activePods(c).filter((p) => image(p) === 'agent:2');
    expect(fresh).toHaveLength(1);
    // Until the new pod is available no other old pod goes.
    expect(activePods(c).filter((p) => image(p) === 'agent:1')).toHaveLength(2);
    setRunning(c, fresh[0]!, true);
    c.settle();
    expect(activePods(c).filter((p) => image(p) === 'agent:1')).toHaveLength(1);
    kubelet.opts.ready = true;
    c.advance(2);
    c.advance(2);
    expect(activePods(c).map(image)).toEqual(['agent:2', 'agent:2', 'agent:2']);
    expect(get<DS>(c, 'DaemonSet', 'agent').status).toMatchObject({ updatedNumberScheduled: 3, numberAvailable: 3 });
  });

  it('RollingUpdate with maxSurge 1 starts the new pod beside the old one and removes the old once available', () => {
    const kubelet = new FakeKubelet({ bind: true, run: true, ready: true });
    const { c } = setup({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } }, {}, kubelet);
    kubelet.opts.ready = false;
    update<DS>(c, 'DaemonSet', 'agent', (d) => setImage(d, 'agent:2'));
    c.settle();
    expect(activePods(c)).toHaveLength(4);
    const fresh = activePods(c).find((p) => p.spec!.containers[0]!.image === 'agent:2')!;
    const node = fresh.spec!.nodeName;
    setRunning(c, fresh, true);
    c.settle();
    const onNode = activePods(c).filter((p) => p.spec!.nodeName === node);
    expect(onNode.map((p) => p.spec!.containers[0]!.image)).toEqual(['agent:2']);
    expect(activePods(c)).toHaveLength(4);
  });
});
