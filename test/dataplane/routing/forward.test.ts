import { describe, expect, it } from 'vitest';
import {
  decapsulate,
  fraction,
  Network,
  outerPacket,
  routeInput,
  routeOutput,
  routePacket,
  type Namespace,
  type RouteBranch,
} from '../../../src/dataplane/routing/index.js';
import { expectOne, ok, route, tcp, udp } from './helpers.js';

/** A router with two LANs and a default route. */
function router(opts: { rpFilter?: 0 | 1 | 2; ipForward?: boolean } = {}): Namespace {
  const ns = new Network().createNamespace('r', { ipForward: opts.ipForward ?? true, all: { rpFilter: opts.rpFilter ?? 0 } });
  ok(ns.addLink({ name: 'eth0', kind: 'ether' }));
  ok(ns.addLink({ name: 'eth1', kind: 'ether' }));
  ok(ns.addAddress('eth0', '198.18.0.1/24'));
  ok(ns.addAddress('eth1', '198.18.1.1/24'));
  route(ns, { dst: 'default', via: '198.18.0.254' });
  return ns;
}

describe('the forwarding step', () => {
  it('forwards out the route interface to the gateway, decrementing the TTL', () => {
    const ns = router();
    const b = expectOne(routeInput(ns, tcp('198.18.1.50', '203.0.113.9', { ttl: 64 }), 'eth1').branches);
    expect(b).toMatchObject({ outcome: 'forward', outInterface: 'eth0', nextHop: '198.18.0.254', probabilityValue: 1 });
    expect(b.datagram.packet.ttl).toBe(63);
    expect(b.datagram.packet.outInterface).toBe('eth0');
    expect(b.routeText).toBe('default via 198.18.0.254 dev eth0 ');
    expect(b.ruleText).toBe('32766:\tfrom all lookup main');
  });

  it('a directly connected destination is its own next hop', () => {
    const b = expectOne(routeInput(router(), tcp('198.18.0.50', '198.18.1.60'), 'eth0').branches);
    expect(b).toMatchObject({ outcome: 'forward', outInterface: 'eth1', nextHop: '198.18.1.60' });
  });

  it('delivers packets for a local address locally, whatever the TTL', () => {
    const b = expectOne(routeInput(router(), tcp('198.18.1.50', '198.18.0.1', { ttl: 1 }), 'eth1').branches);
    expect(b.outcome).toBe('local');
    expect(b.datagram.packet.ttl).toBe(1);
  });

  it('drops a packet whose TTL would reach 0 and sends ICMP time exceeded', () => {
    const b = expectOne(routeInput(router(), tcp('198.18.1.50', '203.0.113.9', { ttl: 1 }), 'eth1').branches);
    expect(b).toMatchObject({ outcome: 'ttl-exceeded', icmp: { type: 11, code: 0 } });
    expect(expectOne(routeInput(router(), tcp('198.18.1.50', '203.0.113.9', { ttl: 2 }), 'eth1').branches).datagram.packet.ttl).toBe(1);
  });

  it('answers failed lookups with the ICMP the kernel sends (none for blackhole)', () => {
    const ns = router();
    ok(ns.deleteRoute({ family: 4, dst: { family: 4, net: 0, len: 0 } }));
    route(ns, { dst: '198.18.60.0/24', type: 'unreachable' });
    route(ns, { dst: '198.18.61.0/24', type: 'prohibit' });
    route(ns, { dst: '198.18.62.0/24', type: 'blackhole' });
    const at = (dst: string) => expectOne(routeInput(ns, tcp('198.18.1.50', dst), 'eth1').branches);
    expect(at('203.0.113.9')).toMatchObject({ outcome: 'no-route', icmp: { type: 3, code: 0 } });
    expect(at('198.18.60.1')).toMatchObject({ outcome: 'unreachable', icmp: { type: 3, code: 1 } });
    expect(at('198.18.61.1')).toMatchObject({ outcome: 'prohibit', icmp: { type: 3, code: 13 } });
    expect(at('198.18.62.1').outcome).toBe('blackhole');
    expect(at('198.18.62.1').icmp).toBeUndefined();
  });

  it('a namespace that does not forward drops transit traffic without ICMP', () => {
    const b = expectOne(routeInput(router({ ipForward: false }), tcp('198.18.1.50', '203.0.113.9'), 'eth1').branches);
    expect(b.outcome).toBe('forwarding-disabled');
    expect(b.icmp).toBeUndefined();
  });

  it('spreads flows over multipath nexthops in proportion to their weights', () => {
    const ns = router();
    route(ns, { dst: '198.18.70.0/24', nexthops: [{ via: '198.18.0.2', weight: 1 }, { via: '198.18.1.3', weight: 3 }] });
    const bs = routeInput(ns, tcp('198.18.1.50', '198.18.70.9'), 'eth1').branches;
    expect(bs.map((b) => [b.outInterface, b.nextHop, b.probability])).toEqual([
      ['eth0', '198.18.0.2', fraction(1n, 4n)],
      ['eth1', '198.18.1.3', fraction(3n, 4n)],
    ]);
    expect(bs[0]!.routeText).toBe('198.18.70.0/24 \n\tnexthop via 198.18.0.2 dev eth0 weight 1 \n\tnexthop via 198.18.1.3 dev eth1 weight 3 ');
  });
});

