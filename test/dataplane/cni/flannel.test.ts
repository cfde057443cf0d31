import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFlannel, flannelVtepMac, renderFlannelIptables } from '../../../src/dataplane/cni/flannel.js';
import { makePacket } from '../../../src/net/packet.js';
import { Netfilter, parseIptablesSave } from '../../../src/dataplane/netfilter/index.js';
import { applyHostCommand, Network } from '../../../src/dataplane/routing/index.js';
import type { CniOptions } from '../../../src/dataplane/cni/types.js';
import { addNodeNamespace, buildLab, cniCluster, expectFullMesh, kubeNode, kubePod, node, routeSequence, walkFrom } from './lab.js';

const options = (mode: string): CniOptions => ({ mode, clusterCIDRs: ['10.244.0.0/16'], serviceCIDRs: ['10.96.0.0/12'], cloud: 'none', nodeSubnet: () => '192.168.1.0/24' });

const LAN = '192.168.1.0/24';
const n1 = node('n1', '192.168.1.11', LAN, ['10.244.1.0/24']);
const n2 = node('n2', '192.168.1.12', LAN, ['10.244.2.0/24']);
const n3 = node('n3', '192.168.1.13', LAN, ['10.244.3.0/24']);

describe('flannel: IPAM and the cni0 bridge (reference §4.2)', () => {
  it('C4: the first pod on 10.244.1.0/24 is 10.244.1.2/24 behind cni0 10.244.1.1, default via .1 and the Network via .1', () => {
    const lab = buildLab(createFlannel(options('vxlan')), [n1, n2], [['a', 'n1']]);
    const a = lab.pod('a');
    expect(a.ips).toEqual(['10.244.1.2']);
    const pn = createFlannel(options('vxlan')).pod(a, n1, lab.cluster, 'sandbox-a');
    expect(pn.pod).toEqual(['ip addr add 10.244.1.2/24 dev eth0', 'ip link set eth0 up', 'ip route add 10.244.0.0/16 via 10.244.1.1 dev eth0', 'ip route add default via 10.244.1.1 dev eth0']);
    expect(lab.hosts.get('n1')!.commands).toContain('ip addr add 10.244.1.1/24 dev cni0');
    const cni0 = lab.net.namespace('n1').link('cni0')!;
    expect(cni0.addresses.map((x) => `${x.address}/${x.len}`)).toEqual(['10.244.1.1/24']);
    // The host end is a port of cni0, the pod end is eth0 in the sandbox.
    expect(lab.net.namespace('n1').link(a.hostInterface!)).toMatchObject({ kind: 'veth', master: 'cni0', up: true, mtu: 1450 });
  });

  it('C5: p1 .2, p2 .3, p1 deleted, p3 gets .4 (host-local round-robin through flannel)', () => {
    const f = createFlannel(options('vxlan'));
    const node1 = kubeNode(n1);
    const ip = (name: string) => {
      const r = f.ipam.allocate(node1, kubePod('default', name));
      return r.ok ? r.ips[0] : r.reason;
    };
    expect([ip('p1'), ip('p2')]).toEqual(['10.244.1.2', '10.244.1.3']);
    f.ipam.release(node1, kubePod('default', 'p1'));
    expect(ip('p3')).toBe('10.244.1.4');
    expect(f.ipam.name).toBe('flannel');
  });

  it('host veths are `veth` + 8 hex characters, derived from the pod, the same on every render', () => {
    const f = createFlannel(options('host-gw'));
    const p = { namespace: 'default', name: 'nginx', uid: 'u', node: 'n1', ips: ['10.244.1.2'], hostNetwork: false, hostPorts: [] };
    const name = f.hostInterfaceName!(p);
    expect(name).toMatch(/^veth[0-9a-f]{8}$/);
    expect(f.pod(p, n1, cniCluster([n1], [p]), 'x').hostInterface).toBe(name);
    expect(f.hostInterfaceName!({ ...p, name: 'nginx2' })).not.toBe(name);
  });

  it('flannel does not enforce NetworkPolicy and pod IPs are not VPC addresses', () => {
    const f = createFlannel(options('vxlan'));
    expect({ name: f.name, mode: f.mode, enforcesNetworkPolicy: f.enforcesNetworkPolicy, vpcNative: f.vpcNative }).toEqual({ name: 'flannel', mode: 'vxlan', enforcesNetworkPolicy: false, vpcNative: false });
  });
});

