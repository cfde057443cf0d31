import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Scheduler } from '../../../src/cluster/controllers/scheduler.js';
import { numFeasibleNodesToFind } from '../../../src/cluster/controllers/scheduler/cycle.js';
import type { Stored } from '../../../src/cluster/object.js';
import { condition, getPod, newCluster, node, nodeOf, pod, setNodeReady, type NodeOpts } from './fixtures.js';
import { findUntoleratedTaint } from '../../../src/cluster/apiserver/tolerations.js';
import { podMatchesNode } from '../../../src/cluster/apiserver/node-affinity.js';
import { milliValue, podRequests, value } from '../../../src/cluster/apiserver/resources.js';

function schedulerCluster(nodes: [string, NodeOpts?][], seed = 1) {
  const t = newCluster([new Scheduler()], {}, seed);
  for (const [name, o] of nodes) t.cluster.store.create(node(name, o));
  return t.cluster;
}

function scheduledCondition(p: Pod | undefined) {
  return p?.status?.conditions?.find((c) => c.type === 'PodScheduled');
}

const CP_TAINT = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };

describe('scheduler filters', () => {
  it('binds a pod by setting spec.nodeName and PodScheduled=True', () => {
    const c = schedulerCluster([['n1']]);
    c.store.create(pod('p'));
    c.settle();
    const p = getPod(c, 'p')!;
    expect(p.spec!.nodeName).toBe('n1');
    expect(scheduledCondition(p)).toMatchObject({ type: 'PodScheduled', status: 'True' });
    expect(c.events.find((e) => e.reason === 'Scheduled')?.message).toBe('Successfully assigned default/p to n1');
  });

  it('reports the upstream message shape for a pod no node takes', () => {
    const c = schedulerCluster([['cp', { taints: [CP_TAINT], cpu: '8' }], ['w1', { cpu: '1' }], ['w2', { cpu: '1' }]]);
    c.store.create(pod('big', { cpu: '2' }));
    c.settle();
    const p = getPod(c, 'big')!;
    expect(p.spec!.nodeName).toBeUndefined();
    expect(scheduledCondition(p)).toMatchObject({
      status: 'False',
      reason: 'Unschedulable',
      message: '0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu.',
    });
    expect(c.events.filter((e) => e.reason === 'FailedScheduling')).toHaveLength(1);
  });

  it('NodeUnschedulable: a cordoned node is skipped unless the pod tolerates it', () => {
    const c = schedulerCluster([['cordoned', { unschedulable: true }]]);
    c.store.create(pod('a'));
    c.store.create(pod('b', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] }));
    c.settle();
    expect(scheduledCondition(getPod(c, 'a'))?.message).toBe('0/1 nodes are available: 1 node(s) were unschedulable.');
    expect(nodeOf(c, 'b')).toBe('cordoned');
  });

  it('NodeName: a pod that names its node is not the scheduler\'s', () => {
    const c = schedulerCluster([['n1'], ['n2']]);
    c.store.create(pod('p', { nodeName: 'n2' }));
    c.settle();
    expect(nodeOf(c, 'p')).toBe('n2');
    expect(scheduledCondition(getPod(c, 'p'))).toBeUndefined();
  });

  it('TaintToleration: NoSchedule and NoExecute need a toleration; PreferNoSchedule only costs score', () => {
    const c = schedulerCluster([
      ['gpu', { taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }] }],
      ['drain', { taints: [{ key: 'maint', effect: 'NoExecute' }] }],
    ]);
    c.store.create(pod('plain'));
    c.store.create(pod('tolerant', { tolerations: [{ key: 'gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' }] }));
    c.settle();
    expect(scheduledCondition(getPod(c, 'plain'))?.message).toBe(
      '0/2 nodes are available: 1 node(s) had untolerated taint {gpu: true}, 1 node(s) had untolerated taint {maint: }.',
    );
    expect(nodeOf(c, 'tolerant')).toBe('gpu');
  });

  it('TaintToleration score: a PreferNoSchedule node loses to a clean one', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const c = schedulerCluster([['soft', { taints: [{ key: 'spot', effect: 'PreferNoSchedule' }] }], ['clean']], seed);
      c.store.create(pod('p'));
      c.settle();
      expect(nodeOf(c, 'p')).toBe('clean');
    }
  });

  it('NodeAffinity: nodeSelector and required node affinity', () => {
    const c = schedulerCluster([['a', { labels: { disk: 'ssd' } }], ['b', { labels: { disk: 'hdd', tier: '3' } }]]);
    c.store.create(pod('sel', { nodeSelector: { disk: 'hdd' } }));
    c.store.create(
      pod('aff', {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: 'tier', operator: 'Gt', values: ['2'] }] }],
            },
          },
        },
      }),
    );
    c.store.create(pod('none', { nodeSelector: { disk: 'nvme' } }));
    c.settle();
    expect(nodeOf(c, 'sel')).toBe('b');
    expect(nodeOf(c, 'aff')).toBe('b');
    expect(scheduledCondition(getPod(c, 'none'))?.message).toBe("0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.");
  });

  it('NodeAffinity matchFields metadata.name (as DaemonSet pods use) pins the pod to that node', () => {
    const c = schedulerCluster([['a'], ['b'], ['c']]);
    const dsAffinity = (n: string) => ({
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [n] }] }],
        },
      },
    });
    c.store.create(pod('ds-b', { affinity: dsAffinity('b') }));
    c.store.create(pod('ds-x', { affinity: dsAffinity('x'), cpu: '1' }));
    c.store.create(pod('ds-c', { affinity: dsAffinity('c'), cpu: '100' }));
    c.settle();
    expect(nodeOf(c, 'ds-b')).toBe('b');
    expect(scheduledCondition(getPod(c, 'ds-x'))?.message).toBe("0/3 nodes are available: 3 node(s) didn't satisfy plugin(s) [NodeAffinity].");
    expect(scheduledCondition(getPod(c, 'ds-c'))?.message).toBe(
      "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity].",
    );
  });

  it('NodeResourcesFit: cpu, memory and pod count against allocatable minus bound pods', () => {
    const c = schedulerCluster([['n1', { cpu: '2', memory: '1Gi', pods: '3' }]]);
    c.store.create(pod('a', { cpu: '1500m', memory: '512Mi' }));
    c.settle();
    c.store.create(pod('b', { cpu: '600m' }));
    c.store.create(pod('m', { memory: '600Mi' }));
    c.store.create(pod('x'));
    c.store.create(pod('y'));
    c.settle();
    expect(nodeOf(c, 'a')).toBe('n1');
    expect(scheduledCondition(getPod(c, 'b'))?.message).toBe('0/1 nodes are available: 1 Insufficient cpu.');
    expect(scheduledCondition(getPod(c, 'm'))?.message).toBe('0/1 nodes are available: 1 Insufficient memory.');
    expect(nodeOf(c, 'x')).toBe('n1');
    expect(nodeOf(c, 'y')).toBe('n1');
    c.store.create(pod('z'));
    c.settle();
    expect(scheduledCondition(getPod(c, 'z'))?.message).toBe('0/1 nodes are available: 1 Too many pods.');
  });

  it('terminal pods no longer hold resources', () => {
    const c = schedulerCluster([['n1', { cpu: '1' }]]);
    c.store.create(pod('job', { cpu: '1' }));
    c.store.create(pod('next', { cpu: '1' }));
    c.settle();
    expect(nodeOf(c, 'next')).toBeUndefined();
    const job = getPod(c, 'job')!;
    c.store.update({ ...job, status: { ...job.status, phase: 'Succeeded' } });
    c.settle();
    expect(nodeOf(c, 'next')).toBe('n1');
  });

  it('NodePorts: a hostPort is taken once per node', () => {
    const c = schedulerCluster([['n1'], ['n2']]);
    for (const name of ['h1', 'h2', 'h3']) c.store.create(pod(name, { hostPort: 80 }));
    c.settle();
    expect(new Set([nodeOf(c, 'h1'), nodeOf(c, 'h2')])).toEqual(new Set(['n1', 'n2']));
    expect(scheduledCondition(getPod(c, 'h3'))?.message).toBe(
      "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports.",
    );
  });

  it('a NotReady node takes no pods (as its not-ready taint would say)', () => {
    const c = schedulerCluster([['n1']]);
    setNodeReady(c, 'n1', 'False');
    c.store.create(pod('p'));
    c.settle();
    expect(scheduledCondition(getPod(c, 'p'))?.message).toBe('0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }.');
    setNodeReady(c, 'n1', 'True');
    c.settle();
    expect(nodeOf(c, 'p')).toBe('n1');
  });

  it('retries unschedulable pods when a node is added or a pod frees room', () => {
    const c = schedulerCluster([['n1', { cpu: '1' }]]);
    c.store.create(pod('a', { cpu: '800m' }));
    c.store.create(pod('b', { cpu: '800m' }));
    c.store.create(pod('c', { cpu: '800m' }));
    c.settle();
    expect([nodeOf(c, 'b'), nodeOf(c, 'c')]).toEqual([undefined, undefined]);
    c.store.create(node('n2', { cpu: '1' }));
    c.settle();
    expect(nodeOf(c, 'b')).toBe('n2');
    c.store.delete('Pod', 'default', 'a', { gracePeriodSeconds: 0 });
    c.settle();
    expect(nodeOf(c, 'c')).toBe('n1');
  });
});

