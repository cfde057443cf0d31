// ObjectMeta, labels, annotations and label selectors, as apimachinery validates them.
import type { FieldErrors, Path } from './field-errors.js';
import type { NameRule } from './kinds.js';
import { isDNS1035Label, isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidLabelValue } from './syntax.js';

export type Obj = Record<string, unknown>;

export const asObj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);
export const asArr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const asStr = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const asInt = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) ? v : undefined);
/** Absent or an empty list; a value of the wrong type is not missing (strict decoding reports it). */
export const isMissingList = (v: unknown): boolean => v === undefined || v === null || (Array.isArray(v) && v.length === 0);
export const asBool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);

export function nameCheck(rule: NameRule): (v: string) => string[] {
  return rule === 'label' ? isDNS1123Label : rule === 'dns1035' ? isDNS1035Label : isDNS1123Subdomain;
}

const TOTAL_ANNOTATION_SIZE = 256 * 1024;

export function validateObjectMeta(meta: unknown, rule: NameRule, namespaced: boolean, errs: FieldErrors): void {
  const m = asObj(meta);
  const path: Path = ['metadata'];
  if (!m) {
    if (meta === undefined || meta === null) errs.required([...path, 'name'], 'name or generateName is required');
    return;
  }
  const name = asStr(m.name);
  if (!name) {
    if (asStr(m.generateName))
      errs.required([...path, 'name'], 'name is required', 'kubepath applies manifests like `kubectl apply`, which does not support generateName; give the object a name');
    else errs.required([...path, 'name'], 'name or generateName is required');
  } else errs.each([...path, 'name'], name, nameCheck(rule)(name));
  const ns = asStr(m.namespace);
  if (ns !== undefined && ns !== '') {
    if (!namespaced) errs.warning([...path, 'namespace'], 'ignored: this kind is not namespaced');
    else errs.each([...path, 'namespace'], ns, isDNS1123Label(ns));
  }
  validateLabels(m.labels, [...path, 'labels'], errs);
  validateAnnotations(m.annotations, [...path, 'annotations'], errs);
}

export function validateLabels(labels: unknown, path: Path, errs: FieldErrors): void {
  const l = asObj(labels);
  if (!l) return;
  for (const [k, v] of Object.entries(l)) {
    errs.each([...path, k], k, isQualifiedName(k));
    if (typeof v === 'string') errs.each([...path, k], v, isValidLabelValue(v));
  }
}

export function validateAnnotations(annotations: unknown, path: Path, errs: FieldErrors): void {
  const a = asObj(annotations);
  if (!a) return;
  let size = 0;
  for (const [k, v] of Object.entries(a)) {
    errs.each([...path, k], k, isQualifiedName(k.toLowerCase()));
    size += k.length + (typeof v === 'string' ? v.length : 0);
  }
  if (size > TOTAL_ANNOTATION_SIZE) errs.add('error', path, `Too long: must have at most ${TOTAL_ANNOTATION_SIZE} bytes`);
}

/** metav1.LabelSelector: matchLabels as labels, matchExpressions with In/NotIn/Exists/DoesNotExist. */
export function validateLabelSelector(sel: unknown, path: Path, errs: FieldErrors): void {
  const s = asObj(sel);
  if (!s) return;
  validateLabels(s.matchLabels, [...path, 'matchLabels'], errs);
  asArr(s.matchExpressions).forEach((r, i) => {
    const req = asObj(r);
    if (!req) return;
    const p: Path = [...path, 'matchExpressions', i];
    const values = asArr(req.values);
    switch (req.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) errs.required([...p, 'values'], "must be specified when `operator` is 'In' or 'NotIn'");
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) errs.forbidden([...p, 'values'], "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
        break;
      case undefined:
        errs.required([...p, 'operator']);
        break;
      default:
        errs.invalid([...p, 'operator'], req.operator, 'not a valid selector operator', 'use In, NotIn, Exists or DoesNotExist');
    }
    const key = asStr(req.key);
    if (key === undefined) errs.required([...p, 'key']);
    else errs.each([...p, 'key'], key, isQualifiedName(key));
    values.forEach((v, j) => {
      if (typeof v === 'string') errs.each([...p, 'values', j], v, isValidLabelValue(v));
    });
  });
}

/** Does a LabelSelector (already valid) select these labels? Used for selector/template checks. */
export function selectorMatches(sel: Obj, labels: Record<string, unknown>): boolean {
  for (const [k, v] of Object.entries(asObj(sel.matchLabels) ?? {})) if (labels[k] !== v) return false;
  for (const r of asArr(sel.matchExpressions)) {
    const req = asObj(r) ?? {};
    const key = String(req.key);
    const has = Object.prototype.hasOwnProperty.call(labels, key);
    const values = asArr(req.values);
    if (req.operator === 'In' && !(has && values.includes(labels[key]))) return false;
    if (req.operator === 'NotIn' && has && values.includes(labels[key])) return false;
    if (req.operator === 'Exists' && !has) return false;
    if (req.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

export function isEmptySelector(sel: Obj): boolean {
  return Object.keys(asObj(sel.matchLabels) ?? {}).length === 0 && asArr(sel.matchExpressions).length === 0;
}

export function validateNonnegative(v: unknown, path: Path, errs: FieldErrors): void {
  if (typeof v === 'number' && v < 0) errs.invalid(path, v, 'must be greater than or equal to 0');
}

export function validatePositive(v: unknown, path: Path, errs: FieldErrors): void {
  if (typeof v === 'number' && v <= 0) errs.invalid(path, v, 'must be greater than 0');
}

export function oneOf(v: unknown, values: readonly string[], path: Path, errs: FieldErrors, required = false): void {
  if (v === undefined || v === null || v === '') {
    if (required) errs.required(path, '', `one of ${values.join(', ')}`);
    return;
  }
  if (typeof v === 'string' && !values.includes(v)) errs.notSupported(path, v, values);
}
