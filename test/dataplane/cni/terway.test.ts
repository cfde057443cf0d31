import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eniLimits, knownInstanceTypes, terwayMaxPods } from '../../../src/dataplane/cni/instance-types.js';
import { createTerway } from '../../../src/dataplane/cni/terway.js';
import type { CniPod } from '../../../src/dataplane/cni/types.js';
import { routeInput, routeOutput } from '../../../src/dataplane/routing/forward.js';
import { makePacket } from '../../../src/net/packet.js';
import { buildNetwork, cluster, cniNode, cniPod, deploy, podObject, type NodeDef } from './vpc-fixture.js';

const VPC = '192.168.0.0/16';
const SERVICES = '172.21.0.0/20';
const A: NodeDef = { name: 'cn-hangzhou-node-a', ip: '192.168.0.2', subnet: '192.168.0.0/20', instanceType: 'ecs.g7.xlarge' };
const B: NodeDef = { name: 'cn-hangzhou-node-b', ip: '192.168.16.2', subnet: '192.168.16.0/20', instanceType: 'ecs.g7.xlarge' };
const SUBNETS = new Map([
  [A.name, A.subnet],
  [B.name, B.subnet],
]);

function plugin(mode = 'shared') {
  return createTerway({ mode, clusterCIDRs: [VPC], serviceCIDRs: [SERVICES], cloud: 'alibaba', nodeSubnet: (n) => SUBNETS.get(n) });
}

describe('terway shared ENI: rendering', () => {
  it('configures each secondary ENI with the node address /32 and a table 1000 + ifindex defaulting to the vSwitch gateway', () => {
    const cni = plugin();
    const pods = deploy(cni, new Map([[A, 16]]));
    const host = cni.host(cniNode(A), cluster([VPC], [SERVICES], [A], pods));
    // 16 pods on an ecs.g7.xlarge (15 IPs per ENI): eth1 full, one on eth2; eth0 serves none.
    expect(host.eth0CloudIps ?? []).toEqual([]);
    expect(host.nics!.map((n) => [n.name, n.cloudIps.length])).toEqual([
      ['eth1', 15],
      ['eth2', 1],
    ]);
    expect(host.iptables).toBe('');
    expect(host.commands.filter((c) => c.startsWith('ip '))).toEqual([
      'ip link set eth1 mtu 1500 up',
      'ip addr add 192.168.0.2/32 dev eth1',
      'ip route replace default via 192.168.15.253 dev eth1 onlink table 1003',
      'ip link set eth2 mtu 1500 up',
      'ip addr add 192.168.0.2/32 dev eth2',
      'ip route replace default via 192.168.15.253 dev eth2 onlink table 1004',
    ]);
    expect(host.commands).toContain('sysctl -w net.ipv4.conf.all.rp_filter=0');
    expect(host.commands).toContain('sysctl -w net.ipv4.conf.eth1.forwarding=1');
  });

  it('gives a pod a cali veth and the to (512) / from (2048) rules of its ENI', () => {
    const cni = plugin();
    const pods = deploy(cni, new Map([[A, 1]]));
    const p = pods[0]!;
    const veth = cni.hostInterfaceName!(p);
    expect(veth).toMatch(/^cali[0-9a-f]{11}$/);
    expect(cni.hostInterfaceName!(cniPod(podObject('default', 'web-0'), A.name, []))).toBe('cali0d7763386da');
    const net = cni.pod(p, cniNode(A), cluster([VPC], [SERVICES], [A], pods), 'pod1');
    const mac = net.host[0]!.split(' ')[5];
    expect(net.host).toEqual([
      `ip link add ${veth} address ${mac} mtu 1500 type veth peer name eth0 netns pod1`,
      `ip link set ${veth} up`,
      `ip route replace ${p.ips[0]} dev ${veth} scope link`,
      `ip rule add to ${p.ips[0]} lookup main priority 512`,
      `ip rule add from ${p.ips[0]} lookup 1003 priority 2048`,
    ]);
    expect(net.pod).toEqual(['ip link set eth0 up', `ip addr add ${p.ips[0]}/32 dev eth0`, 'ip route add default via 169.254.1.1 dev eth0 onlink', `ip neigh add 169.254.1.1 lladdr ${mac} dev eth0 nud permanent`]);
    expect(cni.enforcesNetworkPolicy).toBe(true);
    expect(cni.vpcNative).toBe(true);
  });
});

