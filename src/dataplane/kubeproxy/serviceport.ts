// One entry per (Service, port) of one IP family, as kube-proxy's ServiceChangeTracker builds it
// (pkg/proxy/service.go newBaseServiceInfo, pkg/proxy/util ShouldSkipService / GetClusterIPByFamily).
import type { Service, ServicePort } from 'kubernetes-types/core/v1.js';
import { servicePortChains, type ServicePortChains } from './chainnames.js';
import { canonicalIP, formatCIDR, isZeroCIDR, parseCIDR, parseIP, type IPFamily } from './ip.js';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** The label kube-proxy's informers exclude: Services owned by another proxy. */
export const LABEL_SERVICE_PROXY_NAME = 'service.kubernetes.io/service-proxy-name';
/** EndpointSlices of headless Services carry it; kube-proxy's informer excludes them. */
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';

const DEFAULT_AFFINITY_TIMEOUT = 10800; // API default for sessionAffinityConfig.clientIP.timeoutSeconds

export interface ServicePortInfo {
  /** Stable identity: `namespace/name:portName/PROTOCOL`. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  /** `namespace/name`, the key partial syncs use. */
  readonly serviceKey: string;
  readonly portName: string;
  readonly protocol: Protocol;
  /** Lower-case protocol as written in rules (`-m tcp -p tcp`). */
  readonly proto: string;
  /** ServicePortName.String(): `namespace/name`, plus `:portName` when the port is named. */
  readonly spn: string;
  readonly clusterIP: string;
  readonly port: number;
  readonly targetPort: number | string | undefined;
  readonly nodePort: number;
  readonly externalIPs: readonly string[];
  readonly loadBalancerVIPs: readonly string[];
  readonly loadBalancerSourceRanges: readonly string[];
  readonly sessionAffinityClientIP: boolean;
  readonly stickyMaxAgeSeconds: number;
  readonly healthCheckNodePort: number;
  readonly externalPolicyLocal: boolean;
  readonly internalPolicyLocal: boolean;
  readonly chains: ServicePortChains;
}

export function servicePortName(namespace: string, name: string, portName: string): string {
  return portName ? `${namespace}/${name}:${portName}` : `${namespace}/${name}`;
}

/** ShouldSkipService: headless (clusterIP None or empty) and ExternalName Services are not proxied. */
export function shouldSkipService(svc: Service): boolean {
  const cip = svc.spec?.clusterIP;
  if (!cip || cip === 'None') return true;
  if (svc.spec?.type === 'ExternalName') return true;
  return false;
}

/** The informer's label selector: Services labelled with another service-proxy-name are invisible. */
export function isProxiedByOther(labels: Record<string, string> | undefined): boolean {
  return labels !== undefined && LABEL_SERVICE_PROXY_NAME in labels;
}

/** GetClusterIPByFamily. */
export function clusterIPByFamily(svc: Service, family: IPFamily): string {
  const spec = svc.spec ?? {};
  const families = spec.ipFamilies ?? [];
  if (families.length === 0) {
    const cip = spec.clusterIP;
    if (!cip || cip === 'None') return '';
    const isV6 = parseIP(cip)?.family === 'IPv6';
    return isV6 === (family === 'IPv6') ? cip : '';
  }
  const idx = families.indexOf(family);
  if (idx >= 0 && idx < (spec.clusterIPs?.length ?? 0)) return spec.clusterIPs![idx]!;
  return '';
}

/** apiservice.ExternallyAccessible (type-based, used for the traffic policies). */
function typeExternallyAccessible(svc: Service): boolean {
  const t = svc.spec?.type ?? 'ClusterIP';
  return t === 'LoadBalancer' || t === 'NodePort' || (t === 'ClusterIP' && (svc.spec?.externalIPs?.length ?? 0) > 0);
}

export function externalPolicyLocal(svc: Service): boolean {
  return typeExternallyAccessible(svc) && svc.spec?.externalTrafficPolicy === 'Local';
}

export function internalPolicyLocal(svc: Service): boolean {
  return svc.spec?.internalTrafficPolicy === 'Local';
}

export function needsHealthCheck(svc: Service): boolean {
  return svc.spec?.type === 'LoadBalancer' && externalPolicyLocal(svc);
}

