// One case per match: a rule `<match> -j DROP` in filter, the packet dropped iff the match holds.
// Every case runs on the linear reference walk and the fast path, which must agree.
import { describe, expect, it } from 'vitest';
import { makePacket, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type Packet, type PacketInit } from '../../../src/net/packet.js';
import { applyRestore, IpsetStore, Netfilter, parseIpsetSave, parseIptablesSave, printCanonical } from '../../../src/dataplane/netfilter/index.js';
import { netfilterFor, rulesText } from './helpers.js';

interface FireOptions {
  readonly chain?: 'FORWARD' | 'INPUT' | 'OUTPUT' | 'PREROUTING';
  readonly table?: 'filter' | 'raw' | 'mangle';
  readonly ipsets?: string;
}

/** Whether `<spec> -j DROP` drops the packet (asserting the fast path agrees with the linear walk). */
function fires(spec: string, p: Packet, o: FireOptions = {}): boolean {
  const chain = o.chain ?? 'FORWARD';
  const table = o.table ?? (chain === 'PREROUTING' ? 'mangle' : 'filter');
  const text = rulesText({ [table]: [`-A ${chain} ${spec} -j DROP`] });
  const ipsets = o.ipsets ? parseIpsetSave(o.ipsets) : undefined;
  const store = ipsets?.ok ? ipsets.store : new IpsetStore();
  const from = chain === 'OUTPUT' ? 'local' : 'interface';
  const verdicts = (['fast', 'linear'] as const).map((mode) => netfilterFor(text, { mode, ipsets: store }).evaluate(p, { from }).outcomes[0]!.verdict);
  expect(verdicts[0]).toBe(verdicts[1]);
  return verdicts[0] === 'DROP';
}

/** A packet forwarded by the node: in on eth0 from outside, out on cni0 to a pod. */
function fwd(extra: Partial<PacketInit> = {}): Packet {
  return makePacket({ src: '203.0.113.5', dst: '10.180.0.7', proto: 'tcp', sport: 40000, dport: 8080, inInterface: 'eth0', ...extra });
}

describe('IP header matches', () => {
  it('-s and -d match networks, negated with !', () => {
    expect(fires('-s 203.0.113.0/24', fwd())).toBe(true);
    expect(fires('-s 203.0.114.0/24', fwd())).toBe(false);
    expect(fires('! -s 203.0.113.0/24', fwd())).toBe(false);
    expect(fires('-d 10.180.0.7', fwd())).toBe(true);
    expect(fires('! -d 10.0.0.0/8', fwd())).toBe(false);
    expect(fires('-d 0.0.0.0/0', fwd())).toBe(true);
    expect(fires('-s 203.0.113.5/255.255.255.0', fwd())).toBe(true);
  });

  it('-p matches the protocol by name or number, negated with !', () => {
    expect(fires('-p tcp', fwd())).toBe(true);
    expect(fires('-p 6', fwd())).toBe(true);
    expect(fires('-p udp', fwd())).toBe(false);
    expect(fires('! -p udp', fwd())).toBe(true);
    expect(fires('-p all', fwd({ proto: 'udp' }))).toBe(true);
  });

  it('-i and -o match interface names, + is a prefix wildcard, ! negates', () => {
    expect(fires('-i eth0', fwd())).toBe(true);
    expect(fires('-i eth+', fwd())).toBe(true);
    expect(fires('-i cni+', fwd())).toBe(false);
    expect(fires('! -i cni+', fwd())).toBe(true);
    expect(fires('-o cni0', fwd())).toBe(true);
    expect(fires('-o eth0', fwd())).toBe(false);
    // Locally generated packets have no input interface: -i never matches, ! -i always does.
    const local = makePacket({ src: '192.168.0.2', dst: '10.180.0.7', proto: 'tcp', sport: 40000, dport: 80 });
    expect(fires('-i eth0', local, { chain: 'OUTPUT' })).toBe(false);
    expect(fires('! -i eth0', local, { chain: 'OUTPUT' })).toBe(true);
  });

  it('-f matches non-first fragments, which port matches never match', () => {
    expect(fires('-f', fwd({ fragment: true }))).toBe(true);
    expect(fires('-f', fwd())).toBe(false);
    expect(fires('-p tcp -m tcp --dport 8080', fwd({ fragment: true }))).toBe(false);
  });
});

