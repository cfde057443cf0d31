// One case per target, on the linear reference walk and the fast path.
import { describe, expect, it } from 'vitest';
import { makePacket, type Packet, type PacketInit } from '../../../src/net/packet.js';
import type { Injection, Outcome } from '../../../src/dataplane/netfilter/index.js';
import { netfilterFor, rulesText } from './helpers.js';

function outcomes(text: string, p: Packet, from: Injection['from'] = 'interface'): readonly Outcome[] {
  const [fast, linear] = (['fast', 'linear'] as const).map((mode) => netfilterFor(text, { mode }).evaluate(p, { from }).outcomes);
  expect(fast!.map(summary)).toEqual(linear!.map(summary));
  return fast!;
}

function summary(o: Outcome) {
  return { v: o.verdict, d: o.delivery, p: `${o.packet.src}:${o.packet.sport}>${o.packet.dst}:${o.packet.dport} m=${o.packet.mark}`, t: o.trace.map((s) => `${s.table}/${s.chain}/${s.index}/${s.verdict}`) };
}

function only(text: string, p: Packet, from: Injection['from'] = 'interface'): Outcome {
  const out = outcomes(text, p, from);
  expect(out).toHaveLength(1);
  return out[0]!;
}

const fwd = (extra: Partial<PacketInit> = {}) =>
  makePacket({ src: '203.0.113.5', dst: '10.180.0.7', proto: 'tcp', sport: 40000, dport: 8080, inInterface: 'eth0', ...extra });

describe('verdicts, jumps and policies', () => {
  it('ACCEPT ends the table, DROP and REJECT end the packet, unmatched packets get the policy', () => {
    expect(only(rulesText({ filter: ['-A FORWARD -p tcp -j ACCEPT', '-A FORWARD -j DROP'] }), fwd()).verdict).toBe('ACCEPT');
    expect(only(rulesText({ filter: ['-A FORWARD -p udp -j ACCEPT'] }, { 'filter/FORWARD': 'DROP' }), fwd()).verdict).toBe('DROP');
    const rej = only(rulesText({ filter: ['-A FORWARD -j REJECT'] }), fwd());
    expect(rej).toMatchObject({ verdict: 'REJECT', rejectWith: 'icmp-port-unreachable' });
    expect(only(rulesText({ filter: ['-A FORWARD -p tcp -j REJECT --reject-with tcp-reset'] }), fwd()).rejectWith).toBe('tcp-reset');
    const pol = only(rulesText({ filter: ['-A FORWARD -p udp -j ACCEPT'] }, { 'filter/FORWARD': 'DROP' }), fwd());
    expect(pol.trace.at(-1)).toMatchObject({ kind: 'policy', chain: 'FORWARD', verdict: 'DROP', text: '-P FORWARD DROP' });
  });

  it('jump returns to the caller at the end of a chain or on RETURN; goto does not come back', () => {
    const text = rulesText(
      {
        filter: [
          '-A FORWARD -j A',
          '-A FORWARD -g B',
          '-A FORWARD -j ACCEPT',
          '-A A -p udp -j DROP',
          '-A A -j RETURN',
          '-A A -j DROP',
          '-A B -p tcp -m tcp --dport 22 -j ACCEPT',
        ],
      },
      { 'filter/FORWARD': 'DROP' },
    );
    const o = only(text, fwd());
    // B falls off its end: goto returns to FORWARD's caller, i.e. the policy.
    expect(o.verdict).toBe('DROP');
    expect(o.trace.map((s) => `${s.chain}:${s.index}:${s.verdict}`)).toEqual(['FORWARD:0:JUMP:A', 'A:1:RETURN', 'FORWARD:1:GOTO:B', 'FORWARD:-1:DROP']);
    expect(only(text, fwd({ dport: 22 })).verdict).toBe('ACCEPT');
  });

  it('a rule without a target, LOG, NFLOG, TRACE and TCPMSS continue; LOG and NFLOG leave lines', () => {
    const text = rulesText({
      raw: ['-A PREROUTING -j TRACE'],
      mangle: ['-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu'],
      filter: ['-A FORWARD -m comment --comment "count only"', '-A FORWARD -j LOG --log-prefix "fw: "', '-A FORWARD -j NFLOG --nflog-group 5 --nflog-prefix x'],
    });
    const o = only(text, fwd());
    expect(o.verdict).toBe('ACCEPT');
    expect(o.logs).toEqual([
      'fw: IN=eth0 OUT=cni0 SRC=203.0.113.5 DST=10.180.0.7 PROTO=TCP SPT=40000 DPT=8080',
      'nflog group 5: xSRC=203.0.113.5 DST=10.180.0.7 PROTO=TCP SPT=40000 DPT=8080',
    ]);
    expect(o.trace.filter((s) => s.kind === 'rule').map((s) => s.verdict)).toEqual(['CONTINUE', 'CONTINUE', 'CONTINUE', 'CONTINUE', 'CONTINUE']);
  });
});