describe('source checks', () => {
  it('strict rp_filter drops a source whose route back leaves by another interface; loose accepts it', () => {
    const strict = expectOne(routeInput(router({ rpFilter: 1 }), tcp('198.18.1.50', '198.18.0.9'), 'eth0').branches);
    expect(strict.outcome).toBe('rp-filter');
    const loose = expectOne(routeInput(router({ rpFilter: 2 }), tcp('198.18.1.50', '198.18.0.9'), 'eth0').branches);
    expect(loose.outcome).toBe('forward');
    const strictOk = expectOne(routeInput(router({ rpFilter: 1 }), tcp('198.18.1.50', '198.18.0.9'), 'eth1').branches);
    expect(strictOk.outcome).toBe('forward');
  });

  it('loose rp_filter still drops a source with no route back at all', () => {
    const ns = router({ rpFilter: 2 });
    ok(ns.deleteRoute({ family: 4, dst: { family: 4, net: 0, len: 0 } }));
    expect(expectOne(routeInput(ns, tcp('203.0.113.7', '198.18.1.9'), 'eth0').branches).outcome).toBe('rp-filter');
    const off = router();
    ok(off.deleteRoute({ family: 4, dst: { family: 4, net: 0, len: 0 } }));
    expect(expectOne(routeInput(off, tcp('203.0.113.7', '198.18.1.9'), 'eth0').branches).outcome).toBe('forward');
  });

  it('rp_filter is max(all, interface)', () => {
    const ns = router();
    ns.setConf('eth0', { rpFilter: 1 });
    expect(expectOne(routeInput(ns, tcp('198.18.1.50', '198.18.0.9'), 'eth0').branches).outcome).toBe('rp-filter');
  });

  it('drops martians: our own address as source, loopback and zero-network addresses', () => {
    const ns = router();
    const at = (src: string, dst: string) => expectOne(routeInput(ns, tcp(src, dst), 'eth0').branches).outcome;
    expect(at('198.18.1.1', '198.18.0.1')).toBe('martian-source');
    expect(at('127.0.0.1', '198.18.0.1')).toBe('martian-source');
    expect(at('198.18.0.50', '127.0.0.1')).toBe('martian-destination');
    expect(at('0.1.2.3', '198.18.0.1')).toBe('martian-source');
    expect(at('198.18.0.50', '0.0.0.9')).toBe('martian-destination');
    expect(at('224.0.0.5', '198.18.0.1')).toBe('martian-source');
    expect(at('198.18.0.50', '198.18.0.255')).toBe('broadcast');
  });
});

