// One focused case per feature of kube-proxy's iptables mode (reference §1), rule text asserted exactly.
import { describe, expect, test } from 'vitest';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import {
  iptablesEnsuredChains,
  iptablesJumpRules,
  renderIptables,
  type NodeView,
  type ProxierEnvironment,
} from '../../../src/dataplane/kubeproxy/index.js';
import { TEST_ENV, TEST_NODE, chainRules, ep, makeService, makeSlice, testNode } from './helpers.js';

const p80 = [{ name: 'p80', port: 80 }];

function render(services: Service[], slices: EndpointSlice[], node: Partial<NodeView> = {}, env: ProxierEnvironment = {}) {
  return renderIptables(services, slices, testNode(node), { ...TEST_ENV, ...env }).text;
}

function svc1(mutate: (s: Parameters<Parameters<typeof makeService>[2]>[0]) => void = () => {}): Service {
  return makeService('ns1', 'svc1', (s) => {
    s.spec!.clusterIP = '172.30.0.41';
    s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'TCP' }];
    mutate(s);
  });
}

// ns1/svc1:p80 tcp chains
const SVC = 'KUBE-SVC-XPGD46QRK7WJZT7O';
const SVL = 'KUBE-SVL-XPGD46QRK7WJZT7O';
const EXT = 'KUBE-EXT-XPGD46QRK7WJZT7O';
const FW = 'KUBE-FW-XPGD46QRK7WJZT7O';
const SEP1 = 'KUBE-SEP-SXIVWICOYRO3J4NJ'; // 10.180.0.1:80

describe('services kube-proxy does not program (ShouldSkipService)', () => {
  test.each([
    ['headless (clusterIP None)', (s: Service) => ({ ...s, spec: { ...s.spec, clusterIP: 'None' } })],
    ['no clusterIP', (s: Service) => ({ ...s, spec: { ...s.spec, clusterIP: '' } })],
    ['ExternalName', (s: Service) => ({ ...s, spec: { ...s.spec, type: 'ExternalName', externalName: 'example.com' } })],
    [
      'labelled for another service proxy',
      (s: Service) => ({ ...s, metadata: { ...s.metadata, labels: { 'service.kubernetes.io/service-proxy-name': 'other' } } }),
    ],
  ])('%s: no rules at all', (_name, change) => {
    const text = render([change(svc1())], [makeSlice('ns1', 'svc1', 1, [ep('10.180.0.1')], p80)]);
    expect(text).not.toContain('ns1/svc1');
  });

  test('EndpointSlices without the service-name label are ignored', () => {
    const slice = makeSlice('ns1', 'svc1', 1, [ep('10.180.0.1')], p80);
    const unlabelled = { ...slice, metadata: { ...slice.metadata, labels: {} } };
    expect(chainRules(render([svc1()], [unlabelled]), 'filter', 'KUBE-SERVICES')).toEqual([
      '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j REJECT',
    ]);
  });
});

