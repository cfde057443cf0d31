// Properties: any valid generated Service passes validation, and changing one field to a bad value
// produces exactly one error, at that field's path.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { validateObjects } from '../../src/manifest/validate.js';
import type { LoadedObject } from '../../src/scenario/types.js';
import type { KObject } from '../../src/cluster/object.js';

const dns1035 = fc.stringMatching(/^[a-z]([-a-z0-9]{0,10}[a-z0-9])?$/);
const labelKey = fc.oneof(fc.stringMatching(/^[a-z]{1,8}$/), fc.stringMatching(/^[a-z]{1,8}$/).map((k) => `example.com/${k}`));
const labelValue = fc.stringMatching(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,8}[A-Za-z0-9])?)?$/);
const ianaName = fc
  .array(fc.stringMatching(/^[a-z][a-z0-9]{0,3}$/), { minLength: 1, maxLength: 3 })
  .map((parts) => parts.join('-'))
  .filter((s) => s.length <= 15);
const targetPort = fc.oneof(fc.integer({ min: 1, max: 65535 }), ianaName);

type Svc = { metadata: { name: string; namespace: string }; spec: Record<string, unknown> };

const service = fc
  .record({
    name: dns1035,
    namespace: fc.stringMatching(/^[a-z]([-a-z0-9]{0,8}[a-z0-9])?$/),
    type: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer'),
    ports: fc.uniqueArray(fc.integer({ min: 1, max: 65535 }).filter((p) => p !== 10250), { minLength: 1, maxLength: 4 }),
    names: fc.uniqueArray(dns1035, { minLength: 4, maxLength: 4 }),
    nodePorts: fc.uniqueArray(fc.integer({ min: 30000, max: 32767 }), { minLength: 4, maxLength: 4 }),
    useNodePorts: fc.boolean(),
    protocols: fc.array(fc.constantFrom('TCP', 'UDP', 'SCTP'), { minLength: 4, maxLength: 4 }),
    targetPorts: fc.array(fc.option(targetPort, { nil: undefined }), { minLength: 4, maxLength: 4 }),
    selector: fc.dictionary(labelKey, labelValue, { maxKeys: 3 }),
    affinity: fc.option(fc.integer({ min: 1, max: 86400 }), { nil: undefined }),
    etp: fc.option(fc.constantFrom('Cluster', 'Local'), { nil: undefined }),
    clusterIP: fc.option(fc.integer({ min: 1, max: 65534 }).map((n) => `10.96.${n >> 8}.${n & 255}`), { nil: undefined }),
  })
  .map((g): Svc => {
    const external = g.type !== 'ClusterIP';
    const spec: Record<string, unknown> = {
      type: g.type,
      selector: g.selector,
      ports: g.ports.map((port, i) => ({
        name: g.names[i],
        port,
        protocol: g.protocols[i],
        ...(g.targetPorts[i] !== undefined ? { targetPort: g.targetPorts[i] } : {}),
        ...(external && g.useNodePorts ? { nodePort: g.nodePorts[i] } : {}),
      })),
    };
    if (g.affinity !== undefined) Object.assign(spec, { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: g.affinity } } });
    if (external && g.etp) spec.externalTrafficPolicy = g.etp;
    if (g.clusterIP) spec.clusterIP = g.clusterIP;
    return { metadata: { name: g.name, namespace: g.namespace }, spec };
  });

function validate(svc: Svc) {
  const lo: LoadedObject = { object: { apiVersion: 'v1', kind: 'Service', ...svc } as unknown as KObject, source: { file: 'gen.yaml', line: 1 } };
  return validateObjects([lo]);
}

type Mutation = (s: Svc, i: number) => string;
const port = (s: Svc, i: number) => (s.spec.ports as Record<string, unknown>[])[i]!;

const MUTATIONS: Record<string, Mutation> = {
  name: (s) => ((s.metadata.name = `${s.metadata.name}_x`), 'metadata.name'),
  port: (s, i) => ((port(s, i).port = 70000 + i), `spec.ports[${i}].port`),
  portType: (s, i) => ((port(s, i).port = String(port(s, i).port)), `spec.ports[${i}].port`),
  protocol: (s, i) => ((port(s, i).protocol = 'HTTP'), `spec.ports[${i}].protocol`),
  targetPort: (s, i) => ((port(s, i).targetPort = 'bad--name'), `spec.ports[${i}].targetPort`),
  portName: (s, i) => ((port(s, i).name = 'Bad'), `spec.ports[${i}].name`),
  nodePort: (s, i) => ((port(s, i).nodePort = 20000), `spec.ports[${i}].nodePort`),
  unknownField: (s, i) => ((port(s, i).nodeport = 30001), `spec.ports[${i}].nodeport`),
  sessionAffinity: (s) => ((s.spec.sessionAffinity = 'Sticky'), 'spec.sessionAffinity'),
  externalTrafficPolicy: (s) => ((s.spec.externalTrafficPolicy = s.spec.type === 'ClusterIP' ? 'Local' : 'Nearby'), 'spec.externalTrafficPolicy'),
  clusterIP: (s) => ((s.spec.clusterIP = '10.0.0.1'), 'spec.clusterIP'),
  portsNotAList: (s) => ((s.spec.ports = 80), 'spec.ports'),
  selectorNotAMap: (s) => ((s.spec.selector = 'app=web'), 'spec.selector'),
  selectorValue: (s) => {
    const key = Object.keys(s.spec.selector as object)[0] ?? 'app';
    (s.spec.selector as Record<string, string>)[key] = '-bad-';
    return `spec.selector.${key}`;
  },
};

describe('Service properties', () => {
  test('any valid generated Service passes with no diagnostics at all', () => {
    fc.assert(
      fc.property(service, (svc) => {
        expect(validate(svc)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  test('one mutated field gives exactly one error, at that field path', () => {
    fc.assert(
      fc.property(service, fc.constantFrom(...Object.keys(MUTATIONS)), fc.nat(), (svc, which, n) => {
        const copy = structuredClone(svc);
        const i = n % (copy.spec.ports as unknown[]).length;
        const path = MUTATIONS[which]!(copy, i);
        const errs = validate(copy).filter((d) => d.severity === 'error');
        expect(errs.map((d) => d.field)).toEqual([path]);
      }),
      { numRuns: 600 },
    );
  });
});
