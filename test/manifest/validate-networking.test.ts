// Ingress, IngressClass and NetworkPolicy validation.
import { describe, expect, test } from 'vitest';
import { brief, errors, yaml } from './helpers.js';

describe('Ingress', () => {
  const ing = (spec: string) => `apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\nspec:\n${spec}`;
  const rule = (path: string, pathType = 'Prefix', backend = 'service: {name: web, port: {number: 80}}') =>
    ing(`  rules:\n    - host: shop.example.com\n      http:\n        paths:\n          - path: ${path}\n            pathType: ${pathType}\n            backend:\n              ${backend}\n`);

  test('a valid Ingress passes', () => {
    expect(errors(rule('/'))).toEqual([]);
    expect(errors(ing('  ingressClassName: nginx\n  defaultBackend:\n    service: {name: web, port: {name: http}}\n'))).toEqual([]);
  });
  test('either rules or defaultBackend is required', () => {
    expect(brief(errors(ing('  tls: []\n')))).toEqual(['spec@5: Invalid value: []: either `defaultBackend` or `rules` must be specified']);
  });
  test('pathType is required in networking.k8s.io/v1', () => {
    const text = ing('  rules:\n    - http:\n        paths:\n          - path: /\n            backend: {service: {name: web, port: {number: 80}}}\n');
    expect(brief(errors(text))).toEqual(['spec.rules[0].http.paths[0].pathType@9: Required value: pathType must be specified']);
  });
  test('Exact and Prefix paths must start with /', () => {
    expect(brief(errors(rule('api', 'Exact')))).toEqual(['spec.rules[0].http.paths[0].path@10: Invalid value: "api": must be an absolute path']);
  });
  test.each([
    ['/a//b', "must not contain '//'"],
    ['/a/./b', "must not contain '/./'"],
    ['/a/../b', "must not contain '/../'"],
    ['/a%2Fb', "must not contain '%2F'"],
    ['/a/..', "cannot end with '/..'"],
    ['/a/.', "cannot end with '/.'"],
  ])('Prefix path %s: %s', (p, msg) => {
    expect(errors(rule(p)).map((d) => d.message)).toEqual([`Invalid value: ${JSON.stringify(p)}: ${msg}`]);
  });
  test('ImplementationSpecific paths may be regexes but must still be absolute when set', () => {
    expect(errors(rule('/api/(.*)', 'ImplementationSpecific'))).toEqual([]);
    expect(errors(rule('api', 'ImplementationSpecific')).map((d) => d.field)).toEqual(['spec.rules[0].http.paths[0].path']);
  });
  test('an unknown pathType is unsupported', () => {
    expect(errors(rule('/', 'Regex')).map((d) => d.message)).toEqual(['Unsupported value: "Regex": supported values: "Exact", "ImplementationSpecific", "Prefix"']);
  });
  test('a backend is a service or a resource, not both', () => {
    expect(brief(errors(rule('/', 'Prefix', '{service: {name: web, port: {number: 80}}, resource: {kind: Bucket, name: b}}')))).toEqual([
      'spec.rules[0].http.paths[0].backend@12: Invalid value: "": cannot set both resource and service backends',
    ]);
  });
  test('a service backend needs a port name or number, not both', () => {
    expect(errors(rule('/', 'Prefix', 'service: {name: web, port: {}}')).map((d) => d.message)).toEqual(['Required value: port name or number is required']);
    expect(errors(rule('/', 'Prefix', 'service: {name: web, port: {name: http, number: 80}}')).map((d) => d.message)).toEqual([
      'Invalid value: "": cannot set both port name & port number',
    ]);
  });
  test('the backend service name is a DNS-1035 label', () => {
    expect(errors(rule('/', 'Prefix', 'service: {name: 1web, port: {number: 80}}')).map((d) => d.field)).toEqual(['spec.rules[0].http.paths[0].backend.service.name']);
  });
  test('a rule host may not be an IP; wildcards must be *.domain', () => {
    const text = ing('  rules:\n    - host: 10.0.0.1\n    - host: foo.*.com\n    - host: "*.shop.example.com"\n');
    const e = errors(text);
    expect(e.map((d) => `${d.field}@${d.line}`)).toEqual(['spec.rules[0].host@7', 'spec.rules[1].host@8']);
    expect(e[0]!.message).toBe('Invalid value: "10.0.0.1": must be a DNS name, not an IP address');
  });
  test('http with no paths is refused', () => {
    expect(errors(ing('  rules:\n    - http:\n        paths: []\n')).map((d) => d.field)).toEqual(['spec.rules[0].http.paths']);
  });
});