describe('ClusterIP', () => {
  test('capture, masquerade of off-cluster sources, dispatch and hairpin', () => {
    const text = render([svc1()], [makeSlice('ns1', 'svc1', 1, [ep('10.180.0.1')], p80)]);
    expect(chainRules(text, 'nat', 'KUBE-SERVICES')[0]).toBe(
      `-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j ${SVC}`,
    );
    expect(chainRules(text, 'nat', SVC)).toEqual([
      `-A ${SVC} -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ`,
      `-A ${SVC} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j ${SEP1}`,
    ]);
    expect(chainRules(text, 'nat', SEP1)).toEqual([
      `-A ${SEP1} -m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j KUBE-MARK-MASQ`,
      `-A ${SEP1} -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80`,
    ]);
  });

  test('masqueradeAll marks every ClusterIP connection', () => {
    const text = render([svc1()], [makeSlice('ns1', 'svc1', 1, [ep('10.180.0.1')], p80)], { masqueradeAll: true });
    expect(chainRules(text, 'nat', SVC)[0]).toBe(
      `-A ${SVC} -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-MARK-MASQ`,
    );
  });

  test('without a local-traffic detector there is no ClusterIP masquerade rule', () => {
    const text = render([svc1()], [makeSlice('ns1', 'svc1', 1, [ep('10.180.0.1')], p80)], { clusterCIDR: undefined });
    expect(chainRules(text, 'nat', SVC)).toEqual([`-A ${SVC} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j ${SEP1}`]);
  });

  test.each([
    [{ detectLocalMode: 'BridgeInterface', bridgeInterface: 'cbr0' } as const, '! -i cbr0'],
    [{ detectLocalMode: 'InterfaceNamePrefix', interfaceNamePrefix: 'veth' } as const, '! -i veth+'],
    [{ detectLocalMode: 'NodeCIDR', podCIDRs: ['10.0.5.0/24'] } as const, '! -s 10.0.5.0/24'],
  ])('detector %o matches "not local" with %s', (node, match) => {
    const text = render([svc1()], [makeSlice('ns1', 'svc1', 1, [ep('10.180.0.1')], p80)], node);
    expect(chainRules(text, 'nat', SVC)[0]).toBe(
      `-A ${SVC} -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ${match} -j KUBE-MARK-MASQ`,
    );
  });

  test('UDP and SCTP ports use their own match module and hash', () => {
    const svc = makeService('kube-system', 'kube-dns', (s) => {
      s.spec!.clusterIP = '10.96.0.10';
      s.spec!.ports = [
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      ];
    });
    const slice = makeSlice('kube-system', 'kube-dns', 1, [ep('10.244.0.5')], [
      { name: 'dns', port: 53, protocol: 'UDP' },
      { name: 'dns-tcp', port: 53, protocol: 'TCP' },
    ]);
    const text = render([svc], [slice]);
    expect(chainRules(text, 'nat', 'KUBE-SERVICES').slice(0, 2)).toEqual([
      '-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU',
      '-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 -j KUBE-SVC-ERIFXISQEP7F7OF4',
    ]);
    const sctp = render(
      [svc1((s) => (s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'SCTP' }]))],
      [makeSlice('ns1', 'svc1', 1, [ep('10.180.0.1')], [{ name: 'p80', port: 80, protocol: 'SCTP' }])],
    );
    expect(sctp).toContain('-m sctp -p sctp -d 172.30.0.41 --dport 80');
  });

  test('endpoints are matched by port name and protocol and use the endpoint port', () => {
    const svc = svc1((s) => (s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'TCP', targetPort: 'http' }]));
    const slice = makeSlice('ns1', 'svc1', 1, [ep('10.180.0.1')], [
      { name: 'p80', port: 8080 },
      { name: 'p80', port: 9999, protocol: 'UDP' },
      { name: 'other', port: 7777 },
    ]);
    const text = render([svc], [slice]);
    expect(text).toContain('-j DNAT --to-destination 10.180.0.1:8080');
    expect(text).not.toContain(':9999');
    expect(text).not.toContain(':7777');
  });

  test('dispatch order is the lexical order of "ip:port" (10.1.1.11:11 before 10.1.1.1:11)', () => {
    const svc = svc1((s) => (s.spec!.ports = [{ name: 'p', port: 11, protocol: 'TCP' }]));
    const slice = makeSlice('ns1', 'svc1', 1, [ep('10.1.1.1'), ep('10.1.1.2'), ep('10.1.1.11')], [{ name: 'p', port: 11 }]);
    const text = render([svc], [slice]);
    const svcChain = text.match(/-j (KUBE-SVC-\w+)/)![1]!;
    const rules = chainRules(text, 'nat', svcChain).slice(1);
    expect(rules.map((r) => /-> ([\d.:]+)/.exec(r)![1])).toEqual(['10.1.1.11:11', '10.1.1.1:11', '10.1.1.2:11']);
    expect(rules.map((r) => /--probability (\S+)/.exec(r)?.[1])).toEqual(['0.3333333333', '0.5000000000', undefined]);
  });

  test('a duplicate endpoint across slices: the non-terminating copy wins', () => {
    const a = makeSlice('ns1', 'svc1', 1, [ep('10.180.0.1', { conditions: { ready: true } })], p80);
    const b = makeSlice('ns1', 'svc1', 2, [ep('10.180.0.1', { conditions: { ready: false, serving: true, terminating: true } })], p80);
    const text = render([svc1()], [a, b]);
    expect(chainRules(text, 'nat', SVC)[1]).toBe(`-A ${SVC} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j ${SEP1}`);
  });

  test('leading zeros in IPs and CIDRs are normalised (TestBadIPs)', () => {
    const svc = makeService('ns1', 'svc1', (s) => {
      s.spec!.type = 'LoadBalancer';
      s.spec!.clusterIP = '172.30.0.041';
      s.spec!.externalIPs = ['192.168.099.022'];
      s.spec!.loadBalancerSourceRanges = ['203.0.113.000/025'];
      s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }];
      s.status = { loadBalancer: { ingress: [{ ip: '1.2.3.004' }] } };
    });
    const text = render([svc], [makeSlice('ns1', 'svc1', 1, [ep('10.180.00.001')], p80)]);
    expect(chainRules(text, 'nat', 'KUBE-SERVICES').slice(0, 3)).toEqual([
      `-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j ${SVC}`,
      `-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 external IP" -m tcp -p tcp -d 192.168.99.22 --dport 80 -j ${EXT}`,
      `-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 loadbalancer IP" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j ${FW}`,
    ]);
    expect(chainRules(text, 'nat', FW)[0]).toBe(`-A ${FW} -m comment --comment "ns1/svc1:p80 loadbalancer IP" -s 203.0.113.0/25 -j ${EXT}`);
    expect(chainRules(text, 'nat', SEP1)[1]).toContain('--to-destination 10.180.0.1:80');
  });
});

