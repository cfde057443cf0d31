// Expected text is what iproute2 6.1 printed on a Linux 6.x kernel for the same commands (the
// kernel's link-local fe80::/64 and multicast routes are left out: the model does not create them).
import { describe, expect, it } from 'vitest';
import { Network, routeInput, routeOutput, showRoutes, showRules } from '../../../src/dataplane/routing/index.js';
import { expectOne, ok, route, tcp } from './helpers.js';

function v6Host() {
  const net = new Network();
  const ns = net.createNamespace('n');
  ok(net.addVethPair({ namespace: 'n', name: 'va' }, { namespace: 'n', name: 'vb' }));
  ok(ns.addAddress('va', '2001:db8:1::1/64'));
  return ns;
}

describe('IPv6 routes', () => {
  it('an address creates its local route (metric 0) and its prefix route (metric 256)', () => {
    const ns = v6Host();
    expect(showRoutes(ns, { table: 'all', family: 6 })).toBe(
      [
        '2001:db8:1::/64 dev va proto kernel metric 256 pref medium',
        'local ::1 dev lo table local proto kernel metric 0 pref medium',
        'local 2001:db8:1::1 dev va table local proto kernel metric 0 pref medium',
      ].join('\n') + '\n',
    );
  });

  it('dumps in the kernel order: a prefix after every prefix inside it; reject routes show dev lo', () => {
    const ns = v6Host();
    for (const r of ['2001:db8::/32', '2001:db8:1::/48', '2001:db8:1:0:8000::/65', '2001:db8:2::/48', '2001:db8:0:1::/64', '2001:db8:1::/56']) {
      route(ns, { dst: r, via: '2001:db8:1::9' });
    }
    route(ns, { dst: '2001:db8:1::/48', via: '2001:db8:1::8', metric: 5 });
    route(ns, { dst: '2001:db8:9::/48', type: 'blackhole' });
    route(ns, { dst: '2001:db8:a::/48', type: 'unreachable' });
    route(ns, { dst: '2001:db8:b::/48', type: 'prohibit' });
    route(ns, { dst: '2001:db8:c::/48', nexthops: [{ via: '2001:db8:1::9', dev: 'va', weight: 2 }, { via: '2001:db8:1::8', dev: 'va' }] });
    route(ns, { dst: '2001:db8:d::/48', via: '2001:db8:1::8', mtu: 1400 });
    expect(showRoutes(ns, { family: 6 })).toBe(
      [
        '2001:db8:0:1::/64 via 2001:db8:1::9 dev va metric 1024 pref medium',
        '2001:db8:1:0:8000::/65 via 2001:db8:1::9 dev va metric 1024 pref medium',
        '2001:db8:1::/64 dev va proto kernel metric 256 pref medium',
        '2001:db8:1::/56 via 2001:db8:1::9 dev va metric 1024 pref medium',
        '2001:db8:1::/48 via 2001:db8:1::8 dev va metric 5 pref medium',
        '2001:db8:1::/48 via 2001:db8:1::9 dev va metric 1024 pref medium',
        '2001:db8:2::/48 via 2001:db8:1::9 dev va metric 1024 pref medium',
        'blackhole 2001:db8:9::/48 dev lo metric 1024 pref medium',
        'unreachable 2001:db8:a::/48 dev lo metric 1024 pref medium',
        'prohibit 2001:db8:b::/48 dev lo metric 1024 pref medium',
        '2001:db8:c::/48 metric 1024 pref medium',
        '\tnexthop via 2001:db8:1::9 dev va weight 2 ',
        '\tnexthop via 2001:db8:1::8 dev va weight 1 ',
        '2001:db8:d::/48 via 2001:db8:1::8 dev va metric 1024 mtu 1400 pref medium',
        '2001:db8::/32 via 2001:db8:1::9 dev va metric 1024 pref medium',
      ].join('\n') + '\n',
    );
    expect(showRules(ns, 6)).toBe('0:\tfrom all lookup local\n32766:\tfrom all lookup main\n');
  });

  it('errors as ip -6 route get reports them, ICMPv6 for forwarded packets', () => {
    const ns = v6Host();
    route(ns, { dst: '2001:db8:9::/48', type: 'blackhole' });
    route(ns, { dst: '2001:db8:a::/48', type: 'unreachable' });
    route(ns, { dst: '2001:db8:b::/48', type: 'prohibit' });
    const out = (dst: string) => expectOne(routeOutput(ns, tcp('::', dst)).branches);
    expect(out('2001:db8:a::1')).toMatchObject({ outcome: 'unreachable', errno: 'EHOSTUNREACH' });
    expect(out('2001:db8:9::1')).toMatchObject({ outcome: 'blackhole', errno: 'EINVAL' });
    expect(out('2001:db8:b::1')).toMatchObject({ outcome: 'prohibit', errno: 'EACCES' });
    expect(out('2001:db8:77::1')).toMatchObject({ outcome: 'no-route', errno: 'ENETUNREACH' });
    const fwd = (dst: string, hops = 64) => expectOne(routeInput(ns, tcp('2001:db8:1::50', dst, { ttl: hops }), 'va').branches);
    expect(fwd('2001:db8:a::1').icmp).toMatchObject({ type: 1, code: 0 });
    expect(fwd('2001:db8:b::1').icmp).toMatchObject({ type: 1, code: 1 });
    expect(fwd('2001:db8:9::1').icmp).toBeUndefined();
  });

  it('forwards with the hop limit decremented and answers hop limit 1 with ICMPv6 time exceeded', () => {
    const ns = v6Host();
    ok(ns.addAddress('vb', '2001:db8:2::1/64'));
    route(ns, { dst: 'default', via: '2001:db8:2::ff' });
    const b = expectOne(routeInput(ns, tcp('2001:db8:1::50', '2001:db8:77::1', { ttl: 64 }), 'va').branches);
    expect(b).toMatchObject({ outcome: 'forward', outInterface: 'vb', nextHop: '2001:db8:2::ff', routeText: 'default via 2001:db8:2::ff dev vb metric 1024 pref medium' });
    expect(b.datagram.packet.ttl).toBe(63);
    expect(expectOne(routeInput(ns, tcp('2001:db8:1::50', '2001:db8:77::1', { ttl: 1 }), 'va').branches)).toMatchObject({ outcome: 'ttl-exceeded', icmp: { type: 3, code: 0 } });
    const local = expectOne(routeOutput(ns, tcp('::', '2001:db8:77::1')).branches);
    expect(local).toMatchObject({ outcome: 'forward', source: '2001:db8:2::1' });
  });
});
