import { describe, expect, it } from 'vitest';
import { createCalico } from '../../../src/dataplane/cni/calico.js';
import { createFlannel } from '../../../src/dataplane/cni/flannel.js';
import { portmapChainName, renderPortmap } from '../../../src/dataplane/cni/portmap.js';
import type { CniHostPort, CniPod } from '../../../src/dataplane/cni/types.js';
import { applyRestore, Netfilter, parseIptablesSave } from '../../../src/dataplane/netfilter/index.js';
import { makePacket } from '../../../src/net/packet.js';
import { cniCluster, node } from './lab.js';

// Upstream's unit test (plugins/meta/portmap/portmap_iptables_test.go) uses this container ID.
const CONTAINER_ID = 'icee6giejonei6sohng6ahngee7laquohquee9shiGo7fohferakah3Feiyoolu2pei7ciPhoh7shaoX6vai3vuf0ahfaeng8yohb9ceu0daez5hashee8ooYai5wa3y';

const n1 = node('n1', '192.168.1.11', '192.168.1.0/24', ['10.244.1.0/24']);
const pod = (name: string, ip: string, hostPorts: CniHostPort[], nodeName = 'n1'): CniPod => ({ namespace: 'default', name, uid: `uid-${name}`, node: nodeName, ips: [ip], hostNetwork: false, hostPorts });

describe('portmap chain names (upstream golden values)', () => {
  it('CNI-DN- + sha512(network name + container ID), 28 characters', () => {
    expect(portmapChainName('testNetName', CONTAINER_ID)).toBe('CNI-DN-bfd599665540dd91d5d28');
    expect(portmapChainName('test', CONTAINER_ID)).toBe('CNI-DN-67e92b96e692a494b6b85');
  });
});