describe('NAT', () => {
  it('DNAT rewrites the destination (address and port, or the address alone) and ends the nat table', () => {
    const text = rulesText({
      nat: [
        '-A PREROUTING -d 172.30.0.1/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.180.0.7:8080',
        '-A PREROUTING -d 172.30.0.2/32 -j DNAT --to-destination 10.180.0.8',
        '-A PREROUTING -j DNAT --to-destination 10.180.0.9',
      ],
    });
    const a = only(text, fwd({ dst: '172.30.0.1', dport: 80 }));
    expect(a.packet).toMatchObject({ dst: '10.180.0.7', dport: 8080, outInterface: 'cni0' });
    expect(a.packet.ct).toMatchObject({ state: 'NEW', dnat: true, original: { dst: '172.30.0.1', dport: 80 }, reply: { src: '10.180.0.7', sport: 8080 } });
    expect(a.trace.filter((s) => s.table === 'nat').map((s) => s.verdict)).toEqual(['ACCEPT', 'ACCEPT']);
    expect(only(text, fwd({ dst: '172.30.0.2', dport: 81 })).packet).toMatchObject({ dst: '10.180.0.8', dport: 81 });
  });

  it('DNAT keeps the port when it lies in the range; --random and --persistent are accepted', () => {
    const text = rulesText({ nat: ['-A PREROUTING -p tcp -j DNAT --to-destination 10.180.0.7:8000-8100 --random --persistent'] });
    expect(only(text, fwd()).packet.dport).toBe(8080);
    expect(only(text, fwd({ dport: 9000 })).packet.dport).toBe(8000);
  });

  it('SNAT and MASQUERADE rewrite the source in POSTROUTING; MASQUERADE uses the out interface address', () => {
    const snat = only(rulesText({ nat: ['-A POSTROUTING -o cni0 -j SNAT --to-source 10.180.0.250'] }), fwd());
    expect(snat.packet).toMatchObject({ src: '10.180.0.250', sport: 40000 });
    expect(snat.packet.ct).toMatchObject({ snat: true, reply: { dst: '10.180.0.250', dport: 40000 } });
    const masq = only(rulesText({ nat: ['-A POSTROUTING -j MASQUERADE --random-fully'] }), fwd());
    expect(masq.packet.src).toBe('10.180.0.254');
    expect(masq.sourcePortMayVary).toBe(true);
    const ports = only(rulesText({ nat: ['-A POSTROUTING -p tcp -j MASQUERADE --to-ports 1024-2000'] }), fwd());
    expect(ports.packet.sport).toBe(1024);
  });

  it('REDIRECT sends to the input interface address; nat targets only act on the first packet', () => {
    const o = only(rulesText({ nat: ['-A PREROUTING -p tcp -m tcp --dport 8080 -j REDIRECT --to-ports 15001'] }), fwd());
    expect(o).toMatchObject({ delivery: 'local' });
    expect(o.packet).toMatchObject({ dst: '192.168.0.2', dport: 15001 });
  });
});

