import { describe, expect, it } from 'vitest';
import { Store, ApiError, type WatchEvent } from '../../../src/cluster/store.js';
import { Clock } from '../../../src/cluster/clock.js';
import { Rng } from '../../../src/cluster/rng.js';
import type { KObject } from '../../../src/cluster/object.js';

function newStore(seed = 1) {
  const clock = new Clock();
  return { clock, store: new Store(clock, new Rng(seed)) };
}

const pod = (name: string, extra: Record<string, unknown> = {}): KObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', labels: { app: 'web' } },
  spec: { containers: [{ name: 'c', image: 'nginx' }] },
  ...extra,
});

describe('Store', () => {
  it('assigns uid, resourceVersion, creationTimestamp and generation 1 on create', () => {
    const { store } = newStore();
    const p = store.create(pod('a'));
    expect(p.metadata.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(p.metadata.resourceVersion).toBe('1');
    expect(p.metadata.creationTimestamp).toBe('2026-01-01T00:00:00Z');
    expect(p.metadata.generation).toBe(1);
  });

  it('rejects a duplicate name with AlreadyExists naming metadata.name', () => {
    const { store } = newStore();
    store.create(pod('a'));
    try {
      store.create(pod('a'));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ApiError);
      expect((e as ApiError).reason).toBe('AlreadyExists');
      expect((e as ApiError).field).toBe('metadata.name');
    }
  });

  it('generateName appends five characters from the no-vowel alphabet, deterministically per seed', () => {
    const names = (seed: number) => {
      const { store } = newStore(seed);
      return [1, 2, 3].map(() => store.create<KObject>({ ...pod(''), metadata: { generateName: 'web-', namespace: 'default' } }).metadata.name);
    };
    const a = names(7);
    expect(a.every((n) => /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/.test(n!))).toBe(true);
    expect(names(7)).toEqual(a);
    expect(names(8)).not.toEqual(a);
  });

  it('bumps resourceVersion and generation on a spec change, keeps uid, and emits MODIFIED with the old object', () => {
    const { store } = newStore();
    const events: WatchEvent[] = [];
    store.watch('Pod', (e) => events.push(e));
    const p = store.create(pod('a'));
    const q = store.update({ ...p, spec: { containers: [{ name: 'c', image: 'nginx:2' }] } });
    expect(q.metadata.uid).toBe(p.metadata.uid);
    expect(Number(q.metadata.resourceVersion)).toBeGreaterThan(Number(p.metadata.resourceVersion));
    expect(q.metadata.generation).toBe(2);
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED']);
    expect(events[1]!.old).toBe(p);
  });

  it('deletes a scheduled pod gracefully: deletionTimestamp now+grace, object stays', () => {
    const { store, clock } = newStore();
    clock.set(clock.now() + 10_000);
    store.create(pod('a', { spec: { nodeName: 'n1', terminationGracePeriodSeconds: 30, containers: [] } }));
    const d = store.delete('Pod', 'default', 'a')!;
    expect(d.metadata.deletionTimestamp).toBe('2026-01-01T00:00:40Z');
    expect(d.metadata.deletionGracePeriodSeconds).toBe(30);
    expect(store.get('Pod', 'default', 'a')).toBeDefined();
    store.delete('Pod', 'default', 'a', { gracePeriodSeconds: 0 });
    expect(store.get('Pod', 'default', 'a')).toBeUndefined();
  });

  it('deletes an unscheduled pod at once', () => {
    const { store } = newStore();
    store.create(pod('a'));
    store.delete('Pod', 'default', 'a');
    expect(store.get('Pod', 'default', 'a')).toBeUndefined();
  });

  it('keeps indexes current across create, label change and delete', () => {
    const { store } = newStore();
    store.addIndex('Pod', 'app', (o) => (o.metadata.labels?.['app'] ? [o.metadata.labels['app']] : []));
    const p = store.create(pod('a'));
    expect([...store.byIndex('Pod', 'app', 'web')].map((e) => e.key)).toEqual(['default/a']);
    const moved = store.update({ ...p, metadata: { ...p.metadata, labels: { app: 'api' } } });
    expect(store.byIndex('Pod', 'app', 'web').size).toBe(0);
    expect([...store.byIndex('Pod', 'app', 'api')].map((e) => e.key)).toEqual(['default/a']);
    expect([...store.byIndex('Pod', 'app', 'api')][0]!.object).toBe(moved);
    store.delete('Pod', 'default', 'a');
    expect(store.byIndex('Pod', 'app', 'api').size).toBe(0);
  });

  it('hands out the current version of each indexed object, in filing order', () => {
    const { store } = newStore();
    store.addIndex('Pod', 'app', (o) => (o.metadata.labels?.['app'] ? [o.metadata.labels['app']] : []));
    const a = store.create(pod('a'));
    store.create(pod('b'));
    // An update that keeps the index value: the entry stays where it was, with the new version.
    const a2 = store.update({ ...a, spec: { ...(a['spec'] as object), nodeName: 'n1' } });
    const entries = [...store.byIndex('Pod', 'app', 'web')];
    expect(entries.map((e) => e.key)).toEqual(['default/a', 'default/b']);
    expect(entries.map((e) => e.object)).toEqual([store.get('Pod', 'default', 'a'), store.get('Pod', 'default', 'b')]);
    expect(entries[0]!.object).toBe(a2);
    // Deleted and created again: filed anew, after the others.
    store.delete('Pod', 'default', 'a', { gracePeriodSeconds: 0 });
    const a3 = store.create(pod('a'));
    expect([...store.byIndex('Pod', 'app', 'web')].map((e) => e.object)).toEqual([store.get('Pod', 'default', 'b'), a3]);
  });

  it('runs admission on create and lets it reject with a field', () => {
    const { store } = newStore();
    store.admit('Service', {
      create(o) {
        throw new ApiError('Invalid', 'provided IP is already allocated', 'spec.clusterIP');
      },
    });
    expect(() => store.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: {} })).toThrow(/already allocated/);
    expect(store.count('Service')).toBe(0);
  });

  it('files cluster-scoped kinds without a namespace', () => {
    const { store } = newStore();
    const n = store.create<KObject>({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
    expect(n.metadata.namespace).toBeUndefined();
    expect(store.get('Node', undefined, 'n1')).toBe(n);
  });
});
