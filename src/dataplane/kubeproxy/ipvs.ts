// kube-proxy's IPVS mode (pkg/proxy/ipvs/proxier.go syncProxyRules + writeIptablesRules): the
// kube-ipvs0 addresses, IPVS virtual/real servers, the ipsets, and the iptables rules IPVS mode still
// installs. Services are visited in namespace/name order (upstream: Go map order).
import type { EndpointInfo } from './endpoints.js';
import { formatIP, joinHostPort, parseIP, type IPFamily } from './ip.js';
import type { ChainKind, IptablesRuleset, JumpRule, RuleLine, TableContent } from './iptables-types.js';
import type { ServiceModel } from './model.js';
import { allowsNode } from './model.js';
import { effectiveConfig, type EffectiveConfig, type NodeView, type ProxierEnvironment } from './nodeview.js';
import type { Protocol, ServicePortInfo } from './serviceport.js';
import { categorizeEndpoints, isLocalEndpoint } from './topology.js';

export const KUBE_IPVS_DEVICE = 'kube-ipvs0';
export const DEFAULT_IPVS_SCHEDULER = 'rr';

export type IpsetType = 'hash:ip' | 'hash:ip,port' | 'hash:ip,port,ip' | 'hash:ip,port,net' | 'bitmap:port';

interface IpsetDef {
  readonly id: string;
  readonly type: IpsetType;
  readonly comment: string;
}

// ipsetInfo, in upstream order.
const IPSETS: readonly IpsetDef[] = [
  { id: 'KUBE-LOOP-BACK', type: 'hash:ip,port,ip', comment: 'Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose' },
  { id: 'KUBE-CLUSTER-IP', type: 'hash:ip,port', comment: 'Kubernetes service cluster ip + port for masquerade purpose' },
  { id: 'KUBE-EXTERNAL-IP', type: 'hash:ip,port', comment: 'Kubernetes service external ip + port for masquerade and filter purpose' },
  { id: 'KUBE-EXTERNAL-IP-LOCAL', type: 'hash:ip,port', comment: 'Kubernetes service external ip + port with externalTrafficPolicy=local' },
  { id: 'KUBE-LOAD-BALANCER', type: 'hash:ip,port', comment: 'Kubernetes service lb portal' },
  { id: 'KUBE-LOAD-BALANCER-FW', type: 'hash:ip,port', comment: 'Kubernetes service load balancer ip + port for load balancer with sourceRange' },
  { id: 'KUBE-LOAD-BALANCER-LOCAL', type: 'hash:ip,port', comment: 'Kubernetes service load balancer ip + port with externalTrafficPolicy=local' },
  { id: 'KUBE-LOAD-BALANCER-SOURCE-IP', type: 'hash:ip,port,ip', comment: 'Kubernetes service load balancer ip + port + source IP for packet filter purpose' },
  { id: 'KUBE-LOAD-BALANCER-SOURCE-CIDR', type: 'hash:ip,port,net', comment: 'Kubernetes service load balancer ip + port + source cidr for packet filter purpose' },
  { id: 'KUBE-NODE-PORT-TCP', type: 'bitmap:port', comment: 'Kubernetes nodeport TCP port for masquerade purpose' },
  { id: 'KUBE-NODE-PORT-LOCAL-TCP', type: 'bitmap:port', comment: 'Kubernetes nodeport TCP port with externalTrafficPolicy=local' },
  { id: 'KUBE-NODE-PORT-UDP', type: 'bitmap:port', comment: 'Kubernetes nodeport UDP port for masquerade purpose' },
  { id: 'KUBE-NODE-PORT-LOCAL-UDP', type: 'bitmap:port', comment: 'Kubernetes nodeport UDP port with externalTrafficPolicy=local' },
  { id: 'KUBE-NODE-PORT-SCTP-HASH', type: 'hash:ip,port', comment: "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'" },
  { id: 'KUBE-NODE-PORT-LOCAL-SCTP-HASH', type: 'hash:ip,port', comment: "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'" },
  // The two names and comments below are from memory of pkg/proxy/ipvs/ipset.go (unverified).
  { id: 'KUBE-HEALTH-CHECK-NODE-PORT', type: 'bitmap:port', comment: 'Kubernetes health check node port' },
  { id: 'KUBE-IPVS-IPS', type: 'hash:ip', comment: 'Addresses on the ipvs interface' },
];