describe('marks and untracked packets', () => {
  it('MARK --set-xmark, --set-mark, --or-mark, --and-mark and --xor-mark compute (mark & ~mask) ^ value', () => {
    const mark = (op: string, start: number) => only(rulesText({ mangle: [`-A PREROUTING -j MARK ${op}`] }), fwd({ mark: start })).packet.mark;
    expect(mark('--set-xmark 0x1/0x3', 0xf)).toBe(0xd);
    expect(mark('--set-mark 0x10', 0xff)).toBe(0x10);
    expect(mark('--set-mark 0x10/0xf0', 0xff)).toBe(0x1f);
    expect(mark('--or-mark 0x4000', 0x1)).toBe(0x4001);
    expect(mark('--and-mark 0xff', 0x4001)).toBe(0x1);
    expect(mark('--xor-mark 0x4000', 0x4001)).toBe(0x1);
  });

  it('CONNMARK sets, saves and restores the connection mark', () => {
    const text = rulesText({
      mangle: [
        '-A PREROUTING -j MARK --set-mark 0x5',
        '-A PREROUTING -j CONNMARK --save-mark',
        '-A PREROUTING -j CONNMARK --or-mark 0x100',
        '-A PREROUTING -j MARK --set-mark 0x0',
        '-A PREROUTING -j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff',
      ],
      filter: ['-A FORWARD -m connmark --mark 0x105 -j ACCEPT', '-A FORWARD -j DROP'],
    });
    const o = only(text, fwd());
    expect(o.verdict).toBe('ACCEPT');
    expect(o.packet.mark).toBe(0x5);
    expect(o.packet.ct!.mark).toBe(0x105);
  });

  it('NOTRACK and CT --notrack leave the packet UNTRACKED: no NAT, ctstate UNTRACKED', () => {
    for (const target of ['NOTRACK', 'CT --notrack']) {
      const text = rulesText({
        raw: [`-A PREROUTING -p tcp -j ${target}`],
        nat: ['-A PREROUTING -j DNAT --to-destination 10.180.0.9'],
        filter: ['-A FORWARD -m conntrack --ctstate UNTRACKED -j ACCEPT', '-A FORWARD -j DROP'],
      });
      const o = only(text, fwd());
      expect(o.verdict).toBe('ACCEPT');
      expect(o.packet.dst).toBe('10.180.0.7');
      expect(o.packet.ct!.state).toBe('UNTRACKED');
    }
  });
});

