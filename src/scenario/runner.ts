// Runs a Scenario: builds the cluster at t=0, plays the timeline on virtual time, records how
// each Service's endpoints change, and checks the expectations.
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { Cluster } from '../cluster/cluster.js';
import { createCluster } from '../cluster/index.js';
import type { KObject, Stored } from '../cluster/object.js';
import { InputError, type Diagnostic } from '../manifest/diagnostic.js';
import { applyObjects, applyOne } from './apply.js';
import { nodeObject } from './nodes.js';
import { bootstrapSystemObjects } from './bootstrap.js';
import { endpointCounts, podCounts, userServices, type EndpointCounts } from './state.js';
import { describeAction } from './describe.js';
import { createCniPlugin } from './cni.js';
import type { CniPlugin } from '../dataplane/cni/types.js';
import type { Expectation, Scenario, TimelineEvent, WorkloadRef } from './types.js';

export interface Simulation {
  scenario: Scenario;
  cluster: Cluster;
  /** The Profile's CNI: its IPAM runs in the kubelet, its renderers in the tracer. */
  cni: CniPlugin;
  /** Index of the next timeline event to play. */
  next: number;
}

export interface Transition {
  t: number;
  /** What the timeline did at this time, if anything (else the change followed from earlier events). */
  action?: string;
  services: Record<string, EndpointCounts>;
}

export interface ExpectationResult {
  expectation: Expectation;
  ok: boolean;
  /** What was found, in the expectation's own terms. */
  actual: Record<string, number>;
  text: string;
}

export interface RunReport {
  scenario: Scenario;
  transitions: Transition[];
  expectations: ExpectationResult[];
  events: Cluster['events'];
  endSeconds: number;
}

/** The cluster at t=0: system objects, the profile's nodes and the manifests, converged. */
export function startSimulation(scenario: Scenario): Simulation {
  const cni = createCniPlugin(scenario.profile);
  const cluster = createCluster(scenario.profile.cluster, { seed: scenario.seed, podIpam: cni.ipam });
  bootstrapSystemObjects(cluster);
  for (const n of scenario.profile.nodes) cluster.store.create(nodeObject(n));
  const errors = applyObjects(cluster, scenario.manifests);
  if (errors.length) throw new InputError(errors);
  cluster.settle();
  return { scenario, cluster, cni, next: 0 };
}

/** Play timeline events up to and including time `t` (seconds), then move the clock to `t`. */
export function runUntil(sim: Simulation, t: number, onStep?: (action?: string) => void): void {
  const { cluster, scenario } = sim;
  const start = cluster.clock.epochMs;
  while (sim.next < scenario.timeline.length && scenario.timeline[sim.next]!.at <= t) {
    const ev = scenario.timeline[sim.next++]!;
    cluster.advanceTo(start + ev.at * 1000, () => onStep?.());
    const errors = playEvent(cluster, ev);
    if (errors.length) throw new InputError(errors);
    cluster.settle();
    onStep?.(describeAction(ev));
  }
  cluster.advanceTo(start + t * 1000, () => onStep?.());
}

export function runScenario(scenario: Scenario): RunReport {
  const sim = startSimulation(scenario);
  const { cluster } = sim;
  const transitions: Transition[] = [];
  const services = userServices(cluster.store);
  let last = '';
  const snapshot = (action?: string) => {
    const counts: Record<string, EndpointCounts> = {};
    for (const s of services) {
      const [ns, name] = s.split('/') as [string, string];
      counts[s] = endpointCounts(cluster.store, ns, name);
    }
    const key = JSON.stringify(counts);
    if (key === last && !action) return;
    last = key;
    const now = cluster.now();
    const prev = transitions.at(-1);
    // Steps at the same instant are transient; keep the state the instant settles in.
    if (prev && prev.t === now && !action) prev.services = counts;
    else transitions.push({ t: now, ...(action ? { action } : {}), services: counts });
  };
  snapshot('start');

  const results: ExpectationResult[] = [];
  const expectations = [...scenario.expectations].sort((a, b) => a.at - b.at);
  const lastEvent = scenario.timeline.at(-1)?.at ?? 0;
  const lastExpect = expectations.at(-1)?.at ?? 0;
  for (const e of expectations) {
    runUntil(sim, e.at, snapshot);
    results.push(checkExpectation(cluster, e));
  }
  const end = Math.max(lastEvent, lastExpect);
  runUntil(sim, end, snapshot);
  return { scenario, transitions, expectations: results, events: cluster.events, endSeconds: end };
}

export function checkExpectation(cluster: Cluster, e: Expectation): ExpectationResult {
  let actual: Record<string, number>;
  let subject: string;
  if (e.expect === 'endpoints') {
    const [ns, name] = splitNsName(e.service);
    actual = { ...endpointCounts(cluster.store, ns, name) };
    subject = `endpoints ${ns}/${name}`;
  } else {
    actual = { ...podCounts(cluster.store, e.namespace, e.selector) };
    subject = `pods ${e.namespace}/${e.selector || '*'}`;
  }
  const wanted = Object.entries(e).filter(
    ([k, v]) => typeof v === 'number' && k !== 'at' && k in actual,
  ) as [string, number][];
  const ok = wanted.every(([k, v]) => actual[k] === v);
  const want = wanted.map(([k, v]) => `${k}=${v}`).join(' ');
  const got = wanted.map(([k]) => `${k}=${actual[k]}`).join(' ');
  return { expectation: e, ok, actual, text: `${e.name ?? subject} ${want}${ok ? '' : ` (got ${got})`}` };
}

