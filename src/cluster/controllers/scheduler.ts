// kube-scheduler with the default profile: pods of `default-scheduler` without a node go through
// a scheduling cycle (controllers/scheduler/cycle.ts); a fit binds the pod (spec.nodeName and
// PodScheduled=True), no fit marks it PodScheduled=False/Unschedulable with upstream's message
// and parks it until a node or pod change could make room.
import type { Node, Pod, PodCondition, Service } from 'kubernetes-types/core/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import { matchesSelector } from '../labels.js';
import type { Controller, ControllerContext } from '../controller.js';
import type { Stored } from '../object.js';
import { objectKey } from '../object.js';
import { DEFAULT_SCHEDULER_NAME } from '../apiserver/pod-defaults.js';
import { withCondition } from '../apiserver/conditions.js';
import { storedWithKey } from '../copy.js';
import { Timestamps } from '../apiserver/timestamps.js';
import { SchedulerCache } from './scheduler/cache.js';
import { ServiceSelectorIndex } from './scheduler/services.js';
import { runCycle, type CycleEnv } from './scheduler/cycle.js';
import { DefaultSelectorCache } from './scheduler/spread.js';
import { WindowIndex } from './scheduler/window.js';

/** Plugins whose verdict can change when an assigned pod leaves (resources, ports, spreading, affinity). */
const FREED_BY_POD_REMOVAL = new Set(['NodeResourcesFit', 'NodePorts', 'PodTopologySpread', 'InterPodAffinity']);

interface Parked {
  plugins: Set<string>;
  message: string;
  namespace: string;
  /**
   * Selectors of the parked pod's spread constraints and required pod-affinity terms: a placed
   * pod can only help when one of them selects it (upstream's queueing hints say the same).
   */
  helpedBy: LabelSelector[];
}

