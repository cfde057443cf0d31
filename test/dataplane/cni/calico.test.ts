import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { calicoVtepMac, createCalico, renderCalicoNat } from '../../../src/dataplane/cni/calico.js';
import { calicoVethName } from '../../../src/dataplane/cni/names.js';
import type { CniOptions } from '../../../src/dataplane/cni/types.js';
import { Netfilter, parseIptablesSave } from '../../../src/dataplane/netfilter/index.js';
import { makePacket } from '../../../src/net/packet.js';
import { buildLab, cniCluster, expectFullMesh, node, routeSequence, walkFrom } from './lab.js';

const options = (mode: string): CniOptions => ({ mode, clusterCIDRs: ['10.244.0.0/16'], serviceCIDRs: ['10.96.0.0/12'], cloud: 'none', nodeSubnet: () => LAN });

const LAN = '192.168.1.0/24';
// Calico ignores node.spec.podCIDR; the nodes still carry one (kubeadm allocates them).
const n1 = node('n1', '192.168.1.11', LAN, ['10.244.128.0/24']);
const n2 = node('n2', '192.168.1.12', LAN, ['10.244.129.0/24']);
const n3 = node('n3', '192.168.1.13', LAN, ['10.244.130.0/24']);

describe('Calico pod interface and host veth (reference §4.6)', () => {
  it('C14: the host veth of default/nginx is cali + sha1("default.nginx")[:11]', () => {
    // echo -n default.nginx | sha1sum → c440f455693b69cdd48a37aa5ecd78038f50413d
    expect(calicoVethName('default', 'nginx')).toBe('calic440f455693');
    const c = createCalico(options('ipip'));
    expect(c.hostInterfaceName!({ namespace: 'kube-system', name: 'coredns-abc', uid: 'u', node: 'n1', ips: [], hostNetwork: false, hostPorts: [] })).toBe('cali3d5d6ab04b5');
  });

  it('the pod gets eth0 /32, 169.254.1.1 scope link and default via 169.254.1.1; the host a /32 route to the cali veth with proxy ARP', () => {
    const lab = buildLab(createCalico(options('ipip')), [n1, n2], [['nginx', 'n1']]);
    const p = lab.pod('nginx');
    expect(p.ips).toEqual(['10.244.0.1']);
    const c = createCalico(options('ipip'));
    const pn = c.pod(p, n1, lab.cluster, 'sb');
    expect(pn.pod).toEqual(['ip link set eth0 up', 'ip addr add 10.244.0.1/32 dev eth0', 'ip route add 169.254.1.1 dev eth0 scope link', 'ip route add default via 169.254.1.1 dev eth0']);
    expect(pn.host).toContain('ip route add 10.244.0.1 dev calic440f455693 scope link');
    expect(pn.host).toContain('sysctl -w net.ipv4.conf.calic440f455693.proxy_arp=1');
    expect(lab.net.namespace('n1').link('calic440f455693')).toMatchObject({ kind: 'veth', proxyArp: true, mac: 'ee:ee:ee:ee:ee:ee', mtu: 1480, up: true });
    const podNs = lab.net.namespace(p.netns);
    expect(podNs.link('eth0')!.addresses.map((a) => `${a.address}/${a.len}`)).toEqual(['10.244.0.1/32']);
  });

  it('Calico enforces NetworkPolicy; pod IPs are not VPC addresses', () => {
    const c = createCalico(options('none'));
    expect({ name: c.name, mode: c.mode, enforcesNetworkPolicy: c.enforcesNetworkPolicy, vpcNative: c.vpcNative }).toEqual({ name: 'calico', mode: 'none', enforcesNetworkPolicy: true, vpcNative: false });
    expect(createCalico({ ...options(''), mode: '' }).mode).toBe('ipip');
  });
});

