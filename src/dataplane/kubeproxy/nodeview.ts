// What one node's kube-proxy knows about itself, its configuration, and the effective settings
// kube-proxy derives from them (local-traffic detector, nodePortAddresses, localhost NodePorts).
import { cidrContains, formatIP, isLoopback, isZeroCIDR, parseCIDR, parseIP, type IPFamily, type ParsedCIDR } from './ip.js';

export type DetectLocalMode = 'ClusterCIDR' | 'NodeCIDR' | 'BridgeInterface' | 'InterfaceNamePrefix' | 'None';

export interface NodeView {
  nodeName: string;
  /**
   * The node's own addresses (the interfaces NodePorts answer on). The first of each family is the
   * primary node IP (kube-proxy's nodeIP, used for the loadBalancerSourceRanges self-allowance).
   * Loopback (127.0.0.1, ::1) is always assumed present, as `lo` is.
   */
  nodeIPs: readonly string[];
  /** The node's `topology.kubernetes.io/zone` label. */
  zone?: string;
  /** --detect-local-mode; default ClusterCIDR. */
  detectLocalMode?: DetectLocalMode;
  /** --cluster-cidr, one CIDR per family (array or comma-separated). Empty: no detector. */
  clusterCIDR?: string | readonly string[];
  /** The node's spec.podCIDRs, for NodeCIDR mode. */
  podCIDRs?: readonly string[];
  /** For BridgeInterface mode. */
  bridgeInterface?: string;
  /** For InterfaceNamePrefix mode. */
  interfaceNamePrefix?: string;
  /** Default false. */
  masqueradeAll?: boolean;
  /** Default 14 (mark 0x4000). */
  masqueradeBit?: number;
  /** --iptables-localhost-nodeports, default true (IPv4 only). */
  localhostNodePorts?: boolean;
  /** --nodeport-addresses: CIDRs, or the keywords `primary`, `localhost`, `all`. Default: all. */
  nodePortAddresses?: readonly string[];
}

/** Facts about the node's iptables / kernel that change the rules kube-proxy writes. */
export interface ProxierEnvironment {
  /** The IP family of this proxier (dual-stack runs one per family). Default IPv4. */
  ipFamily?: IPFamily;
  /** iptables supports `--random-fully` (any iptables >= 1.6.2). Default true. */
  randomFully?: boolean;
  /** The nfacct counters exist (kernel nfnetlink_acct). Default true. */
  nfacct?: boolean;
  /** sysctl net.netfilter.nf_conntrack_tcp_be_liberal is non-zero. Default false. */
  conntrackTCPBeLiberal?: boolean;
  /** The PreferSameTrafficDistribution feature gate. Default true. */
  preferSameTrafficDistribution?: boolean;
  /** iptables.syncPeriod in seconds, for large-cluster stale-chain cleanup. Default 30. */
  syncPeriodSeconds?: number;
}

export const DEFAULT_MASQUERADE_BIT = 14;

/** The local-traffic detector's iptables matches, or undefined for the no-op detector. */
export interface LocalDetector {
  readonly ifLocal: readonly string[];
  readonly ifNotLocal: readonly string[];
}

export interface EffectiveConfig {
  readonly family: IPFamily;
  readonly nodeName: string;
  readonly zone: string | undefined;
  /** The primary node IP of the family (may be undefined). */
  readonly nodeIP: string | undefined;
  readonly masqueradeAll: boolean;
  /** Go's %#08x of 1 << masqueradeBit, e.g. 0x00004000. */
  readonly masqueradeMark: string;
  readonly detector: LocalDetector | undefined;
  /** After the IPv6 and nodePortAddresses checks. */
  readonly localhostNodePorts: boolean;
  readonly nodePortMatchAll: boolean;
  /** When not match-all: the node addresses NodePorts answer on, in nodeIPs order. */
  readonly nodePortIPs: readonly string[];
  readonly randomFully: boolean;
  readonly nfacct: boolean;
  readonly conntrackTCPBeLiberal: boolean;
  readonly preferSameTrafficDistribution: boolean;
  readonly syncPeriodSeconds: number;
}

function familyOfCIDRText(s: string): IPFamily {
  return s.includes(':') ? 'IPv6' : 'IPv4';
}

function cidrList(v: string | readonly string[] | undefined): string[] {
  if (v === undefined) return [];
  const list = typeof v === 'string' ? v.split(',') : [...v];
  return list.map((s) => s.trim()).filter((s) => s !== '');
}

/** Go's fmt.Sprintf("%#08x", v): eight zero-padded hex digits after the 0x. */
export function formatMark(bit: number): string {
  return '0x' + (2 ** bit).toString(16).padStart(8, '0');
}

