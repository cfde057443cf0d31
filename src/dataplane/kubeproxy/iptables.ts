// kube-proxy's iptables mode: the `iptables-restore` payload of syncProxyRules, full and partial.
// Services are written in namespace/name order (upstream: Go map order, which its tests sort away).
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { EXT_PREFIX, FW_PREFIX, SEP_PREFIX, SVC_PREFIX } from './chainnames.js';
import type { IPFamily } from './ip.js';
import type { ChainInfo, ChainKind, IptablesRuleset, JumpRule, RuleLine, Table, TableContent } from './iptables-types.js';
import {
  KUBE_EXTERNAL_SERVICES,
  KUBE_FIREWALL,
  KUBE_FORWARD,
  KUBE_MARK_MASQ,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_CANARY,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
  NFACCT_CT_INVALID,
  contextKey,
  renderServicePort,
  chunkText,
  type ServiceChunk,
  type ServiceRenderContext,
} from './iptables-service.js';
import { ServiceModel, allowsNode, nodeFacts, type PortEntry } from './model.js';
import { effectiveConfig, type EffectiveConfig, type NodeView, type ProxierEnvironment } from './nodeview.js';
import { categorizeEndpoints } from './topology.js';

/** More endpoints than this in total: comments are dropped from SVC/SVL/SEP rules. */
export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

export interface IptablesSyncOptions {
  /** Force a full sync (kube-proxy does one at start, after a failed restore, on topology changes). */
  full?: boolean;
  /**
   * Services (`namespace/name`) to rewrite on a partial sync. Default: those whose ports or
   * endpoints changed in the model since this proxier last wrote them.
   */
  changed?: Iterable<string>;
  /** Virtual time in seconds; in large-cluster mode stale chains are deleted once per syncPeriod. */
  now?: number;
}

export interface IptablesSyncResult {
  readonly full: boolean;
  /** Exactly what this sync hands to `iptables-restore --noflush --counters`. */
  readonly payload: IptablesRuleset;
  /** Services whose per-service chains were (re)written. */
  readonly writtenServices: readonly string[];
  /** Stale chains flushed and removed with `-X`. */
  readonly deletedChains: readonly string[];
  /** The sync_proxy_rules_iptables_total metric: nat rules including skipped services, filter rules. */
  readonly natRulesTotal: number;
  readonly filterRulesTotal: number;
}

/** The chains that exist without being in the restore payload. */
export interface EnsuredChain {
  readonly table: Table | 'mangle';
  readonly chain: string;
}

interface Part {
  readonly top: ServiceChunk;
  /** The chunk whose per-service chains are emitted; undefined when a partial sync skips them. */
  readonly chains: ServiceChunk | undefined;
}

const NODEPORTS_COMMENT = '"kubernetes service nodeports; NOTE: this must be the last rule in this chain"';

const TOP_CHAINS: Record<string, ChainKind> = {
  [KUBE_SERVICES]: 'services',
  [KUBE_EXTERNAL_SERVICES]: 'external-services',
  [KUBE_FORWARD]: 'forward',
  [KUBE_NODEPORTS]: 'nodeports',
  [KUBE_PROXY_FIREWALL]: 'proxy-firewall',
  [KUBE_FIREWALL]: 'firewall',
  [KUBE_POSTROUTING]: 'postrouting',
  [KUBE_MARK_MASQ]: 'mark-masq',
};

function kindOfServiceChain(name: string): ChainKind {
  if (name.startsWith(SVC_PREFIX)) return 'service-cluster';
  if (name.startsWith(SEP_PREFIX)) return 'endpoint';
  if (name.startsWith(EXT_PREFIX)) return 'service-external';
  if (name.startsWith(FW_PREFIX)) return 'service-firewall';
  return 'service-local';
}

function chainLine(name: string): string {
  return `:${name} - [0:0]`;
}

export function renderContext(cfg: EffectiveConfig, totalEndpoints: number): ServiceRenderContext {
  return {
    masqueradeAll: cfg.masqueradeAll,
    detector: cfg.detector,
    localhostNodePortRule: cfg.localhostNodePorts && cfg.family === 'IPv4' && cfg.nfacct,
    largeClusterMode: totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD,
  };
}