describe('Calico IPIP (default, IPIP Always)', () => {
  it('blackhole for local blocks, proto bird; remote blocks via the node IP on tunl0 onlink', () => {
    const lab = buildLab(createCalico(options('ipip')), [n1, n2], [['a', 'n1'], ['b', 'n2']]);
    const h = lab.hosts.get('n1')!.commands;
    expect(h).toEqual(
      expect.arrayContaining([
        'ip link add tunl0 type ipip',
        'ip addr add 10.244.0.0/32 dev tunl0',
        'ip route add blackhole 10.244.0.0/26 proto bird',
        'ip route add 10.244.0.64/26 via 192.168.1.12 dev tunl0 proto bird onlink',
      ]),
    );
  });

  it('C10: pod on A reaches pod on B through tunl0: IP-in-IP (proto 4) to node B, inner source kept', () => {
    const lab = buildLab(createCalico(options('ipip')), [n1, n2], [['a', 'n1'], ['b', 'n2']]);
    const a = lab.pod('a');
    const b = lab.pod('b');
    const p = walkFrom(lab, a, b.ips[0]!);
    expect(p).toHaveLength(1);
    expect(routeSequence(p[0]!)).toEqual([`pod-default-a: - → eth0`, `n1: ${a.hostInterface} → tunl0`, 'n2: eth0 → local', `n2: tunl0 → ${b.hostInterface}`, 'pod-default-b: eth0 → local']);
    const encap = p[0]!.hops.find((h) => h.branch?.encap)!.branch!;
    expect(encap.encap).toMatchObject({ device: 'tunl0', kind: 'ipip', innerGateway: '192.168.1.12' });
    expect(encap.datagram.outer).toMatchObject({ kind: 'ipip', ipProto: 4, src: '192.168.1.11', dst: '192.168.1.12' });
    expect(p[0]!.datagram.packet.src).toBe(a.ips[0]);
  });

  it('the pod reaches 169.254.1.1 through proxy ARP on its cali veth (the host answers)', () => {
    const lab = buildLab(createCalico(options('ipip')), [n1, n2], [['a', 'n1'], ['c', 'n1']]);
    const p = walkFrom(lab, lab.pod('a'), lab.pod('c').ips[0]!)[0]!;
    const l2 = p.hops.find((h) => h.kind === 'l2')!.l2!;
    expect(l2).toMatchObject({ kind: 'station', namespace: 'n1', iif: lab.pod('a').hostInterface });
    expect(routeSequence(p)).toEqual(['pod-default-a: - → eth0', `n1: ${lab.pod('a').hostInterface} → ${lab.pod('c').hostInterface}`, 'pod-default-c: eth0 → local']);
  });

  it('C9: a node whose first block is full claims a second one; other nodes route both blocks to it', () => {
    const placement = Array.from({ length: 65 }, (_, i) => [`p${i}`, 'n2'] as const);
    const lab = buildLab(createCalico(options('ipip')), [n1, n2], [['a', 'n1'], ...placement]);
    const h1 = lab.hosts.get('n1')!.commands;
    expect(h1.filter((c) => c.includes('dev tunl0 proto bird onlink'))).toEqual([
      'ip route add 10.244.0.64/26 via 192.168.1.12 dev tunl0 proto bird onlink',
      'ip route add 10.244.0.128/26 via 192.168.1.12 dev tunl0 proto bird onlink',
    ]);
    expect(lab.hosts.get('n2')!.commands.filter((c) => c.startsWith('ip route add blackhole'))).toEqual(['ip route add blackhole 10.244.0.64/26 proto bird', 'ip route add blackhole 10.244.0.128/26 proto bird']);
    const last = lab.pod('p64');
    // n2's first block holds its tunnel address (.64) and p0–p62; p63 opens 10.244.0.128/26.
    expect(last.ips).toEqual(['10.244.0.129']);
    expect(walkFrom(lab, lab.pod('a'), last.ips[0]!)[0]).toMatchObject({ outcome: 'local', namespace: last.netns });
  });

  it('a borrowed address is routed as a /32 to the node using it, on every other node (the block owner too)', () => {
    const small = { ...options('ipip'), clusterCIDRs: ['10.244.0.0/25'] };
    const lab = buildLab(createCalico(small), [n1, n2, n3], [['a', 'n1'], ['b', 'n2'], ['c', 'n3']], ['10.244.0.0/25']);
    // Both /26 blocks are taken by n1 and n2: n3 borrows its tunnel address (.2) and c's (.3) from n1's block.
    const c = lab.pod('c');
    expect(c.ips).toEqual(['10.244.0.3']);
    expect(lab.hosts.get('n3')!.commands).toContain('ip addr add 10.244.0.2/32 dev tunl0');
    expect(lab.hosts.get('n3')!.commands.some((x) => x.startsWith('ip route add blackhole'))).toBe(false);
    expect(lab.hosts.get('n1')!.commands).toContain('ip route add 10.244.0.3 via 192.168.1.13 dev tunl0 proto bird onlink');
    expect(lab.hosts.get('n2')!.commands).toContain('ip route add 10.244.0.3 via 192.168.1.13 dev tunl0 proto bird onlink');
    expectFullMesh(lab);
  });
});

