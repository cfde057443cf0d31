// Cluster state → every node's kube-proxy rules: node views from Node objects and the Profile,
// one shared rendering per distinct node view, partial syncs that rewrite only changed Services.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { describe, expect, it } from 'vitest';
import { ClusterKubeProxy } from '../../../src/dataplane/kubeproxy/cluster.js';
import { renderIptables } from '../../../src/dataplane/kubeproxy/iptables.js';
import type { KObject } from '../../../src/cluster/object.js';
import { applyOne, runUntil, startSimulation, type Simulation } from '../../../src/scenario/runner.js';
import { loadScenario } from '../../../src/scenario/scenario.js';
import { nodeObject } from '../../../src/scenario/nodes.js';

const dir = mkdtempSync(join(tmpdir(), 'kubepath-cluster-rules-'));

const PROFILE = `apiVersion: kubepath.dev/v1alpha1
kind: Profile
metadata: {name: two-zones}
spec:
  cloud: none
  network: {clusterCIDR: 10.244.0.0/16, serviceCIDR: 10.96.0.0/12}
  kubeProxy: {mode: iptables}
  nodes:
    - namePrefix: node
      count: 4
      zones: [zone-a, zone-b]
      subnet: 192.168.1.0/24
      capacity: {cpu: "4", memory: 16Gi, pods: "110"}
`;

// Four api pods, one per node (node-1 and node-3 in zone-a, node-2 and node-4 in zone-b).
const SCENARIO = `apiVersion: kubepath.dev/v1alpha1
kind: Scenario
metadata: {name: zones}
spec:
  profile: ./profile.yaml
  objects:
    - apiVersion: apps/v1
      kind: Deployment
      metadata: {name: api, namespace: default}
      spec:
        replicas: 4
        selector: {matchLabels: {app: api}}
        template:
          metadata: {labels: {app: api}}
          spec:
            topologySpreadConstraints:
              - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: api}}}
            containers:
              - {name: api, image: "api:1", ports: [{name: http, containerPort: 8080}]}
    - apiVersion: v1
      kind: Service
      metadata: {name: api, namespace: default}
      spec:
        selector: {app: api}
        trafficDistribution: PreferClose
        ports: [{name: http, port: 80, targetPort: http}]
    - apiVersion: v1
      kind: Service
      metadata: {name: plain, namespace: default}
      spec:
        selector: {app: api}
        ports: [{name: http, port: 80, targetPort: http}]
`;

writeFileSync(join(dir, 'profile.yaml'), PROFILE);
writeFileSync(join(dir, 'scenario.yaml'), SCENARIO);

function zonesCluster(): Simulation {
  const sim = startSimulation(loadScenario(join(dir, 'scenario.yaml')));
  runUntil(sim, 30);
  return sim;
}

function proxyOf(sim: Simulation, extra: { masqueradeAll?: boolean } = {}): ClusterKubeProxy {
  const p = sim.scenario.profile;
  return new ClusterKubeProxy(sim.cluster.store, {
    mode: p.kubeProxy.mode,
    masqueradeAll: extra.masqueradeAll ?? p.kubeProxy.masqueradeAll,
    ipvsScheduler: p.kubeProxy.ipvsScheduler,
    clusterCIDRs: p.cluster.clusterCIDRs,
  });
}

function podIPsOn(sim: Simulation, app: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of sim.cluster.store.list('Pod') as KObject[]) {
    const pod = p as unknown as { metadata: { labels?: Record<string, string> }; spec: { nodeName?: string }; status?: { podIP?: string } };
    if (pod.metadata.labels?.['app'] === app && pod.spec.nodeName && pod.status?.podIP) out.set(pod.spec.nodeName, pod.status.podIP);
  }
  return out;
}

/** Endpoints named by `"<spn> -> ip:port"` comments in a Service's chain, in rule order. */
function endpointsOf(text: string, spn: string): string[] {
  const re = new RegExp(`--comment "${spn} -> ([0-9.]+):\\d+"`, 'g');
  return [...text.matchAll(re)].map((m) => m[1]!);
}

function servicesAndSlices(sim: Simulation): { services: Service[]; slices: EndpointSlice[] } {
  return {
    services: sim.cluster.store.list('Service') as unknown as Service[],
    slices: sim.cluster.store.list('EndpointSlice') as unknown as EndpointSlice[],
  };
}

