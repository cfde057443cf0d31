// kube-controller-manager's node lifecycle controller with taint-based eviction:
// - Ready=False/Unknown → node.kubernetes.io/not-ready / unreachable taints (NoExecute with
//   timeAdded, and NoSchedule as TaintNodesByCondition adds), pressure conditions → NoSchedule
//   taints, spec.unschedulable ↔ node.kubernetes.io/unschedulable:NoSchedule;
// - a node leaving Ready marks its pods' Ready condition False (MarkPodsNotReady);
// - the taint manager deletes pods on NoExecute-tainted nodes: at once when a taint is not
//   tolerated, after the least tolerationSeconds otherwise, never when tolerated without seconds;
//   a node back to Ready loses the taints and pending evictions are cancelled.
// The scenario runner flips the Ready condition itself; heartbeats and grace periods are not modelled.
import type { Node, NodeCondition, Pod, Taint } from 'kubernetes-types/core/v1.js';
import type { Controller, ControllerContext } from '../controller.js';
import type { Stored } from '../object.js';
import { objectKey } from '../object.js';
import { POD_NODE_INDEX } from '../podindex.js';
import { TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE } from '../apiserver/pod-defaults.js';
import { matchingTolerations, minTolerationSeconds } from '../apiserver/tolerations.js';
import { withCondition } from '../apiserver/conditions.js';

export const TAINT_NODE_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
const CONDITION_TAINTS: readonly [condition: string, status: string, key: string][] = [
  ['MemoryPressure', 'True', 'node.kubernetes.io/memory-pressure'],
  ['DiskPressure', 'True', 'node.kubernetes.io/disk-pressure'],
  ['NetworkUnavailable', 'True', 'node.kubernetes.io/network-unavailable'],
  ['PIDPressure', 'True', 'node.kubernetes.io/pid-pressure'],
];
/** Taint keys this controller owns; anything else on a node is left alone. */
const MANAGED = new Set([
  TAINT_NODE_NOT_READY,
  TAINT_NODE_UNREACHABLE,
  TAINT_NODE_UNSCHEDULABLE,
  ...CONDITION_TAINTS.map(([, , k]) => k),
]);

interface Eviction {
  uid: string;
  /** When the taint manager first scheduled it (ms). */
  createdAt: number;
  at: number;
}