describe('Calico VXLAN and no encapsulation', () => {
  it('VXLAN: vxlan.calico (VNI 4096, UDP 4789) with the tunnel address; remote blocks via the remote tunnel address onlink', () => {
    const lab = buildLab(createCalico(options('vxlan')), [n1, n2], [['a', 'n1'], ['b', 'n2']]);
    const dev = lab.net.namespace('n1').link('vxlan.calico')!;
    expect(dev).toMatchObject({ kind: 'vxlan', vni: 4096, dstport: 4789, local: '192.168.1.11', mtu: 1450, learning: false, mac: calicoVtepMac('n1') });
    expect(dev.addresses.map((x) => `${x.address}/${x.len}`)).toEqual(['10.244.0.0/32']);
    expect(lab.hosts.get('n1')!.commands).toEqual(
      expect.arrayContaining([
        'ip route add blackhole 10.244.0.0/26 proto 80',
        `ip neigh replace 10.244.0.64 lladdr ${calicoVtepMac('n2')} dev vxlan.calico nud permanent`,
        `bridge fdb replace ${calicoVtepMac('n2')} dev vxlan.calico dst 192.168.1.12`,
        'ip route add 10.244.0.64/26 via 10.244.0.64 dev vxlan.calico onlink',
      ]),
    );
    const p = walkFrom(lab, lab.pod('a'), lab.pod('b').ips[0]!)[0]!;
    expect(routeSequence(p)).toEqual([`pod-default-a: - → eth0`, `n1: ${lab.pod('a').hostInterface} → vxlan.calico`, 'n2: eth0 → local', `n2: vxlan.calico → ${lab.pod('b').hostInterface}`, 'pod-default-b: eth0 → local']);
    expect(p.hops.find((h) => h.branch?.encap)!.branch!.datagram.outer).toMatchObject({ kind: 'vxlan', dport: 4789, vni: 4096, dst: '192.168.1.12' });
  });

  it('none: remote blocks via the node IP on eth0 proto bird; the path crosses eth0 unencapsulated; the first pod is ordinal 0', () => {
    const lab = buildLab(createCalico(options('none')), [n1, n2], [['a', 'n1'], ['b', 'n2']]);
    expect(lab.pod('a').ips).toEqual(['10.244.0.0']);
    expect(lab.hosts.get('n1')!.commands).toEqual(['ip route add blackhole 10.244.0.0/26 proto bird', 'ip route add 10.244.0.64/26 via 192.168.1.12 dev eth0 proto bird']);
    expect(lab.net.namespace('n1').link('tunl0')).toBeUndefined();
    const p = walkFrom(lab, lab.pod('a'), lab.pod('b').ips[0]!)[0]!;
    expect(routeSequence(p)).toEqual([`pod-default-a: - → eth0`, `n1: ${lab.pod('a').hostInterface} → eth0`, `n2: eth0 → ${lab.pod('b').hostInterface}`, 'pod-default-b: eth0 → local']);
    const out = p.hops.find((h) => h.namespace === 'n1' && h.kind === 'route')!.branch!;
    expect([out.gateway, out.encap, out.datagram.outer]).toEqual(['192.168.1.12', undefined, undefined]);
  });

  it('a packet for an unused address of a local block hits the blackhole', () => {
    const lab = buildLab(createCalico(options('none')), [n1, n2], [['a', 'n1'], ['b', 'n2']]);
    const p = walkFrom(lab, lab.pod('b'), '10.244.0.9');
    expect(p.map((x) => [x.outcome, x.namespace])).toEqual([['blackhole', 'n1']]);
  });
});

