// Test-only helpers: a cluster with chosen controllers, nodes, and a tiny stand-in for the
// scheduler + kubelet that binds pods and moves them through phases when the test says so.
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { Cluster } from '../../../src/cluster/cluster.js';
import { clusterConfig } from '../../../src/cluster/config.js';
import type { Controller, ControllerContext } from '../../../src/cluster/controller.js';
import { objectKey, splitKey, type KObject, type Stored } from '../../../src/cluster/object.js';
import { installPodIndexes } from '../../../src/cluster/podindex.js';
import { targetNodeName } from '../../../src/cluster/workloads/nodefit.js';

export type P = Stored<Pod>;

export function testCluster(controllers: Controller[], seed = 1): Cluster {
  const c = new Cluster(clusterConfig(), { seed });
  installPodIndexes(c.store);
  for (const ctl of controllers) c.register(ctl);
  return c;
}

export function addNode(c: Cluster, name: string, opts: { labels?: Record<string, string>; taints?: NonNullable<Node['spec']>['taints'] } = {}): Stored<Node> {
  return c.store.create<Stored<Node>>({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...opts.labels } },
    spec: opts.taints ? { taints: opts.taints } : {},
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  });
}

export function pods(c: Cluster, ns = 'default'): P[] {
  return c.store.list<P>('Pod', ns);
}

export function activePods(c: Cluster, ns = 'default'): P[] {
  return pods(c, ns).filter((p) => !p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
}

export function get<T extends KObject>(c: Cluster, kind: string, name: string, ns = 'default'): T {
  const o = c.store.get<T>(kind, ns, name);
  if (!o) throw new Error(`${kind} ${ns}/${name} not found`);
  return o;
}

export function update<T extends KObject>(c: Cluster, kind: string, name: string, change: (o: T) => T, ns = 'default'): T {
  return c.store.update(change(get<T>(c, kind, name, ns)));
}

/** Mark a bound pod Running, Ready or not, as of now. */
export function setRunning(c: Cluster, pod: P, ready: boolean): P {
  const cur = c.store.get<P>('Pod', pod.metadata.namespace, pod.metadata.name!)!;
  const now = c.clock.rfc3339();
  return c.store.update<P>({
    ...cur,
    status: {
      ...cur.status,
      phase: 'Running',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now }],
    },
  });
}

export function setPhase(c: Cluster, pod: P, phase: 'Succeeded' | 'Failed'): P {
  const cur = c.store.get<P>('Pod', pod.metadata.namespace, pod.metadata.name!)!;
  const now = c.clock.rfc3339();
  return c.store.update<P>({ ...cur, status: { ...cur.status, phase, conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: now }] } });
}

export interface FakeKubeletOptions {
  /** Bind unscheduled pods: to the node a DaemonSet pins them to, else round-robin. */
  bind?: boolean;
  /** Mark bound pods Running (and Ready when `ready`) after `startSeconds`. */
  run?: boolean;
  ready?: boolean;
  startSeconds?: number;
  /** Remove terminating pods after this many seconds (0: at once). */
  terminateSeconds?: number;
  /** Pods with `kubepath.dev/run-seconds` (default 10) succeed that long after they run. */
  runJobs?: boolean;
}

/** Stands in for the scheduler and the kubelet (other helpers' code) in these tests. */
export class FakeKubelet implements Controller {
  readonly name = 'test-kubelet';
  private ctx!: ControllerContext;
  private next = 0;

  constructor(public opts: FakeKubeletOptions = {}) {}

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    ctx.store.watch<P>('Pod', (ev) => {
      if (ev.type !== 'DELETED') ctx.queue.add(objectKey(ev.object));
    });
  }

  sync(key: string): void {
    const store = this.ctx.store;
    const { namespace, name } = splitKey(key);
    const pod = store.get<P>('Pod', namespace, name);
    if (!pod) return;
    const now = this.ctx.clock.now();
    if (pod.metadata.deletionTimestamp) {
      const deletedAt = Date.parse(pod.metadata.deletionTimestamp) - (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
      const wait = (deletedAt + (this.opts.terminateSeconds ?? 0) * 1000 - now) / 1000;
      if (wait > 0) this.ctx.enqueueAfter(key, wait);
      else store.delete('Pod', namespace, name, { gracePeriodSeconds: 0 });
      return;
    }
    if (!pod.spec?.nodeName) {
      if (!this.opts.bind) return;
      const nodes = store.list<Stored<Node>>('Node');
      if (nodes.length === 0) return;
      const pinned = targetNodeName(pod.spec);
      const node = pinned ?? nodes[this.next++ % nodes.length]!.metadata.name!;
      store.update<P>({ ...pod, spec: { ...pod.spec!, nodeName: node } });
      return;
    }
    const phase = pod.status?.phase;
    if (this.opts.run && (phase === undefined || phase === 'Pending')) {
      const bound = Date.parse(pod.metadata.creationTimestamp!);
      const wait = ((this.opts.startSeconds ?? 0) * 1000 - (now - bound)) / 1000;
      if (wait > 0) this.ctx.enqueueAfter(key, wait);
      else setRunning(clusterLike(this.ctx), pod, !!this.opts.ready);
      return;
    }
    if (this.opts.runJobs && phase === 'Running') {
      const secs = Number(pod.metadata.annotations?.['kubepath.dev/run-seconds'] ?? 10);
      const started = Date.parse(pod.status?.conditions?.[0]?.lastTransitionTime ?? pod.metadata.creationTimestamp!);
      const wait = (started + secs * 1000 - now) / 1000;
      if (wait > 0) this.ctx.enqueueAfter(key, wait);
      else setPhase(clusterLike(this.ctx), pod, 'Succeeded');
    }
  }
}

function clusterLike(ctx: ControllerContext): Cluster {
  return { store: ctx.store, clock: ctx.clock } as unknown as Cluster;
}

/** A Deployment manifest. */
export function deployment(name: string, replicas: number, opts: { image?: string; strategy?: Record<string, unknown>; minReadySeconds?: number; labels?: Record<string, string> } = {}): KObject {
  const labels = opts.labels ?? { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      ...(opts.strategy ? { strategy: opts.strategy } : {}),
      ...(opts.minReadySeconds ? { minReadySeconds: opts.minReadySeconds } : {}),
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: opts.image ?? 'nginx:1.25' }] } },
    },
  };
}

/** Change the image of a workload's first container. */
export function setImage<T extends KObject>(o: T, image: string): T {
  const spec = o['spec'] as { template: { spec: { containers: { image: string }[] } } };
  const t = spec.template;
  return {
    ...o,
    spec: { ...spec, template: { ...t, spec: { ...t.spec, containers: [{ ...t.spec.containers[0]!, image }, ...t.spec.containers.slice(1)] } } },
  };
}
