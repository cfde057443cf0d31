import { describe, expect, it } from 'vitest';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { IntOrStringError, scaledValue } from '../../../src/cluster/workloads/intstr.js';
import { computeHash, fnv32, fnv32a, safeEncodeString } from '../../../src/cluster/workloads/hash.js';
import { getProportion, maxSurge, maxUnavailable, newRSNewReplicas, resolveFenceposts } from '../../../src/cluster/workloads/rollout.js';

function dep(replicas: number, maxSurge?: number | string, maxUnavailable?: number | string, type = 'RollingUpdate'): Deployment {
  return {
    spec: {
      replicas,
      selector: {},
      template: {},
      strategy: type === 'RollingUpdate' ? { type, rollingUpdate: { maxSurge, maxUnavailable } } : { type },
    },
  };
}

function rs(replicas: number, annotations: Record<string, string> = {}): ReplicaSet {
  return { metadata: { annotations }, spec: { replicas, selector: {} } };
}

describe('IntOrString scaling', () => {
  it('scales percentages, rounding surge up and unavailability down', () => {
    expect(scaledValue('25%', 10, true)).toBe(3);
    expect(scaledValue('25%', 10, false)).toBe(2);
    expect(scaledValue(3, 10, true)).toBe(3);
    expect(scaledValue('0%', 10, true)).toBe(0);
    expect(scaledValue(undefined, 10, true)).toBe(0);
  });

  it('rejects strings that are not percentages', () => {
    expect(() => scaledValue('3', 10, true)).toThrow(IntOrStringError);
    expect(() => scaledValue('2.5%', 10, true)).toThrow(IntOrStringError);
  });
});

describe('ResolveFenceposts / MaxSurge / MaxUnavailable', () => {
  it('matches upstream cases', () => {
    expect(resolveFenceposts('39%', '39%', 10)).toEqual({ surge: 4, unavailable: 3 });
    expect(resolveFenceposts(undefined, '39%', 10)).toEqual({ surge: 0, unavailable: 3 });
    expect(resolveFenceposts('39%', undefined, 10)).toEqual({ surge: 4, unavailable: 0 });
    // Both resolve to zero: unavailability becomes 1 so the rollout can proceed.
    expect(resolveFenceposts(undefined, undefined, 10)).toEqual({ surge: 0, unavailable: 1 });
    expect(resolveFenceposts('0%', '0%', 0)).toEqual({ surge: 0, unavailable: 1 });
    expect(() => resolveFenceposts('oops', '39%', 10)).toThrow(IntOrStringError);
  });

  it('defaults to 25%/25% and caps unavailability at the replica count', () => {
    expect(maxSurge(dep(4))).toBe(1);
    expect(maxUnavailable(dep(4))).toBe(1);
    expect(maxSurge({ spec: { replicas: 10, selector: {}, template: {} } })).toBe(3);
    expect(maxUnavailable({ spec: { replicas: 10, selector: {}, template: {} } })).toBe(2);
    expect(maxUnavailable(dep(3, 0, 5))).toBe(3);
    expect(maxUnavailable(dep(0, 1, 1))).toBe(0);
    expect(maxUnavailable(dep(10, 1, 1, 'Recreate'))).toBe(0);
    expect(maxSurge(dep(10, 1, 1, 'Recreate'))).toBe(0);
  });
});

describe('NewRSNewReplicas', () => {
  it('grows the new ReplicaSet up to replicas + maxSurge in total, never past replicas', () => {
    // TestNewRSNewReplicas: surge 1, 1 replica, new RS already at 5 stays at 5.
    expect(newRSNewReplicas(dep(1, 1, 0), [rs(5), rs(5)], rs(5))).toBe(5);
    // Surge 6, 5 replicas, new RS at 0 alongside an old one of 5: 5.
    expect(newRSNewReplicas(dep(5, 6, 0), [rs(0), rs(5)], rs(0))).toBe(5);
    // Recreate: straight to replicas.
    expect(newRSNewReplicas(dep(3, undefined, undefined, 'Recreate'), [rs(1), rs(5)], rs(1))).toBe(3);
    // 10 replicas, surge 2: old 10, new 0 -> 2 (TestDeploymentController_reconcileNewReplicaSet).
    expect(newRSNewReplicas(dep(10, 2, 0), [rs(10), rs(0)], rs(0))).toBe(2);
    expect(newRSNewReplicas(dep(10, 2, 0), [rs(10), rs(2)], rs(2))).toBe(2);
    expect(newRSNewReplicas(dep(10, 2, 0), [rs(5), rs(5)], rs(5))).toBe(7);
  });
});

describe('GetProportion', () => {
  it('splits by the fraction recorded in max-replicas, bounded by what is left to add', () => {
    // 5 -> 10 with no surge: old 3 of 5 grows by 3, new 2 of 5 by 2 (TestScale "proportional scaling: 5 -> 10").
    const d = { ...dep(10, 0, 1), status: { replicas: 5 } };
    expect(getProportion(rs(3, { 'deployment.kubernetes.io/max-replicas': '5' }), d, 5, 0)).toBe(3);
    expect(getProportion(rs(2, { 'deployment.kubernetes.io/max-replicas': '5' }), d, 5, 3)).toBe(2);
    // Without the annotation the Deployment's status.replicas is used.
    expect(getProportion(rs(3), d, 5, 0)).toBe(3);
    // Never more than allowed.
    expect(getProportion(rs(3, { 'deployment.kubernetes.io/max-replicas': '5' }), d, 5, 4)).toBe(1);
    // Scaling down 10 -> 5 (no surge): 6 of 10 shrinks by 3.
    const down = { ...dep(5, 0, 1), status: { replicas: 10 } };
    expect(getProportion(rs(6, { 'deployment.kubernetes.io/max-replicas': '10' }), down, -5, 0)).toBe(-3);
    // Scaling to zero removes the whole ReplicaSet.
    expect(getProportion(rs(6), { ...dep(0, 0, 1), status: { replicas: 10 } }, -10, 0)).toBe(-6);
    expect(getProportion(rs(0), d, 5, 0)).toBe(0);
  });
});

describe('template hashing', () => {
  it('FNV-1a and FNV-1 match their published test vectors', () => {
    const enc = new TextEncoder();
    expect(fnv32a(enc.encode(''))).toBe(0x811c9dc5);
    expect(fnv32a(enc.encode('a'))).toBe(0xe40c292c);
    expect(fnv32a(enc.encode('foobar'))).toBe(0xbf9cf968);
    expect(fnv32(enc.encode('a'))).toBe(0x050c5d7e);
    expect(fnv32(enc.encode('foobar'))).toBe(0x31f0b262);
  });

  it('SafeEncodeString maps each byte into bcdfghjklmnpqrstvwxz2456789', () => {
    expect(safeEncodeString('0123456789')).toBe('456789bcdf');
  });

  it('is stable under key order, changes with the template and with collisionCount', () => {
    const a = { metadata: { labels: { app: 'x', tier: 'y' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
    const b = { spec: { containers: [{ image: 'nginx', name: 'c' }] }, metadata: { labels: { tier: 'y', app: 'x' } } };
    expect(computeHash(a)).toBe(computeHash(b));
    expect(computeHash(a)).not.toBe(computeHash({ ...a, spec: { containers: [{ name: 'c', image: 'nginx:2' }] } }));
    expect(computeHash(a, 1)).not.toBe(computeHash(a));
    expect(computeHash(a, 0)).not.toBe(computeHash(a));
  });
});
