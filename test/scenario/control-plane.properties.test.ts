// Whole-control-plane properties: a real timeline (scale, pod deletion, readiness flips, node
// failure, cordon, drain, rollout) runs through every controller on virtual time, and the
// EndpointSlices must stay what the upstream reconciler would compute from the same state.
import { describe, expect } from 'vitest';
import { test } from '@fast-check/vitest';
import fc from 'fast-check';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { clusterConfig } from '../../src/cluster/config.js';
import { EndpointSliceController } from '../../src/cluster/controllers/endpointslice.js';
import type { Stored } from '../../src/cluster/object.js';
import { matchesMap } from '../../src/cluster/labels.js';
import { parseScenario } from '../../src/scenario/scenario.js';
import { playEvent, runUntil, startSimulation } from '../../src/scenario/runner.js';
import type { Scenario, TimelineEvent } from '../../src/scenario/types.js';
import { isPodReady } from '../../src/scenario/state.js';

const MAX_PER_SLICE = 4;

function baseScenario(seed: number): Scenario {
  const text = `
apiVersion: kubepath.dev/v1alpha1
kind: Scenario
metadata: {name: churn}
spec:
  profile: bare-metal
  seed: ${seed}
  objects:
    - apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web, namespace: shop}
      spec:
        replicas: 5
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec:
            containers:
              - name: nginx
                image: nginx:1.26
                ports: [{name: http, containerPort: 80}]
                readinessProbe: {httpGet: {path: /, port: http}, initialDelaySeconds: 3}
    - apiVersion: v1
      kind: Service
      metadata: {name: web, namespace: shop}
      spec:
        selector: {app: web}
        ports: [{name: http, port: 80, targetPort: http}]
    - apiVersion: v1
      kind: Service
      metadata: {name: web-headless, namespace: shop}
      spec:
        clusterIP: None
        selector: {app: web}
        ports: [{name: http, port: 80, targetPort: 80}]
`;
  const s = parseScenario(text, '/work/main/scenarios/churn.yaml');
  return { ...s, profile: { ...s.profile, cluster: { ...s.profile.cluster, maxEndpointsPerSlice: MAX_PER_SLICE } } };
}

const src = { file: 'generated', line: 1 };
const web = { kind: 'Deployment' as const, namespace: 'shop', name: 'web' };
const nodeArb = fc.constantFrom('node-1', 'node-2', 'node-3');

// A step: an action (pod picks are indexes into the live pod list) and then some seconds of time.
const stepArb = fc.record({
  op: fc.oneof(
    fc.record({ action: fc.constant('scale' as const), replicas: fc.integer({ min: 0, max: 12 }) }),
    fc.record({ action: fc.constant('deletePod' as const), pick: fc.nat() }),
    fc.record({ action: fc.constant('setPodReady' as const), pick: fc.nat(), ready: fc.boolean() }),
    fc.record({ action: fc.constantFrom('nodeNotReady' as const, 'nodeReady' as const, 'cordon' as const, 'uncordon' as const, 'drain' as const), node: nodeArb }),
    fc.record({ action: fc.constant('rollout' as const), image: fc.constantFrom('nginx:1.27', 'nginx:1.28', 'nginx:1.29') }),
  ),
  wait: fc.integer({ min: 0, max: 400 }),
});
interface Step {
  op: Record<string, unknown> & { action: string };
  wait: number;
}

function toEvent(cluster: Cluster, step: Step, at: number): TimelineEvent | undefined {
  const pods = cluster.store.list<Stored<Pod>>('Pod', 'shop');
  const pod = () => {
    if (!pods.length) return undefined;
    const p = pods[(step.op['pick'] as number) % pods.length]!;
    return { kind: 'Pod', namespace: 'shop', name: p.metadata.name! };
  };
  const o = step.op;
  switch (o.action) {
    case 'scale':
      return { action: 'scale', target: web, replicas: o['replicas'] as number, at, source: src };
    case 'rollout':
      return { action: 'rollout', target: web, image: { image: o['image'] as string }, at, source: src };
    case 'deletePod': {
      const p = pod();
      return p && { action: 'deletePod', pod: p, at, source: src };
    }
    case 'setPodReady': {
      const p = pod();
      return p && { action: 'setPodReady', pod: p, ready: o['ready'] as boolean, at, source: src };
    }
    default:
      return { action: o.action as 'cordon', node: o['node'] as string, at, source: src };
  }
}

