// Expected text below is what iproute2 6.1 printed on a Linux 6.x kernel for the same commands.
import { describe, expect, it } from 'vitest';
import { Network, showAddresses, showRoutes, showRules, type Namespace } from '../../../src/dataplane/routing/index.js';
import { lines, ok, route } from './helpers.js';

function vethPairInOne(): { net: Network; ns: Namespace } {
  const net = new Network();
  const ns = net.createNamespace('n');
  ok(net.addVethPair({ namespace: 'n', name: 'va' }, { namespace: 'n', name: 'vb' }));
  return { net, ns };
}

describe('routes the kernel generates for addresses', () => {
  it('adding 10.244.1.1/24 to cni0 creates the local, subnet and broadcast routes', () => {
    const net = new Network();
    const ns = net.createNamespace('node');
    ok(ns.addLink({ name: 'cni0', kind: 'bridge' }));
    ok(net.addVethPair({ namespace: 'node', name: 'veth1', master: 'cni0' }, { namespace: 'node', name: 'veth1p' }));
    ok(ns.addAddress('cni0', '10.244.1.1/24'));
    expect(showRoutes(ns)).toBe('10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1 \n');
    expect(lines(showRoutes(ns, { table: 255 }))).toEqual([
      'local 10.244.1.1 dev cni0 proto kernel scope host src 10.244.1.1 ',
      'broadcast 10.244.1.255 dev cni0 proto kernel scope link src 10.244.1.1 ',
      'local 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1 ',
      'local 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1 ',
      'broadcast 127.255.255.255 dev lo proto kernel scope link src 127.0.0.1 ',
    ]);
  });

  it('a bridge that never had a port has a carrier; once its ports are gone its routes are marked linkdown (local routes are not)', () => {
    const net = new Network();
    const ns = net.createNamespace('node');
    ok(ns.addLink({ name: 'cni0', kind: 'bridge' }));
    ok(ns.addAddress('cni0', '10.244.0.1/24'));
    expect(showRoutes(ns)).toBe('10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1 \n');
    expect(showAddresses(ns)).toContain('2: cni0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UNKNOWN group default qlen 1000\n');
    ok(net.addVethPair({ namespace: 'node', name: 'veth1', master: 'cni0' }, { namespace: 'node', name: 'veth1p', up: false }));
    expect(showRoutes(ns)).toBe('10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1 linkdown \n');
    expect(showRoutes(ns, { table: 'all' })).toContain('local 10.244.0.1 dev cni0 table local proto kernel scope host src 10.244.0.1 \n');
    expect(showRoutes(ns, { table: 'all' })).toContain('broadcast 10.244.0.255 dev cni0 table local proto kernel scope link src 10.244.0.1 linkdown \n');
    expect(showAddresses(ns)).toContain('2: cni0: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state DOWN group default qlen 1000\n');
    ok(ns.setLinkUp('veth1p', true));
    expect(showRoutes(ns)).toBe('10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1 \n');
  });

  it('matches the kernel for primary, secondary, /32, /31 and brd + addresses', () => {
    const { ns } = vethPairInOne();
    ok(ns.addAddress('va', '198.18.0.1/24'));
    ok(ns.addAddress('va', '198.18.0.2/24'));
    ok(ns.addAddress('vb', '198.18.1.1/32'));
    ok(ns.addAddress('vb', '198.18.2.1/31'));
    ok(ns.addAddress('vb', '198.18.3.1/24', { brd: '+' }));
    expect(showRoutes(ns, { table: 'all', family: 4 })).toBe(
      [
        '198.18.0.0/24 dev va proto kernel scope link src 198.18.0.1 ',
        '198.18.2.0/31 dev vb proto kernel scope link src 198.18.2.1 ',
        '198.18.3.0/24 dev vb proto kernel scope link src 198.18.3.1 ',
        'local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1 ',
        'local 127.0.0.1 dev lo table local proto kernel scope host src 127.0.0.1 ',
        'broadcast 127.255.255.255 dev lo table local proto kernel scope link src 127.0.0.1 ',
        'local 198.18.0.1 dev va table local proto kernel scope host src 198.18.0.1 ',
        'local 198.18.0.2 dev va table local proto kernel scope host src 198.18.0.1 ',
        'broadcast 198.18.0.255 dev va table local proto kernel scope link src 198.18.0.1 ',
        'local 198.18.1.1 dev vb table local proto kernel scope host src 198.18.1.1 ',
        'local 198.18.2.1 dev vb table local proto kernel scope host src 198.18.2.1 ',
        'local 198.18.3.1 dev vb table local proto kernel scope host src 198.18.3.1 ',
        'broadcast 198.18.3.255 dev vb table local proto kernel scope link src 198.18.3.1 ',
      ].join('\n') + '\n',
    );
    expect(showAddresses(ns)).toBe(
      [
        '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000',
        '    inet 127.0.0.1/8 scope host lo',
        '       valid_lft forever preferred_lft forever',
        '2: va@vb: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000',
        '    inet 198.18.0.1/24 scope global va',
        '       valid_lft forever preferred_lft forever',
        '    inet 198.18.0.2/24 scope global secondary va',
        '       valid_lft forever preferred_lft forever',
        '3: vb@va: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000',
        '    inet 198.18.1.1/32 scope global vb',
        '       valid_lft forever preferred_lft forever',
        '    inet 198.18.2.1/31 scope global vb',
        '       valid_lft forever preferred_lft forever',
        '    inet 198.18.3.1/24 brd 198.18.3.255 scope global vb',
        '       valid_lft forever preferred_lft forever',
      ].join('\n') + '\n',
    );
  });

  it('taking a link down flushes routes through it but keeps its local routes; up restores only the address routes', () => {
    const { ns } = vethPairInOne();
    ok(ns.addAddress('va', '198.18.0.1/24'));
    ok(ns.addAddress('vb', '198.18.3.1/24'));
    route(ns, { dst: '198.18.50.0/24', via: '198.18.0.9' });
    route(ns, { dst: '198.18.51.0/24', via: '198.18.0.9', table: 7 });
    route(ns, { dst: '198.18.52.0/24', via: '198.18.3.9', dev: 'vb', onlink: true });
    ok(ns.setLinkUp('va', false));
    expect(showRoutes(ns, { table: 'all', family: 4 })).toBe(
      [
        '198.18.3.0/24 dev vb proto kernel scope link src 198.18.3.1 linkdown ',
        '198.18.52.0/24 via 198.18.3.9 dev vb onlink linkdown ',
        'local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1 ',
        'local 127.0.0.1 dev lo table local proto kernel scope host src 127.0.0.1 ',
        'broadcast 127.255.255.255 dev lo table local proto kernel scope link src 127.0.0.1 ',
        'local 198.18.0.1 dev va table local proto kernel scope host src 198.18.0.1 ',
        'local 198.18.3.1 dev vb table local proto kernel scope host src 198.18.3.1 ',
        'broadcast 198.18.3.255 dev vb table local proto kernel scope link src 198.18.3.1 linkdown ',
      ].join('\n') + '\n',
    );
    ok(ns.setLinkUp('va', true));
    expect(lines(showRoutes(ns, { table: 'all', family: 4 }))).toEqual([
      '198.18.0.0/24 dev va proto kernel scope link src 198.18.0.1 ',
      '198.18.3.0/24 dev vb proto kernel scope link src 198.18.3.1 ',
      '198.18.52.0/24 via 198.18.3.9 dev vb onlink ',
      'local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1 ',
      'local 127.0.0.1 dev lo table local proto kernel scope host src 127.0.0.1 ',
      'broadcast 127.255.255.255 dev lo table local proto kernel scope link src 127.0.0.1 ',
      'local 198.18.0.1 dev va table local proto kernel scope host src 198.18.0.1 ',
      'broadcast 198.18.0.255 dev va table local proto kernel scope link src 198.18.0.1 ',
      'local 198.18.3.1 dev vb table local proto kernel scope host src 198.18.3.1 ',
      'broadcast 198.18.3.255 dev vb table local proto kernel scope link src 198.18.3.1 ',
    ]);
  });

  it('deleting an address removes the routes it generated', () => {
    const { ns } = vethPairInOne();
    ok(ns.addAddress('va', '198.18.0.1/24'));
    ok(ns.deleteAddress('va', '198.18.0.1/24'));
    expect(showRoutes(ns)).toBe('');
    expect(showRoutes(ns, { table: 255 })).not.toContain('198.18.0');
  });
});

