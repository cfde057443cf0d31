// The sentences a traced packet's `policy` hop shows.
import type { CompiledPolicy, CompiledRule } from './compile.js';
import type { PeerEnd, RuleHit } from './match.js';
import type { Direction, PolicyRef } from './types.js';

const PORT_PROTOCOLS = new Set(['TCP', 'UDP', 'SCTP']);

/** `port 81/TCP`, or `protocol ICMP` for protocols without ports. */
export function trafficText(protocol: string, port: number): string {
  return PORT_PROTOCOLS.has(protocol) ? `port ${port}/${protocol}` : `protocol ${protocol}`;
}

export function refsText(refs: readonly PolicyRef[]): string {
  return refs.join(', ');
}

export function endText(end: PeerEnd): string {
  return end.kind === 'pod' ? `pod ${end.namespace}/${end.name}` : end.label;
}

/** `spec.ingress[0].from[1] (namespaceSelector ns=y), ports[0] (80/TCP)` */
export function rulePathText(direction: Direction, ruleIndex: number, rule: CompiledRule, hit: RuleHit): string {
  const peersField = direction === 'ingress' ? 'from' : 'to';
  const base = `spec.${direction}[${ruleIndex}]`;
  const peer = hit.peer === undefined ? `${base} (all ${direction === 'ingress' ? 'sources' : 'destinations'})` : `${base}.${peersField}[${hit.peer}] (${rule.peers[hit.peer]!.text})`;
  const port = hit.port === undefined ? 'all ports' : `ports[${hit.port}] (${rule.ports[hit.port]!.text})`;
  return `${peer}, ${port}`;
}

export type DenyReason = 'no-rules' | 'port' | 'peer';

export function denyReasonText(policy: CompiledPolicy, direction: Direction, reason: DenyReason, end: PeerEnd, traffic: string): string {
  switch (reason) {
    case 'no-rules':
      return `${policy.ref} has no ${direction} rules`;
    case 'port':
      return `${traffic} is not in any ${direction} rule of ${policy.ref}`;
    case 'peer':
      return `${endText(end)} is not in the ${direction === 'ingress' ? 'from' : 'to'} peers of any ${direction} rule of ${policy.ref} that allows ${traffic}`;
  }
}

export function isolatedText(target: string, direction: Direction, refs: readonly PolicyRef[]): string {
  return `${target} is isolated for ${direction} by ${refsText(refs)}`;
}
