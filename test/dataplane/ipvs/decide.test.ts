// ip_vs_in / ip_vs_schedule / ip_vs_sched_persist / ip_vs_leave: which packets IPVS schedules,
// persistence templates, and what happens without a usable real server.
import { describe, expect, test } from 'vitest';
import { makePacket, TCP_ACK, TCP_RST, TCP_SYN, type PacketInit } from '../../../src/net/packet.js';
import { formatFraction } from '../../../src/dataplane/netfilter/probability.js';
import { decide, findService, ipvsClaims, mustParseIpvsadm, type IpvsDecision, type IpvsNode, type PersistenceTemplate } from '../../../src/dataplane/ipvs/index.js';

const CONFIG = mustParseIpvsadm(
  [
    '-A -t 10.96.0.20:443 -s rr -p 10800 -M 255.255.255.0',
    '-a -t 10.96.0.20:443 -r 10.244.1.1:8443 -m -w 1',
    '-a -t 10.96.0.20:443 -r 10.244.1.2:8443 -m -w 0',
    '-a -t 10.96.0.20:443 -r 10.244.1.3:8443 -m -w 1',
    '-A -t 10.96.0.30:0 -s rr',
    '-a -t 10.96.0.30:0 -r 10.244.2.1:0 -m -w 1',
    '-A -t 10.96.0.31:0 -s rr -p 60',
    '-a -t 10.96.0.31:0 -r 10.244.2.1:0 -m -w 1',
    '-A -u 10.96.0.10:53 -s rr',
    '-a -u 10.96.0.10:53 -r 10.244.0.3:53 -m -w 1',
    '-A -t 10.96.0.10:53 -s rr',
    '-a -t 10.96.0.10:53 -r 10.244.0.3:53 -m -w 1',
    '-A -f 9 -s rr',
    '-a -f 9 -r 10.244.3.3:0 -m -w 1',
  ].join('\n'),
);

function pkt(init: Partial<PacketInit> & { dst: string; dport: number }) {
  return makePacket({ src: '198.18.1.10', proto: 'tcp', sport: 40000, tcpFlags: TCP_SYN, ...init });
}

function outcome(d: IpvsDecision): string[] {
  if (d.kind === 'pass') return [`pass: ${d.reason}`];
  return d.branches.map((b) => `${formatFraction(b.probability)} ${b.server ? `${b.server.address}:${b.server.port}` : 'refused'}`);
}

describe('which virtual service', () => {
  test('protocol, address and port; then a port-0 service on the address; a mark selects its fwmark service first', () => {
    expect(findService(CONFIG, pkt({ dst: '10.96.0.10', dport: 53, proto: 'udp' }))?.protocol).toBe('udp');
    expect(findService(CONFIG, pkt({ dst: '10.96.0.10', dport: 53 }))?.protocol).toBe('tcp');
    expect(findService(CONFIG, pkt({ dst: '10.96.0.31', dport: 8080 }))?.port).toBe(0);
    expect(findService(CONFIG, pkt({ dst: '10.96.0.10', dport: 53, mark: 9 }))?.fwmark).toBe(9);
    expect(findService(CONFIG, pkt({ dst: '10.96.0.10', dport: 54 }))).toBeUndefined();
  });

  test('packets that may start a connection are taken: TCP SYN without RST, UDP; not a bare ACK, a RST or ICMP', () => {
    const node: IpvsNode = { config: CONFIG };
    expect(ipvsClaims(node, pkt({ dst: '10.96.0.10', dport: 53 }))).toBe(true);
    expect(ipvsClaims(node, pkt({ dst: '10.96.0.10', dport: 53, proto: 'udp' }))).toBe(true);
    expect(ipvsClaims(node, pkt({ dst: '10.96.0.10', dport: 53, tcpFlags: TCP_ACK }))).toBe(false);
    expect(ipvsClaims(node, pkt({ dst: '10.96.0.10', dport: 53, tcpFlags: TCP_SYN | TCP_RST }))).toBe(false);
    expect(ipvsClaims(node, makePacket({ src: '198.18.1.10', dst: '10.96.0.10', proto: 'icmp', icmpType: 8 }))).toBe(false);
    expect(ipvsClaims({ config: CONFIG, sysctls: { sloppyTcp: true } }, pkt({ dst: '10.96.0.10', dport: 53, tcpFlags: TCP_ACK }))).toBe(true);
  });
});

describe('no usable real server', () => {
  test('a non-persistent port-0 service reached on some port refuses (only persistent services may have port 0)', () => {
    expect(outcome(decide({ config: CONFIG }, pkt({ dst: '10.96.0.30', dport: 8080 })))).toEqual(['1 refused']);
    expect(outcome(decide({ config: CONFIG }, pkt({ dst: '10.96.0.31', dport: 8080 })))).toEqual(['1 10.244.2.1:0']);
  });

  test('weight 0 everywhere refuses', () => {
    const drained = mustParseIpvsadm('-A -u 10.96.0.10:53 -s rr\n-a -u 10.96.0.10:53 -r 10.244.0.3:53 -m -w 0\n');
    expect(outcome(decide({ config: drained }, pkt({ dst: '10.96.0.10', dport: 53, proto: 'udp' })))).toEqual(['1 refused']);
  });
});

describe('persistence (-p 10800 -M 255.255.255.0)', () => {
  const key = 'tcp/10.96.0.20:443';
  const to = (server: string, extra: Partial<PersistenceTemplate> = {}): PersistenceTemplate => ({ service: key, client: '198.18.1.10', server, ...extra });
  const syn = (src = '198.18.1.10') => pkt({ src, dst: '10.96.0.20', dport: 443 });

  test('no template: the scheduler decides (rr over the weight > 0 servers) and a template is created', () => {
    const d = decide({ config: CONFIG }, syn(), 100);
    expect(outcome(d)).toEqual(['1/2 10.244.1.1:8443', '1/2 10.244.1.3:8443']);
    if (d.kind !== 'forward') throw new Error('not forwarded');
    expect(d.branches[0]!.template).toEqual({ service: key, client: '198.18.1.10', server: '10.244.1.1:8443', expires: 10900 });
  });

  test('a template pins the client, and every client of the same /24 (the -M granularity)', () => {
    const node: IpvsNode = { config: CONFIG, state: { templates: [to('10.244.1.3:8443')] } };
    expect(outcome(decide(node, syn()))).toEqual(['1 10.244.1.3:8443']);
    expect(outcome(decide(node, syn('198.18.1.77')))).toEqual(['1 10.244.1.3:8443']);
    expect(outcome(decide(node, syn('198.18.2.10')))).toEqual(['1/2 10.244.1.1:8443', '1/2 10.244.1.3:8443']);
  });

  test('a template to a weight-0 server pins unless expire_quiescent_template is set (kube-proxy sets it)', () => {
    const state = { templates: [to('10.244.1.2:8443')] };
    expect(outcome(decide({ config: CONFIG, state }, syn()))).toEqual(['1 10.244.1.2:8443']);
    expect(outcome(decide({ config: CONFIG, state, sysctls: { expireQuiescentTemplate: true } }, syn()))).toEqual(['1/2 10.244.1.1:8443', '1/2 10.244.1.3:8443']);
  });

  test('an expired template, or one to a removed server, does not pin', () => {
    expect(outcome(decide({ config: CONFIG, state: { templates: [to('10.244.1.3:8443', { expires: 50 })] } }, syn(), 60))).toHaveLength(2);
    expect(outcome(decide({ config: CONFIG, state: { templates: [to('10.244.9.9:8443')] } }, syn()))).toHaveLength(2);
  });
});
