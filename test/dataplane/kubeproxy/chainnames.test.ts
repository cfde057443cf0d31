// Chain-name hashing against the vectors of reference §1.10 (upstream fixtures and well-known names).
import { describe, expect, test } from 'vitest';
import { endpointChainName, portProtoHash, servicePortChains } from '../../../src/dataplane/kubeproxy/index.js';

describe('portProtoHash', () => {
  test.each([
    ['ns1/svc1:p80tcp', 'XPGD46QRK7WJZT7O'],
    ['ns2/svc2:p80tcp', 'GNZBNJ2PO5MGZ6GT'],
    ['ns5/svc5:p80tcp', 'NUKIZ6OKUXPJNT4C'],
    ['ns1/svc1:p80tcp10.180.0.1:80', 'SXIVWICOYRO3J4NJ'],
    ['ns4/svc4:p80tcp10.180.0.4:80', 'UKSFD7AGPMPPLUHC'],
    ['default/kubernetes:httpstcp', 'NPX46M4PTMTKRN6Y'],
    ['kube-system/kube-dns:dnsudp', 'TCOU7JCQXEZGVUNU'],
    ['kube-system/kube-dns:dns-tcptcp', 'ERIFXISQEP7F7OF4'],
    ['kube-system/kube-dns:metricstcp', 'JD5MR3NA4I4DYORP'],
  ])('%s hashes to %s', (input, hash) => {
    expect(portProtoHash(input)).toBe(hash);
  });
});

describe('chain names', () => {
  test('SVC, SVL, EXT and FW chains share one hash of spn + lower-case protocol', () => {
    expect(servicePortChains('kube-system/kube-dns:dns', 'udp')).toEqual({
      svc: 'KUBE-SVC-TCOU7JCQXEZGVUNU',
      svl: 'KUBE-SVL-TCOU7JCQXEZGVUNU',
      ext: 'KUBE-EXT-TCOU7JCQXEZGVUNU',
      fw: 'KUBE-FW-TCOU7JCQXEZGVUNU',
    });
  });

  test('SEP chains hash spn + protocol + ip:port (TestSyncProxyRulesLargeClusterMode anchor)', () => {
    expect(endpointChainName('ns1/svc1:p80', 'tcp', '10.0.0.0:80')).toBe('KUBE-SEP-DKGQUZGBKLTPAR56');
    expect(endpointChainName('ns1/svc1:p80', 'tcp', '10.180.0.1:80')).toBe('KUBE-SEP-SXIVWICOYRO3J4NJ');
  });

  test('names fit iptables 28-character chain limit', () => {
    expect(servicePortChains('a-very-long-namespace-name/a-very-long-service-name:port', 'sctp').svc.length).toBeLessThanOrEqual(28);
    expect(endpointChainName('ns/svc', 'tcp', '[2001:db8::1]:80').length).toBe(25);
  });
});
