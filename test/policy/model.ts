// The Cyclonus / e2e netpol model: namespaces x, y, z (labelled `ns=<name>` and
// `kubernetes.io/metadata.name=<name>`), pods a, b, c in each (labelled `pod=<name>`), one
// container per (port, protocol) named `cont-80-tcp` with the named port `serve-80-tcp`.
// Pods a, b, c run on node-1, node-2, node-3; pod IP 10.244.<node>.<10+ns index>.
import type { Container, Namespace, Node, Pod } from 'kubernetes-types/core/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { NetworkPolicy, NetworkPolicySpec } from 'kubernetes-types/networking/v1.js';

export const NAMESPACES = ['x', 'y', 'z'] as const;
export const POD_NAMES = ['a', 'b', 'c'] as const;
export const PORTS = [80, 81] as const;
export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export function podIp(ns: string, pod: string): string {
  return `10.244.${POD_NAMES.indexOf(pod as never) + 1}.${10 + NAMESPACES.indexOf(ns as never)}`;
}

export function nodeOf(pod: string): string {
  return `node-${POD_NAMES.indexOf(pod as never) + 1}`;
}

export function nodeIp(node: string): string {
  return `192.168.0.${10 + Number(node.slice('node-'.length))}`;
}

export function containers(ports: readonly number[] = PORTS, protocols: readonly string[] = PROTOCOLS): Container[] {
  const out: Container[] = [];
  for (const port of ports) {
    for (const protocol of protocols) {
      const p = protocol.toLowerCase();
      out.push({ name: `cont-${port}-${p}`, image: 'agnhost', ports: [{ name: `serve-${port}-${p}`, containerPort: port, protocol }] });
    }
  }
  return out;
}

export function makePod(ns: string, name: string, opts: { labels?: Record<string, string>; node?: string; ip?: string; hostNetwork?: boolean } = {}): Pod {
  const node = opts.node ?? nodeOf(name);
  const ip = opts.ip ?? (opts.hostNetwork ? nodeIp(node) : podIp(ns, name));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, uid: `uid-${ns}-${name}`, labels: opts.labels ?? { pod: name } },
    spec: { nodeName: node, hostNetwork: opts.hostNetwork, containers: containers() },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], hostIP: nodeIp(node), hostIPs: [{ ip: nodeIp(node) }] },
  };
}

export function makeNamespace(name: string, labels: Record<string, string> = { ns: name }): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { ...labels, 'kubernetes.io/metadata.name': name } } };
}

export function makeNode(name: string): Node {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name }, status: { addresses: [{ type: 'InternalIP', address: nodeIp(name) }, { type: 'Hostname', address: name }] } };
}

export interface Model {
  readonly namespaces: Namespace[];
  readonly pods: Pod[];
  readonly nodes: Node[];
  pod(ref: string): Pod;
}

/** The 3 × 3 model; `ref` is `x/a`. */
export function model(): Model {
  const namespaces = NAMESPACES.map((n) => makeNamespace(n));
  const pods = NAMESPACES.flatMap((ns) => POD_NAMES.map((p) => makePod(ns, p)));
  const nodes = POD_NAMES.map((p) => makeNode(nodeOf(p)));
  const byRef = new Map(pods.map((p) => [`${p.metadata!.namespace}/${p.metadata!.name}`, p]));
  return {
    namespaces,
    pods,
    nodes,
    pod(ref) {
      const p = byRef.get(ref);
      if (!p) throw new Error(`no pod ${ref}`);
      return p;
    },
  };
}

export const ALL_POD_REFS: readonly string[] = NAMESPACES.flatMap((ns) => POD_NAMES.map((p) => `${ns}/${p}`));

// --- policy builders (shapes as e2e's GenNetworkPolicy* helpers produce) ----------------------

export function netpol(namespace: string, name: string, spec: NetworkPolicySpec): NetworkPolicy {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace, name }, spec };
}

export const labels = (m: Record<string, string>): LabelSelector => ({ matchLabels: m });
export const podIn = (...values: string[]): LabelSelector => ({ matchExpressions: [{ key: 'pod', operator: 'In', values }] });
export const nsNameIs = (ns: string): LabelSelector => labels({ 'kubernetes.io/metadata.name': ns });
export const nsNameNotIn = (...values: string[]): LabelSelector => ({ matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values }] });
export const ALL: LabelSelector = {};
