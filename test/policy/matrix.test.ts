// The Cyclonus default matrix (x, y, z × a, b, c; ports 80, 81 × TCP, UDP, SCTP) for policy
// cases from kubernetes test/e2e/network/netpol/network_policy.go and mattfenwick/cyclonus
// pkg/generator. Each expectation is the e2e Reachability of the upstream test, written with the
// same verbs; e2e probes one (port, protocol), the other five follow from the rule's ports
// (a rule without ports allows all of them; `port: 80` means 80/TCP).
import { describe, expect, test } from 'vitest';
import type { NetworkPolicy, NetworkPolicyEgressRule } from 'kubernetes-types/networking/v1.js';
import { buildPolicyIndex } from '../../src/policy/index.js';
import { ALL, PORTS, PROTOCOLS, labels, model, netpol, nsNameIs, nsNameNotIn, podIn, podIp, type Model } from './model.js';
import { Reachability, probe } from './reachability.js';

interface MatrixCase {
  readonly name: string;
  readonly policies: (m: Model) => NetworkPolicy[];
  readonly expect: (port: number, protocol: string) => Reachability;
}

const allow = () => new Reachability(true);
const tcp80 = (port: number, proto: string) => port === 80 && proto === 'TCP';
const tcp81 = (port: number, proto: string) => port === 81 && proto === 'TCP';

const DNS_RULE: NetworkPolicyEgressRule = {
  ports: [
    { protocol: 'UDP', port: 53 },
    { protocol: 'TCP', port: 53 },
  ],
};

/** `/4` holding the address, as e2e's makeLargeCIDRForIP. */
function largeCidr(ip: string): string {
  const first = Number(ip.split('.')[0]) & 0xf0;
  return `${first}.0.0.0/4`;
}

