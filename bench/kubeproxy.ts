// kube-proxy benchmark on rules the real renderer writes: 10,000 Services x 15 endpoints rendered
// for one node (render time, nat and filter rule counts), the node's whole ruleset parsed back, pod ->
// ClusterIP traces per second on the evaluator's fast path against the linear first-match walk, and
// identical outcomes from both on 1,000,000 random packets.
//
//   npx tsx bench/kubeproxy.ts [--services N] [--endpoints N] [--packets N] [--seconds S] [--workers N]
//
// A "trace" is one full evaluation of a packet: every hook in kernel order, every endpoint branch with
// its exact probability and rule-by-rule trace (15 paths for a 15-endpoint Service). The fast path
// stores whole evaluations by the packet bits the rules decided on (flow-cache.ts); the figures are
// measured on packets none of which was evaluated before (other pods, other ports), after one
// warm-up pass over the Services, and also with the cache off ("cold": every packet walked in full).
// The million-packet check runs on a 300-Service rendering with every variant (NodePort, externalIP,
// LoadBalancer, Local policies, affinity, no endpoints, UDP), split over worker processes: the linear
// walk over 10,000 Services is too slow for a million packets. A sample also runs on the full ruleset.
import { availableParallelism } from 'node:os';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { IptablesProxier } from '../src/dataplane/kubeproxy/iptables.js';
import { ServiceModel } from '../src/dataplane/kubeproxy/model.js';
import type { NodeView } from '../src/dataplane/kubeproxy/nodeview.js';
import { nodeRuleset } from '../src/dataplane/kubeproxy/save.js';
import { Netfilter, type Injection, type NodeNetwork, type Outcome, type Ruleset } from '../src/dataplane/netfilter/index.js';
import { makePacket, type L4Protocol, type Packet } from '../src/net/packet.js';

const NODE_IP = '192.168.0.2';
const NODE_NAME = 'bench-node';
const POD_CIDR = '10.128.0.0/9';
const NODE: NodeView = { nodeName: NODE_NAME, nodeIPs: [NODE_IP], zone: 'zone-a', clusterCIDR: POD_CIDR };
const NETWORK: NodeNetwork = {
  interfaces: [
    { name: 'lo', addresses: ['127.0.0.1/8'] },
    { name: 'eth0', addresses: [`${NODE_IP}/24`] },
    { name: 'cni0', addresses: ['10.128.0.1/24'] },
  ],
  defaultInterface: 'eth0',
};