// ipsetWithIptablesChain, in upstream order: [set, table, from chain, target, match type, protocol].
const SET_RULES: readonly (readonly [string, 'nat' | 'filter', string, string, string, string])[] = [
  ['KUBE-LOOP-BACK', 'nat', 'KUBE-POSTROUTING', 'MASQUERADE', 'dst,dst,src', ''],
  ['KUBE-LOAD-BALANCER', 'nat', 'KUBE-SERVICES', 'KUBE-LOAD-BALANCER', 'dst,dst', ''],
  ['KUBE-LOAD-BALANCER-LOCAL', 'nat', 'KUBE-LOAD-BALANCER', 'RETURN', 'dst,dst', ''],
  ['KUBE-NODE-PORT-LOCAL-TCP', 'nat', 'KUBE-NODE-PORT', 'RETURN', 'dst', 'tcp'],
  ['KUBE-NODE-PORT-TCP', 'nat', 'KUBE-NODE-PORT', 'KUBE-MARK-MASQ', 'dst', 'tcp'],
  ['KUBE-NODE-PORT-LOCAL-UDP', 'nat', 'KUBE-NODE-PORT', 'RETURN', 'dst', 'udp'],
  ['KUBE-NODE-PORT-UDP', 'nat', 'KUBE-NODE-PORT', 'KUBE-MARK-MASQ', 'dst', 'udp'],
  ['KUBE-NODE-PORT-LOCAL-SCTP-HASH', 'nat', 'KUBE-NODE-PORT', 'RETURN', 'dst,dst', 'sctp'],
  ['KUBE-NODE-PORT-SCTP-HASH', 'nat', 'KUBE-NODE-PORT', 'KUBE-MARK-MASQ', 'dst,dst', 'sctp'],
  ['KUBE-LOAD-BALANCER-FW', 'filter', 'KUBE-PROXY-FIREWALL', 'KUBE-SOURCE-RANGES-FIREWALL', 'dst,dst', ''],
  ['KUBE-LOAD-BALANCER-SOURCE-CIDR', 'filter', 'KUBE-SOURCE-RANGES-FIREWALL', 'RETURN', 'dst,dst,src', ''],
  ['KUBE-LOAD-BALANCER-SOURCE-IP', 'filter', 'KUBE-SOURCE-RANGES-FIREWALL', 'RETURN', 'dst,dst,src', ''],
];

const IPVS_CHAIN_KINDS: Record<string, ChainKind> = {
  'KUBE-SERVICES': 'services',
  'KUBE-POSTROUTING': 'postrouting',
  'KUBE-NODE-PORT': 'node-port',
  'KUBE-LOAD-BALANCER': 'load-balancer',
  'KUBE-MARK-MASQ': 'mark-masq',
  'KUBE-FORWARD': 'forward',
  'KUBE-PROXY-FIREWALL': 'proxy-firewall',
  'KUBE-SOURCE-RANGES-FIREWALL': 'source-ranges-firewall',
  'KUBE-IPVS-FILTER': 'ipvs-filter',
  'KUBE-IPVS-OUT-FILTER': 'ipvs-out-filter',
};

const NAT_CHAINS = ['KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-NODE-PORT', 'KUBE-LOAD-BALANCER', 'KUBE-MARK-MASQ'];
const FILTER_CHAINS = [
  'KUBE-FORWARD',
  'KUBE-NODE-PORT',
  'KUBE-PROXY-FIREWALL',
  'KUBE-SOURCE-RANGES-FIREWALL',
  'KUBE-IPVS-FILTER',
  'KUBE-IPVS-OUT-FILTER',
];

export interface IpvsRealServer {
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  readonly endpoint: EndpointInfo;
}

export type VirtualServerKind = 'cluster-ip' | 'external-ip' | 'load-balancer' | 'node-port';

export interface IpvsVirtualServer {
  readonly address: string;
  readonly port: number;
  readonly protocol: Protocol;
  readonly scheduler: string;
  /** Session affinity ClientIP: the persistence timeout in seconds. */
  readonly persistentTimeout: number | undefined;
  /** The source-hash flag the `mh` scheduler needs. */
  readonly sourceHash: boolean;
  readonly kind: VirtualServerKind;
  readonly service: ServicePortInfo;
  /** Weight 1 each; weight-0 graceful-termination entries are a runtime state, not rendered. */
  readonly realServers: readonly IpvsRealServer[];
}

