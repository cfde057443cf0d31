// Packet-flow outcomes of the rendered rules, as upstream's packet-tracer tests assert them
// (TestInternalExternalMasquerade, TestLoadBalancer, TestNoEndpointsReject, TestHealthCheckNodePort,
// TestInternalTrafficPolicy; reference §1.9).
import { describe, expect, test } from 'vitest';
import type { Service } from 'kubernetes-types/core/v1.js';
import { renderIptables, type NodeView } from '../../../src/dataplane/kubeproxy/index.js';
import { TEST_ENV, TEST_NODE, ep, makeService, makeSlice, testNode } from './helpers.js';
import { tracePacket } from './tracer.js';

const NODE_IPS = ['192.168.0.2', '192.168.1.2', '192.168.99.11'];
const POD = '10.0.0.2';
const NODE = '192.168.0.2';
const LOCALHOST = '127.0.0.1';
const EXTERNAL = '203.0.113.251';
const p80 = [{ name: 'p80', port: 80 }];

function lbService(n: number, lbIP: string, mutate: (s: Parameters<Parameters<typeof makeService>[2]>[0]) => void = () => {}): Service {
  return makeService('ns1', `svc${n}`, (s) => {
    s.spec!.type = 'LoadBalancer';
    s.spec!.clusterIP = `172.30.0.4${n}`;
    s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3000 + n }];
    s.status = { loadBalancer: { ingress: [{ ip: lbIP }] } };
    mutate(s);
  });
}

describe('TestInternalExternalMasquerade', () => {
  const services = [
    lbService(1, '9.10.11.1'),
    lbService(2, '9.10.11.2', (s) => {
      s.spec!.externalTrafficPolicy = 'Local';
      s.spec!.healthCheckNodePort = 30002;
    }),
    lbService(3, '9.10.11.3', (s) => (s.spec!.internalTrafficPolicy = 'Local')),
  ];
  // Each service: one endpoint on this node, one elsewhere.
  const slices = [1, 2, 3].map((n) =>
    makeSlice('ns1', `svc${n}`, 1, [ep(`10.180.0.${n}`, { nodeName: TEST_NODE }), ep(`10.180.1.${n}`, { nodeName: 'remote' })], p80),
  );
  const both = (n: number) => `10.180.0.${n}:80, 10.180.1.${n}:80`;
  const local = (n: number) => `10.180.0.${n}:80`;

  type Case = [name: string, source: string, dest: string, port: number, output: string, masq: boolean];
  const base: Case[] = [
    ['pod to ClusterIP', POD, '172.30.0.41', 80, both(1), false],
    ['node to ClusterIP', NODE, '172.30.0.41', 80, both(1), true],
    ['localhost to ClusterIP', LOCALHOST, '172.30.0.41', 80, both(1), true],
    ['external to ClusterIP', EXTERNAL, '172.30.0.41', 80, both(1), true],
    ['pod to NodePort', POD, NODE, 3001, both(1), true],
    ['node to NodePort', NODE, NODE, 3001, both(1), true],
    ['localhost to NodePort', LOCALHOST, LOCALHOST, 3001, both(1), true],
    ['external to NodePort', EXTERNAL, NODE, 3001, both(1), true],
    ['pod to LB', POD, '9.10.11.1', 80, both(1), true],
    ['external to LB', EXTERNAL, '9.10.11.1', 80, both(1), true],
    ['eTP:Local pod to ClusterIP', POD, '172.30.0.42', 80, both(2), false],
    ['eTP:Local pod to NodePort (short-circuit)', POD, NODE, 3002, both(2), false],
    ['eTP:Local node to NodePort', NODE, NODE, 3002, both(2), true],
    ['eTP:Local localhost to NodePort', LOCALHOST, LOCALHOST, 3002, both(2), true],
    ['eTP:Local external to NodePort', EXTERNAL, NODE, 3002, local(2), false],
    ['eTP:Local pod to LB (short-circuit)', POD, '9.10.11.2', 80, both(2), false],
    ['eTP:Local external to LB', EXTERNAL, '9.10.11.2', 80, local(2), false],
    ['iTP:Local pod to ClusterIP', POD, '172.30.0.43', 80, local(3), false],
    ['iTP:Local node to ClusterIP', NODE, '172.30.0.43', 80, local(3), true],
    ['iTP:Local external to ClusterIP', EXTERNAL, '172.30.0.43', 80, local(3), true],
    ['iTP:Local external to NodePort (iTP ignored)', EXTERNAL, NODE, 3003, both(3), true],
    ['iTP:Local pod to LB (iTP ignored)', POD, '9.10.11.3', 80, both(3), true],
  ];
  const overrides: Record<string, { node: Partial<NodeView>; changes: Record<string, [string, boolean]> }> = {
    'no local detector': {
      node: { clusterCIDR: undefined },
      changes: {
        'node to ClusterIP': [both(1), false],
        'localhost to ClusterIP': [both(1), false],
        'external to ClusterIP': [both(1), false],
        'eTP:Local pod to NodePort (short-circuit)': [local(2), false],
        'eTP:Local pod to LB (short-circuit)': [local(2), false],
        'iTP:Local node to ClusterIP': [local(3), false],
        'iTP:Local external to ClusterIP': [local(3), false],
      },
    },
    masqueradeAll: {
      node: { masqueradeAll: true },
      changes: {
        'pod to ClusterIP': [both(1), true],
        'eTP:Local pod to ClusterIP': [both(2), true],
        'iTP:Local pod to ClusterIP': [local(3), true],
      },
    },
    'no local detector, masqueradeAll': {
      node: { clusterCIDR: undefined, masqueradeAll: true },
      changes: {
        'pod to ClusterIP': [both(1), true],
        'eTP:Local pod to ClusterIP': [both(2), true],
        'iTP:Local pod to ClusterIP': [local(3), true],
        'eTP:Local pod to NodePort (short-circuit)': [local(2), false],
        'eTP:Local pod to LB (short-circuit)': [local(2), false],
      },
    },
  };

  for (const config of ['base', ...Object.keys(overrides)]) {
    const o = overrides[config];
    const text = renderIptables(services, slices, testNode(o?.node ?? {}), TEST_ENV).text;
    describe(config, () => {
      test.each(base)('%s', (name, source, dest, port, output, masq) => {
        const [wantOut, wantMasq] = o?.changes[name] ?? [output, masq];
        expect(tracePacket(text, NODE_IPS, { source, dest, port })).toEqual({ output: wantOut, masq: wantMasq });
      });
    });
  }
});

