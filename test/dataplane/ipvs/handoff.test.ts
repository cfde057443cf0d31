// The netfilter <-> IPVS hand-off (ip_vs_core.c hook priorities, ip_vs_xmit.c
// ip_vs_nat_send_or_cont): IPVS takes a packet for a local VIP at LOCAL_IN after filter INPUT,
// translates it to the real server and sends it through LOCAL_OUT, where nat OUTPUT does nothing
// (the destination manip already exists) and nat POSTROUTING runs (the source manip does not),
// so kube-proxy's KUBE-POSTROUTING masquerade applies there.
import { describe, expect, test } from 'vitest';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { makePacket, TCP_ACK, TCP_SYN, type PacketInit } from '../../../src/net/packet.js';
import { ServiceModel, renderIpvs } from '../../../src/dataplane/kubeproxy/index.js';
import { nodeRuleset } from '../../../src/dataplane/kubeproxy/save.js';
import { add, formatFraction, Netfilter, parseIpsetSave, ZERO, type NodeNetwork, type TraceStep } from '../../../src/dataplane/netfilter/index.js';
import { evaluateWithIpvs, mustParseIpvsadm, type IpvsNode, type IpvsPath, type IpvsStep } from '../../../src/dataplane/ipvs/index.js';
import { TEST_ENV, ep, makeService, makeSlice, testNode, TEST_NODE } from '../kubeproxy/helpers.js';
import { netfilterFor, rulesText } from '../netfilter/helpers.js';

const KUBE_PROXY_SYSCTLS = { conntrack: true, expireQuiescentTemplate: true } as const; // what kube-proxy sets

/** The test node: eth0 192.168.0.2/24, pods on cni0 10.180.0.0/24, the ClusterIPs on kube-ipvs0. */
function nodeNetwork(vips: readonly string[]): NodeNetwork {
  return {
    interfaces: [
      { name: 'lo', addresses: ['127.0.0.1/8'] },
      { name: 'eth0', addresses: ['192.168.0.2/24'] },
      { name: 'cni0', addresses: ['10.180.0.254/24'] },
      { name: 'kube-ipvs0', addresses: vips.map((v) => `${v}/32`) },
    ],
    defaultInterface: 'eth0',
  };
}

function kubeProxyNode(services: Service[], slices: EndpointSlice[], sysctls: IpvsNode['sysctls'] = KUBE_PROXY_SYSCTLS) {
  const model = new ServiceModel('IPv4');
  model.update(services, slices);
  const r = renderIpvs(model, testNode(), TEST_ENV);
  const sets = parseIpsetSave(r.ipsetSaveText);
  if (!sets.ok) throw new Error('ipsets do not parse');
  const netfilter = new Netfilter(nodeRuleset(r.iptables, 'ipvs'), { node: nodeNetwork(r.dummyAddresses), ipsets: sets.store });
  const ipvs: IpvsNode = { config: mustParseIpvsadm(r.ipvsadmText), sysctls };
  return { netfilter, ipvs };
}

const web = makeService('shop', 'web', (s) => {
  s.spec!.clusterIP = '172.30.0.41';
  s.spec!.ports = [{ name: 'http', port: 80, protocol: 'TCP' }];
});
const webSlice = makeSlice('shop', 'web', 1, [ep('10.180.0.1', { nodeName: TEST_NODE }), ep('10.180.1.7', { nodeName: 'remote' })], [{ name: 'http', port: 8080 }]);
const empty = makeService('shop', 'empty', (s) => {
  s.spec!.clusterIP = '172.30.0.50';
  s.spec!.ports = [{ name: 'http', port: 80, protocol: 'TCP' }];
});

function packet(init: Partial<PacketInit> & { src: string }) {
  return makePacket({ dst: '172.30.0.41', proto: 'tcp', sport: 40000, dport: 80, tcpFlags: TCP_SYN, ...init });
}

function total(paths: readonly IpvsPath[]) {
  return paths.reduce((a, p) => add(a, p.probability), ZERO);
}