describe('no endpoints: REJECT in the filter table', () => {
  test('ClusterIP, externalIP, LoadBalancer IP and NodePort are all rejected', () => {
    const svc = svc1((s) => {
      s.spec!.type = 'LoadBalancer';
      s.spec!.externalIPs = ['192.168.99.11'];
      s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }];
      s.status = { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } };
    });
    const text = render([svc], []);
    const c = '"ns1/svc1:p80 has no endpoints"';
    expect(chainRules(text, 'filter', 'KUBE-SERVICES')).toEqual([
      `-A KUBE-SERVICES -m comment --comment ${c} -m tcp -p tcp -d 172.30.0.41 --dport 80 -j REJECT`,
    ]);
    expect(chainRules(text, 'filter', 'KUBE-EXTERNAL-SERVICES')).toEqual([
      `-A KUBE-EXTERNAL-SERVICES -m comment --comment ${c} -m tcp -p tcp -d 192.168.99.11 --dport 80 -j REJECT`,
      `-A KUBE-EXTERNAL-SERVICES -m comment --comment ${c} -m tcp -p tcp -d 1.2.3.4 --dport 80 -j REJECT`,
      `-A KUBE-EXTERNAL-SERVICES -m comment --comment ${c} -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3001 -j REJECT`,
    ]);
    expect(text).not.toContain(SVC);
    expect(text).not.toContain(EXT);
  });

  test('endpoints that are neither ready nor serving count as none', () => {
    const slice = makeSlice('ns1', 'svc1', 1, [ep('10.180.0.1', { conditions: { ready: false, serving: false, terminating: true } })], p80);
    expect(chainRules(render([svc1()], [slice]), 'filter', 'KUBE-SERVICES')[0]).toContain('-j REJECT');
  });
});