describe('ip route add checks, as the kernel makes them', () => {
  it('refuses a second route with the same prefix, TOS and metric, but accepts another metric or append', () => {
    const { ns } = vethPairInOne();
    ok(ns.addAddress('va', '198.18.0.1/24'));
    route(ns, { dst: '198.18.9.0/24', via: '198.18.0.9', metric: 5 });
    const again = ns.addRoute({ dst: '198.18.9.0/24', dev: 'vb', metric: 5 });
    expect(again).toMatchObject({ ok: false, errno: 'EEXIST' });
    route(ns, { dst: '198.18.9.0/24', dev: 'vb', metric: 6 });
    ok(ns.addRoute({ dst: '198.18.9.0/24', dev: 'vb', metric: 5 }, 'append'));
    expect(ns.addRoute({ dst: '198.18.9.0/24', dev: 'vb', metric: 5 }, 'append')).toMatchObject({ ok: false, errno: 'EEXIST' });
    expect(lines(showRoutes(ns)).filter((l) => l.startsWith('198.18.9.0/24'))).toEqual([
      '198.18.9.0/24 via 198.18.0.9 dev va metric 5 ',
      '198.18.9.0/24 dev vb scope link metric 5 ',
      '198.18.9.0/24 dev vb scope link metric 6 ',
    ]);
  });

  it('replace swaps the first route of the same prefix and metric', () => {
    const { ns } = vethPairInOne();
    ok(ns.addAddress('va', '198.18.0.1/24'));
    route(ns, { dst: '198.18.9.0/24', via: '198.18.0.9' });
    ok(ns.addRoute({ dst: '198.18.9.0/24', via: '198.18.0.8' }, 'replace'));
    expect(lines(showRoutes(ns)).filter((l) => l.startsWith('198.18.9'))).toEqual(['198.18.9.0/24 via 198.18.0.8 dev va ']);
  });

  it('needs the gateway on a connected subnet unless onlink, and fills in its device', () => {
    const { ns } = vethPairInOne();
    ok(ns.addAddress('va', '198.18.0.1/24'));
    expect(ns.addRoute({ dst: '198.18.70.0/24', via: '198.18.9.9' })).toMatchObject({ ok: false, errno: 'EINVAL', message: 'Error: Nexthop has invalid gateway.' });
    // A local address is an acceptable gateway (the kernel allows RTN_LOCAL).
    ok(ns.addRoute({ dst: '198.18.70.0/24', via: '198.18.0.1' }));
    expect(ns.addRoute({ dst: '198.18.71.0/24', via: '198.18.9.9', onlink: true })).toMatchObject({ ok: false, errno: 'ENODEV' });
    ok(ns.addRoute({ dst: '198.18.71.0/24', via: '198.18.9.9', dev: 'vb', onlink: true }));
    ok(ns.addRoute({ dst: 'default', via: '198.18.0.254' }));
    expect(showRoutes(ns)).toContain('default via 198.18.0.254 dev va \n');
    expect(ns.addRoute({ dst: '198.18.72.0/24', dev: 'nope' })).toMatchObject({ ok: false, errno: 'ENODEV' });
    expect(ns.addRoute({ dst: '198.18.72.5/24', dev: 'va' })).toMatchObject({ ok: false, message: 'Error: Invalid prefix for given prefix length.' });
    expect(ns.addRoute({ dst: '198.18.73.0/24', dev: 'va', src: '198.18.99.99' })).toMatchObject({ ok: false, message: 'Error: Invalid prefsrc address.' });
  });

  it('a route through a down link is refused (ENETDOWN)', () => {
    const { ns } = vethPairInOne();
    ok(ns.addAddress('va', '198.18.0.1/24'));
    ok(ns.setLinkUp('vb', false));
    expect(ns.addRoute({ dst: '198.18.74.0/24', dev: 'vb' })).toMatchObject({ ok: false, errno: 'ENETDOWN' });
  });
});

