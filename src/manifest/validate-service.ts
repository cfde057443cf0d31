// Service validation: pkg/apis/core/validation ValidateService plus the checks the registry's
// ClusterIP and NodePort allocators make against the cluster configuration.
import type { ClusterConfig } from '../cluster/config.js';
import type { FieldErrors, Path } from './field-errors.js';
import { cidrSize, contains, familyOf, isSpecialIP, networkOf, parseCIDR, parseIP, addToIP, type Cidr, type Family } from './ip.js';
import { isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidPortNum } from './syntax.js';
import { asArr, asInt, asObj, asStr, isMissingList, oneOf, validateLabels, type Obj } from './validate-meta.js';
import { PROTOCOLS, validatePortNumOrName } from './validate-pod.js';

export const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'] as const;
const KUBELET_PORT = 10250;
const MAX_CLIENT_IP_TIMEOUT = 86400;
const SPEC: Path = ['spec'];

export interface ServiceContext {
  config: ClusterConfig;
}

export function nodePortRangeText(cfg: ClusterConfig): string {
  return `${cfg.nodePortRange.base}-${cfg.nodePortRange.base + cfg.nodePortRange.size - 1}`;
}

export function inNodePortRange(cfg: ClusterConfig, port: number): boolean {
  return port >= cfg.nodePortRange.base && port < cfg.nodePortRange.base + cfg.nodePortRange.size;
}

