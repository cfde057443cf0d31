// Ingress, IngressClass and NetworkPolicy validation (pkg/apis/networking/validation).
import type { FieldErrors, Path } from './field-errors.js';
import { parseCIDR, parseIP, strictSubset } from './ip.js';
import {
  isDNS1035Label,
  isDNS1123Subdomain,
  isDomainPrefixedPath,
  isValidPortName,
  isValidPortNum,
  isWildcardDNS1123Subdomain,
} from './syntax.js';
import { asArr, asInt, asObj, asStr, isMissingList, oneOf, validateLabelSelector, type Obj } from './validate-meta.js';
import { PROTOCOLS } from './validate-pod.js';

const INVALID_PATH_SEQUENCES = ['//', '/./', '/../', '%2f', '%2F'];
const INVALID_PATH_SUFFIXES = ['/..', '/.'];
const PATH_TYPES = ['Exact', 'ImplementationSpecific', 'Prefix'];
const SPEC: Path = ['spec'];

function validateHost(host: string, path: Path, errs: FieldErrors): void {
  if (parseIP(host)) errs.invalid(path, host, 'must be a DNS name, not an IP address', 'point a DNS name at the Ingress address instead');
  if (host.includes('*')) errs.each(path, host, isWildcardDNS1123Subdomain(host));
  else errs.each(path, host, isDNS1123Subdomain(host));
}

function validateBackend(b: unknown, path: Path, errs: FieldErrors): void {
  const backend = asObj(b);
  if (!backend) return b == null ? errs.required(path) : undefined;
  const resource = asObj(backend.resource);
  const service = asObj(backend.service);
  if (resource && service) return errs.invalid(path, '', 'cannot set both resource and service backends');
  if (resource) {
    const p: Path = [...path, 'resource'];
    if (!asStr(resource.kind)) errs.required([...p, 'kind']);
    if (!asStr(resource.name)) errs.required([...p, 'name']);
    const g = asStr(resource.apiGroup);
    if (g) errs.each([...p, 'apiGroup'], g, isDNS1123Subdomain(g));
    return;
  }
  if (!service) return errs.invalid(path, '', 'resource or service backend is required', 'add service: {name: <service>, port: {number: 80}}');
  const name = asStr(service.name);
  if (!name) errs.required([...path, 'service', 'name']);
  else errs.each([...path, 'service', 'name'], name, isDNS1035Label(name));
  const port = asObj(service.port) ?? {};
  const pname = asStr(port.name) ?? '';
  const pnum = asInt(port.number) ?? 0;
  if (pname && pnum) errs.invalid(path, '', 'cannot set both port name & port number');
  else if (pname) errs.each([...path, 'service', 'port', 'name'], pname, isValidPortName(pname));
  else if (pnum) errs.each([...path, 'service', 'port', 'number'], pnum, isValidPortNum(pnum));
  else errs.required(path, 'port name or number is required', 'set service.port.number, e.g. 80, or service.port.name');
}

function validatePath(hp: Obj, path: Path, errs: FieldErrors): void {
  const pt = hp.pathType;
  const p = asStr(hp.path) ?? '';
  if (pt === undefined || pt === null || pt === '') errs.required([...path, 'pathType'], 'pathType must be specified', 'use Prefix, the most common, or Exact or ImplementationSpecific');
  else if (pt === 'Exact' || pt === 'Prefix') {
    if (!p.startsWith('/')) errs.invalid([...path, 'path'], p, 'must be an absolute path', 'start the path with /');
    if (p.length > 0) {
      for (const seq of INVALID_PATH_SEQUENCES) if (p.includes(seq)) errs.invalid([...path, 'path'], p, `must not contain '${seq}'`);
      for (const suf of INVALID_PATH_SUFFIXES) if (p.endsWith(suf)) errs.invalid([...path, 'path'], p, `cannot end with '${suf}'`);
    }
  } else if (pt === 'ImplementationSpecific') {
    if (p.length > 0 && !p.startsWith('/')) errs.invalid([...path, 'path'], p, 'must be an absolute path');
  } else if (typeof pt === 'string') errs.notSupported([...path, 'pathType'], pt, PATH_TYPES);
  validateBackend(hp.backend, [...path, 'backend'], errs);
}

export function validateIngress(obj: Obj, errs: FieldErrors): void {
  const spec = asObj(obj.spec) ?? {};
  const rules = asArr(spec.rules);
  if (isMissingList(spec.rules) && spec.defaultBackend == null)
    errs.invalid(SPEC, rules, 'either `defaultBackend` or `rules` must be specified');
  if (asObj(spec.defaultBackend)) validateBackend(spec.defaultBackend, [...SPEC, 'defaultBackend'], errs);
  rules.forEach((r, i) => {
    const rule = asObj(r);
    if (!rule) return;
    const p: Path = [...SPEC, 'rules', i];
    const host = asStr(rule.host);
    if (host) validateHost(host, [...p, 'host'], errs);
    const http = asObj(rule.http);
    if (http) {
      const paths = asArr(http.paths);
      if (isMissingList(http.paths)) errs.required([...p, 'http', 'paths']);
      paths.forEach((hp, j) => {
        const o = asObj(hp);
        if (o) validatePath(o, [...p, 'http', 'paths', j], errs);
      });
    }
  });
  asArr(spec.tls).forEach((t, i) => {
    const tls = asObj(t);
    if (!tls) return;
    asArr(tls.hosts).forEach((h, j) => {
      if (typeof h !== 'string') return;
      const p: Path = [...SPEC, 'tls', i, 'hosts', j];
      errs.each(p, h, h.includes('*') ? isWildcardDNS1123Subdomain(h) : isDNS1123Subdomain(h));
    });
    const secret = asStr(tls.secretName);
    if (secret) errs.each([...SPEC, 'tls', i, 'secretName'], secret, isDNS1123Subdomain(secret));
  });
  const cls = asStr(spec.ingressClassName);
  if (cls !== undefined) errs.each([...SPEC, 'ingressClassName'], cls, isDNS1123Subdomain(cls));
}

