// Whether one peer entry or one port entry of a rule matches the other end of a connection.
import type { Pod } from 'kubernetes-types/core/v1.js';
import { matchesSelector, type Labels } from '../cluster/labels.js';
import { cidrContains } from '../net/cidr.js';
import type { IpAddress } from '../net/ip.js';
import type { CompiledPeer, CompiledPort, CompiledRule } from './compile.js';

/** The end of a connection that a rule's peers are matched against. */
export type PeerEnd =
  | {
      readonly kind: 'pod';
      readonly pod: Pod;
      readonly namespace: string;
      readonly name: string;
      readonly labels: Labels;
      readonly namespaceLabels: Labels;
      /** The addresses ipBlocks are checked against (the packet's, or every pod IP). */
      readonly ips: readonly IpAddress[];
    }
  /** A node's own network namespace: the node itself or a hostNetwork pod on it. */
  | {
      readonly kind: 'host';
      readonly ip: IpAddress | undefined;
      /** The node's name when known. */
      readonly node: string | undefined;
      /** The caller says this is the other end's own node. */
      readonly fromNode: boolean;
      /** A hostNetwork pod rather than the node itself. */
      readonly hostNetwork: boolean;
      readonly label: string;
    }
  | { readonly kind: 'external'; readonly ip: IpAddress | undefined; readonly label: string };

export function peerMatches(peer: CompiledPeer, policyNamespace: string, end: PeerEnd, ipBlockMatchesPods: boolean): boolean {
  switch (peer.kind) {
    case 'none':
      return false;
    case 'pods': {
      // Selectors name pods; nodes, hostNetwork pods and outside addresses have no pod identity.
      if (end.kind !== 'pod') return false;
      const nsOk = peer.namespaceSelector === undefined ? end.namespace === policyNamespace : matchesSelector(peer.namespaceSelector, end.namespaceLabels);
      return nsOk && (peer.podSelector === undefined || matchesSelector(peer.podSelector, end.labels));
    }
    case 'ipBlock': {
      const cidr = peer.cidr;
      if (!cidr) return false;
      const inBlock = (ip: IpAddress) => cidrContains(cidr, ip) && !peer.except.some((e) => cidrContains(e, ip));
      if (end.kind === 'pod') return ipBlockMatchesPods && end.ips.some(inBlock);
      return end.ip !== undefined && inBlock(end.ip);
    }
  }
}

/** `dstPortNames` is called only for named ports (it scans the destination pod's containers). */
export function portMatches(p: CompiledPort, protocol: string, port: number, dstPortNames: () => ReadonlySet<string>): boolean {
  if (p.protocol !== protocol) return false;
  switch (p.kind) {
    case 'all':
      return true;
    case 'range':
      return port >= p.from && port <= p.to;
    case 'name':
      return dstPortNames().has(p.name);
  }
}

/**
 * Names the destination pod gives to (port, protocol): a named policy port matches when the
 * destination pod has a container port of that name and protocol whose number is the traffic's
 * port. Sidecars (restartable init containers) serve traffic too, as in Service targetPort lookup.
 */
export function portNamesOf(pod: Pod | undefined, port: number, protocol: string): ReadonlySet<string> {
  const names = new Set<string>();
  if (!pod) return names;
  const scan = (ports: readonly { name?: string; containerPort: number; protocol?: string }[] | undefined) => {
    for (const p of ports ?? []) if (p.name && p.containerPort === port && (p.protocol ?? 'TCP') === protocol) names.add(p.name);
  };
  for (const c of pod.spec?.containers ?? []) scan(c.ports);
  for (const c of pod.spec?.initContainers ?? []) if (c.restartPolicy === 'Always') scan(c.ports);
  return names;
}

/** The first (peer, port) of a rule that lets the traffic through; `undefined` index = "all". */
export interface RuleHit {
  readonly peer: number | undefined;
  readonly port: number | undefined;
}

export interface RuleCheck {
  readonly portOk: boolean;
  readonly hit: RuleHit | undefined;
}

/** A rule allows when (no ports, or a port matches) and (no peers, or a peer matches). */
export function checkRule(
  rule: CompiledRule,
  policyNamespace: string,
  end: PeerEnd,
  protocol: string,
  port: number,
  dstPortNames: () => ReadonlySet<string>,
  ipBlockMatchesPods: boolean,
): RuleCheck {
  let portIdx: number | undefined;
  if (rule.ports.length > 0) {
    portIdx = rule.ports.findIndex((p) => portMatches(p, protocol, port, dstPortNames));
    if (portIdx < 0) return { portOk: false, hit: undefined };
  }
  if (rule.peers.length === 0) return { portOk: true, hit: { peer: undefined, port: portIdx } };
  const peerIdx = rule.peers.findIndex((p) => peerMatches(p, policyNamespace, end, ipBlockMatchesPods));
  return { portOk: true, hit: peerIdx < 0 ? undefined : { peer: peerIdx, port: portIdx } };
}
