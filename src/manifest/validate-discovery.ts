// Endpoints and EndpointSlice validation (pkg/apis/core and discovery validation).
import type { FieldErrors, Path } from './field-errors.js';
import { familyOf, isSpecialIP, parseIP } from './ip.js';
import { isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidPortNum } from './syntax.js';
import { asArr, asObj, asStr, isMissingList, oneOf, type Obj } from './validate-meta.js';
import { PROTOCOLS } from './validate-pod.js';

const MAX_ENDPOINTS = 1000;
const MAX_ADDRESSES = 100;
const MAX_PORTS = 20000;

function validateIP(v: unknown, path: Path, errs: FieldErrors, family?: 'IPv4' | 'IPv6'): void {
  if (typeof v !== 'string') return;
  const ip = parseIP(v);
  if (!ip || (family && familyOf(ip) !== family)) {
    errs.invalid(path, v, family ? `must be a valid ${family} address` : 'must be a valid IP address', 'write a plain address such as 10.244.1.5');
    return;
  }
  const special = isSpecialIP(ip);
  if (special) errs.invalid(path, v, special);
}

function validateEndpointAddress(a: unknown, path: Path, errs: FieldErrors): void {
  const addr = asObj(a);
  if (!addr) return;
  if (addr.ip === undefined || addr.ip === null || addr.ip === '') errs.required([...path, 'ip']);
  else validateIP(addr.ip, [...path, 'ip'], errs);
  const hostname = asStr(addr.hostname);
  if (hostname) errs.each([...path, 'hostname'], hostname, isDNS1123Label(hostname));
  const nodeName = asStr(addr.nodeName);
  if (nodeName) errs.each([...path, 'nodeName'], nodeName, isDNS1123Subdomain(nodeName));
}

export function validateEndpoints(obj: Obj, errs: FieldErrors): void {
  asArr(obj.subsets).forEach((s, i) => {
    const ss = asObj(s);
    if (!ss) return;
    const p: Path = ['subsets', i];
    const addresses = asArr(ss.addresses);
    const notReady = asArr(ss.notReadyAddresses);
    if (isMissingList(ss.addresses) && isMissingList(ss.notReadyAddresses)) errs.required(p, 'must specify `addresses` or `notReadyAddresses`');
    addresses.forEach((a, j) => validateEndpointAddress(a, [...p, 'addresses', j], errs));
    notReady.forEach((a, j) => validateEndpointAddress(a, [...p, 'notReadyAddresses', j], errs));
    const ports = asArr(ss.ports);
    ports.forEach((port, j) => {
      const ep = asObj(port);
      if (!ep) return;
      const pp: Path = [...p, 'ports', j];
      const name = asStr(ep.name) ?? '';
      if (ports.length > 1 && !name) errs.required([...pp, 'name']);
      else if (name) errs.each([...pp, 'name'], name, isDNS1123Label(name));
      if (typeof ep.port === 'number') errs.each([...pp, 'port'], ep.port, isValidPortNum(ep.port));
      else if (ep.port === undefined || ep.port === null) errs.required([...pp, 'port']);
      oneOf(ep.protocol, PROTOCOLS, [...pp, 'protocol'], errs);
    });
  });
}

export function validateEndpointSlice(obj: Obj, errs: FieldErrors): void {
  const type = obj.addressType;
  if (type === undefined || type === null || type === '') errs.required(['addressType'], '', 'one of IPv4, IPv6, FQDN');
  else oneOf(type, ['FQDN', 'IPv4', 'IPv6'], ['addressType'], errs);
  const endpoints = asArr(obj.endpoints);
  if (endpoints.length > MAX_ENDPOINTS) errs.tooMany(['endpoints'], endpoints.length, MAX_ENDPOINTS);
  endpoints.forEach((e, i) => {
    const ep = asObj(e);
    if (!ep) return;
    const p: Path = ['endpoints', i];
    const addrs = asArr(ep.addresses);
    if (isMissingList(ep.addresses)) errs.required([...p, 'addresses'], 'must contain at least 1 address');
    else if (addrs.length > MAX_ADDRESSES) errs.tooMany([...p, 'addresses'], addrs.length, MAX_ADDRESSES);
    addrs.forEach((a, j) => {
      if (typeof a !== 'string') return;
      if (type === 'IPv4' || type === 'IPv6') validateIP(a, [...p, 'addresses', j], errs, type);
      else if (type === 'FQDN') errs.each([...p, 'addresses', j], a, isDNS1123Subdomain(a));
    });
    const hostname = asStr(ep.hostname);
    if (hostname) errs.each([...p, 'hostname'], hostname, isDNS1123Label(hostname));
    const nodeName = asStr(ep.nodeName);
    if (nodeName) errs.each([...p, 'nodeName'], nodeName, isDNS1123Subdomain(nodeName));
  });
  const ports = asArr(obj.ports);
  if (ports.length > MAX_PORTS) errs.tooMany(['ports'], ports.length, MAX_PORTS);
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const ep = asObj(port);
    if (!ep) return;
    const p: Path = ['ports', i];
    const name = asStr(ep.name) ?? '';
    if (name) errs.each([...p, 'name'], name, isDNS1123Label(name));
    if (names.has(name)) errs.duplicate([...p, 'name'], name);
    names.add(name);
    oneOf(ep.protocol, PROTOCOLS, [...p, 'protocol'], errs);
    // Upstream does not range-check EndpointSlice ports; a port outside 1..65535 can never be reached.
    if (typeof ep.port === 'number') errs.each([...p, 'port'], ep.port, isValidPortNum(ep.port));
    if (typeof ep.appProtocol === 'string') errs.each([...p, 'appProtocol'], ep.appProtocol, isQualifiedName(ep.appProtocol));
  });
  const labels = asObj(asObj(obj.metadata)?.labels) ?? {};
  if (typeof labels['kubernetes.io/service-name'] !== 'string')
    errs.info(['metadata', 'labels'], 'no kubernetes.io/service-name label: this EndpointSlice belongs to no Service', 'label it kubernetes.io/service-name: <service name>');
}