export class NodeLifecycleController implements Controller {
  readonly name = 'node-lifecycle';
  private ctx!: ControllerContext;
  /** Nodes seen not Ready, so the NotReady event is recorded once per transition. */
  private readonly notReady = new Set<string>();
  /** Nodes that currently carry NoExecute taints (pods there need the taint manager). */
  private readonly noExecute = new Set<string>();
  private readonly evictions = new Map<string, Eviction>();

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    for (const n of ctx.store.list<Stored<Node>>('Node')) ctx.queue.add(`node:${n.metadata.name}`);
    ctx.store.watch<Stored<Node>>('Node', (ev) => ctx.queue.add(`node:${ev.object.metadata.name}`));
    ctx.store.watch<Stored<Pod>>('Pod', (ev) => {
      const pod = ev.object;
      if (ev.type === 'DELETED') {
        if (this.evictions.size) this.evictions.delete(ev.key ?? objectKey(pod));
        return;
      }
      const node = pod.spec?.nodeName;
      if (!node || !this.noExecute.has(node) && !this.notReady.has(node)) return;
      const old = ev.old as Stored<Pod> | undefined;
      if (old && old.spec?.nodeName === node && old.spec?.tolerations === pod.spec?.tolerations && old.metadata.uid === pod.metadata.uid) {
        // Only a pod landing on a NotReady node needs MarkPodsNotReady again.
        if (!this.notReady.has(node) || podReady(pod) !== true) return;
      }
      ctx.queue.add(`pod:${objectKey(pod)}`);
    });
  }

  sync(key: string): void {
    if (key.startsWith('node:')) this.syncNode(key.slice(5));
    else if (key.startsWith('pod:')) this.syncPod(key.slice(4));
    else if (key.startsWith('evict:')) this.evict(key.slice(6));
  }

  private syncNode(name: string): void {
    const store = this.ctx.store;
    const node = store.get<Stored<Node>>('Node', undefined, name);
    if (!node) {
      this.notReady.delete(name);
      this.noExecute.delete(name);
      return;
    }
    const taints = desiredTaints(node, this.ctx.clock.rfc3339());
    let current = node;
    if (!sameTaints(node.spec?.taints, taints)) {
      current = store.update({ ...node, spec: { ...node.spec, taints: taints.length ? taints : undefined } });
    }
    const ready = readyCondition(current);
    const isReady = !ready || ready.status === 'True';
    const podKeys = Array.from(store.byIndex('Pod', POD_NODE_INDEX, name), (e) => e.key);
    if (!isReady) {
      if (!this.notReady.has(name)) {
        this.notReady.add(name);
        this.ctx.record(current, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
      }
      for (const k of podKeys) this.markPodNotReady(k);
    } else {
      this.notReady.delete(name);
    }
    const hasNoExecute = (current.spec?.taints ?? []).some((t) => t.effect === 'NoExecute');
    if (hasNoExecute) this.noExecute.add(name);
    else this.noExecute.delete(name);
    for (const k of podKeys) this.processPod(k, current);
  }

  private syncPod(key: string): void {
    const pod = this.ctx.store.getByKey<Stored<Pod>>('Pod', key);
    const nodeName = pod?.spec?.nodeName;
    if (!pod || !nodeName) {
      this.evictions.delete(key);
      return;
    }
    const node = this.ctx.store.get<Stored<Node>>('Node', undefined, nodeName);
    if (!node) return;
    if (this.notReady.has(nodeName)) this.markPodNotReady(key);
    this.processPod(key, node);
  }

  /** MarkPodsNotReady: the pod's Ready condition turns False; nothing else changes. */
  private markPodNotReady(key: string): void {
    const pod = this.ctx.store.getByKey<Stored<Pod>>('Pod', key);
    if (!pod || podReady(pod) !== true) return;
    const ready = pod.status!.conditions!.find((c) => c.type === 'Ready')!;
    const updated = this.ctx.store.update({
      ...pod,
      status: { ...pod.status, conditions: withCondition(pod.status?.conditions, { ...ready, status: 'False' }, this.ctx.clock.rfc3339()) },
    });
    this.ctx.record(updated, 'Warning', 'NodeNotReady', 'Node is not ready');
  }

  /** The taint manager's processPodOnNode. */
  private processPod(key: string, node: Node): void {
    const pod = this.ctx.store.getByKey<Stored<Pod>>('Pod', key);
    if (!pod || pod.metadata.deletionTimestamp) {
      this.evictions.delete(key);
      return;
    }
    const taints = (node.spec?.taints ?? []).filter((t) => t.effect === 'NoExecute');
    const scheduled = this.evictions.get(key);
    if (taints.length === 0) {
      if (scheduled) this.cancel(key, pod);
      return;
    }
    const used = matchingTolerations(taints, pod.spec?.tolerations);
    const now = this.ctx.clock.now();
    if (!used) {
      if (scheduled) this.evictions.delete(key);
      this.deletePod(key, pod);
      return;
    }
    const seconds = minTolerationSeconds(used);
    if (seconds < 0) {
      if (scheduled) this.cancel(key, pod);
      return;
    }
    let createdAt = now;
    if (scheduled && scheduled.uid === pod.metadata.uid) {
      createdAt = scheduled.createdAt;
      if (createdAt + seconds * 1000 === scheduled.at) return;
    }
    const at = createdAt + seconds * 1000;
    this.evictions.set(key, { uid: pod.metadata.uid!, createdAt, at });
    if (at <= now) this.evict(key);
    else this.ctx.enqueueAfter(`evict:${key}`, (at - now) / 1000);
  }

  private evict(key: string): void {
    const e = this.evictions.get(key);
    if (!e || e.at > this.ctx.clock.now()) return;
    this.evictions.delete(key);
    const pod = this.ctx.store.getByKey<Stored<Pod>>('Pod', key);
    if (!pod || pod.metadata.uid !== e.uid || pod.metadata.deletionTimestamp) return;
    this.deletePod(key, pod);
  }

  private cancel(key: string, pod: Stored<Pod>): void {
    this.evictions.delete(key);
    this.ctx.record(pod, 'Normal', 'TaintManagerEviction', `Cancelling deletion of Pod ${key}`);
  }

  /** addConditionAndDeletePod: a DisruptionTarget condition, then a graceful delete. */
  private deletePod(key: string, pod: Stored<Pod>): void {
    this.ctx.record(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${key}`);
    const marked = this.ctx.store.update({
      ...pod,
      status: {
        ...pod.status,
        conditions: withCondition(
          pod.status?.conditions,
          { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint' },
          this.ctx.clock.rfc3339(),
        ),
      },
    });
    this.ctx.store.delete('Pod', marked.metadata.namespace, marked.metadata.name!);
  }
}

function readyCondition(node: Node): NodeCondition | undefined {
  return node.status?.conditions?.find((c) => c.type === 'Ready');
}

function podReady(pod: Pod): boolean | undefined {
  const c = pod.status?.conditions?.find((x) => x.type === 'Ready');
  return c ? c.status === 'True' : undefined;
}

/** The node's taints with the managed ones recomputed; timeAdded is kept for taints that stay. */
export function desiredTaints(node: Node, now: string): Taint[] {
  const existing = node.spec?.taints ?? [];
  const want: Taint[] = [];
  const ready = readyCondition(node);
  if (ready && ready.status !== 'True') {
    const key = ready.status === 'False' ? TAINT_NODE_NOT_READY : TAINT_NODE_UNREACHABLE;
    want.push({ key, effect: 'NoSchedule' }, { key, effect: 'NoExecute' });
  }
  for (const [type, status, key] of CONDITION_TAINTS) {
    if (node.status?.conditions?.some((c) => c.type === type && c.status === status)) want.push({ key, effect: 'NoSchedule' });
  }
  if (node.spec?.unschedulable) want.push({ key: TAINT_NODE_UNSCHEDULABLE, effect: 'NoSchedule' });
  const out: Taint[] = [];
  for (const t of existing) {
    if (!MANAGED.has(t.key)) out.push(t);
    else if (want.some((w) => w.key === t.key && w.effect === t.effect)) out.push(t);
  }
  for (const w of want) {
    if (out.some((t) => t.key === w.key && t.effect === w.effect)) continue;
    out.push(w.effect === 'NoExecute' ? { ...w, timeAdded: now } : w);
  }
  return out;
}

function sameTaints(a: readonly Taint[] | undefined, b: readonly Taint[]): boolean {
  const x = a ?? [];
  if (x.length !== b.length) return false;
  return x.every((t, i) => t.key === b[i]!.key && t.effect === b[i]!.effect && (t.value ?? '') === (b[i]!.value ?? '') && t.timeAdded === b[i]!.timeAdded);
}
