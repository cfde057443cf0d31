// The DaemonSet controller (pkg/controller/daemon): one pod per node the DaemonSet fits
// (nodeSelector, node affinity, taints against its automatic tolerations), pinned to the node
// with a required `metadata.name` node affinity so the scheduler binds it there; RollingUpdate
// with maxUnavailable / maxSurge; status counts.
import type { DaemonSet, DaemonSetStatus } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod, PodSpec } from 'kubernetes-types/core/v1.js';
import type { Controller, ControllerContext } from '../controller.js';
import { matchesSelector } from '../labels.js';
import { controllerOf, controllerRef, objectKey, splitKey, type Stored } from '../object.js';
import { podsOwnedBy } from '../podindex.js';
import { ApiError, type WatchEvent } from '../store.js';
import { claim } from '../workloads/claim.js';
import { Delayed } from '../workloads/delayed.js';
import { deepEqual } from '../workloads/equal.js';
import { canonicalJsonOf, computeHash } from '../workloads/hash.js';
import { indexByController, indexByNamespace, indexOrphans, inNamespace, orphansIn } from '../workloads/indexes.js';
import { IntOrStringError, scaledValue } from '../workloads/intstr.js';
import { pinToNode, requiredAffinityMatches, targetNodeName, untoleratedTaint, withDaemonTolerations } from '../workloads/nodefit.js';
import { isPodAvailable, isPodReady, isPodTerminal, secondsUntilAvailable, timeMs } from '../workloads/pods.js';
import { defaultPodSpec, podFromTemplate } from '../workloads/podtemplate.js';
import { byRevision, CONTROLLER_REVISION_HASH_LABEL, listRevisions, templatePatch, type Revision } from '../workloads/revisions.js';

type DS = Stored<DaemonSet>;
type P = Stored<Pod>;
type N = Stored<Node>;

export const TEMPLATE_GENERATION_LABEL = 'pod-template-generation';
export const TEMPLATE_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation';

/** The daemon controller's burstReplicas. */
export const DS_BURST_REPLICAS = 250;

/** failedPodsBackoff: 1s doubling to 15 minutes. */
const BACKOFF_INITIAL_S = 1;
const BACKOFF_MAX_S = 15 * 60;

interface Fit {
  node: N;
  shouldRun: boolean;
  shouldContinueRunning: boolean;
}