describe('tcp, udp, sctp and multiport', () => {
  it('--dport and --sport take single ports and ranges, negated with !', () => {
    expect(fires('-p tcp --dport 8080', fwd())).toBe(true);
    expect(fires('-p tcp -m tcp --dport 8000:8100', fwd())).toBe(true);
    expect(fires('-p tcp -m tcp --dport 8081:', fwd())).toBe(false);
    expect(fires('-p tcp -m tcp --dport :8080', fwd())).toBe(true);
    expect(fires('-p tcp -m tcp ! --dport 8080', fwd())).toBe(false);
    expect(fires('-p tcp -m tcp --sport 40000 --dport 8080', fwd())).toBe(true);
    expect(fires('-p tcp -m tcp ! --sport 1:1023', fwd())).toBe(true);
    expect(fires('-p udp -m udp --dport 53', fwd({ proto: 'udp', dport: 53 }))).toBe(true);
    expect(fires('-p udp -m udp --dport 53', fwd({ proto: 'udp', dport: 54 }))).toBe(false);
    expect(fires('-p sctp -m sctp --dport 36412', fwd({ proto: 'sctp', dport: 36412 }))).toBe(true);
  });

  it('--tcp-flags compares the masked flags, --syn is SYN without ACK, RST, FIN', () => {
    expect(fires('-p tcp -m tcp --syn', fwd({ tcpFlags: TCP_SYN }))).toBe(true);
    expect(fires('-p tcp -m tcp --syn', fwd({ tcpFlags: TCP_SYN | TCP_ACK }))).toBe(false);
    expect(fires('-p tcp -m tcp ! --syn', fwd({ tcpFlags: TCP_ACK }))).toBe(true);
    expect(fires('-p tcp -m tcp --tcp-flags SYN,RST SYN', fwd({ tcpFlags: TCP_SYN | TCP_ACK }))).toBe(true);
    expect(fires('-p tcp -m tcp --tcp-flags ALL NONE', fwd({ tcpFlags: 0 }))).toBe(true);
    expect(fires('-p tcp -m tcp --tcp-flags ALL FIN,RST', fwd({ tcpFlags: TCP_FIN | TCP_RST }))).toBe(true);
    expect(fires('-p tcp -m tcp --tcp-flags ALL FIN,RST', fwd({ tcpFlags: TCP_FIN | TCP_RST | TCP_ACK }))).toBe(false);
  });

  it('multiport --dports, --sports and --ports match any listed port or range', () => {
    expect(fires('-p tcp -m multiport --dports 80,443,8000:8100', fwd())).toBe(true);
    expect(fires('-p tcp -m multiport --dports 80,443', fwd())).toBe(false);
    expect(fires('-p tcp -m multiport ! --dports 80,443', fwd())).toBe(true);
    expect(fires('-p tcp -m multiport --sports 40000', fwd())).toBe(true);
    expect(fires('-p tcp -m multiport --ports 40000', fwd())).toBe(true);
    expect(fires('-p tcp -m multiport --ports 8080', fwd())).toBe(true);
    expect(fires('-p tcp -m multiport --ports 22', fwd())).toBe(false);
  });

  it('icmp --icmp-type matches type and code', () => {
    const ping = fwd({ proto: 'icmp', icmpType: 8, icmpCode: 0 });
    expect(fires('-p icmp -m icmp --icmp-type echo-request', ping)).toBe(true);
    expect(fires('-p icmp -m icmp --icmp-type 8/0', ping)).toBe(true);
    expect(fires('-p icmp -m icmp --icmp-type 3', ping)).toBe(false);
    expect(fires('-p icmp -m icmp --icmp-type any', ping)).toBe(true);
    expect(fires('-p icmp -m icmp --icmp-type port-unreachable', fwd({ proto: 'icmp', icmpType: 3, icmpCode: 3 }))).toBe(true);
  });
});