function ipsOfFamily(list: readonly string[] | undefined, family: IPFamily): string[] {
  const out: string[] = [];
  for (const s of list ?? []) {
    const ip = parseIP(s);
    if (ip && ip.family === family) out.push(canonicalIP(s)!);
  }
  return out;
}

function sourceRangesOfFamily(list: readonly string[] | undefined, family: IPFamily): string[] {
  const out: string[] = [];
  let zero = false;
  for (const raw of list ?? []) {
    const c = parseCIDR(raw.trim());
    if (!c || c.family !== family) continue;
    if (isZeroCIDR(c)) zero = true;
    out.push(formatCIDR(c));
  }
  // A 0.0.0.0/0 or ::/0 range allows everyone: no firewall chain (reference §1.13).
  return zero ? [] : out;
}

function loadBalancerVIPs(svc: Service, family: IPFamily): string[] {
  const out: string[] = [];
  for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
    if (!ing.ip) continue;
    if (ing.ipMode !== undefined && ing.ipMode !== 'VIP') continue; // ipMode Proxy: the LB does the proxying
    const ip = parseIP(ing.ip);
    if (ip && ip.family === family) out.push(canonicalIP(ing.ip)!);
  }
  return out;
}

function protocolOf(p: ServicePort): Protocol {
  const proto = p.protocol ?? 'TCP';
  return proto === 'UDP' || proto === 'SCTP' ? proto : 'TCP';
}

/**
 * The ServicePortInfos kube-proxy tracks for `svc` in `family`; empty when the Service is skipped
 * or has no ClusterIP of that family.
 */
export function servicePortInfos(svc: Service, family: IPFamily): ServicePortInfo[] {
  if (isProxiedByOther(svc.metadata?.labels) || shouldSkipService(svc)) return [];
  const cipRaw = clusterIPByFamily(svc, family);
  const clusterIP = cipRaw ? canonicalIP(cipRaw) : undefined;
  if (!clusterIP) return [];
  const namespace = svc.metadata?.namespace ?? 'default';
  const name = svc.metadata?.name ?? '';
  const spec = svc.spec ?? {};
  const clientIP = spec.sessionAffinity === 'ClientIP';
  const sticky = clientIP ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT) : 0;
  const externalIPs = ipsOfFamily(spec.externalIPs, family);
  const sourceRanges = sourceRangesOfFamily(spec.loadBalancerSourceRanges, family);
  const vips = loadBalancerVIPs(svc, family);
  const hc = needsHealthCheck(svc) ? (spec.healthCheckNodePort ?? 0) : 0;
  const eLocal = externalPolicyLocal(svc);
  const iLocal = internalPolicyLocal(svc);
  const out: ServicePortInfo[] = [];
  for (const p of spec.ports ?? []) {
    const protocol = protocolOf(p);
    const proto = protocol.toLowerCase();
    const portName = p.name ?? '';
    const spn = servicePortName(namespace, name, portName);
    out.push({
      key: `${spn}/${protocol}`,
      namespace,
      name,
      serviceKey: `${namespace}/${name}`,
      portName,
      protocol,
      proto,
      spn,
      clusterIP,
      port: p.port,
      targetPort: p.targetPort,
      nodePort: p.nodePort ?? 0,
      externalIPs,
      loadBalancerVIPs: vips,
      loadBalancerSourceRanges: sourceRanges,
      sessionAffinityClientIP: clientIP,
      stickyMaxAgeSeconds: sticky,
      healthCheckNodePort: hc,
      externalPolicyLocal: eLocal,
      internalPolicyLocal: iLocal,
      chains: servicePortChains(spn, proto),
    });
  }
  return out;
}

/** ServicePort.ExternallyAccessible: reachable by something other than its ClusterIP. */
export function externallyAccessible(info: ServicePortInfo): boolean {
  return info.nodePort !== 0 || info.loadBalancerVIPs.length > 0 || info.externalIPs.length > 0;
}

/** Cluster endpoints are used when iTP is Cluster, or for any external traffic (short-circuit). */
export function usesClusterEndpoints(info: ServicePortInfo): boolean {
  return !info.internalPolicyLocal || externallyAccessible(info);
}

export function usesLocalEndpoints(info: ServicePortInfo): boolean {
  return info.internalPolicyLocal || (info.externalPolicyLocal && externallyAccessible(info));
}
