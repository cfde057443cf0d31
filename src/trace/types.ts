// What a trace answers: a distribution over paths, each a list of hops. This is the `trace -o json`
// shape of DESIGN.md (`{request, paths: [{probability, outcome, endpoint, clientIpSeen, crossZone,
// hops: [{at, stage, table?, chain?, rule?, action, note, packet}]}]}`); fields are only ever added.

export type Stage = 'dns' | 'lb' | 'netfilter' | 'ipvs' | 'route' | 'encap' | 'decap' | 'l2' | 'fabric' | 'policy' | 'proxy' | 'deliver';

export type PathOutcome = 'delivered' | 'dropped' | 'rejected' | 'timeout' | 'no-route' | 'loop';

export interface PacketView {
  readonly proto: string;
  readonly src: string;
  readonly sport: number;
  readonly dst: string;
  readonly dport: number;
  /** The tunnel header around the packet, when encapsulated. */
  readonly outer?: { readonly kind: 'vxlan' | 'ipip'; readonly src: string; readonly dst: string; readonly dport?: number };
}

export interface Hop {
  /** A location: `pod/NS/NAME`, `node/NAME`, `vpc`, `router`, `internet`. */
  readonly at: string;
  readonly stage: Stage;
  readonly table?: string;
  readonly chain?: string;
  /** The rule or route that decided: `-A CHAIN …` as iptables-save prints it, `ip route` / `ip rule` text. */
  readonly rule?: string;
  /** What happened: ACCEPT, DNAT, MASQUERADE, JUMP:KUBE-SVC-…, forward, deliver, deny… */
  readonly action: string;
  readonly note: string;
  /** The packet after this hop. */
  readonly packet: PacketView;
  /** The zone the hop happened in, where known. */
  readonly zone?: string;
  /** Set on a link hop that went from one zone to another. */
  readonly crossZone?: boolean;
  /** Interfaces the packet came in by / went out by at this hop. */
  readonly in?: string;
  readonly out?: string;
}

export interface TracePath {
  /** Exact probability as a float… */
  readonly probability: number;
  /** …and as the exact fraction, e.g. `1/3`. */
  readonly probabilityExact: string;
  readonly outcome: PathOutcome;
  /** Where it ended when delivered: `pod/NS/NAME`, `node/NAME`, `internet`. */
  readonly endpoint?: string;
  /** The source address the endpoint saw (the client IP is lost when it differs from the request's). */
  readonly clientIpSeen?: string;
  readonly crossZone: boolean;
  /** Zones visited, in order (repeats collapsed). */
  readonly zones: readonly string[];
  /** Why the path ended, in plain words. */
  readonly reason: string;
  readonly hops: readonly Hop[];
}

export interface TraceRequest {
  readonly from: string;
  readonly to: string;
  readonly proto: string;
  readonly src: string;
  readonly sport: number;
  readonly dst: string;
  readonly dport: number;
  /** Virtual time of the cluster state traced, seconds. */
  readonly at: number;
  readonly profile: string;
  readonly cni: string;
  readonly kubeProxyMode: string;
}

export interface TraceResult {
  readonly request: TraceRequest;
  readonly mode: 'exact' | 'sampled';
  /** Sampled mode: how many packets were drawn, and the seed. */
  readonly samples?: number;
  readonly seed?: number;
  readonly paths: readonly TracePath[];
  /** Notes about the model for this trace (refused CNI commands, unenforced policies). */
  readonly warnings: readonly string[];
}
