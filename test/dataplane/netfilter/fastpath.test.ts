// The compiled, indexed and cached fast path must give exactly what the plain first-match linear
// walk gives (the semantic reference), on random packets, including while stateful matches evolve.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildChainIndex, mustParseIptablesSave, Netfilter } from '../../../src/dataplane/netfilter/index.js';
import { describeOutcomes, packetArbitrary } from './equivalence.js';
import { fixture, TEST_NODE } from './helpers.js';
import { syntheticKubeProxy } from './synthetic.js';

const syn = syntheticKubeProxy({ services: 120, endpoints: 4, nodePortEvery: 5, noEndpointsEvery: 11, affinityEvery: 7, externalIPEvery: 9, udpEvery: 6 });
const ruleset = mustParseIptablesSave(syn.text);

describe('fast path equals the linear walk', () => {
  it('indexes KUBE-SERVICES (a dispatch chain) and leaves small chains linear', () => {
    const nat = ruleset.tables.get('nat')!;
    const services = buildChainIndex(nat.chains.get('KUBE-SERVICES')!);
    expect(services).toBeDefined();
    expect(services!.keyed).toBe(nat.chains.get('KUBE-SERVICES')!.rules.length - 1);
    expect(buildChainIndex(nat.chains.get('KUBE-POSTROUTING')!)).toBeUndefined();
  });

  it('on random packets, with identical outcomes, probabilities and traces', () => {
    const fast = new Netfilter(ruleset, { node: TEST_NODE });
    const linear = new Netfilter(ruleset, { node: TEST_NODE, mode: 'linear' });
    fc.assert(
      fc.property(packetArbitrary(syn), fc.nat(), ({ packet, injection }, pick) => {
        const a = fast.evaluate(packet, injection).outcomes;
        const b = linear.evaluate(packet, injection).outcomes;
        expect(describeOutcomes(a)).toEqual(describeOutcomes(b));
        // Take the same path in both so recent lists, nth counters and conntrack evolve alike.
        const k = pick % a.length;
        fast.commit(a[k]!);
        linear.commit(b[k]!);
      }),
      { numRuns: 3000 },
    );
  });

  it('on a real-shaped dump with firewall, eTP Local, affinity and no-endpoint rules', () => {
    const dump = mustParseIptablesSave(fixture('kube-proxy.nft.save'));
    const fast = new Netfilter(dump, { node: TEST_NODE });
    const linear = new Netfilter(dump, { node: TEST_NODE, mode: 'linear' });
    const dumpSyn = { ...syn, services: syn.services.slice(0, 5).map((s, i) => ({ ...s, clusterIP: `172.30.0.4${i + 1}`, port: 80, proto: 'tcp' as const, nodePort: 30002 + (i % 3) })) };
    fc.assert(
      fc.property(packetArbitrary(dumpSyn), ({ packet, injection }) => {
        expect(describeOutcomes(fast.evaluate(packet, injection).outcomes)).toEqual(describeOutcomes(linear.evaluate(packet, injection).outcomes));
      }),
      { numRuns: 1000 },
    );
  });
});
