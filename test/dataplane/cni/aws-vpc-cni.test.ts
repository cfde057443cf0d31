import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createAwsVpcCni } from '../../../src/dataplane/cni/aws-vpc-cni.js';
import { awsPodAddresses, eniLimits, knownInstanceTypes } from '../../../src/dataplane/cni/instance-types.js';
import type { CniPod } from '../../../src/dataplane/cni/types.js';
import { Netfilter } from '../../../src/dataplane/netfilter/evaluate.js';
import { applyRestore, emptyRuleset, parseIptablesSave } from '../../../src/dataplane/netfilter/parse.js';
import { canonicalRuleText } from '../../../src/dataplane/netfilter/print.js';
import { routeInput, routeOutput } from '../../../src/dataplane/routing/forward.js';
import { makePacket } from '../../../src/net/packet.js';
import { buildNetwork, cluster, cniNode, cniPod, deploy, expectOk, podObject, routeVia, type NodeDef } from './vpc-fixture.js';

const VPC = '192.168.0.0/16';
const SERVICES = '10.100.0.0/16';
const A: NodeDef = { name: 'ip-node-a', ip: '192.168.97.14', subnet: '192.168.96.0/19', instanceType: 'm5.large' };
const B: NodeDef = { name: 'ip-node-b', ip: '192.168.130.20', subnet: '192.168.128.0/19', instanceType: 'm5.large' };
const SUBNETS = new Map([
  [A.name, A.subnet],
  [B.name, B.subnet],
]);

function plugin(mode = 'secondary-ip') {
  return createAwsVpcCni({ mode, clusterCIDRs: [VPC], serviceCIDRs: [SERVICES], cloud: 'aws', nodeSubnet: (n) => SUBNETS.get(n) });
}