describe('Calico natOutgoing', () => {
  const payload = renderCalicoNat('10.244.0.0/16', 'ipip', true);
  const parsed = parseIptablesSave(payload);
  const nf = () =>
    new Netfilter(parsed.ok ? parsed.ruleset : (undefined as never), {
      node: {
        interfaces: [
          { name: 'lo', addresses: ['127.0.0.1/8'] },
          { name: 'eth0', addresses: ['192.168.1.11/24'] },
          { name: 'tunl0', addresses: ['10.244.0.0/32'] },
        ],
        route: (p) =>
          p.dst === '192.168.1.11'
            ? { local: true, outInterface: 'lo' }
            : p.dst.startsWith('10.244.0.')
              ? { local: false, outInterface: 'caliX' }
              : p.dst.startsWith('10.244.')
                ? { local: false, outInterface: 'tunl0', source: '10.244.0.0' }
                : { local: false, outInterface: 'eth0', source: '192.168.1.11' },
      },
    });

  it('the payload parses: Felix chains hooked at the top of POSTROUTING', () => {
    expect(parsed.ok).toBe(true);
    expect(payload).toContain('-A cali-nat-outgoing -s 10.244.0.0/16 ! -d 10.244.0.0/16 -m comment --comment "cali:flqWnvo8yq4ULQLa" -j MASQUERADE --random-fully');
    expect(renderCalicoNat('10.244.0.0/16', 'none', false)).not.toContain('MASQUERADE');
  });

  it('pod → 8.8.8.8 is masqueraded to the node IP; pod → remote pod keeps its source; the host → a remote pod takes the tunnel address', () => {
    const out = nf().evaluate(makePacket({ src: '10.244.0.1', dst: '8.8.8.8', proto: 'tcp', sport: 40000, dport: 443, inInterface: 'caliA' }), { from: 'interface' });
    expect(out.outcomes.map((o) => o.packet.src)).toEqual(['192.168.1.11']);
    const pod = nf().evaluate(makePacket({ src: '10.244.0.1', dst: '10.244.1.70', proto: 'tcp', sport: 40000, dport: 80, inInterface: 'caliA' }), { from: 'interface' });
    expect(pod.outcomes.map((o) => o.packet.src)).toEqual(['10.244.0.1']);
    const host = nf().evaluate(makePacket({ src: '192.168.1.11', dst: '10.244.1.70', proto: 'tcp', sport: 40000, dport: 80 }), { from: 'local' });
    expect(host.outcomes.map((o) => o.packet.src)).toEqual(['10.244.0.0']);
  });
});

describe('Calico properties', () => {
  it('for random node counts and placements, host commands apply and every pod reaches every other pod (ipip, vxlan, none)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.constantFrom('ipip', 'vxlan', 'none'),
        (count, draws, mode) => {
          const nodes = Array.from({ length: count }, (_, i) => node(`n${i}`, `192.168.1.${10 + i}`, LAN));
          const placement = draws.map((d, i) => [`p${i}`, `n${d % count}`] as const);
          const lab = buildLab(createCalico(options(mode)), nodes, placement);
          expectFullMesh(lab);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('rendering a host twice gives the same commands', () => {
    const c = createCalico(options('vxlan'));
    const cluster = cniCluster([n1, n2, n3], []);
    expect(c.host(n2, cluster)).toEqual(c.host(n2, cluster));
  });
});
