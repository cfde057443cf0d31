// Routing interpreter benchmark: longest-prefix lookups per second on a 10,000-route IPv4 table,
// the Patricia trie against the linear reference, in the same run (target: trie ≥ 1,000,000/s).
import { LinearPrefixMap, PrefixTrie4, fibLookup, Namespace } from '../src/dataplane/routing/index.js';

/** A deterministic 32-bit generator (xorshift), so every run uses the same table and addresses. */
function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

function timeLoop(run: () => void, minMs: number): { iterations: number; ms: number } {
  let iterations = 0;
  const start = performance.now();
  let now = start;
  while (now - start < minMs) {
    run();
    iterations++;
    now = performance.now();
  }
  return { iterations, ms: now - start };
}

export interface RoutingFigures extends Record<string, number> {
  routes: number;
  trieLookupsPerSec: number;
  linearLookupsPerSec: number;
  speedup: number;
  fibLookupsPerSec: number;
}

/** Node-like table: a default route, /24 pod subnets per node, /26 blocks, /32 pod routes. */
export function benchRouting(options: { routes?: number; addresses?: number; quick?: boolean } = {}): RoutingFigures {
  const routes = options.routes ?? 10_000;
  const nAddr = options.addresses ?? 100_000;
  const rnd = xorshift(0x5eed);
  const trie = new PrefixTrie4<number>();
  const linear = new LinearPrefixMap<number, number>(4);
  const ns = new Namespace('bench');
  ns.addLink({ name: 'eth0', kind: 'ether' });
  ns.addAddress('eth0', '172.16.0.10/16');
  const lens = [24, 26, 32, 16, 28];
  trie.set(0, 0, 0);
  linear.set(0, 0, 0);
  ns.addRoute({ dst: 'default', via: '172.16.0.1' });
  for (let i = 1; i < routes; i++) {
    const len = lens[i % lens.length]!;
    const key = ((10 << 24) | (rnd() & 0xffffff)) >>> 0;
    trie.set(key, len, i);
    linear.set(key, len, i);
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    const net = (key & mask) >>> 0;
    ns.addRoute({ dst: `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${len}`, via: '172.16.0.1' }, 'replace', false);
  }
  const addrs = new Uint32Array(nAddr);
  for (let i = 0; i < nAddr; i++) addrs[i] = i % 2 ? ((10 << 24) | (rnd() & 0xffffff)) >>> 0 : rnd();

  let sink = 0;
  const minMs = options.quick ? 100 : 500;
  const t = timeLoop(() => {
    for (let i = 0; i < nAddr; i++) sink += trie.lookup(addrs[i]!) ?? 0;
  }, minMs);
  const trieRate = (t.iterations * nAddr) / (t.ms / 1000);

  // The linear scan is ~10,000 times slower per lookup: time a slice of the addresses.
  const slice = options.quick ? 200 : 1000;
  const l = timeLoop(() => {
    for (let i = 0; i < slice; i++) sink += linear.lookup(addrs[i]!) ?? 0;
  }, minMs);
  const linearRate = (l.iterations * slice) / (l.ms / 1000);

  const fibSlice = Math.min(nAddr, 20_000);
  const f = timeLoop(() => {
    for (let i = 0; i < fibSlice; i++) {
      const r = fibLookup(ns, { family: 4, dst: addrs[i]!, iif: 'eth0' });
      if (r.ok) sink += r.prefixLen;
    }
  }, minMs);
  const fibRate = (f.iterations * fibSlice) / (f.ms / 1000);
  if (sink === -1) console.log(sink);
  return {
    routes,
    trieLookupsPerSec: Math.round(trieRate),
    linearLookupsPerSec: Math.round(linearRate),
    speedup: trieRate / linearRate,
    fibLookupsPerSec: Math.round(fibRate),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = benchRouting({ quick: process.argv.includes('--quick') });
  console.log('Routing: LPM on a 10,000-route IPv4 table (target: trie ≥ 1,000,000 lookups/s)');
  for (const [k, v] of Object.entries(figures)) console.log(`  ${k.padEnd(28)} ${Number.isInteger(v) ? v : v.toFixed(1)}`);
}