describe('terminating-endpoint fallback', () => {
  test('with no ready endpoint, serving+terminating ones are used', () => {
    const slice = makeSlice('ns1', 'svc1', 1, [
      ep('10.180.0.1', { conditions: { ready: false, serving: true, terminating: true } }),
      ep('10.180.0.2', { conditions: { ready: false, serving: false, terminating: true } }),
    ], p80);
    const rules = chainRules(render([svc1()], [slice]), 'nat', SVC);
    expect(rules).toHaveLength(2);
    expect(rules[1]).toBe(`-A ${SVC} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j ${SEP1}`);
  });

  test('a ready endpoint hides terminating ones', () => {
    const slice = makeSlice('ns1', 'svc1', 1, [
      ep('10.180.0.1', { conditions: { ready: false, serving: true, terminating: true } }),
      ep('10.180.0.2', { conditions: { ready: true } }),
    ], p80);
    const rules = chainRules(render([svc1()], [slice]), 'nat', SVC);
    expect(rules.slice(1).map((r) => /-> (\S+)"/.exec(r)![1])).toEqual(['10.180.0.2:80']);
  });
});

describe('internalTrafficPolicy Local', () => {
  const svc = svc1((s) => (s.spec!.internalTrafficPolicy = 'Local'));

  test('ClusterIP traffic goes to the SVL chain of local endpoints, masquerade rule first', () => {
    const slice = makeSlice('ns1', 'svc1', 1, [ep('10.180.0.1', { nodeName: TEST_NODE }), ep('10.180.0.2', { nodeName: 'other' })], p80);
    const text = render([svc], [slice]);
    expect(chainRules(text, 'nat', 'KUBE-SERVICES')[0]).toBe(
      `-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j ${SVL}`,
    );
    expect(chainRules(text, 'nat', SVL)).toEqual([
      `-A ${SVL} -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ`,
      `-A ${SVL} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j ${SEP1}`,
    ]);
    expect(text).not.toContain(`:${SVC}`);
    expect(text).not.toContain('10.180.0.2:80');
  });

  test('no local endpoints: the ClusterIP is dropped', () => {
    const slice = makeSlice('ns1', 'svc1', 1, [ep('10.180.0.2', { nodeName: 'other' })], p80);
    const text = render([svc], [slice]);
    expect(chainRules(text, 'filter', 'KUBE-SERVICES')).toEqual([
      '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 has no local endpoints" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j DROP',
    ]);
    expect(text).not.toContain(':KUBE-SEP-');
  });
});

describe('externalTrafficPolicy Local', () => {
  const svc = svc1((s) => {
    s.spec!.type = 'NodePort';
    s.spec!.externalTrafficPolicy = 'Local';
    s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }];
  });

  test('EXT chain: pod short-circuit, LOCAL masquerade and routing, then the SVL chain', () => {
    const slice = makeSlice('ns1', 'svc1', 1, [ep('10.180.0.1', { nodeName: TEST_NODE }), ep('10.180.0.2', { nodeName: 'other' })], p80);
    const text = render([svc], [slice]);
    expect(chainRules(text, 'nat', EXT)).toEqual([
      `-A ${EXT} -m comment --comment "pod traffic for ns1/svc1:p80 external destinations" -s 10.0.0.0/8 -j ${SVC}`,
      `-A ${EXT} -m comment --comment "masquerade LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`,
      `-A ${EXT} -m comment --comment "route LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j ${SVC}`,
      `-A ${EXT} -j ${SVL}`,
    ]);
    expect(chainRules(text, 'nat', SVL)).toEqual([`-A ${SVL} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j ${SEP1}`]);
    expect(chainRules(text, 'nat', SVC)).toHaveLength(3); // masquerade + two endpoints
    expect(text.match(/^:KUBE-SEP-/gm)).toHaveLength(2);
  });

  test('without a detector there is no pod short-circuit', () => {
    const slice = makeSlice('ns1', 'svc1', 1, [ep('10.180.0.1', { nodeName: TEST_NODE })], p80);
    const rules = chainRules(render([svc], [slice], { detectLocalMode: 'None' }), 'nat', EXT);
    expect(rules[0]).toContain('masquerade LOCAL traffic');
  });

  test('no local endpoints: external traffic dropped in the filter table, ClusterIP still served', () => {
    const slice = makeSlice('ns1', 'svc1', 1, [ep('10.180.0.2', { nodeName: 'other' })], p80);
    const text = render([svc], [slice]);
    expect(chainRules(text, 'filter', 'KUBE-EXTERNAL-SERVICES')).toEqual([
      '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3001 -j DROP',
    ]);
    expect(chainRules(text, 'nat', EXT).at(-1)).toContain('route LOCAL traffic');
    expect(chainRules(text, 'nat', 'KUBE-SERVICES')[0]).toContain(`-j ${SVC}`);
  });

  test('local terminating endpoints are used when no local endpoint is ready, and get SEP chains', () => {
    const slice = makeSlice('ns1', 'svc1', 1, [
      ep('10.180.0.1', { nodeName: TEST_NODE, conditions: { ready: false, serving: true, terminating: true } }),
      ep('10.180.0.2', { nodeName: 'other' }),
    ], p80);
    const text = render([svc], [slice]);
    expect(chainRules(text, 'nat', SVL)).toEqual([`-A ${SVL} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j ${SEP1}`]);
    expect(chainRules(text, 'nat', SVC).slice(1).map((r) => /-> (\S+)"/.exec(r)![1])).toEqual(['10.180.0.2:80']);
    expect(text).toContain(`:${SEP1} - [0:0]`);
  });

  test('a LoadBalancer with eTP Local opens its health check node port', () => {
    const lb = svc1((s) => {
      s.spec!.type = 'LoadBalancer';
      s.spec!.externalTrafficPolicy = 'Local';
      s.spec!.healthCheckNodePort = 32000;
      s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }];
    });
    expect(chainRules(render([lb], []), 'filter', 'KUBE-NODEPORTS')).toEqual([
      '-A KUBE-NODEPORTS -m comment --comment "ns1/svc1:p80 health check node port" -m tcp -p tcp --dport 32000 -j ACCEPT',
    ]);
  });
});

describe('session affinity ClientIP', () => {
  test('recent --rcheck rules for every endpoint come first, then the random split; SEP chains --set', () => {
    const svc = svc1((s) => {
      s.spec!.sessionAffinity = 'ClientIP';
      s.spec!.sessionAffinityConfig = { clientIP: { timeoutSeconds: 300 } };
    });
    const text = render([svc], [makeSlice('ns1', 'svc1', 1, [ep('10.180.0.1'), ep('10.180.0.2')], p80)]);
    const sep2 = /-> 10\.180\.0\.2:80" -j (\S+)/.exec(text)![1]!;
    expect(chainRules(text, 'nat', SVC).slice(1)).toEqual([
      `-A ${SVC} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m recent --name ${SEP1} --rcheck --seconds 300 --reap -j ${SEP1}`,
      `-A ${SVC} -m comment --comment "ns1/svc1:p80 -> 10.180.0.2:80" -m recent --name ${sep2} --rcheck --seconds 300 --reap -j ${sep2}`,
      `-A ${SVC} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m statistic --mode random --probability 0.5000000000 -j ${SEP1}`,
      `-A ${SVC} -m comment --comment "ns1/svc1:p80 -> 10.180.0.2:80" -j ${sep2}`,
    ]);
    expect(chainRules(text, 'nat', SEP1)[1]).toBe(
      `-A ${SEP1} -m comment --comment ns1/svc1:p80 -m recent --name ${SEP1} --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80`,
    );
  });

  test('the timeout defaults to 10800 seconds', () => {
    const svc = svc1((s) => (s.spec!.sessionAffinity = 'ClientIP'));
    expect(render([svc], [makeSlice('ns1', 'svc1', 1, [ep('10.180.0.1')], p80)])).toContain('--rcheck --seconds 10800 --reap');
  });
});

