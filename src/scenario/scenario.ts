// Scenario files: a profile, the manifests, a timeline of actions and expectations about the
// cluster. A plain manifest file or folder is a scenario too: those manifests on the default profile.
//
//   spec:
//     profile: bare-metal | ./path/to/profile.yaml     seed: 1     description: ...
//     manifests: [./app, ./extra.yaml]                  objects: [<inline Kubernetes objects>]
//     timeline:                        (a target without namespace means `default`)
//       - {at: 30s, scale: deployment/shop/web, replicas: 5}        deployment|replicaset|statefulset
//       - {at: 1m, rollout: deployment/shop/web, image: nginx:1.27, container: web}   or templatePatch: {...}; neither = restart
//       - {at: 2m, nodeNotReady: node-2}      also nodeReady, cordon, uncordon, drain, deleteNode
//       - {at: 10s, deletePod: shop/web-abc}
//       - {at: 5s, setPodReady: shop/web-abc, ready: false}
//       - {at: 1m, apply: ./more.yaml}        or one inline object, or a list of them
//       - {at: 1m, delete: service/shop/web}
//     expect:
//       - {at: 90s, endpoints: shop/web, ready: 3, serving: 3, terminating: 0, total: 3, name: optional}
//       - {at: 90s, pods: {namespace: shop, selector: app=web}, running: 3, ready: 3, total: 3}
//   Durations: 30s, 2m, 1h30m, 500ms; a plain number is seconds.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import type { Node } from 'yaml';
import { clusterConfig } from '../cluster/config.js';
import type { KObject } from '../cluster/object.js';
import { hasErrors, InputError, sortDiagnostics, type Diagnostic } from '../manifest/diagnostic.js';
import { readKubepathDoc, type Field } from '../manifest/doc-reader.js';
import { FieldErrors } from '../manifest/field-errors.js';
import { contains, parseCIDR, parseIP } from '../manifest/ip.js';
import { kindFromAlias } from '../manifest/kinds.js';
import { loadManifests, objectsFromNode } from '../manifest/load.js';
import { closest, isDNS1123Subdomain, isQualifiedName, isValidLabelValue } from '../manifest/syntax.js';
import { validateObjects } from '../manifest/validate.js';
import { DURATION_HINT, parseDuration } from './duration.js';
import { defaultProfilePath, readProfileFile, resolveProfilePath } from './profile.js';
import { enclosingSubnet } from '../net/cidr.js';
import { parseSelector } from './selector.js';
import {
  KUBEPATH_API_VERSION,
  type Expectation,
  type LoadedObject,
  type NodeSpec,
  type ObjectRef,
  type Profile,
  type Scenario,
  type TimelineAction,
  type TimelineEvent,
  type WorkloadRef,
} from './types.js';

export interface LoadScenarioOptions {
  /** `--profile` values; the first replaces the scenario's profile (paths from the current directory). */
  profiles?: string[];
}

const SPEC_FIELDS = ['description', 'profile', 'seed', 'manifests', 'objects', 'timeline', 'expect'];
const NODE_ACTIONS = ['nodeNotReady', 'nodeReady', 'cordon', 'uncordon', 'drain', 'deleteNode'] as const;
/** Each action's key, and the other fields it takes. */
const ACTIONS: Record<string, readonly string[]> = {
  scale: ['replicas'],
  rollout: ['image', 'container', 'templatePatch'],
  deletePod: [],
  setPodReady: ['ready'],
  apply: [],
  delete: [],
  ...Object.fromEntries(NODE_ACTIONS.map((a) => [a, []])),
};
const EXPECT_KINDS: Record<string, readonly string[]> = {
  endpoints: ['ready', 'serving', 'terminating', 'total'],
  pods: ['running', 'ready', 'total'],
};
const EXAMPLE_ACTIONS = '{at: 30s, scale: deployment/web, replicas: 5}, {at: 2m, nodeNotReady: node-2}, {at: 60s, rollout: deployment/shop/web, image: nginx:1.27}';

/** A Scenario file, or a manifest file/folder run on the default profile. Throws InputError with every problem. */
export function loadScenario(path: string, opts: LoadScenarioOptions = {}): Scenario {
  const { scenario, diagnostics } = readScenario(path, opts);
  if (!scenario || hasErrors(diagnostics)) throw new InputError(diagnostics);
  return { ...scenario, diagnostics };
}

