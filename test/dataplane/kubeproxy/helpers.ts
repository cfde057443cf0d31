// Test fixtures in the style of upstream's proxier_test.go (pod IPs 10.0.0.0/8, ClusterIPs
// 172.30.0.0/16, node test-node at 192.168.0.2), a normaliser that puts a dump in the sorted form
// upstream's golden texts are written in, and a small packet walker like upstream's tracePacket.
import type { Service } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { NodeView, ProxierEnvironment } from '../../../src/dataplane/kubeproxy/index.js';

export const TEST_NODE = 'test-node';

/** The fake proxier's node: detector 10.0.0.0/8, localhost NodePorts on, match-all nodePortAddresses. */
export function testNode(overrides: Partial<NodeView> = {}): NodeView {
  return {
    nodeName: TEST_NODE,
    nodeIPs: ['192.168.0.2', '192.168.1.2', '192.168.99.11', '2001:db8::1', '2001:db8:1::2'],
    clusterCIDR: '10.0.0.0/8',
    ...overrides,
  };
}

/** The fake iptables: no --random-fully; both nfacct counters exist. */
export const TEST_ENV: ProxierEnvironment = { randomFully: false, nfacct: true };

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

export function makeService(namespace: string, name: string, mutate: (s: Mutable<Service>) => void): Service {
  const svc: Mutable<Service> = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace, name },
    spec: { type: 'ClusterIP', ports: [] },
  } as Mutable<Service>;
  mutate(svc);
  return svc as Service;
}

export function makeSlice(
  namespace: string,
  service: string,
  index: number,
  endpoints: Endpoint[],
  ports: { name: string; port: number; protocol?: 'TCP' | 'UDP' | 'SCTP' }[],
  addressType: 'IPv4' | 'IPv6' = 'IPv4',
): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace, name: `${service}-${index}`, labels: { 'kubernetes.io/service-name': service } },
    addressType,
    endpoints,
    ports: ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol ?? 'TCP' })),
  };
}

export function ep(ip: string, extra: Partial<Endpoint> = {}): Endpoint {
  return { addresses: [ip], ...extra };
}

interface ParsedTable {
  name: string;
  chains: string[];
  rules: string[];
}

function parseDump(text: string): ParsedTable[] {
  const tables: ParsedTable[] = [];
  let cur: ParsedTable | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) tables.push((cur = { name: line.slice(1), chains: [], rules: [] }));
    else if (line === 'COMMIT') cur = undefined;
    else if (line.startsWith(':')) cur!.chains.push(line);
    else cur!.rules.push(line);
  }
  return tables;
}

function chainOrder(a: string, b: string): number {
  const rank = (c: string) => (c === 'KUBE-NODEPORTS' ? 0 : c === 'KUBE-SERVICES' ? 1 : c.startsWith('KUBE-') ? 2 : 3);
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

function serviceNameOfRule(rule: string): string {
  const m = / --comment "?([^ ":]*)/.exec(rule);
  return m ? m[1]! : '';
}

const LAST_RULE = 'NOTE: this must be the last rule in this chain';

/**
 * The sorted form of upstream's golden texts: tables by name; chains KUBE-NODEPORTS, KUBE-SERVICES,
 * other KUBE-* alphabetically, then the rest; rules grouped by chain in that order; KUBE-SERVICES and
 * KUBE-NODEPORTS rules stably sorted by service name with the nodeports tail rule kept last;
 * `-X` deletions after all rules.
 */
export function sortDump(text: string): string {
  const out: string[] = [];
  for (const t of parseDump(text).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const names = t.chains.map((c) => c.slice(1).split(' ')[0]!);
    const order = [...names].sort(chainOrder);
    out.push(`*${t.name}`);
    for (const n of order) out.push(`:${n} - [0:0]`);
    const byChain = new Map<string, string[]>();
    const deletes: string[] = [];
    for (const r of t.rules) {
      if (r.startsWith('-X ')) {
        deletes.push(r);
        continue;
      }
      const chain = r.split(' ')[1]!;
      let list = byChain.get(chain);
      if (!list) byChain.set(chain, (list = []));
      list.push(r);
    }
    const ruleChains = [...byChain.keys()].sort(chainOrder);
    for (const c of ruleChains) {
      let rules = byChain.get(c)!;
      if (c === 'KUBE-SERVICES' || c === 'KUBE-NODEPORTS') {
        const last = rules.filter((r) => r.includes(LAST_RULE));
        const rest = rules
          .filter((r) => !r.includes(LAST_RULE))
          .map((r, i) => ({ r, i, k: serviceNameOfRule(r) }))
          .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i))
          .map((x) => x.r);
        rules = [...rest, ...last];
      }
      out.push(...rules);
    }
    deletes.sort((a, b) => chainOrder(a.slice(3), b.slice(3)));
    out.push(...deletes, 'COMMIT');
  }
  return out.join('\n') + '\n';
}

/** Trim every line and drop blank ones (upstream's assert trims leading whitespace too). */
export function dedent(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .join('\n') + '\n'
  );
}

/** The rules of one chain, in order. */
export function chainRules(text: string, table: string, chain: string): string[] {
  const t = parseDump(text).find((x) => x.name === table);
  return (t?.rules ?? []).filter((r) => r.startsWith(`-A ${chain} `) || r === `-A ${chain}`);
}

export function countRules(text: string, table: string): number {
  const t = parseDump(text).find((x) => x.name === table);
  return (t?.rules ?? []).filter((r) => r.startsWith('-A ')).length;
}
