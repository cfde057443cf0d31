// Endpoints, EndpointSlice, Node and Namespace validation.
import { describe, expect, test } from 'vitest';
import { brief, check, errors } from './helpers.js';

describe('Endpoints', () => {
  const ep = (subsets: string) => `apiVersion: v1\nkind: Endpoints\nmetadata:\n  name: db\nsubsets:\n${subsets}`;
  test('a manual Endpoints object passes', () => {
    expect(errors(ep('  - addresses: [{ip: 10.1.2.3}]\n    ports: [{port: 5432}]\n'))).toEqual([]);
  });
  test('addresses must be valid, non-special IPs', () => {
    expect(brief(errors(ep('  - addresses:\n      - ip: 10.1.2\n      - ip: 127.0.0.1\n      - ip: 169.254.1.1\n')))).toEqual([
      'subsets[0].addresses[0].ip@7: Invalid value: "10.1.2": must be a valid IP address',
      'subsets[0].addresses[1].ip@8: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)',
      'subsets[0].addresses[2].ip@9: Invalid value: "169.254.1.1": may not be in the link-local range (169.254.0.0/16, fe80::/10)',
    ]);
  });
  test('a subset needs addresses or notReadyAddresses', () => {
    expect(errors(ep('  - ports: [{port: 80}]\n')).map((d) => d.message)).toEqual(['Required value: must specify `addresses` or `notReadyAddresses`']);
  });
  test('ports need names when there are several', () => {
    expect(errors(ep('  - addresses: [{ip: 10.1.2.3}]\n    ports: [{port: 80}, {name: b, port: 81}]\n')).map((d) => d.field)).toEqual(['subsets[0].ports[0].name']);
  });
});

describe('EndpointSlice', () => {
  const es = (body: string) =>
    `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: web-abc\n  labels: {kubernetes.io/service-name: web}\n${body}`;
  test('a valid slice passes', () => {
    expect(errors(es('addressType: IPv4\nendpoints:\n  - addresses: [10.244.1.5]\n    conditions: {ready: true}\nports:\n  - {name: http, port: 80, protocol: TCP}\n'))).toEqual([]);
  });
  test('addressType is required and must be IPv4, IPv6 or FQDN', () => {
    expect(brief(errors(es('endpoints: []\n')))).toEqual(['addressType@1: Required value']);
    expect(errors(es('addressType: IP\n')).map((d) => d.message)).toEqual(['Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"']);
  });
  test('addresses must match the address type', () => {
    expect(brief(errors(es('addressType: IPv4\nendpoints:\n  - addresses: [fd00::1]\n  - addresses: []\n')))).toEqual([
      'endpoints[0].addresses[0]@8: Invalid value: "fd00::1": must be a valid IPv4 address',
      'endpoints[1].addresses@9: Required value: must contain at least 1 address',
    ]);
  });
  test('port names are unique DNS labels', () => {
    expect(brief(errors(es('addressType: IPv4\nports:\n  - {name: http, port: 80}\n  - {name: http, port: 81}\n')))).toEqual(['ports[1].name@9: Duplicate value: "http"']);
  });
  test('a slice without kubernetes.io/service-name gets a note', () => {
    const r = check('apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: x\naddressType: IPv4\n');
    expect(r.diagnostics).toMatchObject([{ severity: 'info', field: 'metadata.labels' }]);
  });
});

describe('Node and Namespace', () => {
  test('taints need a valid effect and are unique by key and effect', () => {
    const text = 'apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\nspec:\n  taints:\n    - {key: a, effect: NoSchedule}\n    - {key: a, effect: NoSchedule}\n    - {key: b}\n    - {key: c, effect: Never}\n';
    expect(brief(errors(text))).toEqual([
      'spec.taints[1]@8: Duplicate value: "a:NoSchedule"',
      'spec.taints[2].effect@9: Required value',
      'spec.taints[3].effect@10: Unsupported value: "Never": supported values: "NoExecute", "NoSchedule", "PreferNoSchedule"',
    ]);
  });
  test('podCIDR must be a CIDR', () => {
    expect(errors('apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\nspec:\n  podCIDR: 10.244.1.0\n').map((d) => d.field)).toEqual(['spec.podCIDR']);
  });
  test('a Namespace name is a DNS label (no dots)', () => {
    expect(errors('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop.prod\n').map((d) => d.field)).toEqual(['metadata.name']);
  });
  test('a namespace on a cluster-scoped object is ignored with a warning', () => {
    const r = check('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  namespace: default\n');
    expect(r.diagnostics).toMatchObject([{ severity: 'warning', field: 'metadata.namespace', line: 5 }]);
  });
});