describe('cluster state to node rules', () => {
  it('node views come from the Node objects and the Profile: name, InternalIP, zone label, cluster CIDR detector', () => {
    const sim = zonesCluster();
    const kp = proxyOf(sim);
    kp.sync();
    expect(kp.nodeNames()).toEqual(['node-1', 'node-2', 'node-3', 'node-4']);
    expect(kp.nodeView('node-2')).toMatchObject({
      nodeName: 'node-2',
      nodeIPs: ['192.168.1.3'],
      zone: 'zone-b',
      detectLocalMode: 'ClusterCIDR',
      clusterCIDR: ['10.244.0.0/16'],
      masqueradeAll: false,
    });
    // kube-proxy's ClusterCIDR detector: traffic to a ClusterIP from outside the pod network is masqueraded.
    expect(kp.iptables('node-2')!.ruleset.text).toMatch(/-A KUBE-SVC-\S+ -m comment --comment "default\/plain:http cluster IP" -m tcp -p tcp -d \S+ --dport 80 ! -s 10\.244\.0\.0\/16 -j KUBE-MARK-MASQ/);
    expect(kp.iptables('nope')).toBeUndefined();
  });

  it('two nodes in the same zone share one rendering object; a PreferClose Service gives each zone its own', () => {
    const sim = zonesCluster();
    const kp = proxyOf(sim);
    const result = kp.sync();
    expect(result.groups).toBe(2);
    const a1 = kp.iptables('node-1')!;
    const a3 = kp.iptables('node-3')!;
    const b2 = kp.iptables('node-2')!;
    expect(a1.ruleset).toBe(a3.ruleset); // shared, not copied
    expect(a1.group.nodes).toEqual(['node-1', 'node-3']);
    expect(b2.ruleset).not.toBe(a1.ruleset);
    expect(kp.iptables('node-4')!.ruleset).toBe(b2.ruleset);

    // Zone hints: each zone's nodes send api traffic to the endpoints in their zone only.
    const ips = podIPsOn(sim, 'api');
    const zoneA = [ips.get('node-1')!, ips.get('node-3')!].sort();
    const zoneB = [ips.get('node-2')!, ips.get('node-4')!].sort();
    expect(endpointsOf(a1.ruleset.text, 'default/api:http').sort()).toEqual(zoneA);
    expect(endpointsOf(b2.ruleset.text, 'default/api:http').sort()).toEqual(zoneB);
    // Without hints, every endpoint everywhere.
    expect(endpointsOf(a1.ruleset.text, 'default/plain:http').sort()).toEqual([...zoneA, ...zoneB].sort());
  });

  it('without zone hints or Local policies every node of the shipped scenario shares one rendering', () => {
    const sim = startSimulation(loadScenario('scenarios/rolling-update.yaml'));
    runUntil(sim, 25);
    const kp = proxyOf(sim);
    expect(kp.sync().groups).toBe(1);
    const r1 = kp.iptables('node-1')!.ruleset;
    expect(kp.iptables('node-2')!.ruleset).toBe(r1);
    expect(kp.iptables('node-3')!.ruleset).toBe(r1);
    expect(kp.iptablesGroups()[0]!.nodes).toEqual(['node-1', 'node-2', 'node-3']);
  });

  it('an externalTrafficPolicy Local Service gives nodes with different local endpoints different renderings', () => {
    const sim = zonesCluster();
    applyOne(sim.cluster, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'edge', namespace: 'default' },
      spec: { type: 'NodePort', externalTrafficPolicy: 'Local', selector: { app: 'api' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    } as KObject);
    sim.cluster.settle();
    const kp = proxyOf(sim);
    expect(kp.sync().groups).toBe(4);
    const ips = podIPsOn(sim, 'api');
    for (const n of kp.nodeNames()) {
      const text = kp.iptables(n)!.ruleset.text;
      // KUBE-SVL-*: this node's own endpoint only.
      const svl = [...text.matchAll(/-A (KUBE-SVL-\S+) -m comment --comment "default\/edge:http -> ([0-9.]+):8080"/g)].map((m) => m[2]);
      expect(svl).toEqual([ips.get(n)]);
    }
  });

  it('sharing is sound: every node gets exactly what rendering its own view alone gives', () => {
    const sim = zonesCluster();
    applyOne(sim.cluster, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'edge', namespace: 'default' },
      spec: { type: 'NodePort', externalTrafficPolicy: 'Local', selector: { app: 'api' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    } as KObject);
    sim.cluster.settle();
    const kp = proxyOf(sim);
    kp.sync();
    const { services, slices } = servicesAndSlices(sim);
    for (const n of kp.nodeNames()) {
      expect(kp.iptables(n)!.ruleset.text, n).toBe(renderIptables(services, slices, kp.nodeView(n)!).text);
    }
  });

  it('a change re-renders only the affected Services, through partial syncs', () => {
    const sim = startSimulation(loadScenario('scenarios/rolling-update.yaml'));
    runUntil(sim, 110); // the rollout has finished
    const kp = proxyOf(sim);
    const first = kp.sync();
    expect(first.synced).toHaveLength(1);
    expect(first.synced[0]!.full).toBe(true);
    const before = kp.iptables('node-1')!.ruleset;

    // Nothing changed: nothing is rendered, the same object is handed out.
    expect(kp.sync().synced).toEqual([]);
    expect(kp.iptables('node-1')!.ruleset).toBe(before);

    const { store } = sim.cluster;
    const web = store.get('Deployment', 'shop', 'web')!;
    store.update({ ...web, spec: { ...(web['spec'] as object), replicas: 4 } });
    runUntil(sim, 119); // before node-2 fails at 120s
    const second = kp.sync();
    expect([...second.changedServices].sort()).toEqual(['shop/web', 'shop/web-nodeport']);
    expect(second.synced).toHaveLength(1);
    expect(second.synced[0]!.full).toBe(false);
    expect([...second.synced[0]!.writtenServices].sort()).toEqual(['shop/web', 'shop/web-nodeport']);
    const after = kp.iptables('node-1')!.ruleset;
    expect(after).not.toBe(before);
    expect(endpointsOf(after.text, 'shop/web:http')).toHaveLength(4);
    // The partially synced state equals a fresh full render.
    const { services, slices } = servicesAndSlices(sim);
    expect(after.text).toBe(renderIptables(services, slices, kp.nodeView('node-1')!).text);
  });

  it('a node added later joins the existing rendering without any rendering', () => {
    const sim = startSimulation(loadScenario('scenarios/rolling-update.yaml'));
    runUntil(sim, 25);
    const kp = proxyOf(sim);
    kp.sync();
    const spec = sim.scenario.profile.nodes[0]!;
    sim.cluster.store.create(nodeObject({ ...spec, name: 'node-9', internalIP: '192.168.1.99', zone: 'zone-c', labels: { ...spec.labels, 'topology.kubernetes.io/zone': 'zone-c', 'kubernetes.io/hostname': 'node-9' } }));
    sim.cluster.settle();
    const r = kp.sync();
    expect(r.changedServices).toEqual([]);
    expect(r.synced).toEqual([]);
    expect(kp.iptables('node-9')!.ruleset).toBe(kp.iptables('node-1')!.ruleset);
    expect(kp.nodeView('node-9')!.nodeIPs).toEqual(['192.168.1.99']);
  });

  it('masqueradeAll from the profile masquerades every ClusterIP connection', () => {
    const sim = startSimulation(loadScenario('scenarios/rolling-update.yaml'));
    runUntil(sim, 25);
    const kp = proxyOf(sim, { masqueradeAll: true });
    kp.sync();
    const text = kp.iptables('node-1')!.ruleset.text;
    expect(text).toMatch(/-A KUBE-SVC-\S+ -m comment --comment "shop\/web:http cluster IP" -m tcp -p tcp -d \S+ --dport 80 -j KUBE-MARK-MASQ/);
    expect(text).not.toContain('! -s 10.244.0.0/16');
  });

  it('IPVS mode renders per node: the hairpin set holds only the node\'s own endpoints', () => {
    const sim = zonesCluster();
    const kp = new ClusterKubeProxy(sim.cluster.store, { mode: 'ipvs', clusterCIDRs: ['10.244.0.0/16'], ipvsScheduler: 'rr' });
    kp.sync();
    const ips = podIPsOn(sim, 'api');
    for (const n of kp.nodeNames()) {
      const ipvs = kp.ipvs(n)!;
      const loop = ipvs.ipsets.find((s) => s.name === 'KUBE-LOOP-BACK')!;
      const apiIPs = new Set(ips.values());
      const api = loop.entries.map((e) => e.slice(0, e.indexOf(','))).filter((ip) => apiIPs.has(ip));
      expect(new Set(api), n).toEqual(new Set([ips.get(n)]));
      expect(kp.ipvs(n)).toBe(ipvs); // cached until something changes
    }
    // The plain Service's virtual server has every endpoint as a real server.
    const plain = kp.ipvs('node-1')!.virtualServers.find((v) => v.service.spn === 'default/plain:http' && v.kind === 'cluster-ip')!;
    expect(plain.realServers.map((r) => r.address).sort()).toEqual([...ips.values()].sort());
  });
});
