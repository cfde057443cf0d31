// Reading kubepath's own YAML files (Profile, Scenario) field by field: every value read is
// type-checked, unknown keys are reported with a "did you mean", and every problem names file,
// line and field path. Problems are collected, never thrown, so all of them reach the user.
import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { Diagnostic, Severity } from './diagnostic.js';
import type { Path } from './field-errors.js';
import { formatFieldPath, type SourceRef } from './source.js';
import { closest } from './syntax.js';
import { deref, effectivePairs, makeLocate, nodeStart, parseYaml, type Position } from './yaml.js';

export class DocReader {
  readonly diagnostics: Diagnostic[] = [];
  constructor(
    readonly file: string,
    readonly doc: Document,
    readonly lc: LineCounter,
  ) {}

  root(): Field {
    return new Field(this, this.doc.contents as Node | null, [], undefined, { line: 1, column: 1 });
  }

  report(severity: Severity, path: Path, at: Position | undefined, message: string, hint?: string): void {
    const d: Diagnostic = { severity, file: this.file, message };
    if (at) {
      d.line = at.line;
      d.column = at.column;
    }
    if (path.length) d.field = formatFieldPath(path);
    if (hint) d.hint = hint;
    this.diagnostics.push(d);
  }

  /** A SourceRef for the object at `node`, whose `locate` takes paths relative to it. */
  sourceOf(node: Node | null | undefined): SourceRef {
    const at = nodeStart(node, this.lc) ?? { line: 1, column: 1 };
    return node ? { file: this.file, line: at.line, column: at.column, locate: makeLocate(this.doc, node, this.lc) } : { file: this.file, line: at.line };
  }
}

/** One value in the document (possibly absent), with its path and position. */
export class Field {
  constructor(
    readonly reader: DocReader,
    readonly node: Node | null | undefined,
    readonly path: Path,
    readonly keyNode: Node | undefined,
    private readonly fallback: Position,
  ) {}

  get present(): boolean {
    return this.node !== undefined && this.node !== null && !(isScalar(this.node) && this.node.value === null);
  }

  /** Where to point: the key of a map field, else the value, else the nearest parent. */
  get pos(): Position {
    return nodeStart(this.keyNode, this.reader.lc) ?? nodeStart(this.node, this.reader.lc) ?? this.fallback;
  }

  /** Position of the value itself. */
  get valuePos(): Position {
    return nodeStart(this.node, this.reader.lc) ?? this.pos;
  }

  error(message: string, hint?: string): void {
    this.reader.report('error', this.path, this.pos, message, hint);
  }
  warning(message: string, hint?: string): void {
    this.reader.report('warning', this.path, this.pos, message, hint);
  }
  info(message: string, hint?: string): void {
    this.reader.report('info', this.path, this.pos, message, hint);
  }

  get isMap(): boolean {
    return isMap(this.node);
  }
  get isSeq(): boolean {
    return isSeq(this.node);
  }
  get isScalar(): boolean {
    return isScalar(this.node);
  }

  /** Plain JS value. */
  toJS(): unknown {
    return this.present ? (this.node as Node).toJS(this.reader.doc) : undefined;
  }

  get keys(): string[] {
    return effectivePairs(this.reader.doc, this.node).map((p) => p.key);
  }

  get(key: string): Field {
    const p = effectivePairs(this.reader.doc, this.node).find((e) => e.key === key);
    if (p) return new Field(this.reader, p.value, [...this.path, key], p.keyNode, this.pos);
    return new Field(this.reader, undefined, [...this.path, key], undefined, this.pos);
  }

  /** Checks this is a mapping whose keys are all in `known`; returns false (and reports) otherwise. */
  expectMap(known: readonly string[], what = 'this'): boolean {
    if (!this.present) return false;
    if (!isMap(this.node)) {
      this.error(`must be a mapping (key: value pairs), not ${isSeq(this.node) ? 'a list' : 'a scalar'}`, `${what} takes the fields ${known.join(', ')}`);
      return false;
    }
    for (const p of effectivePairs(this.reader.doc, this.node)) {
      const k = p.key;
      if (known.includes(k)) continue;
      const guess = closest(k, known);
      const at = nodeStart(p.keyNode, this.reader.lc) ?? this.pos;
      this.reader.report('error', [...this.path, k], at, `unknown field "${k}"`, guess ? `did you mean ${guess}?` : `${what} takes the fields ${known.join(', ')}`);
    }
    return true;
  }

  list(): Field[] {
    if (!this.present) return [];
    if (!isSeq(this.node)) {
      this.error('must be a list', 'start each item with "- "');
      return [];
    }
    return this.node.items.map((n, i) => new Field(this.reader, deref(this.reader.doc, n) as Node, [...this.path, i], undefined, this.pos));
  }