export function validateIngressClass(obj: Obj, errs: FieldErrors): void {
  const spec = asObj(obj.spec) ?? {};
  const controller = asStr(spec.controller);
  if (!controller) errs.required([...SPEC, 'controller'], '', 'for ingress-nginx: k8s.io/ingress-nginx');
  else if (controller.length > 250) errs.add('error', [...SPEC, 'controller'], 'Too long: must have at most 250 bytes');
  else errs.each([...SPEC, 'controller'], controller, isDomainPrefixedPath(controller));
  const params = asObj(spec.parameters);
  if (params) {
    const p: Path = [...SPEC, 'parameters'];
    if (!asStr(params.kind)) errs.required([...p, 'kind']);
    if (!asStr(params.name)) errs.required([...p, 'name']);
    oneOf(params.scope, ['Cluster', 'Namespace'], [...p, 'scope'], errs);
    const ns = asStr(params.namespace);
    if (params.scope === 'Namespace' && !ns) errs.required([...p, 'namespace'], "`parameters.scope` is set to 'Namespace'");
    if ((params.scope ?? 'Cluster') === 'Cluster' && ns) errs.forbidden([...p, 'namespace'], "`parameters.scope` is set to 'Cluster'");
  }
}

function validatePolicyPort(port: unknown, path: Path, errs: FieldErrors): void {
  const p = asObj(port);
  if (!p) return;
  if (typeof p.protocol === 'string' && !(PROTOCOLS as readonly string[]).includes(p.protocol))
    errs.notSupported([...path, 'protocol'], p.protocol, ['TCP', 'UDP', 'SCTP']);
  const end = asInt(p.endPort);
  if (typeof p.port === 'number') {
    errs.each([...path, 'port'], p.port, isValidPortNum(p.port));
    if (end !== undefined) {
      if (end < p.port) errs.invalid([...path, 'endPort'], p.port, 'must be greater than or equal to `port`');
      errs.each([...path, 'endPort'], end, isValidPortNum(end));
    }
  } else if (typeof p.port === 'string') {
    if (end !== undefined) errs.invalid([...path, 'endPort'], end, 'may not be specified when `port` is non-numeric');
    errs.each([...path, 'port'], p.port, isValidPortName(p.port));
  } else if (end !== undefined) errs.invalid([...path, 'endPort'], end, 'may not be specified when `port` is not specified');
}

function validateIPBlock(b: Obj, path: Path, errs: FieldErrors): void {
  const cidrText = asStr(b.cidr);
  if (!cidrText) return errs.required([...path, 'cidr']);
  const cidr = parseCIDR(cidrText);
  if (!cidr) return errs.invalid([...path, 'cidr'], cidrText, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)');
  for (const [i, ex] of asArr(b.except).entries()) {
    if (typeof ex !== 'string') continue;
    const e = parseCIDR(ex);
    if (!e) return errs.invalid([...path, 'except', i], ex, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)');
    if (!strictSubset(e, cidr)) errs.invalid([...path, 'except', i], ex, 'must be a strict subset of `cidr`', `pick a range inside ${cidrText} with a longer prefix`);
  }
}

function validatePeer(peer: unknown, path: Path, errs: FieldErrors): void {
  const p = asObj(peer);
  if (!p) return;
  let n = 0;
  if (asObj(p.podSelector)) {
    n++;
    validateLabelSelector(p.podSelector, [...path, 'podSelector'], errs);
  }
  if (asObj(p.namespaceSelector)) {
    n++;
    validateLabelSelector(p.namespaceSelector, [...path, 'namespaceSelector'], errs);
  }
  const ipBlock = asObj(p.ipBlock);
  if (ipBlock) {
    n++;
    validateIPBlock(ipBlock, [...path, 'ipBlock'], errs);
  }
  if (n === 0) errs.required(path, 'must specify a peer', 'use podSelector, namespaceSelector or ipBlock');
  else if (n > 1 && ipBlock) errs.forbidden(path, 'may not specify both ipBlock and another peer');
}

export function validateNetworkPolicy(obj: Obj, errs: FieldErrors): void {
  const spec = asObj(obj.spec) ?? {};
  validateLabelSelector(spec.podSelector, [...SPEC, 'podSelector'], errs);
  for (const [dir, peers] of [
    ['ingress', 'from'],
    ['egress', 'to'],
  ] as const) {
    asArr(spec[dir]).forEach((r, i) => {
      const rule = asObj(r);
      if (!rule) return;
      const p: Path = [...SPEC, dir, i];
      asArr(rule.ports).forEach((port, j) => validatePolicyPort(port, [...p, 'ports', j], errs));
      asArr(rule[peers]).forEach((peer, j) => validatePeer(peer, [...p, peers, j], errs));
    });
  }
  const types = asArr(spec.policyTypes);
  if (types.length > 2) return errs.invalid([...SPEC, 'policyTypes'], types, 'may not specify more than two policyTypes');
  types.forEach((t, i) => {
    if (typeof t === 'string' && t !== 'Ingress' && t !== 'Egress') errs.notSupported([...SPEC, 'policyTypes', i], t, ['Ingress', 'Egress']);
  });
}