describe('flannel VXLAN (reference §4.3)', () => {
  it('flannel.1: VNI 1, UDP 8472, local = node IP, nolearning, lease network address /32, MTU eth0 − 50', () => {
    const lab = buildLab(createFlannel(options('vxlan')), [n1, n2], []);
    const dev = lab.net.namespace('n1').link('flannel.1')!;
    expect(dev).toMatchObject({ kind: 'vxlan', vni: 1, dstport: 8472, local: '192.168.1.11', dev: 'eth0', learning: false, mtu: 1450, up: true, mac: flannelVtepMac('n1') });
    expect(dev.addresses.map((x) => `${x.address}/${x.len}`)).toEqual(['10.244.1.0/32']);
  });

  it('per remote lease: a permanent neighbour, an FDB entry to the node IP and a route via the lease address onlink', () => {
    const f = createFlannel(options('vxlan'));
    const h = f.host(n1, cniCluster([n1, n2, n3], []));
    const mac2 = flannelVtepMac('n2');
    expect(h.commands).toEqual(
      expect.arrayContaining([
        `ip neigh replace 10.244.2.0 lladdr ${mac2} dev flannel.1 nud permanent`,
        `bridge fdb replace ${mac2} dev flannel.1 dst 192.168.1.12`,
        'ip route add 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink',
        'ip route add 10.244.3.0/24 via 10.244.3.0 dev flannel.1 onlink',
      ]),
    );
    // One route, one neighbour, one FDB entry per remote host; nothing for itself.
    expect(h.commands.filter((c) => c.includes('flannel.1 onlink'))).toHaveLength(2);
    expect(h.commands.some((c) => c.includes('10.244.1.0/24 via'))).toBe(false);
  });

  it('C6: node1 → pod 10.244.2.x leaves by flannel.1, next hop 10.244.2.0 onlink, outer UDP to node2:8472, inner source kept', () => {
    const lab = buildLab(createFlannel(options('vxlan')), [n1, n2], [['a', 'n1'], ['b', 'n2']]);
    const b = lab.pod('b');
    const fromNode = lab.net.walk({ namespace: 'n1', datagram: { packet: makePacket({ src: '0.0.0.0', dst: b.ips[0]!, proto: 'tcp', sport: 40000, dport: 80 }) } });
    expect(fromNode).toHaveLength(1);
    const first = fromNode[0]!.hops[0]!.branch!;
    expect(first.encap).toMatchObject({ device: 'flannel.1', kind: 'vxlan', innerNextHop: '10.244.2.0', innerGateway: '10.244.2.0', lladdr: flannelVtepMac('n2') });
    expect(fromNode[0]).toMatchObject({ outcome: 'local', namespace: b.netns });

    const paths = walkFrom(lab, lab.pod('a'), b.ips[0]!);
    expect(paths).toHaveLength(1);
    const p = paths[0]!;
    expect(routeSequence(p)).toEqual([
      'pod-default-a: - → eth0',
      'n1: cni0 → flannel.1',
      'n2: eth0 → local',
      'n2: flannel.1 → cni0',
      `pod-default-b: eth0 → local`,
    ]);
    const encap = p.hops.find((h) => h.branch?.encap)!.branch!;
    expect(encap.datagram.outer).toMatchObject({ kind: 'vxlan', src: '192.168.1.11', dst: '192.168.1.12', dport: 8472, vni: 1, ipProto: 17 });
    expect(encap.datagram.packet.src).toBe(lab.pod('a').ips[0]);
    expect(p.datagram.packet.src).toBe(lab.pod('a').ips[0]);
  });

  it('same-node pods are bridged on cni0 without a routing hop in the host', () => {
    const lab = buildLab(createFlannel(options('vxlan')), [n1, n2], [['a', 'n1'], ['c', 'n1']]);
    const p = walkFrom(lab, lab.pod('a'), lab.pod('c').ips[0]!)[0]!;
    expect(routeSequence(p)).toEqual(['pod-default-a: - → eth0', 'pod-default-c: eth0 → local']);
    expect(p.hops.find((h) => h.kind === 'l2')!.l2).toMatchObject({ kind: 'station', bridges: ['cni0'] });
  });

  it('a node without a podCIDR gets no flannel setup and no routes point at it', () => {
    const bare = node('n4', '192.168.1.14', LAN, []);
    const f = createFlannel(options('vxlan'));
    expect(f.host(bare, cniCluster([n1, bare], []))).toEqual({ commands: [], iptables: '' });
    expect(f.host(n1, cniCluster([n1, bare], [])).commands.some((c) => c.includes('192.168.1.14'))).toBe(false);
  });
});

