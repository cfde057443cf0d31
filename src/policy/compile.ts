// A NetworkPolicy turned once into the shape evaluation needs: policyTypes defaulted, CIDRs
// parsed, ports normalised. Evaluation then never re-reads the raw object.
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from 'kubernetes-types/networking/v1.js';
import { parseCidr, type Cidr } from '../net/cidr.js';
import type { PolicyRef } from './types.js';

export type CompiledPort =
  | { readonly kind: 'all'; readonly protocol: string; readonly text: string }
  /** `port` alone (end === port) or `port`..`endPort` inclusive. */
  | { readonly kind: 'range'; readonly protocol: string; readonly from: number; readonly to: number; readonly text: string }
  /** A named port, resolved per destination pod against its container ports. */
  | { readonly kind: 'name'; readonly protocol: string; readonly name: string; readonly text: string };

export type CompiledPeer =
  | {
      readonly kind: 'ipBlock';
      /** undefined when the CIDR does not parse: the peer then matches nothing. */
      readonly cidr: Cidr | undefined;
      readonly except: readonly Cidr[];
      readonly text: string;
    }
  | {
      readonly kind: 'pods';
      /** undefined: the policy's own namespace. */
      readonly namespaceSelector: LabelSelector | undefined;
      /** undefined: every pod of the selected namespaces. */
      readonly podSelector: LabelSelector | undefined;
      readonly text: string;
    }
  /** A peer with no field set (the API rejects it): matches nothing. */
  | { readonly kind: 'none'; readonly text: string };

export interface CompiledRule {
  /** Empty: every peer (an absent or empty `from`/`to`). */
  readonly peers: readonly CompiledPeer[];
  /** Empty: every port and protocol. */
  readonly ports: readonly CompiledPort[];
}

export interface CompiledPolicy {
  readonly ref: PolicyRef;
  readonly namespace: string;
  readonly name: string;
  readonly podSelector: LabelSelector;
  /** undefined when the policy does not isolate ingress (Ingress not in policyTypes). */
  readonly ingress: readonly CompiledRule[] | undefined;
  readonly egress: readonly CompiledRule[] | undefined;
  readonly source: NetworkPolicy;
}

export const DEFAULT_NAMESPACE = 'default';

export function policyRef(p: NetworkPolicy): PolicyRef {
  return `${p.metadata?.namespace ?? DEFAULT_NAMESPACE}/${p.metadata?.name ?? ''}`;
}

/**
 * policyTypes as the API server defaults them (pkg/apis/networking/v1/defaults.go): when empty,
 * Ingress always, plus Egress when there is at least one egress rule.
 */
export function effectivePolicyTypes(p: NetworkPolicy): { ingress: boolean; egress: boolean } {
  const types = p.spec?.policyTypes ?? [];
  if (types.length === 0) return { ingress: true, egress: (p.spec?.egress?.length ?? 0) > 0 };
  return { ingress: types.includes('Ingress'), egress: types.includes('Egress') };
}

export function compilePolicy(p: NetworkPolicy): CompiledPolicy {
  const types = effectivePolicyTypes(p);
  return {
    ref: policyRef(p),
    namespace: p.metadata?.namespace ?? DEFAULT_NAMESPACE,
    name: p.metadata?.name ?? '',
    // A Go struct, not a pointer: absent means empty, which selects every pod of the namespace.
    podSelector: p.spec?.podSelector ?? {},
    ingress: types.ingress ? (p.spec?.ingress ?? []).map((r) => compileRule(r.from, r.ports)) : undefined,
    egress: types.egress ? (p.spec?.egress ?? []).map((r) => compileRule(r.to, r.ports)) : undefined,
    source: p,
  };
}

function compileRule(peers: readonly NetworkPolicyPeer[] | undefined, ports: readonly NetworkPolicyPort[] | undefined): CompiledRule {
  return { peers: (peers ?? []).map(compilePeer), ports: (ports ?? []).map(compilePort) };
}

export function compilePort(p: NetworkPolicyPort): CompiledPort {
  const protocol = p.protocol ?? 'TCP';
  if (p.port === undefined || p.port === null) return { kind: 'all', protocol, text: `all ${protocol} ports` };
  if (typeof p.port === 'string') return { kind: 'name', protocol, name: p.port, text: `${p.port}/${protocol}` };
  // endPort needs a numeric port and endPort >= port (validation); a smaller one matches only `port`.
  const to = p.endPort !== undefined && p.endPort !== null && p.endPort >= p.port ? p.endPort : p.port;
  return { kind: 'range', protocol, from: p.port, to, text: to === p.port ? `${p.port}/${protocol}` : `${p.port}-${to}/${protocol}` };
}

export function compilePeer(peer: NetworkPolicyPeer): CompiledPeer {
  if (peer.ipBlock) {
    const parsed = (peer.ipBlock.except ?? []).map(parseCidr);
    const except = parsed.filter((c): c is Cidr => c !== undefined);
    // The API rejects a bad CIDR; if one gets here the peer matches nothing rather than too much.
    const cidr = except.length === parsed.length ? parseCidr(peer.ipBlock.cidr) : undefined;
    const ex = peer.ipBlock.except?.length ? ` except ${peer.ipBlock.except.join(', ')}` : '';
    return { kind: 'ipBlock', cidr, except, text: `ipBlock ${peer.ipBlock.cidr}${ex}` };
  }
  if (!peer.namespaceSelector && !peer.podSelector) return { kind: 'none', text: 'an empty peer' };
  const parts: string[] = [];
  if (peer.namespaceSelector) parts.push(`namespaceSelector ${describeSelector(peer.namespaceSelector)}`);
  if (peer.podSelector) parts.push(`podSelector ${describeSelector(peer.podSelector)}`);
  return { kind: 'pods', namespaceSelector: peer.namespaceSelector, podSelector: peer.podSelector, text: parts.join(' + ') };
}

/** `pod=a,ns in (x,y)`, or `{}` for the empty selector (which selects everything). */
export function describeSelector(s: LabelSelector): string {
  const parts = Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const r of s.matchExpressions ?? []) {
    if (r.operator === 'Exists') parts.push(r.key);
    else if (r.operator === 'DoesNotExist') parts.push(`!${r.key}`);
    else parts.push(`${r.key} ${r.operator === 'In' ? 'in' : r.operator === 'NotIn' ? 'notin' : r.operator} (${(r.values ?? []).join(',')})`);
  }
  return parts.length ? parts.join(',') : '{}';
}