describe('scheduler scoring', () => {
  function replicaSet(c: ReturnType<typeof schedulerCluster>, name: string, labels: Record<string, string>) {
    return c.store.create({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name, namespace: 'default' }, spec: { selector: { matchLabels: labels } } } as never) as Stored<{ metadata: { uid: string } }> & { metadata: { uid: string } };
  }

  it('spreads 9 replicas of one ReplicaSet over 3 nodes in 3 zones as 3/3/3', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const c = schedulerCluster([['n1', { zone: 'a' }], ['n2', { zone: 'b' }], ['n3', { zone: 'c' }]], seed);
      const rs = replicaSet(c, 'web', { app: 'web' });
      for (let i = 0; i < 9; i++) {
        c.store.create(pod(`web-${i}`, { labels: { app: 'web' }, owner: { kind: 'ReplicaSet', name: 'web', uid: rs.metadata.uid } }));
      }
      c.settle();
      const counts: Record<string, number> = {};
      for (let i = 0; i < 9; i++) counts[nodeOf(c, `web-${i}`)!] = (counts[nodeOf(c, `web-${i}`)!] ?? 0) + 1;
      expect(counts).toEqual({ n1: 3, n2: 3, n3: 3 });
    }
  });

  it('spreads pods a Service selects across zones even when nodes are unequal in number', () => {
    const c = schedulerCluster([['a1', { zone: 'a' }], ['a2', { zone: 'a' }], ['a3', { zone: 'a' }], ['b1', { zone: 'b' }]]);
    c.store.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'api', namespace: 'default' }, spec: { selector: { app: 'api' }, ports: [{ port: 80 }] } } as never);
    for (let i = 0; i < 4; i++) c.store.create(pod(`api-${i}`, { labels: { app: 'api' } }));
    c.settle();
    const zoneB = [0, 1, 2, 3].filter((i) => nodeOf(c, `api-${i}`) === 'b1').length;
    expect(zoneB).toBeGreaterThanOrEqual(1);
  });

  it('ScheduleAnyway constraints of the pod replace the defaults and balance zones of unequal size', () => {
    for (let seed = 1; seed <= 3; seed++) {
      const c = schedulerCluster([['a1', { zone: 'a' }], ['a2', { zone: 'a' }], ['a3', { zone: 'a' }], ['b1', { zone: 'b' }]], seed);
      const spec = {
        topologySpreadConstraints: [
          { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'z' } } },
        ],
      };
      for (let i = 0; i < 6; i++) c.store.create(pod(`z-${i}`, { labels: { app: 'z' }, spec }));
      c.settle();
      const inB = [0, 1, 2, 3, 4, 5].filter((i) => nodeOf(c, `z-${i}`) === 'b1').length;
      expect(inB).toBe(3);
    }
  });

  it('prefers nodes matching preferred node affinity', () => {
    const c = schedulerCluster([['x', { labels: { fast: 'yes' } }], ['y'], ['z']]);
    c.store.create(
      pod('p', {
        affinity: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, preference: { matchExpressions: [{ key: 'fast', operator: 'Exists' }] } }],
          },
        },
      }),
    );
    c.settle();
    expect(nodeOf(c, 'p')).toBe('x');
  });

  it('LeastAllocated sends a pod to the emptier node', () => {
    const c = schedulerCluster([['busy', { cpu: '4' }], ['idle', { cpu: '4' }]]);
    c.store.create(pod('hog', { cpu: '3', nodeName: 'busy' }));
    c.store.create(pod('p', { cpu: '500m' }));
    c.settle();
    expect(nodeOf(c, 'p')).toBe('idle');
  });

  it('required pod anti-affinity on hostname keeps replicas apart; the third has nowhere to go', () => {
    const c = schedulerCluster([['n1'], ['n2']]);
    const anti = {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'kubernetes.io/hostname' }],
      },
    };
    for (const n of ['db-0', 'db-1', 'db-2']) c.store.create(pod(n, { labels: { app: 'db' }, affinity: anti }));
    c.settle();
    expect(new Set([nodeOf(c, 'db-0'), nodeOf(c, 'db-1')])).toEqual(new Set(['n1', 'n2']));
    expect(scheduledCondition(getPod(c, 'db-2'))?.message).toBe("0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.");
  });

  it("existing pods' anti-affinity keeps newcomers they select away", () => {
    const c = schedulerCluster([['n1'], ['n2']]);
    c.store.create(
      pod('loner', {
        nodeName: 'n1',
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { noisy: 'true' } }, topologyKey: 'kubernetes.io/hostname' }],
          },
        },
      }),
    );
    for (let i = 0; i < 3; i++) c.store.create(pod(`noisy-${i}`, { labels: { noisy: 'true' } }));
    c.settle();
    for (let i = 0; i < 3; i++) expect(nodeOf(c, `noisy-${i}`)).toBe('n2');
  });

  it('required pod affinity on zone follows the target; the first of a self-affine group may start anywhere', () => {
    const c = schedulerCluster([['a1', { zone: 'a' }], ['b1', { zone: 'b' }], ['b2', { zone: 'b' }]]);
    c.store.create(pod('cache', { labels: { app: 'cache' }, nodeName: 'b2' }));
    const withCache = {
      podAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'cache' } }, topologyKey: 'topology.kubernetes.io/zone' }],
      },
    };
    for (let i = 0; i < 4; i++) c.store.create(pod(`web-${i}`, { affinity: withCache }));
    const self = {
      podAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'grp' } }, topologyKey: 'topology.kubernetes.io/zone' }],
      },
    };
    c.store.create(pod('grp-0', { labels: { app: 'grp' }, affinity: self }));
    c.store.create(pod('orphan', { affinity: self }));
    c.settle();
    for (let i = 0; i < 4; i++) expect(['b1', 'b2']).toContain(nodeOf(c, `web-${i}`));
    expect(nodeOf(c, 'grp-0')).toBeDefined();
    // Once grp-0 runs, the affinity follows it.
    expect(nodeOf(c, 'orphan')).toBeDefined();
    const zoneOf = (n: string | undefined) => (n === 'a1' ? 'a' : 'b');
    expect(zoneOf(nodeOf(c, 'orphan'))).toBe(zoneOf(nodeOf(c, 'grp-0')));
  });

  it('a pod waiting for its affinity target is scheduled once the target lands, and not retried for unrelated pods', () => {
    const c = schedulerCluster([['n1', { zone: 'a' }], ['n2', { zone: 'b' }]]);
    const follow = {
      podAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'topology.kubernetes.io/zone' }],
      },
    };
    c.store.create(pod('web', { affinity: follow }));
    c.settle();
    expect(scheduledCondition(getPod(c, 'web'))?.message).toBe("0/2 nodes are available: 2 node(s) didn't match pod affinity rules.");
    const before = c.syncCounts.get('scheduler')!;
    for (let i = 0; i < 20; i++) c.store.create(pod(`other-${i}`, { labels: { app: 'other' } }));
    c.settle();
    expect(c.syncCounts.get('scheduler')! - before).toBe(20);
    c.store.create(pod('db', { labels: { app: 'db' }, nodeName: 'n2' }));
    c.settle();
    expect(nodeOf(c, 'web')).toBe('n2');
  });

  it('DoNotSchedule topology spread constraints cap the skew', () => {
    const c = schedulerCluster([['a1', { zone: 'a' }], ['a2', { zone: 'a' }], ['b1', { zone: 'b' }]]);
    const spec = {
      topologySpreadConstraints: [
        { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 's' } } },
      ],
    };
    for (let i = 0; i < 4; i++) c.store.create(pod(`s-${i}`, { labels: { app: 's' }, spec }));
    c.settle();
    const inA = [0, 1, 2, 3].filter((i) => nodeOf(c, `s-${i}`)?.startsWith('a')).length;
    expect(inA).toBe(2);
  });

  it('searches a window of nodes: adaptive percentageOfNodesToScore with at least 100 nodes', () => {
    expect(numFeasibleNodesToFind(0, 50)).toBe(50);
    expect(numFeasibleNodesToFind(0, 150)).toBe(100);
    expect(numFeasibleNodesToFind(0, 1000)).toBe(420);
    expect(numFeasibleNodesToFind(0, 5000)).toBe(500);
    expect(numFeasibleNodesToFind(0, 10000)).toBe(500);
    expect(numFeasibleNodesToFind(30, 1000)).toBe(300);
  });

  it('rotates the search start so every node gets its turn', () => {
    const nodes: [string, NodeOpts?][] = Array.from({ length: 300 }, (_, i) => [`n${i}`] as [string]);
    const c = schedulerCluster(nodes);
    // 300 nodes → 48% → 144 nodes examined per cycle, starting where the last cycle stopped.
    const sched = c.controller<Scheduler>('scheduler')!;
    c.store.create(pod('p1'));
    c.settle();
    expect((sched as unknown as { env: { nextStartNodeIndex: number } }).env.nextStartNodeIndex).toBe(144);
    c.store.create(pod('p2'));
    c.settle();
    expect((sched as unknown as { env: { nextStartNodeIndex: number } }).env.nextStartNodeIndex).toBe(288);
    const i1 = Number(nodeOf(c, 'p1')!.slice(1));
    const i2 = Number(nodeOf(c, 'p2')!.slice(1));
    expect(i1).toBeLessThan(144);
    expect(i2).toBeGreaterThanOrEqual(144);
  });
});

