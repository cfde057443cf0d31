// Strict decoding, as `kubectl apply --validate=strict` (server-side field validation) does it:
// unknown fields and values of the wrong JSON type are errors, each named by its field path.
import type { FieldErrors, Path } from './field-errors.js';
import { isQuantity, QUANTITY_REGEX_MESSAGE } from './quantity.js';
import { ROOT_TYPES, TYPES } from './schema.generated.js';
import { closest } from './syntax.js';

/** The root schema type for a served `apiVersion` + `kind`, if kubepath has one. */
export function rootType(apiVersion: string, kind: string): string | undefined {
  return ROOT_TYPES[`${apiVersion}/${kind}`];
}

export function knownFields(type: string): string[] {
  return Object.keys(TYPES[type] ?? {});
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object') return jsonType(v);
  return String(v);
}

function mismatch(errs: FieldErrors, path: Path, want: string, v: unknown): void {
  let hint: string | undefined;
  if (want === 'string' && typeof v === 'boolean') hint = 'YAML reads unquoted yes/no/on/off/true/false as booleans: put the value in quotes';
  else if (want === 'string' && typeof v === 'number') hint = 'put the value in quotes to make it a string';
  else if ((want === 'integer' || want === 'integer or string') && typeof v === 'string' && /^-?\d+$/.test(v)) hint = 'write the number without quotes';
  else if (want === 'integer' && typeof v === 'string') hint = 'this field takes a number';
  else if (want === 'list' && isPlainObject(v)) hint = 'start each item with "- "';
  errs.add('error', path, `must be ${want === 'integer' || want === 'object' ? 'an' : 'a'} ${want}, not ${jsonType(v) === 'integer' ? 'an' : 'a'} ${jsonType(v)} (${shown(v)})`, hint);
}

/** Walks `value` against the schema type `code`, reporting unknown fields and wrong types. */
export function checkStrict(value: unknown, code: string, path: Path, errs: FieldErrors): void {
  if (value === null || value === undefined) return; // null decodes to the zero value
  switch (code) {
    case 'any':
      return;
    case 's':
      if (typeof value !== 'string') mismatch(errs, path, 'string', value);
      return;
    case 'b':
      if (typeof value !== 'boolean') mismatch(errs, path, 'boolean', value);
      return;
    case 'i':
      if (typeof value !== 'number' || !Number.isInteger(value)) mismatch(errs, path, 'integer', value);
      return;
    case 'is':
      if (typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value))) return;
      mismatch(errs, path, 'integer or string', value);
      return;
    case 'q':
      if (typeof value !== 'string' && typeof value !== 'number') mismatch(errs, path, 'quantity', value);
      else if (!isQuantity(value)) errs.invalid(path, value, QUANTITY_REGEX_MESSAGE, 'for example cpu: 500m or 0.5, memory: 128Mi or 1Gi');
      return;
  }
  if (code.startsWith('[]')) {
    if (!Array.isArray(value)) return mismatch(errs, path, 'list', value);
    const item = code.slice(2);
    value.forEach((v, i) => checkStrict(v, item, [...path, i], errs));
    return;
  }
  if (code.startsWith('{}')) {
    if (!isPlainObject(value)) return mismatch(errs, path, 'object', value);
    const item = code.slice(2);
    for (const [k, v] of Object.entries(value)) checkStrict(v, item, [...path, k], errs);
    return;
  }
  if (code.startsWith('@')) {
    const fields = TYPES[code.slice(1)];
    if (!fields) return;
    if (!isPlainObject(value)) return mismatch(errs, path, 'object', value);
    for (const [k, v] of Object.entries(value)) {
      const fc = fields[k];
      if (fc === undefined) {
        const guess = closest(k, Object.keys(fields));
        const known = Object.keys(fields);
        const hint = guess ? `did you mean ${guess}?` : known.length <= 12 ? `known fields here: ${known.join(', ')}` : 'remove it, or check its indentation';
        errs.add('error', [...path, k], `unknown field "${k}"`, hint);
      } else checkStrict(v, fc, [...path, k], errs);
    }
  }
}
