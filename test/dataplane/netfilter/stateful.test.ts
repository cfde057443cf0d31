// Stateful matches: `recent` (kube-proxy's ClientIP affinity, rate limits) and `statistic --mode
// nth`. State changes only when an outcome is committed.
import { describe, expect, it } from 'vitest';
import { makePacket } from '../../../src/net/packet.js';
import { RECENT_LIST_TOT, type Netfilter } from '../../../src/dataplane/netfilter/index.js';
import { netfilterFor, rulesText } from './helpers.js';

const AFFINITY = rulesText({
  nat: [
    '-A PREROUTING -d 172.30.0.30/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-S',
    '-A KUBE-SVC-S -m comment --comment "default/sticky:http -> 10.1.0.1:80" -m recent --name KUBE-SEP-A --rcheck --seconds 10800 --reap -j KUBE-SEP-A',
    '-A KUBE-SVC-S -m comment --comment "default/sticky:http -> 10.1.0.2:80" -m recent --name KUBE-SEP-B --rcheck --seconds 10800 --reap -j KUBE-SEP-B',
    '-A KUBE-SVC-S -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-A',
    '-A KUBE-SVC-S -j KUBE-SEP-B',
    '-A KUBE-SEP-A -m recent --set --name KUBE-SEP-A -p tcp -m tcp -j DNAT --to-destination 10.1.0.1:80',
    '-A KUBE-SEP-B -m recent --set --name KUBE-SEP-B -p tcp -m tcp -j DNAT --to-destination 10.1.0.2:80',
  ],
});

let sport = 30000;
const conn = (src: string, dst = '172.30.0.30', dport = 80) => makePacket({ src, dst, proto: 'tcp', sport: sport++, dport, inInterface: 'eth0' });

function endpoints(nf: Netfilter, src: string, now: number): string[] {
  return nf.evaluate(conn(src), { from: 'interface', now }).outcomes.map((o) => o.packet.dst);
}

