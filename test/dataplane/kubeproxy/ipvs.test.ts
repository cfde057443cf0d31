// IPVS mode (reference §2): kube-ipvs0 addresses, virtual and real servers, ipsets, and the
// iptables rules IPVS mode still installs.
import { describe, expect, test } from 'vitest';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { ServiceModel, renderIpvs, type IpvsOptions, type NodeView } from '../../../src/dataplane/kubeproxy/index.js';
import { TEST_ENV, TEST_NODE, dedent, ep, makeService, makeSlice, testNode } from './helpers.js';

const p80 = [{ name: 'p80', port: 80 }];

function ipvs(services: Service[], slices: EndpointSlice[], node: Partial<NodeView> = {}, opts: IpvsOptions = {}) {
  const model = new ServiceModel(opts.ipFamily ?? 'IPv4');
  model.update(services, slices);
  return renderIpvs(model, testNode(node), { ...TEST_ENV, ...opts });
}

const clusterIP = makeService('ns1', 'svc1', (s) => {
  s.spec!.clusterIP = '172.30.0.41';
  s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'TCP' }];
});
const clusterSlice = makeSlice('ns1', 'svc1', 1, [ep('10.180.0.1', { nodeName: TEST_NODE }), ep('10.180.0.2', { nodeName: 'remote' })], p80);

describe('ClusterIP service', () => {
  const r = ipvs([clusterIP], [clusterSlice]);

  test('the ClusterIP is bound to kube-ipvs0 and balanced over both endpoints with rr', () => {
    expect(r.dummyAddresses).toEqual(['172.30.0.41']);
    expect(r.ipvsadmText).toBe(
      dedent(`
        -A -t 172.30.0.41:80 -s rr
        -a -t 172.30.0.41:80 -r 10.180.0.1:80 -m -w 1
        -a -t 172.30.0.41:80 -r 10.180.0.2:80 -m -w 1
      `),
    );
    expect(r.virtualServers[0]!.service.spn).toBe('ns1/svc1:p80');
    expect(r.virtualServers[0]!.realServers[0]!.endpoint.nodeName).toBe(TEST_NODE);
  });

  test('ipsets: the local endpoint is in KUBE-LOOP-BACK, the VIP in KUBE-CLUSTER-IP and KUBE-IPVS-IPS', () => {
    const nonEmpty = r.ipsets.filter((s) => s.entries.length > 0).map((s) => [s.name, s.entries]);
    expect(nonEmpty).toEqual([
      ['KUBE-LOOP-BACK', ['10.180.0.1,tcp:80,10.180.0.1']],
      ['KUBE-CLUSTER-IP', ['172.30.0.41,tcp:80']],
      ['KUBE-IPVS-IPS', ['172.30.0.41']],
    ]);
    expect(r.ipsetSaveText.split('\n').slice(0, 4)).toEqual([
      'create KUBE-LOOP-BACK hash:ip,port,ip family inet hashsize 1024 maxelem 65536',
      'add KUBE-LOOP-BACK 10.180.0.1,tcp:80,10.180.0.1',
      'create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536',
      'add KUBE-CLUSTER-IP 172.30.0.41,tcp:80',
    ]);
    expect(r.ipsetSaveText).toContain('create KUBE-NODE-PORT-TCP bitmap:port range 0-65535\n');
  });

  test('the iptables payload: nat then filter, in the IPVS proxier\'s order', () => {
    expect(r.iptables.text).toBe(
      dedent(`
        *nat
        :KUBE-SERVICES - [0:0]
        :KUBE-POSTROUTING - [0:0]
        :KUBE-NODE-PORT - [0:0]
        :KUBE-LOAD-BALANCER - [0:0]
        :KUBE-MARK-MASQ - [0:0]
        -A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN
        -A KUBE-POSTROUTING -m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE
        -A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
        -A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT
        -A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ
        -A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT
        -A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN
        -A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000
        -A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE
        -A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000
        COMMIT
        *filter
        :KUBE-FORWARD - [0:0]
        :KUBE-NODE-PORT - [0:0]
        :KUBE-PROXY-FIREWALL - [0:0]
        :KUBE-SOURCE-RANGES-FIREWALL - [0:0]
        :KUBE-IPVS-FILTER - [0:0]
        :KUBE-IPVS-OUT-FILTER - [0:0]
        -A KUBE-SOURCE-RANGES-FIREWALL -j DROP
        -A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT
        -A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
        -A KUBE-NODE-PORT -m comment --comment "Kubernetes health check node port" -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j ACCEPT
        -A KUBE-IPVS-FILTER -m set --match-set KUBE-LOAD-BALANCER dst,dst -j RETURN
        -A KUBE-IPVS-FILTER -m set --match-set KUBE-CLUSTER-IP dst,dst -j RETURN
        -A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP dst,dst -j RETURN
        -A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst -j RETURN
        -A KUBE-IPVS-FILTER -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j RETURN
        -A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT
        COMMIT
      `),
    );
  });

  test('without a detector node-originated VIP-sourced traffic is masqueraded (src,dst); masqueradeAll marks all', () => {
    const none = ipvs([clusterIP], [clusterSlice], { clusterCIDR: undefined }).iptables.text;
    expect(none).toContain('-m set --match-set KUBE-CLUSTER-IP src,dst -j KUBE-MARK-MASQ');
    const all = ipvs([clusterIP], [clusterSlice], { masqueradeAll: true }).iptables.text;
    expect(all).toContain('-m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ');
  });

  test('ClientIP affinity makes the virtual server persistent; mh adds its source-hash flag', () => {
    const sticky = makeService('ns1', 'svc1', (s) => {
      s.spec!.clusterIP = '172.30.0.41';
      s.spec!.sessionAffinity = 'ClientIP';
      s.spec!.sessionAffinityConfig = { clientIP: { timeoutSeconds: 600 } };
      s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'UDP' }];
    });
    const slice = makeSlice('ns1', 'svc1', 1, [ep('10.180.0.1')], [{ name: 'p80', port: 80, protocol: 'UDP' }]);
    expect(ipvs([sticky], [slice]).ipvsadmText.split('\n')[0]).toBe('-A -u 172.30.0.41:80 -s rr -p 600');
    expect(ipvs([sticky], [slice], {}, { scheduler: 'mh' }).ipvsadmText.split('\n')[0]).toBe('-A -u 172.30.0.41:80 -s mh -p 600 -b mh-port');
  });
});