export interface IpsetContent {
  /** With the KUBE-6- prefix for IPv6. */
  readonly name: string;
  readonly type: IpsetType;
  readonly family: 'inet' | 'inet6';
  readonly comment: string;
  /** Entries as kube-proxy writes them (Entry.String()), sorted. */
  readonly entries: readonly string[];
}

export interface IpvsRuleset {
  readonly family: IPFamily;
  /** Addresses bound to kube-ipvs0. */
  readonly dummyAddresses: readonly string[];
  readonly virtualServers: readonly IpvsVirtualServer[];
  readonly ipsets: readonly IpsetContent[];
  /** The iptables payload (nat first, then filter, as the IPVS proxier writes it). */
  readonly iptables: IptablesRuleset;
  /** `ipvsadm -Sn` style text. */
  readonly ipvsadmText: string;
  /** `ipset save` style text (create lines carry kube-proxy's defaults, no bucketsize/initval). */
  readonly ipsetSaveText: string;
}

export interface IpvsOptions extends ProxierEnvironment {
  /** --ipvs-scheduler; default rr. */
  scheduler?: string;
}

function setName(id: string, family: IPFamily): string {
  if (family === 'IPv4') return id;
  const name = id.replace(/^KUBE-/, 'KUBE-6-');
  return name.length > 31 ? name.slice(0, 31) : name;
}

class IpsetBuilder {
  private readonly entries = new Map<string, Set<string>>(IPSETS.map((s) => [s.id, new Set<string>()]));
  add(id: string, entry: string): void {
    this.entries.get(id)!.add(entry);
  }
  has(id: string): boolean {
    return this.entries.get(id)!.size > 0;
  }
  result(family: IPFamily): IpsetContent[] {
    return IPSETS.map((s) => ({
      name: setName(s.id, family),
      type: s.type,
      family: family === 'IPv4' ? 'inet' : 'inet6',
      comment: s.comment,
      entries: [...this.entries.get(s.id)!].sort(),
    }));
  }
}

/** The node's own addresses for NodePort virtual servers: non-loopback, of the family. */
function nodePortAddresses(cfg: EffectiveConfig, node: NodeView): string[] {
  const out: string[] = [];
  const candidates = cfg.nodePortMatchAll ? node.nodeIPs : cfg.nodePortIPs;
  for (const a of candidates) {
    const ip = parseIP(a);
    if (!ip || ip.family !== cfg.family) continue;
    const text = formatIP(ip);
    if (text.startsWith('127.') || text === '::1' || text.startsWith('fe80:')) continue;
    if (!out.includes(text)) out.push(text);
  }
  return out;
}

