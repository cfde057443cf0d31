// `kubepath rules SCENARIO --node NAME [--mode iptables|ipvs] [--at TIME]`: the node's kube-proxy rules
// as the node's own tools print them: `iptables-save`, or for IPVS mode `ipvsadm -Sn`, `ipset save`
// and `iptables-save`, each after a marker comment line.
import { InputError } from '../manifest/diagnostic.js';
import { ClusterKubeProxy } from '../dataplane/kubeproxy/cluster.js';
import { iptablesNodeSave, ipvsNodeSave } from '../dataplane/kubeproxy/save.js';
import { DURATION_HINT, parseDuration } from '../scenario/duration.js';
import { loadScenario } from '../scenario/scenario.js';
import { runUntil, startSimulation } from '../scenario/runner.js';
import type { Scenario } from '../scenario/types.js';

export const RULES_MODES = ['iptables', 'ipvs'] as const;

export interface RulesOptions {
  readonly node: string;
  /** Default: the profile's kube-proxy mode. */
  readonly mode?: string;
  /** Virtual time to stop at, e.g. `90s`; default 0s (after the manifests converge). */
  readonly at?: string;
  readonly profile?: readonly string[];
  readonly seed?: number;
}

/** The node's rules at a time of the scenario (throws InputError for bad input). */
export function nodeRulesText(scenario: Scenario, node: string, mode: string | undefined, atSeconds: number): string {
  const p = scenario.profile;
  const effective = mode ?? p.kubeProxy.mode;
  if (effective !== 'iptables' && effective !== 'ipvs') {
    throw new InputError([
      {
        severity: 'error',
        file: p.file,
        field: 'spec.kubeProxy.mode',
        message: `kube-proxy ${effective} mode is not rendered yet`,
        hint: 'pass --mode iptables or --mode ipvs',
      },
    ]);
  }
  const sim = startSimulation(scenario);
  runUntil(sim, atSeconds);
  const proxy = new ClusterKubeProxy(sim.cluster.store, {
    mode: effective,
    masqueradeAll: p.kubeProxy.masqueradeAll,
    ipvsScheduler: p.kubeProxy.ipvsScheduler,
    clusterCIDRs: p.cluster.clusterCIDRs,
  });
  proxy.sync();
  const names = proxy.nodeNames();
  if (!names.includes(node)) {
    throw new InputError([
      {
        severity: 'error',
        field: '--node',
        message: `node "${node}" not found${atSeconds ? ` at ${atSeconds}s` : ''}`,
        hint: names.length ? `the nodes are: ${names.join(', ')}` : 'the scenario has no nodes',
      },
    ]);
  }
  const now = sim.cluster.clock.now();
  if (effective === 'ipvs') return ipvsNodeSave(proxy.ipvs(node)!, now);
  return iptablesNodeSave(proxy.iptables(node)!.ruleset, now);
}

/** The command: load, run to `--at`, print. */
export function rulesCommand(path: string, o: RulesOptions): string {
  if (o.mode !== undefined && !(RULES_MODES as readonly string[]).includes(o.mode)) {
    throw new InputError([{ severity: 'error', field: '--mode', message: `"${o.mode}" is not a kube-proxy mode kubepath renders`, hint: 'use iptables or ipvs' }]);
  }
  const at = o.at === undefined ? 0 : parseDuration(o.at);
  if (at === undefined) throw new InputError([{ severity: 'error', field: '--at', message: `"${o.at}" is not a duration`, hint: DURATION_HINT }]);
  const loaded = loadScenario(path, { profiles: [...(o.profile ?? [])] });
  const scenario = o.seed === undefined ? loaded : { ...loaded, seed: o.seed };
  return nodeRulesText(scenario, o.node, o.mode, at);
}