describe('scheduler invariants', () => {
  it('never binds a pod to a node that fails a filter (random nodes and pods)', () => {
    const taintArb = fc.constantFrom(
      undefined,
      { key: 'dedicated', value: 'db', effect: 'NoSchedule' },
      { key: 'maint', effect: 'NoExecute' },
      { key: 'spot', effect: 'PreferNoSchedule' },
    );
    const nodeArb = fc.record({
      cpu: fc.integer({ min: 1, max: 4 }),
      pods: fc.integer({ min: 1, max: 5 }),
      zone: fc.constantFrom('a', 'b', 'c'),
      disk: fc.constantFrom('ssd', 'hdd'),
      taint: taintArb,
      cordoned: fc.boolean(),
    });
    const podArb = fc.record({
      cpu: fc.integer({ min: 0, max: 3000 }),
      hostPort: fc.constantFrom(0, 0, 80, 443),
      disk: fc.constantFrom(undefined, 'ssd', 'hdd'),
      tolerate: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(nodeArb, { minLength: 1, maxLength: 6 }), fc.array(podArb, { maxLength: 25 }), fc.integer(), (nodes, pods, seed) => {
        const c = schedulerCluster(
          nodes.map((n, i) => [
            `n${i}`,
            { cpu: String(n.cpu), pods: String(n.pods), zone: n.zone, labels: { disk: n.disk }, taints: n.taint ? [n.taint] : undefined, unschedulable: n.cordoned },
          ]),
          seed,
        );
        pods.forEach((p, i) =>
          c.store.create(
            pod(`p${i}`, {
              cpu: p.cpu ? `${p.cpu}m` : undefined,
              hostPort: p.hostPort || undefined,
              nodeSelector: p.disk ? { disk: p.disk } : undefined,
              tolerations: p.tolerate ? [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }] : undefined,
            }),
          ),
        );
        c.settle();
        const bound = c.store.list<Stored<Pod>>('Pod').filter((p) => p.spec?.nodeName);
        for (const n of c.store.list<Stored<import('kubernetes-types/core/v1.js').Node>>('Node')) {
          const mine = bound.filter((p) => p.spec!.nodeName === n.metadata.name);
          if (mine.length === 0) continue;
          expect(n.spec?.unschedulable).not.toBe(true);
          const alloc = n.status!.allocatable!;
          expect(mine.length).toBeLessThanOrEqual(value(alloc['pods']));
          expect(mine.reduce((s, p) => s + podRequests(p).milliCPU, 0)).toBeLessThanOrEqual(milliValue(alloc['cpu']));
          const ports = mine.flatMap((p) => p.spec!.containers.flatMap((x) => x.ports ?? []).map((x) => x.hostPort)).filter(Boolean);
          expect(new Set(ports).size).toBe(ports.length);
          for (const p of mine) {
            expect(findUntoleratedTaint(n.spec?.taints, p.spec?.tolerations, (t) => t.effect !== 'PreferNoSchedule')).toBeUndefined();
            expect(podMatchesNode(p, n.metadata.name!, n.metadata.labels)).toBe(true);
          }
        }
        // Every pod left unbound carries the Unschedulable condition.
        for (const p of c.store.list<Stored<Pod>>('Pod').filter((x) => !x.spec?.nodeName)) {
          expect(condition(p, 'PodScheduled')).toBe('False');
        }
      }),
      { numRuns: 80 },
    );
  });
});