const CASES: MatrixCase[] = [
  {
    name: "should support a 'default-deny-ingress' policy",
    policies: () => [netpol('x', 'deny-ingress', { podSelector: ALL, policyTypes: ['Ingress'] })],
    expect: () => allow().expectPeer({}, { ns: 'x' }, false),
  },
  {
    name: "should support a 'default-deny-all' policy",
    policies: () => [netpol('x', 'deny-all', { podSelector: ALL, policyTypes: ['Ingress', 'Egress'] })],
    expect: () => allow().expectPeer({}, { ns: 'x' }, false).expectPeer({ ns: 'x' }, {}, false),
  },
  {
    name: "cyclonus upstream-e2e: 'default-deny-all' with DNS allowed (deny-all-allow-dns)",
    policies: () => [netpol('x', 'deny-all-allow-dns', { podSelector: ALL, policyTypes: ['Egress', 'Ingress'], ingress: [], egress: [DNS_RULE] })],
    expect: () => allow().expectPeer({}, { ns: 'x' }, false).expectPeer({ ns: 'x' }, {}, false),
  },
  {
    name: 'should enforce policy to allow traffic from pods within server namespace based on PodSelector',
    policies: () => [netpol('x', 'x-a-allows-x-b', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ podSelector: labels({ pod: 'b' }) }] }] })],
    expect: () => allow().expectAllIngress('x/a', false).expect('x/b', 'x/a', true),
  },
  {
    name: 'should enforce policy to allow ingress traffic for a target',
    policies: () => [
      netpol('x', 'deny-all', { podSelector: ALL, policyTypes: ['Ingress'] }),
      netpol('x', 'allow-all-to-a', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ podSelector: ALL, namespaceSelector: ALL }] }] }),
    ],
    expect: () => allow().expectPeer({}, { ns: 'x' }, false).expectAllIngress('x/a', true),
  },
  {
    name: 'should enforce policy to allow ingress traffic from pods in all namespaces',
    policies: () => [netpol('x', 'allow-from-another-ns', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ namespaceSelector: { matchLabels: {} } }] }] })],
    expect: () => allow(),
  },
  {
    name: 'should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector',
    policies: () => [netpol('x', 'allow-client-a-via-ns-selector', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ namespaceSelector: nsNameIs('y') }] }] })],
    expect: () => allow().expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false),
  },
  {
    name: 'should enforce policy based on PodSelector with MatchExpressions',
    policies: () => [netpol('x', 'x-a-allows-x-b', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ podSelector: podIn('b') }] }] })],
    expect: () => allow().expectAllIngress('x/a', false).expect('x/b', 'x/a', true),
  },
  {
    name: 'should enforce policy based on PodSelector or NamespaceSelector',
    policies: () => [
      netpol('x', 'allow-ns-y-match-selector', {
        podSelector: labels({ pod: 'a' }),
        ingress: [{ from: [{ namespaceSelector: nsNameNotIn('x') }, { podSelector: labels({ pod: 'b' }) }] }],
      }),
    ],
    expect: () => allow().expect('x/a', 'x/a', false).expect('x/c', 'x/a', false),
  },
  {
    name: 'should enforce policy based on PodSelector and NamespaceSelector',
    policies: () => [
      netpol('x', 'allow-ns-y-podselector-and-nsselector', {
        podSelector: labels({ pod: 'a' }),
        ingress: [{ from: [{ namespaceSelector: nsNameNotIn('x'), podSelector: labels({ pod: 'b' }) }] }],
      }),
    ],
    expect: () => allow().expectAllIngress('x/a', false).expect('y/b', 'x/a', true).expect('z/b', 'x/a', true),
  },
  {
    name: 'should enforce policy based on Multiple PodSelectors and NamespaceSelectors',
    policies: () => [
      netpol('x', 'allow-ns-y-z-pod-b-c', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ namespaceSelector: nsNameNotIn('x'), podSelector: podIn('b', 'c') }] }] }),
    ],
    // e2e's topology has no z/a; in the full matrix z/a is excluded by the pod selector like y/a.
    expect: () => allow().expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expect('y/a', 'x/a', false).expect('z/a', 'x/a', false),
  },
  {
    name: 'should enforce policy based on any PodSelectors',
    policies: () => [
      netpol('x', 'allow-ns-x-pod-b-c', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ podSelector: labels({ pod: 'b' }) }, { podSelector: labels({ pod: 'c' }) }] }] }),
    ],
    expect: () => allow().expectAllIngress('x/a', false).expect('x/b', 'x/a', true).expect('x/c', 'x/a', true),
  },
  {
    name: 'should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector',
    policies: () => [
      netpol('x', 'allow-ns-y-pod-a-via-namespace-pod-selector', {
        podSelector: labels({ pod: 'a' }),
        ingress: [{ from: [{ namespaceSelector: nsNameIs('y'), podSelector: labels({ pod: 'a' }) }] }],
      }),
    ],
    expect: () => allow().expectAllIngress('x/a', false).expect('y/a', 'x/a', true),
  },
  {
    name: 'should enforce policy based on Ports',
    policies: () => [
      netpol('x', 'allow-client-a-via-ns-selector', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ namespaceSelector: nsNameIs('y') }], ports: [{ port: 81, protocol: 'TCP' }] }] }),
    ],
    expect: (port, proto) =>
      tcp81(port, proto)
        ? allow().expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expectPeer({ ns: 'y' }, { ns: 'x', pod: 'a' }, true).expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false)
        : allow().expectAllIngress('x/a', false),
  },
  {
    name: 'should enforce multiple, stacked policies with overlapping podSelectors',
    policies: () => [
      netpol('x', 'allow-client-a-via-ns-selector', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ namespaceSelector: nsNameIs('y') }], ports: [{ port: 81, protocol: 'TCP' }] }] }),
      netpol('x', 'allow-client-a-via-ns-selector-80', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ namespaceSelector: nsNameIs('y') }], ports: [{ port: 80, protocol: 'TCP' }] }] }),
    ],
    expect: (port, proto) =>
      proto === 'TCP'
        ? allow().expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expectPeer({ ns: 'y' }, { ns: 'x', pod: 'a' }, true).expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false)
        : allow().expectAllIngress('x/a', false),
  },
  {
    name: 'should support allow-all policy',
    policies: () => [netpol('x', 'allow-all', { podSelector: labels({}), ingress: [{}] })],
    expect: () => allow(),
  },
  {
    name: 'should allow ingress access on one named port',
    policies: () => [netpol('x', 'allow-all', { podSelector: labels({}), ingress: [{ ports: [{ port: 'serve-81-tcp' }] }] })],
    expect: (port, proto) => (tcp81(port, proto) ? allow() : allow().expectPeer({}, { ns: 'x' }, false)),
  },
  {
    name: 'should allow ingress access from namespace on one named port',
    policies: () => [
      netpol('x', 'allow-client-a-via-ns-selector-80', {
        podSelector: labels({ pod: 'a' }),
        ingress: [{ from: [{ namespaceSelector: nsNameIs('y') }], ports: [{ port: 'serve-80-tcp', protocol: 'TCP' }] }],
      }),
    ],
    expect: (port, proto) =>
      tcp80(port, proto) ? allow().expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false) : allow().expectAllIngress('x/a', false),
  },
  {
    name: 'should allow egress access on one named port',
    policies: () => [netpol('x', 'allow-egress', { podSelector: labels({}), policyTypes: ['Egress'], egress: [{ ports: [{ port: 'serve-80-tcp' }] }] })],
    expect: (port, proto) => (tcp80(port, proto) ? allow() : allow().expectPeer({ ns: 'x' }, {}, false)),
  },
  {
    name: 'should deny ingress from pods on other namespaces',
    policies: () => [netpol('x', 'deny-empty-policy', { podSelector: ALL, ingress: [{ from: [{ podSelector: { matchLabels: {} } }] }] })],
    expect: () => allow().expectPeer({ ns: 'y' }, { ns: 'x' }, false).expectPeer({ ns: 'z' }, { ns: 'x' }, false),
  },
  {
    name: 'should deny egress from pods based on PodSelector',
    policies: () => [netpol('x', 'deny-egress-pod-a', { podSelector: labels({ pod: 'a' }), policyTypes: ['Egress'] })],
    expect: () => allow().expectAllEgress('x/a', false),
  },
  {
    name: 'should deny egress from all pods in a namespace',
    policies: () => [netpol('x', 'deny-egress-ns-x', { podSelector: ALL, policyTypes: ['Egress'] })],
    expect: () => allow().expectPeer({ ns: 'x' }, {}, false),
  },
  {
    name: 'should work with Ingress, Egress specified together',
    policies: () => [
      netpol('x', 'allow-client-a-via-pod-selector', {
        podSelector: labels({ pod: 'a' }),
        policyTypes: ['Egress', 'Ingress'],
        ingress: [{ from: [{ podSelector: labels({ pod: 'b' }) }] }],
        egress: [{ ports: [{ port: 80 }] }],
      }),
    ],
    expect: (port, proto) =>
      tcp80(port, proto)
        ? allow().expectAllIngress('x/a', false).expect('x/b', 'x/a', true)
        : allow().expectAllIngress('x/a', false).expectAllEgress('x/a', false).expect('x/b', 'x/a', true),
  },
  {
    name: 'should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)',
    policies: () => [
      netpol('x', 'allow-to-ns-y-pod-a', { podSelector: labels({ pod: 'a' }), policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: nsNameIs('y'), podSelector: labels({ pod: 'a' }) }] }] }),
      netpol('y', 'allow-from-xa-on-ya-match-selector', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ namespaceSelector: nsNameIs('x'), podSelector: labels({ pod: 'a' }) }] }] }),
      netpol('y', 'allow-from-xa-on-yb-match-selector', { podSelector: labels({ pod: 'b' }), ingress: [{ from: [{ namespaceSelector: nsNameIs('x'), podSelector: labels({ pod: 'a' }) }] }] }),
    ],
    expect: () =>
      allow()
        .expectPeer({ ns: 'x', pod: 'a' }, {}, false)
        .expectPeer({}, { ns: 'y', pod: 'a' }, false)
        .expectPeer({ ns: 'x', pod: 'a' }, { ns: 'y', pod: 'a' }, true)
        .expectPeer({}, { ns: 'y', pod: 'b' }, false),
  },
  {
    name: 'should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector',
    policies: () => [
      netpol('x', 'allow-to-ns-y-pod-a', { podSelector: labels({ pod: 'a' }), policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: nsNameIs('y'), podSelector: labels({ pod: 'a' }) }] }] }),
    ],
    expect: () => allow().expectAllEgress('x/a', false).expect('x/a', 'y/a', true),
  },
  {
    name: 'should enforce ingress policy allowing any port traffic to a server on a specific protocol',
    policies: () => [netpol('x', 'allow-ingress-by-proto', { podSelector: labels({ pod: 'a' }), ingress: [{ ports: [{ protocol: 'TCP' }] }] })],
    expect: (_port, proto) => (proto === 'TCP' ? allow() : allow().expectPeer({}, { ns: 'x', pod: 'a' }, false)),
  },
  {
    name: 'should enforce multiple ingress policies with ingress allow-all policy taking precedence (before allow-all)',
    policies: () => [netpol('x', 'allow-ingress-port-80', { podSelector: labels({}), ingress: [{ ports: [{ port: 80 }] }] })],
    expect: (port, proto) => (tcp80(port, proto) ? allow() : allow().expectPeer({}, { ns: 'x' }, false)),
  },
  {
    name: 'should enforce multiple ingress policies with ingress allow-all policy taking precedence',
    policies: () => [
      netpol('x', 'allow-ingress-port-80', { podSelector: labels({}), ingress: [{ ports: [{ port: 80 }] }] }),
      netpol('x', 'allow-ingress', { podSelector: labels({}), ingress: [{}] }),
    ],
    expect: () => allow(),
  },
  {
    name: 'should enforce multiple egress policies with egress allow-all policy taking precedence (before allow-all)',
    policies: () => [netpol('x', 'allow-egress-port-80', { podSelector: labels({}), policyTypes: ['Egress'], egress: [{ ports: [{ port: 80 }] }] })],
    expect: (port, proto) => (tcp80(port, proto) ? allow() : allow().expectPeer({ ns: 'x' }, {}, false)),
  },
  {
    name: 'should enforce multiple egress policies with egress allow-all policy taking precedence',
    policies: () => [
      netpol('x', 'allow-egress-port-80', { podSelector: labels({}), policyTypes: ['Egress'], egress: [{ ports: [{ port: 80 }] }] }),
      netpol('x', 'allow-egress', { podSelector: labels({}), policyTypes: ['Egress'], egress: [{}] }),
    ],
    expect: () => allow(),
  },
  {
    name: 'should allow egress access to server in CIDR block',
    policies: (m) => [
      netpol('x', 'allow-client-a-via-cidr-egress-rule', {
        podSelector: labels({ pod: 'a' }),
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: `${m.pod('y/b').status!.podIP}/32` } }] }],
      }),
    ],
    expect: () => allow().expectAllEgress('x/a', false).expect('x/a', 'y/b', true),
  },
  {
    name: 'should enforce except clause while egress access to server in CIDR block',
    policies: (m) => {
      const ip = m.pod('x/b').status!.podIP!;
      return [
        netpol('x', 'allow-client-a-via-cidr-egress-rule', {
          podSelector: labels({ pod: 'a' }),
          policyTypes: ['Egress'],
          egress: [{ to: [{ ipBlock: { cidr: largeCidr(ip), except: [`${ip}/32`] } }] }],
        }),
      ];
    },
    expect: () => allow().expect('x/a', 'x/b', false),
  },
  {
    // e2e updates the policy of the same name, so the /4-with-except rule is replaced by the /32 one.
    name: 'should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed (after the update)',
    policies: (m) => [
      netpol('x', 'allow-client-a-via-cidr-egress-rule', {
        podSelector: labels({ pod: 'a' }),
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: `${m.pod('x/b').status!.podIP}/32` } }] }],
      }),
    ],
    expect: () => allow().expectAllEgress('x/a', false).expect('x/a', 'x/b', true),
  },
  {
    name: 'ipBlock with except plus a second policy allowing the excepted IP: additive, everything allowed',
    policies: (m) => {
      const ip = m.pod('x/b').status!.podIP!;
      return [
        netpol('x', 'allow-large-cidr-except-b', { podSelector: labels({ pod: 'a' }), policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: largeCidr(ip), except: [`${ip}/32`] } }] }] }),
        netpol('x', 'allow-b', { podSelector: labels({ pod: 'a' }), policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: `${ip}/32` } }] }] }),
      ];
    },
    expect: () => allow(),
  },
  {
    name: 'should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector',
    policies: () => [
      netpol('x', 'allow-egress-for-target', { podSelector: labels({ pod: 'a' }), policyTypes: ['Egress'], egress: [{}] }),
      netpol('x', 'deny-ingress-via-label-selector', { podSelector: labels({ pod: 'a' }), policyTypes: ['Ingress'] }),
    ],
    expect: () => allow().expectAllIngress('x/a', false),
  },
  {
    name: "should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't support SCTP",
    policies: () => [
      netpol('x', 'deny-ingress', { podSelector: ALL, policyTypes: ['Ingress'] }),
      netpol('x', 'allow-only-sctp-ingress-on-port-81', { podSelector: labels({ pod: 'a' }), ingress: [{ ports: [{ port: 81, protocol: 'SCTP' }] }] }),
    ],
    expect: (port, proto) => {
      const r = allow().expectPeer({}, { ns: 'x' }, false);
      return port === 81 && proto === 'SCTP' ? r.expectAllIngress('x/a', true) : r;
    },
  },
  {
    name: "should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin doesn't support SCTP",
    policies: () => [netpol('x', 'allow-only-sctp-ingress-on-port-80', { podSelector: labels({ pod: 'a' }), ingress: [{ ports: [{ port: 80, protocol: 'SCTP' }] }] })],
    expect: (port, proto) => (port === 80 && proto === 'SCTP' ? allow() : allow().expectAllIngress('x/a', false)),
  },
  {
    name: 'should not allow access by TCP when a policy specifies only UDP',
    policies: () => [netpol('x', 'allow-only-udp-ingress-on-port-81', { podSelector: labels({ pod: 'a' }), ingress: [{ ports: [{ port: 81, protocol: 'UDP' }] }] })],
    expect: (port, proto) => (port === 81 && proto === 'UDP' ? allow() : allow().expectAllIngress('x/a', false)),
  },
  {
    name: 'should enforce policy based on NamespaceSelector with MatchExpressions using default ns label',
    policies: () => [
      netpol('x', 'allow-ns-y-match-selector-for-immutable-ns-label', { podSelector: labels({ pod: 'a' }), policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: nsNameNotIn('y') }] }] }),
    ],
    expect: () => allow().expectPeer({ ns: 'x', pod: 'a' }, { ns: 'y' }, false),
  },
  {
    name: 'cyclonus: ingress endPort 53-80/TCP opens 80/TCP only',
    policies: () => [netpol('x', 'base', { podSelector: labels({ pod: 'a' }), policyTypes: ['Ingress'], ingress: [{ ports: [{ protocol: 'TCP', port: 53, endPort: 80 }] }] })],
    expect: (port, proto) => (tcp80(port, proto) ? allow() : allow().expectAllIngress('x/a', false)),
  },
  {
    name: 'cyclonus: ingress endPort 53-84/UDP opens 80/UDP and 81/UDP',
    policies: () => [netpol('x', 'base', { podSelector: labels({ pod: 'a' }), policyTypes: ['Ingress'], ingress: [{ ports: [{ protocol: 'UDP', port: 53, endPort: 84 }] }] })],
    expect: (_port, proto) => (proto === 'UDP' ? allow() : allow().expectAllIngress('x/a', false)),
  },
  {
    name: 'cyclonus: egress endPort 53-80/SCTP opens 80/SCTP only',
    policies: () => [netpol('x', 'base', { podSelector: labels({ pod: 'a' }), policyTypes: ['Egress'], egress: [{ ports: [{ protocol: 'SCTP', port: 53, endPort: 80 }] }] })],
    expect: (port, proto) => (port === 80 && proto === 'SCTP' ? allow() : allow().expectAllEgress('x/a', false)),
  },
  {
    name: "cyclonus: open a named port that doesn't match its protocol (serve-81-udp over TCP) opens nothing",
    policies: () => [netpol('x', 'base', { podSelector: labels({ pod: 'a' }), policyTypes: ['Ingress'], ingress: [{ ports: [{ protocol: 'TCP', port: 'serve-81-udp' }] }] })],
    expect: () => allow().expectAllIngress('x/a', false),
  },
  {
    name: 'cyclonus: base policy (ingress from pod in (b,c) AND ns in (x,y) on 80/TCP; egress to pod in (a,b) AND ns in (y,z) on 80/TCP plus DNS)',
    policies: () => [
      netpol('x', 'base', {
        podSelector: labels({ pod: 'a' }),
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          {
            ports: [{ port: 80, protocol: 'TCP' }],
            from: [{ podSelector: podIn('b', 'c'), namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'In', values: ['x', 'y'] }] } }],
          },
        ],
        egress: [
          {
            ports: [{ port: 80, protocol: 'TCP' }],
            to: [{ podSelector: podIn('a', 'b'), namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'In', values: ['y', 'z'] }] } }],
          },
          DNS_RULE,
        ],
      }),
    ],
    expect: (port, proto) => {
      const r = allow().expectAllIngress('x/a', false).expectAllEgress('x/a', false);
      if (!tcp80(port, proto)) return r;
      for (const from of ['x/b', 'x/c', 'y/b', 'y/c']) r.expect(from, 'x/a', true);
      for (const to of ['y/a', 'y/b', 'z/a', 'z/b']) r.expect('x/a', to, true);
      return r;
    },
  },
  {
    name: 'cyclonus conflict: deny all egress from source, allow all ingress to destination',
    policies: () => [
      netpol('x', 'deny-all-egress', { podSelector: labels({ pod: 'a' }), policyTypes: ['Egress'], egress: [] }),
      netpol('y', 'allow-all-ingress', { podSelector: labels({ pod: 'b' }), policyTypes: ['Ingress'], ingress: [{}] }),
    ],
    expect: () => allow().expectAllEgress('x/a', false),
  },
  {
    name: 'cyclonus conflict: allow all egress from source, deny all ingress to destination',
    policies: () => [
      netpol('x', 'allow-all-egress', { podSelector: labels({ pod: 'a' }), policyTypes: ['Egress'], egress: [{}] }),
      netpol('y', 'deny-all-ingress', { podSelector: labels({ pod: 'b' }), policyTypes: ['Ingress'], ingress: [] }),
    ],
    expect: () => allow().expectAllIngress('y/b', false),
  },
  {
    name: 'cyclonus conflict: ingress from ipBlock 0.0.0.0/31 only (deny all by IP) isolates the target',
    policies: () => [netpol('x', 'deny-all-by-ip', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/31' } }] }] })],
    expect: () => allow().expectAllIngress('x/a', false),
  },
  {
    name: 'cyclonus conflict: ingress from ipBlock 0.0.0.0/0 (allow all by IP) admits every pod',
    policies: () => [netpol('x', 'allow-all-by-ip', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] })],
    expect: () => allow(),
  },
  {
    name: 'cyclonus conflict: ingress from a namespace label nobody has (deny all by pod) isolates the target',
    policies: () => [netpol('x', 'deny-all-by-pod', { podSelector: labels({ pod: 'a' }), ingress: [{ from: [{ namespaceSelector: labels({ 'this-will-never-happen': 'qrs123' }) }] }] })],
    expect: () => allow().expectAllIngress('x/a', false),
  },
];