/** Render one node's IPVS-mode state from the shared model. */
export function renderIpvs(model: ServiceModel, node: NodeView, opts: IpvsOptions = {}): IpvsRuleset {
  const cfg = effectiveConfig(node, { ...opts, ipFamily: model.family });
  const family = cfg.family;
  const scheduler = opts.scheduler || DEFAULT_IPVS_SCHEDULER;
  const sets = new IpsetBuilder();
  const bound: string[] = [];
  const bind = (a: string) => {
    if (!bound.includes(a)) bound.push(a);
  };
  const nodeAddrs = new Set(node.nodeIPs.map((a) => (parseIP(a) ? formatIP(parseIP(a)!) : a)));
  const hasNodePort = model.keys().some((k) => model.get(k)!.ports.some((p) => p.info.nodePort !== 0));
  const npAddrs = hasNodePort ? nodePortAddresses(cfg, node) : [];
  const virtualServers: IpvsVirtualServer[] = [];
  const noNodeAccess: { ip: string; proto: string; port: number }[] = [];

  for (const key of model.keys()) {
    for (const port of model.get(key)!.ports) {
      const info = port.info;
      const proto = info.proto;
      const cat = categorizeEndpoints(port.endpoints, info, {
        nodeName: cfg.nodeName,
        zone: cfg.zone,
        preferSameTrafficDistribution: model.preferSameTrafficDistribution,
      });
      // syncEndpoint: Local policy uses local endpoints, falling back to cluster ones (PR 97081).
      const pick = (onlyLocal: boolean) => (onlyLocal && cat.local.length > 0 ? cat.local : cat.cluster);
      const vs = (address: string, p: number, kind: VirtualServerKind, onlyLocal: boolean): IpvsVirtualServer => ({
        address,
        port: p,
        protocol: info.protocol,
        scheduler,
        persistentTimeout: info.sessionAffinityClientIP ? info.stickyMaxAgeSeconds : undefined,
        sourceHash: scheduler === 'mh',
        kind,
        service: info,
        realServers: pick(onlyLocal).map((ep) => ({ address: ep.ip, port: ep.port, weight: 1, endpoint: ep })),
      });

      for (const ep of port.endpoints) {
        if (isLocalEndpoint(ep, cfg.nodeName)) sets.add('KUBE-LOOP-BACK', `${ep.ip},${proto}:${ep.port},${ep.ip}`);
      }

      sets.add('KUBE-CLUSTER-IP', `${info.clusterIP},${proto}:${info.port}`);
      virtualServers.push(vs(info.clusterIP, info.port, 'cluster-ip', info.internalPolicyLocal));
      bind(info.clusterIP);

      for (const ext of info.externalIPs) {
        sets.add(info.externalPolicyLocal ? 'KUBE-EXTERNAL-IP-LOCAL' : 'KUBE-EXTERNAL-IP', `${ext},${proto}:${info.port}`);
        virtualServers.push(vs(ext, info.port, 'external-ip', info.externalPolicyLocal));
        if (!nodeAddrs.has(ext)) bind(ext); // not bound when it is already a node address
      }

      for (const lb of info.loadBalancerVIPs) {
        const entry = `${lb},${proto}:${info.port}`;
        sets.add('KUBE-LOAD-BALANCER', entry);
        if (info.externalPolicyLocal) sets.add('KUBE-LOAD-BALANCER-LOCAL', entry);
        if (info.loadBalancerSourceRanges.length > 0) {
          sets.add('KUBE-LOAD-BALANCER-FW', entry);
          for (const cidr of info.loadBalancerSourceRanges) sets.add('KUBE-LOAD-BALANCER-SOURCE-CIDR', `${entry},${cidr}`);
          if (allowsNode(info, cfg.nodeIP)) sets.add('KUBE-LOAD-BALANCER-SOURCE-IP', `${entry},${lb}`);
          else noNodeAccess.push({ ip: lb, proto, port: info.port });
        }
        virtualServers.push(vs(lb, info.port, 'load-balancer', info.externalPolicyLocal));
        if (!nodeAddrs.has(lb)) bind(lb);
      }

      if (info.nodePort !== 0 && npAddrs.length > 0) {
        const local = info.externalPolicyLocal;
        if (proto === 'sctp') {
          for (const a of npAddrs) {
            sets.add('KUBE-NODE-PORT-SCTP-HASH', `${a},sctp:${info.nodePort}`);
            if (local) sets.add('KUBE-NODE-PORT-LOCAL-SCTP-HASH', `${a},sctp:${info.nodePort}`);
          }
        } else {
          const suffix = proto.toUpperCase();
          sets.add(`KUBE-NODE-PORT-${suffix}`, String(info.nodePort));
          if (local) sets.add(`KUBE-NODE-PORT-LOCAL-${suffix}`, String(info.nodePort));
        }
        for (const a of npAddrs) virtualServers.push(vs(a, info.nodePort, 'node-port', local));
      }

      if (info.healthCheckNodePort !== 0) sets.add('KUBE-HEALTH-CHECK-NODE-PORT', String(info.healthCheckNodePort));
    }
  }
  for (const a of bound) sets.add('KUBE-IPVS-IPS', a);

  const iptables = ipvsIptables(cfg, sets, noNodeAccess);
  const ipsets = sets.result(family);
  return {
    family,
    dummyAddresses: bound,
    virtualServers,
    ipsets,
    iptables,
    ipvsadmText: formatIpvsadm(virtualServers),
    ipsetSaveText: formatIpsetSave(ipsets),
  };
}

