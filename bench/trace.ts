// Tracer benchmark (issue: node and pod networking): pod → pod and pod → ClusterIP traces per second
// on 5,000 nodes / 150,000 pods / 10,000 Services with flannel VXLAN and kube-proxy iptables.
// Prints the cold costs (session setup, building a host the first time a trace reaches it) and the
// warm rate, compared in the same run with the same walk over the netfilter reference (first-match
// linear) evaluator.
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import { createCluster } from '../src/cluster/index.js';
import type { Stored } from '../src/cluster/object.js';
import { populate } from './cluster.js';
import { createFlannel } from '../src/dataplane/cni/flannel.js';
import { TraceSession, type Flow } from '../src/trace/session.js';
import type { Start } from '../src/trace/tracer.js';

export interface TraceBenchOptions {
  nodes: number;
  services: number;
  podsPerService: number;
  /** Source pods traced from (each to one pod and one Service). */
  pairs: number;
  /** Seconds of warm tracing per measurement. */
  seconds: number;
}

const CLUSTER_CIDR = '10.0.0.0/8';
const SERVICE_CIDR = '172.16.0.0/12';
const NODE_SUBNET = '100.64.0.0/16';

function buildCluster(o: TraceBenchOptions) {
  const cluster = createCluster({ clusterCIDRs: [CLUSTER_CIDR], serviceCIDRs: [SERVICE_CIDR] }, { seed: 42 });
  const { store } = cluster;
  // Node addresses start at .2: the subnet's .0 and gateway .1 are not hosts.
  populate(store, o, (i) => `100.64.${(i + 2) >> 8}.${(i + 2) & 255}`);
  cluster.settle();
  cluster.advance(30);
  return cluster;
}

function session(store: ReturnType<typeof buildCluster>['store'], mode: 'fast' | 'linear', cacheSize: number): TraceSession {
  const plugin = createFlannel({ mode: 'vxlan', clusterCIDRs: [CLUSTER_CIDR], serviceCIDRs: [SERVICE_CIDR], cloud: 'none', nodeSubnet: () => NODE_SUBNET });
  return new TraceSession({
    store,
    plugin,
    cloud: 'none',
    clusterCIDRs: [CLUSTER_CIDR],
    serviceCIDRs: [SERVICE_CIDR],
    subnets: [NODE_SUBNET],
    kubeProxy: { mode: 'iptables' },
    hostCacheSize: cacheSize,
    netfilterMode: mode,
  });
}

interface Work {
  start: Start;
  toPod: Flow;
  toService: Flow;
}

function rate(s: TraceSession, work: readonly Work[], which: 'toPod' | 'toService', seconds: number): { perSec: number; paths: number } {
  let n = 0;
  let paths = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  while (performance.now() < until) {
    for (const w of work) {
      paths += s.trace(w.start, w[which]).length;
      n++;
    }
  }
  return { perSec: (n * 1000) / (performance.now() - t0), paths: paths / n };
}

export function benchTrace(o: TraceBenchOptions, log: (line: string) => void = () => {}): Record<string, number> {
  const t0 = performance.now();
  const cluster = buildCluster(o);
  log(`cluster converged in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const pods = cluster.store.list<Stored<Pod>>('Pod').filter((p) => p.status?.podIP);
  const services = cluster.store.list<Stored<Service>>('Service').filter((s) => s.metadata.namespace === 'default' && s.spec?.clusterIP);
  const work: Work[] = [];
  for (let i = 0; i < o.pairs; i++) {
    const src = pods[(i * 7919) % pods.length]!;
    const dst = pods[(i * 104729 + 17) % pods.length]!;
    const svc = services[(i * 131) % services.length]!;
    work.push({
      start: { kind: 'pod', namespace: src.metadata.namespace!, name: src.metadata.name!, node: src.spec!.nodeName! },
      toPod: { proto: 'tcp', dst: dst.status!.podIP!, dport: 8080 },
      toService: { proto: 'tcp', dst: svc.spec!.clusterIP!, dport: 80 },
    });
  }
  // Room for every host the traces reach (a ClusterIP trace reaches the nodes of all its endpoints).
  const cacheSize = Math.min(o.nodes, o.pairs * 20);
  const t1 = performance.now();
  const fast = session(cluster.store, 'fast', cacheSize);
  const setupMs = performance.now() - t1;
  // Cold: the first trace parses kube-proxy's rules once per node group; then each new host is built on first visit.
  const t2 = performance.now();
  fast.trace(work[0]!.start, work[0]!.toService);
  const firstTraceMs = performance.now() - t2;
  const t3 = performance.now();
  for (const w of work) {
    fast.trace(w.start, w.toPod);
    fast.trace(w.start, w.toService);
  }
  const coldMs = performance.now() - t3;
  const hostsBuilt = fast.hosts.size;
  log(`session ${setupMs.toFixed(0)} ms, first trace ${firstTraceMs.toFixed(0)} ms, ${hostsBuilt} hosts built in ${coldMs.toFixed(0)} ms`);
  const toPod = rate(fast, work, 'toPod', o.seconds);
  const toService = rate(fast, work, 'toService', o.seconds);
  log(`warm: ${toPod.perSec.toFixed(0)} pod→pod/s, ${toService.perSec.toFixed(0)} pod→ClusterIP/s (${toService.paths.toFixed(1)} paths each)`);

  // The reference: the same walk with netfilter's first-match linear evaluator.
  const linear = session(cluster.store, 'linear', cacheSize);
  const few = work.slice(0, Math.min(work.length, 8));
  for (const w of few) linear.trace(w.start, w.toService);
  const ref = rate(linear, few, 'toService', Math.max(1, Math.min(3, o.seconds / 2)));
  const refPod = rate(linear, few, 'toPod', Math.max(1, Math.min(3, o.seconds / 2)));
  // Same answers from both evaluators.
  let mismatches = 0;
  for (const w of few) {
    for (const f of [w.toPod, w.toService]) {
      const a = JSON.stringify(fast.trace(w.start, f).map((p) => [p.probabilityExact, p.outcome, p.endpoint, p.clientIpSeen]));
      const b = JSON.stringify(linear.trace(w.start, f).map((p) => [p.probabilityExact, p.outcome, p.endpoint, p.clientIpSeen]));
      if (a !== b) mismatches++;
    }
  }
  return {
    nodes: cluster.store.count('Node'),
    pods: cluster.store.count('Pod'),
    services: services.length,
    sessionSetupMs: setupMs,
    firstTraceMs,
    hostsBuilt,
    hostBuildMsAvg: coldMs / Math.max(1, hostsBuilt),
    podToPodPerSec: toPod.perSec,
    podToClusterIpPerSec: toService.perSec,
    pathsPerClusterIpTrace: toService.paths,
    referencePodToPodPerSec: refPod.perSec,
    referencePodToClusterIpPerSec: ref.perSec,
    speedupClusterIp: toService.perSec / ref.perSec,
    referenceMismatches: mismatches,
  };
}