for (const mode of ['fast', 'linear'] as const) {
  describe(`recent (${mode})`, () => {
    it('ClientIP affinity: after a connection is committed, the client sticks to its endpoint until the timeout', () => {
      const nf = netfilterFor(AFFINITY, { mode });
      expect(endpoints(nf, '203.0.113.5', 0)).toEqual(['10.1.0.1', '10.1.0.2']);
      // Evaluating alone changes nothing.
      expect(endpoints(nf, '203.0.113.5', 0)).toEqual(['10.1.0.1', '10.1.0.2']);
      nf.send(conn('203.0.113.5'), { from: 'interface', now: 0 }, () => 1);
      expect(endpoints(nf, '203.0.113.5', 100)).toEqual(['10.1.0.2']);
      expect(endpoints(nf, '203.0.113.6', 100)).toEqual(['10.1.0.1', '10.1.0.2']);
      // Each new connection refreshes the entry (--set in the SEP chain).
      nf.send(conn('203.0.113.5'), { from: 'interface', now: 10000 });
      expect(endpoints(nf, '203.0.113.5', 20000)).toEqual(['10.1.0.2']);
      expect(endpoints(nf, '203.0.113.5', 20801)).toEqual(['10.1.0.1', '10.1.0.2']);
      expect(nf.recentState.get('KUBE-SEP-B')!.size).toBe(1);
    });

    it('--update --hitcount limits a source to three new connections a minute; --remove forgets it', () => {
      const nf = netfilterFor(
        rulesText({
          filter: [
            '-A INPUT -p tcp -m tcp --dport 22 -m recent --update --seconds 60 --hitcount 3 --name ssh -j DROP',
            '-A INPUT -p tcp -m tcp --dport 22 -m recent --set --name ssh',
            '-A INPUT -p tcp -m tcp --dport 2222 -m recent --remove --name ssh -j ACCEPT',
          ],
        }),
        { mode },
      );
      const ssh = () => nf.send(conn('203.0.113.5', '192.168.0.2', 22), { from: 'interface', now: 5 }).verdict;
      expect([ssh(), ssh(), ssh(), ssh(), ssh()]).toEqual(['ACCEPT', 'ACCEPT', 'ACCEPT', 'DROP', 'DROP']);
      const later = nf.send(conn('203.0.113.5', '192.168.0.2', 22), { from: 'interface', now: 100 });
      expect(later.verdict).toBe('ACCEPT');
      nf.send(conn('203.0.113.5', '192.168.0.2', 2222), { from: 'interface', now: 100 });
      expect(nf.recentState.get('ssh')!.size).toBe(0);
    });

    it('--mask groups sources, --rdest keys by destination', () => {
      const nf = netfilterFor(
        rulesText({
          filter: [
            '-A FORWARD -m recent --rcheck --name net24 --mask 255.255.255.0 -j DROP',
            '-A FORWARD -m recent --set --name net24 --mask 255.255.255.0',
            '-A INPUT -m recent --rcheck --name dst --rdest -j DROP',
            '-A INPUT -m recent --set --name dst --rdest',
          ],
        }),
        { mode },
      );
      const fwd = (src: string) => nf.send(makePacket({ src, dst: '10.180.0.7', proto: 'udp', sport: 1, dport: 2, inInterface: 'eth0' }), { from: 'interface' }).verdict;
      expect([fwd('203.0.113.5'), fwd('203.0.113.77'), fwd('203.0.114.5')]).toEqual(['ACCEPT', 'DROP', 'ACCEPT']);
      const input = (src: string) => nf.send(makePacket({ src, dst: '192.168.0.2', proto: 'udp', sport: 1, dport: 2, inInterface: 'eth0' }), { from: 'interface' }).verdict;
      expect([input('198.51.100.1'), input('198.51.100.2')]).toEqual(['ACCEPT', 'DROP']);
    });

    it(`a table keeps at most ${RECENT_LIST_TOT} addresses, evicting the least recently updated`, () => {
      const nf = netfilterFor(rulesText({ filter: ['-A INPUT -m recent --set --name many'] }), { mode });
      for (let i = 0; i <= RECENT_LIST_TOT; i++) nf.send(conn(`198.51.100.${i + 1}`, '192.168.0.2', 9), { from: 'interface', now: i });
      const t = nf.recentState.get('many')!;
      expect(t.size).toBe(RECENT_LIST_TOT);
      expect(t.has('4/3325256705')).toBe(false); // 198.51.100.1
    });
  });

  describe(`statistic --mode nth (${mode})`, () => {
    it('--every 3 --packet 0 fires on packets 0, 3, 6, ... (the counter moves only when committed)', () => {
      const nf = netfilterFor(rulesText({ filter: ['-A FORWARD -m statistic --mode nth --every 3 --packet 0 -j DROP'] }), { mode });
      const p = makePacket({ src: '203.0.113.5', dst: '10.180.0.7', proto: 'udp', sport: 1, dport: 2, inInterface: 'eth0' });
      expect(nf.evaluate(p, { from: 'interface' }).outcomes[0]!.verdict).toBe('DROP');
      expect(nf.evaluate(p, { from: 'interface' }).outcomes[0]!.verdict).toBe('DROP');
      const seq = Array.from({ length: 7 }, () => nf.send(p, { from: 'interface' }).verdict);
      expect(seq).toEqual(['DROP', 'ACCEPT', 'ACCEPT', 'DROP', 'ACCEPT', 'ACCEPT', 'DROP']);
    });

    it('--packet 1 of --every 2 fires on packets 1, 3, ...', () => {
      const nf = netfilterFor(rulesText({ filter: ['-A FORWARD -m statistic --mode nth --every 2 --packet 1 -j DROP'] }), { mode });
      const p = makePacket({ src: '203.0.113.5', dst: '10.180.0.7', proto: 'udp', sport: 1, dport: 2, inInterface: 'eth0' });
      expect(Array.from({ length: 4 }, () => nf.send(p, { from: 'interface' }).verdict)).toEqual(['ACCEPT', 'DROP', 'ACCEPT', 'DROP']);
    });
  });
}
