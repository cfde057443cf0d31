// Generates src/manifest/schema.generated.ts (the known fields of every type reachable from the
// simulated kinds) from the `kubernetes-types` declarations, so strict decoding needs no runtime
// dependency. Run: npx tsx test/manifest/generate-schema.ts   (schema-generated.test.ts checks it is fresh)
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Root types: `apiVersion/Kind` → declaration (`group/version` file, interface name). */
export const ROOTS: Record<string, string> = {
  'v1/Namespace': 'core/v1.Namespace',
  'v1/Node': 'core/v1.Node',
  'v1/Pod': 'core/v1.Pod',
  'v1/Service': 'core/v1.Service',
  'v1/Endpoints': 'core/v1.Endpoints',
  'apps/v1/Deployment': 'apps/v1.Deployment',
  'apps/v1/ReplicaSet': 'apps/v1.ReplicaSet',
  'apps/v1/StatefulSet': 'apps/v1.StatefulSet',
  'apps/v1/DaemonSet': 'apps/v1.DaemonSet',
  'batch/v1/Job': 'batch/v1.Job',
  'discovery.k8s.io/v1/EndpointSlice': 'discovery/v1.EndpointSlice',
  'networking.k8s.io/v1/Ingress': 'networking/v1.Ingress',
  'networking.k8s.io/v1/IngressClass': 'networking/v1.IngressClass',
  'networking.k8s.io/v1/NetworkPolicy': 'networking/v1.NetworkPolicy',
};

/** Fields added upstream after the kubernetes-types release we build from (1.30). */
const LATER_FIELDS: Record<string, Record<string, string>> = {
  'discovery/v1.EndpointHints': { forNodes: '[]@discovery/v1.ForNode' },
  'discovery/v1.ForNode': { name: 's' },
  'core/v1.PodSpec': { resources: '@core/v1.ResourceRequirements', hostnameOverride: 's' },
  'core/v1.Lifecycle': { stopSignal: 's' },
};

/** Aliases and opaque types, by declaration name. */
const SPECIAL: Record<string, string> = {
  'api/resource.Quantity': 'q',
  'meta/v1.Time': 's',
  'meta/v1.MicroTime': 's',
  'meta/v1.FieldsV1': 'any',
  'runtime.RawExtension': 'any',
};

interface Decl {
  file: string;
  node: ts.InterfaceDeclaration;
  imports: Map<string, string>;
}

const require = createRequire(import.meta.url);
const typesRoot = dirname(require.resolve('kubernetes-types/package.json'));

const sources = new Map<string, ts.SourceFile>();
function sourceOf(file: string): ts.SourceFile {
  let sf = sources.get(file);
  if (!sf) {
    const text = readFileSync(join(typesRoot, `${file}.d.ts`), 'utf8');
    sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
    sources.set(file, sf);
  }
  return sf;
}

function findDecl(id: string): Decl {
  const dot = id.lastIndexOf('.');
  const file = id.slice(0, dot);
  const name = id.slice(dot + 1);
  const sf = sourceOf(file);
  const imports = new Map<string, string>();
  let node: ts.InterfaceDeclaration | undefined;
  for (const st of sf.statements) {
    if (ts.isImportDeclaration(st) && st.importClause?.namedBindings && ts.isNamedImports(st.importClause.namedBindings)) {
      const from = (st.moduleSpecifier as ts.StringLiteral).text;
      const target = join(dirname(`/${file}`), from).slice(1);
      for (const el of st.importClause.namedBindings.elements) imports.set(el.name.text, `${target}.${el.name.text}`);
    }
    if (ts.isInterfaceDeclaration(st) && st.name.text === name) node = st;
  }
  if (!node) throw new Error(`no interface ${id}`);
  return { file, node, imports };
}

function qualify(decl: Decl, name: string): string {
  return decl.imports.get(name) ?? `${decl.file}.${name}`;
}