describe('locally generated packets', () => {
  it('picks the source address of the output interface and reports errors as errno', () => {
    const ns = router();
    route(ns, { dst: '198.18.60.0/24', type: 'unreachable' });
    const b = expectOne(routeOutput(ns, tcp('0.0.0.0', '203.0.113.9')).branches);
    expect(b).toMatchObject({ outcome: 'forward', outInterface: 'eth0', nextHop: '198.18.0.254', source: '198.18.0.1' });
    expect(b.datagram.packet.src).toBe('198.18.0.1');
    expect(b.datagram.packet.ttl).toBe(64);
    expect(expectOne(routeOutput(ns, tcp('0.0.0.0', '198.18.60.1')).branches)).toMatchObject({ outcome: 'unreachable', errno: 'EHOSTUNREACH' });
    expect(expectOne(routeOutput(ns, tcp('203.0.113.1', '198.18.1.9')).branches)).toMatchObject({ outcome: 'martian-source', errno: 'EINVAL' });
    expect(expectOne(routeOutput(ns, tcp('0.0.0.0', '198.18.1.1')).branches)).toMatchObject({ outcome: 'local', outInterface: 'lo', source: '198.18.1.1' });
  });
});

// ------------------------------------------------------------------------------- CNI set-ups

const MAC1 = '0a:00:00:00:00:01';
const MAC2 = '0a:00:00:00:00:02';

interface Cluster {
  net: Network;
  node1: Namespace;
  node2: Namespace;
}

function nodes(): Cluster {
  const net = new Network();
  const node1 = net.createNamespace('node1');
  const node2 = net.createNamespace('node2');
  for (const [ns, ip] of [
    [node1, '198.18.0.11'],
    [node2, '198.18.0.12'],
  ] as const) {
    ok(ns.addLink({ name: 'eth0', kind: 'ether', segment: 'lan' }));
    ok(ns.addAddress('eth0', `${ip}/24`));
    route(ns, { dst: 'default', via: '198.18.0.1' });
  }
  return { net, node1, node2 };
}

/** A pod namespace as the bridge plugin sets it up: eth0 in the node subnet, default via the bridge. */
function flannelPod(net: Network, node: string, name: string, ip: string, gw: string, hostVeth: string): Namespace {
  const pod = net.createNamespace(name, { ipForward: false });
  ok(net.addVethPair({ namespace: name, name: 'eth0', mtu: 1450 }, { namespace: node, name: hostVeth, mtu: 1450, master: 'cni0' }));
  ok(pod.addAddress('eth0', `${ip}/24`));
  route(pod, { dst: 'default', via: gw });
  route(pod, { dst: '10.244.0.0/16', via: gw });
  return pod;
}

function flannelVxlan(): Cluster {
  const c = nodes();
  const spec = [
    [c.node1, '198.18.0.11', 1, MAC1, c.node2, '198.18.0.12', 2, MAC2],
    [c.node2, '198.18.0.12', 2, MAC2, c.node1, '198.18.0.11', 1, MAC1],
  ] as const;
  for (const [ns, ip, y, mac, , remoteIp, ry, rmac] of spec) {
    ok(ns.addLink({ name: 'cni0', kind: 'bridge', mtu: 1450 }));
    ok(ns.addAddress('cni0', `10.244.${y}.1/24`));
    ok(ns.addLink({ name: 'flannel.1', kind: 'vxlan', vni: 1, local: ip, dev: 'eth0', mac, learning: false }));
    ok(ns.addAddress('flannel.1', `10.244.${y}.0/32`));
    // What flannel programs per remote lease: route, permanent neighbour, FDB entry.
    route(ns, { dst: `10.244.${ry}.0/24`, via: `10.244.${ry}.0`, dev: 'flannel.1', onlink: true });
    ns.addNeighbour({ dev: 'flannel.1', address: `10.244.${ry}.0`, lladdr: rmac, state: 'PERMANENT' });
    ns.addFdb({ dev: 'flannel.1', mac: rmac, dst: remoteIp });
  }
  flannelPod(c.net, 'node1', 'pod-a', '10.244.1.2', '10.244.1.1', 'veth-a');
  flannelPod(c.net, 'node1', 'pod-c', '10.244.1.3', '10.244.1.1', 'veth-c');
  flannelPod(c.net, 'node2', 'pod-b', '10.244.2.7', '10.244.2.1', 'veth-b');
  return c;
}

