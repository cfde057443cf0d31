// The evaluation cache (flow-cache.ts): a stored evaluation, handed to another packet with the same
// key, must say exactly what a fresh evaluation of that packet says - every outcome, probability,
// rule-by-rule trace with its packets, the NATed packet and its conntrack tuples - and the sampled
// path must be the one the walk would draw with the same random numbers. The linear reference walk
// (which never stores anything) is the judge.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mustParseIptablesSave, Netfilter, type Injection } from '../../../src/dataplane/netfilter/index.js';
import { FlowCache, FlowRecord } from '../../../src/dataplane/netfilter/flow-cache.js';
import { makePacket, type L4Protocol } from '../../../src/net/packet.js';
import { describeOutcomes, packetArbitrary } from './equivalence.js';
import { netfilterFor, rulesText, tcp, TEST_NODE } from './helpers.js';
import { syntheticKubeProxy } from './synthetic.js';

const tupleText = (t: { proto: string; src: string; sport: number; dst: string; dport: number } | undefined) => (t ? `${t.proto} ${t.src}:${t.sport}>${t.dst}:${t.dport}` : '-');

/** The same random numbers for two walks. */
function stream(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('the evaluation cache keeps only the source bits the rules decided on', () => {
  it('serves every source on the same side of `! -s 10.0.0.0/8` from one stored evaluation', () => {
    const nf = netfilterFor(rulesText({ nat: ['-A PREROUTING ! -s 10.0.0.0/8 -p tcp -j DNAT --to-destination 10.180.0.9:8080'] }));
    nf.evaluate(tcp('10.1.1.1', '192.168.0.2', 80, { inInterface: 'eth0' }), { from: 'interface' });
    const inside = nf.evaluate(tcp('10.200.7.7', '192.168.0.2', 80, { inInterface: 'eth0', sport: 5555 }), { from: 'interface' }).outcomes;
    expect(nf.flows!.hits).toBe(1);
    expect(inside[0]!.packet.dst).toBe('192.168.0.2'); // not DNATed: inside 10/8
    expect(inside[0]!.packet.src).toBe('10.200.7.7');
    expect(inside[0]!.packet.sport).toBe(5555);
    const outside = nf.evaluate(tcp('11.0.0.1', '192.168.0.2', 80, { inInterface: 'eth0' }), { from: 'interface' }).outcomes;
    expect(nf.flows!.hits).toBe(1); // another class: evaluated afresh
    expect(outside[0]!.packet.dst).toBe('10.180.0.9');
  });

  it('needs of a non-matching `-s A/32` only the bits up to the first that differs', () => {
    const nf = netfilterFor(rulesText({ filter: ['-A INPUT -s 10.1.2.3/32 -j DROP'] }));
    nf.evaluate(tcp('10.9.9.9', '192.168.0.2', 22, { inInterface: 'eth0' }), { from: 'interface' });
    // 10.9.x.x differs from 10.1.2.3 in the second octet's fifth bit: every 10.9.x.x shares the answer...
    nf.evaluate(tcp('10.9.200.1', '192.168.0.2', 22, { inInterface: 'eth0' }), { from: 'interface' });
    expect(nf.flows!.hits).toBe(1);
    // ...and 10.1.2.3 itself is dropped, not served the stored ACCEPT.
    expect(nf.evaluate(tcp('10.1.2.3', '192.168.0.2', 22, { inInterface: 'eth0' }), { from: 'interface' }).outcomes[0]!.verdict).toBe('DROP');
  });

  it('tracks IPv6 source prefixes the same way', () => {
    const nf = new Netfilter(mustParseIptablesSave(rulesText({ filter: ['-A INPUT -s fd00:1::/32 -j DROP', '-A INPUT -s fd00:2::5/128 -j DROP'] }), { family: 6 }), { node: TEST_NODE });
    const send = (src: string) => nf.evaluate(makePacket({ src, dst: '::1', proto: 'tcp', sport: 1, dport: 22, tcpFlags: 2, inInterface: 'eth0' }), { from: 'interface' }).outcomes[0]!.verdict;
    expect(send('fd00:3::1')).toBe('ACCEPT');
    expect(send('fd00:3:ffff::9')).toBe('ACCEPT'); // differs from both networks in the same early bits
    expect(nf.flows!.hits).toBe(1);
    expect(send('fd00:1:abcd::1')).toBe('DROP');
    expect(send('fd00:2::5')).toBe('DROP');
    expect(send('fd00:2::6')).toBe('ACCEPT');
  });

  it('keys the source port only when a rule reads it', () => {
    const nf = netfilterFor(rulesText({ filter: ['-A INPUT -p tcp -m tcp --sport 1000 -j DROP'] }));
    nf.evaluate(tcp('10.9.9.9', '192.168.0.2', 22, { inInterface: 'eth0', sport: 2000 }), { from: 'interface' });
    expect(nf.evaluate(tcp('10.9.9.9', '192.168.0.2', 22, { inInterface: 'eth0', sport: 1000 }), { from: 'interface' }).outcomes[0]!.verdict).toBe('DROP');
    expect(nf.flows!.hits).toBe(0);
  });

  it('re-addresses a stored MASQUERADE path: the new packet keeps its own port, conntrack tuples follow', () => {
    const nf = netfilterFor(rulesText({ nat: ['-A POSTROUTING -s 10.180.0.0/16 -o eth0 -j MASQUERADE'] }));
    const first = makePacket({ src: '10.180.0.5', dst: '8.8.8.8', proto: 'udp', sport: 4000, dport: 53, inInterface: 'cni0' });
    const second = makePacket({ src: '10.180.3.3', dst: '8.8.8.8', proto: 'udp', sport: 4100, dport: 53, inInterface: 'cni0' });
    nf.evaluate(first, { from: 'interface' });
    const [o] = nf.evaluate(second, { from: 'interface' }).outcomes;
    expect(nf.flows!.hits).toBe(1);
    expect(`${o!.packet.src}:${o!.packet.sport}`).toBe('192.168.0.2:4100');
    expect(tupleText(o!.packet.ct!.original)).toBe('udp 10.180.3.3:4100>8.8.8.8:53');
    expect(tupleText(o!.packet.ct!.reply)).toBe('udp 8.8.8.8:53>192.168.0.2:4100');
    expect(o!.trace.at(-1)!.input.src).toBe('10.180.3.3');
  });

  it('does not serve a packet of an existing connection, nor a NAT port the conntrack table holds', () => {
    const text = rulesText({ nat: ['-A POSTROUTING -s 10.180.0.0/16 -o eth0 -j MASQUERADE'] });
    const nf = netfilterFor(text);
    const linear = netfilterFor(text, { mode: 'linear' });
    const a = makePacket({ src: '10.180.0.5', dst: '8.8.8.8', proto: 'udp', sport: 4000, dport: 53, inInterface: 'cni0' });
    const b = makePacket({ src: '10.180.0.6', dst: '8.8.8.8', proto: 'udp', sport: 4000, dport: 53, inInterface: 'cni0' });
    for (const p of [a, a, b]) {
      const x = nf.evaluate(p, { from: 'interface' }).outcomes;
      const y = linear.evaluate(p, { from: 'interface' }).outcomes;
      expect(describeOutcomes(x)).toEqual(describeOutcomes(y));
      nf.commit(x[0]!);
      linear.commit(y[0]!);
    }
    // b's masquerade clashes with a's reply tuple: the kernel (and the walk) moves b's port.
    const bOut = nf.evaluate(makePacket({ src: '10.180.0.7', dst: '8.8.8.8', proto: 'udp', sport: 4000, dport: 53, inInterface: 'cni0' }), { from: 'interface' }).outcomes[0]!;
    expect(bOut.packet.sport).not.toBe(4000);
  });

  it('stores nothing that depends on more than the packet: recent lists, LOG lines, a routing callback', () => {
    const recent = netfilterFor(rulesText({ filter: ['-A INPUT -m recent --name x --set -j ACCEPT'] }));
    const log = netfilterFor(rulesText({ filter: ['-A INPUT -j LOG --log-prefix "in: "'] }));
    for (const nf of [recent, log]) for (let i = 0; i < 3; i++) nf.evaluate(tcp('10.9.9.9', '192.168.0.2', 22, { inInterface: 'eth0', sport: 1000 + i }), { from: 'interface' });
    expect(recent.flows!.size).toBe(0);
    expect(log.flows!.size).toBe(0);
    // ...and remembers not to try again for that destination (sampling walks it directly).
    expect(recent.flows!.refused(tcp('10.9.9.9', '192.168.0.2', 22, { inInterface: 'eth0' }), 'interface')).toBe(true);
    expect(recent.sample(tcp('10.9.9.8', '192.168.0.2', 22, { inInterface: 'eth0' }), { from: 'interface' }, () => 0.5).verdict).toBe('ACCEPT');
    const routed = new Netfilter(mustParseIptablesSave(rulesText({ filter: [] })), { node: { ...TEST_NODE, route: () => ({ local: true, outInterface: 'lo' }) } });
    expect(routed.flows).toBeUndefined();
  });
});

describe('the evaluation cache stays within its capacity', () => {
  it('drops the destinations stored longest ago once it holds more paths than its capacity', () => {
    const cache = new FlowCache<string>(10);
    const packet = (dst: string) => tcp('10.0.0.1', dst, 80, { inInterface: 'eth0' });
    for (let i = 1; i <= 6; i++) cache.insert(packet(`10.96.0.${i}`), 'interface', new FlowRecord(packet(`10.96.0.${i}`)), ['a', 'b', 'c']);
    expect(cache.paths).toBeLessThanOrEqual(10);
    expect(cache.size).toBe(3);
    expect(cache.lookup(packet('10.96.0.1'), 'interface')).toBeUndefined();
    expect(cache.lookup(packet('10.96.0.6'), 'interface')?.outcomes).toEqual(['a', 'b', 'c']);
  });
});

describe('stored evaluations equal fresh ones', () => {
  const syn = syntheticKubeProxy({ services: 40, endpoints: 5, nodePortEvery: 3, noEndpointsEvery: 7, affinityEvery: 9, externalIPEvery: 5, udpEvery: 4 });
  const ruleset = mustParseIptablesSave(syn.text);

  it('on kube-proxy rules: every outcome, trace packet and conntrack tuple, with the same path committed to both', () => {
    const cached = new Netfilter(ruleset, { node: TEST_NODE });
    const linear = new Netfilter(ruleset, { node: TEST_NODE, mode: 'linear' });
    fc.assert(
      fc.property(packetArbitrary(syn), fc.nat(), ({ packet, injection }, pick) => {
        const a = cached.evaluate(packet, injection).outcomes;
        const b = linear.evaluate(packet, injection).outcomes;
        expect(describeOutcomes(a)).toEqual(describeOutcomes(b));
        const k = pick % a.length;
        cached.commit(a[k]!);
        linear.commit(b[k]!);
      }),
      { numRuns: 4000 },
    );
    // The property is only worth something if the cache answered often.
    expect(cached.flows!.hits).toBeGreaterThan(500);
  });

  it('sampling from a stored evaluation draws the path the walk draws with the same random numbers', () => {
    const cached = new Netfilter(ruleset, { node: TEST_NODE });
    const linear = new Netfilter(ruleset, { node: TEST_NODE, mode: 'linear' });
    fc.assert(
      fc.property(packetArbitrary(syn), fc.integer(), ({ packet, injection }, seed) => {
        const r1 = stream(seed);
        const r2 = stream(seed);
        const a = cached.sample(packet, injection, r1);
        const b = linear.sample(packet, injection, r2);
        expect(describeOutcomes([a])).toEqual(describeOutcomes([b]));
        expect(r1()).toBe(r2()); // the same count of numbers drawn
      }),
      { numRuns: 3000 },
    );
    expect(cached.flows!.hits).toBeGreaterThan(500);
  });

  it('on random rulesets with source prefixes, marks, statistic branches, DNAT, SNAT and MASQUERADE', () => {
    const net = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.nat(255), fc.integer({ min: 0, max: 32 })).map(([b, c, len]) => `10.${b}.${c}.${(c * 7) & 255}/${len}`);
    const cond = fc.oneof(
      net.map((n) => `-s ${n}`),
      net.map((n) => `! -s ${n}`),
      fc.constantFrom('-d 10.96.0.1/32', '-d 10.96.0.0/16', '-i eth0', '-i cni0', '-p tcp', '-p udp'),
      fc.constantFrom('-p tcp -m tcp --dport 80', '-p tcp -m tcp --sport 1000:2000', '-p udp -m udp --dport 53'),
      fc.constantFrom('-m mark --mark 0x1/0x1', '-m mark ! --mark 0x4000/0x4000', '-m conntrack --ctstate NEW'),
      fc.constantFrom('-m addrtype --src-type LOCAL', '-m addrtype --dst-type LOCAL', '-m iprange --src-range 10.1.0.0-10.1.127.255'),
      fc.constantFrom('-m statistic --mode random --probability 0.50000000000', '-m statistic --mode random --probability 0.25000000000'),
    );
    const target = (table: string) =>
      table === 'nat'
        ? fc.constantFrom('-j RETURN', '-j DNAT --to-destination 10.2.0.9:8080', '-j DNAT --to-destination 10.3.1.1', '-j MARK --set-xmark 0x4000/0x4000', '-j CHAIN-A')
        : fc.constantFrom('-j ACCEPT', '-j DROP', '-j REJECT --reject-with icmp-port-unreachable', '-j RETURN', '-j MARK --set-xmark 0x1/0x1', '-j CHAIN-A');
    // Each option once per rule (the first wins); a DNAT with a port needs a protocol.
    const optionOf = (c: string) => {
      const words = c.replace(/^! /, '').split(' ');
      return words[0] === '-m' ? `${words[0]} ${words[1]}` : words[0];
    };
    const rule = (chain: string, conds: readonly string[], t: string) => {
      const used = conds.filter((c, i) => conds.findIndex((x) => optionOf(x) === optionOf(c)) === i);
      if (t.includes(':8080') && !used.some((c) => c.includes('-p '))) used.unshift('-p tcp');
      return `-A ${chain} ${used.join(' ')} ${chain === 'CHAIN-A' && t === '-j CHAIN-A' ? '-j RETURN' : t}`.replace(/ +/g, ' ');
    };
    const rules = (table: string, chains: readonly string[]) =>
      fc.array(fc.tuple(fc.constantFrom(...chains), fc.array(cond, { maxLength: 3 }), target(table)), { maxLength: 8 }).map((rs) => rs.map(([c, conds, t]) => rule(c, conds, t)));
    const ruleset = fc
      .record({
        nat: rules('nat', ['PREROUTING', 'OUTPUT', 'CHAIN-A']),
        post: fc.array(fc.tuple(fc.array(cond, { maxLength: 2 }), fc.constantFrom('-j MASQUERADE', '-j SNAT --to-source 192.168.0.2', '-j RETURN')), { maxLength: 3 }),
        filter: rules('filter', ['INPUT', 'FORWARD', 'OUTPUT', 'CHAIN-A']),
      })
      .map(({ nat, post, filter }) =>
        rulesText({
          nat: [...nat, ...post.map(([conds, t]) => rule('POSTROUTING', conds, t)), '-A CHAIN-A -j RETURN'],
          filter: [...filter, '-A CHAIN-A -j RETURN'],
        }),
      );
    // Few destinations, ports and marks, many sources and source ports: what makes classes repeat.
    const packet = fc
      .record({
        src: fc.constantFrom('10.0.0.5', '10.0.0.6', '10.0.200.1', '10.1.2.3', '10.1.200.9', '10.2.0.9', '10.3.255.1', '192.168.0.2', '8.8.4.4'),
        sport: fc.constantFrom(1000, 1500, 3000, 40000, 40001, 50000),
        dst: fc.constantFrom('10.96.0.1', '8.8.8.8', '192.168.0.2'),
        proto: fc.constantFrom<L4Protocol>('tcp', 'tcp', 'udp'),
        dport: fc.constantFrom(53, 80),
        mark: fc.constantFrom(0, 0, 0x4000),
        iface: fc.constantFrom('eth0', 'cni0', undefined),
      })
      .map((r) => ({
        packet: makePacket({ src: r.src, dst: r.dst, proto: r.proto, sport: r.sport, dport: r.dport, mark: r.mark, tcpFlags: r.proto === 'tcp' ? 0x02 : 0, ...(r.iface ? { inInterface: r.iface } : {}) }),
        injection: { from: r.iface ? 'interface' : 'local' } as Injection,
      }));
    let hits = 0;
    fc.assert(
      fc.property(ruleset, fc.array(fc.tuple(packet, fc.nat()), { minLength: 20, maxLength: 80 }), (text, sent) => {
        const rs = mustParseIptablesSave(text);
        const cached = new Netfilter(rs, { node: TEST_NODE });
        const linear = new Netfilter(rs, { node: TEST_NODE, mode: 'linear' });
        for (const [{ packet: p, injection }, pick] of sent) {
          const a = cached.evaluate(p, injection).outcomes;
          const b = linear.evaluate(p, injection).outcomes;
          expect(describeOutcomes(a)).toEqual(describeOutcomes(b));
          cached.commit(a[pick % a.length]!);
          linear.commit(b[pick % b.length]!);
        }
        hits += cached.flows!.hits;
      }),
      { numRuns: 300 },
    );
    expect(hits).toBeGreaterThan(1000);
  });
});