describe('terway shared ENI in the routing model', () => {
  const cni = plugin();
  const pods = deploy(
    cni,
    new Map([
      [A, 16],
      [B, 1],
    ]),
  );
  const c = cluster([VPC], [SERVICES], [A, B], pods);
  const { net, pods: sandboxes } = buildNetwork('alibaba', cni, c);
  const onEth1 = pods[0]!;
  const onEth2 = pods[15]!;
  const remote = pods[16]!;
  const vethOf = (p: CniPod) => sandboxes.get(p.uid)!.hostInterface!;
  const tcp = (src: string, dst: string) => ({ packet: makePacket({ src, dst, proto: 'tcp', sport: 40000, dport: 80 }) });

  it('sends each pod’s traffic to another node out of its own ENI', () => {
    const a = routeInput(net.namespace(A.name), tcp(onEth1.ips[0]!, remote.ips[0]!), vethOf(onEth1)).branches[0]!;
    expect([a.outcome, a.outInterface, a.table, a.gateway]).toEqual(['forward', 'eth1', 1003, '192.168.15.253']);
    const b = routeInput(net.namespace(A.name), tcp(onEth2.ips[0]!, remote.ips[0]!), vethOf(onEth2)).branches[0]!;
    expect([b.outcome, b.outInterface, b.table]).toEqual(['forward', 'eth2', 1004]);
  });

  it('sends Internet traffic out of the pod’s ENI with the pod address: no node SNAT (the NAT gateway translates)', () => {
    const b = routeInput(net.namespace(A.name), tcp(onEth2.ips[0]!, '47.96.1.1'), vethOf(onEth2)).branches[0]!;
    expect(b.outInterface).toBe('eth2');
    expect(b.datagram.packet.src).toBe(onEth2.ips[0]);
  });

  it('delivers to a pod on the same node through its veth', () => {
    const b = routeInput(net.namespace(A.name), tcp(onEth2.ips[0]!, onEth1.ips[0]!), vethOf(onEth2)).branches[0]!;
    expect([b.outcome, b.outInterface, b.rule?.priority]).toEqual(['forward', vethOf(onEth1), 512]);
  });

  it('takes what the VPC delivers on an ENI to the pod and lets the node reach its pods', () => {
    const b = routeInput(net.namespace(A.name), tcp(remote.ips[0]!, onEth1.ips[0]!), 'eth1').branches[0]!;
    expect(b.outInterface).toBe(vethOf(onEth1));
    const fromHost = routeOutput(net.namespace(A.name), tcp('0.0.0.0', onEth1.ips[0]!)).branches[0]!;
    expect(fromHost.outInterface).toBe(vethOf(onEth1));
  });

  it('walks from the pod netns via 169.254.1.1 onlink to its veth and out of its ENI', () => {
    const netns = sandboxes.get(onEth2.uid)!.netns;
    const paths = net.walk({ namespace: netns, datagram: tcp(onEth2.ips[0]!, remote.ips[0]!) });
    expect(paths.map((p) => p.outcome)).toEqual(['external']);
    const l2 = paths[0]!.hops.filter((h) => h.kind === 'l2').map((h) => h.l2);
    expect(l2[0]).toMatchObject({ kind: 'station', namespace: A.name, iif: vethOf(onEth2) });
    expect(l2[1]).toMatchObject({ kind: 'external', link: 'eth2' });
  });
});

