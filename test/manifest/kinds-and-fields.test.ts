// Kinds and apiVersions, strict (unknown-field) decoding, metadata and label rules.
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { checkKind, kindFromAlias } from '../../src/manifest/kinds.js';
import { loadManifests } from '../../src/manifest/load.js';
import { brief, check, errors, yaml } from './helpers.js';

describe('apiVersion and kind', () => {
  test('apps/v1 Service is an error naming the right apiVersion', () => {
    const r = check('apiVersion: apps/v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n');
    expect(r.diagnostics).toMatchObject([
      { severity: 'error', field: 'apiVersion', line: 1, message: 'no matches for kind "Service" in version "apps/v1"', hint: 'Service is served at apiVersion: v1' },
    ]);
  });
  test('a removed version says when it was removed', () => {
    expect(checkKind('extensions/v1beta1', 'Ingress')).toMatchObject({ status: 'mismatch', message: expect.stringContaining('removed in Kubernetes 1.22'), hint: 'use apiVersion: networking.k8s.io/v1' });
    expect(checkKind('policy/v1beta1', 'PodDisruptionBudget')).toMatchObject({ status: 'mismatch', hint: 'use apiVersion: policy/v1' });
    expect(checkKind('batch/v1beta1', 'CronJob')).toMatchObject({ status: 'mismatch', message: expect.stringContaining('1.25') });
  });
  test('PodSecurityPolicy is gone entirely', () => {
    expect(checkKind('policy/v1beta1', 'PodSecurityPolicy')).toMatchObject({ status: 'mismatch', message: 'PodSecurityPolicy was removed in Kubernetes 1.25' });
  });
  test('well-known kinds that are not simulated are kept with an info note, never an error', () => {
    const r = check(yaml`
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: c}
      data: {a: b}
      ---
      apiVersion: rbac.authorization.k8s.io/v1
      kind: ClusterRole
      metadata: {name: r}
      ---
      apiVersion: autoscaling/v2
      kind: HorizontalPodAutoscaler
      metadata: {name: h}
      spec: {anything: goes}
    `);
    expect(r.objects.map((o) => o.object.kind)).toEqual(['ConfigMap', 'ClusterRole', 'HorizontalPodAutoscaler']);
    expect(r.diagnostics.map((d) => `${d.severity}@${d.line}`)).toEqual(['info@2', 'info@7', 'info@11']);
    expect(r.diagnostics[0]!.message).toBe('ConfigMap is not simulated: kept as-is, it does not change traffic');
  });
  test('a custom resource (group with a dot) is kept with an info note', () => {
    const r = check('apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c}\nspec: {secretName: x}\n');
    expect(r.objects).toHaveLength(1);
    expect(r.diagnostics).toMatchObject([{ severity: 'info', message: 'Certificate (cert-manager.io) is a custom resource: kept, not simulated' }]);
  });
  test('a Gateway API object is a custom resource even though its group ends in k8s.io', () => {
    expect(checkKind('gateway.networking.k8s.io/v1', 'HTTPRoute').status).toBe('custom');
  });
  test('an unknown kind in a built-in group is a warning naming it, with a suggestion', () => {
    const r = check('apiVersion: v1\nkind: Servce\nmetadata: {name: web}\n');
    expect(r.diagnostics).toMatchObject([{ severity: 'warning', field: 'kind', line: 2, message: 'unknown kind "Servce" in version "v1"', hint: 'did you mean Service?' }]);
  });
  test('kubectl-style aliases resolve to kinds', () => {
    expect(['deploy', 'deployments', 'svc', 'sts', 'ds', 'netpol', 'ing', 'ep', 'endpointslices', 'po', 'ns', 'no'].map((a) => kindFromAlias(a)?.kind)).toEqual([
      'Deployment',
      'Deployment',
      'Service',
      'StatefulSet',
      'DaemonSet',
      'NetworkPolicy',
      'Ingress',
      'Endpoints',
      'EndpointSlice',
      'Pod',
      'Namespace',
      'Node',
    ]);
  });
});

describe('strict decoding', () => {
  test('an unknown field in spec.ports names its path and suggests the right one', () => {
    const e = errors('apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports:\n    - port: 80\n      nodeport: 30080\n');
    expect(e).toMatchObject([{ field: 'spec.ports[0].nodeport', line: 7, message: 'unknown field "nodeport"', hint: 'did you mean nodePort?' }]);
  });
  test('unknown fields at the top level, in metadata, in spec and in containers are all reported', () => {
    const text = yaml`
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: web
        label: {app: web}
      spec:
        replica: 2
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec:
            containers:
              - name: web
                image: nginx
                port: 80
      status2: {}
    `;
    expect(errors(text).map((d) => `${d.field}@${d.line} ${d.hint ?? ''}`)).toEqual([
      'metadata.label@5 did you mean labels?',
      'spec.replica@7 did you mean replicas?',
      'spec.template.spec.containers[0].port@15 did you mean ports?',
      'status2@16 did you mean status?',
    ]);
  });
  test('a string where an integer is expected is a type error with a hint', () => {
    const e = errors('apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports:\n    - port: "80"\n');
    expect(e).toMatchObject([{ field: 'spec.ports[0].port', line: 6, message: 'must be an integer, not a string ("80")', hint: 'write the number without quotes' }]);
  });
  test('a mapping where a list is expected is a type error', () => {
    const e = errors('apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports:\n    port: 80\n');
    expect(e[0]).toMatchObject({ field: 'spec.ports', message: 'must be a list, not a object (object)' });
  });
  test('targetPort accepts both an integer and a string', () => {
    expect(errors('apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports:\n    - {name: a, port: 80, targetPort: 8080}\n    - {name: b, port: 81, targetPort: web}\n')).toEqual([]);
  });
  test('fields newer than the generated schema (trafficDistribution) are known', () => {
    expect(errors('apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  trafficDistribution: PreferClose\n  ports: [{port: 80}]\n')).toEqual([]);
  });
});