describe('flannel VXLAN', () => {
  it('node1 sends pod traffic for node2 into flannel.1: outer UDP 8472 from node1 to node2, inner source kept', () => {
    const { node1 } = flannelVxlan();
    const b = expectOne(routeInput(node1, tcp('10.244.1.2', '10.244.2.7', { ttl: 64 }), 'cni0').branches);
    expect(b.outcome).toBe('forward');
    expect(b.routeText).toBe('10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink ');
    expect(b.encap).toEqual({ device: 'flannel.1', kind: 'vxlan', innerNextHop: '10.244.2.0', innerGateway: '10.244.2.0', lladdr: MAC2 });
    expect(b.datagram.outer).toMatchObject({ kind: 'vxlan', src: '198.18.0.11', dst: '198.18.0.12', ipProto: 17, dport: 8472, vni: 1, ttl: 64 });
    expect(b).toMatchObject({ outInterface: 'eth0', nextHop: '198.18.0.12' });
    expect(b.datagram.packet).toMatchObject({ src: '10.244.1.2', dst: '10.244.2.7', ttl: 63 });
    expect(outerPacket(b.datagram.outer!)).toMatchObject({ proto: 'udp', src: '198.18.0.11', dst: '198.18.0.12', dport: 8472 });
  });

  it('node2 decapsulates on flannel.1 and bridges the inner packet to the pod', () => {
    const { net, node1, node2 } = flannelVxlan();
    const out = expectOne(routeInput(node1, tcp('10.244.1.2', '10.244.2.7'), 'cni0').branches);
    const arrived = expectOne(routeInput(node2, out.datagram, 'eth0').branches);
    expect(arrived.outcome).toBe('local');
    const dec = decapsulate(node2, arrived.datagram)!;
    expect(dec.iif).toBe('flannel.1');
    const inner = expectOne(routeInput(node2, dec.datagram, dec.iif).branches);
    expect(inner).toMatchObject({ outcome: 'forward', outInterface: 'cni0', nextHop: '10.244.2.7' });
    expect(net.deliver('node2', 'cni0', '10.244.2.7')).toEqual({ kind: 'station', namespace: 'pod-b', iif: 'eth0', bridges: ['cni0'] });
  });

  it('a delivery answer follows link changes made after it was given (the answer is remembered until the link layer changes)', () => {
    const { net, node2 } = flannelVxlan();
    expect(net.deliver('node2', 'cni0', '10.244.2.7')).toMatchObject({ kind: 'station', namespace: 'pod-b' });
    // The pod's veth, cni0's only port, goes down on the node: the bridge loses its carrier.
    ok(node2.setLinkUp('veth-b', false));
    expect(net.deliver('node2', 'cni0', '10.244.2.7')).toEqual({ kind: 'link-down', link: 'cni0' });
    ok(node2.setLinkUp('veth-b', true));
    expect(net.deliver('node2', 'cni0', '10.244.2.7')).toMatchObject({ kind: 'station', namespace: 'pod-b' });
    // The pod's namespace is deleted: its veth pair goes with it.
    net.deleteNamespace('pod-b');
    expect(net.deliver('node2', 'cni0', '10.244.2.7').kind).not.toBe('station');
  });

  it('walks pod-a to pod-b across nodes: bridge, route, VXLAN, decap, route, bridge', () => {
    const { net } = flannelVxlan();
    const path = expectOne(net.walk({ namespace: 'pod-a', datagram: tcp('10.244.1.2', '10.244.2.7') }));
    expect(path).toMatchObject({ outcome: 'local', namespace: 'pod-b', probabilityValue: 1 });
    expect(path.datagram.packet).toMatchObject({ src: '10.244.1.2', dst: '10.244.2.7', ttl: 62 });
    expect(path.hops.map((h) => `${h.namespace}:${h.kind}${h.iif ? `@${h.iif}` : ''}`)).toEqual([
      'pod-a:route',
      'pod-a:l2',
      'node1:route@cni0',
      'node1:l2',
      'node2:route@eth0',
      'node2:decap@flannel.1',
      'node2:route@flannel.1',
      'node2:l2',
      'pod-b:route@eth0',
    ]);
  });

  it('same-node pods are bridged on cni0 without a routing hop on the node', () => {
    const { net } = flannelVxlan();
    const path = expectOne(net.walk({ namespace: 'pod-a', datagram: tcp('10.244.1.2', '10.244.1.3') }));
    expect(path).toMatchObject({ outcome: 'local', namespace: 'pod-c' });
    expect(path.hops.map((h) => h.namespace)).toEqual(['pod-a', 'pod-a', 'pod-c']);
    expect(path.hops[1]!.l2).toEqual({ kind: 'station', namespace: 'pod-c', iif: 'eth0', bridges: ['cni0'] });
    expect(path.datagram.packet.ttl).toBe(64);
  });

  it('without the neighbour entry the packet cannot be encapsulated', () => {
    const net = new Network();
    const ns = net.createNamespace('n');
    ok(ns.addLink({ name: 'eth0', kind: 'ether' }));
    ok(ns.addAddress('eth0', '198.18.0.11/24'));
    ok(ns.addLink({ name: 'flannel.1', kind: 'vxlan', vni: 1, local: '198.18.0.11' }));
    ok(ns.addAddress('flannel.1', '10.244.1.0/32'));
    route(ns, { dst: '10.244.2.0/24', via: '10.244.2.0', dev: 'flannel.1', onlink: true });
    const b = expectOne(routeInput(ns, tcp('10.244.1.2', '10.244.2.7'), 'eth0').branches);
    expect(b.outcome).toBe('neighbour-unresolved');
    ns.addNeighbour({ dev: 'flannel.1', address: '10.244.2.0', lladdr: MAC2, state: 'PERMANENT' });
    expect(expectOne(routeInput(ns, tcp('10.244.1.2', '10.244.2.7'), 'eth0').branches).outcome).toBe('fdb-miss');
  });
});

