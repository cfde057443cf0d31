// YAML/JSON parsing that keeps positions: every document, and a `locate` that finds the line and
// column of any field path by walking the parsed node tree.
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node, type Tags } from 'yaml';
import type { Diagnostic } from './diagnostic.js';
import type { FieldPath } from './source.js';

export type Position = { line: number; column: number };

export interface ParsedYaml {
  docs: Document.Parsed[];
  lineCounter: LineCounter;
  diagnostics: Diagnostic[];
}

/**
 * `kubernetes`: decode like kubectl (sigs.k8s.io/yaml on go-yaml v2, i.e. YAML 1.1 booleans `yes`/`on`
 * and octal `0644`), but keep timestamps and sexagesimal numbers as strings as go-yaml v2 does.
 */
export function parseYaml(text: string, file: string, dialect: 'kubernetes' | 'kubepath' = 'kubernetes'): ParsedYaml {
  const lineCounter = new LineCounter();
  const diagnostics: Diagnostic[] = [];
  const parsed = parseAllDocuments(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    ...(dialect === 'kubernetes'
      ? {
          version: '1.1' as const,
          customTags: (tags: Tags) => tags.filter((t) => typeof t === 'string' || (t.tag !== 'tag:yaml.org,2002:timestamp' && !(t as { format?: string }).format?.startsWith('TIME'))),
        }
      : {}),
  });
  const docs = Array.isArray(parsed) ? parsed : [];
  for (const doc of docs) {
    for (const e of doc.errors) {
      const pos = lineCounter.linePos(e.pos[0]);
      diagnostics.push({
        severity: 'error',
        file,
        line: pos.line,
        column: pos.col,
        message: `YAML: ${firstLine(e.message)}`,
        hint: e.code === 'DUPLICATE_KEY' ? 'a key may appear only once in a mapping; remove one of them' : undefined,
      });
    }
  }
  return { docs, lineCounter, diagnostics };
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

export function positionOf(lc: LineCounter, offset: number): Position {
  const p = lc.linePos(offset);
  return { line: p.line, column: p.col };
}

export function nodeStart(node: Node | null | undefined, lc: LineCounter): Position | undefined {
  return node?.range ? positionOf(lc, node.range[0]) : undefined;
}

export function deref(doc: Document, node: unknown): unknown {
  let n = node;
  for (let i = 0; i < 16 && isAlias(n); i++) n = n.resolve(doc);
  return n;
}

/**
 * The node a path leads to, and the node to point at: for a map field the key (so the line shown is
 * the `name:` line), for a list item the item. Follows aliases and `<<` merges.
 */
export function findNode(doc: Document, root: Node, path: FieldPath): { value: unknown; at: Node } | undefined {
  let cur: unknown = deref(doc, root);
  let at: Node = root;
  for (const seg of path) {
    if (typeof seg === 'number') {
      if (!isSeq(cur)) return undefined;
      const item = cur.items[seg];
      if (item === undefined) return undefined;
      at = item as Node;
      cur = deref(doc, item);
    } else {
      const pair = findPair(doc, cur, seg);
      if (!pair) return undefined;
      at = (pair.key as Node) ?? at;
      cur = deref(doc, pair.value);
    }
  }
  return { value: cur, at };
}

function findPair(doc: Document, map: unknown, key: string, depth = 0): { key: unknown; value: unknown } | undefined {
  if (!isMap(map) || depth > 8) return undefined;
  let merge: unknown;
  for (const p of map.items) {
    const k = isScalar(p.key) ? p.key.value : p.key;
    if (k === '<<' || (typeof k === 'symbol' && k.description === '<<')) {
      merge = p.value;
      continue;
    }
    if (k === key || (k !== null && typeof k !== 'object' && typeof k !== 'symbol' && String(k) === key)) return p;
  }
  if (merge !== undefined) {
    const sources = isSeq(deref(doc, merge)) ? (deref(doc, merge) as { items: unknown[] }).items : [merge];
    for (const s of sources) {
      const found = findPair(doc, deref(doc, s), key, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

/** `locate` for a SourceRef: exact position of a field path, or undefined when the path is not in the text. */
export function makeLocate(doc: Document, root: Node, lc: LineCounter): (path: FieldPath) => Position | undefined {
  return (path) => {
    const found = findNode(doc, root, path);
    return found ? nodeStart(found.at, lc) : undefined;
  };
}

export interface EffectivePair {
  key: string;
  keyNode: Node;
  value: Node | null;
}

/** The pairs of a map as they decode: its own keys, then keys brought in by `<<` merges (own keys win). */
export function effectivePairs(doc: Document, map: unknown, depth = 0): EffectivePair[] {
  const m = deref(doc, map);
  if (!isMap(m) || depth > 8) return [];
  const own: EffectivePair[] = [];
  const merged: EffectivePair[] = [];
  for (const p of m.items.filter(isPair)) {
    const k = isScalar(p.key) ? p.key.value : p.key;
    if (k === '<<' || (typeof k === 'symbol' && k.description === '<<')) {
      const v = deref(doc, p.value);
      const sources = isSeq(v) ? v.items : [p.value];
      for (const src of sources) merged.push(...effectivePairs(doc, src, depth + 1));
      continue;
    }
    own.push({ key: String(k), keyNode: p.key as Node, value: deref(doc, p.value) as Node | null });
  }
  const seen = new Set(own.map((p) => p.key));
  return [...own, ...merged.filter((p) => !seen.has(p.key) && (seen.add(p.key), true))];
}