function summary(paths: readonly IpvsPath[]) {
  return paths.map((p) => `${formatFraction(p.probability)} ${p.verdict} ${p.packet.src}:${p.packet.sport} -> ${p.packet.dst}:${p.packet.dport}${p.outInterface ? ` via ${p.outInterface}` : ''}`);
}

function netfilterSteps(p: IpvsPath): TraceStep[] {
  return p.steps.filter((s): s is TraceStep => s.kind !== 'ipvs');
}

describe('a ClusterIP served by IPVS (kube-proxy IPVS mode)', () => {
  const { netfilter, ipvs } = kubeProxyNode([web], [webSlice]);

  test('from outside the cluster CIDR: marked in nat PREROUTING, scheduled rr 1/2 each, masqueraded in POSTROUTING', () => {
    const r = evaluateWithIpvs(netfilter, ipvs, packet({ src: '192.168.0.99', inInterface: 'eth0' }), { from: 'interface' });
    expect(summary(r.paths)).toEqual([
      '1/2 ACCEPT 10.180.0.254:40000 -> 10.180.0.1:8080 via cni0',
      '1/2 ACCEPT 192.168.0.2:40000 -> 10.180.1.7:8080 via eth0',
    ]);
    expect(formatFraction(total(r.paths))).toBe('1');
    const p = r.paths[0]!;
    const ipvsStep = p.steps.find((s): s is IpvsStep => s.kind === 'ipvs')!;
    expect(ipvsStep).toMatchObject({ hook: 'INPUT', scheduler: 'rr', verdict: 'MASQ', text: '-A -t 172.30.0.41:80 -s rr' });
    expect(ipvsStep.serverText).toBe('-a -t 172.30.0.41:80 -r 10.180.0.1:8080 -m -w 1');
    expect(ipvsStep.reason).toMatch(/round robin/);
    // IPVS took the packet after filter INPUT (KUBE-IPVS-FILTER let the ClusterIP through) ...
    const before = p.steps.slice(0, p.steps.indexOf(ipvsStep)) as TraceStep[];
    expect(before.map((s) => `${s.hook}/${s.table}`)).toContain('INPUT/filter');
    expect(before.some((s) => s.hook === 'INPUT' && s.table === 'nat')).toBe(false);
    expect(before.map((s) => s.text)).toContain('-A KUBE-SERVICES ! -s 10.0.0.0/8 -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ');
    // ... and sent it through OUTPUT without nat, then POSTROUTING with nat.
    const after = p.steps.slice(p.steps.indexOf(ipvsStep) + 1) as TraceStep[];
    expect(after.some((s) => s.hook === 'OUTPUT' && s.table === 'nat')).toBe(false);
    expect(after.some((s) => s.hook === 'OUTPUT' && s.table === 'filter')).toBe(true);
    expect(after.map((s) => s.text)).toContain('-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE');
    // The connection: original client -> VIP, replies from the endpoint to the masquerade address.
    expect(p.packet.ct).toMatchObject({
      state: 'NEW',
      original: { src: '192.168.0.99', dst: '172.30.0.41', dport: 80 },
      reply: { src: '10.180.0.1', sport: 8080, dst: '10.180.0.254', dport: 40000 },
      snat: true,
    });
  });

  test('from a pod: no mark, so no SNAT - the endpoint sees the pod address', () => {
    const r = evaluateWithIpvs(netfilter, ipvs, packet({ src: '10.180.0.5', inInterface: 'cni0' }), { from: 'interface' });
    expect(summary(r.paths)).toEqual(['1/2 ACCEPT 10.180.0.5:40000 -> 10.180.0.1:8080 via cni0', '1/2 ACCEPT 10.180.0.5:40000 -> 10.180.1.7:8080 via eth0']);
    for (const p of r.paths) expect(netfilterSteps(p).some((s) => s.text.includes('MASQUERADE'))).toBe(false);
  });

  test('with net.ipv4.vs.conntrack=0 the sent packet is untracked: no nat POSTROUTING, no SNAT even from outside', () => {
    const plain = kubeProxyNode([web], [webSlice], { conntrack: false });
    const r = evaluateWithIpvs(plain.netfilter, plain.ipvs, packet({ src: '192.168.0.99', inInterface: 'eth0' }), { from: 'interface' });
    expect(summary(r.paths)).toEqual(['1/2 ACCEPT 192.168.0.99:40000 -> 10.180.0.1:8080 via cni0', '1/2 ACCEPT 192.168.0.99:40000 -> 10.180.1.7:8080 via eth0']);
    expect(r.paths[0]!.packet.ct!.state).toBe('UNTRACKED');
  });

  test('from the node itself: nat OUTPUT runs first, IPVS takes the packet after it (LOCAL_OUT), then POSTROUTING masquerades', () => {
    const r = evaluateWithIpvs(netfilter, ipvs, packet({ src: '192.168.0.2' }), { from: 'local' });
    expect(summary(r.paths)).toEqual(['1/2 ACCEPT 10.180.0.254:40000 -> 10.180.0.1:8080 via cni0', '1/2 ACCEPT 192.168.0.2:40000 -> 10.180.1.7:8080 via eth0']);
    const p = r.paths[0]!;
    const at = p.steps.findIndex((s) => s.kind === 'ipvs');
    expect((p.steps[at] as IpvsStep).hook).toBe('OUTPUT');
    expect((p.steps.slice(0, at) as TraceStep[]).some((s) => s.hook === 'OUTPUT' && s.table === 'nat')).toBe(true);
    expect((p.steps.slice(at + 1) as TraceStep[]).some((s) => s.hook === 'OUTPUT' && s.table === 'nat')).toBe(false);
  });

  test('a TCP segment without SYN and no IPVS connection is not scheduled: it goes to the local stack', () => {
    const r = evaluateWithIpvs(netfilter, ipvs, packet({ src: '192.168.0.99', inInterface: 'eth0', tcpFlags: TCP_ACK }), { from: 'interface' });
    expect(r.paths.map((p) => [p.verdict, p.delivery, p.ipvs])).toEqual([['ACCEPT', 'local', undefined]]);
  });

  test('an existing IPVS connection keeps its real server', () => {
    const known: IpvsNode = {
      ...ipvs,
      state: { connections: [{ protocol: 'tcp', client: '192.168.0.99', clientPort: 40000, vip: '172.30.0.41', vport: 80, server: '10.180.1.7:8080' }] },
    };
    const r = evaluateWithIpvs(netfilter, known, packet({ src: '192.168.0.99', inInterface: 'eth0', tcpFlags: TCP_ACK }), { from: 'interface' });
    expect(r.paths.map((p) => [formatFraction(p.probability), p.packet.dst, p.ipvs?.reason])).toEqual([['1', '10.180.1.7', 'existing IPVS connection to 10.180.1.7:8080']]);
  });

  test('a virtual service without real servers: the packet is refused with ICMP port unreachable', () => {
    const none = kubeProxyNode([empty], []);
    const r = evaluateWithIpvs(none.netfilter, none.ipvs, packet({ src: '192.168.0.99', inInterface: 'eth0', dst: '172.30.0.50' }), { from: 'interface' });
    expect(r.paths.map((p) => [formatFraction(p.probability), p.verdict, p.rejectWith, p.ipvs?.verdict])).toEqual([
      ['1', 'REJECT', 'icmp-port-unreachable', 'REJECT'],
    ]);
  });
});