describe('ip rule add', () => {
  it('starts with the default rules and numbers new rules below the second one', () => {
    const ns = new Network().createNamespace('n');
    expect(showRules(ns)).toBe('0:\tfrom all lookup local\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n');
    expect(showRules(ns, 6)).toBe('0:\tfrom all lookup local\n32766:\tfrom all lookup main\n');
    ok(ns.addRule({ from: '198.18.0.5', table: 2 }));
    ok(ns.addRule({ to: '198.18.0.0/24', table: 3 }));
    expect(showRules(ns)).toBe(
      '0:\tfrom all lookup local\n32764:\tfrom all to 198.18.0.0/24 lookup 3\n32765:\tfrom 198.18.0.5 lookup 2\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n',
    );
  });

  it('prints selectors and actions as iproute2 does', () => {
    const ns = new Network().createNamespace('n');
    ok(ns.addLink({ name: 'va', kind: 'dummy' }));
    ok(ns.addRule({ priority: 1536, from: '198.18.0.5', table: 2 }));
    ok(ns.addRule({ priority: 100, not: true, fwmark: 0x80, fwmask: 0x80, iif: 'va', table: 100 }));
    ok(ns.addRule({ priority: 200, to: '198.18.9.0/24', tos: 0x10, action: 'prohibit' }));
    ok(ns.addRule({ priority: 300, goto: 32766 }));
    ok(ns.addRule({ priority: 400, goto: 450 }));
    ok(ns.addRule({ priority: 500, oif: 'gone', table: 5, suppressPrefixlength: 0 }));
    expect(showRules(ns)).toBe(
      [
        '0:\tfrom all lookup local',
        '100:\tnot from all fwmark 0x80/0x80 iif va lookup 100',
        '200:\tfrom all to 198.18.9.0/24 tos 0x10 prohibit',
        '300:\tfrom all goto 32766',
        '400:\tfrom all goto 450 [unresolved]',
        '500:\tfrom all oif gone [detached] lookup 5 suppress_prefixlength 0',
        '1536:\tfrom 198.18.0.5 lookup 2',
        '32766:\tfrom all lookup main',
        '32767:\tfrom all lookup default',
      ].join('\n') + '\n',
    );
    expect(ns.addRule({ priority: 600, goto: 500 })).toMatchObject({ ok: false, errno: 'EINVAL' });
    expect(ns.addRule({ priority: 1536, from: '198.18.0.5', table: 2 })).toMatchObject({ ok: false, errno: 'EEXIST' });
  });
});