describe('LoadBalancer', () => {
  const lb = (mutate: (s: Parameters<Parameters<typeof makeService>[2]>[0]) => void) =>
    svc1((s) => {
      s.spec!.type = 'LoadBalancer';
      s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }];
      s.status = { loadBalancer: { ingress: [{ ip: '1.2.3.4' }, { ip: '5.6.7.8' }] } };
      mutate(s);
    });
  const slices = [makeSlice('ns1', 'svc1', 1, [ep('10.180.0.1')], p80)];

  test('source ranges: a KUBE-FW chain and a KUBE-PROXY-FIREWALL drop per VIP', () => {
    const text = render([lb((s) => (s.spec!.loadBalancerSourceRanges = ['203.0.113.0/25', '198.51.100.0/24']))], slices);
    expect(chainRules(text, 'nat', FW)).toEqual([
      `-A ${FW} -m comment --comment "ns1/svc1:p80 loadbalancer IP" -s 203.0.113.0/25 -j ${EXT}`,
      `-A ${FW} -m comment --comment "ns1/svc1:p80 loadbalancer IP" -s 198.51.100.0/24 -j ${EXT}`,
      `-A ${FW} -m comment --comment "other traffic to ns1/svc1:p80 will be dropped by KUBE-PROXY-FIREWALL"`,
    ]);
    expect(chainRules(text, 'filter', 'KUBE-PROXY-FIREWALL')).toEqual([
      `-A KUBE-PROXY-FIREWALL -m comment --comment "ns1/svc1:p80 traffic not accepted by ${FW}" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j DROP`,
      `-A KUBE-PROXY-FIREWALL -m comment --comment "ns1/svc1:p80 traffic not accepted by ${FW}" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j DROP`,
    ]);
    // NodePorts bypass the source ranges.
    expect(chainRules(text, 'nat', 'KUBE-NODEPORTS').at(-1)).toBe(
      `-A KUBE-NODEPORTS -m comment --comment ns1/svc1:p80 -m tcp -p tcp --dport 3001 -j ${EXT}`,
    );
  });

  test('a range that contains the node IP also allows each VIP as source', () => {
    const text = render([lb((s) => (s.spec!.loadBalancerSourceRanges = ['192.168.0.0/24']))], slices);
    expect(chainRules(text, 'nat', FW)).toEqual([
      `-A ${FW} -m comment --comment "ns1/svc1:p80 loadbalancer IP" -s 192.168.0.0/24 -j ${EXT}`,
      `-A ${FW} -m comment --comment "ns1/svc1:p80 loadbalancer IP" -s 1.2.3.4 -j ${EXT}`,
      `-A ${FW} -m comment --comment "ns1/svc1:p80 loadbalancer IP" -s 5.6.7.8 -j ${EXT}`,
      `-A ${FW} -m comment --comment "other traffic to ns1/svc1:p80 will be dropped by KUBE-PROXY-FIREWALL"`,
    ]);
  });

  test('a 0.0.0.0/0 range means no firewall', () => {
    const text = render([lb((s) => (s.spec!.loadBalancerSourceRanges = ['203.0.113.0/25', '0.0.0.0/0']))], slices);
    expect(text).not.toContain(FW);
  });

  test('ingress with ipMode Proxy is ignored; VIP and unset are programmed (TestLoadBalancerIngressRouteTypeProxy)', () => {
    const text = render(
      [lb((s) => (s.status = { loadBalancer: { ingress: [{ ip: '1.2.3.4', ipMode: 'Proxy' }, { ip: '5.6.7.8', ipMode: 'VIP' }, { ip: '9.10.11.12' }, { hostname: 'lb.example.com' }] } }))],
      slices,
    );
    const lbRules = chainRules(text, 'nat', 'KUBE-SERVICES').filter((r) => r.includes('loadbalancer IP'));
    expect(lbRules.map((r) => /-d (\S+)/.exec(r)![1])).toEqual(['5.6.7.8', '9.10.11.12']);
  });

  test('eTP Cluster: every external destination is masqueraded', () => {
    expect(chainRules(render([lb(() => {})], slices), 'nat', EXT)).toEqual([
      `-A ${EXT} -m comment --comment "masquerade traffic for ns1/svc1:p80 external destinations" -j KUBE-MARK-MASQ`,
      `-A ${EXT} -j ${SVC}`,
    ]);
  });
});

