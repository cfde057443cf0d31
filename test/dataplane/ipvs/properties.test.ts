// Properties of the IPVS interpreter over generated services and packets: scheduler branches sum to
// exactly 1 and only name usable servers; the hashing schedulers are functions of the packet fields
// they hash and nothing else; rr and wrr are fair over a cycle; the printer and parser agree; and
// whole netfilter + IPVS distributions sum to exactly 1.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { makePacket, TCP_SYN } from '../../../src/net/packet.js';
import { add, equals, formatFraction, ONE, ZERO, Netfilter } from '../../../src/dataplane/netfilter/index.js';
import {
  evaluateWithIpvs,
  MODELLED_SCHEDULERS,
  mustParseIpvsadm,
  printIpvsadm,
  rrNext,
  scheduleNew,
  serverKey,
  wrrNext,
  wrrParameters,
  type IpvsConfig,
  type RealServer,
  type SchedulerState,
  type VirtualService,
} from '../../../src/dataplane/ipvs/index.js';
import { netfilterFor, rulesText } from '../netfilter/helpers.js';

const octet = fc.integer({ min: 1, max: 254 });
const ipv4 = fc.tuple(octet, octet, octet).map(([a, b, c]) => `10.${a}.${b}.${c}`);
const client = fc.tuple(octet, octet).map(([a, b]) => `198.18.${a}.${b}`);

const realServer = fc.record({ address: ipv4, port: fc.integer({ min: 1, max: 65535 }), weight: fc.integer({ min: 0, max: 6 }) });

const servers = fc.uniqueArray(realServer, { minLength: 0, maxLength: 6, selector: (r) => `${r.address}:${r.port}` }).map((list) =>
  list.map((r): RealServer => ({ ...r, method: 'masq', upperThreshold: 0, lowerThreshold: 0 })),
);

const service = fc
  .record({
    scheduler: fc.constantFrom(...MODELLED_SCHEDULERS),
    flags: fc.integer({ min: 0, max: 3 }),
    realServers: servers,
  })
  .map(
    ({ scheduler, flags, realServers }): VirtualService => ({
      family: 4,
      protocol: 'tcp',
      address: '10.96.0.10',
      port: 80,
      scheduler,
      schedFlags: scheduler === 'sh' || scheduler === 'mh' ? flags : 0,
      onePacket: false,
      realServers,
    }),
  );

const state = (vs: VirtualService) =>
  fc.option(
    fc.record(
      {
        position: fc.integer({ min: -1, max: Math.max(-1, vs.realServers.length - 1) }),
        currentWeight: fc.integer({ min: 1, max: 6 }),
        overloaded: fc.subarray(vs.realServers.map(serverKey)).map((k) => new Set(k)),
        loads: fc
          .array(fc.record({ active: fc.nat(20), inactive: fc.nat(600) }), { minLength: vs.realServers.length, maxLength: vs.realServers.length })
          .map((ls) => new Map(ls.map((l, i) => [serverKey(vs.realServers[i]!), l]))),
      },
      { requiredKeys: [] },
    ),
    { nil: undefined },
  );

const withState = service.chain((vs) => fc.tuple(fc.constant(vs), state(vs)));

function syn(src: string, sport: number, dst = '10.96.0.10', dport = 80) {
  return makePacket({ src, dst, proto: 'tcp', sport, dport, tcpFlags: TCP_SYN });
}

describe('scheduler branches', () => {
  test('sum to exactly 1 and only name servers with weight > 0 that are not overloaded', () => {
    fc.assert(
      fc.property(withState, client, fc.integer({ min: 1024, max: 65535 }), ([vs, st], src, sport) => {
        const branches = scheduleNew(vs, syn(src, sport), st as SchedulerState | undefined);
        expect(formatFraction(branches.reduce((a, b) => add(a, b.probability), ZERO))).toBe('1');
        for (const b of branches) {
          if (!b.server) continue;
          expect(b.server.weight).toBeGreaterThan(0);
          expect(st?.overloaded?.has(serverKey(b.server)) ?? false).toBe(false);
          expect(vs.realServers[b.index]).toBe(b.server);
        }
      }),
    );
  });

  test('sh, dh and mh are functions of the fields they hash: same client (and port when flagged) -> same server', () => {
    const hashing = service.filter((vs) => vs.scheduler === 'sh' || vs.scheduler === 'dh' || vs.scheduler === 'mh');
    fc.assert(
      fc.property(hashing, client, client, fc.integer({ min: 1024, max: 65535 }), fc.integer({ min: 1024, max: 65535 }), (vs, a, b, p1, p2) => {
        const pick = (src: string, sport: number, dst = '10.96.0.10') => scheduleNew(vs, syn(src, sport, dst))[0]!.index;
        expect(scheduleNew(vs, syn(a, p1))).toHaveLength(1);
        expect(pick(a, p1)).toBe(pick(a, p1));
        if (vs.scheduler === 'dh') expect(pick(a, p1)).toBe(pick(b, p2)); // only the destination counts
        else if (!(vs.schedFlags & 2)) expect(pick(a, p1)).toBe(pick(a, p2)); // the port only with sh-port / mh-port
        if (vs.scheduler !== 'dh') expect(pick(a, p1, '10.96.0.10')).toBe(pick(a, p1, '10.96.0.99')); // sh, mh ignore the destination
      }),
    );
  });
});

