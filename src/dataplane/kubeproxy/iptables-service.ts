// The rules kube-proxy's iptables proxier writes for one service port (the body of the
// `for svcName, svc := range proxier.svcPortMap` loop in pkg/proxy/iptables/proxier.go), split into
// the part rewritten on every sync (filter rules, nat KUBE-SERVICES / KUBE-NODEPORTS rules) and the
// per-service chains a partial sync skips when the service did not change.
import { endpointChainName } from './chainnames.js';
import type { EndpointInfo } from './endpoints.js';
import type { ChainInfo, RuleLine } from './iptables-types.js';
import type { LocalDetector } from './nodeview.js';
import { probability } from './probability.js';
import { externallyAccessible, usesClusterEndpoints, usesLocalEndpoints, type ServicePortInfo } from './serviceport.js';
import type { CategorizedEndpoints } from './topology.js';

export const KUBE_SERVICES = 'KUBE-SERVICES';
export const KUBE_EXTERNAL_SERVICES = 'KUBE-EXTERNAL-SERVICES';
export const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
export const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
export const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';
export const KUBE_FORWARD = 'KUBE-FORWARD';
export const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';
export const KUBE_FIREWALL = 'KUBE-FIREWALL';
export const KUBE_PROXY_CANARY = 'KUBE-PROXY-CANARY';

export const NFACCT_LOCALHOST_NODEPORTS = 'localhost_nps_accepted_pkts';
export const NFACCT_CT_INVALID = 'ct_state_invalid_dropped_pkts';

/** Settings that are the same for every service of one ruleset. */
export interface ServiceRenderContext {
  readonly masqueradeAll: boolean;
  readonly detector: LocalDetector | undefined;
  /** localhostNodePorts && IPv4 && the nfacct counter exists: write the 127.0.0.0/8 NodePort rule. */
  readonly localhostNodePortRule: boolean;
  /** More than 1000 endpoints: SVC/SVL/SEP rules lose their comments. */
  readonly largeClusterMode: boolean;
}

export function contextKey(c: ServiceRenderContext): string {
  const d = c.detector ? c.detector.ifNotLocal.join(' ') : '-';
  return `${c.masqueradeAll ? 1 : 0}${c.localhostNodePortRule ? 1 : 0}${c.largeClusterMode ? 1 : 0}${d}`;
}

/** Everything one service port contributes to a ruleset. */
export interface ServiceChunk {
  readonly info: ServicePortInfo;
  /** nat KUBE-SERVICES and KUBE-NODEPORTS rules, rewritten on every sync. */
  readonly natTop: readonly RuleLine[];
  /** filter rules (REJECT/DROP, firewall, health check), rewritten on every sync. */
  readonly filter: readonly RuleLine[];
  /** KUBE-EXT/FW/SVC/SVL/SEP chains in declaration order. */
  readonly natChains: readonly ChainInfo[];
  /** Rules of those chains, in write order. */
  readonly natRules: readonly RuleLine[];
}

function quote(s: string): string {
  return `"${s}"`;
}

