// Converge benchmark (issue: foundation): 5,000 nodes, 150,000 pods, 10,000 Services.
// Prints convergence time and peak memory, then the cost of one pod churn event, compared in
// the same run with a simple reference: recomputing every Service's endpoints from scratch.
import type { Pod } from 'kubernetes-types/core/v1.js';
import { createCluster, Cluster } from '../src/cluster/index.js';
import { clusterConfig } from '../src/cluster/config.js';
import { EndpointSliceController } from '../src/cluster/controllers/endpointslice.js';
import type { Stored } from '../src/cluster/object.js';
import type { Store } from '../src/cluster/store.js';

export interface ClusterBenchOptions {
  nodes: number;
  services: number;
  podsPerService: number;
  churnEvents: number;
  /** Also time the reference (a from-scratch reconcile of every Service). */
  reference?: boolean;
}

const ZONES = ['zone-a', 'zone-b', 'zone-c'];

export function benchCluster(o: ClusterBenchOptions): Record<string, number> {
  const cluster = createCluster(
    { clusterCIDRs: ['10.0.0.0/8'], serviceCIDRs: ['172.16.0.0/12'] },
    { seed: 42 },
  );
  const { store } = cluster;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  populate(store, o, (i) => `100.64.${i >> 8}.${i & 255}`);
  cluster.settle();
  const convergeMs = performance.now() - t0;
  // CPU time too (all threads, GC helpers included): on a shared machine the wall clock also
  // counts other processes' turns.
  const convergeCpu = process.cpuUsage(cpu0);
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;

  const pods = store.list<Stored<Pod>>('Pod');
  const slices = store.count('EndpointSlice');

  // One churn event: a pod is deleted; its ReplicaSet replaces it; the scheduler, kubelet and the
  // EndpointSlice controller react; the old pod finishes terminating.
  const churn: number[] = [];
  for (let i = 0; i < o.churnEvents; i++) {
    const victim = pods[(i * 7919) % pods.length]!;
    if (!store.get('Pod', victim.metadata.namespace, victim.metadata.name!)) continue;
    const t = performance.now();
    store.delete('Pod', victim.metadata.namespace, victim.metadata.name!);
    cluster.advance(5);
    churn.push(performance.now() - t);
  }
  churn.sort((a, b) => a - b);

  // The reference: what one event would cost without incremental work — the EndpointSlice
  // controller reconciling every Service from scratch over the same Nodes, Services and Pods.
  const fullRecomputeMs = o.reference === false ? NaN : fromScratchReconcileMs(cluster);

  return {
    nodes: store.count('Node'),
    pods: store.count('Pod'),
    services: store.count('Service'),
    endpointSlices: slices,
    convergeSeconds: convergeMs / 1000,
    convergeCpuSeconds: (convergeCpu.user + convergeCpu.system) / 1e6,
    peakRssMiB,
    churnMedianMs: churn[Math.floor(churn.length / 2)] ?? NaN,
    churnP99Ms: churn[Math.floor(churn.length * 0.99)] ?? NaN,
    referenceFullRecomputeMs: fullRecomputeMs,
  };
}

/**
 * The benchmark cluster's objects: `nodes` Ready Nodes over three zones, and per Service a Deployment
 * of `podsPerService` replicas selected by it. Shared with the tracer benchmark.
 */
export function populate(store: Store, o: Pick<ClusterBenchOptions, 'nodes' | 'services' | 'podsPerService'>, nodeAddress: (i: number) => string): void {
  store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  for (let i = 0; i < o.nodes; i++) {
    const name = `node-${i}`;
    const zone = ZONES[i % ZONES.length]!;
    store.create({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': zone } },
      spec: {},
      status: {
        capacity: { cpu: '32', memory: '128Gi', pods: '110' },
        allocatable: { cpu: '32', memory: '128Gi', pods: '110' },
        addresses: [{ type: 'InternalIP', address: nodeAddress(i) }],
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    });
  }
  for (let i = 0; i < o.services; i++) {
    const app = `app-${i}`;
    store.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: app, namespace: 'default' },
      spec: { selector: { app }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
    });
    store.create({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: app, namespace: 'default' },
      spec: {
        replicas: o.podsPerService,
        selector: { matchLabels: { app } },
        template: {
          metadata: { labels: { app } },
          spec: { containers: [{ name: 'app', image: 'nginx:1.27', ports: [{ containerPort: 8080 }], resources: { requests: { cpu: '100m', memory: '64Mi' } } }] },
        },
      },
    });
  }
}

function fromScratchReconcileMs(source: Cluster): number {
  const fresh = new Cluster(clusterConfig(source.config), { seed: 7 });
  fresh.register(new EndpointSliceController());
  for (const kind of ['Namespace', 'Node', 'Service', 'Pod']) for (const o of source.store.list(kind)) fresh.store.create(o);
  const t = performance.now();
  fresh.settle();
  return performance.now() - t;
}
