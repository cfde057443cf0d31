// `-m statistic --mode random` branches: the evaluator returns every outcome with its exact
// probability (products of the written decimals), summing to exactly 1.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makePacket } from '../../../src/net/packet.js';
import { add, equals, formatFraction, fraction, ONE, ZERO, type Outcome } from '../../../src/dataplane/netfilter/index.js';
import { netfilterFor, rulesText } from './helpers.js';

/** A kube-proxy KUBE-SVC chain over n endpoints: rule i gets "%0.10f" of 1/(n-i), the last none. */
function serviceChain(n: number): string {
  const rules = ['-A PREROUTING -d 172.30.0.10/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-X'];
  for (let i = 0; i < n; i++) {
    const stat = i < n - 1 ? ` -m statistic --mode random --probability ${(1 / (n - i)).toFixed(10)}` : '';
    rules.push(`-A KUBE-SVC-X -m comment --comment "ns/svc:http -> 10.1.0.${i + 1}:8080"${stat} -j KUBE-SEP-${i}`);
    rules.push(`-A KUBE-SEP-${i} -p tcp -m tcp -j DNAT --to-destination 10.1.0.${i + 1}:8080`);
  }
  return rulesText({ nat: rules });
}

const pod = makePacket({ src: '10.0.1.5', dst: '172.30.0.10', proto: 'tcp', sport: 40000, dport: 80, inInterface: 'cni0' });

function total(outcomes: readonly Outcome[]) {
  return outcomes.reduce((s, o) => add(s, o.probability), ZERO);
}

describe('random statistic branches', () => {
  it('three endpoints: 0.3333333333, then 0.5 of the rest, then the rest — exactly', () => {
    const { outcomes } = netfilterFor(serviceChain(3)).evaluate(pod, { from: 'interface' });
    expect(outcomes.map((o) => o.packet.dst)).toEqual(['10.1.0.1', '10.1.0.2', '10.1.0.3']);
    expect(outcomes.map((o) => formatFraction(o.probability))).toEqual(['3333333333/10000000000', '6666666667/20000000000', '6666666667/20000000000']);
    expect(equals(total(outcomes), ONE)).toBe(true);
    [0.3333333333, 0.33333333335, 0.33333333335].forEach((v, i) => expect(outcomes[i]!.probabilityValue).toBeCloseTo(v, 15));
  });

  it('any number of endpoints: one outcome per endpoint, in rule order, summing to exactly 1, each within 1e-9 of 1/n', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), (n) => {
        for (const mode of ['fast', 'linear'] as const) {
          const { outcomes } = netfilterFor(serviceChain(n), { mode }).evaluate(pod, { from: 'interface' });
          expect(outcomes.map((o) => o.packet.dst)).toEqual(Array.from({ length: n }, (_, i) => `10.1.0.${i + 1}`));
          expect(equals(total(outcomes), ONE)).toBe(true);
          for (const o of outcomes) expect(Math.abs(o.probabilityValue - 1 / n)).toBeLessThan(1e-9);
        }
      }),
      { numRuns: 40 },
    );
  });

  it("a branch's trace names each rule as iptables-save prints it", () => {
    const { outcomes } = netfilterFor(serviceChain(2)).evaluate(pod, { from: 'interface' });
    expect(outcomes[0]!.trace.filter((s) => s.hook === 'PREROUTING').map((s) => s.text)).toEqual([
      '-A PREROUTING -d 172.30.0.10/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-X',
      '-A KUBE-SVC-X -m comment --comment "ns/svc:http -> 10.1.0.1:8080" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-0',
      '-A KUBE-SEP-0 -p tcp -m tcp -j DNAT --to-destination 10.1.0.1:8080',
    ]);
    expect(outcomes[1]!.trace.filter((s) => s.hook === 'PREROUTING').map((s) => s.index)).toEqual([0, 1, 0]);
    expect(outcomes[0]!.choices.map((c) => c.taken)).toEqual([true]);
    expect(outcomes[1]!.choices.map((c) => c.taken)).toEqual([false]);
  });

  it('branches compose: two independent choices give four outcomes with multiplied probabilities', () => {
    const text = rulesText({
      mangle: ['-A PREROUTING -m statistic --mode random --probability 0.25 -j MARK --set-mark 0x1'],
      nat: ['-A PREROUTING -m statistic --mode random --probability 0.1 -j DNAT --to-destination 10.1.0.1', '-A PREROUTING -j DNAT --to-destination 10.1.0.2'],
    });
    const { outcomes } = netfilterFor(text).evaluate(pod, { from: 'interface' });
    expect(outcomes.map((o) => `${o.packet.mark}>${o.packet.dst}:${formatFraction(o.probability)}`)).toEqual([
      '1>10.1.0.1:1/40',
      '1>10.1.0.2:9/40',
      '0>10.1.0.1:3/40',
      '0>10.1.0.2:27/40',
    ]);
    expect(equals(total(outcomes), ONE)).toBe(true);
  });

  it('! --probability inverts the branch; 0 and 1 do not branch', () => {
    const inv = netfilterFor(rulesText({ filter: ['-A FORWARD -m statistic --mode random ! --probability 0.25 -j DROP'] })).evaluate(pod, { from: 'interface' }).outcomes;
    expect(inv.map((o) => `${o.verdict}:${formatFraction(o.probability)}`)).toEqual(['ACCEPT:1/4', 'DROP:3/4']);
    for (const p of ['0', '1.0', '0.0000000000']) {
      const out = netfilterFor(rulesText({ filter: [`-A FORWARD -m statistic --mode random --probability ${p} -j DROP`] })).evaluate(pod, { from: 'interface' }).outcomes;
      expect(out).toHaveLength(1);
      expect(out[0]!.verdict).toBe(p === '1.0' ? 'DROP' : 'ACCEPT');
    }
  });

  it("the 'kernel' probability model uses P rounded to 1/2^31 (what iptables-save prints as 0.33333333349), still summing to exactly 1", () => {
    const { outcomes } = netfilterFor(serviceChain(3), { probability: 'kernel' }).evaluate(pod, { from: 'interface' });
    expect(formatFraction(outcomes[0]!.probability)).toBe(formatFraction(fraction(715827883n, 2n ** 31n)));
    expect(equals(total(outcomes), ONE)).toBe(true);
  });

  it('refuses to enumerate past maxOutcomes', () => {
    expect(() => netfilterFor(serviceChain(30), { maxOutcomes: 10 }).evaluate(pod, { from: 'interface' })).toThrow(/more than 10 outcomes/);
  });
});

