// Samples are written in iproute2's exact output format (route lines end in a space, IPv6 lines in
// `pref medium`, multipath nexthops on tab-indented lines, rule lines have no trailing space).
import { describe, expect, it } from 'vitest';
import {
  fibLookup,
  loadDump,
  Network,
  parseAddr,
  parseRoutes,
  parseRules,
  printRoute,
  printRule,
  showRoutes,
  showRules,
} from '../../../src/dataplane/routing/index.js';
import { ok } from './helpers.js';

const FLANNEL_NODE = `default via 172.18.0.1 dev eth0 
10.244.0.0/24 via 10.244.0.0 dev flannel.1 onlink 
10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1 
10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink 
172.18.0.0/16 dev eth0 proto kernel scope link src 172.18.0.3 
local 10.244.1.0 dev flannel.1 table local proto kernel scope host src 10.244.1.0 
local 10.244.1.1 dev cni0 table local proto kernel scope host src 10.244.1.1 
broadcast 10.244.1.255 dev cni0 table local proto kernel scope link src 10.244.1.1 
local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1 
local 127.0.0.1 dev lo table local proto kernel scope host src 127.0.0.1 
broadcast 127.255.255.255 dev lo table local proto kernel scope link src 127.0.0.1 
local 172.18.0.3 dev eth0 table local proto kernel scope host src 172.18.0.3 
broadcast 172.18.255.255 dev eth0 table local proto kernel scope link src 172.18.0.3 
fc00:f853:ccd:e793::/64 dev eth0 proto kernel metric 256 pref medium
fe80::/64 dev eth0 proto kernel metric 256 pref medium
default via fc00:f853:ccd:e793::1 dev eth0 metric 1024 pref medium
local ::1 dev lo table local proto kernel metric 0 pref medium
local fc00:f853:ccd:e793::3 dev eth0 table local proto kernel metric 0 pref medium
multicast ff00::/8 dev eth0 table local proto kernel metric 256 pref medium
`;

const CALICO_NODE = `default via 10.128.0.1 dev ens4 proto dhcp src 10.128.0.23 metric 100 
10.128.0.1 dev ens4 proto dhcp scope link src 10.128.0.23 metric 100 
blackhole 192.168.77.128/26 proto bird 
192.168.77.129 dev cali3f7a1b2c9d0 scope link 
192.168.77.130 dev calie5a9c1d2b3f scope link 
192.168.120.64/26 via 10.128.0.24 dev tunl0 proto bird onlink 
192.168.201.0/26 via 10.128.0.25 dev ens4 proto bird 
`;

const MISC = `default proto static metric 100 
\tnexthop via 198.18.0.2 dev va weight 1 
\tnexthop via 198.18.0.3 dev va weight 3 
198.18.0.0/24 tos 0x10 dev vb scope link metric 5 
198.18.3.0/24 dev vb proto kernel scope link src 198.18.3.1 linkdown 
198.18.132.0/24 via 198.18.0.9 dev vb src 198.18.0.1 mtu 1400 
198.18.133.0/24 via 198.18.0.9 dev vb onlink mtu lock 1400 advmss 1360 initcwnd 10 
unreachable 198.18.129.0/24 
prohibit 198.18.130.0/24 
throw 198.18.131.0/24 table 100 
198.18.134.0/24 dev va table 2 proto static scope link metric 7 
local 198.18.135.0/24 dev lo table 2 scope host 
2001:db8:c::/48 metric 1024 pref medium
\tnexthop via 2001:db8:1::9 dev va weight 2 
\tnexthop via 2001:db8:1::8 dev va weight 1 
2001:db8:d::/48 via 2001:db8:1::8 dev va metric 1024 mtu 1400 pref medium
blackhole 2001:db8:9::/48 dev lo metric 1024 pref medium
2001:db8:5::/64 dev va proto ra metric 100 expires 1794sec pref medium
`;

const AWS_RULES = `0:\tfrom all lookup local
512:\tfrom all to 192.168.25.40 lookup main
512:\tfrom all to 192.168.5.10 lookup main
1024:\tfrom all fwmark 0x80/0x80 lookup main
1536:\tfrom 192.168.25.40 lookup 2
32766:\tfrom all lookup main
32767:\tfrom all lookup default
`;

const MISC_RULES = `0:\tfrom all lookup local
100:\tnot from all fwmark 0x80/0x80 iif va lookup 100
200:\tfrom all to 198.18.9.0/24 tos 0x10 prohibit
300:\tfrom all goto 32766
5208:\tfrom all lookup main suppress_prefixlength 0
5209:\tnot from all fwmark 0x80000/0xff0000 lookup 52
5270:\tfrom all lookup 52
6000:\tfrom 198.18.0.0/15 iif eth0 oif eth1 uidrange 1000-2000 ipproto tcp dport 80-443 blackhole
6001:\tfrom all sport 53 unreachable
32766:\tfrom all lookup main
32767:\tfrom all lookup default
`;

function roundTrip(text: string, table?: number): string {
  const r = parseRoutes(text, { file: 'dump.txt', ...(table !== undefined ? { table } : {}) });
  expect(r.ok, JSON.stringify(!r.ok && r.diagnostics)).toBe(true);
  return r.ok ? r.value.map((x) => `${printRoute(x, { showTable: table === undefined })}\n`).join('') : '';
}