describe('comment, mark, nfacct, physdev, iprange', () => {
  it('nfacct is printed as iptables-save prints it: two spaces before the name (libxt_nfacct + xtables_save_string)', () => {
    const text = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m nfacct --nfacct-name  ct_state_invalid_dropped_pkts -j DROP\nCOMMIT\n';
    const r = parseIptablesSave(text);
    expect(r.ok && printCanonical(r.ruleset)).toContain('-A INPUT -m nfacct --nfacct-name  ct_state_invalid_dropped_pkts -j DROP');
  });
  it('comment and nfacct always match', () => {
    expect(fires('-m comment --comment "a \\"quoted\\" comment"', fwd())).toBe(true);
    expect(fires('-m nfacct --nfacct-name ct_state_invalid_dropped_pkts', fwd())).toBe(true);
  });

  it('mark --mark value/mask, negated with !', () => {
    expect(fires('-m mark --mark 0x4000/0x4000', fwd({ mark: 0x4001 }))).toBe(true);
    expect(fires('-m mark --mark 0x4000/0x4000', fwd({ mark: 0x1 }))).toBe(false);
    expect(fires('-m mark ! --mark 0x4000/0x4000', fwd({ mark: 0x1 }))).toBe(true);
    expect(fires('-m mark --mark 1', fwd({ mark: 1 }))).toBe(true);
    expect(fires('-m mark --mark 1', fwd({ mark: 3 }))).toBe(false);
  });

  it('physdev never matches: this model has no bridges', () => {
    expect(fires('-m physdev --physdev-is-bridged', fwd())).toBe(false);
    expect(fires('-m physdev ! --physdev-is-bridged', fwd())).toBe(true);
    expect(fires('-m physdev --physdev-in veth1', fwd())).toBe(false);
  });

  it('iprange --src-range and --dst-range', () => {
    expect(fires('-m iprange --src-range 203.0.113.1-203.0.113.9', fwd())).toBe(true);
    expect(fires('-m iprange ! --dst-range 10.180.0.1-10.180.0.6', fwd())).toBe(true);
    expect(fires('-m iprange --dst-range 10.180.0.1-10.180.0.6', fwd())).toBe(false);
  });
});

describe('addrtype', () => {
  it('--dst-type LOCAL matches the node addresses and 127.0.0.0/8', () => {
    const toNode = (dst: string) => makePacket({ src: '203.0.113.5', dst, proto: 'tcp', sport: 1, dport: 30080, inInterface: 'eth0' });
    expect(fires('-m addrtype --dst-type LOCAL', toNode('192.168.0.2'), { chain: 'INPUT' })).toBe(true);
    expect(fires('-m addrtype --dst-type LOCAL', toNode('192.168.99.11'), { chain: 'INPUT' })).toBe(true);
    expect(fires('-m addrtype --dst-type LOCAL', fwd())).toBe(false);
    expect(fires('-m addrtype ! --dst-type LOCAL', fwd())).toBe(true);
    expect(fires('-m addrtype --dst-type UNICAST', fwd())).toBe(true);
    expect(fires('-m addrtype --dst-type UNICAST,LOCAL', toNode('192.168.0.2'), { chain: 'INPUT' })).toBe(true);
  });

  it('--src-type LOCAL for node-originated packets, BROADCAST and MULTICAST by address', () => {
    const local = makePacket({ src: '192.168.0.2', dst: '10.180.0.7', proto: 'tcp', sport: 40000, dport: 80 });
    expect(fires('-m addrtype --src-type LOCAL', local, { chain: 'OUTPUT' })).toBe(true);
    expect(fires('-m addrtype --src-type LOCAL', fwd())).toBe(false);
    expect(fires('-m addrtype --dst-type BROADCAST', fwd({ dst: '10.180.255.255' }), { chain: 'PREROUTING' })).toBe(true);
    expect(fires('-m addrtype --dst-type MULTICAST', fwd({ dst: '224.0.0.251', proto: 'udp' }), { chain: 'PREROUTING' })).toBe(true);
  });

  it('--limit-iface-in counts an address as LOCAL only on the input interface', () => {
    const viaCni = makePacket({ src: '10.180.0.7', dst: '192.168.0.2', proto: 'tcp', sport: 1, dport: 30080, inInterface: 'cni0' });
    const viaEth = makePacket({ src: '203.0.113.5', dst: '192.168.0.2', proto: 'tcp', sport: 1, dport: 30080, inInterface: 'eth0' });
    expect(fires('-m addrtype --dst-type LOCAL --limit-iface-in', viaEth, { chain: 'INPUT' })).toBe(true);
    expect(fires('-m addrtype --dst-type LOCAL --limit-iface-in', viaCni, { chain: 'INPUT' })).toBe(false);
    expect(fires('-m addrtype --dst-type LOCAL', viaCni, { chain: 'INPUT' })).toBe(true);
  });
});