describe('topology hints', () => {
  const zoned = (zones: Record<string, string | undefined>, extra: Record<string, string[]> = {}) =>
    makeSlice(
      'ns1',
      'svc1',
      1,
      Object.entries(zones).map(([ip, zone]) =>
        ep(ip, {
          zone,
          hints: {
            ...(zone ? { forZones: [{ name: zone }] } : {}),
            ...(extra[ip] ? { forNodes: extra[ip]!.map((name) => ({ name })) } : {}),
          } as never,
        }),
      ),
      p80,
    );
  const targets = (text: string) => chainRules(text, 'nat', SVC).slice(1).map((r) => /-> (\S+)"/.exec(r)![1]);

  test('every ready endpoint hinted: only this zone\'s endpoints, and only they get SEP chains', () => {
    const slice = zoned({ '10.180.0.1': 'zone-a', '10.180.0.2': 'zone-b', '10.180.0.3': 'zone-a' });
    const text = render([svc1()], [slice], { zone: 'zone-a' });
    expect(targets(text)).toEqual(['10.180.0.1:80', '10.180.0.3:80']);
    expect(text.match(/^:KUBE-SEP-/gm)).toHaveLength(2);
  });

  test('no hint for this zone, or one endpoint without a hint: all endpoints', () => {
    expect(targets(render([svc1()], [zoned({ '10.180.0.1': 'zone-a', '10.180.0.2': 'zone-b' })], { zone: 'zone-c' }))).toEqual([
      '10.180.0.1:80',
      '10.180.0.2:80',
    ]);
    expect(targets(render([svc1()], [zoned({ '10.180.0.1': 'zone-a', '10.180.0.2': undefined })], { zone: 'zone-a' }))).toEqual([
      '10.180.0.1:80',
      '10.180.0.2:80',
    ]);
  });

  test('node hints (PreferSameNode) win over zone hints when every endpoint has one', () => {
    const slice = zoned({ '10.180.0.1': 'zone-a', '10.180.0.2': 'zone-a' }, { '10.180.0.1': ['other'], '10.180.0.2': [TEST_NODE] });
    expect(targets(render([svc1()], [slice], { zone: 'zone-a' }))).toEqual(['10.180.0.2:80']);
    // With the feature gate off node hints are not read: zone hints apply.
    expect(targets(render([svc1()], [slice], { zone: 'zone-a' }, { preferSameTrafficDistribution: false }))).toEqual([
      '10.180.0.1:80',
      '10.180.0.2:80',
    ]);
  });

  test('hints are ignored for the Local-policy list', () => {
    const svc = svc1((s) => (s.spec!.internalTrafficPolicy = 'Local'));
    const slice = makeSlice('ns1', 'svc1', 1, [
      ep('10.180.0.1', { nodeName: TEST_NODE, hints: { forZones: [{ name: 'zone-b' }] } }),
      ep('10.180.0.2', { nodeName: 'other', hints: { forZones: [{ name: 'zone-a' }] } }),
    ], p80);
    const text = render([svc], [slice], { zone: 'zone-a' });
    expect(chainRules(text, 'nat', SVL).slice(1)).toEqual([`-A ${SVL} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j ${SEP1}`]);
  });
});

describe('NodePorts (TestNodePorts, chain level)', () => {
  const np = svc1((s) => {
    s.spec!.type = 'NodePort';
    s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }];
  });
  const v6 = makeService('ns1', 'svc1', (s) => {
    s.spec!.type = 'NodePort';
    s.spec!.clusterIP = 'fd00:172:30::41';
    s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }];
  });
  const slice4 = makeSlice('ns1', 'svc1', 1, [ep('10.180.0.1')], p80);
  const slice6 = makeSlice('ns1', 'svc1', 1, [ep('fd00:10:180::1')], p80, 'IPv6');
  const tail = (text: string) => chainRules(text, 'nat', 'KUBE-SERVICES').filter((r) => r.includes('NOTE'));
  const NOTE = '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain"';

  test.each([
    ['IPv4, localhost on, all addresses', {}, [`${NOTE} -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`], true],
    ['IPv4, localhost off, all addresses', { localhostNodePorts: false }, [`${NOTE} -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS`], false],
    ['IPv4, localhost on, one subnet', { nodePortAddresses: ['192.168.0.0/24'] }, [`${NOTE} -d 192.168.0.2 -j KUBE-NODEPORTS`], false],
    [
      'IPv4, localhost on, subnet + loopback',
      { nodePortAddresses: ['192.168.0.0/24', '127.0.0.0/8'] },
      [`${NOTE} -d 192.168.0.2 -j KUBE-NODEPORTS`, `${NOTE} -d 127.0.0.1 -j KUBE-NODEPORTS`],
      true,
    ],
    [
      'IPv4, localhost off, subnet + loopback',
      { localhostNodePorts: false, nodePortAddresses: ['192.168.0.0/24', '127.0.0.0/8'] },
      [`${NOTE} -d 192.168.0.2 -j KUBE-NODEPORTS`],
      false,
    ],
    ['IPv4, primary keyword', { nodePortAddresses: ['primary'] }, [`${NOTE} -d 192.168.0.2 -j KUBE-NODEPORTS`], false],
  ] as const)('%s', (_name, node, expected, firewall) => {
    const text = render([np], [slice4], node as Partial<NodeView>);
    expect(tail(text)).toEqual(expected);
    expect(text.includes(':KUBE-FIREWALL - [0:0]')).toBe(firewall);
    expect(text.includes('-d 127.0.0.0/8 --dport 3001 -m nfacct')).toBe(firewall);
  });

  test('IPv6, all addresses: localhost excluded, no KUBE-FIREWALL, no localhost rule', () => {
    const text = render([v6], [slice6], {}, { ipFamily: 'IPv6' });
    expect(tail(text)).toEqual([`${NOTE} -m addrtype --dst-type LOCAL ! -d ::1/128 -j KUBE-NODEPORTS`]);
    expect(text).not.toContain('KUBE-FIREWALL');
    expect(text).not.toContain('127.0.0.0/8');
  });

  test('IPv6, one subnet', () => {
    const text = render([v6], [slice6], { nodePortAddresses: ['2001:db8::/64', '::1/128'] }, { ipFamily: 'IPv6' });
    expect(tail(text)).toEqual([`${NOTE} -d 2001:db8::1 -j KUBE-NODEPORTS`]);
  });

  test('without the nfacct counter there is no localhost NodePort rule', () => {
    const text = render([np], [slice4], {}, { nfacct: false });
    expect(chainRules(text, 'nat', 'KUBE-NODEPORTS')).toEqual([
      `-A KUBE-NODEPORTS -m comment --comment ns1/svc1:p80 -m tcp -p tcp --dport 3001 -j ${EXT}`,
    ]);
  });
});