  /** A string (numbers are accepted and converted, since YAML writers often leave them unquoted). */
  str(opts: { required?: boolean; values?: readonly string[]; hint?: string } = {}): string | undefined {
    if (!this.present) {
      if (opts.required) this.error('Required value', opts.hint ?? (opts.values ? `one of ${opts.values.join(', ')}` : undefined));
      return undefined;
    }
    const v = this.toJS();
    if (typeof v !== 'string' && typeof v !== 'number') {
      this.error(`must be a string, not ${describe(v)}`, opts.hint);
      return undefined;
    }
    const s = String(v);
    if (opts.values && !opts.values.includes(s)) {
      const guess = closest(s, opts.values);
      this.error(`Unsupported value: ${JSON.stringify(s)}: supported values: ${opts.values.map((x) => JSON.stringify(x)).join(', ')}`, guess ? `did you mean ${guess}?` : undefined);
      return undefined;
    }
    return s;
  }

  int(opts: { required?: boolean; min?: number; max?: number; hint?: string } = {}): number | undefined {
    if (!this.present) {
      if (opts.required) this.error('Required value', opts.hint);
      return undefined;
    }
    const v = this.toJS();
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.error(`must be an integer, not ${describe(v)}`, opts.hint);
      return undefined;
    }
    if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) {
      const range = opts.max === undefined ? `at least ${opts.min}` : opts.min === undefined ? `at most ${opts.max}` : `between ${opts.min} and ${opts.max}`;
      this.error(`Invalid value: ${v}: must be ${range}`, opts.hint);
      return undefined;
    }
    return v;
  }

  num(opts: { required?: boolean; min?: number } = {}): number | undefined {
    if (!this.present) {
      if (opts.required) this.error('Required value');
      return undefined;
    }
    const v = this.toJS();
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.error(`must be a number, not ${describe(v)}`);
      return undefined;
    }
    if (opts.min !== undefined && v < opts.min) {
      this.error(`Invalid value: ${v}: must be at least ${opts.min}`);
      return undefined;
    }
    return v;
  }

  bool(): boolean | undefined {
    if (!this.present) return undefined;
    const v = this.toJS();
    if (typeof v !== 'boolean') {
      this.error(`must be true or false, not ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  /** A map of string → string (labels). */
  stringMap(): Record<string, string> | undefined {
    if (!this.present) return undefined;
    if (!isMap(this.node)) {
      this.error('must be a mapping of strings');
      return undefined;
    }
    const out: Record<string, string> = {};
    for (const k of this.keys) {
      const v = this.get(k).str();
      if (v !== undefined) out[k] = v;
      else if (!this.get(k).present) out[k] = '';
    }
    return out;
  }
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v === 'number' ? 'a number' : typeof v === 'boolean' ? 'a boolean' : 'a string'} (${JSON.stringify(v)})`;
}

/**
 * A kubepath file: exactly one document with `apiVersion: kubepath.dev/v1alpha1`, the expected
 * `kind`, `metadata.name` and a `spec`. Returns the reader (with any problems) and the fields.
 */
export function readKubepathDoc(
  text: string,
  file: string,
  kind: string,
  apiVersion: string,
  dialect: 'kubernetes' | 'kubepath' = 'kubepath',
): { reader?: DocReader; name?: string; root?: Field; spec?: Field; diagnostics: Diagnostic[] } {
  const { docs, lineCounter, diagnostics } = parseYaml(text, file, dialect);
  if (diagnostics.length) return { diagnostics };
  const nonEmpty = docs.filter((d) => d.contents !== null && !(isScalar(d.contents) && d.contents.value === null));
  if (nonEmpty.length !== 1) {
    const at = nonEmpty[1] ? nodeStart(nonEmpty[1].contents as Node, lineCounter) : undefined;
    diagnostics.push({
      severity: 'error',
      file,
      ...(at ?? {}),
      message: nonEmpty.length === 0 ? `empty file: expected a ${kind}` : `a ${kind} file holds one document, found ${nonEmpty.length}`,
    });
    return { diagnostics };
  }
  const reader = new DocReader(file, nonEmpty[0]!, lineCounter);
  const root = reader.root();
  if (!root.isMap) {
    root.error(`a ${kind} must be a mapping with apiVersion, kind, metadata and spec`);
    return { reader, diagnostics: reader.diagnostics };
  }
  root.expectMap(['apiVersion', 'kind', 'metadata', 'spec'], kind);
  const av = root.get('apiVersion').str({ required: true, hint: `apiVersion: ${apiVersion}` });
  if (av !== undefined && av !== apiVersion) root.get('apiVersion').error(`Unsupported value: ${JSON.stringify(av)}`, `use apiVersion: ${apiVersion}`);
  const k = root.get('kind').str({ required: true, hint: `kind: ${kind}` });
  if (k !== undefined && k !== kind) root.get('kind').error(`expected kind ${kind}, found ${JSON.stringify(k)}`);
  const meta = root.get('metadata');
  meta.expectMap(['name', 'description', 'labels', 'annotations'], 'metadata');
  const name = meta.get('name').str({ required: true, hint: 'give it a name, e.g. metadata: {name: my-cluster}' });
  const spec = root.get('spec');
  if (!spec.present) spec.error('Required value', `a ${kind} needs a spec`);
  return { reader, name, root, spec, diagnostics: reader.diagnostics };
}