describe('LoadBalancer with eTP Local, externalIP, source ranges and health check', () => {
  const lb = makeService('ns2', 'svc2', (s) => {
    s.spec!.type = 'LoadBalancer';
    s.spec!.externalTrafficPolicy = 'Local';
    s.spec!.clusterIP = '172.30.0.42';
    s.spec!.externalIPs = ['192.168.99.22', '192.168.99.11'];
    s.spec!.healthCheckNodePort = 30000;
    s.spec!.loadBalancerSourceRanges = ['203.0.113.0/25'];
    s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }];
    s.status = { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } };
  });
  const slices = [makeSlice('ns2', 'svc2', 1, [ep('10.180.0.2', { nodeName: TEST_NODE }), ep('10.180.1.2', { nodeName: 'remote' })], p80)];
  const r = ipvs([lb], slices);

  test('virtual servers: ClusterIP over all endpoints; external ones over the local endpoint only', () => {
    expect(r.virtualServers.map((v) => [v.kind, `${v.address}:${v.port}`, v.realServers.map((s) => s.address)])).toEqual([
      ['cluster-ip', '172.30.0.42:80', ['10.180.0.2', '10.180.1.2']],
      ['external-ip', '192.168.99.22:80', ['10.180.0.2']],
      ['external-ip', '192.168.99.11:80', ['10.180.0.2']],
      ['load-balancer', '1.2.3.4:80', ['10.180.0.2']],
      ['node-port', '192.168.0.2:3001', ['10.180.0.2']],
      ['node-port', '192.168.1.2:3001', ['10.180.0.2']],
      ['node-port', '192.168.99.11:3001', ['10.180.0.2']],
    ]);
  });

  test('an externalIP that is already a node address is not bound to kube-ipvs0', () => {
    expect(r.dummyAddresses).toEqual(['172.30.0.42', '192.168.99.22', '1.2.3.4']);
  });

  test('ipsets for Local external IPs, LB firewall, NodePorts and the health check port', () => {
    const byName = Object.fromEntries(r.ipsets.map((s) => [s.name, s.entries]));
    expect(byName['KUBE-EXTERNAL-IP']).toEqual([]);
    expect(byName['KUBE-EXTERNAL-IP-LOCAL']).toEqual(['192.168.99.11,tcp:80', '192.168.99.22,tcp:80']);
    expect(byName['KUBE-LOAD-BALANCER']).toEqual(['1.2.3.4,tcp:80']);
    expect(byName['KUBE-LOAD-BALANCER-LOCAL']).toEqual(['1.2.3.4,tcp:80']);
    expect(byName['KUBE-LOAD-BALANCER-FW']).toEqual(['1.2.3.4,tcp:80']);
    expect(byName['KUBE-LOAD-BALANCER-SOURCE-CIDR']).toEqual(['1.2.3.4,tcp:80,203.0.113.0/25']);
    expect(byName['KUBE-LOAD-BALANCER-SOURCE-IP']).toEqual([]);
    expect(byName['KUBE-NODE-PORT-TCP']).toEqual(['3001']);
    expect(byName['KUBE-NODE-PORT-LOCAL-TCP']).toEqual(['3001']);
    expect(byName['KUBE-HEALTH-CHECK-NODE-PORT']).toEqual(['30000']);
  });

  test('set-driven iptables rules, and the node blocked from its own LB VIP', () => {
    const t = r.iptables.text;
    expect(t).toContain(
      '-A KUBE-SERVICES -m comment --comment "Kubernetes service lb portal" -m set --match-set KUBE-LOAD-BALANCER dst,dst -j KUBE-LOAD-BALANCER\n',
    );
    expect(t).toContain(
      '-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port with externalTrafficPolicy=local" -m set --match-set KUBE-NODE-PORT-LOCAL-TCP dst -j RETURN\n' +
        '-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port for masquerade purpose" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ\n',
    );
    expect(t).toContain(
      '-A KUBE-SERVICES -m comment --comment "Kubernetes service external ip + port with externalTrafficPolicy=local" -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT\n',
    );
    expect(t).toContain(
      '-A KUBE-PROXY-FIREWALL -m comment --comment "Kubernetes service load balancer ip + port for load balancer with sourceRange" -m set --match-set KUBE-LOAD-BALANCER-FW dst,dst -j KUBE-SOURCE-RANGES-FIREWALL\n',
    );
    expect(t).toContain('-A KUBE-IPVS-OUT-FILTER -s 1.2.3.4 -m ipvs --vaddr 1.2.3.4 --vproto tcp --vport 80 -j DROP\n');
  });

  test('with no local endpoint the external virtual servers fall back to all endpoints (unlike iptables)', () => {
    const remoteOnly = [makeSlice('ns2', 'svc2', 1, [ep('10.180.1.2', { nodeName: 'remote' })], p80)];
    const nodePort = ipvs([lb], remoteOnly).virtualServers.find((v) => v.kind === 'node-port')!;
    expect(nodePort.realServers.map((s) => s.address)).toEqual(['10.180.1.2']);
  });

  test('a source range covering the node IP allows the VIP as source instead of blocking the node', () => {
    const allow = makeService('ns2', 'svc2', (s) => {
      Object.assign(s, lb);
      s.spec = { ...lb.spec!, loadBalancerSourceRanges: ['192.168.0.0/24'] };
    });
    const res = ipvs([allow], slices);
    expect(res.ipsets.find((s) => s.name === 'KUBE-LOAD-BALANCER-SOURCE-IP')!.entries).toEqual(['1.2.3.4,tcp:80,1.2.3.4']);
    expect(res.iptables.text).not.toContain('KUBE-IPVS-OUT-FILTER -s');
  });
});

