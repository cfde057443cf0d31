// The Services and EndpointSlices of upstream's TestOverallIPTablesRules.
import { TEST_NODE, ep, makeService, makeSlice } from './helpers.js';

export const overallServices = [
  makeService('ns1', 'svc1', (s) => {
    s.spec!.clusterIP = '172.30.0.41';
    s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'TCP' }];
  }),
  makeService('ns2', 'svc2', (s) => {
    s.spec!.type = 'LoadBalancer';
    s.spec!.externalTrafficPolicy = 'Local';
    s.spec!.clusterIP = '172.30.0.42';
    s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }];
    s.status = { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } };
    s.spec!.externalIPs = ['192.168.99.22'];
    s.spec!.healthCheckNodePort = 30000;
  }),
  makeService('ns3', 'svc3', (s) => {
    s.spec!.type = 'NodePort';
    s.spec!.clusterIP = '172.30.0.43';
    s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3003 }];
  }),
  makeService('ns4', 'svc4', (s) => {
    s.spec!.type = 'NodePort';
    s.spec!.clusterIP = '172.30.0.44';
    s.spec!.externalIPs = ['192.168.99.33'];
    s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'TCP', targetPort: 80 }];
  }),
  makeService('ns5', 'svc5', (s) => {
    s.spec!.type = 'LoadBalancer';
    s.spec!.externalTrafficPolicy = 'Cluster';
    s.spec!.clusterIP = '172.30.0.45';
    s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3002 }];
    s.status = { loadBalancer: { ingress: [{ ip: '5.6.7.8' }] } };
    s.spec!.healthCheckNodePort = 30000; // ignored: eTP Cluster needs no health check
    s.spec!.loadBalancerSourceRanges = [' 203.0.113.0/25']; // whitespace is tolerated
    s.spec!.sessionAffinity = 'ClientIP';
    s.spec!.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
  }),
  makeService('ns6', 'svc6', (s) => {
    s.spec!.clusterIP = '172.30.0.46';
    s.spec!.ports = [{ name: 'p80', port: 80, protocol: 'TCP', targetPort: 80 }];
  }),
];

const p80 = [{ name: 'p80', port: 80 }];
export const overallSlices = [
  makeSlice('ns1', 'svc1', 1, [ep('10.180.0.1')], p80),
  // No nodeName: not local, so eTP Local has no usable endpoint on this node.
  makeSlice('ns2', 'svc2', 1, [ep('10.180.0.2')], p80),
  makeSlice('ns3', 'svc3', 1, [ep('10.180.0.3')], p80),
  makeSlice('ns4', 'svc4', 1, [ep('10.180.0.4'), ep('10.180.0.5', { nodeName: TEST_NODE })], p80),
  makeSlice('ns5', 'svc5', 1, [ep('10.180.0.3')], p80),
];