export class DaemonSetController implements Controller {
  readonly name = 'daemonset';
  private ctx!: ControllerContext;
  private delayed!: Delayed;
  /** NodeShouldRunDaemonPod results, per DaemonSet template and node object. */
  private readonly fits = new WeakMap<object, Map<string, Fit>>();
  private readonly tolerated = new WeakMap<object, PodSpec>();
  private readonly backoff = new Map<string, { delay: number; last: number }>();

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.delayed = new Delayed(ctx);
    const s = ctx.store;
    indexByNamespace(s, 'DaemonSet');
    indexByController(s, 'ControllerRevision');
    indexOrphans(s, 'Pod');
    s.watch<DS>('DaemonSet', (ev) => ctx.queue.add(objectKey(ev.object)));
    s.watch<P>('Pod', (ev) => this.onPod(ev));
    s.watch<N>('Node', (ev) => this.onNode(ev));
  }

  // ---- event handlers --------------------------------------------------------------------

  private onPod(ev: WatchEvent<P>): void {
    const pod = ev.object;
    const ref = controllerOf(pod);
    if (ev.type === 'MODIFIED') {
      const old = ev.old!;
      const oldRef = controllerOf(old);
      const refChanged = oldRef?.uid !== ref?.uid;
      if (refChanged && oldRef) this.enqueueOwner(old.metadata.namespace, oldRef);
      if (ref) {
        const ds = this.enqueueOwner(pod.metadata.namespace, ref);
        if (ds && (ds.spec?.minReadySeconds ?? 0) > 0 && !isPodReady(old) && isPodReady(pod)) {
          this.delayed.after(objectKey(ds), ds.spec!.minReadySeconds! + 1);
        }
        return;
      }
      if (refChanged || !deepEqual(old.metadata.labels, pod.metadata.labels)) this.enqueueSelecting(pod);
      return;
    }
    if (ref) this.enqueueOwner(pod.metadata.namespace, ref);
    else if (ev.type === 'ADDED' && !pod.metadata.deletionTimestamp) this.enqueueSelecting(pod);
  }

  private enqueueOwner(ns: string | undefined, ref: { kind: string; name: string; uid: string }): DS | undefined {
    if (ref.kind !== 'DaemonSet') return undefined;
    const ds = this.ctx.store.get<DS>('DaemonSet', ns, ref.name);
    if (!ds || ds.metadata.uid !== ref.uid) return undefined;
    this.ctx.queue.add(objectKey(ds));
    return ds;
  }

  private enqueueSelecting(pod: P): void {
    for (const ds of inNamespace<DS>(this.ctx.store, 'DaemonSet', pod.metadata.namespace ?? 'default')) {
      const sel = ds.spec?.selector;
      if (!sel || (!sel.matchLabels && !sel.matchExpressions)) continue;
      if (matchesSelector(sel, pod.metadata.labels)) this.ctx.queue.add(objectKey(ds));
    }
  }

  private onNode(ev: WatchEvent<N>): void {
    const all = this.ctx.store.list<DS>('DaemonSet');
    if (ev.type === 'ADDED') {
      for (const ds of all) if (this.fit(ds, ev.object).shouldRun) this.ctx.queue.add(objectKey(ds));
      return;
    }
    if (ev.type === 'DELETED') {
      // Upstream waits for the pod GC to remove pods of a deleted node; recount now.
      for (const ds of all) this.ctx.queue.add(objectKey(ds));
      return;
    }
    const old = ev.old!;
    const cur = ev.object;
    // Heartbeats and condition changes do not change where daemons run.
    if (deepEqual(old.metadata.labels, cur.metadata.labels) && deepEqual(old.spec, cur.spec)) return;
    for (const ds of all) {
      const a = this.fit(ds, old);
      const b = this.fit(ds, cur);
      if (a.shouldRun !== b.shouldRun || a.shouldContinueRunning !== b.shouldContinueRunning) this.ctx.queue.add(objectKey(ds));
    }
  }

  // ---- node fit ----------------------------------------------------------------------------

  /** NodeShouldRunDaemonPod, memoised per (DaemonSet object, node object). */
  private fit(ds: DS, node: N, m: Map<string, Fit> = this.fitsOf(ds)): Fit {
    const name = node.metadata.name!;
    const hit = m.get(name);
    if (hit && hit.node === node) return hit;
    const f = { node, ...nodeShouldRunDaemonPod(this.daemonSpec(ds), node) };
    m.set(name, f);
    return f;
  }

  private fitsOf(ds: DS): Map<string, Fit> {
    const key = ds.spec?.template ?? ds;
    let m = this.fits.get(key);
    if (!m) this.fits.set(key, (m = new Map()));
    return m;
  }

  /** The template's pod spec with the DaemonSet tolerations added (NewPod without the node). */
  private daemonSpec(ds: DS): PodSpec {
    const key = ds.spec?.template ?? ds;
    let s = this.tolerated.get(key);
    if (!s) this.tolerated.set(key, (s = withDaemonTolerations(ds.spec?.template?.spec ?? { containers: [] })));
    return s;
  }

  // ---- sync ------------------------------------------------------------------------------

  sync(key: string): void {
    this.delayed.synced(key);
    const { namespace, name } = splitKey(key);
    const store = this.ctx.store;
    const ds = store.get<DS>('DaemonSet', namespace, name);
    if (!ds) return;
    const sel = ds.spec?.selector;
    if (!sel || (!sel.matchLabels && !sel.matchExpressions)) {
      this.ctx.record(ds, 'Warning', 'SelectingAll', 'This daemon set is selecting all pods. A non-empty selector is required.');
      return;
    }
    if (ds.metadata.deletionTimestamp) return;
    const nodes = store.list<N>('Node');
    const history = this.constructHistory(ds);
    if (!history) return;
    const hash = history.cur.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? '';
    let byNode = this.nodesToDaemonPods(ds);
    try {
      let acted = this.manage(ds, nodes, byNode, hash);
      // Upstream waits for its create/delete expectations before rolling; the events requeue us.
      if (!acted && (ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') acted = this.rollingUpdate(ds, nodes, byNode, hash);
      if (acted) byNode = this.nodesToDaemonPods(ds);
      this.cleanupHistory(ds, history.old, byNode);
    } catch (e) {
      if (!(e instanceof IntOrStringError)) throw e;
      this.ctx.record(ds, 'Warning', 'InvalidStrategy', e.message);
    }
    this.updateStatus(ds, nodes, byNode, hash);
  }

  /** getDaemonPods + getNodesToDaemonPods: claimed pods grouped by the node they target. */
  private nodesToDaemonPods(ds: DS): Map<string, P[]> {
    const store = this.ctx.store;
    const candidates = [...(podsOwnedBy(store, ds.metadata.uid!) as P[]), ...orphansIn<P>(store, 'Pod', ds.metadata.namespace ?? 'default')];
    const pods = claim(store, ds, candidates, (p) => matchesSelector(ds.spec?.selector, p.metadata.labels));
    const out = new Map<string, P[]>();
    for (const p of pods) {
      if (isPodTerminal(p) && p.metadata.deletionTimestamp) continue;
      const node = targetNodeName(p.spec);
      if (node === undefined) continue;
      let l = out.get(node);
      if (!l) out.set(node, (l = []));
      l.push(p);
    }
    return out;
  }

  /** manage: create missing daemon pods, delete misplaced or failed ones. True when it acted. */
  private manage(ds: DS, nodes: N[], byNode: Map<string, P[]>, hash: string): boolean {
    const create: string[] = [];
    const del: P[] = [];
    const fits = this.fitsOf(ds);
    const surge = allowsSurge(ds);
    for (const node of nodes) this.podsShouldBeOnNode(ds, this.fit(ds, node, fits), byNode, hash, surge, create, del);
    // Unscheduled pods pinned to nodes that no longer exist would never be scheduled.
    for (const [n, pods] of byNode) {
      if (fits.get(n)?.node === this.ctx.store.get<N>('Node', undefined, n)) continue;
      for (const p of pods) if (!p.spec?.nodeName) del.push(p);
    }
    this.syncNodes(ds, del, create, hash);
    return create.length + del.length > 0;
  }

  private podsShouldBeOnNode(ds: DS, fit: Fit, byNode: Map<string, P[]>, hash: string, surge: boolean, create: string[], del: P[]): void {
    const { shouldRun, shouldContinueRunning } = fit;
    const name = fit.node.metadata.name!;
    const pods = byNode.get(name);
    if (shouldRun && !pods) {
      create.push(name);
      return;
    }
    if (shouldContinueRunning) {
      const running: P[] = [];
      for (const p of pods ?? []) {
        if (p.metadata.deletionTimestamp) continue;
        if (p.status?.phase === 'Failed') {
          // Back off so the controller does not fight a kubelet that keeps rejecting the pod.
          const bkey = `${ds.metadata.uid}/${ds.status?.observedGeneration ?? 0}/${name}`;
          const now = this.ctx.clock.now();
          const b = this.backoff.get(bkey);
          const expired = !b || now - b.last > 2 * BACKOFF_MAX_S * 1000;
          if (b && !expired && now - b.last < b.delay * 1000) {
            this.delayed.after(objectKey(ds), b.delay);
            continue;
          }
          this.backoff.set(bkey, { delay: expired ? BACKOFF_INITIAL_S : Math.min(b!.delay * 2, BACKOFF_MAX_S), last: now });
          this.ctx.record(ds, 'Warning', 'FailedDaemonPod', `Found failed daemon pod ${p.metadata.namespace}/${p.metadata.name} on node ${name}, will try to kill it`);
          del.push(p);
        } else if (p.status?.phase === 'Succeeded') {
          this.ctx.record(ds, 'Normal', 'SucceededDaemonPod', `Found succeeded daemon pod ${p.metadata.namespace}/${p.metadata.name} on node ${name}, will try to delete it`);
          del.push(p);
        } else {
          running.push(p);
        }
      }
      if (!surge) {
        // Without surge, keep only the oldest pod.
        if (running.length <= 1) return;
        running.sort(byCreationAndPhase);
        for (let i = 1; i < running.length; i++) del.push(running[i]!);
        return;
      }
      if (running.length <= 1) {
        if (running.length === 0 && shouldRun) create.push(name);
        return;
      }
      // With surge, an old and a new pod may coexist until the new one is available.
      running.sort(byCreationAndPhase);
      let oldestNew: P | undefined;
      let oldestOld: P | undefined;
      for (const p of running) {
        if (p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] === hash) {
          if (!oldestNew) {
            oldestNew = p;
            continue;
          }
        } else if (!oldestOld) {
          oldestOld = p;
          continue;
        }
        del.push(p);
      }
      if (oldestNew && oldestOld) {
        if (!isPodReady(oldestOld)) del.push(oldestOld);
        else if (isPodAvailable(oldestNew, ds.spec?.minReadySeconds ?? 0, this.ctx.clock.now())) del.push(oldestOld);
      }
      return;
    }
    if (pods) for (const p of pods) if (!p.metadata.deletionTimestamp) del.push(p);
  }

  /** syncNodes: delete, then create pods pinned to their nodes (at most burstReplicas of each). */
  private syncNodes(ds: DS, del: P[], create: string[], hash: string): void {
    const store = this.ctx.store;
    const generation = ds.metadata.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
    const template = ds.spec!.template;
    const labels: Record<string, string> = { ...template.metadata?.labels };
    if (generation !== undefined) labels[TEMPLATE_GENERATION_LABEL] = generation;
    if (hash) labels[CONTROLLER_REVISION_HASH_LABEL] = hash;
    const podTemplate = { ...template, metadata: { ...template.metadata, labels } };
    const spec = defaultPodSpec(this.daemonSpec(ds));
    const refs = [controllerRef(ds)];
    for (const node of create.slice(0, DS_BURST_REPLICAS)) {
      try {
        const pod = store.create(podFromTemplate(podTemplate, ds, refs, pinToNode(spec, node)));
        this.ctx.record(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
      } catch (e) {
        this.ctx.record(ds, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
        break;
      }
    }
    for (const p of del.slice(0, DS_BURST_REPLICAS)) {
      if (!store.get('Pod', p.metadata.namespace, p.metadata.name!)) continue;
      store.delete('Pod', p.metadata.namespace, p.metadata.name!);
      this.ctx.record(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
    }
  }

  // ---- rolling update ----------------------------------------------------------------------

  /** rollingUpdate: true when it deleted or created pods. */
  private rollingUpdate(ds: DS, nodes: N[], podsByNode: Map<string, P[]>, hash: string): boolean {
    // Nothing to roll while every live pod is at the current revision (every candidate is an old pod).
    const generation = ds.metadata.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
    let anyOld = false;
    for (const pods of podsByNode.values()) {
      for (const p of pods) if (!p.metadata.deletionTimestamp && !isPodUpdated(p, hash, generation)) anyOld = true;
      if (anyOld) break;
    }
    if (!anyOld) return false;
    const byNode = new Map(podsByNode);
    const now = this.ctx.clock.now();
    const minReady = ds.spec?.minReadySeconds ?? 0;
    const fits = this.fitsOf(ds);
    // updatedDesiredNodeCounts
    let desired = 0;
    for (const node of nodes) {
      if (!this.fit(ds, node, fits).shouldRun) continue;
      desired++;
      if (!byNode.has(node.metadata.name!)) byNode.set(node.metadata.name!, []);
    }
    let maxUnavailable = unavailableCount(ds, desired);
    const maxSurge = surgeCount(ds, desired);
    if (maxUnavailable === 0 && maxSurge === 0) maxUnavailable = 1;
    // Upstream walks a Go map (random order); nodes are visited by name here.
    const entries = [...byNode.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const nodeByName = new Map(nodes.map((n) => [n.metadata.name!, n]));

    if (maxSurge === 0) {
      let numUnavailable = 0;
      const allowedReplacement: P[] = [];
      const candidates: P[] = [];
      for (const [, pods] of entries) {
        const found = updatedPodsOnNode(ds, pods, hash);
        if (!found) {
          numUnavailable++;
          continue;
        }
        const { newPod, oldPod } = found;
        if ((!oldPod && !newPod) || (oldPod && newPod)) {
          numUnavailable++;
        } else if (newPod) {
          if (!isPodAvailable(newPod, minReady, now)) numUnavailable++;
        } else if (oldPod) {
          if (!isPodAvailable(oldPod, minReady, now)) {
            allowedReplacement.push(oldPod);
            numUnavailable++;
          } else if (numUnavailable < maxUnavailable) {
            candidates.push(oldPod);
          }
        }
      }
      const remaining = Math.min(Math.max(0, maxUnavailable - numUnavailable), candidates.length);
      const del = [...allowedReplacement, ...candidates.slice(0, remaining)];
      this.syncNodes(ds, del, [], hash);
      return del.length > 0;
    }

    const oldToDelete: P[] = [];
    const shouldNotRunToDelete: P[] = [];
    const candidateNodes: string[] = [];
    const allowedNodes: string[] = [];
    let numSurge = 0;
    let numAvailable = 0;
    for (const [nodeName, pods] of entries) {
      const found = updatedPodsOnNode(ds, pods, hash);
      if (!found) {
        numSurge++;
        continue;
      }
      const { newPod, oldPod } = found;
      if (oldPod) {
        if (isPodAvailable(oldPod, minReady, now)) numAvailable++;
      } else if (newPod) {
        if (isPodAvailable(newPod, minReady, now)) numAvailable++;
      }
      if (!oldPod) continue;
      if (!newPod) {
        const node = nodeByName.get(nodeName);
        const shouldRun = node ? this.fit(ds, node, fits).shouldRun : false;
        if (!isPodAvailable(oldPod, minReady, now)) {
          if (!shouldRun) oldToDelete.push(oldPod);
          else allowedNodes.push(nodeName);
        } else if (!shouldRun) {
          shouldNotRunToDelete.push(oldPod);
        } else if (numSurge < maxSurge) {
          candidateNodes.push(nodeName);
        }
        continue;
      }
      if (!isPodAvailable(newPod, minReady, now)) {
        numSurge++;
        continue;
      }
      oldToDelete.push(oldPod);
    }
    const deletable = Math.min(numAvailable - desired, shouldNotRunToDelete.length);
    for (const p of shouldNotRunToDelete.slice(0, Math.max(0, deletable))) if (!p.metadata.deletionTimestamp) oldToDelete.push(p);
    const remaining = Math.min(Math.max(0, maxSurge - numSurge), candidateNodes.length);
    const create = [...allowedNodes, ...candidateNodes.slice(0, remaining)];
    this.syncNodes(ds, oldToDelete, create, hash);
    return oldToDelete.length + create.length > 0;
  }

  // ---- history -----------------------------------------------------------------------------

  /** constructHistory: the revision matching the template (created if needed) and the others. */
  private constructHistory(ds: DS): { cur: Revision; old: Revision[] } | undefined {
    const store = this.ctx.store;
    const data = canonicalJsonOf(templatePatch(ds.spec!.template));
    const current: Revision[] = [];
    const old: Revision[] = [];
    for (const h of listRevisions(store, ds)) (canonicalJsonOf(h.data as object) === data ? current : old).push(h);
    const next = old.reduce((m, h) => Math.max(m, h.revision), 0) + 1;
    if (current.length === 0) return this.snapshot(ds, next, old);
    // Several equal revisions can only come from a lost race upstream; the newest is kept.
    let cur = current.sort(byRevision)[current.length - 1]!;
    if (cur.revision < next) cur = store.update<Revision>({ ...cur, revision: next });
    return { cur, old };
  }

  private snapshot(ds: DS, revision: number, old: Revision[]): { cur: Revision; old: Revision[] } | undefined {
    const store = this.ctx.store;
    const template = ds.spec!.template;
    const hash = computeHash(template, ds.status?.collisionCount);
    const history: Revision = {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name: `${ds.metadata.name}-${hash}`,
        namespace: ds.metadata.namespace,
        labels: { ...template.metadata?.labels, [CONTROLLER_REVISION_HASH_LABEL]: hash },
        ...(ds.metadata.annotations ? { annotations: { ...ds.metadata.annotations } } : {}),
        ownerReferences: [controllerRef(ds)],
      },
      data: templatePatch(template),
      revision,
    };
    try {
      return { cur: store.create(history), old };
    } catch (e) {
      if (!(e instanceof ApiError) || e.reason !== 'AlreadyExists') throw e;
      const existing = store.get<Revision>('ControllerRevision', ds.metadata.namespace, history.metadata.name!)!;
      if (canonicalJsonOf(existing.data as object) === canonicalJsonOf(history.data as object)) return { cur: existing, old };
      // A hash collision: bump collisionCount; the status write requeues the DaemonSet.
      store.update<DS>({ ...ds, status: { ...emptyStatus(), ...ds.status, collisionCount: (ds.status?.collisionCount ?? 0) + 1 } });
      return undefined;
    }
  }

  /** cleanupHistory: delete the oldest unused revisions beyond revisionHistoryLimit. */
  private cleanupHistory(ds: DS, old: Revision[], byNode: Map<string, P[]>): void {
    let toKill = old.length - (ds.spec?.revisionHistoryLimit ?? 10);
    if (toKill <= 0) return;
    const live = new Set<string>();
    for (const pods of byNode.values()) {
      for (const p of pods) {
        const h = p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL];
        if (h) live.add(h);
      }
    }
    for (const h of [...old].sort(byRevision)) {
      if (toKill <= 0) break;
      if (live.has(h.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? '')) continue;
      this.ctx.store.delete('ControllerRevision', h.metadata.namespace, h.metadata.name!);
      toKill--;
    }
  }

  // ---- status ------------------------------------------------------------------------------

  private updateStatus(ds: DS, nodes: N[], byNode: Map<string, P[]>, hash: string): void {
    const now = this.ctx.clock.now();
    const minReady = ds.spec?.minReadySeconds ?? 0;
    const generation = ds.metadata.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
    let desired = 0;
    let current = 0;
    let misscheduled = 0;
    let ready = 0;
    let updated = 0;
    let available = 0;
    const firsts: P[] = [];
    const fits = this.fitsOf(ds);
    for (const node of nodes) {
      const { shouldRun } = this.fit(ds, node, fits);
      const pods = byNode.get(node.metadata.name!);
      const scheduled = !!pods && pods.length > 0;
      if (!shouldRun) {
        if (scheduled) misscheduled++;
        continue;
      }
      desired++;
      if (!scheduled) continue;
      current++;
      const pod = pods.length > 1 ? [...pods].sort(byCreationAndPhase)[0]! : pods[0]!;
      firsts.push(pod);
      if (isPodReady(pod)) {
        ready++;
        if (isPodAvailable(pod, minReady, now)) available++;
      }
      if (isPodUpdated(pod, hash, generation)) updated++;
    }
    const fresh = this.ctx.store.get<DS>('DaemonSet', ds.metadata.namespace, ds.metadata.name!) ?? ds;
    const s = fresh.status;
    const next: DaemonSetStatus = {
      ...s,
      observedGeneration: fresh.metadata.generation,
      desiredNumberScheduled: desired,
      currentNumberScheduled: current,
      numberMisscheduled: misscheduled,
      numberReady: ready,
      updatedNumberScheduled: updated,
      numberAvailable: available,
      numberUnavailable: desired - available,
    };
    const same =
      s !== undefined &&
      s.desiredNumberScheduled === desired &&
      s.currentNumberScheduled === current &&
      s.numberMisscheduled === misscheduled &&
      s.numberReady === ready &&
      (s.updatedNumberScheduled ?? 0) === updated &&
      (s.numberAvailable ?? 0) === available &&
      (s.numberUnavailable ?? 0) === desired - available &&
      (s.observedGeneration ?? 0) >= (fresh.metadata.generation ?? 0);
    if (!same) this.ctx.store.update<DS>({ ...fresh, status: next });
    if (minReady > 0 && ready !== available) {
      const wait = secondsUntilAvailable(firsts, minReady, now);
      if (wait !== undefined) this.delayed.after(objectKey(ds), wait);
    }
  }
}

// ---- helpers -------------------------------------------------------------------------------

function emptyStatus(): DaemonSetStatus {
  return { currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0 };
}

/** NodeShouldRunDaemonPod for a spec that already carries the DaemonSet tolerations. */
export function nodeShouldRunDaemonPod(spec: PodSpec, node: Node): { shouldRun: boolean; shouldContinueRunning: boolean } {
  const name = node.metadata?.name ?? '';
  if (spec.nodeName && spec.nodeName !== name) return { shouldRun: false, shouldContinueRunning: false };
  if (!requiredAffinityMatches(spec, node)) return { shouldRun: false, shouldContinueRunning: false };
  const taints = node.spec?.taints;
  const blocking = untoleratedTaint(taints, spec.tolerations, (t) => t.effect === 'NoExecute' || t.effect === 'NoSchedule');
  if (!blocking) return { shouldRun: true, shouldContinueRunning: true };
  // Running daemon pods stay unless a NoExecute taint is not tolerated.
  const evicting = untoleratedTaint(taints, spec.tolerations, (t) => t.effect === 'NoExecute');
  return { shouldRun: false, shouldContinueRunning: !evicting };
}

/** podByCreationTimestampAndPhase: scheduled first, then oldest, then by name. */
function byCreationAndPhase(a: Pod, b: Pod): number {
  const sa = !!a.spec?.nodeName;
  const sb = !!b.spec?.nodeName;
  if (sa !== sb) return sa ? -1 : 1;
  const ta = timeMs(a.metadata?.creationTimestamp);
  const tb = timeMs(b.metadata?.creationTimestamp);
  if (ta === tb || (Number.isNaN(ta) && Number.isNaN(tb))) {
    const na = a.metadata?.name ?? '';
    const nb = b.metadata?.name ?? '';
    return na < nb ? -1 : na > nb ? 1 : 0;
  }
  return ta - tb;
}

function isPodUpdated(p: Pod, hash: string, generation: string | undefined): boolean {
  const labels = p.metadata?.labels;
  const templateMatches = generation !== undefined && labels?.[TEMPLATE_GENERATION_LABEL] === generation;
  const hashMatches = hash.length > 0 && labels?.[CONTROLLER_REVISION_HASH_LABEL] === hash;
  return hashMatches || templateMatches;
}

/** findUpdatedPodsOnNode: at most one new and one old live pod, else undefined. */
function updatedPodsOnNode(ds: DS, pods: readonly P[], hash: string): { newPod?: P; oldPod?: P } | undefined {
  const generation = ds.metadata.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
  let newPod: P | undefined;
  let oldPod: P | undefined;
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    if (isPodUpdated(p, hash, generation)) {
      if (newPod) return undefined;
      newPod = p;
    } else {
      if (oldPod) return undefined;
      oldPod = p;
    }
  }
  return { newPod, oldPod };
}

function rollingUpdateOf(ds: DaemonSet) {
  return (ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate' ? (ds.spec?.updateStrategy?.rollingUpdate ?? {}) : undefined;
}

/** util.UnavailableCount: maxUnavailable (default 1) scaled up against the desired count. */
function unavailableCount(ds: DaemonSet, desired: number): number {
  const ru = rollingUpdateOf(ds);
  if (!ru) return 0;
  return scaledValue(ru.maxUnavailable ?? 1, desired, true);
}

/** util.SurgeCount: maxSurge (default 0) scaled up against the desired count. */
function surgeCount(ds: DaemonSet, desired: number): number {
  const ru = rollingUpdateOf(ds);
  if (!ru || ru.maxSurge === undefined) return 0;
  return scaledValue(ru.maxSurge, desired, true);
}

function allowsSurge(ds: DaemonSet): boolean {
  try {
    return surgeCount(ds, 1) !== 0;
  } catch {
    return false;
  }
}
