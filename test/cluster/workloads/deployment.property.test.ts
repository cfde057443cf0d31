// Properties of the Deployment + ReplicaSet controllers under random pod readiness, pod
// deletions, template changes and scaling, checked after every event.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { Cluster } from '../../../src/cluster/cluster.js';
import { DeploymentController } from '../../../src/cluster/controllers/deployment.js';
import { ReplicaSetController } from '../../../src/cluster/controllers/replicaset.js';
import { GarbageCollector } from '../../../src/cluster/controllers/garbagecollector.js';
import type { Stored } from '../../../src/cluster/object.js';
import { maxSurge, maxUnavailable, desiredReplicas } from '../../../src/cluster/workloads/rollout.js';
import { isPodActive, isPodReady } from '../../../src/cluster/workloads/pods.js';
import { activePods, addNode, deployment, FakeKubelet, get, setImage, setRunning, testCluster, update, type P } from './harness.js';

type D = Stored<Deployment>;

type Event =
  | { t: 'ready'; i: number }
  | { t: 'unready'; i: number }
  | { t: 'delete'; i: number }
  | { t: 'rollout' }
  | { t: 'scale'; n: number }
  | { t: 'wait'; s: number };

const intOrPercent = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('10%', '25%', '50%'));

const config = fc
  .record({ replicas: fc.integer({ min: 1, max: 8 }), surge: intOrPercent, unavailable: intOrPercent, seed: fc.integer({ min: 1, max: 1_000_000 }) })
  .filter((c) => !(isZero(c.surge) && isZero(c.unavailable)));

function isZero(v: number | string): boolean {
  return v === 0 || v === '0%';
}

const event: fc.Arbitrary<Event> = fc.oneof(
  { weight: 6, arbitrary: fc.nat(20).map((i) => ({ t: 'ready' as const, i })) },
  { weight: 1, arbitrary: fc.nat(20).map((i) => ({ t: 'unready' as const, i })) },
  { weight: 1, arbitrary: fc.nat(20).map((i) => ({ t: 'delete' as const, i })) },
  { weight: 1, arbitrary: fc.constant({ t: 'rollout' as const }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 10 }).map((n) => ({ t: 'scale' as const, n })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 30 }).map((s) => ({ t: 'wait' as const, s })) },
);

interface Run {
  names: string[];
  violations: string[];
}

function available(c: Cluster): number {
  let n = 0;
  for (const p of c.store.list<P>('Pod', 'default')) if (isPodActive(p) && isPodReady(p)) n++;
  return n;
}

function simulate(cfg: { replicas: number; surge: number | string; unavailable: number | string; seed: number }, events: Event[]): Run {
  const kubelet = new FakeKubelet({ bind: true, run: true, ready: true });
  const c = testCluster([new DeploymentController(), new ReplicaSetController(), new GarbageCollector(), kubelet], cfg.seed);
  addNode(c, 'n1');
  addNode(c, 'n2');
  const names: string[] = [];
  c.store.watch<P>('Pod', (ev) => {
    if (ev.type === 'ADDED') names.push(ev.object.metadata.name!);
  });
  c.store.create(deployment('web', cfg.replicas, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: cfg.surge, maxUnavailable: cfg.unavailable } } }));
  c.settle();
  // Stable: every replica available. From here new pods only become ready when the test says.
  kubelet.opts.ready = false;
  const violations: string[] = [];
  let version = 1;

  // Track the lowest availability the controllers themselves reach during a settle.
  let watching = false;
  let low = Infinity;
  c.store.watch<P>('Pod', () => {
    if (watching) low = Math.min(low, available(c));
  });

  events.forEach((ev, step) => {
    const active = activePods(c);
    let scaled = false;
    switch (ev.t) {
      case 'ready': {
        const notReady = active.filter((p) => p.spec?.nodeName && !isPodReady(p));
        if (notReady.length) setRunning(c, notReady[ev.i % notReady.length]!, true);
        break;
      }
      case 'unready': {
        const ready = active.filter(isPodReady);
        if (ready.length) setRunning(c, ready[ev.i % ready.length]!, false);
        break;
      }
      case 'delete':
        if (active.length) c.store.delete('Pod', 'default', active[ev.i % active.length]!.metadata.name!);
        break;
      case 'rollout':
        update<D>(c, 'Deployment', 'web', (d) => setImage(d, `nginx:${++version}`));
        break;
      case 'scale':
        update<D>(c, 'Deployment', 'web', (d) => ({ ...d, spec: { ...d.spec!, replicas: ev.n } }));
        scaled = true;
        break;
      case 'wait':
        break;
    }
    const d = get<D>(c, 'Deployment', 'web');
    const minAvailable = desiredReplicas(d) - maxUnavailable(d);
    const before = available(c);
    watching = true;
    low = before;
    if (ev.t === 'wait') c.advance(ev.s);
    else c.settle();
    watching = false;
    const total = activePods(c).length;
    const bound = desiredReplicas(d) + maxSurge(d);
    if (total > bound) violations.push(`step ${step} ${JSON.stringify(ev)}: ${total} active pods > ${bound}`);
    // The controllers never take availability below what maxUnavailable allows (scaling aside).
    if (!scaled && low < Math.min(before, minAvailable)) {
      violations.push(`step ${step} ${JSON.stringify(ev)}: availability fell to ${low} (min ${minAvailable}, was ${before})`);
    }
  });
  return { names, violations };
}

describe('Deployment properties', () => {
  it('never exceeds replicas + maxSurge active pods, never drops availability below replicas - maxUnavailable', () => {
    fc.assert(
      fc.property(config, fc.array(event, { maxLength: 30 }), (cfg, events) => {
        const run = simulate(cfg, events);
        expect(run.violations).toEqual([]);
      }),
      { numRuns: 120 },
    );
  });

  it('the same seed and events give the same pod names', () => {
    fc.assert(
      fc.property(config, fc.array(event, { maxLength: 15 }), (cfg, events) => {
        expect(simulate(cfg, events).names).toEqual(simulate(cfg, events).names);
      }),
      { numRuns: 30 },
    );
  });

  it('a rollout left alone with pods becoming ready converges on the new template', () => {
    fc.assert(
      fc.property(config, (cfg) => {
        const kubelet = new FakeKubelet({ bind: true, run: true, ready: true });
        const c = testCluster([new DeploymentController(), new ReplicaSetController(), kubelet], cfg.seed);
        addNode(c, 'n1');
        c.store.create(deployment('web', cfg.replicas, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: cfg.surge, maxUnavailable: cfg.unavailable } } }));
        c.settle();
        update<D>(c, 'Deployment', 'web', (d) => setImage(d, 'nginx:2'));
        c.settle();
        const images = activePods(c).map((p) => p.spec!.containers[0]!.image);
        expect(images).toEqual(new Array(cfg.replicas).fill('nginx:2'));
        expect(get<D>(c, 'Deployment', 'web').status).toMatchObject({ replicas: cfg.replicas, updatedReplicas: cfg.replicas, availableReplicas: cfg.replicas });
      }),
      { numRuns: 40 },
    );
  });
});
