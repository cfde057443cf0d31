// npm run bench — every benchmark at the scale its issue names. `--quick` for a smoke run.
import { benchCluster } from './cluster.js';
import { benchRouting } from './routing.js';
import { benchKubeProxy } from './kubeproxy.js';
import { benchTrace } from './trace.js';

const quick = process.argv.includes('--quick');
/** `--only NAME[,NAME]`: converge, routing, kube-proxy, trace. */
const onlyArg = process.argv[process.argv.indexOf('--only') + 1];
const only = process.argv.includes('--only') && onlyArg ? new Set(onlyArg.split(',')) : undefined;
const run = (name: string) => !only || only.has(name);

function print(title: string, figures: Record<string, number>): void {
  console.log(`\n${title}`);
  for (const [k, v] of Object.entries(figures)) console.log(`  ${k.padEnd(28)} ${Number.isInteger(v) ? v : v.toFixed(3)}`);
}

const scale = quick
  ? { nodes: 500, services: 1000, podsPerService: 15, churnEvents: 200 }
  : { nodes: 5000, services: 10000, podsPerService: 15, churnEvents: 1000 };
if (run('converge')) print(
  `Converge: ${scale.nodes} nodes, ${scale.services * scale.podsPerService} pods, ${scale.services} Services (targets: < 15 s, < 3 GiB, churn < 1 ms)`,
  benchCluster(scale),
);

if (run('routing')) print('Routing: longest-prefix match on 10,000 routes, trie vs linear reference (target: ≥ 1,000,000 lookups/s)', { ...benchRouting({ quick }) });
if (run('kube-proxy')) print('kube-proxy: 10,000 Services × 15 endpoints rendered, traced through the netfilter fast path vs the linear walk (targets: ≥ 200,000 traces/s, ≥ 50×, 0 mismatches)', await benchKubeProxy(quick ? { services: 1000, packets: 20_000, seconds: 1 } : { log: (l) => console.log(`  … ${l}`) }));
if (run('trace'))
  print(
    `Tracer: ${scale.nodes} nodes, ${scale.services * scale.podsPerService} pods, ${scale.services} Services, flannel vxlan + kube-proxy iptables: pod → pod and pod → ClusterIP traces/s (warm), the cost of building a host, and the same walk over the linear netfilter reference`,
    benchTrace({ ...scale, pairs: quick ? 10 : 20, seconds: quick ? 1 : 5 }, (l) => console.log(`  … ${l}`)),
  );