describe('flannel host-gw (reference §4.4)', () => {
  it('per remote lease a route via the node IP on eth0; the path crosses eth0 without encapsulation', () => {
    const lab = buildLab(createFlannel(options('host-gw')), [n1, n2, n3], [['a', 'n1'], ['b', 'n3']]);
    expect(lab.hosts.get('n1')!.commands).toEqual(expect.arrayContaining(['ip route add 10.244.2.0/24 via 192.168.1.12 dev eth0', 'ip route add 10.244.3.0/24 via 192.168.1.13 dev eth0']));
    expect(lab.net.namespace('n1').link('flannel.1')).toBeUndefined();
    const p = walkFrom(lab, lab.pod('a'), lab.pod('b').ips[0]!)[0]!;
    expect(routeSequence(p)).toEqual(['pod-default-a: - → eth0', 'n1: cni0 → eth0', 'n3: eth0 → cni0', 'pod-default-b: eth0 → local']);
    const out = p.hops.find((h) => h.namespace === 'n1' && h.kind === 'route')!.branch!;
    expect({ gateway: out.gateway, encap: out.encap, outer: out.datagram.outer }).toEqual({ gateway: '192.168.1.13', encap: undefined, outer: undefined });
    expect(lab.net.namespace('n1').link('cni0')!.mtu).toBe(1500);
  });

  it('C8: nodes in different L3 subnets: the kernel refuses the route, flannel omits it, and pods cannot reach each other', () => {
    const far = node('n9', '192.168.2.19', '192.168.2.0/24', ['10.244.9.0/24']);
    const net = new Network();
    addNodeNamespace(net, n1);
    const refused = applyHostCommand(net, 'n1', 'ip route add 10.244.9.0/24 via 192.168.2.19 dev eth0');
    expect(refused).toEqual({ ok: false, message: expect.stringContaining('Nexthop has invalid gateway') });

    const lab = buildLab(createFlannel(options('host-gw')), [n1, far], [['a', 'n1'], ['z', 'n9']]);
    expect(lab.hosts.get('n1')!.commands.some((c) => c.startsWith('ip route add 10.244.9.0/24'))).toBe(false);
    const p = walkFrom(lab, lab.pod('a'), lab.pod('z').ips[0]!);
    expect(p.map((x) => x.outcome)).toEqual(['external']);
  });
});

describe('flannel on ACK: the alloc backend with VPC routes (reference §2.7)', () => {
  it('no remote routes on hosts; one VPC route per node podCIDR pointing at that node; the packet leaves eth0 for the VPC', () => {
    const f = createFlannel({ ...options('vpc-route'), cloud: 'alibaba' });
    const lab = buildLab(f, [n1, n2], [['a', 'n1'], ['b', 'n2']]);
    expect(lab.hosts.get('n1')!.commands.filter((c) => c.startsWith('ip route'))).toEqual([]);
    expect(f.vpcRoutes!(lab.cluster)).toEqual([
      { destination: '10.244.1.0/24', node: 'n1' },
      { destination: '10.244.2.0/24', node: 'n2' },
    ]);
    const p = walkFrom(lab, lab.pod('a'), lab.pod('b').ips[0]!);
    expect(p.map((x) => x.outcome)).toEqual(['external']);
    expect(routeSequence(p[0]!)).toEqual(['pod-default-a: - → eth0', 'n1: cni0 → eth0']);
    expect(createFlannel(options('vxlan')).vpcRoutes!(lab.cluster)).toEqual([]);
  });
});