describe('probabilities multiply across the two walks', () => {
  // mangle PREROUTING marks a quarter of the packets 7; fwmark service 7 has one server, the VIP
  // service balances rr over two: 1/4, 3/8, 3/8.
  const rules = rulesText({
    mangle: ['-A PREROUTING -m statistic --mode random --probability 0.25 -j MARK --set-xmark 0x7/0xffffffff'],
    filter: ['-A OUTPUT -d 10.180.0.3/32 -j DROP'],
    nat: ['-A OUTPUT -d 10.180.0.0/24 -j DNAT --to-destination 10.9.9.9', '-A POSTROUTING -s 203.0.113.0/24 -j SNAT --to-source 192.168.0.2'],
  });
  const nf = new Netfilter(netfilterFor(rules).ruleset, { node: nodeNetwork(['172.30.0.41']) });
  const ipvs: IpvsNode = {
    config: mustParseIpvsadm(
      [
        '-A -f 7 -s rr',
        '-a -f 7 -r 10.180.0.9:8080 -m -w 1',
        '-A -t 172.30.0.41:80 -s rr',
        '-a -t 172.30.0.41:80 -r 10.180.0.1:8080 -m -w 1',
        '-a -t 172.30.0.41:80 -r 10.180.0.3:8080 -m -w 1',
      ].join('\n'),
    ),
    sysctls: KUBE_PROXY_SYSCTLS,
  };

  test('the fwmark service is looked up first; filter OUTPUT applies to the sent packet, nat OUTPUT does not', () => {
    const r = evaluateWithIpvs(nf, ipvs, packet({ src: '203.0.113.9', inInterface: 'eth0' }), { from: 'interface' });
    expect(summary(r.paths)).toEqual([
      '1/4 ACCEPT 192.168.0.2:40000 -> 10.180.0.9:8080 via cni0',
      '3/8 ACCEPT 192.168.0.2:40000 -> 10.180.0.1:8080 via cni0',
      '3/8 DROP 203.0.113.9:40000 -> 10.180.0.3:8080',
    ]);
    expect(formatFraction(total(r.paths))).toBe('1');
    expect(r.paths[0]!.ipvs!.text).toBe('-A -f 7 -s rr');
    expect(r.paths.every((p) => Math.abs(p.probabilityValue - Number(p.probability.num) / Number(p.probability.den)) < 1e-15)).toBe(true);
  });
});