describe('IPv6', () => {
  test('ipset names get the KUBE-6- prefix and addresses are bracketed in ipvsadm', () => {
    const svc = makeService('ns1', 'svc1', (s) => {
      s.spec!.clusterIP = 'fd00:172:30::41';
      s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'TCP' }];
    });
    const slice = makeSlice('ns1', 'svc1', 1, [ep('fd00:10:180::1')], p80, 'IPv6');
    const r = ipvs([svc], [slice], { clusterCIDR: 'fd00:10::/32' }, { ipFamily: 'IPv6' });
    expect(r.ipsets.map((s) => s.name)).toContain('KUBE-6-CLUSTER-IP');
    expect(r.ipsets.find((s) => s.name === 'KUBE-6-CLUSTER-IP')!.family).toBe('inet6');
    expect(r.ipvsadmText).toBe('-A -t [fd00:172:30::41]:80 -s rr\n-a -t [fd00:172:30::41]:80 -r [fd00:10:180::1]:80 -m -w 1\n');
    expect(r.iptables.text).toContain('-A KUBE-SERVICES -s ::1/128 -j RETURN');
    expect(r.iptables.text).toContain('--match-set KUBE-6-CLUSTER-IP dst,dst ! -s fd00:10::/32 -j KUBE-MARK-MASQ');
  });
});