export function readScenario(path: string, opts: LoadScenarioOptions = {}): { scenario?: Scenario; diagnostics: Diagnostic[] } {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    return { diagnostics: [{ severity: 'error', file: path, message: 'no such file or directory', hint: 'give a Scenario file, or a manifest file or folder' }] };
  }
  if (!isDir) {
    const text = readFileSync(path, 'utf8');
    if (looksLikeScenario(text)) return readScenarioText(text, path, opts);
  }
  return readPlainScenario(path, opts);
}

/** A cheap look at the text, so big manifest files are not parsed twice. */
function looksLikeScenario(text: string): boolean {
  return /^kind:\s*["']?Scenario["']?\s*(#.*)?$/m.test(text) || /^apiVersion:\s*["']?kubepath\.dev\//m.test(text) || /"kind"\s*:\s*"Scenario"/.test(text);
}

/** The profile to use: `--profile` wins, then the scenario's own, then the default. */
function pickProfile(own: string | undefined, baseDir: string, opts: LoadScenarioOptions): string {
  const override = opts.profiles?.[0];
  if (override) return resolveProfilePath(override, process.cwd());
  if (own) return resolveProfilePath(own, baseDir);
  return defaultProfilePath();
}

function readPlainScenario(path: string, opts: LoadScenarioOptions): { scenario?: Scenario; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const { profile, diagnostics: pd } = readProfileFile(pickProfile(undefined, dirname(path), opts));
  diagnostics.push(...pd);
  const loaded = loadManifests([path], { config: profile?.cluster ?? clusterConfig() });
  diagnostics.push(...loaded.diagnostics);
  if (!profile) return { diagnostics };
  const { manifests, profile: finalProfile } = takeNodeObjects(loaded.objects, profile, diagnostics);
  const name = basename(path, extname(path));
  return {
    scenario: { name, file: path, seed: 1, profile: finalProfile, manifests, timeline: [], expectations: [], diagnostics },
    diagnostics,
  };
}

export function parseScenario(text: string, file: string, opts: LoadScenarioOptions = {}): Scenario {
  const { scenario, diagnostics } = readScenarioText(text, file, opts);
  if (!scenario || hasErrors(diagnostics)) throw new InputError(diagnostics);
  return { ...scenario, diagnostics };
}