function ipvsIptables(
  cfg: EffectiveConfig,
  sets: IpsetBuilder,
  noNodeAccess: readonly { ip: string; proto: string; port: number }[],
): IptablesRuleset {
  const family = cfg.family;
  const n = (id: string) => setName(id, family);
  const comment = (id: string) => `"${IPSETS.find((s) => s.id === id)!.comment}"`;
  const m = cfg.masqueradeMark;
  const nat: RuleLine[] = [];
  const filter: RuleLine[] = [];
  const add = (table: 'nat' | 'filter', chain: string, line: string) =>
    (table === 'nat' ? nat : filter).push({ table, chain, line: `-A ${chain} ${line}` });

  add('nat', 'KUBE-SERVICES', `-s ${family === 'IPv6' ? '::1/128' : '127.0.0.0/8'} -j RETURN`);
  for (const [id, table, from, to, match, proto] of SET_RULES) {
    if (!sets.has(id)) continue;
    add(table, from, `${proto ? `-p ${proto} ` : ''}-m comment --comment ${comment(id)} -m set --match-set ${n(id)} ${match} -j ${to}`);
  }
  if (sets.has('KUBE-CLUSTER-IP')) {
    const head = `-m comment --comment ${comment('KUBE-CLUSTER-IP')} -m set --match-set ${n('KUBE-CLUSTER-IP')}`;
    if (cfg.masqueradeAll) add('nat', 'KUBE-SERVICES', `${head} dst,dst -j KUBE-MARK-MASQ`);
    else if (cfg.detector) add('nat', 'KUBE-SERVICES', `${head} dst,dst ${cfg.detector.ifNotLocal.join(' ')} -j KUBE-MARK-MASQ`);
    else add('nat', 'KUBE-SERVICES', `${head} src,dst -j KUBE-MARK-MASQ`); // VIP-sourced node traffic
  }
  const externalAccept = (head: string) => {
    add('nat', 'KUBE-SERVICES', `${head} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT`);
    add('nat', 'KUBE-SERVICES', `${head} -m addrtype --dst-type LOCAL -j ACCEPT`);
  };
  if (sets.has('KUBE-EXTERNAL-IP')) {
    const head = `-m comment --comment ${comment('KUBE-EXTERNAL-IP')} -m set --match-set ${n('KUBE-EXTERNAL-IP')} dst,dst`;
    add('nat', 'KUBE-SERVICES', `${head} -j KUBE-MARK-MASQ`);
    externalAccept(head);
  }
  if (sets.has('KUBE-EXTERNAL-IP-LOCAL')) {
    externalAccept(`-m comment --comment ${comment('KUBE-EXTERNAL-IP-LOCAL')} -m set --match-set ${n('KUBE-EXTERNAL-IP-LOCAL')} dst,dst`);
  }
  add('nat', 'KUBE-SERVICES', '-m addrtype --dst-type LOCAL -j KUBE-NODE-PORT');
  add('nat', 'KUBE-LOAD-BALANCER', '-j KUBE-MARK-MASQ');
  add('filter', 'KUBE-SOURCE-RANGES-FIREWALL', '-j DROP');
  for (const e of noNodeAccess) {
    add('filter', 'KUBE-IPVS-OUT-FILTER', `-s ${e.ip} -m ipvs --vaddr ${e.ip} --vproto ${e.proto} --vport ${e.port} -j DROP`);
  }
  for (const id of ['KUBE-CLUSTER-IP', 'KUBE-LOAD-BALANCER']) {
    if (sets.has(id)) add('nat', 'KUBE-SERVICES', `-m set --match-set ${n(id)} dst,dst -j ACCEPT`);
  }
  add('filter', 'KUBE-FORWARD', `-m comment --comment "kubernetes forwarding rules" -m mark --mark ${m}/${m} -j ACCEPT`);
  add('filter', 'KUBE-FORWARD', '-m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
  add(
    'filter',
    'KUBE-NODE-PORT',
    `-m comment --comment ${comment('KUBE-HEALTH-CHECK-NODE-PORT')} -m set --match-set ${n('KUBE-HEALTH-CHECK-NODE-PORT')} dst -j ACCEPT`,
  );
  for (const id of ['KUBE-LOAD-BALANCER', 'KUBE-CLUSTER-IP', 'KUBE-EXTERNAL-IP', 'KUBE-EXTERNAL-IP-LOCAL']) {
    add('filter', 'KUBE-IPVS-FILTER', `-m set --match-set ${n(id)} dst,dst -j RETURN`);
  }
  add('filter', 'KUBE-IPVS-FILTER', `-m set --match-set ${n('KUBE-HEALTH-CHECK-NODE-PORT')} dst -j RETURN`);
  add('filter', 'KUBE-IPVS-FILTER', `-m conntrack --ctstate NEW -m set --match-set ${n('KUBE-IPVS-IPS')} dst -j REJECT`);
  add('nat', 'KUBE-POSTROUTING', `-m mark ! --mark ${m}/${m} -j RETURN`);
  add('nat', 'KUBE-POSTROUTING', `-j MARK --xor-mark ${m}`);
  add(
    'nat',
    'KUBE-POSTROUTING',
    `-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${cfg.randomFully ? ' --random-fully' : ''}`,
  );
  add('nat', 'KUBE-MARK-MASQ', `-j MARK --or-mark ${m}`);

  const lines = ['*nat', ...NAT_CHAINS.map((c) => `:${c} - [0:0]`), ...nat.map((r) => r.line), 'COMMIT'];
  lines.push('*filter', ...FILTER_CHAINS.map((c) => `:${c} - [0:0]`), ...filter.map((r) => r.line), 'COMMIT', '');
  const table = (t: 'nat' | 'filter', chains: string[], rules: RuleLine[]): TableContent => ({
    chains,
    rules,
    info: new Map(chains.map((c) => [c, { table: t, name: c, kind: IPVS_CHAIN_KINDS[c]! }])),
  });
  return {
    family,
    text: lines.join('\n'),
    nat: table('nat', NAT_CHAINS, nat),
    filter: table('filter', FILTER_CHAINS, filter),
  };
}

function protoFlag(p: Protocol): string {
  return p === 'TCP' ? '-t' : p === 'UDP' ? '-u' : '--sctp-service';
}

/** `ipvsadm -Sn`: one -A line per virtual server, then its -a lines (masquerading, weight 1). */
export function formatIpvsadm(servers: readonly IpvsVirtualServer[]): string {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const vs of servers) {
    const addr = joinHostPort(vs.address, vs.port);
    const id = `${vs.protocol}/${addr}`;
    if (seen.has(id)) continue; // two Services cannot own one virtual server; the first wins
    seen.add(id);
    let line = `-A ${protoFlag(vs.protocol)} ${addr} -s ${vs.scheduler}`;
    // ipvsadm's print_service_entry: persistence, then the scheduler flags.
    if (vs.persistentTimeout !== undefined) line += ` -p ${vs.persistentTimeout}`;
    if (vs.sourceHash) line += ' -b mh-port';
    out.push(line);
    for (const rs of vs.realServers) {
      out.push(`-a ${protoFlag(vs.protocol)} ${addr} -r ${joinHostPort(rs.address, rs.port)} -m -w ${rs.weight}`);
    }
  }
  return out.length ? out.join('\n') + '\n' : '';
}

