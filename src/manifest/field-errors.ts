// Collects field errors the way apimachinery's field.ErrorList words them ("Required value",
// "Invalid value: …", "Unsupported value: …"), turned into Diagnostics that name file, line and field.
import type { Diagnostic, Severity } from './diagnostic.js';
import { formatFieldPath, type FieldPath, type SourceRef } from './source.js';

export type Path = ReadonlyArray<string | number>;

export function formatValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined) return 'null';
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export class FieldErrors {
  constructor(
    readonly source: SourceRef | undefined,
    readonly out: Diagnostic[] = [],
  ) {}

  /** Position of a path, or of its nearest ancestor present in the text. */
  position(path: FieldPath): { line?: number; column?: number } {
    const src = this.source;
    if (!src) return {};
    if (src.locate) {
      for (let n = path.length; n > 0; n--) {
        const p = src.locate(path.slice(0, n));
        if (p) return { line: p.line, column: p.column };
      }
    }
    return { line: src.line, column: src.column };
  }

  add(severity: Severity, path: Path, message: string, hint?: string): void {
    const pos = this.position(path);
    const d: Diagnostic = { severity, message, ...(this.source ? { file: this.source.file } : {}), ...pos };
    if (path.length) d.field = formatFieldPath(path);
    if (hint) d.hint = hint;
    this.out.push(d);
  }

  required(path: Path, detail = '', hint?: string): void {
    this.add('error', path, detail ? `Required value: ${detail}` : 'Required value', hint);
  }

  invalid(path: Path, value: unknown, detail: string, hint?: string): void {
    this.add('error', path, `Invalid value: ${formatValue(value)}: ${detail}`, hint);
  }

  notSupported(path: Path, value: unknown, supported: readonly string[], hint?: string): void {
    this.add('error', path, `Unsupported value: ${formatValue(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`, hint);
  }

  forbidden(path: Path, detail: string, hint?: string): void {
    this.add('error', path, `Forbidden: ${detail}`, hint);
  }

  duplicate(path: Path, value: unknown, hint?: string): void {
    this.add('error', path, `Duplicate value: ${formatValue(value)}`, hint);
  }

  notFound(path: Path, value: unknown, hint?: string): void {
    this.add('error', path, `Not found: ${formatValue(value)}`, hint);
  }

  tooMany(path: Path, actual: number, max: number): void {
    this.add('error', path, `Too many: ${actual}: must have at most ${max} items`);
  }

  warning(path: Path, message: string, hint?: string): void {
    this.add('warning', path, message, hint);
  }

  info(path: Path, message: string, hint?: string): void {
    this.add('info', path, message, hint);
  }

  /** Each message of a syntax check as an Invalid error. */
  each(path: Path, value: unknown, messages: string[], hint?: string): boolean {
    for (const m of messages) this.invalid(path, value, m, hint);
    return messages.length === 0;
  }
}
