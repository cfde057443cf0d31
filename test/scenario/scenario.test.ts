// Scenario files and plain manifest folders as scenarios.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { InputError } from '../../src/manifest/diagnostic.js';
import { loadScenario, parseScenario, readScenario } from '../../src/scenario/scenario.js';

const FIX = resolve(import.meta.dirname, '../fixtures/scenarios');
const ROOT = resolve(import.meta.dirname, '../..');
const scenario = (spec: string) => `apiVersion: kubepath.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: s\nspec:\n${spec}`;
/** Problems of an inline scenario (written as if it lived in the fixtures folder), as `severity field@line: message`. */
const problems = (spec: string) => {
  try {
    const s = parseScenario(scenario(spec), resolve(FIX, 'inline.yaml'));
    return s.diagnostics.filter((d) => d.severity !== 'info').map((d) => `${d.severity} ${d.field}@${d.line}: ${d.message}`);
  } catch (e) {
    return (e as InputError).diagnostics.filter((d) => d.severity !== 'info').map((d) => `${d.severity} ${d.field}@${d.line}: ${d.message}`);
  }
};
const objects = '  objects:\n    - {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}}}\n';

describe('the shipped rolling-update scenario', () => {
  const s = loadScenario(resolve(ROOT, 'scenarios/rolling-update.yaml'));
  test('loads on the bare-metal profile with the example app', () => {
    expect(s.name).toBe('rolling-update');
    expect(s.profile.name).toBe('bare-metal');
    expect(s.seed).toBe(1);
    expect(s.manifests.map((m) => `${m.object.kind}/${m.object.metadata.name}`).sort()).toEqual([
      'ConfigMap/web-config',
      'Deployment/web',
      'Namespace/shop',
      'Service/db',
      'Service/web',
      'Service/web-nodeport',
      'StatefulSet/db',
    ]);
  });
  test('has the rollout at 30s, the node failure at 120s and the scale at 400s', () => {
    expect(s.timeline.map((e) => [e.at, e.action])).toEqual([
      [30, 'rollout'],
      [120, 'nodeNotReady'],
      [400, 'scale'],
    ]);
    expect(s.timeline[0]).toMatchObject({ target: { kind: 'Deployment', namespace: 'shop', name: 'web' }, image: { image: 'nginx:1.27' } });
    expect(s.timeline[2]).toMatchObject({ replicas: 5 });
  });
  test('has expectations sorted by time, each remembering its line', () => {
    expect(s.expectations.map((e) => e.at)).toEqual([25, 29, 90, 110, 180, 480]);
    expect(s.expectations[0]).toMatchObject({ expect: 'endpoints', service: 'shop/web', ready: 3, terminating: 0, source: { line: 26 } });
    expect(s.expectations[1]).toMatchObject({ expect: 'pods', namespace: 'shop', selector: 'app=web', running: 3, ready: 3 });
  });
  test('only notes remain (the ConfigMap is not simulated)', () => {
    expect(s.diagnostics.every((d) => d.severity === 'info')).toBe(true);
  });
});

