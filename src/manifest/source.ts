// Where an object came from, so that any later error about it can name the file and line.

export type FieldPath = ReadonlyArray<string | number>;

export interface SourceRef {
  file: string;
  line: number;
  column?: number;
  /** Line and column of a field inside this object, when the loader kept positions. */
  locate?(path: FieldPath): { line: number; column: number } | undefined;
}

/** `spec.ports[0].nodePort` from ['spec', 'ports', 0, 'nodePort']. */
export function formatFieldPath(path: FieldPath): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${p}` : p;
  return s;
}

/** ['spec', 'ports', 0, 'nodePort'] from `spec.ports[0].nodePort`. */
export function parseFieldPath(field: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}
