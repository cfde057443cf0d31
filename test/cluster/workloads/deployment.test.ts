import { describe, expect, it } from 'vitest';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Cluster } from '../../../src/cluster/cluster.js';
import { DeploymentController } from '../../../src/cluster/controllers/deployment.js';
import { ReplicaSetController } from '../../../src/cluster/controllers/replicaset.js';
import { GarbageCollector } from '../../../src/cluster/controllers/garbagecollector.js';
import type { Stored } from '../../../src/cluster/object.js';
import { activePods, addNode, deployment, FakeKubelet, get, setImage, setRunning, testCluster, update, type P } from './harness.js';

type D = Stored<Deployment>;
type RS = Stored<ReplicaSet>;

function setup(replicas: number, strategy?: Record<string, unknown>, kubelet: FakeKubelet = new FakeKubelet({ bind: true, run: true, ready: true })) {
  const c = testCluster([new DeploymentController(), new ReplicaSetController(), new GarbageCollector(), kubelet]);
  addNode(c, 'n1');
  addNode(c, 'n2');
  c.store.create(deployment('web', replicas, { strategy }));
  c.settle();
  return c;
}

function replicaSets(c: Cluster): RS[] {
  return c.store.list<RS>('ReplicaSet', 'default');
}

function imageOf(rs: RS): string {
  return rs.spec!.template!.spec!.containers[0]!.image!;
}

/** [new, old] spec.replicas, by image. */
function counts(c: Cluster, newImage: string): [number, number] {
  let n = 0;
  let o = 0;
  for (const rs of replicaSets(c)) {
    if (imageOf(rs) === newImage) n += rs.spec!.replicas!;
    else o += rs.spec!.replicas!;
  }
  return [n, o];
}

function podsOf(c: Cluster, image: string): P[] {
  return activePods(c).filter((p) => p.spec!.containers[0]!.image === image);
}

