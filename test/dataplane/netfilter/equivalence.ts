// Fast path versus linear walk: random packets for a synthetic kube-proxy ruleset, and a
// comparison of everything an evaluation returns. Used by the vitest property and by
// bench/netfilter.ts (which runs a million packets).
import fc from 'fast-check';
import { makePacket, type L4Protocol, type Packet } from '../../../src/net/packet.js';
import type { Injection, Outcome } from '../../../src/dataplane/netfilter/index.js';
import type { SyntheticRuleset } from './synthetic.js';

export interface RandomPacket {
  readonly packet: Packet;
  readonly injection: Injection;
}

/** Packets aimed mostly at the ruleset's Services (VIP, port, NodePort), some anywhere, from pods, the node and outside. */
export function packetArbitrary(syn: SyntheticRuleset): fc.Arbitrary<RandomPacket> {
  const svcs = syn.services;
  const endpointIPs = svcs.flatMap((s) => s.endpoints.map((e) => e.slice(0, e.indexOf(':'))));
  const ipv4 = fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.integer({ min: 1, max: 254 })).map((o) => o.join('.'));
  const svc = fc.constantFrom(...svcs);
  const dst = fc.oneof(
    { weight: 6, arbitrary: svc.map((s) => ({ dst: s.clusterIP, port: s.port, proto: s.proto as L4Protocol })) },
    { weight: 2, arbitrary: svc.filter((s) => s.nodePort !== undefined || svcs.every((x) => x.nodePort === undefined)).map((s) => ({ dst: syn.nodeIP, port: s.nodePort ?? 30000, proto: s.proto as L4Protocol })) },
    { weight: 1, arbitrary: svc.filter((s) => s.externalIP !== undefined || svcs.every((x) => x.externalIP === undefined)).map((s) => ({ dst: s.externalIP ?? s.clusterIP, port: s.port, proto: s.proto as L4Protocol })) },
    { weight: 1, arbitrary: fc.record({ dst: fc.oneof(ipv4, fc.constantFrom(...endpointIPs.slice(0, 50)), fc.constant('127.0.0.1')), port: fc.integer({ min: 1, max: 65535 }), proto: fc.constantFrom<L4Protocol>('tcp', 'udp', 'icmp', 'sctp') }) },
  );
  const src = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.integer({ min: 2, max: 250 }), fc.nat(255)).map(([a, b]) => ({ src: `10.200.${a}.${b}`, iface: 'cni0' as string | undefined })) },
    { weight: 2, arbitrary: fc.constantFrom(...endpointIPs.slice(0, 50)).map((ip) => ({ src: ip, iface: 'cni0' as string | undefined })) },
    { weight: 2, arbitrary: ipv4.map((ip) => ({ src: ip, iface: 'eth0' as string | undefined })) },
    { weight: 1, arbitrary: fc.constant({ src: syn.nodeIP, iface: undefined as string | undefined }) },
  );
  return fc
    .record({
      d: dst,
      s: src,
      sport: fc.integer({ min: 1, max: 65535 }),
      flags: fc.constantFrom(0x02, 0x02, 0x02, 0x10, 0x12, 0x04, 0x11, 0),
      mark: fc.constantFrom(0, 0, 0, 0x4000, 0x1, 0x4001),
      protoFlip: fc.boolean(),
      portFlip: fc.integer({ min: 0, max: 9 }),
    })
    .map(({ d, s, sport, flags, mark, protoFlip, portFlip }) => {
      const proto: L4Protocol = protoFlip && d.proto === 'tcp' && portFlip === 0 ? 'udp' : d.proto;
      const dport = portFlip === 1 ? d.port + 1 : d.port;
      const packet = makePacket({
        src: s.src,
        dst: d.dst,
        proto,
        sport,
        dport,
        tcpFlags: flags,
        mark,
        ...(proto === 'icmp' ? { icmpType: 8, icmpCode: 0 } : {}),
        ...(s.iface ? { inInterface: s.iface } : {}),
      });
      return { packet, injection: { from: s.iface ? 'interface' : 'local' } as Injection };
    });
}

const tupleText = (t: { proto: string; src: string; sport: number; dst: string; dport: number } | undefined) => (t ? `${t.proto} ${t.src}:${t.sport}>${t.dst}:${t.dport}` : '-');
const packetText = (p: Packet) => `${p.src}:${p.sport}>${p.dst}:${p.dport}/${p.proto} in=${p.inInterface ?? ''} out=${p.outInterface ?? ''} m=${p.mark} ttl=${p.ttl}`;

/** Everything observable about an evaluation, as plain data: every trace step's packets and the conntrack tuples included. */
export function describeOutcomes(outcomes: readonly Outcome[]): unknown {
  return outcomes.map((o) => ({
    verdict: o.verdict,
    delivery: o.delivery,
    out: o.outInterface,
    reject: o.rejectWith,
    p: `${o.probability.num}/${o.probability.den}`,
    pv: o.probabilityValue,
    choices: o.choices.map((c) => `${c.rule.line}:${c.taken}`),
    packet: packetText(o.packet),
    ct: o.packet.ct && `${o.packet.ct.state} ${o.packet.ct.direction} ${tupleText(o.packet.ct.original)} / ${tupleText(o.packet.ct.reply)} snat=${o.packet.ct.snat} dnat=${o.packet.ct.dnat} mark=${o.packet.ct.mark}`,
    vary: o.sourcePortMayVary,
    logs: o.logs,
    trace: o.trace.map((s) => `${s.hook} ${s.table} ${s.chain}#${s.index} ${s.verdict} ${s.text} | ${packetText(s.input)} -> ${packetText(s.packet)}`),
  }));
}