describe('the netfilter side: Injection from ipvs', () => {
  const rules = rulesText({
    nat: ['-A OUTPUT -j DNAT --to-destination 10.9.9.9', '-A INPUT -j SNAT --to-source 192.168.0.7'],
    filter: ['-A OUTPUT -p tcp --dport 8080 -j ACCEPT'],
  });
  const nf = new Netfilter(netfilterFor(rules).ruleset, { node: nodeNetwork([]) });
  const ct = (src: string) => ({
    state: 'NEW' as const,
    direction: 'ORIGINAL' as const,
    original: { proto: 'tcp' as const, src, sport: 40000, dst: '172.30.0.41', dport: 80 },
    reply: { proto: 'tcp' as const, src: '10.180.0.1', sport: 8080, dst: src, dport: 40000 },
    seenReply: false,
    assured: false,
    confirmed: false,
    snat: false,
    dnat: false,
    mark: 0,
  });

  test('a remote real server: routed to it, OUTPUT filter runs, nat OUTPUT does not', () => {
    const sent = makePacket({ src: '203.0.113.9', dst: '10.180.0.1', proto: 'tcp', sport: 40000, dport: 8080, inInterface: 'eth0', ct: ct('203.0.113.9') });
    const [o] = nf.evaluate(sent, { from: 'ipvs' }).outcomes;
    expect(o).toMatchObject({ verdict: 'ACCEPT', delivery: 'output', outInterface: 'cni0' });
    expect(o!.packet.dst).toBe('10.180.0.1');
    expect(o!.trace.map((s) => `${s.hook}/${s.table}/${s.verdict}`)).toEqual(['OUTPUT/filter/ACCEPT', 'POSTROUTING/nat/ACCEPT']);
  });

  test('a real server on the node itself: the packet goes on up LOCAL_IN (nat INPUT) to the local stack', () => {
    const sent = makePacket({ src: '203.0.113.9', dst: '192.168.0.2', proto: 'tcp', sport: 40000, dport: 8080, inInterface: 'eth0', ct: ct('203.0.113.9') });
    const [o] = nf.evaluate(sent, { from: 'ipvs' }).outcomes;
    expect(o).toMatchObject({ verdict: 'ACCEPT', delivery: 'local' });
    expect(o!.packet.src).toBe('192.168.0.7');
    expect(o!.trace.map((s) => `${s.hook}/${s.table}`)).toEqual(['INPUT/nat']);
  });
});