function readScenarioText(text: string, file: string, opts: LoadScenarioOptions): { scenario?: Scenario; diagnostics: Diagnostic[] } {
  // Scenario files hold Kubernetes objects inline, so they are read as kubectl reads YAML.
  const doc = readKubepathDoc(text, file, 'Scenario', KUBEPATH_API_VERSION, 'kubernetes');
  if (!doc.spec || !doc.reader) return { diagnostics: doc.diagnostics };
  const reader = doc.reader;
  const spec = doc.spec;
  const baseDir = dirname(file);
  spec.expectMap(SPEC_FIELDS, 'a Scenario spec');
  const extra: Diagnostic[] = [];

  // Profile first: its cluster settings decide what the manifests may use.
  const profileField = spec.get('profile');
  const profileRef = profileField.str();
  const profilePath = pickProfile(profileRef, baseDir, opts);
  const pr = readProfileFile(profilePath);
  if (!pr.profile && profileRef !== undefined && !opts.profiles?.[0] && !existsSync(profilePath))
    profileField.error(`profile ${JSON.stringify(profileRef)} not found (looked at ${profilePath})`, 'give a path relative to the scenario file, or the name of a shipped profile: bare-metal, aws, alibaba');
  else extra.push(...pr.diagnostics);
  const config = pr.profile?.cluster ?? clusterConfig();

  const seed = spec.get('seed').int({ min: 0, hint: 'a whole number; the same seed gives the same run' }) ?? 1;
  const description = spec.get('description').str() ?? doc.root?.get('metadata').get('description').str();

  // Manifests: paths relative to the scenario file, and inline objects.
  const objects: LoadedObject[] = [];
  const paths: string[] = [];
  for (const item of spec.get('manifests').list()) {
    const p = item.str({ required: true });
    if (p === undefined) continue;
    const full = resolve(baseDir, p);
    if (!existsSync(full)) item.error(`no such file or directory: ${full}`, 'manifest paths are relative to the scenario file');
    else paths.push(full);
  }
  const fromFiles = loadManifests(paths, { validate: false });
  extra.push(...fromFiles.diagnostics);
  objects.push(...fromFiles.objects);
  for (const item of spec.get('objects').list()) objects.push(...objectsFromNode(reader.doc, item.node as Node, reader.lc, file, extra));
  extra.push(...validateObjects(objects, { config }));
  if (!spec.get('manifests').present && !spec.get('objects').present)
    spec.warning('no manifests and no objects: the cluster starts empty', 'list manifest files under spec.manifests, or objects under spec.objects');

  let profile = pr.profile;
  let manifests = objects;
  if (profile) ({ manifests, profile } = takeNodeObjects(objects, profile, extra));

  const ctx: ScenarioContext = { baseDir, file, reader: doc.reader, config, manifests, nodes: new Set(profile?.nodes.map((n) => n.name)), extra };
  const timeline = spec
    .get('timeline')
    .list()
    .map((e) => readTimelineEvent(e, ctx))
    .filter((e): e is TimelineEvent => !!e);
  const expectations = spec
    .get('expect')
    .list()
    .map((e) => readExpectation(e, ctx))
    .filter((e): e is Expectation => !!e);
  // Stable sorts: entries at the same time keep their written order.
  timeline.sort((a, b) => a.at - b.at);
  expectations.sort((a, b) => a.at - b.at);

  const diagnostics = sortDiagnostics([...reader.diagnostics, ...extra]);
  if (!profile) return { diagnostics };
  return {
    scenario: {
      name: doc.name ?? basename(file, extname(file)),
      file,
      ...(description !== undefined ? { description } : {}),
      seed,
      profile,
      manifests,
      timeline,
      expectations,
      diagnostics,
    },
    diagnostics,
  };
}

interface ScenarioContext {
  baseDir: string;
  file: string;
  reader: NonNullable<ReturnType<typeof readKubepathDoc>['reader']>;
  config: ReturnType<typeof clusterConfig>;
  manifests: LoadedObject[];
  nodes: Set<string>;
  extra: Diagnostic[];
}

function readAt(e: Field): number | undefined {
  const at = e.get('at');
  if (!at.present) {
    at.error('Required value', `when it happens: ${DURATION_HINT}`);
    return undefined;
  }
  const v = parseDuration(at.toJS());
  if (v === undefined) at.error(`Invalid value: ${JSON.stringify(at.toJS())}: not a duration`, DURATION_HINT);
  return v;
}

function readTimelineEvent(e: Field, ctx: ScenarioContext): TimelineEvent | undefined {
  if (!e.isMap) {
    e.error('a timeline entry must be a mapping', `e.g. ${EXAMPLE_ACTIONS}`);
    return undefined;
  }
  const actions = e.keys.filter((k) => k in ACTIONS);
  if (actions.length === 0) {
    // A misspelt action is reported as such; otherwise say which actions exist.
    const params = new Set(['at', ...Object.values(ACTIONS).flat()]);
    let suggested = false;
    for (const k of e.keys.filter((k) => !params.has(k))) {
      const guess = closest(k, Object.keys(ACTIONS));
      if (guess) {
        e.get(k).error(`unknown action "${k}"`, `did you mean ${guess}?`);
        suggested = true;
      }
    }
    if (!suggested) e.error(`no action in this timeline entry${e.keys.length ? ` (found ${e.keys.join(', ')})` : ''}`, `actions: ${Object.keys(ACTIONS).join(', ')}; e.g. ${EXAMPLE_ACTIONS}`);
    return undefined;
  }
  if (actions.length > 1) {
    e.get(actions[1]!).error(`one action per timeline entry, found ${actions.join(' and ')}`, 'split them into two entries; they may have the same `at`');
    return undefined;
  }
  const action = actions[0]!;
  e.expectMap(['at', action, ...ACTIONS[action]!], `a ${action} entry`);
  const at = readAt(e);
  const body = readAction(action, e, ctx);
  if (at === undefined || !body) return undefined;
  return { ...body, at, source: ctx.reader.sourceOf(e.node) } as TimelineEvent;
}

