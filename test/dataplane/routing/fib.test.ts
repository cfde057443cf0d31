import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fibLookup, Network, parseAddr, printRoute, printRule, type Flow, type Namespace } from '../../../src/dataplane/routing/index.js';
import { ok, route, rule } from './helpers.js';

function n(addr: string) {
  return parseAddr(addr)!.n;
}

function flow(dst: string, extra: Partial<Flow> & { from?: string } = {}): Flow {
  const { from, ...rest } = extra;
  return { family: parseAddr(dst)!.family, dst: n(dst), ...(from ? { src: n(from) } : {}), ...rest };
}

/** `ip route get`: "<route> | <rule>" of the decision, or the errno. */
function get(ns: Namespace, dst: string, extra: Partial<Flow> & { from?: string } = {}): string {
  const r = fibLookup(ns, flow(dst, extra));
  if (!r.ok) return r.errno;
  return `${printRoute(r.route, { showTable: true }).trim()} | ${r.rule ? printRule(r.rule) : '-'}`;
}

function host(): Namespace {
  const net = new Network();
  const ns = net.createNamespace('h');
  ok(ns.addLink({ name: 'eth0', kind: 'ether' }));
  ok(ns.addLink({ name: 'eth1', kind: 'ether' }));
  ok(ns.addAddress('eth0', '198.18.0.10/24'));
  ok(ns.addAddress('eth1', '198.18.1.10/24'));
  return ns;
}

describe('longest-prefix match with the kernel semantics', () => {
  it('a lower metric wins among equal prefixes; equal metrics keep insertion order', () => {
    const ns = host();
    route(ns, { dst: '198.18.50.0/24', via: '198.18.0.1', metric: 20 });
    route(ns, { dst: '198.18.50.0/24', via: '198.18.1.1', metric: 10 });
    expect(get(ns, '198.18.50.7')).toBe('198.18.50.0/24 via 198.18.1.1 dev eth1 metric 10 | 32766:\tfrom all lookup main');
    ok(ns.addRoute({ dst: '198.18.51.0/24', via: '198.18.0.1' }, 'append'));
    ok(ns.addRoute({ dst: '198.18.51.0/24', via: '198.18.1.1' }, 'append'));
    expect(get(ns, '198.18.51.7')).toBe('198.18.51.0/24 via 198.18.0.1 dev eth0 | 32766:\tfrom all lookup main');
  });

  it('/0 catches what nothing else matches; a /32 only its address', () => {
    const ns = host();
    route(ns, { dst: 'default', via: '198.18.0.1' });
    route(ns, { dst: '198.18.60.5/32', via: '198.18.1.1' });
    expect(get(ns, '198.18.60.5')).toBe('198.18.60.5 via 198.18.1.1 dev eth1 | 32766:\tfrom all lookup main');
    expect(get(ns, '198.18.60.6')).toBe('default via 198.18.0.1 dev eth0 | 32766:\tfrom all lookup main');
  });

  it('a TOS route applies only to packets with that TOS', () => {
    const ns = host();
    route(ns, { dst: '198.18.52.0/24', via: '198.18.0.1' });
    route(ns, { dst: '198.18.52.0/24', via: '198.18.1.1', tos: 0x10 });
    expect(get(ns, '198.18.52.1')).toContain('via 198.18.0.1');
    expect(get(ns, '198.18.52.1', { tos: 0x10 })).toContain('via 198.18.1.1');
  });

  it('backtracks to a shorter prefix when the longer one has no live nexthop', () => {
    const ns = host();
    route(ns, { dst: '198.18.53.0/24', via: '198.18.0.1' });
    ok(ns.addLink({ name: 'eth2', kind: 'ether', up: false }));
    ok(ns.addRoute({ dst: '198.18.53.128/25', dev: 'eth2' }, 'add', false));
    expect(get(ns, '198.18.53.200')).toContain('198.18.53.0/24 via 198.18.0.1');
  });

  it('reject routes give the errno ip route get reports', () => {
    const ns = host();
    route(ns, { dst: '198.18.60.0/24', type: 'unreachable' });
    route(ns, { dst: '198.18.61.0/24', type: 'prohibit' });
    route(ns, { dst: '198.18.62.0/24', type: 'blackhole' });
    route(ns, { dst: '198.18.63.0/24', type: 'throw' });
    expect(get(ns, '198.18.60.1')).toBe('EHOSTUNREACH');
    expect(get(ns, '198.18.61.1')).toBe('EACCES');
    expect(get(ns, '198.18.62.1')).toBe('EINVAL');
    expect(get(ns, '198.18.63.1')).toBe('ENETUNREACH');
    expect(get(ns, '203.0.113.1')).toBe('ENETUNREACH');
  });

  it('adding a more specific route never changes lookups outside its prefix', () => {
    const prefixArb = fc.record({ third: fc.integer({ min: 0, max: 7 }), fourth: fc.integer({ min: 0, max: 255 }), len: fc.integer({ min: 16, max: 32 }) });
    fc.assert(
      fc.property(fc.array(prefixArb, { maxLength: 20 }), prefixArb, fc.array(fc.integer({ min: 0, max: 0x7ff }), { minLength: 1, maxLength: 30 }), (table, extra, probes) => {
        const ns = host();
        const cidr = (p: { third: number; fourth: number; len: number }) => {
          const v = ((198 << 24) | (19 << 16) | (p.third << 8) | p.fourth) >>> 0;
          const mask = (0xffffffff << (32 - p.len)) >>> 0;
          const net = (v & mask) >>> 0;
          return { text: `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${p.len}`, net, mask };
        };
        table.forEach((p, i) => ns.addRoute({ dst: cidr(p).text, via: i % 2 ? '198.18.0.1' : '198.18.1.1' }, 'replace'));
        const addrs = probes.map((x) => `198.19.${x >> 8}.${x & 255}`);
        const before = addrs.map((a) => get(ns, a));
        const e = cidr(extra);
        ok(ns.addRoute({ dst: e.text, via: '198.18.0.99' }, 'replace'));
        addrs.forEach((a, i) => {
          const inside = ((n(a) as number) & e.mask) >>> 0 === e.net;
          if (!inside) expect(get(ns, a)).toBe(before[i]);
        });
      }),
    );
  });
});

