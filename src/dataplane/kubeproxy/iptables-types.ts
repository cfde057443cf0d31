// Plain-data output of the iptables renderer: the restore text plus enough metadata for a tracer to
// name the Service port or endpoint behind every chain and rule.
import type { EndpointInfo } from './endpoints.js';
import type { IPFamily } from './ip.js';
import type { ServicePortInfo } from './serviceport.js';

export type Table = 'filter' | 'nat';

export type ChainKind =
  | 'services' // KUBE-SERVICES (filter and nat)
  | 'external-services' // KUBE-EXTERNAL-SERVICES
  | 'nodeports' // KUBE-NODEPORTS (filter and nat)
  | 'forward' // KUBE-FORWARD
  | 'proxy-firewall' // KUBE-PROXY-FIREWALL
  | 'firewall' // KUBE-FIREWALL (kubelet's anti-martian copy)
  | 'postrouting' // KUBE-POSTROUTING
  | 'mark-masq' // KUBE-MARK-MASQ
  | 'service-cluster' // KUBE-SVC-*: Cluster-policy endpoints
  | 'service-local' // KUBE-SVL-*: Local-policy endpoints
  | 'service-external' // KUBE-EXT-*: external destinations
  | 'service-firewall' // KUBE-FW-*: loadBalancerSourceRanges
  | 'endpoint' // KUBE-SEP-*
  // IPVS mode's chains:
  | 'node-port' // KUBE-NODE-PORT (nat and filter)
  | 'load-balancer' // KUBE-LOAD-BALANCER
  | 'source-ranges-firewall' // KUBE-SOURCE-RANGES-FIREWALL
  | 'ipvs-filter' // KUBE-IPVS-FILTER
  | 'ipvs-out-filter'; // KUBE-IPVS-OUT-FILTER

export interface ChainInfo {
  readonly table: Table;
  readonly name: string;
  readonly kind: ChainKind;
  readonly service?: ServicePortInfo;
  readonly endpoint?: EndpointInfo;
}

/** One `-A CHAIN ...` line, or a `-X CHAIN` deletion in a restore payload. */
export interface RuleLine {
  readonly table: Table;
  readonly chain: string;
  readonly line: string;
  readonly service?: ServicePortInfo;
  readonly endpoint?: EndpointInfo;
}

export interface TableContent {
  /** Chain declarations in the order kube-proxy writes them. */
  readonly chains: readonly string[];
  /** Rules (and `-X` lines) in the order kube-proxy writes them. */
  readonly rules: readonly RuleLine[];
  /** Metadata of every declared chain, by name. */
  readonly info: ReadonlyMap<string, ChainInfo>;
}

export interface IptablesRuleset {
  readonly family: IPFamily;
  /** The `iptables-restore --noflush --counters` payload: `*filter` … COMMIT, `*nat` … COMMIT. */
  readonly text: string;
  readonly filter: TableContent;
  readonly nat: TableContent;
}

/** A jump from a built-in chain, installed with `iptables -I` (EnsureRule Prepend), not restore. */
export interface JumpRule {
  readonly table: Table;
  readonly chain: string;
  /** As `iptables-save` lists it: `-A INPUT -m conntrack --ctstate NEW -m comment ... -j KUBE-...`. */
  readonly line: string;
}