describe('flannel masquerade (reference §4.5)', () => {
  const payload = renderFlannelIptables('10.244.0.0/16', '10.244.1.0/24');
  const ruleset = parseIptablesSave(payload);

  it('FLANNEL-POSTRTG has the reference rules in order, with flanneld comments; FLANNEL-FWD accepts to and from the Network', () => {
    expect(ruleset.ok).toBe(true);
    const lines = payload.split('\n').filter((l) => l.startsWith('-A'));
    expect(lines).toEqual([
      '-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG',
      '-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG -s 10.244.1.0/24 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
      '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
      '-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD',
      '-A FLANNEL-FWD -s 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
      '-A FLANNEL-FWD -d 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
    ]);
  });

  const nf = () =>
    new Netfilter(ruleset.ok ? ruleset.ruleset : (undefined as never), {
      node: {
        interfaces: [
          { name: 'lo', addresses: ['127.0.0.1/8'] },
          { name: 'eth0', addresses: ['192.168.1.11/24'] },
          { name: 'cni0', addresses: ['10.244.1.1/24'] },
          { name: 'flannel.1', addresses: ['10.244.1.0/32'] },
        ],
        route: (p) => (p.dst === '192.168.1.11' ? { local: true, outInterface: 'lo' } : p.dst.startsWith('10.244.1.') ? { local: false, outInterface: 'cni0' } : p.dst.startsWith('10.244.') ? { local: false, outInterface: 'flannel.1', source: '10.244.1.0' } : { local: false, outInterface: 'eth0', source: '192.168.1.11' }),
      },
    });

  it('C7: pod → 8.8.8.8 is masqueraded to the node IP', () => {
    const out = nf().evaluate(makePacket({ src: '10.244.1.2', dst: '8.8.8.8', proto: 'tcp', sport: 40000, dport: 443, inInterface: 'cni0' }), { from: 'interface' });
    expect(out.outcomes.map((o) => [o.verdict, o.packet.src, o.packet.dst])).toEqual([['ACCEPT', '192.168.1.11', '8.8.8.8']]);
  });

  it('pod → remote pod keeps its source; the host → a remote pod is masqueraded (to flannel.1 address)', () => {
    const pod = nf().evaluate(makePacket({ src: '10.244.1.2', dst: '10.244.2.7', proto: 'tcp', sport: 40000, dport: 80, inInterface: 'cni0' }), { from: 'interface' });
    expect(pod.outcomes.map((o) => o.packet.src)).toEqual(['10.244.1.2']);
    const host = nf().evaluate(makePacket({ src: '192.168.1.11', dst: '10.244.2.7', proto: 'tcp', sport: 40000, dport: 80 }), { from: 'local' });
    expect(host.outcomes.map((o) => o.packet.src)).toEqual(['10.244.1.0']);
    const marked = nf().evaluate(makePacket({ src: '10.244.1.2', dst: '8.8.8.8', proto: 'tcp', sport: 40000, dport: 443, inInterface: 'cni0', mark: 0x4000 }), { from: 'interface' });
    expect(marked.outcomes.map((o) => o.packet.src)).toEqual(['10.244.1.2']);
  });
});

describe('flannel properties', () => {
  it('for random node counts and placements, host commands apply and every pod reaches every other pod (vxlan and host-gw)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.constantFrom('vxlan', 'host-gw'),
        (count, draws, mode) => {
          const nodes = Array.from({ length: count }, (_, i) => node(`n${i}`, `192.168.1.${10 + i}`, LAN, [`10.244.${i}.0/24`]));
          const placement = draws.map((d, i) => [`p${i}`, `n${d % count}`] as const);
          const lab = buildLab(createFlannel(options(mode)), nodes, placement);
          expectFullMesh(lab);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('rendering is deterministic: the same inputs give the same commands', () => {
    const a = createFlannel(options('vxlan')).host(n2, cniCluster([n1, n2, n3], []));
    const b = createFlannel(options('vxlan')).host(n2, cniCluster([n1, n2, n3], []));
    expect(a).toEqual(b);
  });
});
