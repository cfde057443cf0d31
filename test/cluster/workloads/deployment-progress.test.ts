// The Deployment progress check (syncRolloutStatus / requeueStuckDeployment): a rollout in
// progress comes back at lastUpdateTime + progressDeadlineSeconds; one that has completed by then
// has nothing left to check (upstream's sync at that moment changes nothing).
import { describe, expect, it } from 'vitest';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import { DeploymentController } from '../../../src/cluster/controllers/deployment.js';
import { ReplicaSetController } from '../../../src/cluster/controllers/replicaset.js';
import type { Stored } from '../../../src/cluster/object.js';
import { addNode, deployment, FakeKubelet, get, testCluster } from './harness.js';

type D = Stored<Deployment>;

function progressing(d: D) {
  return d.status!.conditions!.find((x) => x.type === 'Progressing');
}

describe('Deployment: progress deadline check', () => {
  it('a rollout that completes before the deadline stays Complete through it, with no sync and no write', () => {
    // Pods start after 5s: the rollout is in progress for a while, so a progress check is set.
    const c = testCluster([new DeploymentController(), new ReplicaSetController(), new FakeKubelet({ bind: true, run: true, ready: true, startSeconds: 5 })]);
    addNode(c, 'n1');
    c.store.create(deployment('web', 3));
    c.settle();
    expect(progressing(get<D>(c, 'Deployment', 'web'))!.reason).toBe('ReplicaSetUpdated');
    c.advance(10);
    const done = get<D>(c, 'Deployment', 'web');
    expect(progressing(done)).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
    expect(done.status).toMatchObject({ replicas: 3, updatedReplicas: 3, availableReplicas: 3 });
    // The check set during the rollout is still pending: progressDeadlineSeconds (600) + 1s.
    expect(c.clock.nextAt()).toBeGreaterThan(c.clock.now() + 500_000);

    const syncs = c.syncCounts.get('deployment');
    const events = c.events.length;
    c.advance(700);
    const after = get<D>(c, 'Deployment', 'web');
    expect(after).toBe(done);
    expect(progressing(after)).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
    expect(c.events.length).toBe(events);
    expect(c.syncCounts.get('deployment')).toBe(syncs);
  });

  it('a rollout that is still stuck at the deadline is checked and reported as timed out', () => {
    const c = testCluster([new DeploymentController(), new ReplicaSetController(), new FakeKubelet({ bind: true, run: true, ready: false })]);
    addNode(c, 'n1');
    const d0 = deployment('web', 2);
    c.store.create({ ...d0, spec: { ...(d0['spec'] as object), progressDeadlineSeconds: 120 } });
    c.settle();
    c.advance(119);
    expect(progressing(get<D>(c, 'Deployment', 'web'))!.reason).toBe('ReplicaSetUpdated');
    c.advance(3);
    expect(progressing(get<D>(c, 'Deployment', 'web'))).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
  });
});