describe('portmap DNAT rules', () => {
  // The mappings of upstream's "generates a correct standard container chain" case, for 10.0.0.2/24.
  const mappings: CniHostPort[] = [
    { hostPort: 8080, containerPort: 80, protocol: 'TCP' },
    { hostPort: 8081, containerPort: 80, protocol: 'TCP' },
    { hostPort: 8080, containerPort: 81, protocol: 'UDP' },
    { hostPort: 8082, containerPort: 82, protocol: 'UDP' },
    { hostPort: 8083, containerPort: 83, protocol: 'TCP', hostIP: '192.168.0.2' },
    { hostPort: 8084, containerPort: 84, protocol: 'TCP', hostIP: '0.0.0.0' },
    { hostPort: 8085, containerPort: 85, protocol: 'TCP', hostIP: '2001:db8:a::1' },
    { hostPort: 8086, containerPort: 86, protocol: 'TCP', hostIP: '::' },
  ];
  const text = renderPortmap([pod('test', '10.0.0.2', mappings)], node('n1', '10.0.0.1', '10.0.0.0/24', ['10.0.0.0/24']), { networkName: 'test', containerId: () => CONTAINER_ID });
  const chain = 'CNI-DN-67e92b96e692a494b6b85';
  const comment = `"dnat name: \\"test\\" id: \\"${CONTAINER_ID}\\""`;

  it('entry rules per protocol list every hostPort; the per-port rules are hairpin mark, localhost mark, DNAT, in mapping order (IPv4 only)', () => {
    const rules = text.split('\n').filter((l) => l.startsWith(`-A ${chain}`) || l.startsWith('-A CNI-HOSTPORT-DNAT'));
    const r = (port: number, proto: string, to: string, d = '') => [
      `-A ${chain} -s 10.0.0.0/24 ${d}-p ${proto} -m ${proto} --dport ${port} -j CNI-HOSTPORT-SETMARK`,
      `-A ${chain} -s 127.0.0.1/32 ${d}-p ${proto} -m ${proto} --dport ${port} -j CNI-HOSTPORT-SETMARK`,
      `-A ${chain} ${d}-p ${proto} -m ${proto} --dport ${port} -j DNAT --to-destination ${to}`,
    ];
    expect(rules).toEqual([
      // Inserted at the top one after the other: udp's entry ends up before tcp's.
      `-A CNI-HOSTPORT-DNAT -p udp -m comment --comment ${comment} -m multiport --dports 8080,8082 -j ${chain}`,
      `-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment ${comment} -m multiport --dports 8080,8081,8083,8084,8085,8086 -j ${chain}`,
      ...r(8080, 'tcp', '10.0.0.2:80'),
      ...r(8081, 'tcp', '10.0.0.2:80'),
      ...r(8080, 'udp', '10.0.0.2:81'),
      ...r(8082, 'udp', '10.0.0.2:82'),
      ...r(8083, 'tcp', '10.0.0.2:83', '-d 192.168.0.2/32 '),
      ...r(8084, 'tcp', '10.0.0.2:84'),
    ]);
  });

  it('the shared chains: PREROUTING/OUTPUT to CNI-HOSTPORT-DNAT for local destinations, mark 0x2000 (bit 13) and its masquerade first in POSTROUTING', () => {
    const shared = text.split('\n').filter((l) => /^-[AI] (PREROUTING|OUTPUT|POSTROUTING|CNI-HOSTPORT-MASQ|CNI-HOSTPORT-SETMARK) /.test(l));
    expect(shared).toEqual([
      '-I POSTROUTING 1 -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
      '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE',
      '-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000',
    ]);
    expect(renderPortmap([pod('x', '10.0.0.2', [{ hostPort: 80, containerPort: 80, protocol: 'TCP' }])], n1, { markMasqBit: 5 })).toContain('--set-xmark 0x20/0x20');
  });

  it('the latest pod\'s entry rules come first; pods without hostPorts, on other nodes or hostNetwork give nothing', () => {
    const a = pod('a', '10.244.1.2', [{ hostPort: 80, containerPort: 8080, protocol: 'TCP' }]);
    const b = pod('b', '10.244.1.3', [{ hostPort: 443, containerPort: 8443, protocol: 'TCP' }]);
    const out = renderPortmap([a, b, pod('c', '10.244.1.4', []), pod('d', '10.244.2.2', [{ hostPort: 81, containerPort: 81, protocol: 'TCP' }], 'n2'), { ...pod('e', '192.168.1.11', [{ hostPort: 82, containerPort: 82, protocol: 'TCP' }]), hostNetwork: true }], n1);
    const entries = out.split('\n').filter((l) => l.startsWith('-A CNI-HOSTPORT-DNAT'));
    expect(entries.map((l) => l.match(/--dports (\S+)/)![1])).toEqual(['443', '80']);
    expect(renderPortmap([pod('c', '10.244.1.4', [])], n1)).toBe('');
    // Bridge + host-local: the hairpin rule masquerades the pod's subnet; Calico's /32 on request.
    expect(out).toContain('-s 10.244.1.0/24 -p tcp -m tcp --dport 80 -j CNI-HOSTPORT-SETMARK');
    expect(renderPortmap([a], n1, { podPrefixLength: 32 })).toContain('-s 10.244.1.2/32 -p tcp -m tcp --dport 80');
  });
});