describe('scenario files', () => {
  const s = loadScenario(resolve(FIX, 'nested/scenario.yaml'));
  test('profile and manifest paths are relative to the scenario file', () => {
    expect(s.profile.name).toBe('two-pools');
    expect(s.manifests.map((m) => `${m.object.kind}/${m.object.metadata.name}`)).toEqual(['Deployment/web', 'Service/web', 'Namespace/tools']);
    expect(s.manifests[0]!.source.file).toBe(resolve(FIX, 'app/web.yaml'));
  });
  test('manifests are validated against the profile (its NodePort range 31000-31999)', () => {
    expect(s.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });
  test('inline objects keep their line in the scenario file', () => {
    expect(s.manifests[2]!.source).toMatchObject({ file: resolve(FIX, 'nested/scenario.yaml'), line: 12 });
    expect(s.manifests[2]!.source.locate!(['metadata', 'name'])!.line).toBe(15);
  });
  test('seed and description are read', () => {
    expect(s.seed).toBe(7);
    expect(s.description).toBe('paths are relative to this file');
  });
  test('every timeline action has a readable form; targets without namespace mean default', () => {
    expect(s.timeline.map(({ source, ...e }) => ('objects' in e ? { ...e, objects: e.objects.map((o) => o.object.metadata.name) } : e))).toEqual([
      { action: 'setPodReady', pod: { kind: 'Pod', namespace: 'default', name: 'web-0' }, ready: false, at: 0.5 },
      { action: 'scale', target: { kind: 'Deployment', namespace: 'default', name: 'web' }, replicas: 4, at: 10 },
      { action: 'nodeNotReady', node: 'app-2', at: 60 },
      { action: 'apply', objects: ['web', 'web'], at: 90 },
      { action: 'apply', objects: ['extra'], at: 120 },
      { action: 'delete', target: { kind: 'Service', namespace: 'default', name: 'web' }, at: 180 },
      { action: 'deletePod', pod: { kind: 'Pod', namespace: 'default', name: 'web-1' }, at: 240 },
      { action: 'rollout', target: { kind: 'Deployment', namespace: 'default', name: 'web' }, image: { container: 'web', image: 'nginx:1.27' }, at: 300 },
    ]);
  });
  test('timeline events remember their line', () => {
    expect(s.timeline.find((e) => e.action === 'nodeNotReady')!.source).toMatchObject({ file: resolve(FIX, 'nested/scenario.yaml'), line: 17 });
  });
  test('expectations default the namespace', () => {
    expect(s.expectations.map(({ source, ...e }) => e)).toEqual([
      { expect: 'pods', namespace: 'default', selector: 'app=web', running: 4, at: 30 },
      { expect: 'endpoints', service: 'default/web', ready: 4, at: 120 },
    ]);
  });
  test('--profile replaces the scenario profile (a shipped name)', () => {
    expect(readScenario(resolve(FIX, 'nested/scenario.yaml'), { profiles: ['bare-metal'] }).scenario!.profile.name).toBe('bare-metal');
  });
  test('with --profile the timeline is checked against that profile: its nodes have other names', () => {
    const r = readScenario(resolve(FIX, 'nested/scenario.yaml'), { profiles: ['bare-metal'] });
    expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.field}@${d.line}: ${d.message}`)).toEqual(['spec.timeline[0].nodeNotReady@18: no node named "app-2"']);
  });
});

describe('plain manifests as a scenario', () => {
  test('a folder runs on the default profile with seed 1 and no timeline', () => {
    const s = loadScenario(resolve(ROOT, 'scenarios/examples/shop'));
    expect(s.name).toBe('shop');
    expect(s.profile.name).toBe('bare-metal');
    expect(s.profile.nodes.map((n) => n.name)).toEqual(['node-1', 'node-2', 'node-3']);
    expect([s.seed, s.timeline, s.expectations]).toEqual([1, [], []]);
    expect(s.manifests).toHaveLength(7);
  });
  test('a single manifest file works too', () => {
    const s = loadScenario(resolve(FIX, 'app/web.yaml'), { profiles: [resolve(FIX, 'profiles/two-pools.yaml')] });
    expect(s.name).toBe('web');
    expect(s.profile.name).toBe('two-pools');
  });
  test('the default profile limits NodePorts to 30000-32767, so web.yaml (31080) is fine there too', () => {
    expect(loadScenario(resolve(FIX, 'app/web.yaml')).manifests).toHaveLength(2);
  });
  test('Node objects in the manifests replace the profile nodes and are not kept as manifests', () => {
    const s = loadScenario(resolve(FIX, 'nodes'));
    expect(s.manifests.map((m) => m.object.kind)).toEqual(['Service']);
    expect(s.profile.nodes.map((n) => ({ name: n.name, role: n.role, zone: n.zone, ip: n.internalIP, ext: n.externalIP, cap: n.capacity, taints: n.taints }))).toEqual([
      { name: 'metal-1', role: 'worker', zone: 'rack-1', ip: '192.168.50.11', ext: undefined, cap: { cpu: '16', memory: '64Gi', pods: '250' }, taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] },
      { name: 'metal-2', role: 'control-plane', zone: undefined, ip: '192.168.50.12', ext: '203.0.113.12', cap: { cpu: '4', memory: '16Gi', pods: '110' }, taints: [] },
    ]);
    expect(s.profile.nodes[0]!.labels['kubernetes.io/hostname']).toBe('metal-1');
  });
  test('a missing path is an InputError', () => {
    expect(() => loadScenario(resolve(FIX, 'nope'))).toThrow(InputError);
  });
  test('a broken manifest makes the load fail with its file and line', () => {
    try {
      loadScenario(resolve(ROOT, 'test/fixtures/manifests/multi-error.yaml'));
      expect.unreachable();
    } catch (e) {
      expect((e as InputError).message).toMatch(/multi-error\.yaml:4:3: error: metadata\.name: Invalid value: "Web"/);
    }
  });
});

describe('scenario errors', () => {
  test('all problems of a file are collected before throwing, each with field and line', () => {
    let err: InputError | undefined;
    try {
      loadScenario(resolve(FIX, 'bad-scenario.yaml'));
    } catch (e) {
      err = e as InputError;
    }
    expect(err).toBeInstanceOf(InputError);
    expect(err!.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.field}@${d.line}`)).toEqual([
      'spec.seeds@7',
      'spec.manifests[0]@9',
      'spec.timeline[0].at@11',
      'spec.timeline[0].replicas@13',
      'spec.timeline[1].nodeNotReady@15',
      'spec.timeline[2]@16',
      'spec.timeline[3].drain@20',
      'spec.timeline[4].scale@22',
      'spec.timeline[5].ready@24',
      'spec.expect[0]@27',
      'spec.expect[1].pods.selector@30',
    ]);
  });
  test('an unknown node names the known ones', () => {
    const d = readScenario(resolve(FIX, 'bad-scenario.yaml')).diagnostics.find((x) => x.field === 'spec.timeline[1].nodeNotReady')!;
    expect(d).toMatchObject({ message: 'no node named "node-9"', hint: 'the nodes are node-1, node-2, node-3' });
  });
  test('a misspelt action is named with a suggestion', () => {
    expect(problems(`${objects}  timeline:\n    - {at: 1s, scael: deployment/web, replicas: 2}\n`)).toEqual(['error spec.timeline[0].scael@9: unknown action "scael"']);
  });
  test('fields that do not belong to the action are unknown', () => {
    expect(problems(`${objects}  timeline:\n    - {at: 1s, nodeNotReady: node-1, replicas: 2}\n`)).toEqual(['error spec.timeline[0].replicas@9: unknown field "replicas"']);
  });
  test('at is required and must be a duration', () => {
    expect(problems(`${objects}  timeline:\n    - {cordon: node-1}\n    - {at: -5s, cordon: node-1}\n`)).toEqual([
      'error spec.timeline[0].at@9: Required value',
      'error spec.timeline[1].at@10: Invalid value: "-5s": not a duration',
    ]);
  });
  test('references are checked: kinds, shapes, names', () => {
    expect(problems(`${objects}  timeline:\n    - {at: 1s, delete: widget/x}\n    - {at: 1s, delete: node/a/b}\n    - {at: 1s, deletePod: a/b/c}\n    - {at: 1s, rollout: web}\n`)).toEqual([
      'error spec.timeline[0].delete@9: Invalid value: "widget/x": unknown kind "widget"',
      'error spec.timeline[1].delete@10: Invalid value: "node/a/b": Node is not namespaced',
      'error spec.timeline[2].deletePod@11: Invalid value: "a/b/c": not a pod reference',
      'error spec.timeline[3].rollout@12: Invalid value: "web": not a workload reference',
    ]);
  });
  test('a workload not in the manifests is a warning (it may be applied later)', () => {
    expect(problems(`${objects}  timeline:\n    - {at: 1s, scale: deployment/shop/api, replicas: 2}\n`)).toEqual(['warning spec.timeline[0].scale@9: Deployment shop/api is not in the manifests']);
  });
  test('a node added by an apply in the timeline is a known node', () => {
    const spec = `${objects}  timeline:\n    - at: 1s\n      apply: {apiVersion: v1, kind: Node, metadata: {name: extra}, status: {addresses: [{type: InternalIP, address: 192.168.1.50}]}}\n    - {at: 2s, cordon: extra}\n`;
    expect(problems(spec)).toEqual([]);
  });
  test('inline apply objects are validated with their lines', () => {
    expect(problems(`${objects}  timeline:\n    - at: 1s\n      apply:\n        apiVersion: v1\n        kind: Service\n        metadata: {name: web}\n        spec: {type: NodePort, ports: [{port: 80, nodePort: 80}]}\n`)).toEqual([
      'error spec.ports[0].nodePort@14: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767',
    ]);
  });
  test('an expectation needs something to check and valid counts', () => {
    expect(problems(`${objects}  expect:\n    - {at: 1m, endpoints: default/web, ready: -1}\n    - {at: 1m, endpoints: a/b/c, ready: 1}\n    - {at: 1m, ready: 1}\n`)).toEqual([
      'warning spec.expect[0].endpoints@9: Service default/web is not in the manifests',
      'error spec.expect[0].ready@9: Invalid value: -1: must be at least 0',
      'error spec.expect[1].endpoints@10: Invalid value: "a/b/c": not a Service reference',
      'error spec.expect[2]@11: no subject in this expect entry',
    ]);
  });
  test('a pods expectation selector is checked for kubectl syntax and label rules', () => {
    expect(problems(`${objects}  expect:\n    - {at: 1m, pods: {namespace: x, selector: "app=-bad-"}, ready: 1}\n`)[0]).toMatch(/^error spec\.expect\[0\]\.pods\.selector@9: Invalid value: "-bad-"/);
    expect(problems(`${objects}  expect:\n    - {at: 1m, pods: "app=web,tier in (a,b),!legacy", ready: 1}\n`)).toEqual([]);
  });
  test('an unknown profile name says where it looked', () => {
    expect(problems(`  profile: gke\n${objects}`)[0]).toMatch(/^error spec\.profile@6: profile "gke" not found \(looked at .*scenarios\/profiles\/gke\.yaml\)$/);
  });
  test('a profile file with a YAML error reports that error at its own line, not "not found"', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubepath-badprofile-'));
    writeFileSync(join(dir, 'profile.yaml'), 'apiVersion: kubepath.dev/v1alpha1\nkind: Profile\nmetadata: {name: p}\nspec:\n  network:\n    clusterCIDR: 10.244.0.0/16\n    clusterCIDR: 10.245.0.0/16\n');
    writeFileSync(join(dir, 's.yaml'), scenario('  profile: ./profile.yaml\n'));
    const r = readScenario(join(dir, 's.yaml'));
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => `${d.file?.endsWith('profile.yaml')}:${d.line}: ${d.message}`)).toEqual(['true:7: YAML: Map keys must be unique']);
  });
  test('a manifest path that does not exist points at the scenario line', () => {
    expect(problems('  manifests: [nowhere/]\n')).toEqual([expect.stringMatching(/^error spec\.manifests\[0\]@6: no such file or directory: /)]);
  });
  test('an empty scenario is a warning, not an error', () => {
    expect(problems('  seed: 3\n')).toEqual(['warning spec@5: no manifests and no objects: the cluster starts empty']);
  });
  test('a scenario file with two documents is refused', () => {
    expect(() => parseScenario(`${scenario('  seed: 1\n')}---\n${scenario('  seed: 2\n')}`, 'two.yaml')).toThrow(/holds one document, found 2/);
  });
});