describe('TestLoadBalancer (source ranges)', () => {
  const svc = lbService(1, '1.2.3.4', (s) => {
    s.spec!.loadBalancerSourceRanges = ['203.0.113.0/25'];
    s.status = { loadBalancer: { ingress: [{ ip: '1.2.3.4' }, { ip: '5.6.7.8' }] } };
  });
  const slices = [makeSlice('ns1', 'svc1', 1, [ep('10.180.0.1', { nodeName: TEST_NODE })], p80)];
  const text = renderIptables([svc], slices, testNode(), TEST_ENV).text;
  const trace = (source: string, dest: string, port = 80) => tracePacket(text, NODE_IPS, { source, dest, port });

  test('an allowed client reaches the endpoint, masqueraded', () => {
    expect(trace('203.0.113.1', '1.2.3.4')).toEqual({ output: '10.180.0.1:80', masq: true });
    expect(trace('203.0.113.1', '5.6.7.8')).toEqual({ output: '10.180.0.1:80', masq: true });
  });

  test('a blocked client is dropped at the LB IP but can use the NodePort', () => {
    expect(trace('203.0.113.130', '1.2.3.4')).toEqual({ output: 'DROP', masq: false });
    expect(trace('203.0.113.130', NODE, 3001)).toEqual({ output: '10.180.0.1:80', masq: true });
  });

  test('pods are not in the source range', () => {
    expect(trace(POD, '1.2.3.4').output).toBe('DROP');
  });

  test('the node itself, and VIP-sourced hairpin traffic, pass when a range covers the node IP', () => {
    const allowNode = renderIptables(
      [lbService(1, '1.2.3.4', (s) => (s.spec!.loadBalancerSourceRanges = ['203.0.113.0/25', '192.168.0.0/24']))],
      slices,
      testNode(),
      TEST_ENV,
    ).text;
    expect(tracePacket(allowNode, NODE_IPS, { source: NODE, dest: '1.2.3.4', port: 80 }).output).toBe('10.180.0.1:80');
    expect(tracePacket(allowNode, NODE_IPS, { source: '1.2.3.4', dest: '1.2.3.4', port: 80 }).output).toBe('10.180.0.1:80');
    expect(trace(NODE, '1.2.3.4').output).toBe('DROP');
  });
});