describe('local and main tables', () => {
  it('without custom rules local and main are one trie: a longer main prefix beats a local /8', () => {
    const ns = host();
    route(ns, { dst: '127.0.0.5/32', via: '198.18.0.1' });
    expect(get(ns, '127.0.0.5')).toBe('127.0.0.5 via 198.18.0.1 dev eth0 | 32766:\tfrom all lookup main');
    // Any rule change splits them: the local table is then looked up first, as the rules say.
    rule(ns, { priority: 100, fwmark: 1, table: 100 });
    expect(get(ns, '127.0.0.5')).toBe('local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1 | 0:\tfrom all lookup local');
  });

  it('a local address is delivered via the local table', () => {
    const ns = host();
    expect(get(ns, '198.18.1.10')).toBe('local 198.18.1.10 dev eth1 table local proto kernel scope host src 198.18.1.10 | 0:\tfrom all lookup local');
  });
});

describe('policy routing (ip rule)', () => {
  it('matches from, to, iif, oif, fwmark/mask, tos and not', () => {
    const ns = host();
    route(ns, { dst: 'default', via: '198.18.0.1' });
    for (const t of [10, 11, 12, 13, 14, 15, 16]) route(ns, { dst: 'default', via: '198.18.1.1', table: t, metric: t });
    rule(ns, { priority: 10, from: '198.18.7.0/24', table: 10 });
    rule(ns, { priority: 11, to: '198.18.77.0/24', table: 11 });
    rule(ns, { priority: 12, iif: 'eth1', table: 12 });
    rule(ns, { priority: 13, oif: 'eth1', table: 13 });
    rule(ns, { priority: 14, fwmark: 0x4000, fwmask: 0x4000, table: 14 });
    rule(ns, { priority: 15, tos: 0x10, table: 15 });
    rule(ns, { priority: 16, not: true, from: '198.18.0.0/15', table: 16 });
    const tableOf = (dst: string, extra: Partial<Flow> & { from?: string }) => {
      const r = fibLookup(ns, flow(dst, extra));
      return r.ok ? r.table : r.errno;
    };
    expect(tableOf('203.0.113.1', { from: '198.18.7.9', iif: 'eth0' })).toBe(10);
    expect(tableOf('198.18.77.1', { from: '198.18.0.9', iif: 'eth0' })).toBe(11);
    expect(tableOf('203.0.113.1', { from: '198.18.0.9', iif: 'eth1' })).toBe(12);
    // Locally generated traffic has iif lo; oif only when the socket is bound.
    expect(tableOf('203.0.113.1', { from: '198.18.0.10', oif: 'eth1' })).toBe(13);
    expect(tableOf('203.0.113.1', { from: '198.18.0.9', iif: 'eth0', mark: 0x4321 })).toBe(14);
    expect(tableOf('203.0.113.1', { from: '198.18.0.9', iif: 'eth0', mark: 0x0321 })).toBe(254);
    expect(tableOf('203.0.113.1', { from: '198.18.0.9', iif: 'eth0', tos: 0x10 })).toBe(15);
    expect(tableOf('203.0.113.1', { from: '203.0.113.9', iif: 'eth0' })).toBe(16);
    expect(tableOf('203.0.113.1', { from: '198.18.0.9', iif: 'eth0' })).toBe(254);
  });

  it('iif lo selects locally generated traffic', () => {
    const ns = host();
    route(ns, { dst: 'default', via: '198.18.1.1', table: 20 });
    rule(ns, { priority: 20, iif: 'lo', table: 20 });
    expect(fibLookup(ns, flow('203.0.113.1')).ok && fibLookup(ns, flow('203.0.113.1'))).toMatchObject({ table: 20 });
    expect(fibLookup(ns, flow('203.0.113.1', { iif: 'eth0' }))).toMatchObject({ ok: false, errno: 'ENETUNREACH' });
  });

  it('a lookup that finds nothing, or a throw route, continues with the next rule', () => {
    const ns = host();
    route(ns, { dst: 'default', via: '198.18.0.1' });
    route(ns, { dst: '198.18.90.0/24', via: '198.18.1.1', table: 30 });
    route(ns, { dst: '198.18.91.0/24', type: 'throw', table: 30 });
    route(ns, { dst: '198.18.0.0/15', via: '198.18.1.2', table: 30 });
    rule(ns, { priority: 30, table: 30 });
    rule(ns, { priority: 31, table: 999 });
    expect(get(ns, '198.18.90.1')).toBe('198.18.90.0/24 via 198.18.1.1 dev eth1 table 30 | 30:\tfrom all lookup 30');
    expect(get(ns, '198.18.91.1')).toBe('default via 198.18.0.1 dev eth0 | 32766:\tfrom all lookup main');
    expect(get(ns, '198.18.92.1')).toBe('198.18.0.0/15 via 198.18.1.2 dev eth1 table 30 | 30:\tfrom all lookup 30');
    expect(get(ns, '203.0.113.1')).toBe('default via 198.18.0.1 dev eth0 | 32766:\tfrom all lookup main');
  });

  it('rule actions blackhole, unreachable and prohibit stop the lookup with their errors', () => {
    const ns = host();
    route(ns, { dst: 'default', via: '198.18.0.1' });
    rule(ns, { priority: 5, to: '203.0.113.1', action: 'blackhole' });
    rule(ns, { priority: 6, to: '203.0.113.2', action: 'unreachable' });
    rule(ns, { priority: 7, to: '203.0.113.3', action: 'prohibit' });
    expect(get(ns, '203.0.113.1')).toBe('EINVAL');
    expect(get(ns, '203.0.113.2')).toBe('ENETUNREACH');
    expect(get(ns, '203.0.113.3')).toBe('EACCES');
    expect(get(ns, '203.0.113.4')).toContain('default via 198.18.0.1');
  });

  it('goto jumps to the rule with that priority; an unresolved goto falls through', () => {
    const ns = host();
    route(ns, { dst: 'default', via: '198.18.0.1' });
    route(ns, { dst: 'default', via: '198.18.1.1', table: 50 });
    route(ns, { dst: 'default', via: '198.18.1.2', table: 60 });
    rule(ns, { priority: 40, from: '198.18.7.0/24', goto: 60 });
    rule(ns, { priority: 45, goto: 55 });
    rule(ns, { priority: 50, table: 50 });
    rule(ns, { priority: 60, table: 60 });
    expect(get(ns, '203.0.113.1', { from: '198.18.7.1', iif: 'eth0' })).toContain('via 198.18.1.2 dev eth1 table 60 | 60:');
    expect(get(ns, '203.0.113.1', { from: '198.18.8.1', iif: 'eth0' })).toContain('via 198.18.1.1 dev eth1 table 50 | 50:');
  });

  it('suppress_prefixlength 0 refuses a default route and continues (the WireGuard idiom)', () => {
    const ns = host();
    route(ns, { dst: 'default', via: '198.18.0.1' });
    route(ns, { dst: '198.18.80.0/24', via: '198.18.1.1' });
    route(ns, { dst: 'default', via: '198.18.1.9', table: 51820 });
    rule(ns, { priority: 32764, table: 254, suppressPrefixlength: 0 });
    rule(ns, { priority: 32765, not: true, fwmark: 0xca6c, table: 51820 });
    expect(get(ns, '198.18.80.1')).toContain('198.18.80.0/24 via 198.18.1.1 dev eth1 | 32764:');
    expect(get(ns, '203.0.113.1')).toContain('default via 198.18.1.9 dev eth1 table 51820 | 32765:');
    expect(get(ns, '203.0.113.1', { mark: 0xca6c })).toContain('default via 198.18.0.1 dev eth0 | 32766:');
  });
});