function readAction(action: string, e: Field, ctx: ScenarioContext): TimelineAction | undefined {
  const f = e.get(action);
  switch (action) {
    case 'scale': {
      const target = readWorkloadRef(f, ['Deployment', 'ReplicaSet', 'StatefulSet']);
      const replicas = e.get('replicas').int({ required: true, min: 0, hint: 'how many replicas, e.g. replicas: 5' });
      if (target) checkKnownObject(f, target, ctx);
      return target && replicas !== undefined ? { action: 'scale', target, replicas } : undefined;
    }
    case 'rollout': {
      const target = readWorkloadRef(f, ['Deployment', 'StatefulSet', 'DaemonSet']);
      if (target) checkKnownObject(f, target, ctx);
      const image = e.get('image').str();
      const container = e.get('container').str();
      if (container !== undefined && image === undefined) e.get('container').error('container names which container gets the new image', 'add image: <image>');
      const patch = e.get('templatePatch');
      let templatePatch: Record<string, unknown> | undefined;
      if (patch.present) {
        if (!patch.isMap) patch.error('must be a mapping: a partial pod template (metadata, spec) merged into the current one');
        else templatePatch = patch.toJS() as Record<string, unknown>;
      }
      if (!target) return undefined;
      return {
        action: 'rollout',
        target,
        ...(image !== undefined ? { image: { ...(container !== undefined ? { container } : {}), image } } : {}),
        ...(templatePatch ? { templatePatch } : {}),
      };
    }
    case 'deletePod':
    case 'setPodReady': {
      const pod = readPodRef(f);
      if (action === 'deletePod') return pod ? { action, pod } : undefined;
      const ready = e.get('ready').bool();
      if (ready === undefined && !e.get('ready').present) e.get('ready').error('Required value', 'ready: true or ready: false');
      return pod && ready !== undefined ? { action: 'setPodReady', pod, ready } : undefined;
    }
    case 'apply': {
      const objects = readApply(f, ctx);
      return objects ? { action: 'apply', objects } : undefined;
    }
    case 'delete': {
      const target = readObjectRef(f);
      return target ? { action: 'delete', target } : undefined;
    }
    default: {
      const node = f.str({ required: true, hint: 'the name of a node, e.g. node-2' });
      if (node === undefined) return undefined;
      if (!ctx.nodes.has(node) && !appliesNode(ctx, node)) {
        const known = [...ctx.nodes];
        f.error(`no node named ${JSON.stringify(node)}`, known.length ? `the nodes are ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', …' : ''}` : 'the profile has no nodes');
        return undefined;
      }
      return { action: action as (typeof NODE_ACTIONS)[number], node };
    }
  }
}

/** Node objects applied later in the timeline also count as known nodes. */
function appliesNode(ctx: ScenarioContext, name: string): boolean {
  const timeline = ctx.reader.root().get('spec').get('timeline');
  return timeline.list().some((e) => {
    const a = e.get('apply');
    if (!a.present || a.isScalar) return false;
    const items = a.isSeq ? a.list() : [a];
    return items.some((i) => i.get('kind').toJS() === 'Node' && i.get('metadata').get('name').toJS() === name);
  });
}

function splitRef(f: Field, text: string, parts: number[]): string[] | undefined {
  const segs = text.split('/');
  if (!parts.includes(segs.length) || segs.some((s) => s === '')) return undefined;
  return segs;
}

function readWorkloadRef(f: Field, kinds: readonly WorkloadRef['kind'][]): WorkloadRef | undefined {
  const text = f.str({ required: true });
  if (text === undefined) return undefined;
  const segs = splitRef(f, text, [2, 3]);
  const hint = `write kind/name or kind/namespace/name, e.g. deployment/web or deployment/shop/web; kind is one of ${kinds.map((k) => k.toLowerCase()).join(', ')}`;
  if (!segs) {
    f.error(`Invalid value: ${JSON.stringify(text)}: not a workload reference`, hint);
    return undefined;
  }
  const info = kindFromAlias(segs[0]!);
  if (!info || !(kinds as readonly string[]).includes(info.kind)) {
    f.error(`Invalid value: ${JSON.stringify(text)}: ${info ? `cannot ${f.path.at(-1)} a ${info.kind}` : `unknown kind ${JSON.stringify(segs[0])}`}`, hint);
    return undefined;
  }
  const namespace = segs.length === 3 ? segs[1]! : 'default';
  const name = segs.at(-1)!;
  if (!checkName(f, name, namespace)) return undefined;
  return { kind: info.kind as WorkloadRef['kind'], namespace, name };
}