describe('flannel host-gw', () => {
  function hostGw(): Cluster {
    const c = nodes();
    for (const [ns, y, ry, rip] of [
      [c.node1, 1, 2, '198.18.0.12'],
      [c.node2, 2, 1, '198.18.0.11'],
    ] as const) {
      ok(ns.addLink({ name: 'cni0', kind: 'bridge' }));
      ok(ns.addAddress('cni0', `10.244.${y}.1/24`));
      route(ns, { dst: `10.244.${ry}.0/24`, via: rip, dev: 'eth0' });
    }
    flannelPod(c.net, 'node1', 'pod-a', '10.244.1.2', '10.244.1.1', 'veth-a');
    flannelPod(c.net, 'node2', 'pod-b', '10.244.2.7', '10.244.2.1', 'veth-b');
    return c;
  }

  it('routes to the remote node IP over eth0 without encapsulation', () => {
    const { node1, net } = hostGw();
    const b = expectOne(routeInput(node1, tcp('10.244.1.2', '10.244.2.7'), 'cni0').branches);
    expect(b).toMatchObject({ outcome: 'forward', outInterface: 'eth0', nextHop: '198.18.0.12', routeText: '10.244.2.0/24 via 198.18.0.12 dev eth0 ' });
    expect(b.datagram.outer).toBeUndefined();
    const path = expectOne(net.walk({ namespace: 'pod-a', datagram: tcp('10.244.1.2', '10.244.2.7') }));
    expect(path).toMatchObject({ outcome: 'local', namespace: 'pod-b' });
  });

  it('cannot add a route via a node in another L3 subnet (host-gw needs L2 adjacency)', () => {
    const { node1 } = hostGw();
    expect(node1.addRoute({ dst: '10.244.3.0/24', via: '198.18.5.13', dev: 'eth0' })).toMatchObject({ ok: false, message: 'Error: Nexthop has invalid gateway.' });
  });
});