export function renderServicePort(
  info: ServicePortInfo,
  cat: CategorizedEndpoints,
  allowFromNode: boolean,
  ctx: ServiceRenderContext,
): ServiceChunk {
  const { proto, spn } = info;
  const pp = `-m ${proto} -p ${proto}`;
  const natTop: RuleLine[] = [];
  const filter: RuleLine[] = [];
  const natChains: ChainInfo[] = [];
  const natRules: RuleLine[] = [];
  const service = info;
  const top = (chain: string, line: string) => natTop.push({ table: 'nat', chain, line, service });
  const filt = (chain: string, line: string) => filter.push({ table: 'filter', chain, line, service });
  const nat = (chain: string, line: string, endpoint?: EndpointInfo) =>
    natRules.push(endpoint ? { table: 'nat', chain, line, service, endpoint } : { table: 'nat', chain, line, service });

  const { svc: clusterPolicyChain, svl: localPolicyChain, ext: externalTrafficChain, fw: fwChain } = info.chains;
  const hasEndpoints = cat.hasAny;
  const usesClusterPolicyChain = cat.cluster.length > 0 && usesClusterEndpoints(info);
  const usesLocalPolicyChain = cat.local.length > 0 && usesLocalEndpoints(info);

  let internalTrafficChain = clusterPolicyChain;
  let hasInternalEndpoints = hasEndpoints;
  if (info.internalPolicyLocal) {
    internalTrafficChain = localPolicyChain;
    if (cat.local.length === 0) hasInternalEndpoints = false;
  }
  let externalPolicyChain = clusterPolicyChain;
  let hasExternalEndpoints = hasEndpoints;
  if (info.externalPolicyLocal) {
    externalPolicyChain = localPolicyChain;
    if (cat.local.length === 0) hasExternalEndpoints = false;
  }
  // Based on hasEndpoints, not hasExternalEndpoints: the short-circuit rules must exist.
  const usesExternalTrafficChain = hasEndpoints && externallyAccessible(info);
  const usesFWChain =
    hasEndpoints && info.loadBalancerVIPs.length > 0 && info.loadBalancerSourceRanges.length > 0;
  const loadBalancerTrafficChain = usesFWChain ? fwChain : externalTrafficChain;

  let internalFilterTarget = '';
  let internalFilterComment = '';
  let externalFilterTarget = '';
  let externalFilterComment = '';
  if (!hasEndpoints) {
    internalFilterTarget = externalFilterTarget = 'REJECT';
    internalFilterComment = externalFilterComment = quote(`${spn} has no endpoints`);
  } else {
    if (!hasInternalEndpoints) {
      internalFilterTarget = 'DROP';
      internalFilterComment = quote(`${spn} has no local endpoints`);
    }
    if (!hasExternalEndpoints) {
      externalFilterTarget = 'DROP';
      externalFilterComment = quote(`${spn} has no local endpoints`);
    }
  }

  const dport = `--dport ${info.port}`;

  // ClusterIP.
  if (hasInternalEndpoints) {
    top(
      KUBE_SERVICES,
      `-A ${KUBE_SERVICES} -m comment --comment ${quote(`${spn} cluster IP`)} ${pp} -d ${info.clusterIP} ${dport} -j ${internalTrafficChain}`,
    );
  } else {
    filt(
      KUBE_SERVICES,
      `-A ${KUBE_SERVICES} -m comment --comment ${internalFilterComment} ${pp} -d ${info.clusterIP} ${dport} -j ${internalFilterTarget}`,
    );
  }

  // externalIPs.
  for (const extIP of info.externalIPs) {
    if (hasEndpoints) {
      top(
        KUBE_SERVICES,
        `-A ${KUBE_SERVICES} -m comment --comment ${quote(`${spn} external IP`)} ${pp} -d ${extIP} ${dport} -j ${externalTrafficChain}`,
      );
    }
    if (!hasExternalEndpoints) {
      filt(
        KUBE_EXTERNAL_SERVICES,
        `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalFilterComment} ${pp} -d ${extIP} ${dport} -j ${externalFilterTarget}`,
      );
    }
  }

  // LoadBalancer ingress (VIP mode).
  for (const lbip of info.loadBalancerVIPs) {
    if (hasEndpoints) {
      top(
        KUBE_SERVICES,
        `-A ${KUBE_SERVICES} -m comment --comment ${quote(`${spn} loadbalancer IP`)} ${pp} -d ${lbip} ${dport} -j ${loadBalancerTrafficChain}`,
      );
    }
    if (usesFWChain) {
      filt(
        KUBE_PROXY_FIREWALL,
        `-A ${KUBE_PROXY_FIREWALL} -m comment --comment ${quote(`${spn} traffic not accepted by ${fwChain}`)} ${pp} -d ${lbip} ${dport} -j DROP`,
      );
    }
  }
  if (!hasExternalEndpoints) {
    for (const lbip of info.loadBalancerVIPs) {
      filt(
        KUBE_EXTERNAL_SERVICES,
        `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalFilterComment} ${pp} -d ${lbip} ${dport} -j ${externalFilterTarget}`,
      );
    }
  }

  // NodePort. Not subject to loadBalancerSourceRanges.
  if (info.nodePort !== 0) {
    if (hasEndpoints) {
      if (ctx.localhostNodePortRule) {
        top(
          KUBE_NODEPORTS,
          `-A ${KUBE_NODEPORTS} -m comment --comment ${spn} ${pp} -d 127.0.0.0/8 --dport ${info.nodePort} -m nfacct --nfacct-name ${NFACCT_LOCALHOST_NODEPORTS} -j ${externalTrafficChain}`,
        );
      }
      top(KUBE_NODEPORTS, `-A ${KUBE_NODEPORTS} -m comment --comment ${spn} ${pp} --dport ${info.nodePort} -j ${externalTrafficChain}`);
    }
    if (!hasExternalEndpoints) {
      filt(
        KUBE_EXTERNAL_SERVICES,
        `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalFilterComment} -m addrtype --dst-type LOCAL ${pp} --dport ${info.nodePort} -j ${externalFilterTarget}`,
      );
    }
  }

  // Health check node port: accepted whether or not there are local endpoints.
  if (info.healthCheckNodePort !== 0) {
    filt(
      KUBE_NODEPORTS,
      `-A ${KUBE_NODEPORTS} -m comment --comment ${quote(`${spn} health check node port`)} -m tcp -p tcp --dport ${info.healthCheckNodePort} -j ACCEPT`,
    );
  }

  // Internal traffic: masquerade rule, the first rule of the internal traffic chain.
  if (hasInternalEndpoints) {
    const args = `-m comment --comment ${quote(`${spn} cluster IP`)} ${pp} -d ${info.clusterIP} ${dport}`;
    if (ctx.masqueradeAll) {
      nat(internalTrafficChain, `-A ${internalTrafficChain} ${args} -j ${KUBE_MARK_MASQ}`);
    } else if (ctx.detector) {
      nat(internalTrafficChain, `-A ${internalTrafficChain} ${args} ${ctx.detector.ifNotLocal.join(' ')} -j ${KUBE_MARK_MASQ}`);
    }
  }

  // External traffic chain.
  if (usesExternalTrafficChain) {
    natChains.push({ table: 'nat', name: externalTrafficChain, kind: 'service-external', service });
    if (!info.externalPolicyLocal) {
      nat(
        externalTrafficChain,
        `-A ${externalTrafficChain} -m comment --comment ${quote(`masquerade traffic for ${spn} external destinations`)} -j ${KUBE_MARK_MASQ}`,
      );
    } else {
      if (ctx.detector) {
        nat(
          externalTrafficChain,
          `-A ${externalTrafficChain} -m comment --comment ${quote(`pod traffic for ${spn} external destinations`)} ${ctx.detector.ifLocal.join(' ')} -j ${clusterPolicyChain}`,
        );
      }
      nat(
        externalTrafficChain,
        `-A ${externalTrafficChain} -m comment --comment ${quote(`masquerade LOCAL traffic for ${spn} external destinations`)} -m addrtype --src-type LOCAL -j ${KUBE_MARK_MASQ}`,
      );
      nat(
        externalTrafficChain,
        `-A ${externalTrafficChain} -m comment --comment ${quote(`route LOCAL traffic for ${spn} external destinations`)} -m addrtype --src-type LOCAL -j ${clusterPolicyChain}`,
      );
    }
    if (hasExternalEndpoints) nat(externalTrafficChain, `-A ${externalTrafficChain} -j ${externalPolicyChain}`);
  }

  // Firewall chain for loadBalancerSourceRanges.
  if (usesFWChain) {
    natChains.push({ table: 'nat', name: fwChain, kind: 'service-firewall', service });
    const head = `-A ${fwChain} -m comment --comment ${quote(`${spn} loadbalancer IP`)}`;
    for (const cidr of info.loadBalancerSourceRanges) nat(fwChain, `${head} -s ${cidr} -j ${externalTrafficChain}`);
    // The node reaching its own VIP route arrives with source = the VIP.
    if (allowFromNode) {
      for (const lbip of info.loadBalancerVIPs) nat(fwChain, `${head} -s ${lbip} -j ${externalTrafficChain}`);
    }
    nat(fwChain, `-A ${fwChain} -m comment --comment ${quote(`other traffic to ${spn} will be dropped by KUBE-PROXY-FIREWALL`)}`);
  }

  const sepNames = new Map<EndpointInfo, string>();
  const sepName = (ep: EndpointInfo) => {
    let name = sepNames.get(ep);
    if (name === undefined) sepNames.set(ep, (name = endpointChainName(spn, proto, ep.endpoint)));
    return name;
  };

  const writeDispatch = (chain: string, endpoints: readonly EndpointInfo[]) => {
    if (info.sessionAffinityClientIP) {
      for (const ep of endpoints) {
        const sep = sepName(ep);
        const comment = ctx.largeClusterMode ? '' : ` -m comment --comment ${quote(`${spn} -> ${ep.endpoint}`)}`;
        nat(chain, `-A ${chain}${comment} -m recent --name ${sep} --rcheck --seconds ${info.stickyMaxAgeSeconds} --reap -j ${sep}`, ep);
      }
    }
    const n = endpoints.length;
    endpoints.forEach((ep, i) => {
      const sep = sepName(ep);
      const comment = ctx.largeClusterMode ? '' : ` -m comment --comment ${quote(`${spn} -> ${ep.endpoint}`)}`;
      const stat = i < n - 1 ? ` -m statistic --mode random --probability ${probability(n - i)}` : '';
      nat(chain, `-A ${chain}${comment}${stat} -j ${sep}`, ep);
    });
  };

  if (usesClusterPolicyChain) {
    natChains.push({ table: 'nat', name: clusterPolicyChain, kind: 'service-cluster', service });
    writeDispatch(clusterPolicyChain, cat.cluster);
  }
  if (usesLocalPolicyChain) {
    natChains.push({ table: 'nat', name: localPolicyChain, kind: 'service-local', service });
    writeDispatch(localPolicyChain, cat.local);
  }

  for (const ep of cat.allReachable) {
    const sep = sepName(ep);
    natChains.push({ table: 'nat', name: sep, kind: 'endpoint', service, endpoint: ep });
    const head = ctx.largeClusterMode ? `-A ${sep}` : `-A ${sep} -m comment --comment ${spn}`;
    nat(sep, `${head} -s ${ep.ip} -j ${KUBE_MARK_MASQ}`, ep);
    const recent = info.sessionAffinityClientIP ? ` -m recent --name ${sep} --set` : '';
    nat(sep, `${head}${recent} ${pp} -j DNAT --to-destination ${ep.endpoint}`, ep);
  }

  return { info, natTop, filter, natChains, natRules };
}

/** A chunk's lines as restore text, computed once per chunk (chunks are shared between nodes). */
export interface ChunkText {
  readonly filter: string;
  readonly natTop: string;
  readonly natChainDecls: string;
  readonly natRules: string;
}

const chunkTexts = new WeakMap<ServiceChunk, ChunkText>();

function linesOf(rules: readonly { line: string }[]): string {
  let s = '';
  for (const r of rules) s += r.line + '\n';
  return s;
}

export function chunkText(chunk: ServiceChunk): ChunkText {
  let t = chunkTexts.get(chunk);
  if (!t) {
    let decls = '';
    for (const c of chunk.natChains) decls += `:${c.name} - [0:0]\n`;
    t = {
      filter: linesOf(chunk.filter),
      natTop: linesOf(chunk.natTop),
      natChainDecls: decls,
      natRules: linesOf(chunk.natRules),
    };
    chunkTexts.set(chunk, t);
  }
  return t;
}