describe('fixed chains', () => {
  const text = (env: ProxierEnvironment, node: Partial<NodeView> = {}) => render([], [], node, env);

  test.each([
    [{}, ['-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP']],
    [{ nfacct: false }, ['-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP']],
    [{ conntrackTCPBeLiberal: true }, []],
  ])('KUBE-FORWARD with %o (TestDropInvalidRule)', (env, invalid) => {
    expect(chainRules(text(env), 'filter', 'KUBE-FORWARD')).toEqual([
      ...invalid,
      '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT',
      '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    ]);
  });

  test.each([
    [false, '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE'],
    [true, '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully'],
  ])('KUBE-POSTROUTING with randomFully=%s (TestMasqueradeRule)', (randomFully, last) => {
    expect(chainRules(text({ randomFully }), 'nat', 'KUBE-POSTROUTING')).toEqual([
      '-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN',
      '-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000',
      last,
    ]);
  });

  test('the mark follows masqueradeBit, formatted like Go %#08x', () => {
    expect(chainRules(text({}, { masqueradeBit: 0 }), 'nat', 'KUBE-MARK-MASQ')).toEqual(['-A KUBE-MARK-MASQ -j MARK --or-mark 0x00000001']);
    expect(chainRules(text({}, { masqueradeBit: 31 }), 'nat', 'KUBE-MARK-MASQ')).toEqual(['-A KUBE-MARK-MASQ -j MARK --or-mark 0x80000000']);
  });

  test('an empty cluster: the exact raw payload in kube-proxy\'s write order', () => {
    expect(render([], [], {}, { randomFully: true })).toBe(
      [
        '*filter',
        ':KUBE-SERVICES - [0:0]',
        ':KUBE-EXTERNAL-SERVICES - [0:0]',
        ':KUBE-FORWARD - [0:0]',
        ':KUBE-NODEPORTS - [0:0]',
        ':KUBE-PROXY-FIREWALL - [0:0]',
        ':KUBE-FIREWALL - [0:0]',
        '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
        '-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP',
        '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT',
        '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        'COMMIT',
        '*nat',
        ':KUBE-SERVICES - [0:0]',
        ':KUBE-NODEPORTS - [0:0]',
        ':KUBE-POSTROUTING - [0:0]',
        ':KUBE-MARK-MASQ - [0:0]',
        '-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN',
        '-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000',
        '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
        '-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000',
        '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });
});

describe('IPv6 and dual-stack', () => {
  const dual = makeService('ns1', 'svc1', (s) => {
    s.spec!.clusterIP = '172.30.0.41';
    s.spec!.clusterIPs = ['172.30.0.41', 'fd00:172:30::41'];
    s.spec!.ipFamilies = ['IPv4', 'IPv6'];
    s.spec!.externalIPs = ['192.168.99.33', '2001:db8:99::33'];
    s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'TCP' }];
  });
  const slices = [
    makeSlice('ns1', 'svc1', 1, [ep('10.180.0.1')], p80),
    makeSlice('ns1', 'svc1', 2, [ep('fd00:10:180::1')], p80, 'IPv6'),
  ];

  test('the IPv6 proxier uses the IPv6 ClusterIP, externalIPs and endpoints, bracketed in DNAT', () => {
    const text = render([dual], slices, { clusterCIDR: '10.0.0.0/8,fd00:10::/32' }, { ipFamily: 'IPv6' });
    const sep = /-j (KUBE-SEP-\w+)/.exec(text)![1]!;
    expect(chainRules(text, 'nat', 'KUBE-SERVICES').slice(0, 2)).toEqual([
      `-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d fd00:172:30::41 --dport 80 -j ${SVC}`,
      `-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 external IP" -m tcp -p tcp -d 2001:db8:99::33 --dport 80 -j ${EXT}`,
    ]);
    expect(chainRules(text, 'nat', SVC)[0]).toContain('! -s fd00:10::/32 -j KUBE-MARK-MASQ');
    expect(chainRules(text, 'nat', sep)).toEqual([
      `-A ${sep} -m comment --comment ns1/svc1:p80 -s fd00:10:180::1 -j KUBE-MARK-MASQ`,
      `-A ${sep} -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination [fd00:10:180::1]:80`,
    ]);
  });

  test('the IPv4 proxier ignores the IPv6 addresses', () => {
    const text = render([dual], slices);
    expect(text).not.toMatch(/fd00|2001:db8/);
    expect(text).toContain('-d 192.168.99.33 --dport 80');
  });

  test('a single-stack IPv4 Service is invisible to the IPv6 proxier', () => {
    const text = render([svc1()], [makeSlice('ns1', 'svc1', 1, [ep('10.180.0.1')], p80)], {}, { ipFamily: 'IPv6' });
    expect(text).not.toContain('ns1/svc1');
  });
});

describe('large-cluster mode (more than 1000 endpoints)', () => {
  test('SVC/SVL/SEP rules lose their comments; other rules keep them', () => {
    const services: Service[] = [];
    const slices: EndpointSlice[] = [];
    for (let i = 0; i < 11; i++) {
      services.push(
        makeService('ns1', `svc${i}`, (s) => {
          s.spec!.clusterIP = `172.30.1.${i}`;
          s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'TCP' }];
        }),
      );
      slices.push(makeSlice('ns1', `svc${i}`, 1, Array.from({ length: 100 }, (_, j) => ep(`10.${i}.0.${j}`)), p80));
    }
    const text = render(services, slices);
    const svcChain = /-j (KUBE-SVC-\w+)/.exec(text)![1]!;
    const rules = chainRules(text, 'nat', svcChain);
    expect(rules[0]).toContain('-m comment --comment "ns1/svc0:p80 cluster IP"');
    expect(rules[1]).toMatch(new RegExp(`^-A ${svcChain} -m statistic --mode random --probability 0.0100000000 -j KUBE-SEP-\\w+$`));
    const sep = /-j (KUBE-SEP-\w+)$/.exec(rules[1]!)![1]!;
    expect(chainRules(text, 'nat', sep)).toEqual([`-A ${sep} -s 10.0.0.0 -j KUBE-MARK-MASQ`, `-A ${sep} -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80`]);
  });
});

describe('rules outside the restore payload', () => {
  test('jump rules from built-in chains, as iptables-save lists them (kubelet\'s KUBE-FIREWALL jump first created, so last)', () => {
    const byChain = (table: string, chain: string) =>
      iptablesJumpRules()
        .filter((j) => j.table === table && j.chain === chain)
        .map((j) => j.line);
    expect(byChain('filter', 'INPUT')).toEqual([
      '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
      '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
      '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
      '-A INPUT -j KUBE-FIREWALL',
    ]);
    expect(byChain('filter', 'FORWARD')).toEqual([
      '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
      '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
      '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    ]);
    expect(byChain('nat', 'PREROUTING')).toEqual(['-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES']);
    expect(byChain('nat', 'POSTROUTING')).toEqual(['-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING']);
  });

  test('the canary chain lives in mangle, nat and filter, outside the payload', () => {
    expect(iptablesEnsuredChains().filter((c) => c.chain === 'KUBE-PROXY-CANARY').map((c) => c.table)).toEqual(['mangle', 'nat', 'filter']);
    expect(render([], [])).not.toContain('KUBE-PROXY-CANARY');
  });
});