describe('metadata', () => {
  test('name is required', () => {
    expect(brief(errors('apiVersion: v1\nkind: Pod\nmetadata: {}\nspec: {containers: [{name: a, image: b}]}\n'))).toEqual(['metadata.name@3: Required value: name or generateName is required']);
  });
  test('generateName is refused with a hint, as kubectl apply does', () => {
    const e = errors('apiVersion: v1\nkind: Pod\nmetadata: {generateName: p-}\nspec: {containers: [{name: a, image: b}]}\n');
    expect(e[0]!.hint).toContain('generateName');
  });
  test('an unquoted y is a boolean to kubectl (YAML 1.1), so it is not a valid label value', () => {
    expect(errors('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels:\n    enabled: y\n').map((d) => d.message)).toEqual(['must be a string, not a boolean (true)']);
  });
  test('label keys and values follow the label syntax', () => {
    const text = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels:\n    Example.com/x: z1\n    ok: "-bad-"\n';
    expect(errors(text).map((d) => `${d.field}@${d.line}`)).toEqual(['metadata.labels.Example.com/x@6', 'metadata.labels.ok@7']);
  });
  test('a namespace name must be a DNS label', () => {
    expect(errors('apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: My_NS}\nspec: {containers: [{name: a, image: b}]}\n').map((d) => d.field)).toEqual(['metadata.namespace']);
  });
});

describe('across the input', () => {
  const FIX = resolve(import.meta.dirname, '../fixtures/manifests');
  test('duplicate objects are an error naming both places; NodePorts are unique across Services', () => {
    const r = loadManifests([resolve(FIX, 'duplicates-a.yaml'), resolve(FIX, 'duplicates-b.yaml')]);
    const e = r.diagnostics.filter((d) => d.severity === 'error');
    expect(e.map((d) => `${d.file!.slice(FIX.length + 1)}:${d.line} ${d.field}: ${d.message}`)).toEqual([
      `duplicates-b.yaml:4 metadata.name: duplicate Service "shop/web": also defined at ${resolve(FIX, 'duplicates-a.yaml')}:1`,
      'duplicates-b.yaml:19 spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated',
    ]);
    expect(e[1]!.hint).toBe(`also used by Service "shop/web" at ${resolve(FIX, 'duplicates-a.yaml')}:1`);
  });
  test('objects in different namespaces or of different kinds are not duplicates', () => {
    const r = check(yaml`
      apiVersion: v1
      kind: Service
      metadata: {name: web, namespace: a}
      spec: {ports: [{port: 80}]}
      ---
      apiVersion: v1
      kind: Service
      metadata: {name: web, namespace: b}
      spec: {ports: [{port: 80}]}
      ---
      apiVersion: v1
      kind: Endpoints
      metadata: {name: web, namespace: a}
    `);
    expect(r.diagnostics).toEqual([]);
  });
  test('a missing namespace means default for duplicate detection', () => {
    const r = check('apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: b}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default}\nspec: {containers: [{name: a, image: b}]}\n');
    expect(r.diagnostics.map((d) => d.message)).toEqual([expect.stringMatching(/^duplicate Pod "default\/p": also defined at test\.yaml:5$/)]);
  });
  test('the same clusterIP on two Services is refused', () => {
    const r = check('apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {clusterIP: 10.96.0.20, ports: [{port: 80}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec: {clusterIP: 10.96.0.20, ports: [{port: 80}]}\n');
    expect(r.diagnostics).toMatchObject([{ severity: 'error', line: 9, field: 'spec.clusterIP', message: 'Invalid value: "10.96.0.20": failed to allocate IP 10.96.0.20: provided IP is already allocated' }]);
  });
  test('a file with many problems reports them all, each with its line', () => {
    const r = loadManifests([resolve(FIX, 'multi-error.yaml')]);
    expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line} ${d.field}`)).toEqual([
      '4 metadata.name',
      '7 spec.sessionAffinity',
      '8 spec.externalTrafficPolicy',
      '12 spec.ports[0].protocol',
      '13 spec.ports[1].name',
      '14 spec.ports[1].port',
      '15 spec.ports[1].targetPort',
      '26 spec.template.metadata.labels',
      '29 spec.template.spec.containers[0].image',
      '30 spec.template.spec.containers[0].imagePullPolicy',
    ]);
  });
});
