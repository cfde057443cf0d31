// Node and Namespace validation (pkg/apis/core/validation).
import type { FieldErrors, Path } from './field-errors.js';
import { parseCIDR, parseIP } from './ip.js';
import { isQualifiedName, isValidLabelValue } from './syntax.js';
import { asArr, asObj, asStr, oneOf, type Obj } from './validate-meta.js';
import { TAINT_EFFECTS } from './validate-pod.js';

export function validateTaints(taints: unknown, path: Path, errs: FieldErrors): void {
  const seen = new Set<string>();
  asArr(taints).forEach((t, i) => {
    const taint = asObj(t);
    if (!taint) return;
    const p: Path = [...path, i];
    const key = asStr(taint.key);
    if (!key) errs.required([...p, 'key']);
    else errs.each([...p, 'key'], key, isQualifiedName(key));
    const value = asStr(taint.value);
    if (value) errs.each([...p, 'value'], value, isValidLabelValue(value));
    oneOf(taint.effect, TAINT_EFFECTS, [...p, 'effect'], errs, true);
    const k = `${key}:${String(taint.effect)}`;
    if (key && seen.has(k)) errs.duplicate(p, k, 'taints must be unique by key and effect pair');
    seen.add(k);
  });
}

export function validateNode(obj: Obj, errs: FieldErrors): void {
  const spec = asObj(obj.spec) ?? {};
  validateTaints(spec.taints, ['spec', 'taints'], errs);
  const cidrs = asArr(spec.podCIDRs).length ? asArr(spec.podCIDRs) : spec.podCIDR ? [spec.podCIDR] : [];
  const where = (i: number): Path => (asArr(spec.podCIDRs).length ? ['spec', 'podCIDRs', i] : ['spec', 'podCIDR']);
  const fams = new Set<string>();
  cidrs.forEach((c, i) => {
    if (typeof c !== 'string') return;
    const cidr = parseCIDR(c);
    if (!cidr) errs.invalid(where(i), c, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)');
    else {
      if (fams.has(cidr.family)) errs.invalid(['spec', 'podCIDRs'], cidrs, 'may specify no more than one CIDR for each IP family');
      fams.add(cidr.family);
    }
  });
  if (cidrs.length > 2) errs.invalid(['spec', 'podCIDRs'], cidrs, 'may specify no more than two CIDRs');
  asArr(asObj(obj.status)?.addresses).forEach((a, i) => {
    const addr = asObj(a);
    if (!addr) return;
    const p: Path = ['status', 'addresses', i];
    oneOf(addr.type, ['ExternalDNS', 'ExternalIP', 'Hostname', 'InternalDNS', 'InternalIP'], [...p, 'type'], errs, true);
    if ((addr.type === 'InternalIP' || addr.type === 'ExternalIP') && typeof addr.address === 'string' && !parseIP(addr.address))
      errs.invalid([...p, 'address'], addr.address, 'must be a valid IP address');
  });
}

export function validateNamespace(obj: Obj, errs: FieldErrors): void {
  asArr(asObj(obj.spec)?.finalizers).forEach((f, i) => {
    if (typeof f === 'string') errs.each(['spec', 'finalizers', i], f, isQualifiedName(f));
  });
}