describe('Calico (IPIP)', () => {
  function calico(): Cluster {
    const c = nodes();
    const blocks = [
      [c.node1, '10.0.0', '10.0.1', '198.18.0.12'],
      [c.node2, '10.0.1', '10.0.0', '198.18.0.11'],
    ] as const;
    for (const [ns, mine, theirs, peer] of blocks) {
      ok(ns.addLink({ name: 'tunl0', kind: 'ipip', mtu: 1480 }));
      ok(ns.addAddress('tunl0', `${mine}.1/32`));
      route(ns, { dst: `${mine}.0/26`, type: 'blackhole', proto: 'bird' });
      route(ns, { dst: `${theirs}.0/26`, via: peer, dev: 'tunl0', onlink: true, proto: 'bird' });
    }
    for (const [node, name, ip, veth] of [
      ['node1', 'web', '10.0.0.5', 'cali1234567890a'],
      ['node2', 'db', '10.0.1.7', 'calib0987654321'],
    ] as const) {
      const pod = c.net.createNamespace(name, { ipForward: false });
      ok(c.net.addVethPair({ namespace: name, name: 'eth0' }, { namespace: node, name: veth, proxyArp: true }));
      ok(pod.addAddress('eth0', `${ip}/32`));
      route(pod, { dst: '169.254.1.1', dev: 'eth0', scope: 'link' });
      route(pod, { dst: 'default', via: '169.254.1.1', dev: 'eth0' });
      route(c.net.namespace(node), { dst: ip, dev: veth, scope: 'link' });
    }
    return c;
  }

  it('a local pod has a /32 route via its cali interface; the rest of the block is a blackhole', () => {
    const { node1 } = calico();
    expect(expectOne(routeInput(node1, tcp('198.18.0.50', '10.0.0.5'), 'eth0').branches)).toMatchObject({ outcome: 'forward', outInterface: 'cali1234567890a' });
    const hole = expectOne(routeInput(node1, tcp('198.18.0.50', '10.0.0.9'), 'eth0').branches);
    expect(hole).toMatchObject({ outcome: 'blackhole', routeText: 'blackhole 10.0.0.0/26 proto bird ' });
    expect(hole.icmp).toBeUndefined();
  });

  it('a remote block goes into tunl0: IP-in-IP (protocol 4) to the peer node, TTL inherited', () => {
    const { node1 } = calico();
    const b = expectOne(routeInput(node1, tcp('10.0.0.5', '10.0.1.7', { ttl: 64 }), 'cali1234567890a').branches);
    expect(b).toMatchObject({ outcome: 'forward', outInterface: 'eth0', nextHop: '198.18.0.12', routeText: '10.0.1.0/26 via 198.18.0.12 dev tunl0 proto bird onlink ' });
    expect(b.datagram.outer).toMatchObject({ kind: 'ipip', ipProto: 4, src: '198.18.0.11', dst: '198.18.0.12', ttl: 63 });
  });

  it('walks web to db: proxy ARP for 169.254.1.1, IPIP across, decap on tunl0, /32 route to the pod', () => {
    const { net } = calico();
    const path = expectOne(net.walk({ namespace: 'web', datagram: udp('10.0.0.5', '10.0.1.7', 5432) }));
    expect(path).toMatchObject({ outcome: 'local', namespace: 'db' });
    expect(path.hops.filter((h) => h.kind === 'decap').map((h) => h.iif)).toEqual(['tunl0']);
    expect(path.hops[1]!.l2).toMatchObject({ kind: 'station', namespace: 'node1', iif: 'cali1234567890a' });
  });
});