function checkName(f: Field, name: string, namespace?: string): boolean {
  const nErr = isDNS1123Subdomain(name);
  if (nErr.length) {
    f.error(`Invalid value: ${JSON.stringify(name)}: ${nErr[0]}`);
    return false;
  }
  if (namespace !== undefined && isDNS1123Subdomain(namespace).length) {
    f.error(`Invalid value: ${JSON.stringify(namespace)}: not a valid namespace name`);
    return false;
  }
  return true;
}

function readPodRef(f: Field): ObjectRef | undefined {
  const text = f.str({ required: true, hint: 'a pod as namespace/name, or name for the default namespace' });
  if (text === undefined) return undefined;
  let segs = text.split('/');
  if (segs.length >= 2 && kindFromAlias(segs[0]!)?.kind === 'Pod') segs = segs.slice(1);
  if (segs.length > 2 || segs.some((s) => s === '')) {
    f.error(`Invalid value: ${JSON.stringify(text)}: not a pod reference`, 'write namespace/name, e.g. shop/web-7d4b9c6f5-abcde');
    return undefined;
  }
  const namespace = segs.length === 2 ? segs[0]! : 'default';
  const name = segs.at(-1)!;
  return checkName(f, name, namespace) ? { kind: 'Pod', namespace, name } : undefined;
}

function readObjectRef(f: Field): ObjectRef | undefined {
  const text = f.str({ required: true, hint: 'kind/name or kind/namespace/name, e.g. service/shop/web' });
  if (text === undefined) return undefined;
  const segs = splitRef(f, text, [2, 3]);
  const info = segs ? kindFromAlias(segs[0]!) : undefined;
  if (!segs || !info) {
    f.error(`Invalid value: ${JSON.stringify(text)}: ${segs ? `unknown kind ${JSON.stringify(segs[0])}` : 'not an object reference'}`, 'write kind/name or kind/namespace/name, e.g. service/shop/web');
    return undefined;
  }
  if (!info.namespaced && segs.length === 3) {
    f.error(`Invalid value: ${JSON.stringify(text)}: ${info.kind} is not namespaced`, `write ${segs[0]}/${segs[2]}`);
    return undefined;
  }
  const name = segs.at(-1)!;
  const namespace = info.namespaced ? (segs.length === 3 ? segs[1]! : 'default') : undefined;
  if (!checkName(f, name, namespace)) return undefined;
  return { kind: info.kind, ...(namespace !== undefined ? { namespace } : {}), name };
}

/** A workload the timeline acts on should be in the manifests (or be applied by the timeline). */
function checkKnownObject(f: Field, ref: WorkloadRef, ctx: ScenarioContext): void {
  const found = ctx.manifests.some((lo) => lo.object.kind === ref.kind && lo.object.metadata.name === ref.name && (lo.object.metadata.namespace || 'default') === ref.namespace);
  if (found) return;
  const applied = ctx.reader
    .root()
    .get('spec')
    .get('timeline')
    .list()
    .some((e) => e.get('apply').present);
  if (!applied) f.warning(`${ref.kind} ${ref.namespace}/${ref.name} is not in the manifests`, 'check the name and namespace; a reference without namespace means default');
}

function readApply(f: Field, ctx: ScenarioContext): LoadedObject[] | undefined {
  const diags: Diagnostic[] = [];
  let objects: LoadedObject[] = [];
  if (!f.present) {
    f.error('Required value', 'a manifest path (relative to the scenario file), an object, or a list of objects');
    return undefined;
  }
  if (f.isScalar) {
    const p = f.str();
    if (p === undefined) return undefined;
    const full = resolve(ctx.baseDir, p);
    if (!existsSync(full)) {
      f.error(`no such file or directory: ${full}`, 'apply paths are relative to the scenario file');
      return undefined;
    }
    const r = loadManifests([full], { config: ctx.config });
    objects = r.objects;
    diags.push(...r.diagnostics);
  } else {
    const items = f.isSeq ? f.list() : [f];
    for (const item of items) objects.push(...objectsFromNode(ctx.reader.doc, item.node as Node, ctx.reader.lc, ctx.file, diags));
    diags.push(...validateObjects(objects, { config: ctx.config }));
  }
  ctx.extra.push(...diags);
  if (hasErrors(diags)) return undefined;
  if (objects.length === 0) f.warning('applies nothing');
  return objects;
}