describe('AWS VPC CNI policy routing (per-ENI tables)', () => {
  // A node with the primary ENI eth0 (device 0) and a secondary ENI eth1 (device 1, table 2), as
  // networkutils.setupENINetwork and the CNI's setupNS program it.
  function awsNode(): Namespace {
    const ns = new Network().createNamespace('ip-192-168-10-20');
    ok(ns.addLink({ name: 'eth0', kind: 'ether', mtu: 9001 }));
    ok(ns.addLink({ name: 'eth1', kind: 'ether', mtu: 9001 }));
    ok(ns.addLink({ name: 'eniaaaaaaaaaaa', kind: 'veth', mtu: 9001 }));
    ok(ns.addLink({ name: 'enibbbbbbbbbbb', kind: 'veth', mtu: 9001 }));
    ok(ns.addAddress('eth0', '192.168.10.20/19'));
    ok(ns.addAddress('eth1', '192.168.20.30/19'));
    route(ns, { dst: 'default', via: '192.168.0.1', dev: 'eth0' });
    // The kernel route for eth1's subnet is removed from main; table 2 sends everything out eth1.
    ok(ns.deleteRoute({ family: 4, dst: { family: 4, net: n('192.168.0.0'), len: 19 }, dev: 'eth1' }));
    route(ns, { dst: '192.168.0.1', dev: 'eth1', scope: 'link', table: 2 });
    route(ns, { dst: 'default', via: '192.168.0.1', dev: 'eth1', table: 2 });
    rule(ns, { priority: 1024, fwmark: 0x80, fwmask: 0x80, table: 254 });
    // Pod A: a secondary IP of eth0 (no from-rule); pod B: a secondary IP of eth1.
    route(ns, { dst: '192.168.5.10', dev: 'eniaaaaaaaaaaa', scope: 'link' });
    rule(ns, { priority: 512, to: '192.168.5.10', table: 254 });
    route(ns, { dst: '192.168.25.40', dev: 'enibbbbbbbbbbb', scope: 'link' });
    rule(ns, { priority: 512, to: '192.168.25.40', table: 254 });
    rule(ns, { priority: 1536, from: '192.168.25.40', table: 2 });
    return ns;
  }

  it('programs the rules in the order the CNI uses', () => {
    const ns = awsNode();
    expect(ns.rules(4).map((r) => printRule(r))).toEqual([
      '0:\tfrom all lookup local',
      '512:\tfrom all to 192.168.5.10 lookup main',
      '512:\tfrom all to 192.168.25.40 lookup main',
      '1024:\tfrom all fwmark 0x80/0x80 lookup main',
      '1536:\tfrom 192.168.25.40 lookup 2',
      '32766:\tfrom all lookup main',
      '32767:\tfrom all lookup default',
    ]);
  });

  it('a pod on the secondary ENI leaves by that ENI (rule 1536, table 2)', () => {
    const ns = awsNode();
    expect(get(ns, '8.8.8.8', { from: '192.168.25.40', iif: 'enibbbbbbbbbbb' })).toBe('default via 192.168.0.1 dev eth1 table 2 | 1536:\tfrom 192.168.25.40 lookup 2');
    // Other VPC addresses too: table 2 has only the default route.
    expect(get(ns, '192.168.40.7', { from: '192.168.25.40', iif: 'enibbbbbbbbbbb' })).toContain('dev eth1 table 2 | 1536:');
  });

  it('a pod on the primary ENI uses the main table default via eth0', () => {
    const ns = awsNode();
    expect(get(ns, '8.8.8.8', { from: '192.168.5.10', iif: 'eniaaaaaaaaaaa' })).toBe('default via 192.168.0.1 dev eth0 | 32766:\tfrom all lookup main');
  });

  it('traffic to a pod is routed by the main table to its veth (rule 512), whatever the source', () => {
    const ns = awsNode();
    expect(get(ns, '192.168.25.40', { from: '192.168.5.10', iif: 'eniaaaaaaaaaaa' })).toBe('192.168.25.40 dev enibbbbbbbbbbb scope link | 512:\tfrom all to 192.168.25.40 lookup main');
    expect(get(ns, '192.168.25.40', { from: '192.168.40.7', iif: 'eth1' })).toContain('dev enibbbbbbbbbbb scope link | 512:');
  });

  it('NodePort replies marked 0x80 use the main table (eth0) even from a secondary-ENI pod', () => {
    const ns = awsNode();
    expect(get(ns, '203.0.113.50', { from: '192.168.25.40', iif: 'enibbbbbbbbbbb', mark: 0x80 })).toBe('default via 192.168.0.1 dev eth0 | 1024:\tfrom all fwmark 0x80/0x80 lookup main');
  });
});
