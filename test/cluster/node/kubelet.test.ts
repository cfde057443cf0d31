import { describe, expect, it } from 'vitest';
import { Kubelet } from '../../../src/cluster/controllers/kubelet.js';
import { Scheduler } from '../../../src/cluster/controllers/scheduler.js';
import { NodeIpamController } from '../../../src/cluster/controllers/nodeipam.js';
import type { HostLocalIpam } from '../../../src/cluster/ipam/host-local.js';
import type { ClusterConfig } from '../../../src/cluster/config.js';
import { condition, getPod, newCluster, node, pod, setNodeReady, type NodeOpts } from './fixtures.js';

function kubeletCluster(config: Partial<ClusterConfig> = {}, nodes: [string, NodeOpts][] = [['n1', { ip: '192.168.0.11', podCIDR: '10.244.1.0/24' }]]) {
  const kubelet = new Kubelet();
  const t = newCluster([kubelet], config);
  for (const [name, o] of nodes) t.cluster.store.create(node(name, o));
  return { c: t.cluster, kubelet };
}

describe('kubelet: starting pods', () => {
  it('runs a bound pod with an address from the node podCIDR and the kubelet conditions', () => {
    const { c } = kubeletCluster();
    c.store.create(pod('p', { nodeName: 'n1' }));
    c.settle();
    const p = getPod(c, 'p')!;
    expect(p.status).toMatchObject({
      phase: 'Running',
      podIP: '10.244.1.2',
      podIPs: [{ ip: '10.244.1.2' }],
      hostIP: '192.168.0.11',
      hostIPs: [{ ip: '192.168.0.11' }],
      startTime: '2026-01-01T00:00:00Z',
    });
    expect(p.status!.conditions!.map((x) => `${x.type}=${x.status}`)).toEqual([
      'PodReadyToStartContainers=True',
      'Initialized=True',
      'Ready=True',
      'ContainersReady=True',
      'PodScheduled=True',
    ]);
    expect(p.status!.containerStatuses![0]).toMatchObject({ name: 'app', ready: true, started: true, restartCount: 0 });
    expect(p.status!.containerStatuses![0]!.state!.running).toEqual({ startedAt: '2026-01-01T00:00:00Z' });
  });

  it('waits containerStartSeconds in ContainerCreating before running', () => {
    const { c } = kubeletCluster({ kubelet: { containerStartSeconds: 5, sigtermExitSeconds: 1 } });
    c.store.create(pod('p', { nodeName: 'n1' }));
    c.settle();
    expect(getPod(c, 'p')!.status!.phase).toBe('Pending');
    expect(getPod(c, 'p')!.status!.containerStatuses![0]!.state!.waiting!.reason).toBe('ContainerCreating');
    expect(getPod(c, 'p')!.status!.podIP).toBeUndefined();
    c.advance(4);
    expect(getPod(c, 'p')!.status!.phase).toBe('Pending');
    c.advance(1);
    expect(getPod(c, 'p')!.status!.phase).toBe('Running');
    expect(getPod(c, 'p')!.status!.containerStatuses![0]!.state!.running!.startedAt).toBe('2026-01-01T00:00:05Z');
  });

  it('turns Ready after the readiness probe initialDelaySeconds', () => {
    const { c } = kubeletCluster();
    c.store.create(pod('p', { nodeName: 'n1', readinessDelay: 10 }));
    c.settle();
    expect(condition(getPod(c, 'p'), 'Ready')).toBe('False');
    expect(getPod(c, 'p')!.status!.conditions!.find((x) => x.type === 'Ready')!.message).toBe('containers with unready status: [app]');
    c.advance(9);
    expect(condition(getPod(c, 'p'), 'Ready')).toBe('False');
    c.advance(1);
    expect(condition(getPod(c, 'p'), 'Ready')).toBe('True');
    expect(condition(getPod(c, 'p'), 'ContainersReady')).toBe('True');
  });

  it('honours the kubepath.dev/ready annotation the scenario runner sets', () => {
    const { c } = kubeletCluster();
    c.store.create(pod('p', { nodeName: 'n1', annotations: { 'kubepath.dev/ready': 'false' } }));
    c.settle();
    expect(getPod(c, 'p')!.status!.phase).toBe('Running');
    expect(condition(getPod(c, 'p'), 'Ready')).toBe('False');
    const p = getPod(c, 'p')!;
    c.store.update({ ...p, metadata: { ...p.metadata, annotations: {} } });
    c.settle();
    expect(condition(getPod(c, 'p'), 'Ready')).toBe('True');
  });

  it('keeps a pod with an unmet readiness gate not Ready', () => {
    const { c } = kubeletCluster();
    c.store.create(pod('p', { nodeName: 'n1', spec: { readinessGates: [{ conditionType: 'target-health.elbv2.k8s.aws/tg' }] } }));
    c.settle();
    expect(condition(getPod(c, 'p'), 'ContainersReady')).toBe('True');
    expect(condition(getPod(c, 'p'), 'Ready')).toBe('False');
    const p = getPod(c, 'p')!;
    c.store.update({ ...p, status: { ...p.status, conditions: [...p.status!.conditions!, { type: 'target-health.elbv2.k8s.aws/tg', status: 'True' }] } });
    c.settle();
    expect(condition(getPod(c, 'p'), 'Ready')).toBe('True');
  });

  it('gives hostNetwork pods the node IP without touching IPAM', () => {
    const { c, kubelet } = kubeletCluster();
    c.store.create(pod('h', { nodeName: 'n1', hostNetwork: true }));
    c.store.create(pod('p', { nodeName: 'n1' }));
    c.settle();
    expect(getPod(c, 'h')!.status!.podIP).toBe('192.168.0.11');
    expect(getPod(c, 'p')!.status!.podIP).toBe('10.244.1.2');
    expect((kubelet.ipam as HostLocalIpam).usedOn('n1')).toEqual(['10.244.1.2']);
  });

  it('C5 through the kubelet: a deleted pod frees its address but the next pod gets the following one', () => {
    const { c } = kubeletCluster();
    c.store.create(pod('p1', { nodeName: 'n1' }));
    c.store.create(pod('p2', { nodeName: 'n1' }));
    c.settle();
    c.store.delete('Pod', 'default', 'p1', { gracePeriodSeconds: 0 });
    c.store.create(pod('p3', { nodeName: 'n1' }));
    c.settle();
    expect(['p2', 'p3'].map((n) => getPod(c, n)!.status!.podIP)).toEqual(['10.244.1.3', '10.244.1.4']);
  });

  it('leaves a pod in ContainerCreating with FailedCreatePodSandBox when the range is exhausted, and starts it once an address frees', () => {
    const { c } = kubeletCluster({}, [['n1', { ip: '192.168.0.11', podCIDR: '10.244.1.0/30' }]]);
    c.store.create(pod('a', { nodeName: 'n1' }));
    c.store.create(pod('b', { nodeName: 'n1' }));
    c.settle();
    expect(getPod(c, 'a')!.status!.podIP).toBe('10.244.1.2');
    const b = getPod(c, 'b')!;
    expect(b.status!.phase).toBe('Pending');
    expect(b.status!.containerStatuses![0]!.state!.waiting!.reason).toBe('ContainerCreating');
    const ev = c.events.filter((e) => e.reason === 'FailedCreatePodSandBox');
    expect(ev).toHaveLength(1);
    expect(ev[0]!.type).toBe('Warning');
    expect(ev[0]!.message).toContain('no IP addresses available in range set: 10.244.1.1-10.244.1.2');
    c.store.delete('Pod', 'default', 'a');
    c.advance(1);
    expect(getPod(c, 'a')).toBeUndefined();
    expect(getPod(c, 'b')!.status!.podIP).toBe('10.244.1.2');
  });

  it('waits for the node podCIDR from node IPAM', () => {
    const kubelet = new Kubelet();
    const { cluster: c } = newCluster([new NodeIpamController(), new Scheduler(), kubelet]);
    c.store.create(node('n1', { ip: '10.0.0.1' }));
    c.store.create(pod('p'));
    c.settle();
    expect(getPod(c, 'p')!.status!.podIP).toBe('10.244.0.2');
  });
});