describe('weighted branches compose through tunnels', () => {
  it('an ECMP underlay route splits the encapsulated packet too', () => {
    const net = new Network();
    const ns = net.createNamespace('n');
    ok(ns.addLink({ name: 'eth0', kind: 'ether' }));
    ok(ns.addLink({ name: 'eth1', kind: 'ether' }));
    ok(ns.addAddress('eth0', '198.18.0.11/24'));
    ok(ns.addAddress('eth1', '198.18.1.11/24'));
    route(ns, { dst: '198.18.9.0/24', nexthops: [{ via: '198.18.0.1' }, { via: '198.18.1.1' }] });
    ok(ns.addLink({ name: 'tunl0', kind: 'ipip' }));
    ok(ns.addAddress('tunl0', '10.0.0.1/32'));
    route(ns, { dst: '10.0.1.0/26', via: '198.18.9.12', dev: 'tunl0', onlink: true });
    const bs: readonly RouteBranch[] = routeInput(ns, tcp('198.18.0.50', '10.0.1.7'), 'eth0').branches;
    expect(bs.map((b) => [b.outInterface, b.probability])).toEqual([
      ['eth0', fraction(1n, 2n)],
      ['eth1', fraction(1n, 2n)],
    ]);
    expect(bs.map((b) => b.datagram.outer?.src)).toEqual(['198.18.0.11', '198.18.1.11']);
  });
});