describe('aws-vpc-cni host rendering', () => {
  it('gives each secondary ENI its address, a table numbered device + 1 with the gateway link route and a default route', () => {
    const cni = plugin();
    const pods = deploy(cni, new Map([[A, 12]]));
    const host = cni.host(cniNode(A), cluster([VPC], [SERVICES], [A], pods));
    const enis = cni.ipam.enis(A.name);
    // 12 pods on an m5.large: 9 on eth0, 3 on eth1, and WARM_ENI_TARGET=1 has attached eth2.
    expect(enis.map((e) => e.name)).toEqual(['eth0', 'eth1', 'eth2']);
    expect(host.nics!.map((n) => n.name)).toEqual(['eth1', 'eth2']);
    expect(host.nics![0]!.cloudIps).toHaveLength(9);
    expect(host.eth0CloudIps).toHaveLength(9);
    expect(host.eth0CloudIps).not.toContain(A.ip);
    const eth1 = enis[1]!;
    expect(host.commands).toEqual([
      'ip link set eth0 mtu 9001',
      'sysctl -w net.ipv4.conf.eth0.rp_filter=2',
      'ip rule add fwmark 0x80/0x80 lookup main priority 1024',
      'ip link set eth1 mtu 9001 up',
      `ip addr add ${eth1.primaryIp}/19 dev eth1 noprefixroute`,
      'ip route replace 192.168.96.1 dev eth1 scope link table 2',
      'ip route replace default via 192.168.96.1 dev eth1 table 2',
      'ip link set eth2 mtu 9001 up',
      `ip addr add ${enis[2]!.primaryIp}/19 dev eth2 noprefixroute`,
      'ip route replace 192.168.96.1 dev eth2 scope link table 3',
      'ip route replace default via 192.168.96.1 dev eth2 table 3',
    ]);
  });

  it('renders the SNAT and connmark chains of networkutils, SNAT to the primary address with --random-fully', () => {
    const cni = plugin();
    const host = cni.host(cniNode(A), cluster([VPC], [SERVICES], [A], []));
    expect(host.iptables.split('\n')).toEqual([
      '*mangle',
      ':PREROUTING ACCEPT [0:0]',
      '-A PREROUTING -i eth0 -m comment --comment "AWS, primary ENI" -m addrtype --dst-type LOCAL --limit-iface-in -j CONNMARK --set-xmark 0x80/0x80',
      '-A PREROUTING -i eni+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80',
      '-A PREROUTING -i vlan+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80',
      'COMMIT',
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      ':AWS-CONNMARK-CHAIN-0 - [0:0]',
      ':AWS-SNAT-CHAIN-0 - [0:0]',
      '-A PREROUTING -i eni+ -m comment --comment "AWS, outbound connections" -j AWS-CONNMARK-CHAIN-0',
      '-A PREROUTING -m comment --comment "AWS, CONNMARK" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80',
      '-A POSTROUTING -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0',
      '-A AWS-CONNMARK-CHAIN-0 -d 192.168.0.0/16 -m comment --comment "AWS CONNMARK CHAIN, VPC CIDR" -j RETURN',
      '-A AWS-CONNMARK-CHAIN-0 -m comment --comment "AWS, CONNMARK" -j CONNMARK --set-xmark 0x80/0x80',
      '-A AWS-SNAT-CHAIN-0 -d 192.168.0.0/16 -m comment --comment "AWS SNAT CHAIN" -j RETURN',
      '-A AWS-SNAT-CHAIN-0 ! -o vlan+ -m comment --comment "AWS, SNAT" -m addrtype ! --dst-type LOCAL -j SNAT --to-source 192.168.97.14 --random-fully',
      'COMMIT',
      '',
    ]);
  });

  it('loads with iptables-restore --noflush after kube-proxy rules, keeping them', () => {
    const kubeProxy = parseIptablesSave(['*nat', ':PREROUTING ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ':KUBE-SERVICES - [0:0]', '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', 'COMMIT', ''].join('\n'));
    expectOk(kubeProxy);
    const host = plugin().host(cniNode(A), cluster([VPC], [SERVICES], [A], []));
    const r = applyRestore(kubeProxy.ruleset, host.iptables, { noflush: true });
    expectOk(r);
    const prerouting = r.ruleset.tables.get('nat')!.chains.get('PREROUTING')!.rules.map((x) => canonicalRuleText(x, 4));
    expect(prerouting).toHaveLength(3);
    expect(prerouting[0]).toContain('-j KUBE-SERVICES');
    expect(prerouting[1]).toContain('-j AWS-CONNMARK-CHAIN-0');
  });

  it('leaves SNAT to the NAT gateway with AWS_VPC_K8S_CNI_EXTERNALSNAT: only the NodePort connmark rules stay', () => {
    const cni = createAwsVpcCni({ mode: 'secondary-ip', clusterCIDRs: [VPC], serviceCIDRs: [SERVICES], cloud: 'aws', nodeSubnet: () => A.subnet, externalSnat: true });
    const text = cni.host(cniNode(A), cluster([VPC], [SERVICES], [A], [])).iptables;
    expect(text).not.toContain('-j SNAT');
    expect(text).not.toContain('-j AWS-CONNMARK-CHAIN-0');
    expect(text).toContain('--limit-iface-in -j CONNMARK --set-xmark 0x80/0x80');
  });
});

describe('aws-vpc-cni pod rendering', () => {
  it('names the host veth eni + the first 11 hex digits of sha1("namespace.name")', () => {
    // printf 'default.web-0' | sha1sum → 0d7763386da219dd…
    expect(plugin().hostInterfaceName!({ ...cniPod(podObject('default', 'web-0'), A.name, []) })).toBe('eni0d7763386da');
  });

  it('routes a pod on the primary ENI by the main table and one on a secondary ENI by the ENI table (from rule, priority 1536)', () => {
    const cni = plugin();
    const pods = deploy(cni, new Map([[A, 10]]));
    const c = cluster([VPC], [SERVICES], [A], pods);
    const onEth0 = cni.pod(pods[0]!, cniNode(A), c, 'ns0');
    expect(cni.ipam.eniOf(A.name, pods[0]!.ips[0]!)!.name).toBe('eth0');
    const veth = cni.hostInterfaceName!(pods[0]!);
    expect(onEth0.hostInterface).toBe(veth);
    expect(onEth0.host.slice(1)).toEqual([
      `ip link set ${veth} up`,
      `ip route replace ${pods[0]!.ips[0]} dev ${veth} scope link`,
      `ip rule add to ${pods[0]!.ips[0]} lookup main priority 512`,
    ]);
    expect(onEth0.host[0]).toMatch(new RegExp(`^ip link add ${veth} address [0-9a-f:]{17} mtu 9001 type veth peer name eth0 netns ns0$`));
    const mac = onEth0.host[0]!.split(' ')[5];
    expect(onEth0.pod).toEqual([
      'ip link set eth0 up',
      'ip route add 169.254.1.1 dev eth0 scope link',
      'ip route add default via 169.254.1.1 dev eth0',
      `ip addr add ${pods[0]!.ips[0]}/32 dev eth0`,
      `ip neigh add 169.254.1.1 lladdr ${mac} dev eth0 nud permanent`,
    ]);
    const tenth = pods[9]!;
    expect(cni.ipam.eniOf(A.name, tenth.ips[0]!)!.name).toBe('eth1');
    expect(cni.pod(tenth, cniNode(A), c, 'ns9').host.at(-1)).toBe(`ip rule add from ${tenth.ips[0]} lookup 2 priority 1536`);
  });

  it('is vpc-native and does not enforce NetworkPolicy', () => {
    const cni = plugin();
    expect(cni.vpcNative).toBe(true);
    expect(cni.enforcesNetworkPolicy).toBe(false);
    expect(cni.name).toBe('aws-vpc-cni');
    expect(cni.ipam.name).toBe('aws-cni');
  });
});

describe('aws-vpc-cni in the routing model', () => {
  const cni = plugin();
  const pods = deploy(
    cni,
    new Map([
      [A, 12],
      [B, 2],
    ]),
  );
  const c = cluster([VPC], [SERVICES], [A, B], pods);
  const { net, pods: sandboxes } = buildNetwork('aws', cni, c);
  const onPrimary = pods[0]!;
  const onEth1 = pods[9]!;
  const remote = pods[12]!;
  const vethOf = (p: CniPod) => sandboxes.get(p.uid)!.hostInterface!;

  it('sends a secondary-ENI pod’s packet to another node out of the ENI that owns the pod address', () => {
    const step = routeInput(net.namespace(A.name), { packet: makePacket({ src: onEth1.ips[0]!, dst: remote.ips[0]!, proto: 'tcp', sport: 40000, dport: 80 }) }, vethOf(onEth1));
    const b = step.branches[0]!;
    expect(b.outcome).toBe('forward');
    expect(b.outInterface).toBe('eth1');
    expect(b.table).toBe(2);
    expect(b.gateway).toBe('192.168.96.1');
    expect(b.rule?.priority).toBe(1536);
  });

  it('sends a primary-ENI pod’s packet to another node out of eth0 by the main table', () => {
    const b = routeInput(net.namespace(A.name), { packet: makePacket({ src: onPrimary.ips[0]!, dst: remote.ips[0]!, proto: 'tcp', sport: 40000, dport: 80 }) }, vethOf(onPrimary)).branches[0]!;
    expect(b.outcome).toBe('forward');
    expect(b.outInterface).toBe('eth0');
    expect(b.table).toBe(254);
  });

  it('delivers to a pod on the same node through its veth, whichever ENI either sits on (to rule, priority 512)', () => {
    const b = routeInput(net.namespace(A.name), { packet: makePacket({ src: onEth1.ips[0]!, dst: onPrimary.ips[0]!, proto: 'tcp', sport: 40000, dport: 80 }) }, vethOf(onEth1)).branches[0]!;
    expect(b.outcome).toBe('forward');
    expect(b.outInterface).toBe(vethOf(onPrimary));
    expect(b.rule?.priority).toBe(512);
  });

  it('takes a packet the VPC delivers on eth1 to the pod’s veth', () => {
    const b = routeInput(net.namespace(A.name), { packet: makePacket({ src: remote.ips[0]!, dst: onEth1.ips[0]!, proto: 'tcp', sport: 80, dport: 40000 }) }, 'eth1').branches[0]!;
    expect(b.outcome).toBe('forward');
    expect(b.outInterface).toBe(vethOf(onEth1));
  });

  it('walks from the pod’s netns through 169.254.1.1 (its veth, by the static neighbour) and out eth1', () => {
    const netns = sandboxes.get(onEth1.uid)!.netns;
    const first = routeOutput(net.namespace(netns), { packet: makePacket({ src: onEth1.ips[0]!, dst: remote.ips[0]!, proto: 'tcp', sport: 40000, dport: 80 }) }).branches[0]!;
    expect(first.nextHop).toBe('169.254.1.1');
    const paths = net.walk({ namespace: netns, datagram: { packet: makePacket({ src: onEth1.ips[0]!, dst: remote.ips[0]!, proto: 'tcp', sport: 40000, dport: 80 }) } });
    expect(paths).toHaveLength(1);
    expect(paths[0]!.outcome).toBe('external');
    const l2 = paths[0]!.hops.filter((h) => h.kind === 'l2').map((h) => h.l2);
    expect(l2[0]).toMatchObject({ kind: 'station', namespace: A.name, iif: vethOf(onEth1) });
    expect(l2[1]).toMatchObject({ kind: 'external', namespace: A.name, link: 'eth1' });
  });

  it('SNATs a secondary-ENI pod’s Internet traffic to the node’s primary address and sends it out eth0 (connmark 0x80 → fwmark rule)', () => {
    const base = parseIptablesSave('*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n');
    expectOk(base);
    const rs = applyRestore(base.ruleset, cni.host(cniNode(A), c).iptables, { noflush: true });
    expectOk(rs);
    const nsA = net.namespace(A.name);
    const nf = new Netfilter(rs.ruleset, {
      node: { interfaces: nsA.links.map((l) => ({ name: l.name, addresses: l.addresses.map((a) => `${a.address}/${a.len}`) })), route: routeVia(net, A.name) },
    });
    const out = nf.evaluate(makePacket({ src: onEth1.ips[0]!, dst: '93.184.216.34', proto: 'tcp', sport: 40000, dport: 443, inInterface: vethOf(onEth1) }), { from: 'interface' });
    expect(out.outcomes).toHaveLength(1);
    const o = out.outcomes[0]!;
    expect(o.verdict).toBe('ACCEPT');
    expect(o.outInterface).toBe('eth0');
    expect(o.packet.src).toBe(A.ip);
    expect(o.packet.mark & 0x80).toBe(0x80);
    expect(o.sourcePortMayVary).toBe(true);

    // Inside the VPC the pod keeps its address and its ENI.
    const inVpc = nf.evaluate(makePacket({ src: onEth1.ips[0]!, dst: remote.ips[0]!, proto: 'tcp', sport: 40001, dport: 80, inInterface: vethOf(onEth1) }), { from: 'interface' }).outcomes[0]!;
    expect(inVpc.outInterface).toBe('eth1');
    expect(inVpc.packet.src).toBe(onEth1.ips[0]);
  });
});

describe('aws-vpc-cni properties', () => {
  const types = knownInstanceTypes('aws').filter((t) => {
    const l = eniLimits('aws', t);
    return l.ok && awsPodAddresses(l.limits, 'secondary-ip') <= 60;
  });

  it('renders commands that always apply, for any number of pods up to the node’s limit', () => {
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.constantFrom('secondary-ip', 'prefix'), fc.nat({ max: 60 }), fc.nat({ max: 5 }), (type, mode, wantA, wantB) => {
        const a = { ...A, instanceType: type };
        const b = { ...B, instanceType: type };
        const cni = plugin(mode);
        const lim = eniLimits('aws', type);
        if (!lim.ok) throw new Error(lim.message);
        const cap = awsPodAddresses(lim.limits, mode as 'secondary-ip');
        const pods = deploy(cni, new Map([[a, Math.min(wantA, cap)], [b, Math.min(wantB, cap)]]));
        const c = cluster([VPC], [SERVICES], [a, b], pods);
        buildNetwork('aws', cni, c);
        const r = applyRestore(emptyRuleset(), cni.host(cniNode(a), c).iptables, { noflush: true });
        expect(r.ok).toBe(true);
      }),
      { numRuns: 40 },
    );
  });
});