function available(c: Cluster): number {
  return activePods(c).filter((p) => p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')).length;
}

describe('Deployment: first rollout', () => {
  it('creates <name>-<hash> with the pod-template-hash label on selector, template and pods, revision 1', () => {
    const c = setup(3);
    const [rs] = replicaSets(c);
    const hash = rs!.metadata.labels!['pod-template-hash']!;
    expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    expect(rs!.metadata.name).toBe(`web-${hash}`);
    expect(rs!.spec!.selector.matchLabels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(rs!.metadata.annotations).toMatchObject({
      'deployment.kubernetes.io/revision': '1',
      'deployment.kubernetes.io/desired-replicas': '3',
      'deployment.kubernetes.io/max-replicas': '4',
    });
    expect(rs!.metadata.ownerReferences![0]).toMatchObject({ kind: 'Deployment', name: 'web', controller: true });
    const ps = activePods(c);
    expect(ps).toHaveLength(3);
    for (const p of ps) {
      expect(p.metadata.name).toMatch(new RegExp(`^web-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
      expect(p.metadata.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
      expect(p.spec).toMatchObject({ restartPolicy: 'Always', terminationGracePeriodSeconds: 30, dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler' });
    }
    const d = get<D>(c, 'Deployment', 'web');
    expect(d.metadata.annotations!['deployment.kubernetes.io/revision']).toBe('1');
    expect(d.status).toMatchObject({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, unavailableReplicas: 0, observedGeneration: 1 });
    const conds = Object.fromEntries(d.status!.conditions!.map((x) => [x.type, x]));
    expect(conds['Available']).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable' });
    expect(conds['Progressing']).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "web-${hash}" has successfully progressed.` });
  });

  it('the same template always gets the same hash; a new template a new one', () => {
    const a = setup(1);
    const b = setup(1);
    expect(replicaSets(a)[0]!.metadata.name).toBe(replicaSets(b)[0]!.metadata.name);
    update<D>(a, 'Deployment', 'web', (d) => setImage(d, 'nginx:1.26'));
    a.settle();
    const names = replicaSets(a).map((r) => r.metadata.name);
    expect(new Set(names).size).toBe(2);
  });
});

describe('Deployment: RollingUpdate step by step (10 replicas, maxSurge 3, maxUnavailable 2)', () => {
  // Expected (new, old) replica counts from rolling.go's arithmetic: the new ReplicaSet grows while
  // the sum of replicas stays <= 13; old ones shrink while available stays >= 8 and the new
  // ReplicaSet's unavailable pods are accounted for.
  const steps: [number, [number, number]][] = [
    [0, [5, 8]],
    [1, [6, 7]],
    [2, [7, 6]],
    [3, [8, 5]],
    [4, [9, 4]],
    [5, [10, 3]],
    [6, [10, 2]],
    [7, [10, 1]],
    [8, [10, 0]],
  ];

  it('moves through the expected (new, old) sizes as new pods become ready', () => {
    const kubelet = new FakeKubelet({ bind: true, run: true, ready: true });
    const c = setup(10, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 3, maxUnavailable: 2 } }, kubelet);
    expect(available(c)).toBe(10);
    kubelet.opts.ready = false;
    update<D>(c, 'Deployment', 'web', (d) => setImage(d, 'nginx:1.26'));
    c.settle();
    for (const [ready, expected] of steps) {
      const notReady = podsOf(c, 'nginx:1.26').filter((p) => !p.status?.conditions?.some((x) => x.status === 'True'));
      const readyNow = podsOf(c, 'nginx:1.26').length - notReady.length;
      if (readyNow < ready) {
        setRunning(c, notReady[0]!, true);
        c.settle();
      }
      expect(counts(c, 'nginx:1.26'), `after ${ready} new pods ready`).toEqual(expected);
      expect(activePods(c).length).toBeLessThanOrEqual(13);
      expect(available(c)).toBeGreaterThanOrEqual(8);
    }
    for (const p of podsOf(c, 'nginx:1.26')) if (!p.status?.conditions?.some((x) => x.status === 'True')) setRunning(c, p, true);
    c.settle();
    const d = get<D>(c, 'Deployment', 'web');
    expect(d.status).toMatchObject({ replicas: 10, updatedReplicas: 10, availableReplicas: 10, unavailableReplicas: 0 });
    expect(d.metadata.annotations!['deployment.kubernetes.io/revision']).toBe('2');
    const byRev = Object.fromEntries(replicaSets(c).map((r) => [imageOf(r), r.metadata.annotations!['deployment.kubernetes.io/revision']]));
    expect(byRev).toEqual({ 'nginx:1.25': '1', 'nginx:1.26': '2' });
    expect(c.events.filter((e) => e.reason === 'ScalingReplicaSet').map((e) => e.message)[1]).toMatch(/^Scaled up replica set web-\w+ from 0 to 3$/);
  });

  it('with the default 25%/25% on 4 replicas surges by 1 and keeps 3 available', () => {
    const kubelet = new FakeKubelet({ bind: true, run: true, ready: true });
    const c = setup(4, undefined, kubelet);
    kubelet.opts.ready = false;
    update<D>(c, 'Deployment', 'web', (d) => setImage(d, 'nginx:1.26'));
    c.settle();
    // surge ceil(1) = 1, unavailable floor(1) = 1: new 1, old 3 — then new 2 once old shrank.
    expect(counts(c, 'nginx:1.26')).toEqual([2, 3]);
    expect(activePods(c).length).toBe(5);
    expect(get<D>(c, 'Deployment', 'web').status!.conditions!.find((x) => x.type === 'Available')!.status).toBe('True');
  });
});

describe('Deployment: proportional scaling mid-rollout', () => {
  function midRollout() {
    const kubelet = new FakeKubelet({ bind: true, run: true, ready: true });
    const c = setup(10, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 3, maxUnavailable: 2 } }, kubelet);
    kubelet.opts.ready = false;
    update<D>(c, 'Deployment', 'web', (d) => setImage(d, 'nginx:1.26'));
    c.settle();
    expect(counts(c, 'nginx:1.26')).toEqual([5, 8]);
    return c;
  }

  it('scaling 10 -> 20 splits the 10 extra replicas by size: old 8*23/13 -> 14, new 5*23/13 -> 9', () => {
    const c = midRollout();
    update<D>(c, 'Deployment', 'web', (d) => ({ ...d, spec: { ...d.spec!, replicas: 20 } }));
    c.settle();
    expect(counts(c, 'nginx:1.26')).toEqual([9, 14]);
    for (const rs of replicaSets(c)) {
      expect(rs.metadata.annotations).toMatchObject({ 'deployment.kubernetes.io/desired-replicas': '20', 'deployment.kubernetes.io/max-replicas': '23' });
    }
  });

  it('scaling 10 -> 20 -> 5 shrinks both proportionally to 8 in total, then the rollout resumes', () => {
    const c = midRollout();
    update<D>(c, 'Deployment', 'web', (d) => ({ ...d, spec: { ...d.spec!, replicas: 20 } }));
    c.settle();
    const before = c.events.length;
    update<D>(c, 'Deployment', 'web', (d) => ({ ...d, spec: { ...d.spec!, replicas: 5 } }));
    c.settle();
    // The proportional step: old round(14*8/23)=5, new round(9*8/23)=3 (larger first).
    const scaled = c.events.slice(before).filter((e) => e.reason === 'ScalingReplicaSet').map((e) => e.message.replace(/web-\w+/, 'RS'));
    expect(scaled.slice(0, 2)).toEqual(['Scaled down replica set RS from 14 to 5', 'Scaled down replica set RS from 9 to 3']);
    // Then the rollout resumes: old 5 ready pods, min available 3, new 3 unavailable:
    // old shrinks by 2 to 3, and the new one grows to fill 8 = 5 + 3 surge.
    expect(counts(c, 'nginx:1.26')).toEqual([5, 3]);
  });

  it('scaling a Deployment with a single ReplicaSet just resizes it', () => {
    const c = setup(3);
    update<D>(c, 'Deployment', 'web', (d) => ({ ...d, spec: { ...d.spec!, replicas: 7 } }));
    c.settle();
    expect(replicaSets(c).map((r) => r.spec!.replicas)).toEqual([7]);
    expect(activePods(c)).toHaveLength(7);
  });
});

