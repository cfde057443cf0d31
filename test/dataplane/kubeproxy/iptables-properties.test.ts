// Properties of the iptables renderer over random clusters: rule counts follow the formula derived
// from upstream's syncProxyRules, every KUBE-SVC chain gives each endpoint exactly 1/n, rendering is
// deterministic, partial syncs converge to a full render, and equal node-view keys mean equal rules.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import {
  IptablesProxier,
  ServiceModel,
  iptablesNodeViewKey,
  renderIptables,
} from '../../../src/dataplane/kubeproxy/index.js';
import { TEST_ENV, chainRules, countRules, ep, makeService, makeSlice, testNode } from './helpers.js';

function clusterIPCluster(counts: readonly number[]): { services: Service[]; slices: EndpointSlice[] } {
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  counts.forEach((n, i) => {
    services.push(
      makeService('ns', `svc${i}`, (s) => {
        s.spec!.clusterIP = `172.30.${i >> 8}.${i & 255}`;
        s.spec!.ports = [{ name: 'http', port: 80, protocol: 'TCP' }];
      }),
    );
    if (n > 0) {
      const eps = Array.from({ length: n }, (_, j) => ep(`10.${i & 255}.${j >> 8}.${j & 255}`));
      slices.push(makeSlice('ns', `svc${i}`, 1, eps, [{ name: 'http', port: 8080 }]));
    }
  });
  return { services, slices };
}

/**
 * nat: KUBE-POSTROUTING (3) + KUBE-MARK-MASQ (1) + the KUBE-SERVICES tail rule (1), and per Service
 * with n > 0 ready endpoints: its KUBE-SERVICES rule, the masquerade rule and n dispatch rules in
 * KUBE-SVC, and 2 rules per KUBE-SEP. filter: KUBE-FIREWALL (1) + KUBE-FORWARD (3) + one REJECT per
 * Service without endpoints.
 */
function expectedCounts(counts: readonly number[]): { nat: number; filter: number } {
  let nat = 5;
  let filter = 4;
  for (const n of counts) {
    if (n > 0) nat += 2 + 3 * n;
    else filter += 1;
  }
  return { nat, filter };
}

describe('the issue\'s sanity figure', () => {
  test('10 ClusterIP Services x 10 endpoints give 325 nat rules', () => {
    const { services, slices } = clusterIPCluster(Array(10).fill(10));
    const text = renderIptables(services, slices, testNode(), TEST_ENV).text;
    expect(countRules(text, 'nat')).toBe(325);
    // 4 fixed + 10 x (1 KUBE-SERVICES + 1 masquerade + 10 dispatch + 10 x 2 SEP) + 1 tail.
    expect(4 + 10 * (1 + 1 + 10 + 20) + 1).toBe(325);
  });
});