export function validateService(obj: Obj, errs: FieldErrors, ctx: ServiceContext): void {
  const spec = asObj(obj.spec) ?? {};
  const type = asStr(spec.type) ?? 'ClusterIP';
  oneOf(spec.type, SERVICE_TYPES, [...SPEC, 'type'], errs);
  const clusterIP = asStr(spec.clusterIP) ?? '';
  const clusterIPs = asArr(spec.clusterIPs).filter((v): v is string => typeof v === 'string');
  const ips = clusterIPs.length ? clusterIPs : clusterIP ? [clusterIP] : [];
  const headless = ips[0] === 'None';
  const externallyAccessible = type === 'NodePort' || type === 'LoadBalancer' || (type === 'ClusterIP' && asArr(spec.externalIPs).length > 0);
  const ipPath = (i: number): Path => (clusterIPs.length ? [...SPEC, 'clusterIPs', i] : [...SPEC, 'clusterIP']);

  if (type === 'ExternalName') {
    if (ips.length > 0) errs.forbidden(clusterIPs.length ? [...SPEC, 'clusterIPs'] : [...SPEC, 'clusterIP'], 'may not be set for ExternalName services');
    if (asArr(spec.ipFamilies).length > 0) errs.forbidden([...SPEC, 'ipFamilies'], 'may not be set for ExternalName services');
    if (spec.ipFamilyPolicy != null) errs.forbidden([...SPEC, 'ipFamilyPolicy'], 'may not be set for ExternalName services');
    // The value (a CNAME) may end with a dot to mark it fully qualified.
    const name = (asStr(spec.externalName) ?? '').replace(/\.$/, '');
    if (!name) errs.required([...SPEC, 'externalName'], '', 'an ExternalName Service needs the DNS name it aliases, e.g. externalName: db.example.com');
    else errs.each([...SPEC, 'externalName'], spec.externalName, isDNS1123Subdomain(name));
  } else {
    if (clusterIP && clusterIPs.length && clusterIP !== clusterIPs[0])
      errs.invalid([...SPEC, 'clusterIPs'], clusterIPs, 'first value must match `clusterIP`');
    validateClusterIPs(ips, ipPath, spec, errs, ctx);
    if (headless && (type === 'NodePort' || type === 'LoadBalancer'))
      errs.invalid(ipPath(0), 'None', `may not be set to 'None' for ${type} services`, 'headless Services can only be of type ClusterIP');
  }

  validatePorts(spec, type, headless, errs, ctx);
  validateLabels(spec.selector, [...SPEC, 'selector'], errs);

  // Session affinity.
  oneOf(spec.sessionAffinity, ['ClientIP', 'None'], [...SPEC, 'sessionAffinity'], errs);
  const sac = asObj(spec.sessionAffinityConfig);
  if (spec.sessionAffinity === 'ClientIP') {
    const t = asObj(sac?.clientIP)?.timeoutSeconds;
    if (typeof t === 'number' && (t <= 0 || t > MAX_CLIENT_IP_TIMEOUT))
      errs.invalid([...SPEC, 'sessionAffinityConfig', 'clientIP', 'timeoutSeconds'], t, `must be greater than 0 and less than ${MAX_CLIENT_IP_TIMEOUT}`);
  } else if (sac && (spec.sessionAffinity === undefined || spec.sessionAffinity === null || spec.sessionAffinity === 'None'))
    errs.forbidden([...SPEC, 'sessionAffinityConfig'], 'must not be set when session affinity is None', 'set sessionAffinity: ClientIP, or remove sessionAffinityConfig');

  // externalIPs.
  asArr(spec.externalIPs).forEach((v, i) => {
    if (typeof v !== 'string') return;
    const ip = parseIP(v);
    if (!ip) errs.invalid([...SPEC, 'externalIPs', i], v, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)');
    else {
      const special = isSpecialIP(ip);
      if (special) errs.invalid([...SPEC, 'externalIPs', i], v, special);
    }
  });

  // Traffic policies.
  const etp = spec.externalTrafficPolicy;
  if (etp !== undefined && etp !== null && etp !== '') {
    if (!externallyAccessible)
      errs.invalid([...SPEC, 'externalTrafficPolicy'], etp, 'may only be set for externally-accessible services', 'set type: NodePort or LoadBalancer, or remove externalTrafficPolicy');
    else oneOf(etp, ['Cluster', 'Local'], [...SPEC, 'externalTrafficPolicy'], errs);
  }
  oneOf(spec.internalTrafficPolicy, ['Cluster', 'Local'], [...SPEC, 'internalTrafficPolicy'], errs);
  const hc = asInt(spec.healthCheckNodePort);
  if (hc !== undefined && hc !== 0) {
    if (!(type === 'LoadBalancer' && etp === 'Local'))
      errs.invalid([...SPEC, 'healthCheckNodePort'], hc, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'");
    else if (!inNodePortRange(ctx.config, hc))
      errs.invalid([...SPEC, 'healthCheckNodePort'], hc, `provided port is not in the valid range. The range of valid ports is ${nodePortRangeText(ctx.config)}`);
  }
  const td = spec.trafficDistribution;
  if (td !== undefined && td !== null) {
    const allowed = ctx.config.preferSameTrafficDistribution ? ['PreferClose', 'PreferSameNode', 'PreferSameZone'] : ['PreferClose'];
    oneOf(td, allowed, [...SPEC, 'trafficDistribution'], errs);
  }

  // Load balancer fields.
  const ranges = asArr(spec.loadBalancerSourceRanges);
  // Upstream names this path `spec.LoadBalancerSourceRanges`; we use the JSON name so it can be located.
  if (ranges.length && type !== 'LoadBalancer') errs.forbidden([...SPEC, 'loadBalancerSourceRanges'], "may only be used when `type` is 'LoadBalancer'");
  ranges.forEach((r, i) => {
    if (typeof r === 'string' && !parseCIDR(r.trim()))
      errs.invalid([...SPEC, 'loadBalancerSourceRanges', i], r, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)');
  });
  if (spec.loadBalancerClass != null) {
    if (type !== 'LoadBalancer') errs.forbidden([...SPEC, 'loadBalancerClass'], "may only be used when `type` is 'LoadBalancer'");
    else if (typeof spec.loadBalancerClass === 'string') errs.each([...SPEC, 'loadBalancerClass'], spec.loadBalancerClass, isQualifiedName(spec.loadBalancerClass));
  }
  if (spec.allocateLoadBalancerNodePorts != null && type !== 'LoadBalancer')
    errs.forbidden([...SPEC, 'allocateLoadBalancerNodePorts'], "may only be used when `type` is 'LoadBalancer'");
  if (spec.loadBalancerIP != null && spec.loadBalancerIP !== '' && type === 'LoadBalancer' && typeof spec.loadBalancerIP === 'string' && !parseIP(spec.loadBalancerIP))
    errs.invalid([...SPEC, 'loadBalancerIP'], spec.loadBalancerIP, 'must be a valid IP address');

  if (type !== 'ExternalName') validateIPFamilies(spec, ips, errs, ctx);
}

function validateClusterIPs(ips: string[], ipPath: (i: number) => Path, spec: Obj, errs: FieldErrors, ctx: ServiceContext): void {
  if (ips.length > 2) errs.invalid([...SPEC, 'clusterIPs'], ips, 'may only hold two values');
  const families: Family[] = [];
  ips.forEach((v, i) => {
    if (v === 'None') {
      if (i > 0 || ips.length > 1) errs.invalid(ipPath(i), v, "must not be 'None' alongside other IPs");
      return;
    }
    if (v === '') {
      errs.invalid(ipPath(i), v, 'must contain a valid IP address');
      return;
    }
    const ip = parseIP(v);
    if (!ip) {
      errs.invalid(ipPath(i), v, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)');
      return;
    }
    const fam = familyOf(ip);
    if (families.includes(fam)) errs.invalid([...SPEC, 'clusterIPs'], ips, 'may specify no more than one IP for each IP family');
    families.push(fam);
    const wanted = asArr(spec.ipFamilies)[i];
    if (typeof wanted === 'string' && (wanted === 'IPv4' || wanted === 'IPv6') && wanted !== fam)
      errs.invalid(ipPath(i), v, `expected an ${wanted} value as indicated by \`ipFamilies[${i}]\``);
    // What the ClusterIP allocator checks at create time.
    const cidrs = ctx.config.serviceCIDRs.map(parseCIDR).filter((c): c is Cidr => !!c && c.family === fam);
    if (cidrs.length === 0) {
      errs.invalid(ipPath(i), v, `failed to allocate IP ${v}: this cluster is not configured for ${fam}`, `the service CIDRs are ${ctx.config.serviceCIDRs.join(', ')}`);
      return;
    }
    const inside = cidrs.find((c) => contains(c, ip));
    if (!inside)
      errs.invalid(ipPath(i), v, `failed to allocate IP ${v}: provided IP (${v}) is not in the valid range. The range of valid IPs is ${cidrs.map((c) => c.text).join(', ')}`, 'leave clusterIP empty to have one allocated, or pick an address inside the service CIDR');
    else if (isReserved(inside, v))
      errs.invalid(ipPath(i), v, `failed to allocate IP ${v}: provided IP (${v}) is not in the valid range. The range of valid IPs is ${inside.text}`, 'the network and broadcast addresses of the service CIDR are not allocatable');
  });
}

/** The network address, and for IPv4 the broadcast address, are never handed out. */
function isReserved(c: Cidr, v: string): boolean {
  const net = networkOf(c);
  if (net.toString() === parseIP(v)!.toString()) return true;
  if (c.family === 'IPv4' && c.prefix < 31) return addToIP(net, cidrSize(c) - 1n).toString() === parseIP(v)!.toString();
  return false;
}

function validatePorts(spec: Obj, type: string, headless: boolean, errs: FieldErrors, ctx: ServiceContext): void {
  const ports = asArr(spec.ports);
  if (isMissingList(spec.ports) && !headless && type !== 'ExternalName')
    errs.required([...SPEC, 'ports'], '', 'list at least one port, e.g. {port: 80, targetPort: 8080}, or make the Service headless with clusterIP: None');
  const names = new Set<string>();
  const portKeys = new Set<string>();
  const nodePortKeys = new Set<string>();
  ports.forEach((port, i) => {
    const sp = asObj(port);
    if (!sp) return;
    const p: Path = [...SPEC, 'ports', i];
    const name = asStr(sp.name) ?? '';
    if (ports.length > 1 && !name) errs.required([...p, 'name'], '', 'every port needs a name when a Service has more than one');
    else if (name && errs.each([...p, 'name'], name, isDNS1123Label(name))) {
      if (names.has(name)) errs.duplicate([...p, 'name'], name, 'port names must be unique within a Service');
      names.add(name);
    }
    const num = sp.port;
    if (num === undefined || num === null) errs.required([...p, 'port']);
    else if (typeof num === 'number') errs.each([...p, 'port'], num, isValidPortNum(num));
    oneOf(sp.protocol, PROTOCOLS, [...p, 'protocol'], errs);
    if (sp.targetPort !== 0 && sp.targetPort !== '') validatePortNumOrName(sp.targetPort, [...p, 'targetPort'], errs);
    if (typeof sp.appProtocol === 'string') errs.each([...p, 'appProtocol'], sp.appProtocol, isQualifiedName(sp.appProtocol));
    const proto = asStr(sp.protocol) ?? 'TCP';
    if (typeof num === 'number') {
      const key = `${proto}/${num}`;
      if (portKeys.has(key)) errs.duplicate(p, { port: num, protocol: proto }, 'two ports of a Service may not share port and protocol');
      portKeys.add(key);
    }
    if (type === 'LoadBalancer' && num === KUBELET_PORT)
      errs.invalid(p, num, `may not expose port ${KUBELET_PORT} externally since it is used by kubelet`);
    const np = asInt(sp.nodePort);
    if (np !== undefined && np !== 0) {
      if (type !== 'NodePort' && type !== 'LoadBalancer')
        errs.forbidden([...p, 'nodePort'], `may not be used when \`type\` is '${type}'`, 'set type: NodePort or LoadBalancer, or remove nodePort');
      else if (!inNodePortRange(ctx.config, np))
        errs.invalid([...p, 'nodePort'], np, `provided port is not in the valid range. The range of valid ports is ${nodePortRangeText(ctx.config)}`, 'leave nodePort out to have one allocated');
      else {
        const key = `${proto}/${np}`;
        if (nodePortKeys.has(key)) errs.duplicate([...p, 'nodePort'], np);
        nodePortKeys.add(key);
      }
    }
  });
}

function validateIPFamilies(spec: Obj, ips: string[], errs: FieldErrors, ctx: ServiceContext): void {
  const fams = asArr(spec.ipFamilies);
  const seen = new Set<unknown>();
  fams.forEach((f, i) => {
    if (typeof f !== 'string') return;
    if (f !== 'IPv4' && f !== 'IPv6') errs.notSupported([...SPEC, 'ipFamilies', i], f, ['IPv4', 'IPv6']);
    else if (seen.has(f)) errs.duplicate([...SPEC, 'ipFamilies', i], f);
    seen.add(f);
  });
  if (fams.length > 2) errs.invalid([...SPEC, 'ipFamilies'], fams, 'may be either a single or dual stack');
  oneOf(spec.ipFamilyPolicy, ['PreferDualStack', 'RequireDualStack', 'SingleStack'], [...SPEC, 'ipFamilyPolicy'], errs);
  const policy = asStr(spec.ipFamilyPolicy);
  const realIPs = ips.filter((v) => v !== 'None');
  if (policy === 'SingleStack') {
    if (fams.length > 1) errs.invalid([...SPEC, 'ipFamilies'], fams, 'must be a single value when `ipFamilyPolicy` is SingleStack', 'use ipFamilyPolicy: PreferDualStack or RequireDualStack for two families');
    if (realIPs.length > 1) errs.invalid([...SPEC, 'clusterIPs'], ips, 'must be a single value when `ipFamilyPolicy` is SingleStack');
  } else if (!policy && (fams.length > 1 || realIPs.length > 1)) {
    errs.required([...SPEC, 'ipFamilyPolicy'], 'must be set to PreferDualStack or RequireDualStack when more than one IP family or clusterIP is given');
  }
  // What the registry checks against the cluster's configured service CIDRs.
  const configured = new Set(ctx.config.serviceCIDRs.map((c) => parseCIDR(c)?.family));
  if (policy === 'RequireDualStack' && configured.size < 2)
    errs.invalid([...SPEC, 'ipFamilyPolicy'], policy, 'this cluster is not configured for dual-stack services', 'use PreferDualStack, or give the profile a second service CIDR');
  fams.forEach((f, i) => {
    if ((f === 'IPv4' || f === 'IPv6') && !configured.has(f))
      errs.invalid([...SPEC, 'ipFamilies', i], f, `not configured on this cluster`, `the service CIDRs are ${ctx.config.serviceCIDRs.join(', ')}`);
  });
}