describe('ip route output: parse then print gives the same text', () => {
  it('a flannel VXLAN node (table all, both families)', () => {
    expect(roundTrip(FLANNEL_NODE)).toBe(FLANNEL_NODE);
  });

  it('a Calico node (blackhole block, /32 pod routes, tunl0 onlink, proto bird and dhcp)', () => {
    expect(roundTrip(CALICO_NODE)).toBe(CALICO_NODE);
  });

  it('multipath, TOS, flags, metrics, reject types, custom tables, IPv6 multipath and expiry', () => {
    expect(roundTrip(MISC)).toBe(MISC);
  });

  it('a dump of one table (no table words) is printed back the same', () => {
    const table2 = 'default via 192.168.0.1 dev eth1 \n192.168.0.1 dev eth1 scope link \n';
    const r = parseRoutes(table2, { table: 2 });
    expect(r.ok && r.value.map((x) => x.table)).toEqual([2, 2]);
    expect(roundTrip(table2, 2)).toBe(table2);
  });

  it('reads what the lines say: types, gateways, devices, weights', () => {
    const r = parseRoutes(MISC);
    if (!r.ok) throw new Error('parse failed');
    const [mp, tos] = r.value;
    expect(mp).toMatchObject({ family: 4, multipath: true, metric: 100, proto: 4, nexthops: [{ via: '198.18.0.2', dev: 'va', weight: 1 }, { via: '198.18.0.3', dev: 'va', weight: 3 }] });
    expect(tos).toMatchObject({ tos: 0x10, scope: 253, metric: 5 });
    expect(r.value.find((x) => x.type === 'throw')).toMatchObject({ table: 100, nexthops: [] });
    expect(r.value.find((x) => x.family === 6 && x.type === 'blackhole')).toMatchObject({ nexthops: [] });
  });
});

describe('ip rule output: parse then print gives the same text', () => {
  it('AWS VPC CNI rules', () => {
    const r = parseRules(AWS_RULES);
    expect(r.ok && r.value.map((x) => `${printRule(x)}\n`).join('')).toBe(AWS_RULES);
  });

  it('selectors, inversion, goto, suppress and reject actions', () => {
    const r = parseRules(MISC_RULES);
    expect(r.ok, JSON.stringify(!r.ok && r.diagnostics)).toBe(true);
    expect(r.ok && r.value.map((x) => `${printRule(x)}\n`).join('')).toBe(MISC_RULES);
  });
});

describe('parse errors name the line', () => {
  it('an unknown keyword in ip route output', () => {
    const r = parseRoutes('default via 10.0.0.1 dev eth0 \n10.1.0.0/16 dev eth0 frobnicate 3 \n', { file: 'node1-routes.txt' });
    expect(r.ok).toBe(false);
    expect(r.diagnostics).toEqual([
      { severity: 'error', message: 'unknown keyword "frobnicate"', file: 'node1-routes.txt', line: 2, hint: 'the line must be in `ip route show` format' },
    ]);
  });

  it('a bad address, a nexthop line with nothing before it, and a bad rule line', () => {
    const r = parseRoutes('\tnexthop via 10.0.0.1 dev eth0 weight 1\n10.0.0.0/33 dev eth0\n10.2.0.0/16 via 10.0.0.300\n');
    expect(!r.ok && r.diagnostics.map((d) => [d.line, d.message])).toEqual([
      [1, 'a "nexthop" line must follow a route'],
      [2, '"10.0.0.0/33" is not a destination prefix'],
      [3, '"via" needs an address, got "10.0.0.300"'],
    ]);
    const rules = parseRules('0:\tfrom all lookup local\nfrom all lookup main\n32767:\tfrom all l3mdev\n');
    expect(!rules.ok && rules.diagnostics.map((d) => [d.line, d.message])).toEqual([
      [2, 'a rule line starts with "PRIORITY:"'],
      [3, 'unknown keyword "l3mdev"'],
    ]);
  });
});

describe('loading a node dump', () => {
  it('routes and rules from text decide like the hand-built AWS node', () => {
    const ns = new Network().createNamespace('aws');
    ok(ns.addLink({ name: 'eth0', kind: 'ether' }));
    ok(ns.addLink({ name: 'eth1', kind: 'ether' }));
    ok(ns.addLink({ name: 'enibbbbbbbbbbb', kind: 'veth' }));
    const main = 'default via 192.168.0.1 dev eth0 \n192.168.0.0/19 dev eth0 proto kernel scope link src 192.168.10.20 \n192.168.25.40 dev enibbbbbbbbbbb scope link \n';
    const t2 = 'default via 192.168.0.1 dev eth1 table 2 \n192.168.0.1 dev eth1 table 2 scope link \n';
    expect(loadDump(ns, { routes: main + t2, rules: AWS_RULES })).toEqual([]);
    expect(showRules(ns)).toBe(AWS_RULES);
    expect(showRoutes(ns, { table: 2 })).toBe('default via 192.168.0.1 dev eth1 \n192.168.0.1 dev eth1 scope link \n');
    const n = (a: string) => parseAddr(a)!.n;
    const out = fibLookup(ns, { family: 4, dst: n('8.8.8.8'), src: n('192.168.25.40'), iif: 'enibbbbbbbbbbb' });
    expect(out).toMatchObject({ ok: true, table: 2, nexthops: [{ via: '192.168.0.1', dev: 'eth1' }] });
    const back = fibLookup(ns, { family: 4, dst: n('192.168.25.40'), src: n('192.168.40.9'), iif: 'eth1' });
    expect(back).toMatchObject({ ok: true, table: 254, nexthops: [{ dev: 'enibbbbbbbbbbb' }] });
  });
});