function splitNsName(s: string): [string, string] {
  const i = s.indexOf('/');
  return i < 0 ? ['default', s] : [s.slice(0, i), s.slice(i + 1)];
}

/** Carry out one timeline action; returns located errors for anything the API refused. */
export function playEvent(cluster: Cluster, ev: TimelineEvent): Diagnostic[] {
  const { store } = cluster;
  const where = { file: ev.source.file, line: ev.source.line };
  const notFound = (what: string): Diagnostic[] => [
    { severity: 'error', ...where, message: `${what} not found at ${ev.at}s`, hint: 'check the name and namespace, or apply it earlier in the timeline' },
  ];
  switch (ev.action) {
    case 'apply':
      return applyObjects(cluster, ev.objects);
    case 'delete': {
      const gone = store.delete(ev.target.kind, ev.target.namespace, ev.target.name);
      return gone ? [] : notFound(`${ev.target.kind} ${ev.target.namespace ?? ''}/${ev.target.name}`);
    }
    case 'scale': {
      const w = store.get(ev.target.kind, ev.target.namespace, ev.target.name);
      if (!w) return notFound(refText(ev.target));
      store.update({ ...w, spec: { ...(w['spec'] as object), replicas: ev.replicas } });
      return [];
    }
    case 'rollout': {
      const w = store.get(ev.target.kind, ev.target.namespace, ev.target.name);
      if (!w) return notFound(refText(ev.target));
      store.update(rolledOut(w, ev.image, ev.templatePatch, cluster.clock.rfc3339()));
      return [];
    }
    case 'deletePod': {
      const gone = store.delete('Pod', ev.pod.namespace, ev.pod.name);
      return gone ? [] : notFound(`pod ${ev.pod.namespace}/${ev.pod.name}`);
    }
    case 'setPodReady': {
      const p = store.get<Stored<Pod>>('Pod', ev.pod.namespace, ev.pod.name);
      if (!p) return notFound(`pod ${ev.pod.namespace}/${ev.pod.name}`);
      const annotations = { ...p.metadata.annotations };
      if (ev.ready) delete annotations[FORCE_READY_ANNOTATION];
      else annotations[FORCE_READY_ANNOTATION] = 'false';
      store.update({ ...p, metadata: { ...p.metadata, annotations } });
      return [];
    }
    case 'nodeNotReady':
    case 'nodeReady': {
      const n = store.get<Stored<Node>>('Node', undefined, ev.node);
      if (!n) return notFound(`node ${ev.node}`);
      store.update(withReady(n, ev.action === 'nodeReady'));
      return [];
    }
    case 'cordon':
    case 'uncordon':
    case 'drain': {
      const n = store.get<Stored<Node>>('Node', undefined, ev.node);
      if (!n) return notFound(`node ${ev.node}`);
      store.update({ ...n, spec: { ...n.spec, unschedulable: ev.action !== 'uncordon' } });
      if (ev.action === 'drain') drain(cluster, ev.node);
      return [];
    }
    case 'deleteNode': {
      const gone = store.delete('Node', undefined, ev.node);
      return gone ? [] : notFound(`node ${ev.node}`);
    }
  }
}

/** kubectl uses this annotation-free mechanism only in kubepath: the kubelet honours it. */
export const FORCE_READY_ANNOTATION = 'kubepath.dev/ready';

function refText(r: WorkloadRef): string {
  return `${r.kind.toLowerCase()}/${r.namespace}/${r.name}`;
}

function withReady(n: Stored<Node>, ready: boolean): Stored<Node> {
  const others = n.status?.conditions?.filter((c) => c.type !== 'Ready') ?? [];
  const cond = ready
    ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }
    : { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'container runtime network not ready' };
  return { ...n, status: { ...n.status, conditions: [...others, cond] } };
}

// kubectl drain --ignore-daemonsets: evict every pod on the node except DaemonSet pods.
function drain(cluster: Cluster, node: string): void {
  for (const p of cluster.store.list<Stored<Pod>>('Pod')) {
    if (p.spec?.nodeName !== node || p.metadata.deletionTimestamp) continue;
    if (p.metadata.ownerReferences?.some((r) => r.kind === 'DaemonSet')) continue;
    cluster.store.delete('Pod', p.metadata.namespace, p.metadata.name!);
  }
}

function rolledOut(
  w: KObject,
  image: { container?: string; image: string } | undefined,
  patch: Record<string, unknown> | undefined,
  now: string,
): KObject {
  const spec = w['spec'] as { template?: { metadata?: { annotations?: Record<string, string> }; spec?: { containers?: { name: string; image?: string }[] } } };
  let template = { ...spec.template };
  if (image) {
    const containers = (template.spec?.containers ?? []).map((c, i) =>
      (image.container ? c.name === image.container : i === 0) ? { ...c, image: image.image } : c,
    );
    template = { ...template, spec: { ...template.spec, containers } };
  }
  if (patch) template = deepMerge(template, patch) as typeof template;
  if (!image && !patch) {
    // `kubectl rollout restart` stamps the template so that it changes.
    template = {
      ...template,
      metadata: { ...template.metadata, annotations: { ...template.metadata?.annotations, 'kubectl.kubernetes.io/restartedAt': now } },
    };
  }
  return { ...w, spec: { ...spec, template } };
}

function deepMerge(a: unknown, b: unknown): unknown {
  if (b === null || typeof b !== 'object' || Array.isArray(b) || a === null || typeof a !== 'object' || Array.isArray(a)) return b;
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [k, v] of Object.entries(b)) out[k] = deepMerge(out[k], v);
  return out;
}

export { applyOne };