describe('IngressClass', () => {
  const cls = (spec: string) => `apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata:\n  name: nginx\nspec:\n${spec}`;
  test('controller is required and domain-prefixed', () => {
    expect(errors(cls('  controller: k8s.io/ingress-nginx\n'))).toEqual([]);
    expect(brief(errors(cls('  controller: nginx\n')))).toEqual(['spec.controller@6: Invalid value: "nginx": must be a domain-prefixed path (such as "acme.io/foo")']);
    expect(errors(cls('  {}\n')).map((d) => d.field)).toEqual(['spec.controller']);
  });
  test('parameters scope Namespace needs a namespace; Cluster forbids one', () => {
    expect(errors(cls('  controller: example.com/c\n  parameters: {kind: P, name: p, scope: Namespace}\n')).map((d) => d.field)).toEqual(['spec.parameters.namespace']);
    expect(errors(cls('  controller: example.com/c\n  parameters: {kind: P, name: p, scope: Cluster, namespace: x}\n')).map((d) => d.message)).toEqual([
      "Forbidden: `parameters.scope` is set to 'Cluster'",
    ]);
  });
});

describe('NetworkPolicy', () => {
  const np = (spec: string) => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\nspec:\n  podSelector: {}\n${spec}`;
  test('a valid policy passes', () => {
    const text = np('  policyTypes: [Ingress, Egress]\n  ingress:\n    - from:\n        - namespaceSelector: {matchLabels: {team: a}}\n          podSelector: {matchLabels: {app: b}}\n      ports:\n        - {port: 32000, endPort: 32768}\n');
    expect(errors(text)).toEqual([]);
  });
  test('policyTypes are Ingress or Egress, at most two', () => {
    expect(brief(errors(np('  policyTypes: [Ingress, Sideways]\n')))).toEqual(['spec.policyTypes[1]@7: Unsupported value: "Sideways": supported values: "Ingress", "Egress"']);
    expect(errors(np('  policyTypes: [Ingress, Egress, Ingress]\n')).map((d) => d.message)).toEqual([
      'Invalid value: ["Ingress","Egress","Ingress"]: may not specify more than two policyTypes',
    ]);
  });
  test('ipBlock except must be a strict subset of cidr', () => {
    const text = yaml`
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata:
        name: p
      spec:
        podSelector: {}
        egress:
          - to:
              - ipBlock:
                  cidr: 10.0.0.0/8
                  except: [10.1.0.0/16, 192.168.0.0/16, 10.0.0.0/8]
    `;
    expect(brief(errors(text))).toEqual([
      'spec.egress[0].to[0].ipBlock.except[1]@11: Invalid value: "192.168.0.0/16": must be a strict subset of `cidr`',
      'spec.egress[0].to[0].ipBlock.except[2]@11: Invalid value: "10.0.0.0/8": must be a strict subset of `cidr`',
    ]);
  });
  test('ipBlock cidr must be valid and present', () => {
    expect(errors(np('  ingress:\n    - from:\n        - ipBlock: {cidr: 10.0.0.0/40}\n')).map((d) => d.field)).toEqual(['spec.ingress[0].from[0].ipBlock.cidr']);
  });
  test('ipBlock may not be combined with a selector in one peer', () => {
    expect(brief(errors(np('  ingress:\n    - from:\n        - ipBlock: {cidr: 10.0.0.0/8}\n          podSelector: {}\n')))).toEqual([
      'spec.ingress[0].from[0]@9: Forbidden: may not specify both ipBlock and another peer',
    ]);
  });
  test('endPort needs a numeric port and must not be below it', () => {
    expect(brief(errors(np('  ingress:\n    - ports:\n        - {port: 80, endPort: 79}\n        - {port: http, endPort: 90}\n        - {endPort: 90}\n')))).toEqual([
      'spec.ingress[0].ports[0].endPort@9: Invalid value: 80: must be greater than or equal to `port`',
      'spec.ingress[0].ports[1].endPort@10: Invalid value: 90: may not be specified when `port` is non-numeric',
      'spec.ingress[0].ports[2].endPort@11: Invalid value: 90: may not be specified when `port` is not specified',
    ]);
  });
  test('port protocol must be TCP, UDP or SCTP', () => {
    expect(errors(np('  ingress:\n    - ports:\n        - {protocol: ICMP}\n')).map((d) => d.field)).toEqual(['spec.ingress[0].ports[0].protocol']);
  });
  test('an empty peer is refused', () => {
    expect(errors(np('  egress:\n    - to:\n        - {}\n')).map((d) => d.message)).toEqual(['Required value: must specify a peer']);
  });
});