describe('Deployment: Recreate', () => {
  it('scales the old ReplicaSet to 0 and creates the new one only once old pods are gone', () => {
    const kubelet = new FakeKubelet({ bind: true, run: true, ready: true, terminateSeconds: 5 });
    const c = setup(3, { type: 'Recreate' }, kubelet);
    update<D>(c, 'Deployment', 'web', (d) => setImage(d, 'nginx:1.26'));
    c.settle();
    expect(replicaSets(c)).toHaveLength(1);
    expect(replicaSets(c)[0]!.spec!.replicas).toBe(0);
    expect(c.store.list<P>('Pod', 'default').every((p) => p.metadata.deletionTimestamp)).toBe(true);
    c.advance(4);
    expect(replicaSets(c)).toHaveLength(1);
    c.advance(2);
    expect(counts(c, 'nginx:1.26')).toEqual([3, 0]);
    expect(podsOf(c, 'nginx:1.26')).toHaveLength(3);
    expect(podsOf(c, 'nginx:1.25')).toHaveLength(0);
  });
});

describe('Deployment: history, pause, minReadySeconds', () => {
  it('keeps revisionHistoryLimit old ReplicaSets with 0 replicas', () => {
    const c = setup(1, { type: 'Recreate' });
    update<D>(c, 'Deployment', 'web', (d) => ({ ...d, spec: { ...d.spec!, revisionHistoryLimit: 2 } }));
    c.settle();
    for (let i = 0; i < 5; i++) {
      update<D>(c, 'Deployment', 'web', (d) => setImage(d, `nginx:2.${i}`));
      c.settle();
      c.settle();
    }
    const rss = replicaSets(c);
    expect(rss.map(imageOf).sort()).toEqual(['nginx:2.2', 'nginx:2.3', 'nginx:2.4']);
    expect(rss.find((r) => imageOf(r) === 'nginx:2.4')!.metadata.annotations!['deployment.kubernetes.io/revision']).toBe('6');
  });

  it('rolling back to an older template reuses its ReplicaSet and records the old revision', () => {
    const c = setup(2);
    update<D>(c, 'Deployment', 'web', (d) => setImage(d, 'nginx:1.26'));
    c.settle();
    update<D>(c, 'Deployment', 'web', (d) => setImage(d, 'nginx:1.25'));
    c.settle();
    expect(replicaSets(c)).toHaveLength(2);
    const back = replicaSets(c).find((r) => imageOf(r) === 'nginx:1.25')!;
    expect(back.metadata.annotations).toMatchObject({ 'deployment.kubernetes.io/revision': '3', 'deployment.kubernetes.io/revision-history': '1' });
    expect(back.spec!.replicas).toBe(2);
  });

  it('a paused Deployment scales but does not roll; resuming rolls', () => {
    const c = setup(2);
    update<D>(c, 'Deployment', 'web', (d) => ({ ...d, spec: { ...d.spec!, paused: true } }));
    c.settle();
    const p = get<D>(c, 'Deployment', 'web').status!.conditions!.find((x) => x.type === 'Progressing')!;
    expect(p).toMatchObject({ status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' });
    update<D>(c, 'Deployment', 'web', (d) => ({ ...setImage(d, 'nginx:1.26'), spec: { ...setImage(d, 'nginx:1.26').spec!, replicas: 4 } }));
    c.settle();
    expect(replicaSets(c)).toHaveLength(1);
    expect(replicaSets(c)[0]!.spec!.replicas).toBe(4);
    update<D>(c, 'Deployment', 'web', (d) => ({ ...d, spec: { ...d.spec!, paused: false } }));
    c.settle();
    expect(counts(c, 'nginx:1.26')).toEqual([4, 0]);
  });

  it('minReadySeconds delays availability on the virtual clock', () => {
    const c = testCluster([new DeploymentController(), new ReplicaSetController(), new FakeKubelet({ bind: true, run: true, ready: true })]);
    addNode(c, 'n1');
    c.store.create(deployment('web', 2, { minReadySeconds: 10 }));
    c.settle();
    expect(get<D>(c, 'Deployment', 'web').status).toMatchObject({ readyReplicas: 2, availableReplicas: 0, unavailableReplicas: 2 });
    c.advance(10);
    expect(get<D>(c, 'Deployment', 'web').status!.availableReplicas).toBe(0);
    c.advance(1.5);
    expect(get<D>(c, 'Deployment', 'web').status).toMatchObject({ availableReplicas: 2, unavailableReplicas: 0 });
  });

  it('reports ProgressDeadlineExceeded when the new pods never become ready', () => {
    const kubelet = new FakeKubelet({ bind: true, run: true, ready: false });
    const c = testCluster([new DeploymentController(), new ReplicaSetController(), kubelet]);
    addNode(c, 'n1');
    const d0 = deployment('web', 2);
    c.store.create({ ...d0, spec: { ...(d0['spec'] as object), progressDeadlineSeconds: 60 } });
    c.settle();
    c.advance(59);
    expect(get<D>(c, 'Deployment', 'web').status!.conditions!.find((x) => x.type === 'Progressing')!.reason).not.toBe('ProgressDeadlineExceeded');
    c.advance(3);
    expect(get<D>(c, 'Deployment', 'web').status!.conditions!.find((x) => x.type === 'Progressing')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
  });
});

describe('Deployment: adoption', () => {
  it('adopts an orphan ReplicaSet matching its selector and releases one that stops matching', () => {
    const c = testCluster([new DeploymentController(), new ReplicaSetController()]);
    const d = deployment('web', 2);
    const tpl = (d['spec'] as { template: object }).template;
    c.store.create({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'stray', namespace: 'default', labels: { app: 'web' } }, spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: tpl } });
    c.settle();
    c.store.create(d);
    c.settle();
    const stray = get<RS>(c, 'ReplicaSet', 'stray');
    expect(stray.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Deployment', name: 'web' });
    // Same template: the stray is the new ReplicaSet and is resized to 2.
    expect(replicaSets(c)).toHaveLength(1);
    expect(stray.spec!.replicas).toBe(2);
    update<RS>(c, 'ReplicaSet', 'stray', (r) => ({ ...r, metadata: { ...r.metadata, labels: { app: 'other' } } }));
    c.settle();
    expect(get<RS>(c, 'ReplicaSet', 'stray').metadata.ownerReferences).toBeUndefined();
  });
});
