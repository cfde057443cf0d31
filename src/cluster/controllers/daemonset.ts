// The DaemonSet controller (pkg/controller/daemon): one pod per node the DaemonSet fits
// (nodeSelector, node affinity, taints against its automatic tolerations), pinned to the node
// with a required `metadata.name` node affinity so the scheduler binds it there; RollingUpdate
// with maxUnavailable / maxSurge; status counts.
import type { DaemonSet, DaemonSetStatus } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod, PodSpec } from 'kubernetes-types/core/v1.js';
import type { Controller, ControllerContext } from '../controller.js';
import { matchesSelector } from '../labels.js';
import { controllerOf, controllerRef, keyOf, objectKey, splitKey, type Stored } from '../object.js';
import { podsOwnedBy } from '../podindex.js';
import { ApiError, type WatchEvent } from '../store.js';
import { claim } from '../workloads/claim.js';
import { Delayed } from '../workloads/delayed.js';
import { deepEqual } from '../workloads/equal.js';
import { canonicalJsonOf, computeHash } from '../workloads/hash.js';
import { indexByController, indexByNamespace, indexOrphans, inNamespace, ORPHAN_INDEX, orphansIn } from '../workloads/indexes.js';
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
    s.watch<DS>('DaemonSet', (ev) => ctx.queue.add(ev.key ?? objectKey(ev.object)));
    s.watch<P>('Pod', (ev) => this.onPod(ev));
    s.watch<N>('Node', (ev) => this.onNode(ev));
  }

  // ---- event handlers --------------------------------------------------------------------

  private onPod(ev: WatchEvent<P>): void {
    this.trackPod(ev);
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
    this.truncated = false;
    const cached = DaemonSetController.incremental ? this.usableCache(key, ds) : undefined;
    if (cached && this.syncIncremental(key, ds, cached)) {
      if (this.truncated) this.caches.delete(key);
      return;
    }
    this.caches.delete(key);
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
      this.updateStatus(ds, nodes, byNode, hash);
      return;
    }
    this.updateStatus(ds, nodes, byNode, hash);
    if (!this.truncated) this.remember(key, ds, nodes, byNode, hash, history);
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
    // Work left for a later sync: nodes that changed nothing would still need it.
    if (create.length > DS_BURST_REPLICAS || del.length > DS_BURST_REPLICAS) this.truncated = true;
    for (const node of create.slice(0, DS_BURST_REPLICAS)) {
      try {
        const pod = store.create(podFromTemplate(podTemplate, ds, refs, pinToNode(spec, node)));
        this.ctx.record(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
      } catch (e) {
        this.ctx.record(ds, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
        this.truncated = true;
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
    const totals = zeroCounts();
    const firsts: P[] = [];
    const fits = this.fitsOf(ds);
    for (const node of nodes) {
      const c = this.nodeCounts(ds, node, byNode.get(node.metadata.name!), fits, hash, generation, minReady, now);
      addCounts(totals, c, 1);
      if (c.first) firsts.push(c.first);
    }
    this.writeStatus(ds, totals);
    if (minReady > 0 && totals.ready !== totals.available) {
      const wait = secondsUntilAvailable(firsts, minReady, now);
      if (wait !== undefined) this.delayed.after(objectKey(ds), wait);
    }
  }

  /** updateStatus's step for one node (plus the live old and the finished pods there). */
  private nodeCounts(ds: DS, node: N, pods: P[] | undefined, fits: Map<string, Fit>, hash: string, generation: string | undefined, minReady: number, now: number): NodeCounts {
    const c = zeroCounts();
    for (const p of pods ?? []) {
      if (!p.metadata.deletionTimestamp && !isPodUpdated(p, hash, generation)) c.old++;
      const phase = p.status?.phase;
      if (phase === 'Failed' || phase === 'Succeeded') c.finished++;
    }
    const { shouldRun } = this.fit(ds, node, fits);
    const scheduled = !!pods && pods.length > 0;
    if (!shouldRun) {
      if (scheduled) c.misscheduled++;
      return c;
    }
    c.desired++;
    if (!scheduled) return c;
    c.current++;
    const pod = pods.length > 1 ? [...pods].sort(byCreationAndPhase)[0]! : pods[0]!;
    c.first = pod;
    if (isPodReady(pod)) {
      c.ready++;
      if (isPodAvailable(pod, minReady, now)) c.available++;
    }
    if (isPodUpdated(pod, hash, generation)) c.updated++;
    return c;
  }

  private writeStatus(ds: DS, t: NodeCounts): void {
    const fresh = this.ctx.store.get<DS>('DaemonSet', ds.metadata.namespace, ds.metadata.name!) ?? ds;
    const s = fresh.status;
    const next: DaemonSetStatus = {
      ...s,
      observedGeneration: fresh.metadata.generation,
      desiredNumberScheduled: t.desired,
      currentNumberScheduled: t.current,
      numberMisscheduled: t.misscheduled,
      numberReady: t.ready,
      updatedNumberScheduled: t.updated,
      numberAvailable: t.available,
      numberUnavailable: t.desired - t.available,
    };
    const same =
      s !== undefined &&
      s.desiredNumberScheduled === t.desired &&
      s.currentNumberScheduled === t.current &&
      s.numberMisscheduled === t.misscheduled &&
      s.numberReady === t.ready &&
      (s.updatedNumberScheduled ?? 0) === t.updated &&
      (s.numberAvailable ?? 0) === t.available &&
      (s.numberUnavailable ?? 0) === t.desired - t.available &&
      (s.observedGeneration ?? 0) >= (fresh.metadata.generation ?? 0);
    if (!same) this.ctx.store.update<DS>({ ...fresh, status: next });
  }

  // ---- incremental sync ---------------------------------------------------------------------
  //
  // A full sync walks every node (and every daemon pod) several times. When nothing but some of
  // this DaemonSet's pods changed since the last full sync, and no rollout, failed pod, orphan,
  // minReadySeconds or surge is in play, the full sync's result differs from the last one only
  // on the nodes those pods target: those nodes are recomputed and the status counts adjusted,
  // so a daemon pod's churn costs the same whatever the number of nodes. Anything else runs the
  // full sync, which rebuilds the cache.

  /** Set by tests: every incremental sync is also computed in full and compared. */
  static check = false;
  /** Cleared by tests to compare against full syncs only. */
  static incremental = true;
  private readonly caches = new Map<string, DsCache>();
  /** Set when a sync left actions undone (burst limit, a failed create). */
  private truncated = false;

  /** Keep the cached pods per node in step with a pod event of a cached DaemonSet. */
  private trackPod(ev: WatchEvent<P>): void {
    if (this.caches.size === 0) return;
    const oldC = ev.type === 'ADDED' ? undefined : this.cacheOf(ev.old ?? ev.object);
    const newC = ev.type === 'DELETED' ? undefined : this.cacheOf(ev.object);
    if (oldC && newC && oldC !== newC) {
      oldC.valid = false;
      newC.valid = false;
      return;
    }
    const c = oldC ?? newC;
    if (!c || !c.valid) return;
    if (ev.type === 'MODIFIED' && (!oldC || !newC)) {
      c.valid = false; // the controller reference changed: a full sync releases or adopts
      return;
    }
    const before = ev.type === 'ADDED' ? undefined : c.placeOf(ev.old ?? ev.object);
    const after = ev.type === 'DELETED' ? undefined : c.placeOf(ev.object);
    if (before === INVALID || after === INVALID) {
      c.valid = false;
      return;
    }
    const key = ev.key ?? objectKey(ev.object);
    if (before !== undefined) c.dirty.add(before);
    if (after !== undefined) c.dirty.add(after);
    if (before !== undefined && after === before) {
      const list = c.byNode.get(before)!;
      const i = list.findIndex((p) => objectKey(p) === key);
      if (i < 0) c.valid = false;
      else list[i] = ev.object;
      return;
    }
    if (before !== undefined) {
      const list = c.byNode.get(before)!;
      const i = list.findIndex((p) => objectKey(p) === key);
      if (i < 0) {
        c.valid = false;
        return;
      }
      list.splice(i, 1);
      if (list.length === 0) c.byNode.delete(before);
    }
    if (after !== undefined) {
      // A pod joins its node's list where the owner index files it: last, for a new pod. One
      // that was left out before (no target node, finished and deleted) may sit earlier.
      if (ev.type !== 'ADDED') {
        c.valid = false;
        return;
      }
      let list = c.byNode.get(after);
      if (!list) c.byNode.set(after, (list = []));
      list.push(ev.object);
    }
  }

  private cacheOf(p: P): DsCache | undefined {
    const ref = controllerOf(p);
    if (!ref || ref.kind !== 'DaemonSet') return undefined;
    const c = this.caches.get(keyOf('DaemonSet', p.metadata.namespace, ref.name));
    return c && c.uid === ref.uid ? c : undefined;
  }

  /** The cache for `ds` when an incremental sync may run, else undefined (and the cache dropped). */
  private usableCache(key: string, ds: DS): DsCache | undefined {
    const c = this.caches.get(key);
    if (!c) return undefined;
    const store = this.ctx.store;
    const ok =
      c.valid &&
      c.uid === ds.metadata.uid &&
      c.spec === ds.spec &&
      c.annotations === ds.metadata.annotations &&
      c.collisionCount === ds.status?.collisionCount &&
      c.nodeWrites === store.writes('Node') &&
      c.revisionWrites === store.writes('ControllerRevision') &&
      store.byIndex('Pod', ORPHAN_INDEX, ds.metadata.namespace ?? 'default').size === 0;
    if (!ok) this.caches.delete(key);
    return ok ? c : undefined;
  }

  /** Remember a full sync's outcome, when its conditions allow incremental syncs after it. */
  private remember(key: string, ds: DS, nodes: N[], byNode: Map<string, P[]>, hash: string, history: { cur: Revision; old: Revision[] }): void {
    this.caches.delete(key);
    if (!incrementalAllowed(ds, history)) return;
    const store = this.ctx.store;
    const nodeIndex = new Map<string, number>();
    nodes.forEach((n, i) => nodeIndex.set(n.metadata.name!, i));
    for (const n of byNode.keys()) if (!nodeIndex.has(n)) return;
    const c = new DsCache(ds, nodes, nodeIndex, hash, history, store.writes('Node'), store.writes('ControllerRevision'));
    const fits = this.fitsOf(ds);
    const generation = ds.metadata.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
    const now = this.ctx.clock.now();
    for (const node of nodes) {
      const name = node.metadata.name!;
      const pods = byNode.get(name);
      if (pods) c.byNode.set(name, [...pods]);
      const counts = this.nodeCounts(ds, node, pods, fits, hash, generation, 0, now);
      c.counts.set(name, counts);
      addCounts(c.totals, counts, 1);
    }
    const rolling = (ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    if (c.totals.finished > 0 || (rolling && c.totals.old > 0)) return;
    // This sync's actions were worked out before it acted: nodes that still ask for something
    // (a failed pod deleted now, replaced next time) are where the next sync starts.
    const create: string[] = [];
    const del: P[] = [];
    for (const node of nodes) {
      this.podsShouldBeOnNode(ds, this.fit(ds, node, fits), c.byNode, hash, false, create, del);
      if (create.length + del.length > 0) {
        c.dirty.add(node.metadata.name!);
        create.length = 0;
        del.length = 0;
      }
    }
    this.caches.set(key, c);
  }

  /** The incremental sync: false (nothing written) when a full sync must run instead. */
  private syncIncremental(key: string, ds: DS, c: DsCache): boolean {
    const fits = this.fitsOf(ds);
    const hash = c.hash;
    const generation = ds.metadata.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
    const now = this.ctx.clock.now();
    const dirty = (): N[] => {
      const out: N[] = [];
      for (const name of c.dirty) {
        const i = c.nodeIndex.get(name);
        if (i === undefined) return [];
        out.push(c.nodes[i]!);
      }
      return out.sort((a, b) => c.nodeIndex.get(a.metadata.name!)! - c.nodeIndex.get(b.metadata.name!)!);
    };
    const refresh = (nodes: N[]): void => {
      for (const node of nodes) {
        const name = node.metadata.name!;
        addCounts(c.totals, c.counts.get(name)!, -1);
        const counts = this.nodeCounts(ds, node, c.byNode.get(name), fits, hash, generation, 0, now);
        c.counts.set(name, counts);
        addCounts(c.totals, counts, 1);
      }
    };
    for (const name of c.dirty) if (!c.nodeIndex.has(name)) return false;
    const changed = dirty();
    refresh(changed);
    const rolling = (ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    if (c.totals.finished > 0 || (rolling && c.totals.old > 0)) return false;
    // manage, on the nodes that changed (the others would ask for nothing).
    const create: string[] = [];
    const del: P[] = [];
    for (const node of changed) this.podsShouldBeOnNode(ds, this.fit(ds, node, fits), c.byNode, hash, false, create, del);
    if (create.length > DS_BURST_REPLICAS || del.length > DS_BURST_REPLICAS) return false;
    if (DaemonSetController.check) this.checkActions(ds, c, create, del);
    c.dirty.clear();
    if (create.length + del.length > 0) this.syncNodes(ds, del, create, hash);
    if (!c.valid) {
      this.caches.delete(key);
      this.updateStatus(ds, c.nodes, this.nodesToDaemonPods(ds), hash);
      return true;
    }
    refresh(dirty());
    c.dirty.clear();
    if (DaemonSetController.check) this.checkCounts(ds, c);
    this.writeStatus(ds, c.totals);
    return true;
  }

  private checkActions(ds: DS, c: DsCache, create: string[], del: P[]): void {
    const byNode = this.nodesToDaemonPods(ds);
    const fullCreate: string[] = [];
    const fullDel: P[] = [];
    for (const node of c.nodes) this.podsShouldBeOnNode(ds, this.fit(ds, node), byNode, c.hash, false, fullCreate, fullDel);
    const a = `${create.join()}|${del.map((p) => p.metadata.name).join()}`;
    const b = `${fullCreate.join()}|${fullDel.map((p) => p.metadata.name).join()}`;
    if (a !== b) throw new Error(`daemonset incremental: actions ${a}, full ${b}`);
  }

  private checkCounts(ds: DS, c: DsCache): void {
    const byNode = this.nodesToDaemonPods(ds);
    const t = zeroCounts();
    const generation = ds.metadata.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
    for (const node of c.nodes) addCounts(t, this.nodeCounts(ds, node, byNode.get(node.metadata.name!), this.fitsOf(ds), c.hash, generation, 0, this.ctx.clock.now()), 1);
    const f = (x: NodeCounts) => [x.desired, x.current, x.misscheduled, x.ready, x.available, x.updated, x.old, x.finished].join();
    if (f(t) !== f(c.totals)) throw new Error(`daemonset incremental: counts ${f(c.totals)}, full ${f(t)}`);
    for (const [n, pods] of byNode) {
      const mine = c.byNode.get(n) ?? [];
      if (pods.length !== mine.length || pods.some((p, i) => p !== mine[i])) throw new Error(`daemonset incremental: pods of ${n} differ`);
    }
    if ([...c.byNode.keys()].some((n) => !byNode.has(n))) throw new Error('daemonset incremental: stale node entries');
  }
}

/** One node's part of the status counts, with its live old-revision and finished pods. */
interface NodeCounts {
  desired: number;
  current: number;
  misscheduled: number;
  ready: number;
  available: number;
  updated: number;
  old: number;
  finished: number;
  first?: P;
}

function zeroCounts(): NodeCounts {
  return { desired: 0, current: 0, misscheduled: 0, ready: 0, available: 0, updated: 0, old: 0, finished: 0 };
}

function addCounts(t: NodeCounts, c: NodeCounts, sign: number): void {
  t.desired += sign * c.desired;
  t.current += sign * c.current;
  t.misscheduled += sign * c.misscheduled;
  t.ready += sign * c.ready;
  t.available += sign * c.available;
  t.updated += sign * c.updated;
  t.old += sign * c.old;
  t.finished += sign * c.finished;
}

/** The conditions under which the full sync's result can be kept up to date node by node. */
function incrementalAllowed(ds: DS, history: { old: Revision[] }): boolean {
  return (ds.spec?.minReadySeconds ?? 0) === 0 && !allowsSurge(ds) && history.old.length <= (ds.spec?.revisionHistoryLimit ?? 10);
}

const INVALID = '\u0000invalid';

/** A full sync's view of one DaemonSet, kept current by pod events (see syncIncremental). */
class DsCache {
  readonly uid: string;
  readonly spec: unknown;
  readonly annotations: unknown;
  readonly collisionCount: number | undefined;
  readonly byNode = new Map<string, P[]>();
  readonly counts = new Map<string, NodeCounts>();
  readonly totals = zeroCounts();
  /** Target nodes whose pods changed since the counts were worked out. */
  readonly dirty = new Set<string>();
  valid = true;

  constructor(
    readonly ds: DS,
    readonly nodes: N[],
    readonly nodeIndex: Map<string, number>,
    readonly hash: string,
    readonly history: { cur: Revision; old: Revision[] },
    readonly nodeWrites: number,
    readonly revisionWrites: number,
  ) {
    this.uid = ds.metadata.uid!;
    this.spec = ds.spec;
    this.annotations = ds.metadata.annotations;
    this.collisionCount = ds.status?.collisionCount;
  }

  /**
   * The node a pod of this DaemonSet is filed under in nodesToDaemonPods, undefined when it is
   * left out, INVALID when the full sync would do more than file it (release it, or a node the
   * cache does not know).
   */
  placeOf(p: P): string | undefined {
    if (!matchesSelector(this.ds.spec?.selector, p.metadata.labels)) return INVALID;
    if (isPodTerminal(p) && p.metadata.deletionTimestamp) return undefined;
    const node = targetNodeName(p.spec);
    if (node === undefined) return undefined;
    return this.nodeIndex.has(node) ? node : INVALID;
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