describe('kubelet: Job pods and termination', () => {
  it('completes Job-like pods after kubepath.dev/run-seconds (default 10) and frees their address', () => {
    const { c, kubelet } = kubeletCluster();
    c.store.create(pod('j', { nodeName: 'n1', owner: { kind: 'Job', name: 'j', uid: 'job-1', apiVersion: 'batch/v1' }, restartPolicy: 'Never' }));
    c.store.create(pod('quick', { nodeName: 'n1', restartPolicy: 'OnFailure', annotations: { 'kubepath.dev/run-seconds': '3' } }));
    c.settle();
    expect(getPod(c, 'j')!.status!.phase).toBe('Running');
    c.advance(3);
    expect(getPod(c, 'quick')!.status!.phase).toBe('Succeeded');
    expect(getPod(c, 'j')!.status!.phase).toBe('Running');
    c.advance(7);
    const j = getPod(c, 'j')!;
    expect(j.status!.phase).toBe('Succeeded');
    expect(j.status!.containerStatuses![0]!.state!.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(j.status!.conditions!.find((x) => x.type === 'Ready')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
    expect((kubelet.ipam as HostLocalIpam).usedOn('n1')).toEqual([]);
  });

  it('keeps a deleted pod running and Ready for min(grace, sigtermExitSeconds), then removes it', () => {
    const { c, kubelet } = kubeletCluster({ kubelet: { containerStartSeconds: 0, sigtermExitSeconds: 5 } });
    c.store.create(pod('slow', { nodeName: 'n1' }));
    c.store.create(pod('fast', { nodeName: 'n1', grace: 2 }));
    c.settle();
    c.advance(10);
    c.store.delete('Pod', 'default', 'slow');
    c.store.delete('Pod', 'default', 'fast');
    c.settle();
    const slow = getPod(c, 'slow')!;
    expect(slow.metadata.deletionTimestamp).toBe('2026-01-01T00:00:40Z');
    expect(slow.status!.phase).toBe('Running');
    expect(condition(slow, 'Ready')).toBe('True');
    c.advance(2);
    expect(getPod(c, 'fast')).toBeUndefined();
    expect(getPod(c, 'slow')).toBeDefined();
    c.advance(2.5);
    expect(getPod(c, 'slow')).toBeDefined();
    c.advance(0.5);
    expect(getPod(c, 'slow')).toBeUndefined();
    expect((kubelet.ipam as HostLocalIpam).usedOn('n1')).toEqual([]);
  });

  it('leaves pods of a NotReady node as they are, terminating ones included', () => {
    const { c } = kubeletCluster();
    c.store.create(pod('p', { nodeName: 'n1' }));
    c.settle();
    setNodeReady(c, 'n1', 'Unknown');
    c.store.delete('Pod', 'default', 'p');
    c.advance(60);
    const p = getPod(c, 'p')!;
    expect(p.metadata.deletionTimestamp).toBeDefined();
    expect(p.status!.phase).toBe('Running');
    setNodeReady(c, 'n1', 'True');
    c.advance(1);
    expect(getPod(c, 'p')).toBeUndefined();
  });

  it('does not start pods on a NotReady node until it is Ready', () => {
    const { c } = kubeletCluster();
    setNodeReady(c, 'n1', 'False');
    c.store.create(pod('p', { nodeName: 'n1' }));
    c.settle();
    expect(getPod(c, 'p')!.status!.phase).toBe('Pending');
    setNodeReady(c, 'n1', 'True');
    c.settle();
    expect(getPod(c, 'p')!.status!.phase).toBe('Running');
  });

  it("collects a deleted node's pods after PodGC's 40 s quarantine", () => {
    const { c } = kubeletCluster();
    c.store.create(pod('p', { nodeName: 'n1' }));
    c.settle();
    c.store.delete('Node', undefined, 'n1');
    c.advance(39);
    expect(getPod(c, 'p')).toBeDefined();
    c.advance(1);
    expect(getPod(c, 'p')).toBeUndefined();
  });
});

describe('determinism', () => {
  function run(seed: number): string {
    const { cluster: c } = newCluster([new NodeIpamController(), new Scheduler(), new Kubelet()], {}, seed);
    for (let i = 0; i < 6; i++) c.store.create(node(`n${i}`, { zone: `z${i % 3}`, ip: `10.0.0.${i + 1}` }));
    c.store.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } } as never);
    for (let i = 0; i < 40; i++) c.store.create(pod(`web-${i}`, { labels: { app: 'web' }, cpu: '100m' }));
    c.settle();
    return JSON.stringify(c.store.list('Pod').map((p) => [p.metadata.name, (p as never as { spec: { nodeName: string } }).spec.nodeName, (p as never as { status: { podIP: string } }).status.podIP]));
  }

  it('the same seed gives the same placement and addresses', () => {
    expect(run(42)).toBe(run(42));
  });
});
