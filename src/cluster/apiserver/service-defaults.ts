// SetDefaults_Service (pkg/apis/core/v1/defaults.go) and the registry's IP-family
// initialisation (initIPFamilyFields): what a Service looks like before allocation.
import type { Service, ServicePort, ServiceSpec } from 'kubernetes-types/core/v1.js';
import type { IpFamily } from '../../net/ip.js';
import { ipFamilyOf } from '../../net/ip.js';
import { invalid } from './errors.js';

type Spec = ServiceSpec;

/** kube-proxy's DefaultClientIPServiceAffinitySeconds (3 hours). */
export const DEFAULT_CLIENT_IP_AFFINITY_SECONDS = 10800;

export function externallyAccessible(spec: Spec): boolean {
  return spec.type === 'LoadBalancer' || spec.type === 'NodePort' || (spec.type === 'ClusterIP' && (spec.externalIPs?.length ?? 0) > 0);
}

/** The scheme defaults; returns the same object when nothing changes. */
export function defaultServiceSpec(spec: Spec | undefined): Spec {
  const s: { -readonly [K in keyof Spec]: Spec[K] } = { ...(spec ?? {}) };
  if (!s.sessionAffinity) s.sessionAffinity = 'None';
  if (s.sessionAffinity === 'None') delete s.sessionAffinityConfig;
  if (s.sessionAffinity === 'ClientIP' && s.sessionAffinityConfig?.clientIP?.timeoutSeconds === undefined) {
    s.sessionAffinityConfig = { clientIP: { timeoutSeconds: DEFAULT_CLIENT_IP_AFFINITY_SECONDS } };
  }
  if (!s.type) s.type = 'ClusterIP';
  if (s.ports) {
    s.ports = s.ports.map((p): ServicePort => {
      const protocol = p.protocol || 'TCP';
      const targetPort = p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '' ? p.port : p.targetPort;
      return protocol === p.protocol && targetPort === p.targetPort ? p : { ...p, protocol, targetPort };
    });
  }
  if (externallyAccessible(s) && !s.externalTrafficPolicy) s.externalTrafficPolicy = 'Cluster';
  if (s.internalTrafficPolicy === undefined && (s.type === 'NodePort' || s.type === 'LoadBalancer' || s.type === 'ClusterIP')) {
    s.internalTrafficPolicy = 'Cluster';
  }
  if (s.type === 'LoadBalancer' && s.allocateLoadBalancerNodePorts === undefined) s.allocateLoadBalancerNodePorts = true;
  if (s.clusterIP && !s.clusterIPs?.length) s.clusterIPs = [s.clusterIP];
  if (!s.clusterIP && s.clusterIPs?.length) s.clusterIP = s.clusterIPs[0];
  return s;
}

/**
 * Fill ipFamilyPolicy and ipFamilies from the cluster's service CIDR families (the first is the
 * default family). Throws ApiError on combinations upstream rejects.
 */
export function initIpFamilies(svc: Service, spec: Spec, serviceFamilies: readonly IpFamily[]): Spec {
  const name = svc.metadata?.name ?? '';
  const s: { -readonly [K in keyof Spec]: Spec[K] } = { ...spec };
  if (s.type === 'ExternalName') {
    delete s.ipFamilies;
    delete s.ipFamilyPolicy;
    return s;
  }
  const families: IpFamily[] = [...((s.ipFamilies ?? []) as IpFamily[])];
  const ips = s.clusterIPs ?? [];
  const headless = ips[0] === 'None';
  if (!headless) {
    ips.forEach((ip, i) => {
      if (!ip) return;
      const fam = ipFamilyOf(ip);
      if (!fam) throw invalid('Service', name, `spec.clusterIPs[${i}]`, ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)');
      if (families[i] === undefined) families[i] = fam;
      else if (families[i] !== fam) {
        throw invalid('Service', name, `spec.ipFamilies[${i}]`, families[i], `must match the family of spec.clusterIPs[${i}]`);
      }
    });
  }
  if (s.ipFamilyPolicy === undefined && families.length === 2) s.ipFamilyPolicy = 'RequireDualStack';
  const defaultFamily = serviceFamilies[0] ?? 'IPv4';
  if (headless && Object.keys(s.selector ?? {}).length === 0) {
    // Headless without a selector may ask for any families, whatever the cluster serves.
    if (s.ipFamilyPolicy === undefined) s.ipFamilyPolicy = 'RequireDualStack';
    if (families.length === 0) families.push(defaultFamily);
    if (s.ipFamilyPolicy !== 'SingleStack' && families.length === 1) families.push(families[0] === 'IPv4' ? 'IPv6' : 'IPv4');
    s.ipFamilies = families;
    return s;
  }
  const dualStack = serviceFamilies.length > 1;
  if (!dualStack) {
    if (s.ipFamilyPolicy === 'RequireDualStack') {
      throw invalid('Service', name, 'spec.ipFamilyPolicy', 'RequireDualStack', 'this cluster is not configured for dual-stack services');
    }
    if (families.length > 1) {
      throw invalid('Service', name, 'spec.ipFamilies', families.join(', '), 'when multiple IP families are specified, this cluster must be configured for dual-stack');
    }
  }
  families.forEach((f, i) => {
    if (!serviceFamilies.includes(f)) throw invalid('Service', name, `spec.ipFamilies[${i}]`, f, 'not configured on this cluster');
  });
  if (s.ipFamilyPolicy === undefined) s.ipFamilyPolicy = 'SingleStack';
  if (families.length === 0) families.push(defaultFamily);
  if ((s.ipFamilyPolicy === 'PreferDualStack' || s.ipFamilyPolicy === 'RequireDualStack') && dualStack && families.length === 1) {
    families.push(families[0] === 'IPv4' ? 'IPv6' : 'IPv4');
  }
  if (s.ipFamilyPolicy === 'SingleStack' && families.length > 1) {
    throw invalid('Service', name, 'spec.ipFamilies', families.join(', '), 'must be a single family when ipFamilyPolicy is SingleStack');
  }
  s.ipFamilies = families;
  return s;
}

/** Whether the Service gets ClusterIPs at all (not ExternalName, not headless). */
export function needsClusterIP(spec: Spec | undefined): boolean {
  return !!spec && spec.type !== 'ExternalName' && spec.clusterIP !== 'None' && spec.clusterIPs?.[0] !== 'None';
}

/** NodePort, or LoadBalancer with allocateLoadBalancerNodePorts (default true). */
export function shouldAllocateNodePorts(spec: Spec | undefined): boolean {
  if (!spec) return false;
  if (spec.type === 'NodePort') return true;
  return spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false;
}

/** apiservice.NeedsHealthCheck: LoadBalancer with externalTrafficPolicy Local. */
export function needsHealthCheckNodePort(spec: Spec | undefined): boolean {
  return !!spec && spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';
}
