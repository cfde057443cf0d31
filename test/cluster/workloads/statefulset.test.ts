import { describe, expect, it } from 'vitest';
import type { StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { Cluster } from '../../../src/cluster/cluster.js';
import { StatefulSetController } from '../../../src/cluster/controllers/statefulset.js';
import type { KObject, Stored } from '../../../src/cluster/object.js';
import { activePods, addNode, FakeKubelet, get, pods, setImage, setRunning, testCluster, update, type P } from './harness.js';

type SS = Stored<StatefulSet>;

function statefulSet(replicas: number, spec: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas,
      serviceName: 'nginx',
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } },
      ...spec,
    },
  };
}

function setup(replicas: number, spec: Record<string, unknown> = {}, kubelet = new FakeKubelet({ bind: true, run: true, ready: false })) {
  const c = testCluster([new StatefulSetController(), kubelet]);
  addNode(c, 'n1');
  c.store.create(statefulSet(replicas, spec));
  c.settle();
  return { c, kubelet };
}

const names = (c: Cluster) => activePods(c).map((p) => p.metadata.name).sort();

function ready(c: Cluster, name: string): void {
  setRunning(c, get<P>(c, 'Pod', name), true);
  c.settle();
}

describe('StatefulSet: OrderedReady', () => {
  it('creates web-0, then web-1 only once web-0 is Running and Ready, and so on', () => {
    const { c } = setup(3);
    expect(names(c)).toEqual(['web-0']);
    ready(c, 'web-0');
    expect(names(c)).toEqual(['web-0', 'web-1']);
    ready(c, 'web-1');
    expect(names(c)).toEqual(['web-0', 'web-1', 'web-2']);
    ready(c, 'web-2');
    const p = get<P>(c, 'Pod', 'web-1');
    expect(p.spec).toMatchObject({ hostname: 'web-1', subdomain: 'nginx' });
    expect(p.metadata.labels).toMatchObject({ app: 'web', 'statefulset.kubernetes.io/pod-name': 'web-1', 'apps.kubernetes.io/pod-index': '1' });
    const rev = p.metadata.labels!['controller-revision-hash']!;
    expect(rev).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(c.store.get('ControllerRevision', 'default', rev)).toBeDefined();
    expect(get<SS>(c, 'StatefulSet', 'web').status).toMatchObject({ replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3, currentRevision: rev, updateRevision: rev });
    expect(c.events.filter((e) => e.reason === 'SuccessfulCreate').map((e) => e.message)).toEqual([
      'create Pod web-0 in StatefulSet web successful',
      'create Pod web-1 in StatefulSet web successful',
      'create Pod web-2 in StatefulSet web successful',
    ]);
  });

  it('scales down from the highest ordinal, one pod at a time, waiting for termination', () => {
    const kubelet = new FakeKubelet({ bind: true, run: true, ready: true, terminateSeconds: 10 });
    const { c } = setup(3, {}, kubelet);
    expect(names(c)).toEqual(['web-0', 'web-1', 'web-2']);
    update<SS>(c, 'StatefulSet', 'web', (s) => ({ ...s, spec: { ...s.spec!, replicas: 1 } }));
    c.settle();
    expect(get<P>(c, 'Pod', 'web-2').metadata.deletionTimestamp).toBeDefined();
    expect(get<P>(c, 'Pod', 'web-1').metadata.deletionTimestamp).toBeUndefined();
    c.advance(11);
    expect(c.store.get('Pod', 'default', 'web-2')).toBeUndefined();
    expect(get<P>(c, 'Pod', 'web-1').metadata.deletionTimestamp).toBeDefined();
    c.advance(11);
    expect(pods(c).map((p) => p.metadata.name)).toEqual(['web-0']);
  });

  it('does not scale down while a remaining pod is unhealthy', () => {
    const kubelet = new FakeKubelet({ bind: true, run: true, ready: true });
    const { c } = setup(3, {}, kubelet);
    setRunning(c, get<P>(c, 'Pod', 'web-0'), false);
    update<SS>(c, 'StatefulSet', 'web', (s) => ({ ...s, spec: { ...s.spec!, replicas: 2 } }));
    c.settle();
    expect(names(c)).toEqual(['web-0', 'web-1', 'web-2']);
    ready(c, 'web-0');
    expect(names(c)).toEqual(['web-0', 'web-1']);
  });

  it('recreates a deleted pod with the same name', () => {
    const kubelet = new FakeKubelet({ bind: true, run: true, ready: true });
    const { c } = setup(2, {}, kubelet);
    const uid = get<P>(c, 'Pod', 'web-1').metadata.uid;
    c.store.delete('Pod', 'default', 'web-1');
    c.settle();
    const again = get<P>(c, 'Pod', 'web-1');
    expect(again.metadata.uid).not.toBe(uid);
    expect(again.spec!.hostname).toBe('web-1');
  });
});