export class Scheduler implements Controller {
  readonly name = 'scheduler';
  private ctx!: ControllerContext;
  readonly cache = new SchedulerCache();
  private readonly services = new ServiceSelectorIndex();
  private env!: CycleEnv;
  private ts!: Timestamps;
  /** Pods that found no node, with the plugins that rejected them. */
  private readonly parked = new Map<string, Parked>();

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.ts = new Timestamps(ctx.clock);
    this.env = {
      store: ctx.store,
      cache: this.cache,
      services: this.services,
      defaultSelectors: new DefaultSelectorCache(),
      rng: ctx.rng,
      percentageOfNodesToScore: ctx.config.scheduler.percentageOfNodesToScore,
      nextStartNodeIndex: 0,
      window: new WindowIndex(),
    };
    for (const n of ctx.store.list<Stored<Node>>('Node')) this.cache.upsertNode(n);
    for (const s of ctx.store.list<Stored<Service>>('Service')) this.services.upsert(objectKey(s), s);
    for (const p of ctx.store.list<Stored<Pod>>('Pod')) this.onPod(p, undefined, false);
    ctx.store.watch<Stored<Node>>('Node', (ev) => {
      if (ev.type === 'DELETED') {
        this.cache.removeNode(ev.object.metadata.name!);
        return;
      }
      if (ev.type === 'MODIFIED' && ev.old && !schedulingRelevantChange(ev.old as Node, ev.object)) return;
      this.cache.upsertNode(ev.object);
      this.wake(undefined);
    });
    ctx.store.watch<Stored<Service>>('Service', (ev) => {
      if (ev.type === 'DELETED') this.services.remove(objectKey(ev.object));
      else this.services.upsert(objectKey(ev.object), ev.object);
    });
    ctx.store.watch<Stored<Pod>>('Pod', (ev) => this.onPod(ev.object, ev.old as Stored<Pod> | undefined, ev.type === 'DELETED', ev.key));
  }

  sync(key: string): void {
    // Pod queue keys are store keys (`ns/name`).
    const pod = this.ctx.store.getByKey<Stored<Pod>>('Pod', key);
    if (!pod || !needsScheduling(pod)) {
      this.parked.delete(key);
      return;
    }
    if (pod.spec?.schedulingGates?.length) {
      this.parked.delete(key);
      this.setCondition(pod, {
        type: 'PodScheduled',
        status: 'False',
        reason: 'SchedulingGated',
        message: 'Scheduling is blocked due to non-empty scheduling gates',
      });
      return;
    }
    const result = runCycle(this.env, pod);
    if (result.ok) {
      this.parked.delete(key);
      const nodeName = result.node.name;
      // storedWithKey: the spreads with a key added, without V8's slow path (see copy.ts).
      const bound = this.ctx.store.update({
        ...pod,
        spec: storedWithKey(pod.spec!, 'nodeName', nodeName),
        status: storedWithKey(pod.status ?? {}, 'conditions', withCondition(pod.status?.conditions, COND_SCHEDULED, this.ts.at())),
      });
      this.ctx.record(bound, 'Normal', 'Scheduled', `Successfully assigned ${key} to ${nodeName}`);
      return;
    }
    const ns = key.slice(0, key.indexOf('/'));
    const before = this.parked.get(key);
    this.parked.set(key, { plugins: result.plugins, message: result.message, namespace: ns, helpedBy: helpfulSelectors(pod) });
    const changed = this.setCondition(pod, { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: result.message });
    if (changed || before?.message !== result.message) this.ctx.record(pod, 'Warning', 'FailedScheduling', result.message);
  }

  /** Pods waiting for room, with the message they carry. */
  unschedulable(): ReadonlyMap<string, { message: string }> {
    return this.parked;
  }

  private onPod(pod: Stored<Pod>, old: Stored<Pod> | undefined, deleted: boolean, storeKey?: string): void {
    const key = storeKey ?? objectKey(pod);
    if (deleted) {
      this.parked.delete(key);
      if (this.cache.removePod(key)) this.wake(FREED_BY_POD_REMOVAL);
      return;
    }
    const assigned = !!pod.spec?.nodeName;
    const terminal = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
    if (
      old &&
      old.spec?.nodeName === pod.spec?.nodeName &&
      old.status?.phase === pod.status?.phase &&
      old.metadata.uid === pod.metadata.uid &&
      !!old.metadata.deletionTimestamp === !!pod.metadata.deletionTimestamp
    ) {
      return;
    }
    if (assigned && !terminal) {
      if (this.cache.addPod(key, pod)) this.wakeForPlaced(pod);
    } else if (this.cache.removePod(key)) {
      this.wake(FREED_BY_POD_REMOVAL);
    }
    if (needsScheduling(pod) && !this.parked.has(key)) this.ctx.queue.add(key);
    else if (pod.metadata.deletionTimestamp && this.cache.pods.has(key)) this.wake(FREED_BY_POD_REMOVAL);
  }

  /** Move parked pods back to the queue: all of them, or those rejected by one of `plugins`. */
  private wake(plugins: ReadonlySet<string> | undefined): void {
    for (const [key, p] of this.parked) {
      if (plugins) {
        let hit = false;
        for (const pl of p.plugins) if (plugins.has(pl)) hit = true;
        if (!hit) continue;
      }
      this.ctx.queue.add(key);
    }
  }

  /** A pod was placed: requeue parked pods whose spreading or pod affinity it could satisfy. */
  private wakeForPlaced(placed: Pod): void {
    if (this.parked.size === 0) return;
    const ns = placed.metadata?.namespace ?? 'default';
    for (const [key, p] of this.parked) {
      if (!p.plugins.has('PodTopologySpread') && !p.plugins.has('InterPodAffinity')) continue;
      if (p.namespace !== ns && !p.plugins.has('InterPodAffinity')) continue;
      if (p.helpedBy.some((sel) => matchesSelector(sel, placed.metadata?.labels))) this.ctx.queue.add(key);
    }
  }

  /** Write a PodScheduled condition when it differs; true when it did. */
  private setCondition(pod: Stored<Pod>, c: PodCondition): boolean {
    const cur = pod.status?.conditions?.find((x) => x.type === c.type);
    if (cur && cur.status === c.status && cur.reason === c.reason && cur.message === c.message) return false;
    this.ctx.store.update({ ...pod, status: { ...pod.status, conditions: withCondition(pod.status?.conditions, c, this.ts.at()) } });
    return true;
  }
}

const COND_SCHEDULED: PodCondition = { type: 'PodScheduled', status: 'True' };

function helpfulSelectors(pod: Pod): LabelSelector[] {
  const out: LabelSelector[] = [];
  for (const c of pod.spec?.topologySpreadConstraints ?? []) if (c.labelSelector) out.push(c.labelSelector);
  for (const t of pod.spec?.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
    if (t.labelSelector) out.push(t.labelSelector);
  }
  return out;
}

function needsScheduling(pod: Pod): boolean {
  return (
    !pod.spec?.nodeName &&
    (pod.spec?.schedulerName ?? DEFAULT_SCHEDULER_NAME) === DEFAULT_SCHEDULER_NAME &&
    !pod.metadata?.deletionTimestamp &&
    pod.status?.phase !== 'Succeeded' &&
    pod.status?.phase !== 'Failed'
  );
}

function schedulingRelevantChange(a: Node, b: Node): boolean {
  if (a.metadata?.labels !== b.metadata?.labels) return true;
  if (a.spec?.taints !== b.spec?.taints || a.spec?.unschedulable !== b.spec?.unschedulable) return true;
  if (a.status?.allocatable !== b.status?.allocatable || a.status?.capacity !== b.status?.capacity) return true;
  const ra = a.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  const rb = b.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  return ra !== rb;
}