function readExpectation(e: Field, ctx: ScenarioContext): Expectation | undefined {
  if (!e.isMap) {
    e.error('an expect entry must be a mapping', 'e.g. {at: 90s, endpoints: shop/web, ready: 3}');
    return undefined;
  }
  const kinds = e.keys.filter((k) => k in EXPECT_KINDS);
  if (kinds.length !== 1) {
    (kinds.length ? e.get(kinds[1]!) : e).error(
      kinds.length ? `one subject per expect entry, found ${kinds.join(' and ')}` : 'no subject in this expect entry',
      'use endpoints: <namespace>/<service> or pods: {namespace: <ns>, selector: <labels>}',
    );
    if (!kinds.length) e.expectMap(['at', 'name', ...Object.keys(EXPECT_KINDS), ...new Set(Object.values(EXPECT_KINDS).flat())], 'an expect entry');
    return undefined;
  }
  const kind = kinds[0]!;
  const counts = EXPECT_KINDS[kind]!;
  e.expectMap(['at', 'name', kind, ...counts], `an ${kind} expectation`);
  const at = readAt(e);
  const name = e.get('name').str();
  const values: Record<string, number> = {};
  for (const c of counts) {
    const v = e.get(c).int({ min: 0 });
    if (v !== undefined) values[c] = v;
  }
  if (Object.keys(values).length === 0 && counts.every((c) => !e.get(c).present))
    e.error(`nothing to check: give at least one of ${counts.join(', ')}`, `e.g. ${kind === 'endpoints' ? 'ready: 3' : 'running: 3'}`);
  const base = { at: at ?? 0, ...(name !== undefined ? { name } : {}), source: ctx.reader.sourceOf(e.node) };
  const subject = e.get(kind);
  if (kind === 'endpoints') {
    const text = subject.str({ required: true, hint: 'the Service as namespace/name, e.g. shop/web' });
    if (text === undefined || at === undefined) return undefined;
    const segs = text.split('/');
    if (segs.length > 2 || segs.some((s) => !s)) {
      subject.error(`Invalid value: ${JSON.stringify(text)}: not a Service reference`, 'write namespace/name, e.g. shop/web, or name for the default namespace');
      return undefined;
    }
    const service = segs.length === 2 ? text : `default/${text}`;
    const [ns, svc] = service.split('/') as [string, string];
    if (!ctx.manifests.some((lo) => lo.object.kind === 'Service' && lo.object.metadata.name === svc && (lo.object.metadata.namespace || 'default') === ns))
      subject.warning(`Service ${service} is not in the manifests`, 'check the name and namespace; a reference without namespace means default');
    return { expect: 'endpoints', service, ...values, ...base } as Expectation;
  }
  let namespace = 'default';
  let selector: string | undefined;
  let selField = subject;
  if (subject.isMap) {
    subject.expectMap(['namespace', 'selector'], 'pods');
    namespace = subject.get('namespace').str() ?? 'default';
    selField = subject.get('selector');
    selector = selField.present ? selField.str() : '';
  } else selector = subject.str({ required: true, hint: 'pods: {namespace: shop, selector: app=web}' });
  if (selector === undefined || at === undefined) return undefined;
  if (!checkSelector(selField, selector)) return undefined;
  return { expect: 'pods', namespace, selector, ...values, ...base } as Expectation;
}