describe('conntrack and state', () => {
  it('the first packet of a connection is NEW; with DNAT it is also DNAT in FORWARD', () => {
    expect(fires('-m conntrack --ctstate NEW', fwd())).toBe(true);
    expect(fires('-m conntrack --ctstate ESTABLISHED', fwd())).toBe(false);
    expect(fires('-m conntrack ! --ctstate RELATED,ESTABLISHED', fwd())).toBe(true);
    expect(fires('-m state --state NEW', fwd())).toBe(true);
    expect(fires('-m state ! --state NEW', fwd())).toBe(false);
  });

  it('a packet conntrack cannot track is INVALID (an RST with no connection)', () => {
    expect(fires('-m conntrack --ctstate INVALID', fwd({ tcpFlags: TCP_RST }))).toBe(true);
    expect(fires('-m state --state INVALID', fwd({ tcpFlags: TCP_RST }))).toBe(true);
    // Without a connection only --ctstate can match (xt_conntrack).
    expect(fires('-m conntrack --ctstate INVALID --ctorigdst 1.2.3.4', fwd({ tcpFlags: TCP_RST }))).toBe(true);
  });

  it('--ctorigdst, --ctorigdstport, --ctstatus and --ctdir test the connection', () => {
    const text = rulesText({
      nat: ['-A PREROUTING -d 172.30.0.1/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.180.0.7:8080'],
      filter: [
        '-A FORWARD -m conntrack --ctstate NEW,DNAT --ctorigdst 172.30.0.1 --ctorigdstport 80 --ctdir ORIGINAL -j DROP',
        '-A FORWARD -m conntrack --ctstatus SEEN_REPLY -j REJECT',
      ],
    });
    for (const mode of ['fast', 'linear'] as const) {
      const nf = netfilterFor(text, { mode });
      const viaVip = nf.evaluate(fwd({ dst: '172.30.0.1', dport: 80 }), { from: 'interface' }).outcomes[0]!;
      expect(viaVip.verdict).toBe('DROP');
      expect(viaVip.packet.dst).toBe('10.180.0.7');
      const direct = nf.evaluate(fwd(), { from: 'interface' }).outcomes[0]!;
      expect(direct.verdict).toBe('ACCEPT');
    }
  });
});

describe('set (ipsets)', () => {
  const SETS = [
    'create IPS hash:ip family inet hashsize 1024 maxelem 65536',
    'add IPS 203.0.113.5',
    'create IPPORT hash:ip,port family inet hashsize 1024 maxelem 65536',
    'add IPPORT 10.180.0.7,tcp:8080',
    'create LOOP hash:ip,port,ip family inet hashsize 1024 maxelem 65536',
    'add LOOP 10.180.0.7,tcp:8080,203.0.113.5',
    'create SRCNET hash:ip,port,net family inet hashsize 1024 maxelem 65536',
    'add SRCNET 10.180.0.7,tcp:8080,203.0.113.0/25',
    'create NETS hash:net family inet hashsize 1024 maxelem 65536',
    'add NETS 203.0.113.0/24',
    'add NETS 203.0.113.4/30 nomatch',
    'create PORTS bitmap:port range 0-65535',
    'add PORTS 8080',
    '',
  ].join('\n');
  const f = (spec: string, p: Packet = fwd()) => fires(spec, p, { ipsets: SETS });

  it('hash:ip, hash:ip,port and hash:ip,port,ip pick each dimension from src or dst', () => {
    expect(f('-m set --match-set IPS src')).toBe(true);
    expect(f('-m set --match-set IPS dst')).toBe(false);
    expect(f('-m set ! --match-set IPS dst')).toBe(true);
    expect(f('-m set --match-set IPPORT dst,dst')).toBe(true);
    expect(f('-m set --match-set IPPORT dst,dst', fwd({ proto: 'udp' }))).toBe(false);
    expect(f('-m set --match-set IPPORT dst,src')).toBe(false);
    expect(f('-m set --match-set LOOP dst,dst,src')).toBe(true);
    expect(f('-m set --match-set LOOP dst,dst,dst')).toBe(false);
  });

  it('hash:ip,port,net and hash:net take the most specific network; nomatch entries exclude', () => {
    expect(f('-m set --match-set SRCNET dst,dst,src')).toBe(true);
    expect(f('-m set --match-set SRCNET dst,dst,src', fwd({ src: '203.0.113.200' }))).toBe(false);
    expect(f('-m set --match-set NETS src', fwd({ src: '203.0.113.1' }))).toBe(true);
    expect(f('-m set --match-set NETS src')).toBe(false); // 203.0.113.5 is in the nomatch /30
    expect(f('-m set --match-set NETS src --return-nomatch')).toBe(true);
    expect(f('-m set --match-set NETS src --return-nomatch', fwd({ src: '203.0.113.1' }))).toBe(false);
  });

  it('bitmap:port matches the port whatever the protocol', () => {
    expect(f('-m set --match-set PORTS dst')).toBe(true);
    expect(f('-m set --match-set PORTS dst', fwd({ proto: 'udp' }))).toBe(true);
    expect(f('-m set --match-set PORTS src')).toBe(false);
  });

  it('a rule naming a set that does not exist is refused when the evaluator is built', () => {
    expect(() => netfilterFor(rulesText({ filter: ['-A INPUT -m set --match-set NOPE src -j DROP'] }))).toThrow(/set "NOPE" does not exist/);
  });

  it('on a ruleset restored onto another (--noflush), the sets checked are those its chains name after the restore', () => {
    const base = parseIptablesSave(rulesText({ filter: [':A - [0:0]', '-A INPUT -j A', '-A A -m set --match-set OLD src -j DROP'] }));
    if (!base.ok) throw new Error('base does not parse');
    // Declaring A again flushes it (it no longer names OLD); B names NEW.
    const layered = applyRestore(base.ruleset, ['*filter', ':A - [0:0]', ':B - [0:0]', '-A A -j B', '-A B -m set --match-set NEW src -j DROP', 'COMMIT', ''].join('\n'), { noflush: true });
    if (!layered.ok) throw new Error('restore failed');
    const sets = (names: string[]) => {
      const r = parseIpsetSave(names.map((n) => `create ${n} hash:ip family inet hashsize 1024 maxelem 65536`).join('\n') + '\n');
      if (!r.ok) throw new Error('ipsets do not parse');
      return r.store;
    };
    const node = { interfaces: [{ name: 'eth0', addresses: ['10.0.0.1/24'] }] };
    expect(() => new Netfilter(base.ruleset, { node, ipsets: sets(['NEW']) })).toThrow(/set "OLD" does not exist/);
    expect(() => new Netfilter(layered.ruleset, { node, ipsets: sets(['NEW']) })).not.toThrow();
    expect(() => new Netfilter(layered.ruleset, { node, ipsets: sets(['OLD']) })).toThrow(/set "NEW" does not exist/);
    // Asked again (the answers are remembered per ruleset), the same.
    expect(() => new Netfilter(base.ruleset, { node, ipsets: sets(['OLD']) })).not.toThrow();
    expect(() => new Netfilter(layered.ruleset, { node, ipsets: sets(['OLD', 'NEW']) })).not.toThrow();
  });
});

