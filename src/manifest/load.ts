// Reading Kubernetes manifests: files or folders, YAML multi-document or JSON, `kind: List`
// flattened; every object remembers its file, line and where each of its fields is.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { isMap, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { ClusterConfig } from '../cluster/config.js';
import { clusterConfig } from '../cluster/config.js';
import type { KObject } from '../cluster/object.js';
import type { LoadedObject } from '../scenario/types.js';
import { sortDiagnostics, type Diagnostic } from './diagnostic.js';
import { FieldErrors } from './field-errors.js';
import type { SourceRef } from './source.js';
import { validateObjects } from './validate.js';
import { makeLocate, nodeStart, parseYaml } from './yaml.js';

export interface LoadOptions {
  /** Cluster settings the checks depend on (NodePort range, service CIDRs). Defaults: clusterConfig(). */
  config?: ClusterConfig;
  /** Run the API-server checks (default true). Without them only syntax and shape are checked. */
  validate?: boolean;
}

export interface LoadResult {
  objects: LoadedObject[];
  diagnostics: Diagnostic[];
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
const KUSTOMIZE_FILES = new Set(['kustomization.yaml', 'kustomization.yml', 'Kustomization']);

/** Files and folders (recursive, sorted by path) → objects with positions, and every problem found. */
export function loadManifests(paths: readonly string[], opts: LoadOptions = {}): LoadResult {
  const objects: LoadedObject[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const file of manifestFiles(paths, diagnostics)) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      diagnostics.push({ severity: 'error', file, message: `cannot read: ${(e as Error).message}` });
      continue;
    }
    const r = readManifestText(text, file);
    objects.push(...r.objects);
    diagnostics.push(...r.diagnostics);
  }
  if (opts.validate !== false) diagnostics.push(...validateObjects(objects, { config: opts.config ?? clusterConfig() }));
  return { objects, diagnostics: sortDiagnostics(diagnostics) };
}

/** Inline text (a file's content) → objects, validated. */
export function parseManifestText(text: string, file: string, opts: LoadOptions = {}): LoadResult {
  const r = readManifestText(text, file);
  if (opts.validate !== false) r.diagnostics.push(...validateObjects(r.objects, { config: opts.config ?? clusterConfig() }));
  return { objects: r.objects, diagnostics: sortDiagnostics(r.diagnostics) };
}

/** The manifest files named by `paths`: files as given, folders walked for .yaml/.yml/.json. */
export function manifestFiles(paths: readonly string[], diagnostics: Diagnostic[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      diagnostics.push({ severity: 'error', file: p, message: 'no such file or directory', hint: 'check the path; relative paths are taken from the current directory or the scenario file' });
      continue;
    }
    if (st.isDirectory()) {
      const found: string[] = [];
      walk(p, found, diagnostics);
      found.sort();
      if (found.length === 0) diagnostics.push({ severity: 'warning', file: p, message: 'folder holds no .yaml, .yml or .json files' });
      out.push(...found);
    } else out.push(p);
  }
  return out;
}

function walk(dir: string, out: string[], diagnostics: Diagnostic[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) walk(full, out, diagnostics);
    else if (KUSTOMIZE_FILES.has(entry.name))
      diagnostics.push({ severity: 'info', file: full, message: 'skipped: a kustomize file, not a manifest', hint: 'run `kubectl kustomize` and give kubepath its output' });
    else if (MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase())) out.push(full);
  }
}

/** Parse without the API-server checks: documents, Lists, apiVersion/kind presence. */
export function readManifestText(text: string, file: string): LoadResult {
  const { docs, lineCounter, diagnostics } = parseYaml(text, file, 'kubernetes');
  const objects: LoadedObject[] = [];
  docs.forEach((doc) => {
    if (doc.errors.length) return; // already reported; the rest of this document cannot be trusted
    const root = doc.contents as Node | null;
    if (root === null || (!isMap(root) && !isSeq(root) && (root as { value?: unknown }).value == null)) return; // empty document
    objects.push(...objectsFromNode(doc, root, lineCounter, file, diagnostics));
  });
  return { objects, diagnostics };
}

/**
 * One YAML node holding a Kubernetes object (or a List of them) → LoadedObjects. Used for manifest
 * files and for objects written inline in kubepath's own files.
 */
export function objectsFromNode(doc: Document, node: Node, lc: LineCounter, file: string, diagnostics: Diagnostic[]): LoadedObject[] {
  const at = nodeStart(node, lc) ?? { line: 1, column: 1 };
  if (!isMap(node)) {
    diagnostics.push({
      severity: 'error',
      file,
      ...at,
      message: `a manifest document must be a mapping (an object with apiVersion, kind, metadata), not ${isSeq(node) ? 'a list' : 'a scalar'}`,
      hint: isSeq(node) ? 'put the objects under `items:` of a `kind: List`, or separate them with ---' : 'check the indentation of this document',
    });
    return [];
  }
  const source: SourceRef = { file, line: at.line, column: at.column, locate: makeLocate(doc, node, lc) };
  const value = node.toJS(doc, { maxAliasCount: 1000 }) as Record<string, unknown>;
  const errs = new FieldErrors(source, diagnostics);
  let ok = true;
  for (const f of ['apiVersion', 'kind'] as const) {
    const v = value[f];
    if (v === undefined || v === null || v === '') {
      errs.add('error', [f], `${f} not set`, f === 'apiVersion' ? 'e.g. apiVersion: apps/v1 for a Deployment, v1 for a Service' : 'e.g. kind: Deployment');
      ok = false;
    } else if (typeof v !== 'string') {
      errs.add('error', [f], `${f} must be a string`);
      ok = false;
    }
  }
  if (!ok) return [];
  const kind = value.kind as string;
  if (kind.endsWith('List') && Array.isArray(value.items)) {
    const items = node.get('items', true);
    if (!isSeq(items)) return [];
    const out: LoadedObject[] = [];
    for (const item of items.items) out.push(...objectsFromNode(doc, item as Node, lc, file, diagnostics));
    return out;
  }
  if (value.metadata === undefined || value.metadata === null) value.metadata = {};
  return [{ object: value as unknown as KObject, source }];
}
