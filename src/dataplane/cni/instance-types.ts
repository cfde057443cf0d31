// ENI limits per instance type and the max-pods formulas the VPC-native CNIs derive from them.
//
// AWS: ENIs per instance and IPv4 addresses per ENI as EC2 publishes them (the "IP addresses per
// network interface per instance type" table), which is what aws/amazon-vpc-cni-k8s
// `misc/eni-max-pods.txt` is computed from. Alibaba: "ENIs" and "private IPv4 addresses per ENI"
// from the ECS instance-family pages, which Terway reads at run time from DescribeInstanceTypes
// (`pkg/aliyun/client/limit.go`: Adapters, IPv4PerAdapter).

export type Cloud = 'aws' | 'alibaba';

/** Where a figure comes from: `doc` (the vendor's table, or a value the reference quotes), `assumed` (from memory, not checked here). */
export type Provenance = 'doc' | 'assumed';

export interface EniLimits {
  readonly instanceType: string;
  /** Network interfaces the instance can have attached, the primary one included. */
  readonly enis: number;
  /** Private IPv4 addresses per interface, its primary address included. */
  readonly ipv4PerEni: number;
  readonly vcpus: number;
  readonly source: Provenance;
}

export type LimitLookup =
  | { readonly ok: true; readonly limits: EniLimits }
  /** Unknown type: the caller turns this into a Diagnostic. */
  | { readonly ok: false; readonly message: string; readonly hint: string };

type Row = readonly [enis: number, ipv4PerEni: number, vcpus: number, source: Provenance];

// EC2 documentation figures; the four the reference quotes (t3.medium 17, m5.large 29, m5.xlarge 58,
// m5.4xlarge 234) check these through the formula. The rest are the same public table, as recalled.
const AWS: Readonly<Record<string, Row>> = {
  't3.micro': [2, 2, 2, 'assumed'],
  't3.small': [3, 4, 2, 'assumed'],
  't3.medium': [3, 6, 2, 'doc'],
  't3.large': [3, 12, 2, 'assumed'],
  't3.xlarge': [4, 15, 4, 'assumed'],
  't3.2xlarge': [4, 15, 8, 'assumed'],
  'm5.large': [3, 10, 2, 'doc'],
  'm5.xlarge': [4, 15, 4, 'doc'],
  'm5.2xlarge': [4, 15, 8, 'assumed'],
  'm5.4xlarge': [8, 30, 16, 'doc'],
  'm5.8xlarge': [8, 30, 32, 'assumed'],
  'm5.12xlarge': [8, 30, 48, 'assumed'],
  'm5.16xlarge': [15, 50, 64, 'assumed'],
  'm5.24xlarge': [15, 50, 96, 'assumed'],
  'm6i.large': [3, 10, 2, 'assumed'],
  'm6i.xlarge': [4, 15, 4, 'assumed'],
  'm6i.2xlarge': [4, 15, 8, 'assumed'],
  'c5.large': [3, 10, 2, 'assumed'],
  'c5.xlarge': [4, 15, 4, 'assumed'],
  'c5.2xlarge': [4, 15, 8, 'assumed'],
  'c5.4xlarge': [8, 30, 16, 'assumed'],
  'c5.9xlarge': [8, 30, 36, 'assumed'],
  'r5.large': [3, 10, 2, 'assumed'],
  'r5.xlarge': [4, 15, 4, 'assumed'],
};

// ECS instance-family pages as recalled, not re-checked: the profile's ecs.g7.xlarge (4 ENIs x 15)
// is the one its comment relies on.
const ALIBABA: Readonly<Record<string, Row>> = {
  'ecs.g7.large': [3, 6, 2, 'assumed'],
  'ecs.g7.xlarge': [4, 15, 4, 'assumed'],
  'ecs.g7.2xlarge': [4, 15, 8, 'assumed'],
  'ecs.g7.3xlarge': [8, 15, 12, 'assumed'],
  'ecs.g7.4xlarge': [8, 30, 16, 'assumed'],
  'ecs.g6.large': [2, 6, 2, 'assumed'],
  'ecs.g6.xlarge': [3, 10, 4, 'assumed'],
  'ecs.g6.2xlarge': [4, 10, 8, 'assumed'],
  'ecs.g6.3xlarge': [6, 10, 12, 'assumed'],
  'ecs.g6.4xlarge': [8, 20, 16, 'assumed'],
};

const TABLES: Readonly<Record<Cloud, Readonly<Record<string, Row>>>> = { aws: AWS, alibaba: ALIBABA };

/** The instance types the model knows for a cloud, sorted. */
export function knownInstanceTypes(cloud: Cloud): string[] {
  return Object.keys(TABLES[cloud]).sort();
}

export function eniLimits(cloud: Cloud, instanceType: string | undefined): LimitLookup {
  const table = TABLES[cloud];
  if (instanceType === undefined || instanceType === '') {
    return { ok: false, message: 'the node has no instance type, so its ENI limits are unknown', hint: 'give the node pool an instanceType' };
  }
  const row = Object.hasOwn(table, instanceType) ? table[instanceType] : undefined;
  if (!row) {
    const known = knownInstanceTypes(cloud);
    return {
      ok: false,
      message: `unknown ${cloud === 'aws' ? 'EC2' : 'ECS'} instance type "${instanceType}": its ENI limits are not in the model`,
      hint: `use one of ${known.join(', ')}`,
    };
  }
  const [enis, ipv4PerEni, vcpus, source] = row;
  return { ok: true, limits: { instanceType, enis, ipv4PerEni, vcpus, source } };
}

export type AwsCniMode = 'secondary-ip' | 'prefix';
export type TerwayMode = 'shared' | 'exclusive';

export interface AwsMaxPodsOptions {
  /** EKS managed node groups cap max pods at 110 below 30 vCPUs and 250 from 30 up (the reference, §1.6). */
  readonly managedNodeGroupCap?: boolean;
}

/** Pod addresses the VPC CNI can hand out: secondary IPs (the primary of each ENI is not used), or /28 prefixes in those slots. */
export function awsPodAddresses(l: EniLimits, mode: AwsCniMode): number {
  const slots = l.enis * (l.ipv4PerEni - 1);
  return mode === 'prefix' ? slots * 16 : slots;
}

/**
 * misc/eni-max-pods.txt: `ENIs × (IPs − 1) + 2`, prefix mode `ENIs × ((IPs − 1) × 16) + 2` — the
 * `+ 2` are the host-network pods (aws-node, kube-proxy) that need no address.
 */
export function awsMaxPods(l: EniLimits, mode: AwsCniMode, options: AwsMaxPodsOptions = {}): number {
  const n = awsPodAddresses(l, mode) + 2;
  if (!options.managedNodeGroupCap) return n;
  return Math.min(n, l.vcpus < 30 ? 110 : 250);
}

/** Terway: shared ENI `(ENIs − 1) × IPs` (Limits.MultiIPPod, the primary ENI is never used); exclusive `ENIs − 1` (ExclusiveENIPod). */
export function terwayMaxPods(l: EniLimits, mode: TerwayMode): number {
  return mode === 'exclusive' ? l.enis - 1 : (l.enis - 1) * l.ipv4PerEni;
}