describe('-m ipvs (xt_ipvs)', () => {
  const RULE = '-A OUTPUT -s 10.96.0.10/32 -m ipvs --vaddr 10.96.0.10 --vproto tcp --vport 80 -j DROP';
  const ruleset = () => {
    const r = parseIptablesSave(`*filter\n:OUTPUT ACCEPT [0:0]\n${RULE}\nCOMMIT\n`);
    if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('; '));
    return r.ruleset;
  };
  it('parses what kube-proxy writes and prints it in the kernel option order, protocol as a number', () => {
    expect(printCanonical(ruleset())).toContain('-A OUTPUT -s 10.96.0.10/32 -m ipvs --vproto 6 --vaddr 10.96.0.10/32 --vport 80 -j DROP');
  });
  it('matches only packets IPVS sent for that virtual service (every option implies --ipvs)', () => {
    const nf = netfilterFor(`*filter\n:OUTPUT ACCEPT [0:0]\n${RULE}\nCOMMIT\n`);
    const plain = makePacket({ src: '10.96.0.10', dst: '10.244.1.5', proto: 'tcp', sport: 80, dport: 40000 });
    const viaIpvs = { ...plain, ipvs: { vaddr: '10.96.0.10', vport: 80, vproto: 6, method: 'MASQ' as const } };
    const otherPort = { ...plain, ipvs: { vaddr: '10.96.0.10', vport: 443, vproto: 6, method: 'MASQ' as const } };
    const verdict = (p: Packet) => nf.evaluate(p, { from: 'local' }).outcomes[0]!.verdict;
    expect(verdict(plain)).toBe('ACCEPT');
    expect(verdict(viaIpvs)).toBe('DROP');
    expect(verdict(otherPort)).toBe('ACCEPT');
  });
  it('bad values are errors naming the option', () => {
    const r = parseIptablesSave('*filter\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -m ipvs --vmethod FOO -j DROP\nCOMMIT\n');
    expect(r.ok).toBe(false);
    expect(r.diagnostics[0]!.message).toContain('--vmethod: "FOO" is not GATE, IPIP or MASQ');
  });
});
