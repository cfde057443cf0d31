// Errors for bad input are values: file, line, field and a sentence a user can act on.

export type Severity = 'error' | 'warning' | 'info';

export interface Diagnostic {
  severity: Severity;
  message: string;
  file?: string;
  line?: number;
  column?: number;
  /** The field path as kubectl would name it, e.g. `spec.ports[0].nodePort`. */
  field?: string;
  /** What to do about it. */
  hint?: string;
}

/** Thrown when input cannot be used; carries every diagnostic found, not only the first. */
export class InputError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic).join('\n') || 'invalid input');
    this.name = 'InputError';
  }
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.file ? `${d.file}${d.line ? `:${d.line}${d.column ? `:${d.column}` : ''}` : ''}: ` : '';
  const field = d.field ? `${d.field}: ` : '';
  const hint = d.hint ? ` (${d.hint})` : '';
  return `${where}${d.severity}: ${field}${d.message}${hint}`;
}

export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === 'error');
}

/** Files in the order they first appear, then reading order within a file; stable otherwise. */
export function sortDiagnostics(ds: readonly Diagnostic[]): Diagnostic[] {
  const fileOrder = new Map<string, number>();
  for (const d of ds) if (!fileOrder.has(d.file ?? '')) fileOrder.set(d.file ?? '', fileOrder.size);
  return [...ds].sort(
    (a, b) => fileOrder.get(a.file ?? '')! - fileOrder.get(b.file ?? '')! || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0),
  );
}