/** The rendered chunk of one service port for a node, shared by every node with the same facts. */
export function chunkFor(port: PortEntry, cfg: EffectiveConfig, ctx: ServiceRenderContext, ctxKey: string, gate: boolean): ServiceChunk {
  const facts = nodeFacts(port, cfg.nodeName, cfg.zone, cfg.nodeIP);
  const key = `iptables|${ctxKey}|${facts}`;
  let chunk = port.chunks.get(key) as ServiceChunk | undefined;
  if (!chunk) {
    const cat = categorizeEndpoints(port.endpoints, port.info, {
      nodeName: cfg.nodeName,
      zone: cfg.zone,
      preferSameTrafficDistribution: gate,
    });
    chunk = renderServicePort(port.info, cat, allowsNode(port.info, cfg.nodeIP), ctx);
    port.chunks.set(key, chunk);
  }
  return chunk;
}

function fixedRules(cfg: EffectiveConfig) {
  const m = cfg.masqueradeMark;
  const nat = (chain: string, line: string): RuleLine => ({ table: 'nat', chain, line });
  const filter = (chain: string, line: string): RuleLine => ({ table: 'filter', chain, line });
  const postrouting = [
    nat(KUBE_POSTROUTING, `-A ${KUBE_POSTROUTING} -m mark ! --mark ${m}/${m} -j RETURN`),
    nat(KUBE_POSTROUTING, `-A ${KUBE_POSTROUTING} -j MARK --xor-mark ${m}`),
    nat(
      KUBE_POSTROUTING,
      `-A ${KUBE_POSTROUTING} -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${cfg.randomFully ? ' --random-fully' : ''}`,
    ),
  ];
  const markMasq = [nat(KUBE_MARK_MASQ, `-A ${KUBE_MARK_MASQ} -j MARK --or-mark ${m}`)];
  // kube-proxy still writes its copy of kubelet's anti-martian KUBE-FIREWALL rule, but only when
  // IPv4 localhost NodePorts are on (route_localnet=1 opens the hole this rule closes).
  const firewall =
    cfg.family === 'IPv4' && cfg.localhostNodePorts
      ? [
          filter(
            KUBE_FIREWALL,
            `-A ${KUBE_FIREWALL} -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
          ),
        ]
      : [];
  const forward: RuleLine[] = [];
  if (!cfg.conntrackTCPBeLiberal) {
    const acct = cfg.nfacct ? ` -m nfacct --nfacct-name ${NFACCT_CT_INVALID}` : '';
    forward.push(filter(KUBE_FORWARD, `-A ${KUBE_FORWARD} -m conntrack --ctstate INVALID${acct} -j DROP`));
  }
  forward.push(
    filter(KUBE_FORWARD, `-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding rules" -m mark --mark ${m}/${m} -j ACCEPT`),
    filter(
      KUBE_FORWARD,
      `-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    ),
  );
  // The tail call to KUBE-NODEPORTS: must stay the last rule of nat KUBE-SERVICES.
  const nodePorts: RuleLine[] = [];
  if (cfg.nodePortMatchAll) {
    let dest = '-m addrtype --dst-type LOCAL';
    if (cfg.family === 'IPv6') dest += ' ! -d ::1/128';
    else if (!cfg.localhostNodePorts) dest += ' ! -d 127.0.0.0/8';
    nodePorts.push(nat(KUBE_SERVICES, `-A ${KUBE_SERVICES} -m comment --comment ${NODEPORTS_COMMENT} ${dest} -j ${KUBE_NODEPORTS}`));
  } else {
    for (const ip of cfg.nodePortIPs) {
      nodePorts.push(nat(KUBE_SERVICES, `-A ${KUBE_SERVICES} -m comment --comment ${NODEPORTS_COMMENT} -d ${ip} -j ${KUBE_NODEPORTS}`));
    }
  }
  return { postrouting, markMasq, firewall, forward, nodePorts };
}

/** A ruleset whose text is built from cached per-chunk text; the structured view is built on demand. */
class Ruleset implements IptablesRuleset {
  readonly family: IPFamily;
  private textCache: string | undefined;
  private tables: { filter: TableContent; nat: TableContent } | undefined;

  constructor(
    private readonly cfg: EffectiveConfig,
    private readonly parts: readonly Part[],
    private readonly stale: readonly string[],
  ) {
    this.family = cfg.family;
  }

  get text(): string {
    return (this.textCache ??= this.buildText());
  }

  private buildText(): string {
    const { cfg, parts, stale } = this;
    const fixed = fixedRules(cfg);
    const out: string[] = ['*filter\n'];
    for (const c of FILTER_CHAINS) out.push(chainLine(c), '\n');
    if (fixed.firewall.length > 0) out.push(chainLine(KUBE_FIREWALL), '\n');
    for (const r of fixed.firewall) out.push(r.line, '\n');
    for (const p of parts) out.push(chunkText(p.top).filter);
    for (const r of fixed.forward) out.push(r.line, '\n');
    out.push('COMMIT\n*nat\n');
    for (const c of NAT_CHAINS) out.push(chainLine(c), '\n');
    for (const p of parts) if (p.chains) out.push(chunkText(p.chains).natChainDecls);
    for (const c of stale) out.push(chainLine(c), '\n');
    for (const r of fixed.postrouting) out.push(r.line, '\n');
    for (const r of fixed.markMasq) out.push(r.line, '\n');
    for (const p of parts) {
      out.push(chunkText(p.top).natTop);
      if (p.chains) out.push(chunkText(p.chains).natRules);
    }
    for (const c of stale) out.push(`-X ${c}\n`);
    for (const r of fixed.nodePorts) out.push(r.line, '\n');
    out.push('COMMIT\n');
    return out.join('');
  }

  get filter(): TableContent {
    return (this.tables ??= this.build()).filter;
  }

  get nat(): TableContent {
    return (this.tables ??= this.build()).nat;
  }

  private build(): { filter: TableContent; nat: TableContent } {
    const fixed = fixedRules(this.cfg);
    const filterInfo = new Map<string, ChainInfo>();
    const natInfo = new Map<string, ChainInfo>();
    const top = (table: Table, name: string) => {
      (table === 'nat' ? natInfo : filterInfo).set(name, { table, name, kind: TOP_CHAINS[name]! });
      return name;
    };
    const filterChains = FILTER_CHAINS.map((c) => top('filter', c));
    if (fixed.firewall.length > 0) filterChains.push(top('filter', KUBE_FIREWALL));
    const filterRules: RuleLine[] = [...fixed.firewall];
    for (const p of this.parts) for (const r of p.top.filter) filterRules.push(r);
    filterRules.push(...fixed.forward);

    const natChains = NAT_CHAINS.map((c) => top('nat', c));
    const natRules: RuleLine[] = [...fixed.postrouting, ...fixed.markMasq];
    for (const p of this.parts) if (p.chains) for (const c of p.chains.natChains) natChains.push(c.name), natInfo.set(c.name, c);
    for (const p of this.parts) {
      for (const r of p.top.natTop) natRules.push(r);
      if (p.chains) for (const r of p.chains.natRules) natRules.push(r);
    }
    for (const name of this.stale) {
      natChains.push(name);
      natInfo.set(name, { table: 'nat', name, kind: kindOfServiceChain(name) });
      natRules.push({ table: 'nat', chain: name, line: `-X ${name}` });
    }
    natRules.push(...fixed.nodePorts);
    return {
      filter: { chains: filterChains, rules: filterRules, info: filterInfo },
      nat: { chains: natChains, rules: natRules, info: natInfo },
    };
  }
}

const FILTER_CHAINS = [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL];
const NAT_CHAINS = [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ];

/**
 * One node's kube-proxy in iptables mode. Keeps what it last wrote for every service port, so a
 * partial sync writes only changed Services' chains and deletes stale ones, as upstream does.
 * Upstream finds stale chains by listing the kernel's nat table; here they are the chains of
 * previously written chunks that the newly written chunks no longer have.
 */
export class IptablesProxier {
  readonly model: ServiceModel;
  readonly node: NodeView;
  readonly config: EffectiveConfig;
  /** Per service: the model version last written. */
  private readonly writtenVersion = new Map<string, number>();
  /** Per service port key: the chunk whose chains are in the kernel. */
  private readonly kernel = new Map<string, ServiceChunk>();
  /** Chains no longer used and not yet deleted. */
  private readonly pendingStale = new Set<string>();
  private needFullSync = true;
  private lastCleanup = Number.NEGATIVE_INFINITY;
  private lastParts: Part[] = [];
  private currentCache: IptablesRuleset | undefined;

  constructor(model: ServiceModel, node: NodeView, env: ProxierEnvironment = {}) {
    this.model = model;
    this.node = node;
    this.config = effectiveConfig(node, { ...env, ipFamily: model.family });
  }

  /** Run syncProxyRules once. The first sync is always full. */
  sync(opts: IptablesSyncOptions = {}): IptablesSyncResult {
    const cfg = this.config;
    const model = this.model;
    const full = this.needFullSync || opts.full === true;
    const ctx = renderContext(cfg, model.totalEndpoints);
    const ctxKey = contextKey(ctx);
    const explicit = opts.changed ? new Set(opts.changed) : undefined;

    const parts: Part[] = [];
    const currentParts: Part[] = [];
    const writtenServices: string[] = [];
    const livePorts = new Set<string>();
    let natRulesTotal = 4; // KUBE-POSTROUTING (3) + KUBE-MARK-MASQ (1); the tail rules are added below
    for (const key of model.keys()) {
      const entry = model.get(key)!;
      const write = full || (explicit ? explicit.has(key) : this.writtenVersion.get(key) !== entry.version);
      for (const port of entry.ports) {
        const portKey = port.info.key;
        livePorts.add(portKey);
        const chunk = chunkFor(port, cfg, ctx, ctxKey, model.preferSameTrafficDistribution);
        natRulesTotal += chunk.natTop.length + chunk.natRules.length;
        if (write) {
          this.replaceKernelChunk(portKey, chunk);
          parts.push({ top: chunk, chains: chunk });
          currentParts.push({ top: chunk, chains: chunk });
        } else {
          parts.push({ top: chunk, chains: undefined });
          currentParts.push({ top: chunk, chains: this.kernel.get(portKey) });
        }
      }
      if (write) {
        this.writtenVersion.set(key, entry.version);
        writtenServices.push(key);
      }
    }
    for (const [portKey, chunk] of this.kernel) {
      if (livePorts.has(portKey)) continue;
      for (const c of chunk.natChains) this.pendingStale.add(c.name);
      this.kernel.delete(portKey);
    }
    for (const key of [...this.writtenVersion.keys()]) if (!model.has(key)) this.writtenVersion.delete(key);

    let deleted: string[] = [];
    const cleanup = !ctx.largeClusterMode || opts.now === undefined || opts.now - this.lastCleanup > cfg.syncPeriodSeconds;
    if (cleanup) {
      deleted = [...this.pendingStale].sort();
      this.pendingStale.clear();
      if (opts.now !== undefined) this.lastCleanup = opts.now;
    }

    const payload = new Ruleset(cfg, parts, deleted);
    natRulesTotal += cfg.nodePortMatchAll ? 1 : cfg.nodePortIPs.length;
    this.lastParts = currentParts;
    this.currentCache = undefined;
    this.needFullSync = false;
    let filterRulesTotal = cfg.family === 'IPv4' && cfg.localhostNodePorts ? 1 : 0;
    filterRulesTotal += cfg.conntrackTCPBeLiberal ? 2 : 3;
    for (const p of parts) filterRulesTotal += p.top.filter.length;
    return { full, payload, writtenServices, deletedChains: deleted, natRulesTotal, filterRulesTotal };
  }

  private replaceKernelChunk(portKey: string, chunk: ServiceChunk): void {
    const old = this.kernel.get(portKey);
    if (old && old !== chunk) {
      const now = new Set(chunk.natChains.map((c) => c.name));
      for (const c of old.natChains) if (!now.has(c.name)) this.pendingStale.add(c.name);
    }
    if (this.pendingStale.size > 0) for (const c of chunk.natChains) this.pendingStale.delete(c.name);
    this.kernel.set(portKey, chunk);
  }

  /**
   * The whole ruleset as it now stands in the kernel, written as a full sync would write it
   * (top-level chains from the last sync, each Service's chains as last written).
   */
  current(): IptablesRuleset {
    if (!this.currentCache) this.currentCache = new Ruleset(this.config, this.lastParts, []);
    return this.currentCache;
  }

  /** Stale service chains still in the kernel (only while large-cluster cleanup is deferred). */
  staleChains(): string[] {
    return [...this.pendingStale].sort();
  }

  /** Key such that two nodes with equal keys get byte-identical rules (see iptablesNodeViewKey). */
  nodeViewKey(): string {
    return nodeViewKeyFor(this.model, this.config);
  }
}

function nodeViewKeyFor(model: ServiceModel, cfg: EffectiveConfig): string {
  const ctx = renderContext(cfg, model.totalEndpoints);
  const parts: string[] = [
    'iptables',
    cfg.family,
    contextKey(ctx),
    cfg.masqueradeMark,
    `${+cfg.localhostNodePorts}${+cfg.randomFully}${+cfg.nfacct}${+cfg.conntrackTCPBeLiberal}`,
    cfg.nodePortMatchAll ? '*' : cfg.nodePortIPs.join(','),
  ];
  for (const port of model.nodeDependentPorts()) {
    const facts = nodeFacts(port, cfg.nodeName, cfg.zone, cfg.nodeIP);
    if (facts !== '') parts.push(`${port.info.key}=${facts}`);
  }
  return parts.join('\n');
}

/**
 * Nodes with the same key (same zone where hints matter, same local endpoints where a Local policy
 * applies, same firewall self-allowance, same configuration) get identical iptables rules; callers
 * can render once per key.
 */
export function iptablesNodeViewKey(model: ServiceModel, node: NodeView, env: ProxierEnvironment = {}): string {
  return nodeViewKeyFor(model, effectiveConfig(node, { ...env, ipFamily: model.family }));
}

/** The pure entry point: the full-sync restore payload of one node, one IP family. */
export function renderIptables(
  services: readonly Service[],
  slices: readonly EndpointSlice[],
  node: NodeView,
  env: ProxierEnvironment = {},
): IptablesRuleset {
  const model = new ServiceModel(env.ipFamily ?? 'IPv4', {
    preferSameTrafficDistribution: env.preferSameTrafficDistribution,
  });
  model.update(services, slices);
  return new IptablesProxier(model, node, env).sync({ full: true }).payload;
}

/**
 * Jumps from the built-in chains, as `iptables-save` lists them on a node where kubelet created its
 * KUBE-FIREWALL jump first and kube-proxy then prepended its own (EnsureRule Prepend, in upstream's
 * iptablesJumpChains order, so the last one ensured ends up on top).
 */
export function iptablesJumpRules(): JumpRule[] {
  const NEW = '-m conntrack --ctstate NEW ';
  const j = (table: Table, chain: string, extra: string, comment: string, target: string): JumpRule => ({
    table,
    chain,
    line: `-A ${chain} ${extra}${comment ? `-m comment --comment "${comment}" ` : ''}-j ${target}`,
  });
  return [
    j('filter', 'INPUT', NEW, 'kubernetes load balancer firewall', KUBE_PROXY_FIREWALL),
    j('filter', 'INPUT', '', 'kubernetes health check service ports', KUBE_NODEPORTS),
    j('filter', 'INPUT', NEW, 'kubernetes externally-visible service portals', KUBE_EXTERNAL_SERVICES),
    j('filter', 'INPUT', '', '', KUBE_FIREWALL),
    j('filter', 'FORWARD', NEW, 'kubernetes load balancer firewall', KUBE_PROXY_FIREWALL),
    j('filter', 'FORWARD', '', 'kubernetes forwarding rules', KUBE_FORWARD),
    j('filter', 'FORWARD', NEW, 'kubernetes service portals', KUBE_SERVICES),
    j('filter', 'FORWARD', NEW, 'kubernetes externally-visible service portals', KUBE_EXTERNAL_SERVICES),
    j('filter', 'OUTPUT', NEW, 'kubernetes load balancer firewall', KUBE_PROXY_FIREWALL),
    j('filter', 'OUTPUT', NEW, 'kubernetes service portals', KUBE_SERVICES),
    j('filter', 'OUTPUT', '', '', KUBE_FIREWALL),
    j('nat', 'PREROUTING', '', 'kubernetes service portals', KUBE_SERVICES),
    j('nat', 'OUTPUT', '', 'kubernetes service portals', KUBE_SERVICES),
    j('nat', 'POSTROUTING', '', 'kubernetes postrouting rules', KUBE_POSTROUTING),
  ];
}

/**
 * Chains that exist outside the restore payload: those EnsureChain creates for the jumps above
 * (KUBE-FIREWALL stays empty unless localhost NodePorts fill it), and the empty KUBE-PROXY-CANARY
 * chains the iptables monitor creates in mangle, nat and filter to detect a flush.
 */
export function iptablesEnsuredChains(): EnsuredChain[] {
  return [
    { table: 'filter', chain: KUBE_EXTERNAL_SERVICES },
    { table: 'filter', chain: KUBE_NODEPORTS },
    { table: 'filter', chain: KUBE_SERVICES },
    { table: 'filter', chain: KUBE_FORWARD },
    { table: 'filter', chain: KUBE_PROXY_FIREWALL },
    { table: 'filter', chain: KUBE_FIREWALL },
    { table: 'nat', chain: KUBE_SERVICES },
    { table: 'nat', chain: KUBE_POSTROUTING },
    { table: 'mangle', chain: KUBE_PROXY_CANARY },
    { table: 'nat', chain: KUBE_PROXY_CANARY },
    { table: 'filter', chain: KUBE_PROXY_CANARY },
  ];
}