const ip4 = (n: number) => `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
const CLUSTER_IP_BASE = (10 << 24) | (96 << 16); // 10.96.0.0/12
const POD_BASE = ((10 << 24) | (128 << 16)) >>> 0; // 10.128.0.0/9
const EXTERNAL_BASE = ((203 << 24) | (0 << 16) | (113 << 8)) >>> 0;
const LB_BASE = ((198 << 24) | (51 << 16) | (100 << 8)) >>> 0;

/** A deterministic generator (mulberry32): the same packets on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BenchServiceSpec {
  readonly clusterIP: string;
  readonly port: number;
  readonly proto: 'tcp' | 'udp';
  readonly nodePort?: number;
  readonly externalIP?: string;
  readonly loadBalancerIP?: string;
  readonly endpoints: readonly string[];
}

interface Variants {
  nodePortEvery: number;
  externalIPEvery: number;
  loadBalancerEvery: number;
  localEvery: number;
  affinityEvery: number;
  noEndpointsEvery: number;
  udpEvery: number;
}

const NONE: Variants = { nodePortEvery: 10, externalIPEvery: 0, loadBalancerEvery: 0, localEvery: 0, affinityEvery: 0, noEndpointsEvery: 0, udpEvery: 0 };
const EVERY: Variants = { nodePortEvery: 4, externalIPEvery: 9, loadBalancerEvery: 7, localEvery: 5, affinityEvery: 6, noEndpointsEvery: 11, udpEvery: 8 };

/** Services and EndpointSlices as the API server and the EndpointSlice controller would store them. */
export function benchObjects(services: number, endpoints: number, v: Variants = NONE) {
  const svcs: Service[] = [];
  const slices: EndpointSlice[] = [];
  const specs: BenchServiceSpec[] = [];
  const every = (k: number, i: number) => k > 0 && i % k === k - 1;
  let pod = 2;
  for (let i = 0; i < services; i++) {
    const name = `svc-${i}`;
    const ns = `ns-${i % 50}`;
    const clusterIP = ip4(CLUSTER_IP_BASE + 10 + i);
    const proto = every(v.udpEvery, i) ? 'udp' : 'tcp';
    const nodePort = every(v.nodePortEvery, i) || every(v.loadBalancerEvery, i) ? 30000 + (i % 2768) : undefined;
    const externalIP = every(v.externalIPEvery, i) ? ip4(EXTERNAL_BASE + (i % 250) + 1) : undefined;
    const loadBalancerIP = every(v.loadBalancerEvery, i) ? ip4(LB_BASE + (i % 250) + 1) : undefined;
    const local = every(v.localEvery, i) && (nodePort !== undefined || externalIP !== undefined);
    const n = every(v.noEndpointsEvery, i) ? 0 : endpoints;
    const eps: string[] = [];
    for (let j = 0; j < n; j++) eps.push(ip4(POD_BASE + pod++));
    const type = loadBalancerIP ? 'LoadBalancer' : nodePort !== undefined ? 'NodePort' : 'ClusterIP';
    svcs.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { namespace: ns, name },
      spec: {
        type,
        clusterIP,
        clusterIPs: [clusterIP],
        ipFamilies: ['IPv4'],
        ports: [{ name: 'http', port: 80, protocol: proto === 'udp' ? 'UDP' : 'TCP', targetPort: 8080, ...(nodePort !== undefined ? { nodePort } : {}) }],
        ...(externalIP ? { externalIPs: [externalIP] } : {}),
        ...(local ? { externalTrafficPolicy: 'Local' } : {}),
        ...(every(v.affinityEvery, i) ? { sessionAffinity: 'ClientIP' } : {}),
      },
      ...(loadBalancerIP ? { status: { loadBalancer: { ingress: [{ ip: loadBalancerIP }] } } } : {}),
    });
    slices.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { namespace: ns, name: `${name}-x7k2p`, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      endpoints: eps.map((ip, j) => ({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false }, nodeName: j % 7 === 0 ? NODE_NAME : `node-${j}`, zone: 'zone-a' })),
      ports: [{ name: 'http', port: 8080, protocol: proto === 'udp' ? 'UDP' : 'TCP' }],
    });
    specs.push({ clusterIP, port: 80, proto, ...(nodePort !== undefined ? { nodePort } : {}), ...(externalIP ? { externalIP } : {}), ...(loadBalancerIP ? { loadBalancerIP } : {}), endpoints: eps });
  }
  return { services: svcs, slices, specs };
}

function render(services: readonly Service[], slices: readonly EndpointSlice[]) {
  const model = new ServiceModel('IPv4');
  model.update(services, slices);
  const result = new IptablesProxier(model, NODE).sync({ full: true });
  const text = result.payload.text;
  return { result, text };
}

/** Packets aimed mostly at the Services (ClusterIP, NodePort, externalIP, LB IP), from pods, the node and outside. */
export function randomPackets(specs: readonly BenchServiceSpec[], count: number, seed: number): { packet: Packet; injection: Injection }[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const out: { packet: Packet; injection: Injection }[] = [];
  const flags = [0x02, 0x02, 0x02, 0x10, 0x12, 0x04, 0x11, 0];
  const marks = [0, 0, 0, 0, 0x4000, 0x1];
  for (let i = 0; i < count; i++) {
    const s = pick(specs);
    let dst = s.clusterIP;
    let dport = s.port;
    let proto: L4Protocol = s.proto;
    const d = r();
    if (d < 0.15 && s.nodePort !== undefined) [dst, dport] = [NODE_IP, s.nodePort];
    else if (d < 0.25 && s.externalIP) dst = s.externalIP;
    else if (d < 0.35 && s.loadBalancerIP) dst = s.loadBalancerIP;
    else if (d < 0.42) [dst, dport, proto] = [ip4((Math.floor(r() * 0xdfffffff) + 0x01000000) >>> 0), 1 + Math.floor(r() * 65535), pick<L4Protocol>(['tcp', 'udp', 'icmp'])];
    else if (d < 0.45) dport += 1;
    else if (d < 0.47 && s.endpoints.length) [dst, dport] = [pick(s.endpoints), 8080];
    const f = r();
    let src: string;
    let iface: string | undefined;
    if (f < 0.55) [src, iface] = [ip4(POD_BASE + 200_000 + Math.floor(r() * 50_000)), 'cni0'];
    else if (f < 0.7 && s.endpoints.length) [src, iface] = [pick(s.endpoints), 'cni0'];
    else if (f < 0.9) [src, iface] = [ip4(EXTERNAL_BASE - 1000 - Math.floor(r() * 1_000_000)), 'eth0'];
    else [src, iface] = [NODE_IP, undefined];
    const packet = makePacket({
      src,
      dst,
      proto,
      sport: 1024 + Math.floor(r() * 64000),
      dport,
      tcpFlags: pick(flags),
      mark: pick(marks),
      ...(proto === 'icmp' ? { icmpType: 8, icmpCode: 0 } : {}),
      ...(iface ? { inInterface: iface } : {}),
    });
    out.push({ packet, injection: { from: iface ? 'interface' : 'local' } });
  }
  return out;
}

/** Everything an evaluation says, compared outcome by outcome. */
function sameOutcomes(a: readonly Outcome[], b: readonly Outcome[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.verdict !== y.verdict || x.delivery !== y.delivery || x.outInterface !== y.outInterface || x.rejectWith !== y.rejectWith) return false;
    if (x.probabilityValue !== y.probabilityValue || x.choices.length !== y.choices.length) return false;
    for (let k = 0; k < x.choices.length; k++) if (x.choices[k]!.rule !== y.choices[k]!.rule || x.choices[k]!.taken !== y.choices[k]!.taken) return false;
    const p = x.packet;
    const q = y.packet;
    if (p.src !== q.src || p.dst !== q.dst || p.sport !== q.sport || p.dport !== q.dport || p.mark !== q.mark || p.ttl !== q.ttl) return false;
    if (p.ct?.state !== q.ct?.state || p.ct?.dnat !== q.ct?.dnat || p.ct?.snat !== q.ct?.snat) return false;
    const s = x.trace;
    const t = y.trace;
    if (s.length !== t.length) return false;
    for (let k = 0; k < s.length; k++) {
      const u = s[k]!;
      const v = t[k]!;
      if (u.rule !== v.rule || u.verdict !== v.verdict || u.hook !== v.hook || u.chain !== v.chain || u.input.dst !== v.input.dst || u.packet.mark !== v.packet.mark) return false;
    }
  }
  return true;
}

/** Fast path and linear walk on `count` random packets, committing the same path in both; returns mismatches. */
export function equivalence(ruleset: Ruleset, specs: readonly BenchServiceSpec[], count: number, seed: number): { mismatches: number; hits: number } {
  const fast = new Netfilter(ruleset, { node: NETWORK });
  const linear = new Netfilter(ruleset, { node: NETWORK, mode: 'linear' });
  const r = rng(seed ^ 0x9e3779b9);
  let mismatches = 0;
  for (let done = 0; done < count; ) {
    const batch = Math.min(10_000, count - done);
    for (const { packet, injection } of randomPackets(specs, batch, seed + done)) {
      const a = fast.evaluate(packet, injection).outcomes;
      const b = linear.evaluate(packet, injection).outcomes;
      if (!sameOutcomes(a, b)) {
        if (mismatches++ < 3) console.error('MISMATCH', JSON.stringify(packet), injection, 'seed', seed);
        continue;
      }
      const pick = Math.floor(r() * a.length);
      fast.commit(a[pick]!);
      linear.commit(b[pick]!);
    }
    done += batch;
  }
  return { mismatches, hits: fast.flows?.hits ?? 0 };
}

function rate(nf: Netfilter, packets: readonly Packet[], seconds: number, minTraces = 1) {
  let n = 0;
  let outcomes = 0;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  while (n < minTraces || performance.now() - start < seconds * 1000) {
    outcomes += nf.evaluate(packets[n % packets.length]!, { from: 'interface' }).outcomes.length;
    n++;
  }
  const wall = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { wall: n / wall, cpu: n / ((cpu.user + cpu.system) / 1e6), outcomes: outcomes / n };
}

/** Traced packets per second when each packet takes one path, drawn as the kernel draws it (Netfilter.sample). */
function sampledRate(nf: Netfilter, packets: readonly Packet[], seconds: number, minTraces = 1) {
  const random = rng(99);
  let n = 0;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  while (n < minTraces || performance.now() - start < seconds * 1000) {
    nf.sample(packets[n % packets.length]!, { from: 'interface' }, random);
    n++;
  }
  const cpu = process.cpuUsage(cpu0);
  return { cpu: n / ((cpu.user + cpu.system) / 1e6) };
}

const MID = { services: 300, endpoints: 5 };

function midRuleset() {
  const objs = benchObjects(MID.services, MID.endpoints, EVERY);
  const { result } = render(objs.services, objs.slices);
  return { ruleset: nodeRuleset(result.payload, 'iptables'), specs: objs.specs };
}

function inWorker(count: number, seed: number): Promise<{ mismatches: number; hits: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--worker', String(count), String(seed)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`worker exited with ${code}`))));
  });
}

export interface KubeProxyBenchOptions {
  services?: number;
  endpoints?: number;
  /** Random packets for the fast == linear check (default 1,000,000). */
  packets?: number;
  /** Seconds per throughput measurement (default 3). */
  seconds?: number;
  workers?: number;
  /** Print progress lines. */
  log?: (line: string) => void;
}

/**
 * The figures; targets: ≥ 200,000 traced packets/s, ≥ 50× the linear walk, 0 mismatches. `tracesPerSec` counts
 * full distributions (every endpoint branch of a packet); `sampledPacketsPerSec` counts packets that each
 * take one path, drawn with the rules' probabilities, as real packets do.
 */
export async function benchKubeProxy(o: KubeProxyBenchOptions = {}): Promise<Record<string, number>> {
  const services = o.services ?? 10_000;
  const endpoints = o.endpoints ?? 15;
  const packetsToCheck = o.packets ?? 1_000_000;
  const seconds = o.seconds ?? 3;
  const workers = Math.max(1, o.workers ?? Math.min(2, availableParallelism()));
  const log = o.log ?? (() => {});

  const objs = benchObjects(services, endpoints);
  let t0 = performance.now();
  const { result, text } = render(objs.services, objs.slices);
  const renderMs = performance.now() - t0;
  const natRules = result.payload.nat.rules.filter((r) => r.line.startsWith('-A ')).length;
  const filterRules = result.payload.filter.rules.filter((r) => r.line.startsWith('-A ')).length;
  log(`rendered ${services} Services x ${endpoints} endpoints in ${renderMs.toFixed(0)} ms: ${natRules} nat + ${filterRules} filter rules, ${(text.length / 1e6).toFixed(1)} MB`);

  t0 = performance.now();
  const ruleset = nodeRuleset(result.payload, 'iptables');
  const parseMs = performance.now() - t0;

  // pod -> ClusterIP: a pod on cni0, a Service's ClusterIP and port, a TCP SYN. The warm-up visits every
  // Service once (scattered order); the measured packets come from other pods and ports, at random.
  const r = rng(2024);
  const podPacket = (src: number, s: BenchServiceSpec, sport: number) => makePacket({ src: ip4(POD_BASE + src), dst: s.clusterIP, proto: s.proto, sport, dport: s.port, inInterface: 'cni0' });
  const warmup: Packet[] = [];
  for (let i = 0; i < objs.specs.length; i++) warmup.push(podPacket(200_000 + i, objs.specs[(i * 7919) % objs.specs.length]!, 10_000 + i));
  const packets: Packet[] = [];
  for (let i = 0; i < 100_000; i++) packets.push(podPacket(200_000 + objs.specs.length + Math.floor(r() * 50_000), objs.specs[Math.floor(r() * objs.specs.length)]!, 1024 + Math.floor(r() * 64_000)));
  const fast = new Netfilter(ruleset, { node: NETWORK });
  const cold = new Netfilter(ruleset, { node: NETWORK, flowCache: false });
  const linear = new Netfilter(ruleset, { node: NETWORK, mode: 'linear' });
  t0 = performance.now();
  for (const p of warmup) fast.evaluate(p, { from: 'interface' }); // compiles chains lazily, warms the JIT, stores one evaluation per class
  const warmMs = performance.now() - t0;
  for (const p of warmup) cold.evaluate(p, { from: 'interface' });
  const flows = fast.flows!;
  const [hits0, misses0] = [flows.hits, flows.misses];
  const f = rate(fast, packets, seconds);
  const hitRate = (flows.hits - hits0) / (flows.hits - hits0 + flows.misses - misses0);
  const c = rate(cold, packets, seconds);
  rate(linear, packets, 0.5, 5);
  const l = rate(linear, packets, seconds, 30);
  log(`fast path ${f.cpu.toFixed(0)} traces/s (${f.outcomes.toFixed(1)} paths each; ${(hitRate * 100).toFixed(1)} % from ${flows.size} stored evaluations), cold ${c.cpu.toFixed(0)} traces/s, linear walk ${l.cpu.toFixed(0)} traces/s`);
  const fs = sampledRate(fast, packets, seconds);
  const cs = sampledRate(cold, packets, seconds);
  const ls = sampledRate(linear, packets, seconds, 30);
  log(`one path per packet (sampled as the kernel draws): fast ${fs.cpu.toFixed(0)} packets/s, cold ${cs.cpu.toFixed(0)}, linear ${ls.cpu.toFixed(0)} packets/s`);

  t0 = performance.now();
  const shares = Array.from({ length: workers }, (_, i) => Math.floor(packetsToCheck / workers) + (i < packetsToCheck % workers ? 1 : 0));
  const checks = await Promise.all(shares.map((n, i) => inWorker(n, 1_000 + i * 7_919_000)));
  const midMismatches = checks.reduce((a, b) => a + b.mismatches, 0);
  const midHits = checks.reduce((a, b) => a + b.hits, 0);
  const checkSeconds = (performance.now() - t0) / 1000;
  const fullSample = Math.min(300, packetsToCheck);
  const fullMismatches = equivalence(ruleset, objs.specs, fullSample, 7).mismatches;
  log(`fast == linear: ${midMismatches} mismatches on ${packetsToCheck} packets (${MID.services}-Service rendering, every variant; ${midHits} answered from stored evaluations), ${fullMismatches} on ${fullSample} (full rendering)`);

  return {
    services,
    endpointsPerService: endpoints,
    renderMs,
    natRules,
    filterRules,
    natRulesTotalMetric: result.natRulesTotal,
    restoreMB: text.length / 1e6,
    parseMs,
    firstPassMs: warmMs,
    tracesPerSec: f.cpu,
    pathsPerSec: f.cpu * f.outcomes,
    flowCacheHitRate: hitRate,
    storedEvaluations: flows.size,
    storedPaths: flows.paths,
    coldTracesPerSec: c.cpu,
    linearTracesPerSec: l.cpu,
    speedup: f.cpu / l.cpu,
    coldSpeedup: c.cpu / l.cpu,
    sampledPacketsPerSec: fs.cpu,
    coldSampledPacketsPerSec: cs.cpu,
    linearSampledPacketsPerSec: ls.cpu,
    sampledSpeedup: fs.cpu / ls.cpu,
    checkedPackets: packetsToCheck,
    checkedFromStore: midHits,
    mismatches: midMismatches,
    checkSeconds,
    fullRulesetSample: fullSample,
    fullRulesetMismatches: fullMismatches,
  };
}

function arg(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : undefined;
}

const self = fileURLToPath(import.meta.url);
if (process.argv[1] && fileURLToPath(new URL(`file://${process.argv[1]}`)) === self) {
  const workerAt = process.argv.indexOf('--worker');
  if (workerAt >= 0) {
    const { ruleset, specs } = midRuleset();
    console.log(JSON.stringify(equivalence(ruleset, specs, Number(process.argv[workerAt + 1]), Number(process.argv[workerAt + 2]))));
  } else {
    const figures = await benchKubeProxy({
      ...(arg('services') !== undefined ? { services: arg('services')! } : {}),
      ...(arg('endpoints') !== undefined ? { endpoints: arg('endpoints')! } : {}),
      ...(arg('packets') !== undefined ? { packets: arg('packets')! } : {}),
      ...(arg('seconds') !== undefined ? { seconds: arg('seconds')! } : {}),
      ...(arg('workers') !== undefined ? { workers: arg('workers')! } : {}),
      log: (s) => console.log(s),
    });
    for (const [k, v] of Object.entries(figures)) console.log(`  ${k.padEnd(24)} ${Number.isInteger(v) ? v : v.toFixed(3)}`);
    if (figures['mismatches'] || figures['fullRulesetMismatches']) process.exitCode = 1;
  }
}
