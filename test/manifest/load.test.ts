// Loading manifests: documents, Lists, JSON, folders, and the positions every object keeps.
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadManifests, parseManifestText, readManifestText } from '../../src/manifest/load.js';
import { brief, yaml } from './helpers.js';

const FIX = resolve(import.meta.dirname, '../fixtures/manifests');

describe('positions', () => {
  const text = yaml`
    # a comment before the first document
    apiVersion: v1
    kind: Namespace
    metadata:
      name: shop
    ---
    ---
    apiVersion: v1
    kind: Service
    metadata:
      name: web
      namespace: shop
    spec:
      ports:
        - name: http
          port: 80
        - name: metrics
          port: 9090
          nodePort: 30090
  `;
  const { objects, diagnostics } = readManifestText(text, 'm.yaml');

  test('empty documents are skipped', () => {
    expect(diagnostics).toEqual([]);
    expect(objects.map((o) => o.object.kind)).toEqual(['Namespace', 'Service']);
  });
  test('the line of the nth document is the line of its first field', () => {
    expect(objects[0]!.source).toMatchObject({ file: 'm.yaml', line: 2 });
    expect(objects[1]!.source.line).toBe(8);
  });
  test('locate finds a nested field inside a list item', () => {
    expect(objects[1]!.source.locate!(['spec', 'ports', 1, 'nodePort'])).toEqual({ line: 19, column: 7 });
    expect(objects[1]!.source.locate!(['metadata', 'namespace'])).toEqual({ line: 12, column: 3 });
  });
  test('locate of a list item points at the item', () => {
    expect(objects[1]!.source.locate!(['spec', 'ports', 1])).toEqual({ line: 17, column: 7 });
  });
  test('locate of a path that is not in the text is undefined', () => {
    expect(objects[1]!.source.locate!(['spec', 'ports', 2])).toBeUndefined();
    expect(objects[1]!.source.locate!(['spec', 'selector'])).toBeUndefined();
  });
});

describe('kind: List', () => {
  const { objects } = loadManifests([resolve(FIX, 'list.yaml')], { validate: false });
  test('items are flattened, each with its own line', () => {
    expect(objects.map((o) => `${o.object.kind}/${o.object.metadata.name}@${o.source.line}`)).toEqual(['Namespace/one@4', 'Service/two@8']);
  });
  test('locate inside an item is relative to the item', () => {
    expect(objects[1]!.source.locate!(['spec', 'ports', 0, 'nodePort'])).toEqual({ line: 15, column: 11 });
  });
  test('errors inside an item name the item line and field', () => {
    const r = loadManifests([resolve(FIX, 'list.yaml')]);
    expect(brief(r.diagnostics.filter((d) => d.severity === 'error'))).toEqual([
      "spec.ports[0].nodePort@15: Forbidden: may not be used when `type` is 'ClusterIP'",
    ]);
  });
  test('a typed list such as ServiceList is flattened too', () => {
    const r = readManifestText('apiVersion: v1\nkind: ServiceList\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n', 'l.yaml');
    expect(r.objects.map((o) => o.object.metadata.name)).toEqual(['a']);
  });
});

describe('JSON', () => {
  test('a JSON object with tab indentation loads with positions', () => {
    const { objects, diagnostics } = loadManifests([resolve(FIX, 'app/sub/c-namespace.json')]);
    expect(diagnostics).toEqual([]);
    expect(objects[0]!.object.metadata.name).toBe('shop');
    expect(objects[0]!.source.locate!(['metadata', 'name'])!.line).toBe(5);
  });
});

describe('folders', () => {
  const r = loadManifests([resolve(FIX, 'app')]);
  test('are walked recursively, sorted by path, only .yaml/.yml/.json, hidden entries skipped', () => {
    expect(r.objects.map((o) => o.source.file.slice(FIX.length + 1))).toEqual(['app/a-deployment.yml', 'app/b-service.yaml', 'app/sub/c-namespace.json']);
  });
  test('a kustomization file is skipped with a note, not an error', () => {
    const k = r.diagnostics.find((d) => d.file?.endsWith('kustomization.yaml'));
    expect(k).toMatchObject({ severity: 'info', message: 'skipped: a kustomize file, not a manifest' });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });
  test('a missing path is an error naming it', () => {
    const m = loadManifests([resolve(FIX, 'nope')]);
    expect(m.diagnostics).toMatchObject([{ severity: 'error', file: resolve(FIX, 'nope'), message: 'no such file or directory' }]);
  });
});

describe('document shape', () => {
  test('a document that is a list is an error at its line', () => {
    const r = parseManifestText('apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n- a\n- b\n', 'x.yaml');
    expect(r.objects).toHaveLength(1);
    expect(r.diagnostics).toMatchObject([{ severity: 'error', line: 5, message: expect.stringContaining('must be a mapping') }]);
  });
  test('a scalar document is an error', () => {
    const r = parseManifestText('just text\n', 'x.yaml');
    expect(r.diagnostics[0]).toMatchObject({ severity: 'error', line: 1 });
  });
  test('missing apiVersion and kind are both reported, and the object is dropped', () => {
    const r = parseManifestText('metadata:\n  name: a\n', 'x.yaml');
    expect(r.objects).toEqual([]);
    expect(r.diagnostics.map((d) => `${d.field}: ${d.message}`)).toEqual(['apiVersion: apiVersion not set', 'kind: kind not set']);
  });
  test('YAML syntax errors carry file, line and column', () => {
    const r = parseManifestText('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: [a\n', 'bad.yaml');
    expect(r.diagnostics[0]).toMatchObject({ severity: 'error', file: 'bad.yaml', line: expect.any(Number) });
    expect(r.diagnostics[0]!.message).toMatch(/^YAML: /);
  });
  test('a duplicate key is an error at the second key', () => {
    const r = parseManifestText('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  name: b\n', 'dup.yaml');
    expect(r.diagnostics[0]).toMatchObject({ severity: 'error', line: 5, hint: expect.stringContaining('once') });
  });
  test('other documents of a file still load when one is broken', () => {
    const r = readManifestText('apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nkey: [unclosed\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n', 'x.yaml');
    expect(r.objects.map((o) => o.object.metadata.name)).toEqual(['a', 'b']);
  });
});

describe('YAML as kubectl reads it', () => {
  test('unquoted yes/on are booleans (YAML 1.1), so a label value yes is a type error with a quoting hint', () => {
    const r = parseManifestText('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels:\n    enabled: yes\n', 'x.yaml');
    expect(r.diagnostics).toMatchObject([
      { severity: 'error', line: 6, field: 'metadata.labels.enabled', message: 'must be a string, not a boolean (true)', hint: expect.stringContaining('quotes') },
    ]);
  });
  test('0644 is octal (420) and a date stays a string, as go-yaml v2 decodes them', () => {
    const r = readManifestText('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nmode: 0644\nday: 2024-01-02\n', 'x.yaml');
    expect(r.objects[0]!.object.mode).toBe(420);
    expect(r.objects[0]!.object.day).toBe('2024-01-02');
  });
  test('anchors and merge keys resolve, and locate follows the merge', () => {
    const text = yaml`
      apiVersion: v1
      kind: Pod
      metadata: {name: p}
      x-defaults: &d
        image: nginx
      spec:
        containers:
          - <<: *d
            name: a
    `;
    const r = readManifestText(text, 'x.yaml');
    const c = (r.objects[0]!.object.spec as { containers: { image: string }[] }).containers[0]!;
    expect(c.image).toBe('nginx');
    expect(r.objects[0]!.source.locate!(['spec', 'containers', 0, 'image'])!.line).toBe(5);
  });
});
