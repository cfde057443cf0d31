// What a NetworkPolicy question and its answer look like. Plain data: the trace layer turns a
// verdict's `text` into the note of a `policy` hop.
import type { Pod } from 'kubernetes-types/core/v1.js';

/** `ns/name` of a NetworkPolicy. */
export type PolicyRef = string;

export type Direction = 'ingress' | 'egress';

/**
 * One end of a connection.
 * - `{pod}`: a pod; its namespace's labels come from the index. `ip` picks the address the
 *   packet carries (dual-stack); without it ipBlocks are checked against the pod IP of their family.
 * - `{ip}`: an address. An address that is a (non-hostNetwork) pod's IP in the index is treated
 *   as that pod; any other address is outside the pod network.
 *   `fromNode: true` says the source is the destination pod's own node (kubelet probes,
 *   hostNetwork pods on that node); a known node address of that node says the same.
 */
export type Endpoint = { readonly pod: Pod; readonly ip?: string } | { readonly ip: string; readonly fromNode?: boolean };

export interface PolicyQuery {
  readonly src: Endpoint;
  readonly dst: Endpoint;
  /** TCP, UDP or SCTP. Anything else (ICMP…) matches only rules without `ports`. */
  readonly protocol: string;
  /** The destination port the pod sees (after Service DNAT). */
  readonly port: number;
  /** A reply packet of an allowed connection: NetworkPolicy is stateful, replies are not evaluated. */
  readonly isReply?: boolean;
}

/** Which part of which policy let the traffic through. Indices are 0-based, as in the YAML. */
export interface RuleMatch {
  readonly policy: PolicyRef;
  readonly direction: Direction;
  /** Index in `spec.ingress` / `spec.egress`. */
  readonly rule: number;
  /** Index in `from` / `to`; undefined when the rule has no peers (all peers). */
  readonly peer?: number;
  /** Index in `ports`; undefined when the rule has no ports (all ports). */
  readonly port?: number;
  /** `spec.ingress[0].from[1]`-style path with a short description of peer and port. */
  readonly text: string;
}

export type Verdict =
  /** No policy applies to this end in this direction. */
  | {
      readonly kind: 'not-isolated';
      readonly allowed: true;
      /** no-policy: no policy selects the pod; not-a-pod: the end is outside the pod network; host-network: a hostNetwork pod. */
      readonly why: 'no-policy' | 'not-a-pod' | 'host-network';
      readonly text: string;
    }
  /** The pod is isolated, but this traffic is never subject to policy. */
  | {
      readonly kind: 'exempt';
      readonly allowed: true;
      readonly isolatedBy: readonly PolicyRef[];
      readonly why: 'node-local' | 'self';
      readonly text: string;
    }
  /** Not evaluated: a reply of an allowed connection. */
  | { readonly kind: 'reply'; readonly allowed: true; readonly text: string }
  | { readonly kind: 'allowed'; readonly allowed: true; readonly isolatedBy: readonly PolicyRef[]; readonly match: RuleMatch; readonly text: string }
  | { readonly kind: 'denied'; readonly allowed: false; readonly isolatedBy: readonly PolicyRef[]; readonly text: string };

export interface PolicyResult {
  /** egress of the source AND ingress of the destination. */
  readonly allowed: boolean;
  readonly ingress: Verdict;
  readonly egress: Verdict;
}

export interface PolicyIndexOptions {
  /**
   * Whether ipBlock peers match pod IPs. Upstream leaves it implementation-defined ("should be
   * cluster-external IPs"); the e2e suite ("should allow egress access to server in CIDR block")
   * and Cyclonus' matcher both match pod IPs, so the default is true.
   */
  readonly ipBlockMatchesPods?: boolean;
}