function play(seed: number, steps: Step[]): Cluster {
  const sim = startSimulation(baseScenario(seed));
  let t = 0;
  for (const step of steps) {
    const ev = toEvent(sim.cluster, step, t);
    if (ev) {
      expect(playEvent(sim.cluster, ev)).toEqual([]);
      sim.cluster.settle();
    }
    t += step.wait;
    runUntil(sim, t);
  }
  return sim.cluster;
}

/** The same Nodes, Services and Pods in a fresh cluster that only runs the EndpointSlice controller. */
function fromScratch(c: Cluster): Cluster {
  const fresh = new Cluster(clusterConfig({ maxEndpointsPerSlice: MAX_PER_SLICE }), { seed: 99 });
  fresh.register(new EndpointSliceController());
  for (const kind of ['Namespace', 'Node', 'Service', 'Pod']) {
    for (const o of c.store.list(kind)) {
      const { uid: _u, resourceVersion: _r, creationTimestamp: _c, ...meta } = o.metadata;
      fresh.store.create({ ...o, metadata: meta });
    }
  }
  fresh.settle();
  return fresh;
}

/** Per Service and address type, the endpoints with their ports, ignoring slice names and uids. */
function endpointSets(c: Cluster): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const s of c.store.list<Stored<EndpointSlice>>('EndpointSlice', 'shop')) {
    const key = `${s.metadata.labels?.['kubernetes.io/service-name']}/${s.addressType}`;
    const list = (out[key] ??= []);
    for (const ep of s.endpoints ?? []) {
      const { uid: _u, ...ref } = ep.targetRef ?? {};
      list.push(JSON.stringify({ ports: s.ports, ...ep, targetRef: ref }));
    }
  }
  for (const k in out) out[k]!.sort();
  return out;
}

function snapshot(c: Cluster): string {
  return JSON.stringify(c.store.kinds().sort().map((k) => c.store.list(k)));
}

const steps = fc.array(stepArb, { minLength: 1, maxLength: 12 }) as fc.Arbitrary<Step[]>;

describe('control plane under a random timeline', () => {
  test.prop([fc.integer({ min: 1, max: 1000 }), steps], { numRuns: 25 })(
    'EndpointSlices equal a from-scratch reconcile of the same Nodes, Services and Pods',
    (seed, s) => {
      const c = play(seed, s);
      expect(endpointSets(c)).toEqual(endpointSets(fromScratch(c)));
    },
  );

  test.prop([fc.integer({ min: 1, max: 1000 }), steps], { numRuns: 25 })(
    'every ready, non-terminating pod a Service selects is a ready endpoint exactly once, and no slice exceeds the maximum',
    (seed, s) => {
      const c = play(seed, s);
      for (const svc of c.store.list<Stored<Service>>('Service', 'shop')) {
        const want = c.store
          .list<Stored<Pod>>('Pod', 'shop')
          .filter((p) => matchesMap(svc.spec!.selector!, p.metadata.labels) && isPodReady(p) && !p.metadata.deletionTimestamp && p.status?.podIP)
          .map((p) => p.metadata.name!)
          .sort();
        const slices = c.store
          .list<Stored<EndpointSlice>>('EndpointSlice', 'shop')
          .filter((sl) => sl.metadata.labels?.['kubernetes.io/service-name'] === svc.metadata.name && sl.addressType === 'IPv4');
        for (const sl of slices) expect(sl.endpoints?.length ?? 0).toBeLessThanOrEqual(MAX_PER_SLICE);
        const got = slices
          .flatMap((sl) => sl.endpoints ?? [])
          .filter((ep) => ep.conditions?.ready)
          .map((ep) => ep.targetRef!.name!)
          .sort();
        expect(got).toEqual(want);
      }
    },
  );

  test.prop([fc.integer({ min: 1, max: 1000 }), steps], { numRuns: 10 })(
    'replaying the same timeline with the same seed gives identical state, object for object',
    (seed, s) => {
      expect(snapshot(play(seed, s))).toBe(snapshot(play(seed, s)));
    },
  );
});
