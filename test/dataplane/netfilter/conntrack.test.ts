// Connection tracking: only the first packet traverses nat; later packets get the recorded NAT,
// replies get it undone, and the state moves from NEW to ESTABLISHED once a reply is seen.
import { describe, expect, it } from 'vitest';
import { makePacket, TCP_ACK, TCP_RST } from '../../../src/net/packet.js';
import { replyPacket, type Netfilter } from '../../../src/dataplane/netfilter/index.js';
import { fixture, netfilterFor, rulesText } from './helpers.js';

// A ClusterIP with one endpoint, masquerade for sources outside 10.0.0.0/8 (kube-proxy's shape).
const SERVICE = rulesText({
  nat: [
    '-A PREROUTING -j KUBE-SERVICES',
    '-A OUTPUT -j KUBE-SERVICES',
    '-A POSTROUTING -j KUBE-POSTROUTING',
    '-A KUBE-SERVICES -d 172.30.0.41/32 -p tcp -m tcp --dport 80 -j KUBE-SVC',
    '-A KUBE-SVC ! -s 10.0.0.0/8 -d 172.30.0.41/32 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ',
    '-A KUBE-SVC -j KUBE-SEP',
    '-A KUBE-SEP -p tcp -m tcp -j DNAT --to-destination 10.180.0.7:8080',
    '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
    '-A KUBE-POSTROUTING -j MASQUERADE',
  ],
  filter: ['-A FORWARD -m conntrack --ctstate INVALID -j DROP', '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'],
});

const client = (extra = {}) => makePacket({ src: '203.0.113.5', dst: '172.30.0.41', proto: 'tcp', sport: 40000, dport: 80, inInterface: 'eth0', ...extra });

function established(nf: Netfilter) {
  const syn = nf.send(client(), { from: 'interface' });
  const synack = nf.send(replyPacket(syn), { from: 'interface' });
  return { syn, synack };
}

for (const mode of ['fast', 'linear'] as const) {
  describe(`conntrack (${mode})`, () => {
    it('un-NATs the reply: the endpoint answers the masquerade address, the client sees the ClusterIP', () => {
      const nf = netfilterFor(SERVICE, { mode });
      const { syn, synack } = established(nf);
      expect(syn.packet).toMatchObject({ src: '10.180.0.254', dst: '10.180.0.7', dport: 8080 });
      expect(nf.conntrack.size).toBe(1);
      expect(synack.verdict).toBe('ACCEPT');
      expect(synack.packet).toMatchObject({ src: '172.30.0.41', sport: 80, dst: '203.0.113.5', dport: 40000, outInterface: 'eth0' });
      expect(synack.packet.ct).toMatchObject({ state: 'ESTABLISHED', direction: 'REPLY' });
      // The reply never traverses the nat table.
      expect(synack.trace.some((s) => s.table === 'nat')).toBe(false);
      expect(synack.trace.map((s) => s.text)).toContain('-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
    });

    it('later packets of the connection skip nat, get the same NAT and are ESTABLISHED after a reply', () => {
      const nf = netfilterFor(SERVICE, { mode });
      const first = nf.send(client(), { from: 'interface' });
      const retransmit = nf.send(client(), { from: 'interface' });
      expect(retransmit.packet.ct!.state).toBe('NEW'); // no reply seen yet
      expect(retransmit.trace.some((s) => s.table === 'nat')).toBe(false);
      expect(retransmit.packet).toMatchObject({ src: first.packet.src, sport: first.packet.sport, dst: '10.180.0.7', dport: 8080 });
      nf.send(replyPacket(first), { from: 'interface' });
      const ack = nf.send(client({ tcpFlags: TCP_ACK }), { from: 'interface' });
      expect(ack.packet.ct!.state).toBe('ESTABLISHED');
      expect(ack.packet).toMatchObject({ dst: '10.180.0.7', dport: 8080, src: '10.180.0.254' });
    });

    it('a pod client is not masqueraded, and its reply is un-DNATed only', () => {
      const nf = netfilterFor(SERVICE, { mode });
      const syn = nf.send(client({ src: '10.0.1.5', inInterface: 'cni0' }), { from: 'interface' });
      expect(syn.packet).toMatchObject({ src: '10.0.1.5', dst: '10.180.0.7' });
      const reply = nf.send(replyPacket(syn), { from: 'interface' });
      expect(reply.packet).toMatchObject({ src: '172.30.0.41', sport: 80, dst: '10.0.1.5', dport: 40000 });
    });

    it('a packet with no connection that cannot start one is INVALID and dropped by KUBE-FORWARD-like rules', () => {
      const nf = netfilterFor(SERVICE, { mode });
      const rst = nf.evaluate(client({ dst: '10.180.0.7', tcpFlags: TCP_RST }), { from: 'interface' }).outcomes[0]!;
      expect(rst.verdict).toBe('DROP');
      expect(rst.packet.ct).toBeUndefined();
    });

    it('a node-originated connection to the ClusterIP is DNATed in OUTPUT and masqueraded', () => {
      const nf = netfilterFor(SERVICE, { mode });
      const syn = nf.send(makePacket({ src: '192.168.0.2', dst: '172.30.0.41', proto: 'tcp', sport: 50000, dport: 80 }), { from: 'local' });
      expect(syn).toMatchObject({ verdict: 'ACCEPT', delivery: 'output', outInterface: 'cni0' });
      expect(syn.packet).toMatchObject({ src: '10.180.0.254', dst: '10.180.0.7', dport: 8080 });
      const reply = nf.send(replyPacket(syn), { from: 'interface' });
      expect(reply).toMatchObject({ verdict: 'ACCEPT', delivery: 'local' });
      expect(reply.packet).toMatchObject({ src: '172.30.0.41', sport: 80, dst: '192.168.0.2', dport: 50000 });
    });

    it('masquerading two clients to one endpoint port keeps the reply tuples distinct', () => {
      const nf = netfilterFor(SERVICE, { mode });
      const a = nf.send(client({ src: '203.0.113.5' }), { from: 'interface' });
      const b = nf.send(client({ src: '203.0.113.6' }), { from: 'interface' });
      expect(a.packet.sport).toBe(40000);
      expect(b.packet.sport).not.toBe(40000);
      expect(b.sourcePortMayVary).toBe(true);
      const rb = nf.send(replyPacket(b), { from: 'interface' });
      expect(rb.packet).toMatchObject({ dst: '203.0.113.6', dport: 40000 });
    });

    it('an outcome that was dropped leaves no connection behind', () => {
      const nf = netfilterFor(rulesText({ filter: ['-A FORWARD -j DROP'] }), { mode });
      nf.send(client({ dst: '10.180.0.7' }), { from: 'interface' });
      expect(nf.conntrack.size).toBe(0);
    });

    it('a kube-proxy dump: NodePort traffic (here without an EXT chain, so not masqueraded) is un-DNATed on the way back', () => {
      const nf = netfilterFor(fixture('kube-proxy.nft.save'), { mode });
      const syn = nf.send(makePacket({ src: '203.0.113.9', dst: '192.168.0.2', proto: 'tcp', sport: 33000, dport: 30003, inInterface: 'eth0' }), { from: 'interface' });
      expect(syn.packet).toMatchObject({ dst: '10.180.0.3', dport: 80, src: '203.0.113.9' });
      const reply = nf.send(replyPacket(syn), { from: 'interface' });
      expect(reply.packet).toMatchObject({ src: '192.168.0.2', sport: 30003, dst: '203.0.113.9', dport: 33000 });
    });
  });
}
