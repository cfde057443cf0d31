import { describe, expect, it } from 'vitest';
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { Cluster } from '../../../src/cluster/cluster.js';
import { GarbageCollector } from '../../../src/cluster/controllers/garbagecollector.js';
import { JobController } from '../../../src/cluster/controllers/job.js';
import type { KObject, Stored } from '../../../src/cluster/object.js';
import { activePods, addNode, FakeKubelet, get, pods, setPhase, testCluster } from './harness.js';

type J = Stored<Job>;

function job(spec: Record<string, unknown>, runSeconds?: number): KObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'pi', namespace: 'default' },
    spec: {
      template: {
        metadata: runSeconds !== undefined ? { annotations: { 'kubepath.dev/run-seconds': String(runSeconds) } } : {},
        spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'perl' }] },
      },
      ...spec,
    },
  };
}

function setup(spec: Record<string, unknown>, runSeconds?: number, kubelet = new FakeKubelet({ bind: true, run: true, ready: true, runJobs: true })) {
  const c = testCluster([new JobController(), new GarbageCollector(), kubelet]);
  addNode(c, 'n1');
  c.store.create(job(spec, runSeconds));
  c.settle();
  return c;
}

const conditions = (c: Cluster) => (get<J>(c, 'Job', 'pi').status?.conditions ?? []).map((x) => `${x.type}:${x.reason}`);

describe('Job', () => {
  it('runs completions pods, parallelism at a time, each finishing after kubepath.dev/run-seconds', () => {
    const c = setup({ completions: 5, parallelism: 2 }, 20);
    expect(activePods(c)).toHaveLength(2);
    const p = activePods(c)[0]!;
    expect(p.metadata.generateName).toBe('pi-');
    expect(p.metadata.labels).toMatchObject({ 'batch.kubernetes.io/job-name': 'pi', 'job-name': 'pi' });
    expect(p.metadata.annotations).toEqual({ 'kubepath.dev/run-seconds': '20' });
    expect(p.spec!.restartPolicy).toBe('Never');
    c.advance(19);
    expect(get<J>(c, 'Job', 'pi').status).toMatchObject({ active: 2, succeeded: 0 });
    c.advance(1);
    expect(get<J>(c, 'Job', 'pi').status).toMatchObject({ active: 2, succeeded: 2 });
    c.advance(20);
    expect(get<J>(c, 'Job', 'pi').status).toMatchObject({ active: 1, succeeded: 4 });
    c.advance(20);
    const s = get<J>(c, 'Job', 'pi').status!;
    expect(s).toMatchObject({ active: 0, succeeded: 5, failed: 0 });
    expect(conditions(c)).toEqual(['SuccessCriteriaMet:CompletionsReached', 'Complete:CompletionsReached']);
    expect(s.completionTime).toBe(c.clock.rfc3339());
    expect(pods(c)).toHaveLength(5);
    expect(c.events.filter((e) => e.reason === 'Completed').map((e) => e.message)).toEqual(['Job completed']);
  });

  it('defaults to one pod and the 10s run time', () => {
    const c = setup({});
    expect(activePods(c)).toHaveLength(1);
    c.advance(10);
    expect(get<J>(c, 'Job', 'pi').status).toMatchObject({ succeeded: 1, active: 0 });
    expect(conditions(c)).toContain('Complete:CompletionsReached');
  });

  it('retries failed pods with 10s, 20s, 40s backoff and fails once failures exceed backoffLimit', () => {
    const c = setup({ backoffLimit: 2 }, 1000, new FakeKubelet({ bind: true, run: true, ready: true }));
    const fail = () => {
      setPhase(c, activePods(c)[0]!, 'Failed');
      c.settle();
    };
    fail();
    expect(activePods(c)).toHaveLength(0);
    c.advance(9.9);
    expect(activePods(c)).toHaveLength(0);
    c.advance(0.2);
    expect(activePods(c)).toHaveLength(1);
    // Pod timestamps have second precision: fail on a whole second.
    c.advance(0.9);
    fail();
    c.advance(19.9);
    expect(activePods(c)).toHaveLength(0);
    c.advance(0.2);
    expect(activePods(c)).toHaveLength(1);
    fail();
    expect(get<J>(c, 'Job', 'pi').status).toMatchObject({ failed: 3, active: 0 });
    expect(conditions(c)).toEqual(['FailureTarget:BackoffLimitExceeded', 'Failed:BackoffLimitExceeded']);
    expect(get<J>(c, 'Job', 'pi').status!.conditions![1]!.message).toBe('Job has reached the specified backoff limit');
    c.advance(600);
    expect(activePods(c)).toHaveLength(0);
  });

  it('deletes the Job ttlSecondsAfterFinished after it completes, and its pods with it', () => {
    const c = setup({ ttlSecondsAfterFinished: 30 }, 5);
    c.advance(5);
    expect(conditions(c)).toContain('Complete:CompletionsReached');
    c.advance(29);
    expect(c.store.get('Job', 'default', 'pi')).toBeDefined();
    c.advance(2);
    expect(c.store.get('Job', 'default', 'pi')).toBeUndefined();
    expect(activePods(c)).toHaveLength(0);
    expect(pods(c).every((p) => p.metadata.deletionTimestamp)).toBe(true);
  });

  it('a work-queue Job (parallelism, no completions) completes when a pod succeeded and none is active', () => {
    const c = setup({ parallelism: 3 }, 5);
    expect(activePods(c)).toHaveLength(3);
    c.advance(5);
    expect(get<J>(c, 'Job', 'pi').status).toMatchObject({ succeeded: 3, active: 0 });
    expect(conditions(c)).toContain('Complete:CompletionsReached');
  });
});