/** kubectl selector syntax, with label key and value rules. */
function checkSelector(f: Field, text: string): boolean {
  let sel;
  try {
    sel = parseSelector(text);
  } catch (err) {
    f.error(`Invalid value: ${JSON.stringify(text)}: ${(err as Error).message}`, 'kubectl syntax: app=web,tier!=db,env in (a,b),!legacy');
    return false;
  }
  const keys = [...Object.keys(sel.matchLabels ?? {}), ...(sel.matchExpressions ?? []).map((r) => r.key)];
  const values = [...Object.values(sel.matchLabels ?? {}), ...(sel.matchExpressions ?? []).flatMap((r) => r.values ?? [])];
  for (const k of keys) {
    const errs = isQualifiedName(k);
    if (errs.length) {
      f.error(`Invalid value: ${JSON.stringify(k)}: ${errs[0]}`);
      return false;
    }
  }
  for (const v of values) {
    const errs = isValidLabelValue(v);
    if (errs.length) {
      f.error(`Invalid value: ${JSON.stringify(v)}: ${errs[0]}`);
      return false;
    }
  }
  return true;
}

/** Node objects in the manifests replace the profile's nodes (and are not created twice). */
function takeNodeObjects(objects: LoadedObject[], profile: Profile, diagnostics: Diagnostic[]): { manifests: LoadedObject[]; profile: Profile } {
  const nodeObjs = objects.filter((lo) => lo.object.kind === 'Node' && lo.object.apiVersion === 'v1');
  if (nodeObjs.length === 0) return { manifests: objects, profile };
  const nodes = nodeObjs.map((lo) => nodeSpecFromObject(lo, profile, diagnostics)).filter((n): n is NodeSpec => !!n);
  diagnostics.push({
    severity: 'info',
    file: nodeObjs[0]!.source.file,
    line: nodeObjs[0]!.source.line,
    message: `${nodeObjs.length} Node object(s) in the manifests replace the nodes of profile ${profile.name}`,
  });
  return { manifests: objects.filter((lo) => !nodeObjs.includes(lo)), profile: { ...profile, nodes } };
}

const CONTROL_PLANE = 'node-role.kubernetes.io/control-plane';

export function nodeSpecFromObject(lo: LoadedObject, profile: Profile, diagnostics: Diagnostic[]): NodeSpec | undefined {
  const o = lo.object as KObject & {
    spec?: { taints?: NodeSpec['taints']; unschedulable?: boolean };
    status?: { addresses?: { type: string; address: string }[]; capacity?: Record<string, string | number> };
  };
  const errs = new FieldErrors(lo.source, diagnostics);
  const name = o.metadata.name!;
  const addresses = o.status?.addresses ?? [];
  const internal = addresses.find((a) => a.type === 'InternalIP')?.address;
  const external = addresses.find((a) => a.type === 'ExternalIP')?.address;
  if (!internal || !parseIP(internal)) {
    errs.required(['status', 'addresses'], 'a Node needs an InternalIP address', 'add status: {addresses: [{type: InternalIP, address: 192.168.1.10}]}');
    return undefined;
  }
  for (const c of profile.cluster.serviceCIDRs) {
    const cidr = parseCIDR(c);
    if (cidr && contains(cidr, parseIP(internal)!)) errs.invalid(['status', 'addresses'], internal, `is inside the serviceCIDR ${c}`);
  }
  const labels: Record<string, string> = {
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    ...(o.metadata.labels ?? {}),
  };
  const cap = o.status?.capacity ?? {};
  return {
    name,
    role: CONTROL_PLANE in labels ? 'control-plane' : 'worker',
    ...(labels['topology.kubernetes.io/zone'] ? { zone: labels['topology.kubernetes.io/zone'] } : {}),
    ...(labels['topology.kubernetes.io/region'] ? { region: labels['topology.kubernetes.io/region'] } : {}),
    ...(labels['node.kubernetes.io/instance-type'] ? { instanceType: labels['node.kubernetes.io/instance-type'] } : {}),
    internalIP: internal,
    // A Node object does not say its subnet: one of the profile's node subnets holding it, else the /24 around it.
    subnet: profile.nodes.map((n) => n.subnet).find((s) => contains(parseCIDR(s)!, parseIP(internal)!)) ?? enclosingSubnet(internal),
    ...(external ? { externalIP: external } : {}),
    capacity: { cpu: String(cap.cpu ?? '4'), memory: String(cap.memory ?? '16Gi'), pods: String(cap.pods ?? '110') },
    labels,
    taints: (o.spec?.taints ?? []).map((t) => ({ key: t.key, ...(t.value !== undefined ? { value: t.value } : {}), effect: t.effect })),
    unschedulable: o.spec?.unschedulable === true,
    source: lo.source,
  };
}