/** `ipset save`: create lines with kube-proxy's defaults (hashsize 1024, maxelem 65536, range 0-65535). */
export function formatIpsetSave(sets: readonly IpsetContent[]): string {
  const out: string[] = [];
  for (const s of sets) {
    out.push(
      s.type === 'bitmap:port'
        ? `create ${s.name} ${s.type} range 0-65535`
        : `create ${s.name} ${s.type} family ${s.family} hashsize 1024 maxelem 65536`,
    );
    for (const e of s.entries) out.push(`add ${s.name} ${e}`);
  }
  return out.join('\n') + '\n';
}

/** Jumps from built-in chains IPVS mode ensures (EnsureRule Prepend, upstream order; last on top). */
export function ipvsJumpRules(): JumpRule[] {
  const j = (table: 'nat' | 'filter', chain: string, comment: string, target: string): JumpRule => ({
    table,
    chain,
    line: `-A ${chain} -m comment --comment "${comment}" -j ${target}`,
  });
  return [
    j('nat', 'OUTPUT', 'kubernetes service portals', 'KUBE-SERVICES'),
    j('nat', 'PREROUTING', 'kubernetes service portals', 'KUBE-SERVICES'),
    j('nat', 'POSTROUTING', 'kubernetes postrouting rules', 'KUBE-POSTROUTING'),
    j('filter', 'INPUT', 'kubernetes ipvs access filter', 'KUBE-IPVS-FILTER'),
    j('filter', 'INPUT', 'kube-proxy firewall rules', 'KUBE-PROXY-FIREWALL'),
    j('filter', 'INPUT', 'kubernetes health check rules', 'KUBE-NODE-PORT'),
    j('filter', 'FORWARD', 'kube-proxy firewall rules', 'KUBE-PROXY-FIREWALL'),
    j('filter', 'FORWARD', 'kubernetes forwarding rules', 'KUBE-FORWARD'),
    j('filter', 'OUTPUT', 'kubernetes ipvs access filter', 'KUBE-IPVS-OUT-FILTER'),
  ];
}