function detectorFor(node: NodeView, family: IPFamily): LocalDetector | undefined {
  const mode = node.detectLocalMode ?? 'ClusterCIDR';
  switch (mode) {
    case 'ClusterCIDR':
    case 'NodeCIDR': {
      const list = mode === 'ClusterCIDR' ? cidrList(node.clusterCIDR) : cidrList(node.podCIDRs);
      const cidr = list.find((c) => familyOfCIDRText(c) === family);
      return cidr ? { ifLocal: ['-s', cidr], ifNotLocal: ['!', '-s', cidr] } : undefined;
    }
    case 'BridgeInterface':
      return node.bridgeInterface
        ? { ifLocal: ['-i', node.bridgeInterface], ifNotLocal: ['!', '-i', node.bridgeInterface] }
        : undefined;
    case 'InterfaceNamePrefix':
      return node.interfaceNamePrefix
        ? { ifLocal: ['-i', `${node.interfaceNamePrefix}+`], ifNotLocal: ['!', '-i', `${node.interfaceNamePrefix}+`] }
        : undefined;
    case 'None':
      return undefined;
  }
}

/** NodePortAddresses for one family: keywords expanded, other families dropped, empty → match-all. */
export function nodePortCIDRs(node: NodeView, family: IPFamily): ParsedCIDR[] {
  const primary = primaryNodeIP(node, family);
  const texts: string[] = [];
  for (const raw of node.nodePortAddresses ?? []) {
    const s = raw.trim();
    if (s === 'primary') {
      if (primary) texts.push(family === 'IPv4' ? `${primary}/32` : `${primary}/128`);
    } else if (s === 'localhost') {
      texts.push(family === 'IPv4' ? '127.0.0.0/8' : '::1/128');
    } else if (s === 'all') {
      texts.push(family === 'IPv4' ? '0.0.0.0/0' : '::/0');
    } else if (familyOfCIDRText(s) === family) {
      texts.push(s);
    }
  }
  const out = texts.map(parseCIDR).filter((c): c is ParsedCIDR => c !== undefined && c.family === family);
  if (out.length === 0) out.push(parseCIDR(family === 'IPv4' ? '0.0.0.0/0' : '::/0')!);
  return out;
}

export function primaryNodeIP(node: NodeView, family: IPFamily): string | undefined {
  for (const s of node.nodeIPs) {
    const ip = parseIP(s);
    if (ip && ip.family === family) return formatIP(ip);
  }
  return undefined;
}

export function effectiveConfig(node: NodeView, env: ProxierEnvironment = {}): EffectiveConfig {
  const family = env.ipFamily ?? 'IPv4';
  const cidrs = nodePortCIDRs(node, family);
  const matchAll = cidrs.some(isZeroCIDR);
  const loop4 = parseIP('127.0.0.0')!;
  const containsIPv4Loopback = cidrs.some(
    (c) => c.family === 'IPv4' && (c.bytes[0] === 127 || cidrContains(c, loop4)),
  );
  // The IPv6 proxier is always built with localhostNodePorts=false.
  const localhostNodePorts = family === 'IPv4' && (node.localhostNodePorts ?? true) && containsIPv4Loopback;
  const nodePortIPs: string[] = [];
  if (!matchAll) {
    const addrs = [...node.nodeIPs, family === 'IPv4' ? '127.0.0.1' : '::1'];
    const seen = new Set<string>();
    for (const a of addrs) {
      const ip = parseIP(a);
      if (!ip || ip.family !== family) continue;
      const text = formatIP(ip);
      if (seen.has(text) || !cidrs.some((c) => cidrContains(c, ip))) continue;
      // Loopback NodePorts: never on IPv6, and on IPv4 only with localhostNodePorts.
      if (isLoopback(ip) && (family === 'IPv6' || !localhostNodePorts)) continue;
      seen.add(text);
      nodePortIPs.push(text);
    }
  }
  return {
    family,
    nodeName: node.nodeName,
    zone: node.zone,
    nodeIP: primaryNodeIP(node, family),
    masqueradeAll: node.masqueradeAll ?? false,
    masqueradeMark: formatMark(node.masqueradeBit ?? DEFAULT_MASQUERADE_BIT),
    detector: detectorFor(node, family),
    localhostNodePorts,
    nodePortMatchAll: matchAll,
    nodePortIPs,
    randomFully: env.randomFully ?? true,
    nfacct: env.nfacct ?? true,
    conntrackTCPBeLiberal: env.conntrackTCPBeLiberal ?? false,
    preferSameTrafficDistribution: env.preferSameTrafficDistribution ?? true,
    syncPeriodSeconds: env.syncPeriodSeconds ?? 30,
  };
}