describe('terway exclusive ENI', () => {
  const cni = plugin('exclusive');
  const pods = deploy(cni, new Map([[A, 2]]));
  const c = cluster([VPC], [SERVICES], [A], pods);

  it('moves the pod’s own ENI into its netns as eth0 and adds veth1 for Service traffic', () => {
    const p = pods[0]!;
    const eni = cni.ipam.eniOf(A.name, p.ips[0]!)!;
    expect(eni.primaryIp).toBe(p.ips[0]);
    const net = cni.pod(p, cniNode(A), c, 'pod1');
    expect(net.nic).toEqual({ name: 'eth0', mac: eni.mac, cloudIps: [p.ips[0]], subnet: A.subnet });
    expect(net.hostInterface).toBeUndefined();
    const veth = cni.hostInterfaceName!(p);
    const mac = net.host[0]!.split(' ')[5];
    expect(net.host).toEqual([
      `ip link add ${veth} address ${mac} mtu 1500 type veth peer name veth1 netns pod1`,
      `ip link set ${veth} up`,
      `ip addr add 169.254.1.1/32 dev ${veth}`,
      `ip route replace ${p.ips[0]} dev ${veth} scope link`,
    ]);
    expect(net.pod).toEqual([
      'ip link set eth0 mtu 1500 up',
      `ip addr add ${p.ips[0]}/32 dev eth0`,
      'ip route add default via 192.168.15.253 dev eth0 onlink',
      'ip link set veth1 up',
      `ip addr add ${p.ips[0]}/32 dev veth1`,
      'ip route add 169.254.1.1 dev veth1 scope link',
      `ip route add ${SERVICES} via 169.254.1.1 dev veth1 onlink`,
      `ip neigh add 169.254.1.1 lladdr ${mac} dev veth1 nud permanent`,
    ]);
    expect(cni.enforcesNetworkPolicy).toBe(false);
    expect(cni.host(cniNode(A), c).nics).toEqual([]);
  });

  it('routes a pod’s Service traffic over veth1 to the host and everything else out of its ENI', () => {
    const { net, pods: sandboxes } = buildNetwork('alibaba', cni, c);
    const p = pods[0]!;
    const ns = net.namespace(sandboxes.get(p.uid)!.netns);
    const svc = routeOutput(ns, { packet: makePacket({ src: '0.0.0.0', dst: '172.21.0.10', proto: 'udp', sport: 40000, dport: 53 }) }).branches[0]!;
    expect([svc.outInterface, svc.nextHop, svc.source]).toEqual(['veth1', '169.254.1.1', p.ips[0]]);
    const out = routeOutput(ns, { packet: makePacket({ src: '0.0.0.0', dst: '192.168.40.7', proto: 'tcp', sport: 40000, dport: 80 }) }).branches[0]!;
    expect([out.outInterface, out.nextHop]).toEqual(['eth0', '192.168.15.253']);
    // The host reaches the pod over the veth.
    const back = routeOutput(net.namespace(A.name), { packet: makePacket({ src: '0.0.0.0', dst: p.ips[0]!, proto: 'tcp', sport: 40000, dport: 80 }) }).branches[0]!;
    expect(back.outInterface).toBe(cni.hostInterfaceName!(p));
  });
});

describe('terway properties', () => {
  const types = knownInstanceTypes('alibaba');

  it('renders commands that always apply, for any number of pods up to the node’s limit', () => {
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.constantFrom('shared', 'exclusive'), fc.nat({ max: 80 }), fc.nat({ max: 5 }), (type, mode, wantA, wantB) => {
        const a = { ...A, instanceType: type };
        const b = { ...B, instanceType: type };
        const cni = plugin(mode);
        const lim = eniLimits('alibaba', type);
        if (!lim.ok) throw new Error(lim.message);
        const cap = terwayMaxPods(lim.limits, mode as 'shared');
        const pods = deploy(cni, new Map([[a, Math.min(wantA, cap)], [b, Math.min(wantB, cap)]]));
        buildNetwork('alibaba', cni, cluster([VPC], [SERVICES], [a, b], pods));
      }),
      { numRuns: 40 },
    );
  });
});