function encode(decl: Decl, t: ts.TypeNode, refs: Set<string>): string {
  if (t.kind === ts.SyntaxKind.StringKeyword) return 's';
  if (t.kind === ts.SyntaxKind.NumberKeyword) return 'i';
  if (t.kind === ts.SyntaxKind.BooleanKeyword) return 'b';
  if (ts.isLiteralTypeNode(t)) return 's';
  if (ts.isUnionTypeNode(t)) {
    const kinds = new Set(t.types.map((u) => encode(decl, u, refs)));
    if (kinds.size === 2 && kinds.has('i') && kinds.has('s')) return 'is';
    throw new Error(`union ${t.getText()}`);
  }
  if (ts.isArrayTypeNode(t)) return `[]${encode(decl, t.elementType, refs)}`;
  if (ts.isTypeLiteralNode(t)) {
    const idx = t.members.find(ts.isIndexSignatureDeclaration);
    if (idx && t.members.length === 1) return `{}${encode(decl, idx.type, refs)}`;
    throw new Error(`type literal ${t.getText()}`);
  }
  if (ts.isTypeReferenceNode(t)) {
    const name = t.typeName.getText();
    if (name === 'Array') return `[]${encode(decl, t.typeArguments![0]!, refs)}`;
    if (name === 'Record') return `{}${encode(decl, t.typeArguments![1]!, refs)}`;
    const id = qualify(decl, name);
    if (SPECIAL[id]) return SPECIAL[id]!;
    refs.add(id);
    return `@${id}`;
  }
  if (t.kind === ts.SyntaxKind.AnyKeyword || t.kind === ts.SyntaxKind.UnknownKeyword || t.kind === ts.SyntaxKind.ObjectKeyword) return 'any';
  throw new Error(`type ${t.getText()}`);
}

export function generateSchema(): string {
  const types = new Map<string, Record<string, string>>();
  const queue = [...Object.values(ROOTS)];
  while (queue.length) {
    const id = queue.shift()!;
    if (types.has(id)) continue;
    const decl = findDecl(id);
    const fields: Record<string, string> = {};
    const refs = new Set<string>();
    for (const m of decl.node.members) {
      if (!ts.isPropertySignature(m) || !m.type) continue;
      const name = ts.isStringLiteral(m.name) ? m.name.text : m.name.getText();
      fields[name] = encode(decl, m.type, refs);
    }
    for (const [k, v] of Object.entries(LATER_FIELDS[id] ?? {})) {
      fields[k] = v;
      for (const r of v.matchAll(/@([\w./]+)/g)) if (!LATER_FIELDS[r[1]!]) refs.add(r[1]!);
    }
    const sorted: Record<string, string> = {};
    for (const k of Object.keys(fields).sort()) sorted[k] = fields[k]!;
    types.set(id, sorted);
    for (const r of [...refs].sort()) if (!types.has(r)) queue.push(r);
  }
  for (const [id, fields] of Object.entries(LATER_FIELDS)) if (!types.has(id)) types.set(id, fields);

  const lines = [
    '// GENERATED by test/manifest/generate-schema.ts from kubernetes-types; do not edit.',
    '// Field codes: s string, i integer, b boolean, is int-or-string, q quantity, any, @T type, []T list, {}T map.',
    '',
    '/** Known fields of every type reachable from a simulated kind. */',
    'export const TYPES: Record<string, Record<string, string>> = {',
  ];
  for (const id of [...types.keys()].sort()) {
    const fs = Object.entries(types.get(id)!).map(([k, v]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: '${v}'`);
    lines.push(`  '${id}': { ${fs.join(', ')} },`);
  }
  lines.push('};', '', '/** `apiVersion/Kind` → root type. */', 'export const ROOT_TYPES: Record<string, string> = {');
  for (const [k, v] of Object.entries(ROOTS)) lines.push(`  '${k}': '${v}',`);
  lines.push('};', '');
  return lines.join('\n');
}

export const SCHEMA_FILE = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/manifest/schema.generated.ts');

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(SCHEMA_FILE, generateSchema());
  console.log(`wrote ${SCHEMA_FILE}`);
}