describe('portmap rules in the netfilter evaluator', () => {
  const a = pod('web', '10.244.1.2', [{ hostPort: 8080, containerPort: 80, protocol: 'TCP' }]);
  const payload = renderPortmap([a], n1);
  const kubeProxyLike = parseIptablesSave(
    ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ':KUBE-SERVICES - [0:0]', ':KUBE-POSTROUTING - [0:0]', '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING', 'COMMIT', ''].join('\n'),
  );
  const merged = kubeProxyLike.ok ? applyRestore(kubeProxyLike.ruleset, payload, { noflush: true }) : kubeProxyLike;
  const nf = () =>
    new Netfilter(merged.ok ? merged.ruleset : (undefined as never), {
      node: {
        interfaces: [
          { name: 'lo', addresses: ['127.0.0.1/8'] },
          { name: 'eth0', addresses: ['192.168.1.11/24'] },
          { name: 'cni0', addresses: ['10.244.1.1/24'] },
        ],
        route: (p) => (p.dst === '192.168.1.11' || p.dst.startsWith('127.') ? { local: true, outInterface: 'lo' } : p.dst.startsWith('10.244.1.') ? { local: false, outInterface: 'cni0', source: '10.244.1.1' } : { local: false, outInterface: 'eth0', source: '192.168.1.11' }),
      },
    });

  it('applies with --noflush after kube-proxy-like rules, keeping theirs first in PREROUTING and putting the masquerade hook first in POSTROUTING', () => {
    expect(merged.ok).toBe(true);
    if (!merged.ok) return;
    const nat = merged.ruleset.tables.get('nat')!;
    expect(nat.chains.get('PREROUTING')!.rules.map((r) => r.target?.name)).toEqual(['KUBE-SERVICES', 'CNI-HOSTPORT-DNAT']);
    expect(nat.chains.get('POSTROUTING')!.rules.map((r) => r.target?.name)).toEqual(['CNI-HOSTPORT-MASQ', 'KUBE-POSTROUTING']);
  });

  it('a client reaching nodeIP:8080 is DNATed to the pod keeping its source; the pod reaching its own hostPort (hairpin) is masqueraded', () => {
    const ext = nf().evaluate(makePacket({ src: '192.168.1.50', dst: '192.168.1.11', proto: 'tcp', sport: 50000, dport: 8080, inInterface: 'eth0' }), { from: 'interface' });
    expect(ext.outcomes.map((o) => [o.verdict, o.packet.src, o.packet.dst, o.packet.dport])).toEqual([['ACCEPT', '192.168.1.50', '10.244.1.2', 80]]);
    const hairpin = nf().evaluate(makePacket({ src: '10.244.1.2', dst: '192.168.1.11', proto: 'tcp', sport: 50000, dport: 8080, inInterface: 'cni0' }), { from: 'interface' });
    expect(hairpin.outcomes.map((o) => [o.packet.src, o.packet.dst, o.packet.mark & 0x2000])).toEqual([['10.244.1.1', '10.244.1.2', 0x2000]]);
    const otherPort = nf().evaluate(makePacket({ src: '192.168.1.50', dst: '192.168.1.11', proto: 'tcp', sport: 50000, dport: 8081, inInterface: 'eth0' }), { from: 'interface' });
    expect(otherPort.outcomes.map((o) => [o.delivery, o.packet.dst])).toEqual([['local', '192.168.1.11']]);
  });
});

describe('portmap as chained by the flannel and Calico conflists', () => {
  const opts = (mode: string) => ({ mode, clusterCIDRs: ['10.244.0.0/16'], serviceCIDRs: ['10.96.0.0/12'], cloud: 'none' as const, nodeSubnet: () => '192.168.1.0/24' });
  const web = pod('web', '10.244.1.2', [{ hostPort: 8080, containerPort: 80, protocol: 'TCP' }]);

  it('flannel (network cbr0): the hairpin rule masquerades the node podCIDR', () => {
    const text = createFlannel(opts('vxlan')).hostPortRules(n1, cniCluster([n1], [web]));
    expect(text).toContain('dnat name: \\"cbr0\\"');
    expect(text).toContain('-s 10.244.1.0/24 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK');
    expect(parseIptablesSave(text).ok).toBe(true);
  });

  it('Calico (network k8s-pod-network): the pod address is a /32', () => {
    const text = createCalico(opts('ipip')).hostPortRules(n1, cniCluster([n1], [web]));
    expect(text).toContain('dnat name: \\"k8s-pod-network\\"');
    expect(text).toContain('-s 10.244.1.2/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK');
    expect(createCalico(opts('ipip')).hostPortRules(n1, cniCluster([n1], [pod('x', '10.244.1.3', [])]))).toBe('');
  });
});