describe('properties', () => {
  const countsArb = fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 0, maxLength: 30 });

  test('rule counts follow the formula for random ClusterIP services', () => {
    fc.assert(
      fc.property(countsArb, (counts) => {
        const { services, slices } = clusterIPCluster(counts);
        const text = renderIptables(services, slices, testNode(), TEST_ENV).text;
        const want = expectedCounts(counts);
        expect(countRules(text, 'nat')).toBe(want.nat);
        expect(countRules(text, 'filter')).toBe(want.filter);
      }),
    );
  });

  test('every KUBE-SVC chain gives each ready endpoint exactly 1/n', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.boolean(), (n, affinity) => {
        const { services, slices } = clusterIPCluster([n]);
        const svc = affinity
          ? { ...services[0]!, spec: { ...services[0]!.spec, sessionAffinity: 'ClientIP' as const } }
          : services[0]!;
        const text = renderIptables([svc], slices, testNode(), TEST_ENV).text;
        const svcChain = /-j (KUBE-SVC-\w+)/.exec(text)![1]!;
        let remaining = 1;
        const shares = new Map<string, number>();
        for (const rule of chainRules(text, 'nat', svcChain)) {
          if (rule.includes('KUBE-MARK-MASQ') || rule.includes('--rcheck')) continue;
          const target = /-j (\S+)$/.exec(rule)![1]!;
          const p = Number(/--probability (\S+)/.exec(rule)?.[1] ?? '1');
          shares.set(target, (shares.get(target) ?? 0) + remaining * p);
          remaining *= 1 - p;
        }
        expect(shares.size).toBe(n);
        expect(remaining).toBe(0);
        for (const share of shares.values()) expect(Math.abs(share - 1 / n)).toBeLessThan(1e-8);
      }),
    );
  });

  test('rendering is deterministic: input order and slice split do not matter', () => {
    fc.assert(
      fc.property(countsArb, fc.integer(), (counts, seed) => {
        const { services, slices } = clusterIPCluster(counts);
        const shuffle = <T>(xs: T[]) => {
          let s = seed >>> 0;
          const out = [...xs];
          for (let i = out.length - 1; i > 0; i--) {
            s = (s * 1103515245 + 12345) >>> 0;
            const j = s % (i + 1);
            [out[i], out[j]] = [out[j]!, out[i]!];
          }
          return out;
        };
        // Split every slice in two, reversed endpoint order.
        const split = slices.flatMap((sl) => {
          const eps = [...(sl.endpoints ?? [])].reverse();
          const half = Math.ceil(eps.length / 2);
          return [
            { ...sl, metadata: { ...sl.metadata, name: `${sl.metadata!.name}-b` }, endpoints: eps.slice(0, half) },
            { ...sl, metadata: { ...sl.metadata, name: `${sl.metadata!.name}-a` }, endpoints: eps.slice(half) },
          ];
        });
        const a = renderIptables(services, slices, testNode(), TEST_ENV).text;
        const b = renderIptables(shuffle(services), shuffle(split), testNode(), TEST_ENV).text;
        expect(b).toBe(a);
        expect(renderIptables(services, slices, testNode(), TEST_ENV).text).toBe(a);
      }),
    );
  });

  test('after any sequence of partial syncs the current ruleset equals a fresh full render', () => {
    const op = fc.record({ service: fc.integer({ min: 0, max: 5 }), endpoints: fc.integer({ min: -1, max: 4 }) });
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 15 }), (ops) => {
        // endpoints -1: the Service is deleted.
        const state = new Map<number, number>();
        const model = new ServiceModel('IPv4');
        const proxier = new IptablesProxier(model, testNode(), TEST_ENV);
        for (const o of ops) {
          if (o.endpoints < 0) state.delete(o.service);
          else state.set(o.service, o.endpoints);
          const ids = [...state.keys()].sort();
          const { services, slices } = clusterIPCluster(Array.from({ length: 6 }, (_, i) => state.get(i) ?? 0));
          const keep = (name: string | undefined) => ids.includes(Number(name!.replace(/\D/g, '').slice(0, 1)));
          const svcs = services.filter((s) => keep(s.metadata!.name));
          const sls = slices.filter((s) => keep(s.metadata!.labels!['kubernetes.io/service-name']));
          model.update(svcs, sls);
          const r = proxier.sync();
          const fresh = renderIptables(svcs, sls, testNode(), TEST_ENV).text;
          expect(proxier.current().text).toBe(fresh);
          expect(proxier.staleChains()).toEqual([]);
          // A partial payload never declares a chain the full render does not have, except to delete it.
          for (const c of r.payload.nat.chains) {
            expect(fresh.includes(`:${c} `) || r.deletedChains.includes(c)).toBe(true);
          }
        }
      }),
    );
  });

  test('nodes with equal node-view keys get identical rules', () => {
    const nodeNames = ['n1', 'n2', 'n3', 'n4'];
    const zones = ['za', 'zb'];
    const epArb = fc.record({
      node: fc.constantFrom(...nodeNames),
      hinted: fc.boolean(),
      ready: fc.boolean(),
    });
    const svcArb = fc.record({
      etpLocal: fc.boolean(),
      itpLocal: fc.boolean(),
      eps: fc.array(epArb, { maxLength: 5 }),
    });
    fc.assert(
      fc.property(fc.array(svcArb, { minLength: 1, maxLength: 4 }), (specs) => {
        const services: Service[] = [];
        const slices: EndpointSlice[] = [];
        const zoneOf = (n: string) => zones[nodeNames.indexOf(n) % 2]!;
        specs.forEach((spec, i) => {
          services.push(
            makeService('ns', `s${i}`, (s) => {
              s.spec!.type = 'NodePort';
              s.spec!.clusterIP = `172.30.0.${i + 1}`;
              s.spec!.externalTrafficPolicy = spec.etpLocal ? 'Local' : 'Cluster';
              s.spec!.internalTrafficPolicy = spec.itpLocal ? 'Local' : 'Cluster';
              s.spec!.ports = [{ name: 'p', port: 80, protocol: 'TCP', nodePort: 30000 + i }];
            }),
          );
          const allHinted = spec.eps.every((e) => e.hinted);
          slices.push(
            makeSlice(
              'ns',
              `s${i}`,
              1,
              spec.eps.map((e, j) =>
                ep(`10.0.${i}.${j}`, {
                  nodeName: e.node,
                  zone: zoneOf(e.node),
                  conditions: { ready: e.ready },
                  ...(allHinted ? { hints: { forZones: [{ name: zoneOf(e.node) }] } } : {}),
                }),
              ),
              [{ name: 'p', port: 8080 }],
            ),
          );
        });
        const model = new ServiceModel('IPv4');
        model.update(services, slices);
        const views = nodeNames.map((n, i) => testNode({ nodeName: n, zone: zoneOf(n), nodeIPs: [`192.168.0.${i + 1}`] }));
        const byKey = new Map<string, string>();
        for (const v of views) {
          const key = iptablesNodeViewKey(model, v, TEST_ENV);
          const text = new IptablesProxier(model, v, TEST_ENV).sync().payload.text;
          const seen = byKey.get(key);
          if (seen !== undefined) expect(text).toBe(seen);
          else byKey.set(key, text);
        }
      }),
    );
  });
});

describe('node-view sharing', () => {
  test('without Local policies or hints, every node in the cluster shares one key', () => {
    const { services, slices } = clusterIPCluster([3, 0, 5]);
    const model = new ServiceModel('IPv4');
    model.update(services, slices);
    const keys = new Set(
      ['a', 'b', 'c'].map((n, i) => iptablesNodeViewKey(model, testNode({ nodeName: n, zone: `z${i}`, nodeIPs: [`192.168.0.${i}`] }), TEST_ENV)),
    );
    expect(keys.size).toBe(1);
  });

  test('proxiers of different nodes sharing a model reuse the rendered chunk objects', () => {
    const { services, slices } = clusterIPCluster([3]);
    const model = new ServiceModel('IPv4');
    model.update(services, slices);
    const a = new IptablesProxier(model, testNode({ nodeName: 'a' }), TEST_ENV).sync().payload;
    const b = new IptablesProxier(model, testNode({ nodeName: 'b' }), TEST_ENV).sync().payload;
    const sepA = a.nat.rules.find((r) => r.chain.startsWith('KUBE-SEP-'))!;
    const sepB = b.nat.rules.find((r) => r.chain.startsWith('KUBE-SEP-'))!;
    expect(sepA).toBe(sepB);
  });
});
