// `kubepath trace SCENARIO --from SRC --to DST [--at TIME] [--samples N] [-o text|json|wide]`:
// converge the scenario to a time, then walk the packet through the rendered data plane.
import { InputError } from '../manifest/diagnostic.js';
import { runUntil, startSimulation, type Simulation } from '../scenario/runner.js';
import type { Scenario } from '../scenario/types.js';
import { cniLabel } from '../scenario/cni.js';
import { Rng } from '../cluster/rng.js';
import { resolveFrom, resolveTo } from '../trace/endpoints.js';
import { TraceSession, type SessionOptions } from '../trace/session.js';
import type { TraceResult } from '../trace/types.js';
import { renderTraceJson, renderTraceText } from '../report/trace.js';
import { renderTraceDot, renderTraceMermaid } from '../report/trace-graph.js';

export interface ScenarioTraceOptions {
  readonly from: string;
  readonly to: string;
  readonly atSeconds: number;
  readonly samples?: number;
  readonly seed?: number;
  readonly sport?: number;
}

export function sessionFor(sim: Simulation, overrides: Partial<SessionOptions> = {}): TraceSession {
  const p = sim.scenario.profile;
  const mode = p.kubeProxy.mode;
  if (mode !== 'iptables' && mode !== 'ipvs') {
    throw new InputError([{ severity: 'error', file: p.file, field: 'spec.kubeProxy.mode', message: `kube-proxy ${mode} mode is not traced yet`, hint: 'use iptables or ipvs' }]);
  }
  return new TraceSession({
    store: sim.cluster.store,
    plugin: sim.cni,
    cloud: p.cloud,
    clusterCIDRs: p.cluster.clusterCIDRs,
    serviceCIDRs: p.cluster.serviceCIDRs,
    subnets: [...new Set(p.nodes.map((n) => n.subnet))],
    kubeProxy: { mode, masqueradeAll: p.kubeProxy.masqueradeAll, ipvsScheduler: p.kubeProxy.ipvsScheduler },
    ...overrides,
  });
}

export function traceScenario(scenario: Scenario, o: ScenarioTraceOptions): TraceResult {
  const sim = startSimulation(scenario);
  runUntil(sim, o.atSeconds);
  const session = sessionFor(sim);
  const from = resolveFrom(o.from, sim.cluster.store, session.fabric);
  const to = resolveTo(o.to, sim.cluster.store);
  const flow = { ...to.flow, ...(from.src ? { src: from.src } : {}), ...(o.sport ? { sport: o.sport } : {}) };
  const seed = o.seed ?? scenario.seed ?? 1;
  const paths = o.samples ? session.trace(from.start, flow, { samples: o.samples, random: rngFloat(seed) }) : session.trace(from.start, flow);
  const src = session.sourceAddress(from.start, flow);
  const warnings = [...[...session.hosts.refusedCommands()].map(([node, msg]) => `${node}: the CNI's command was refused: ${msg}`), ...session.problems];
  return {
    request: {
      from: from.label,
      to: to.label,
      proto: flow.proto,
      src,
      sport: flow.sport ?? 40000,
      dst: flow.dst,
      dport: flow.dport,
      at: o.atSeconds,
      profile: scenario.profile.name,
      cni: cniLabel(sim.cni),
      kubeProxyMode: scenario.profile.kubeProxy.mode,
    },
    mode: o.samples ? 'sampled' : 'exact',
    ...(o.samples ? { samples: o.samples, seed } : {}),
    paths,
    warnings,
  };
}

function rngFloat(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.float();
}

export const TRACE_OUTPUTS = ['text', 'wide', 'json', 'dot', 'mermaid'] as const;

export function renderTrace(r: TraceResult, output: string): string {
  if (output === 'json') return renderTraceJson(r);
  if (output === 'dot') return renderTraceDot(r);
  if (output === 'mermaid') return renderTraceMermaid(r);
  return renderTraceText(r, output === 'wide');
}