describe('AWS VPC CNI across two nodes of one subnet', () => {
  it('a pod IP on node B\'s secondary ENI is reached through the VPC, then rule 512 sends it to the pod', () => {
    const net = new Network();
    const nodeA = net.createNamespace('node-a');
    const nodeB = net.createNamespace('node-b');
    ok(nodeA.addLink({ name: 'eth0', kind: 'ether', segment: 'subnet-a', mtu: 9001, cloudIps: ['192.168.5.10'] }));
    ok(nodeA.addAddress('eth0', '192.168.10.20/19'));
    route(nodeA, { dst: 'default', via: '192.168.0.1', dev: 'eth0' });
    ok(nodeB.addLink({ name: 'eth0', kind: 'ether', segment: 'subnet-a', mtu: 9001 }));
    ok(nodeB.addLink({ name: 'eth1', kind: 'ether', segment: 'subnet-a', mtu: 9001, cloudIps: ['192.168.25.40'] }));
    ok(nodeB.addAddress('eth0', '192.168.11.20/19'));
    ok(nodeB.addAddress('eth1', '192.168.20.30/19'));
    route(nodeB, { dst: 'default', via: '192.168.0.1', dev: 'eth0' });
    ok(nodeB.deleteRoute({ family: 4, dst: { family: 4, net: (192 << 24 | 168 << 16) >>> 0, len: 19 }, dev: 'eth1' }));
    route(nodeB, { dst: '192.168.0.1', dev: 'eth1', scope: 'link', table: 2 });
    route(nodeB, { dst: 'default', via: '192.168.0.1', dev: 'eth1', table: 2 });
    for (const [node, name, ip, veth, table] of [
      ['node-a', 'pod-a', '192.168.5.10', 'eni0a', undefined],
      ['node-b', 'pod-b', '192.168.25.40', 'eni0b', 2],
    ] as const) {
      const pod = net.createNamespace(name, { ipForward: false });
      ok(net.addVethPair({ namespace: name, name: 'eth0', mac: `02:00:00:00:00:${name === 'pod-a' ? 'aa' : 'bb'}` }, { namespace: node, name: veth, mac: `02:00:00:00:01:${name === 'pod-a' ? 'aa' : 'bb'}` }));
      ok(pod.addAddress('eth0', `${ip}/32`));
      route(pod, { dst: '169.254.1.1', dev: 'eth0', scope: 'link' });
      route(pod, { dst: 'default', via: '169.254.1.1', dev: 'eth0' });
      // The CNI's static ARP entry: the gateway is the host end of the veth.
      pod.addNeighbour({ dev: 'eth0', address: '169.254.1.1', lladdr: `02:00:00:00:01:${name === 'pod-a' ? 'aa' : 'bb'}`, state: 'PERMANENT' });
      const host = net.namespace(node);
      route(host, { dst: ip, dev: veth, scope: 'link' });
      ok(host.addRule({ priority: 512, to: ip, table: 254 }));
      if (table) ok(host.addRule({ priority: 1536, from: ip, table }));
    }
    const there = expectOne(net.walk({ namespace: 'pod-a', datagram: tcp('192.168.5.10', '192.168.25.40') }));
    expect(there).toMatchObject({ outcome: 'local', namespace: 'pod-b' });
    expect(there.hops.filter((h) => h.kind === 'l2').map((h) => h.l2)).toEqual([
      { kind: 'station', namespace: 'node-a', iif: 'eni0a', bridges: [] },
      { kind: 'station', namespace: 'node-b', iif: 'eth1', bridges: [] },
      { kind: 'station', namespace: 'pod-b', iif: 'eth0', bridges: [] },
    ]);
    // Traffic out of the VPC leaves node B by eth1 (rule 1536, table 2) to the VPC router, which is outside the model.
    net.addExternalStation('subnet-a', '192.168.0.1');
    const back = expectOne(net.walk({ namespace: 'pod-b', datagram: tcp('192.168.25.40', '8.8.8.8') }));
    expect(back).toMatchObject({ outcome: 'external' });
    expect(back.hops.find((h) => h.namespace === 'node-b' && h.kind === 'route')!.branch).toMatchObject({ outInterface: 'eth1', table: 2, ruleText: '1536:\tfrom 192.168.25.40 lookup 2' });
  });
});

describe('kube-ipvs0 (dummy)', () => {
  it('holds Service IPs as local addresses even while down: packets to them are delivered locally', () => {
    const ns = new Network().createNamespace('node');
    ok(ns.addLink({ name: 'eth0', kind: 'ether' }));
    ok(ns.addAddress('eth0', '198.18.0.11/24'));
    ok(ns.addLink({ name: 'kube-ipvs0', kind: 'dummy', up: false, txqlen: 0 }));
    ok(ns.addAddress('kube-ipvs0', '10.96.0.1/32'));
    ok(ns.addAddress('kube-ipvs0', '10.96.0.10/32'));
    expect(expectOne(routeInput(ns, tcp('198.18.0.50', '10.96.0.10'), 'eth0').branches)).toMatchObject({
      outcome: 'local',
      routeText: 'local 10.96.0.10 dev kube-ipvs0 table local proto kernel scope host src 10.96.0.10 ',
    });
  });
});

describe('routePacket', () => {
  it('routes by the packet in-interface, or as locally sent when it has none; bridge ports count as the bridge', () => {
    const { node1 } = flannelVxlan();
    const arriving = tcp('10.244.1.2', '10.244.2.7', { inInterface: 'veth-a' }).packet;
    expect(expectOne(routePacket(node1, arriving).branches)).toMatchObject({ outcome: 'forward', encap: { device: 'flannel.1' } });
    const sent = tcp('0.0.0.0', '10.244.1.2').packet;
    expect(expectOne(routePacket(node1, sent).branches)).toMatchObject({ outcome: 'forward', outInterface: 'cni0', source: '10.244.1.1' });
  });
});
