// The scheduler's window index (controllers/scheduler/window.ts) must pick exactly the node the
// linear cycle picks: same window, same scores, same seeded tie-break. Each case runs one random
// cluster twice with the same seed, once with the index and once with the linear cycle only,
// and compares where every pod landed and every event; with WindowIndex.check on, each indexed
// choice is also recomputed linearly on the spot.
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { createCluster } from '../../../src/cluster/index.js';
import type { Stored } from '../../../src/cluster/object.js';
import { WindowIndex } from '../../../src/cluster/controllers/scheduler/window.js';

interface Shape {
  nodes: number;
  zones: number;
  podCap: number;
  apps: { replicas: number; cpu: number; service: boolean }[];
  deletions: number[];
  seed: number;
}

const ZONE = 'topology.kubernetes.io/zone';

function run(shape: Shape, windowed: boolean): { placement: string[]; events: string[]; selections: number } {
  const realPrepare = WindowIndex.prototype.prepare;
  const realSelect = WindowIndex.prototype.select;
  let selections = 0;
  if (!windowed) WindowIndex.prototype.prepare = () => false;
  WindowIndex.prototype.select = function (this: WindowIndex, ...args: Parameters<WindowIndex['select']>) {
    selections++;
    return realSelect.apply(this, args);
  };
  try {
    const c = createCluster({ clusterCIDRs: ['10.0.0.0/8'], serviceCIDRs: ['172.16.0.0/12'] }, { seed: shape.seed });
    const { store } = c;
    for (let i = 0; i < shape.nodes; i++) {
      const name = `node-${i}`;
      const labels: Record<string, string> = { 'kubernetes.io/hostname': name };
      if (i % 11 !== 0) labels[ZONE] = `zone-${i % shape.zones}`; // some nodes carry no zone
      const pods = String(shape.podCap + (i % 3));
      store.create({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name, labels },
        spec: {},
        status: {
          capacity: { cpu: '4', memory: '16Gi', pods },
          allocatable: { cpu: '4', memory: '16Gi', pods },
          addresses: [{ type: 'InternalIP', address: `100.64.${i >> 8}.${i & 255}` }],
          conditions: [{ type: 'Ready', status: 'True' }],
        },
      });
    }
    shape.apps.forEach((a, i) => {
      const app = `app-${i}`;
      if (a.service) {
        store.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: app }, spec: { selector: { app }, ports: [{ port: 80 }] } });
      }
      store.create({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: app },
        spec: {
          replicas: a.replicas,
          selector: { matchLabels: { app } },
          template: {
            metadata: { labels: { app } },
            spec: { containers: [{ name: 'c', image: 'nginx:1.27', resources: a.cpu ? { requests: { cpu: `${a.cpu}m` } } : {} }] },
          },
        },
      });
    });
    c.settle();
    const pods = store.list<Stored<Pod>>('Pod');
    for (const d of shape.deletions) {
      const victim = pods[d % pods.length]!;
      if (!store.get('Pod', victim.metadata.namespace, victim.metadata.name!)) continue;
      store.delete('Pod', victim.metadata.namespace, victim.metadata.name!);
      c.advance(2);
    }
    const placement = store
      .list<Stored<Pod>>('Pod')
      .map((p) => `${p.metadata.name}@${p.spec?.nodeName ?? '-'}`)
      .sort();
    const events = c.events.map((e) => `${e.t} ${e.reason} ${e.object} ${e.message}`);
    return { placement, events, selections };
  } finally {
    WindowIndex.prototype.prepare = realPrepare;
    WindowIndex.prototype.select = realSelect;
  }
}

const shapes: fc.Arbitrary<Shape> = fc.record({
  nodes: fc.integer({ min: 200, max: 420 }),
  zones: fc.integer({ min: 1, max: 4 }),
  podCap: fc.integer({ min: 3, max: 12 }),
  apps: fc.array(
    fc.record({ replicas: fc.integer({ min: 1, max: 40 }), cpu: fc.constantFrom(0, 100, 250, 900), service: fc.boolean() }),
    { minLength: 1, maxLength: 30 },
  ),
  deletions: fc.array(fc.nat(), { maxLength: 20 }),
  seed: fc.integer({ min: 1, max: 1_000_000 }),
});

describe('scheduler window index', () => {
  afterEach(() => {
    WindowIndex.check = false;
  });

  it('places every pod where the linear cycle does, with the same events', () => {
    WindowIndex.check = true;
    let used = 0;
    fc.assert(
      fc.property(shapes, (shape) => {
        const indexed = run(shape, true);
        const linear = run(shape, false);
        used += indexed.selections;
        expect(linear.selections).toBe(0);
        expect(indexed.placement).toEqual(linear.placement);
        expect(indexed.events).toEqual(linear.events);
      }),
      { numRuns: 12 },
    );
    expect(used).toBeGreaterThan(0);
  });

  it('fills a nearly full cluster (windows with full nodes, pods left pending) like the linear cycle', () => {
    WindowIndex.check = true;
    const shape: Shape = {
      nodes: 240,
      zones: 3,
      podCap: 2,
      apps: Array.from({ length: 12 }, (_, i) => ({ replicas: 70, cpu: i % 2 ? 500 : 0, service: i % 3 !== 0 })),
      deletions: [3, 77, 140, 5, 9, 300],
      seed: 7,
    };
    const indexed = run(shape, true);
    const linear = run(shape, false);
    expect(indexed.selections).toBeGreaterThan(0);
    expect(indexed.placement).toEqual(linear.placement);
    expect(indexed.events).toEqual(linear.events);
    expect(indexed.placement.some((p) => p.endsWith('@-'))).toBe(true);
  });
});