describe('round robin fairness', () => {
  test('rr: n consecutive choices from any position visit every server with weight > 0 exactly once', () => {
    const rr = service.map((vs) => ({ ...vs, scheduler: 'rr' }));
    fc.assert(
      fc.property(rr.chain((vs) => fc.tuple(fc.constant(vs), fc.integer({ min: -1, max: Math.max(-1, vs.realServers.length - 1) }))), ([vs, start]) => {
        const eligible = vs.realServers.filter((r) => r.weight > 0).length;
        let pos = start;
        const seen: number[] = [];
        for (let k = 0; k < eligible; k++) seen.push((pos = rrNext(vs, pos)));
        expect(new Set(seen).size).toBe(eligible);
        if (eligible === 0) expect(rrNext(vs, start)).toBe(-1);
      }),
    );
  });

  test('wrr: over a cycle of sum(weight)/gcd choices from cw = mw, each server is chosen weight/gcd times', () => {
    const wrr = service.map((vs) => ({ ...vs, scheduler: 'wrr' })).filter((vs) => vs.realServers.some((r) => r.weight > 0));
    fc.assert(
      fc.property(wrr, (vs) => {
        const { di, mw } = wrrParameters(vs.realServers);
        const total = vs.realServers.reduce((a, r) => a + r.weight / di, 0);
        const counts = vs.realServers.map(() => 0);
        let st = { position: -1, currentWeight: mw };
        for (let k = 0; k < total; k++) {
          const r = wrrNext(vs, st.position, st.currentWeight);
          counts[r.index]!++;
          st = r;
        }
        expect(counts).toEqual(vs.realServers.map((r) => r.weight / di));
      }),
    );
  });
});

test('printIpvsadm and parseIpvsadm agree on generated configurations', () => {
  const config = fc
    .uniqueArray(
      fc.record({
        vs: service,
        port: fc.integer({ min: 1, max: 65535 }),
        proto: fc.constantFrom('tcp' as const, 'udp' as const, 'sctp' as const),
        persistence: fc.option(fc.record({ timeout: fc.integer({ min: 1, max: 86400 }), netmask: fc.constantFrom(0xffffffff, 0xffffff00, 0xffff0000) }), {
          nil: undefined,
        }),
      }),
      { selector: (s) => `${s.proto}/${s.port}`, maxLength: 4 },
    )
    .map(
      (list): IpvsConfig => ({
        services: list.map(({ vs, port, proto, persistence }) => ({
          ...vs,
          protocol: proto,
          port,
          ...(persistence ? { persistence } : {}),
          realServers: vs.realServers.map((r) => ({ ...r, method: r.weight % 3 === 0 ? 'route' : 'masq' })),
        })),
      }),
    );
  fc.assert(
    fc.property(config, (c) => {
      const text = printIpvsadm(c);
      const back = mustParseIpvsadm(text);
      expect(printIpvsadm(back)).toBe(text);
      const strip = (x: IpvsConfig) => x.services.map(({ line: _l, ...vs }) => ({ ...vs, realServers: vs.realServers.map(({ line: _k, ...r }) => r) }));
      expect(strip(back)).toEqual(strip(c));
    }),
  );
});

test('netfilter + IPVS: the paths of any packet sum to exactly 1', () => {
  const rules = rulesText({
    mangle: ['-A PREROUTING -m statistic --mode random --probability 0.3 -j MARK --set-xmark 0x7/0xffffffff'],
    nat: [
      '-A PREROUTING -m statistic --mode random --probability 0.5 -j MARK --set-xmark 0x4000/0x4000',
      '-A POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE',
    ],
  });
  const netfilter = new Netfilter(netfilterFor(rules).ruleset, {
    node: {
      interfaces: [
        { name: 'lo', addresses: ['127.0.0.1/8'] },
        { name: 'eth0', addresses: ['192.168.0.2/24'] },
        { name: 'kube-ipvs0', addresses: ['10.96.0.10/32'] },
      ],
    },
  });
  fc.assert(
    fc.property(service, fc.boolean(), client, fc.integer({ min: 1024, max: 65535 }), (vs, fwmark, src, sport) => {
      const config: IpvsConfig = {
        services: [fwmark ? { ...vs, protocol: undefined, address: undefined, port: undefined, fwmark: 7 } : vs],
      };
      const r = evaluateWithIpvs(netfilter, { config, sysctls: { conntrack: true } }, { ...syn(src, sport), inInterface: 'eth0' }, { from: 'interface' });
      const sum = r.paths.reduce((a, p) => add(a, p.probability), ZERO);
      expect(equals(sum, ONE)).toBe(true);
      for (const p of r.paths) if (p.ipvs?.server) expect(p.ipvs.server.weight).toBeGreaterThan(0);
    }),
    { numRuns: 60 },
  );
});