describe('StatefulSet: Parallel', () => {
  it('creates and deletes all pods at once', () => {
    const { c } = setup(3, { podManagementPolicy: 'Parallel' });
    expect(names(c)).toEqual(['web-0', 'web-1', 'web-2']);
    update<SS>(c, 'StatefulSet', 'web', (s) => ({ ...s, spec: { ...s.spec!, replicas: 0 } }));
    c.settle();
    expect(activePods(c)).toHaveLength(0);
  });
});

describe('StatefulSet: updates', () => {
  function rolled(c: Cluster): string[] {
    return activePods(c)
      .filter((p) => p.spec!.containers[0]!.image === 'nginx:1.26')
      .map((p) => p.metadata.name!)
      .sort();
  }

  it('RollingUpdate replaces pods from the highest ordinal down, one at a time', () => {
    const kubelet = new FakeKubelet({ bind: true, run: true, ready: true, terminateSeconds: 2 });
    const { c } = setup(3, {}, kubelet);
    kubelet.opts.ready = false;
    update<SS>(c, 'StatefulSet', 'web', (s) => setImage(s, 'nginx:1.26'));
    c.settle();
    expect(get<P>(c, 'Pod', 'web-2').metadata.deletionTimestamp).toBeDefined();
    c.advance(3);
    expect(rolled(c)).toEqual(['web-2']);
    expect(get<P>(c, 'Pod', 'web-1').metadata.deletionTimestamp).toBeUndefined();
    ready(c, 'web-2');
    expect(get<P>(c, 'Pod', 'web-1').metadata.deletionTimestamp).toBeDefined();
    c.advance(3);
    ready(c, 'web-1');
    c.advance(3);
    ready(c, 'web-0');
    expect(rolled(c)).toEqual(['web-0', 'web-1', 'web-2']);
    const s = get<SS>(c, 'StatefulSet', 'web').status!;
    expect(s.currentRevision).toBe(s.updateRevision);
    expect(s).toMatchObject({ currentReplicas: 3, updatedReplicas: 3 });
    expect(c.store.list('ControllerRevision', 'default')).toHaveLength(2);
  });

  it('a partition keeps lower ordinals at the current revision', () => {
    const kubelet = new FakeKubelet({ bind: true, run: true, ready: true });
    const { c } = setup(3, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }, kubelet);
    update<SS>(c, 'StatefulSet', 'web', (s) => setImage(s, 'nginx:1.26'));
    c.settle();
    expect(rolled(c)).toEqual(['web-2']);
    const s = get<SS>(c, 'StatefulSet', 'web').status!;
    expect(s).toMatchObject({ currentReplicas: 2, updatedReplicas: 1 });
    expect(s.currentRevision).not.toBe(s.updateRevision);
    // A deleted pod below the partition comes back at the current revision.
    c.store.delete('Pod', 'default', 'web-0');
    c.settle();
    expect(get<P>(c, 'Pod', 'web-0').spec!.containers[0]!.image).toBe('nginx:1.25');
  });

  it('OnDelete updates a pod only when it is deleted', () => {
    const kubelet = new FakeKubelet({ bind: true, run: true, ready: true });
    const { c } = setup(2, { updateStrategy: { type: 'OnDelete' } }, kubelet);
    update<SS>(c, 'StatefulSet', 'web', (s) => setImage(s, 'nginx:1.26'));
    c.settle();
    expect(rolled(c)).toEqual([]);
    c.store.delete('Pod', 'default', 'web-0');
    c.settle();
    expect(rolled(c)).toEqual(['web-0']);
  });
});
