// Build a converged cluster from a Profile and inline objects (YAML text), and a trace session on it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario } from '../../src/scenario/scenario.js';
import { runUntil, startSimulation, type Simulation } from '../../src/scenario/runner.js';
import { sessionFor } from '../../src/cli/trace.js';
import type { SessionOptions, TraceSession } from '../../src/trace/session.js';
import type { Pod } from 'kubernetes-types/core/v1.js';

export interface ProfileSpec {
  cloud?: 'none' | 'aws' | 'alibaba';
  cni: string;
  mode: string;
  kubeProxy?: 'iptables' | 'ipvs';
  clusterCIDR?: string;
  serviceCIDR?: string;
  /** Node pool lines (YAML, indented under `nodes:`). */
  nodes?: string;
  /** Default: true on bare metal with flannel, false otherwise (the CNI hands out pod IPs). */
  allocateNodeCIDRs?: boolean;
  /** Extra cni fields, e.g. `externalSNAT: true`. */
  cniExtra?: string;
}

export function profileYaml(p: ProfileSpec): string {
  const cloud = p.cloud ?? 'none';
  const cidr = p.clusterCIDR ?? (cloud === 'none' ? '10.244.0.0/16' : '192.168.0.0/16');
  const nodes =
    p.nodes ??
    (cloud === 'aws'
      ? `    - {namePrefix: ip-node, count: 3, instanceType: m5.large, zones: [us-east-1a, us-east-1b, us-east-1c], subnet: [192.168.96.0/19, 192.168.128.0/19, 192.168.160.0/19], capacity: {cpu: "2", memory: 8Gi, pods: "29"}}`
      : cloud === 'alibaba'
        ? `    - {namePrefix: cn-node, count: 3, instanceType: ecs.g7.xlarge, zones: [cn-hangzhou-h, cn-hangzhou-i, cn-hangzhou-j], subnet: [192.168.0.0/20, 192.168.16.0/20, 192.168.32.0/20], capacity: {cpu: "4", memory: 16Gi, pods: "45"}}`
        : `    - {namePrefix: node, count: 3, zones: [zone-a, zone-b, zone-c], subnet: 192.168.1.0/24, capacity: {cpu: "4", memory: 16Gi, pods: "110"}}`);
  return `apiVersion: kubepath.dev/v1alpha1
kind: Profile
metadata: {name: test-${p.cni}-${p.mode}}
spec:
  cloud: ${cloud}
${cloud === 'aws' ? '  region: us-east-1\n' : cloud === 'alibaba' ? '  region: cn-hangzhou\n' : ''}  network:
    clusterCIDR: ${cidr}
    serviceCIDR: ${p.serviceCIDR ?? '10.96.0.0/12'}
    allocateNodeCIDRs: ${p.allocateNodeCIDRs ?? (cloud === 'none' && p.cni !== 'calico')}
  kubeProxy: {mode: ${p.kubeProxy ?? 'iptables'}}
  cni: {plugin: ${p.cni}, mode: ${p.mode}${p.cniExtra ? `, ${p.cniExtra}` : ''}}
  nodes:
${nodes}
`;
}

/** A scenario over `objects` (a YAML sequence, each item starting with `- `) on the profile, run to `at` seconds. */
export function simulate(profile: ProfileSpec | string, objects: string, at = 30, seed = 1): Simulation {
  const dir = mkdtempSync(join(tmpdir(), 'kubepath-trace-'));
  writeFileSync(join(dir, 'profile.yaml'), typeof profile === 'string' ? profile : profileYaml(profile));
  const indented = objects
    .trim()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
  writeFileSync(
    join(dir, 'scenario.yaml'),
    `apiVersion: kubepath.dev/v1alpha1
kind: Scenario
metadata: {name: trace-test}
spec:
  profile: ./profile.yaml
  seed: ${seed}
  objects:
${indented}
`,
  );
  const sim = startSimulation(loadScenario(join(dir, 'scenario.yaml')));
  runUntil(sim, at);
  return sim;
}

export function session(sim: Simulation, overrides: Partial<SessionOptions> = {}): TraceSession {
  return sessionFor(sim, overrides);
}

/** Running pods with an app label, sorted by name. */
export function podsOf(sim: Simulation, app: string): Pod[] {
  return (sim.cluster.store.list('Pod') as unknown as Pod[])
    .filter((p) => p.metadata?.labels?.['app'] === app && p.status?.podIP)
    .sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
}

export const WEB = `
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web, namespace: default}
  spec:
    replicas: 3
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec:
        topologySpreadConstraints:
          - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}}
        containers:
          - {name: web, image: "nginx:1.27", ports: [{name: http, containerPort: 8080}]}
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: default}
  spec:
    selector: {app: web}
    ports: [{name: http, port: 80, targetPort: http}]
- apiVersion: v1
  kind: Service
  metadata: {name: web-np, namespace: default}
  spec:
    type: NodePort
    selector: {app: web}
    ports: [{name: http, port: 80, targetPort: http, nodePort: 30080}]
- apiVersion: v1
  kind: Pod
  metadata: {name: client, namespace: default, labels: {app: client}}
  spec:
    nodeName: NODE1
    containers: [{name: c, image: "curl:8"}]
`;