describe('Cyclonus default matrix (x,y,z × a,b,c; 80,81 × TCP,UDP,SCTP; loopback ignored)', () => {
  const m = model();
  test('no policies: every pair connects on every port and protocol', () => {
    const index = buildPolicyIndex({ pods: m.pods, namespaces: m.namespaces, nodes: m.nodes });
    for (const port of PORTS) for (const proto of PROTOCOLS) expect(allow().diff(probe(index, m, port, proto))).toEqual([]);
  });

  for (const c of CASES) {
    test(c.name, () => {
      const index = buildPolicyIndex({ policies: c.policies(m), pods: m.pods, namespaces: m.namespaces, nodes: m.nodes });
      const failures: string[] = [];
      for (const port of PORTS) {
        for (const proto of PROTOCOLS) {
          const want = c.expect(port, proto);
          const got = probe(index, m, port, proto);
          const diff = want.diff(got);
          if (diff.length) failures.push(`${port}/${proto}:\n  ${diff.join('\n  ')}\nexpected:\n${want}\nobserved:\n${got}`);
        }
      }
      expect(failures).toEqual([]);
    });
  }

  test('pod IPs of the model are distinct and inside 10.244.0.0/16', () => {
    const ips = m.pods.map((p) => p.status!.podIP);
    expect(new Set(ips).size).toBe(9);
    expect(podIp('z', 'c')).toBe('10.244.3.12');
  });
});
