// Netfilter evaluator benchmark: a synthetic kube-proxy ruleset (10,000 Services x 15 endpoints),
// pod -> ClusterIP traces per second on the fast path and on the linear reference walk, and a
// property check that both give identical outcomes on a million random packets.
//
//   npx tsx bench/netfilter.ts [--services N] [--endpoints N] [--packets N] [--seconds S] [--workers N]
//
// A "trace" is one full evaluation of a packet: every hook in kernel order, all 15 endpoint
// branches with exact probabilities and their rule-by-rule traces.
import fc from 'fast-check';
import { availableParallelism } from 'node:os';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { makePacket, type Packet } from '../src/net/packet.js';
import { Netfilter, parseIptablesSave, type Outcome, type Ruleset } from '../src/dataplane/netfilter/index.js';
import { describeOutcomes, packetArbitrary } from '../test/dataplane/netfilter/equivalence.js';
import { TEST_NODE } from '../test/dataplane/netfilter/helpers.js';
import { syntheticKubeProxy, type SyntheticOptions, type SyntheticRuleset } from '../test/dataplane/netfilter/synthetic.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

/** The ruleset of the million-packet check: same shape, every variant, small enough for the linear walk. */
const MID: SyntheticOptions = { services: 300, endpoints: 5, nodePortEvery: 5, noEndpointsEvery: 11, affinityEvery: 7, externalIPEvery: 9, udpEvery: 6 };

function parse(syn: SyntheticRuleset): Ruleset {
  const r = parseIptablesSave(syn.text);
  if (!r.ok) throw new Error(r.diagnostics.map((d) => `line ${d.line}: ${d.message}`).join('\n'));
  return r.ruleset;
}

function ruleCount(rs: Ruleset): number {
  let n = 0;
  for (const t of rs.tables.values()) for (const c of t.chains.values()) n += c.rules.length;
  return n;
}

/** Traces per second over about `seconds` (wall clock, and CPU time of this process). */
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
  return { wall: n / wall, cpu: n / ((cpu.user + cpu.system) / 1e6), traces: n, outcomes };
}