describe('TestNoEndpointsReject', () => {
  const svc = makeService('ns1', 'svc1', (s) => {
    s.spec!.type = 'LoadBalancer';
    s.spec!.clusterIP = '172.30.0.41';
    s.spec!.externalIPs = ['192.168.99.11'];
    s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }];
    s.status = { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } };
  });
  const text = renderIptables([svc], [], testNode(), TEST_ENV).text;
  test.each([
    ['pod to ClusterIP', POD, '172.30.0.41', 80],
    ['external to ClusterIP', EXTERNAL, '172.30.0.41', 80],
    ['pod to externalIP', POD, '192.168.99.11', 80],
    ['external to externalIP', EXTERNAL, '192.168.99.11', 80],
    ['pod to NodePort', POD, NODE, 3001],
    ['external to NodePort', EXTERNAL, NODE, 3001],
    ['pod to LB', POD, '1.2.3.4', 80],
    ['external to LB', EXTERNAL, '1.2.3.4', 80],
  ])('%s is rejected', (_n, source, dest, port) => {
    expect(tracePacket(text, NODE_IPS, { source, dest, port }).output).toBe('REJECT');
  });
});

describe('health check node port and iTP Local without local endpoints', () => {
  test('the health check node port is accepted even with no local endpoint; external traffic is dropped', () => {
    const svc = lbService(1, '1.2.3.4', (s) => {
      s.spec!.externalTrafficPolicy = 'Local';
      s.spec!.healthCheckNodePort = 30000;
    });
    const text = renderIptables([svc], [makeSlice('ns1', 'svc1', 1, [ep('10.180.1.1', { nodeName: 'remote' })], p80)], testNode(), TEST_ENV).text;
    expect(tracePacket(text, NODE_IPS, { source: EXTERNAL, dest: NODE, port: 30000 }).output).toBe('ACCEPT');
    expect(tracePacket(text, NODE_IPS, { source: EXTERNAL, dest: '1.2.3.4', port: 80 }).output).toBe('DROP');
    expect(tracePacket(text, NODE_IPS, { source: POD, dest: '1.2.3.4', port: 80 })).toEqual({ output: '10.180.1.1:80', masq: false });
  });

  test('iTP Local with only remote endpoints drops ClusterIP traffic; with no endpoints it is rejected', () => {
    const svc = makeService('ns1', 'svc1', (s) => {
      s.spec!.clusterIP = '172.30.0.41';
      s.spec!.internalTrafficPolicy = 'Local';
      s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'TCP' }];
    });
    const remote = makeSlice('ns1', 'svc1', 1, [ep('10.180.1.1', { nodeName: 'remote' })], p80);
    const pkt = { source: POD, dest: '172.30.0.41', port: 80 };
    expect(tracePacket(renderIptables([svc], [remote], testNode(), TEST_ENV).text, NODE_IPS, pkt).output).toBe('DROP');
    expect(tracePacket(renderIptables([svc], [], testNode(), TEST_ENV).text, NODE_IPS, pkt).output).toBe('REJECT');
  });

  test('protocol isolation: a UDP packet does not match a TCP service', () => {
    const svc = makeService('ns1', 'svc1', (s) => {
      s.spec!.clusterIP = '172.30.0.41';
      s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'TCP' }];
    });
    const text = renderIptables([svc], [makeSlice('ns1', 'svc1', 1, [ep('10.180.0.1')], p80)], testNode(), TEST_ENV).text;
    expect(tracePacket(text, NODE_IPS, { source: POD, dest: '172.30.0.41', port: 80, protocol: 'udp' }).output).toBe('');
  });
});