describe('sampling one path (Netfilter.sample)', () => {
  it('a sampled path is one of the exact outcomes: same packet, verdict, rule trace and exact probability', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (n, r) => {
        for (const mode of ['fast', 'linear'] as const) {
          const nf = netfilterFor(serviceChain(n), { mode });
          const exact = nf.evaluate(pod, { from: 'interface' }).outcomes;
          const s = nf.sample(pod, { from: 'interface' }, () => r);
          const twin = exact.find((o) => o.packet.dst === s.packet.dst)!;
          expect(twin).toBeDefined();
          expect(s.verdict).toBe(twin.verdict);
          expect(s.trace.map((t) => t.text)).toEqual(twin.trace.map((t) => t.text));
          expect(formatFraction(s.probability)).toBe(formatFraction(twin.probability));
        }
      }),
    );
  });

  it('over many draws each endpoint is picked in proportion to its probability (chi-square, 4 degrees of freedom, p = 0.001)', () => {
    const nf = netfilterFor(serviceChain(5));
    // mulberry32: a seeded generator of good quality.
    let a = 12345;
    const random = () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const counts = new Map<string, number>();
    const N = 20_000;
    for (let i = 0; i < N; i++) {
      const d = nf.sample(pod, { from: 'interface' }, random).packet.dst;
      counts.set(d, (counts.get(d) ?? 0) + 1);
    }
    let chi = 0;
    for (let i = 1; i <= 5; i++) chi += ((counts.get(`10.1.0.${i}`) ?? 0) - N / 5) ** 2 / (N / 5);
    expect(chi).toBeLessThan(18.467);
  });
});