describe('hooks in kernel order', () => {
  it('forwarded: PREROUTING raw, mangle, nat; FORWARD mangle, filter; POSTROUTING mangle, nat', () => {
    const tables = ['raw', 'mangle', 'nat', 'filter'] as const;
    const rules: Record<string, string[]> = {};
    for (const t of tables) rules[t] = [];
    const o = only(rulesText(rules), fwd());
    expect(o.trace.map((s) => `${s.hook}/${s.table}`)).toEqual([
      'PREROUTING/raw',
      'PREROUTING/mangle',
      'PREROUTING/nat',
      'FORWARD/mangle',
      'FORWARD/filter',
      'POSTROUTING/mangle',
      'POSTROUTING/nat',
    ]);
    expect(o.packet.ttl).toBe(63);
  });

  it('to the node: INPUT mangle, filter, then nat for the first packet', () => {
    const o = only(rulesText({ mangle: [], nat: [], filter: [] }), fwd({ dst: '192.168.0.2' }));
    expect(o.delivery).toBe('local');
    expect(o.trace.map((s) => `${s.hook}/${s.table}`)).toEqual(['PREROUTING/mangle', 'PREROUTING/nat', 'INPUT/mangle', 'INPUT/filter', 'INPUT/nat']);
  });

  it('locally generated: OUTPUT raw, mangle, nat, filter, then rerouting and POSTROUTING; loopback re-enters PREROUTING and INPUT without nat', () => {
    const text = rulesText({ raw: [], mangle: [], nat: ['-A OUTPUT -d 172.30.0.1/32 -p tcp -j DNAT --to-destination 127.0.0.1:8080'], filter: [] });
    const p = makePacket({ src: '192.168.0.2', dst: '172.30.0.1', proto: 'tcp', sport: 40000, dport: 80 });
    const o = only(text, p, 'local');
    expect(o.delivery).toBe('local');
    expect(o.trace.map((s) => `${s.hook}/${s.table}`)).toEqual([
      'OUTPUT/raw',
      'OUTPUT/mangle',
      'OUTPUT/nat',
      'OUTPUT/filter',
      'POSTROUTING/mangle',
      'POSTROUTING/nat',
      'PREROUTING/raw',
      'PREROUTING/mangle',
      'INPUT/mangle',
      'INPUT/filter',
    ]);
    // filter OUTPUT still sees the first route's interface; POSTROUTING the rerouted one.
    expect(o.trace[3]!.packet.outInterface).toBe('eth0');
    expect(o.trace[4]!.packet.outInterface).toBe('lo');
  });

  it('a destination without a route gives NO_ROUTE', () => {
    const nf = netfilterFor(rulesText({ filter: [] }), { node: { interfaces: [{ name: 'lo', addresses: ['127.0.0.1/8'] }] } });
    const o = nf.evaluate(fwd({ inInterface: 'lo' }), { from: 'interface' }).outcomes[0]!;
    expect(o.verdict).toBe('NO_ROUTE');
  });
});

describe('IPv6', () => {
  it('an ip6tables ruleset DNATs to a bracketed endpoint and masquerades from the out interface address', () => {
    const text = [
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      ':KUBE-SEP-A - [0:0]',
      '-A PREROUTING -d fd00:10:96::a/128 -p tcp -m tcp --dport 80 -j KUBE-SEP-A',
      '-A POSTROUTING ! -s fd00:10:244::/64 -j MASQUERADE',
      '-A KUBE-SEP-A -p tcp -m tcp -j DNAT --to-destination [fd00:10:244::5]:8080',
      'COMMIT',
      '*filter',
      ':FORWARD ACCEPT [0:0]',
      '-A FORWARD -p ipv6-icmp -j ACCEPT',
      '-A FORWARD -d fd00:10:244::/64 -p tcp -m tcp --dport 9 -j REJECT --reject-with icmp6-adm-prohibited',
      'COMMIT',
      '',
    ].join('\n');
    const node = {
      interfaces: [
        { name: 'lo', addresses: ['::1/128'] },
        { name: 'eth0', addresses: ['2001:db8::2/64'] },
        { name: 'cni0', addresses: ['fd00:10:244::1/64'] },
      ],
    };
    for (const mode of ['fast', 'linear'] as const) {
      const nf = netfilterFor(text, { mode, node });
      const p = makePacket({ src: '2001:db8::99', dst: 'fd00:10:96::a', proto: 'tcp', sport: 40000, dport: 80, inInterface: 'eth0' });
      const o = nf.evaluate(p, { from: 'interface' }).outcomes;
      expect(o).toHaveLength(1);
      expect(o[0]!.packet).toMatchObject({ family: 6, dst: 'fd00:10:244::5', dport: 8080, src: 'fd00:10:244::1', outInterface: 'cni0' });
      const rej = nf.evaluate(makePacket({ src: '2001:db8::99', dst: 'fd00:10:244::7', proto: 'tcp', sport: 1, dport: 9, inInterface: 'eth0' }), { from: 'interface' }).outcomes[0]!;
      expect(rej).toMatchObject({ verdict: 'REJECT', rejectWith: 'icmp6-adm-prohibited' });
    }
  });
});