function sameOutcomes(a: readonly Outcome[], b: readonly Outcome[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.verdict !== y.verdict || x.delivery !== y.delivery || x.outInterface !== y.outInterface || x.rejectWith !== y.rejectWith) return false;
    // The same choices (rule, taken) give the same exact probability.
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

/** Compare the fast path with the linear walk on `count` random packets, committing the same path in both. */
function equivalence(syn: SyntheticRuleset, rs: Ruleset, count: number, seed: number): number {
  const fast = new Netfilter(rs, { node: TEST_NODE });
  const linear = new Netfilter(rs, { node: TEST_NODE, mode: 'linear' });
  const arb = fc.tuple(packetArbitrary(syn), fc.nat());
  let mismatches = 0;
  for (let done = 0; done < count; ) {
    const batch = Math.min(10_000, count - done);
    const samples = fc.sample(arb, { numRuns: batch, seed: seed + done });
    done += batch;
    for (const [{ packet, injection }, pick] of samples) {
      const a = fast.evaluate(packet, injection).outcomes;
      const b = linear.evaluate(packet, injection).outcomes;
      if (!sameOutcomes(a, b)) {
        if (mismatches++ < 3) {
          console.error('MISMATCH for', JSON.stringify(packet), injection, 'seed', seed);
          console.error(' fast  ', JSON.stringify(describeOutcomes(a)));
          console.error(' linear', JSON.stringify(describeOutcomes(b)));
        }
        continue;
      }
      fast.commit(a[pick % a.length]!);
      linear.commit(b[pick % b.length]!);
    }
  }
  return mismatches;
}

/** Run a share of the equivalence check in a child process (this script, with tsx's loader flags). */
function inWorker(count: number, seed: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--worker', String(count), String(seed)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Number(out.trim().split('\n').pop())) : reject(new Error(`worker exited with ${code}`))));
  });
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const SERVICES = arg('services', 10_000);
  const ENDPOINTS = arg('endpoints', 15);
  const PACKETS = arg('packets', 1_000_000);
  const SECONDS = arg('seconds', 3);
  const THREADS = Math.max(1, arg('workers', Math.min(2, availableParallelism())));

  let t0 = performance.now();
  const syn = syntheticKubeProxy({ services: SERVICES, endpoints: ENDPOINTS, nodePortEvery: 10 });
  const genMs = performance.now() - t0;
  t0 = performance.now();
  const ruleset = parse(syn);
  const parseMs = performance.now() - t0;
  const rules = ruleCount(ruleset);
  console.log(`ruleset: ${fmt(SERVICES)} Services x ${ENDPOINTS} endpoints, ${fmt(rules)} rules, ${(syn.text.length / 1e6).toFixed(1)} MB of iptables-restore text`);
  console.log(`  generated in ${fmt(genMs)} ms, parsed in ${fmt(parseMs)} ms (${((parseMs * 1000) / rules).toFixed(1)} us per rule)`);

  // pod -> ClusterIP: a pod source on cni0, a Service's ClusterIP and port, a TCP SYN; Services in a scattered order.
  const packets: Packet[] = [];
  for (let i = 0; i < 20_000; i++) {
    const s = syn.services[(i * 7919) % syn.services.length]!;
    packets.push(makePacket({ src: `10.200.${(i >> 8) & 255}.${i & 255}`, dst: s.clusterIP, proto: s.proto, sport: 10_000 + (i % 50_000), dport: s.port, inInterface: 'cni0' }));
  }
  const fast = new Netfilter(ruleset, { node: TEST_NODE });
  const linear = new Netfilter(ruleset, { node: TEST_NODE, mode: 'linear' });
  t0 = performance.now();
  for (const p of packets) fast.evaluate(p, { from: 'interface' }); // compile every chain the packets reach, warm the JIT
  console.log(`  first pass over ${fmt(packets.length)} packets (compiles chains lazily): ${fmt(performance.now() - t0)} ms`);
  const f = rate(fast, packets, SECONDS);
  console.log(`fast path:   ${fmt(f.wall)} traces/s (${fmt(f.cpu)} per CPU-second), ${(f.outcomes / f.traces).toFixed(1)} outcomes per trace`);
  rate(linear, packets, 0.5, 5);
  const l = rate(linear, packets, SECONDS, 30);
  console.log(`linear walk: ${fmt(l.wall)} traces/s (${fmt(l.cpu)} per CPU-second)`);
  console.log(`fast / linear: ${(f.cpu / l.cpu).toFixed(0)}x (CPU time), ${(f.wall / l.wall).toFixed(0)}x (wall clock)`);

  // Property: identical outcomes. A million packets on the MID ruleset (the linear walk over
  // 10,000 Services is too slow for a million), split over worker processes, and a sample on the
  // full ruleset.
  t0 = performance.now();
  const shares = Array.from({ length: THREADS }, (_, i) => Math.floor(PACKETS / THREADS) + (i < PACKETS % THREADS ? 1 : 0));
  const midMismatches = (await Promise.all(shares.map((n, i) => inWorker(n, 1_000 + i * 7_919_000)))).reduce((a, b) => a + b, 0);
  console.log(
    `fast == linear on ${fmt(PACKETS)} random packets (${MID.services} Services x ${MID.endpoints} endpoints, every variant, ${THREADS} processes): ${midMismatches} mismatches (${fmt((performance.now() - t0) / 1000)} s)`,
  );
  const bigCount = Math.min(300, PACKETS);
  t0 = performance.now();
  const bigMismatches = equivalence(syn, ruleset, bigCount, 7);
  console.log(`fast == linear on ${fmt(bigCount)} random packets (the full ruleset): ${bigMismatches} mismatches (${fmt((performance.now() - t0) / 1000)} s)`);
  if (midMismatches || bigMismatches) process.exit(1);
}

const workerAt = process.argv.indexOf('--worker');
if (workerAt < 0) await main();
else {
  const mid = syntheticKubeProxy(MID);
  console.log(equivalence(mid, parse(mid), Number(process.argv[workerAt + 1]), Number(process.argv[workerAt + 2])));
}
