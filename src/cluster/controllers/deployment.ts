// The Deployment controller (pkg/controller/deployment): owns ReplicaSets named
// `<deployment>-<pod-template-hash>`, rolls them with RollingUpdate or Recreate, scales them
// proportionally when the Deployment is resized mid-rollout, and reports status and conditions.
import type { Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { Controller, ControllerContext } from '../controller.js';
import { matchesSelector } from '../labels.js';
import { controllerOf, controllerRef, objectKey, type Stored } from '../object.js';
import { withEntries, withKey } from '../copy.js';
import { podsOwnedBy } from '../podindex.js';
import { ApiError, type WatchEvent } from '../store.js';
import { claim } from '../workloads/claim.js';
import { getCondition, removeCondition, setCondition } from '../workloads/conditions.js';
import { Delayed } from '../workloads/delayed.js';
import { deepEqual } from '../workloads/equal.js';
import { computeHash } from '../workloads/hash.js';
import { controlledBy, indexByController, indexByNamespace, indexOrphans, inNamespace, orphansIn } from '../workloads/indexes.js';
import { IntOrStringError } from '../workloads/intstr.js';
import { equalIgnoreHash, POD_TEMPLATE_HASH_LABEL } from '../workloads/podtemplate.js';
import { timeMs } from '../workloads/pods.js';
import {
  availableReplicaCount,
  actualReplicaCount,
  byCreation,
  byRevision,
  bySizeNewer,
  bySizeOlder,
  DESIRED_REPLICAS_ANNOTATION,
  deploymentComplete,
  deploymentProgressing,
  deploymentTimedOut,
  desiredReplicas,
  FAILED_RS_CREATE_REASON,
  filterActive,
  findActiveOrLatest,
  findNewReplicaSet,
  FOUND_NEW_RS_REASON,
  getProportion,
  hasProgressDeadline,
  isRollingUpdate,
  isSaturated,
  LAST_APPLIED_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  maxRevision,
  maxSurge,
  maxUnavailable,
  MIN_AVAILABLE_REASON,
  MIN_UNAVAILABLE_REASON,
  minReadySeconds,
  NEW_RS_AVAILABLE_REASON,
  NEW_RS_REASON,
  newRSNewReplicas,
  PAUSED_REASON,
  progressDeadlineSeconds,
  readyReplicaCount,
  replicaCount,
  replicasAnnotationsNeedUpdate,
  RESUMED_REASON,
  revisionHistoryLimit,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  ROLLBACK_TO_ANNOTATION,
  RS_UPDATED_REASON,
  rsReplicas,
  strategyType,
  TIMED_OUT_REASON,
} from '../workloads/rollout.js';

type D = Stored<Deployment>;
type RS = Stored<ReplicaSet>;

/** deploymentutil's cap on the revision-history annotation (maxRevHistoryLengthInChars). */
const MAX_REV_HISTORY_CHARS = 2000;

const SKIP_COPY = new Set([
  LAST_APPLIED_ANNOTATION,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  ROLLBACK_TO_ANNOTATION,
]);

/** The Deployment being synced; writes replace `d` with the stored result. */
interface Run {
  d: D;
}

export class DeploymentController implements Controller {
  readonly name = 'deployment';
  private ctx!: ControllerContext;
  private delayed!: Delayed;
  /**
   * Deployments whose last sync wrote nothing, took the RollingUpdate path and wanted no
   * progress-deadline requeue: everything that sync read (the Deployment and its ReplicaSets) is
   * watched, and nothing in it depended on the clock, so until a watch event queues the key again
   * a sync could change nothing. A progress-deadline timer set during the rollout then has no
   * sync to run. Upstream runs that sync; it is a no-op, so skipping it changes no outcome.
   */
  private readonly settled = new Set<string>();
  /** Set by syncRolloutStatus when the current sync ends as described above. */
  private endedSettled = false;

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.delayed = new Delayed(ctx, (key) => !this.settled.has(key));
    const s = ctx.store;
    indexByNamespace(s, 'Deployment');
    indexByNamespace(s, 'ReplicaSet');
    indexByController(s, 'ReplicaSet');
    indexOrphans(s, 'ReplicaSet');
    s.watch<D>('Deployment', (ev) => ctx.queue.add(ev.key ?? objectKey(ev.object)));
    s.watch<RS>('ReplicaSet', (ev) => this.onReplicaSet(ev));
    s.watch<Stored<Pod>>('Pod', (ev) => {
      if (ev.type === 'DELETED') this.onPodDeleted(ev.object);
    });
  }

  // ---- event handlers --------------------------------------------------------------------

  private onReplicaSet(ev: WatchEvent<RS>): void {
    const rs = ev.object;
    const ref = controllerOf(rs);
    if (ev.type === 'MODIFIED') {
      const old = ev.old!;
      const oldRef = controllerOf(old);
      const refChanged = oldRef?.uid !== ref?.uid;
      if (refChanged && oldRef) this.enqueueOwner(old.metadata.namespace, oldRef);
      if (ref) {
        this.enqueueOwner(rs.metadata.namespace, ref);
        return;
      }
      if (refChanged || !deepEqual(old.metadata.labels, rs.metadata.labels)) this.enqueueSelecting(rs);
      return;
    }
    if (ref) this.enqueueOwner(rs.metadata.namespace, ref);
    else if (ev.type === 'ADDED') this.enqueueSelecting(rs);
  }

  private onPodDeleted(pod: Stored<Pod>): void {
    const rsRef = controllerOf(pod);
    if (!rsRef || rsRef.kind !== 'ReplicaSet') return;
    const rs = this.ctx.store.get<RS>('ReplicaSet', pod.metadata.namespace, rsRef.name);
    if (!rs || rs.metadata.uid !== rsRef.uid) return;
    const d = this.resolve(rs.metadata.namespace, controllerOf(rs));
    if (!d || strategyType(d) !== 'Recreate') return;
    // Sync a Recreate Deployment once none of its ReplicaSets has a pod left.
    for (const r of controlledBy<RS>(this.ctx.store, 'ReplicaSet', d.metadata.uid!)) {
      if (podsOwnedBy(this.ctx.store, r.metadata.uid!).length > 0) return;
    }
    this.ctx.queue.add(objectKey(d));
  }

  private resolve(ns: string | undefined, ref: { kind: string; name: string; uid: string } | undefined): D | undefined {
    if (!ref || ref.kind !== 'Deployment') return undefined;
    const d = this.ctx.store.get<D>('Deployment', ns, ref.name);
    return d && d.metadata.uid === ref.uid ? d : undefined;
  }

  private enqueueOwner(ns: string | undefined, ref: { kind: string; name: string; uid: string }): void {
    const d = this.resolve(ns, ref);
    if (d) this.ctx.queue.add(objectKey(d));
  }

  /** getDeploymentsForReplicaSet: Deployments whose (non-empty) selector matches an orphan. */
  private enqueueSelecting(rs: RS): void {
    for (const d of inNamespace<D>(this.ctx.store, 'Deployment', rs.metadata.namespace ?? 'default')) {
      if (isEmptySelector(d.spec?.selector)) continue;
      if (matchesSelector(d.spec?.selector, rs.metadata.labels)) this.ctx.queue.add(objectKey(d));
    }
  }

  // ---- sync ------------------------------------------------------------------------------

  sync(key: string): void {
    this.delayed.synced(key);
    this.settled.delete(key);
    // Queue keys are store keys.
    const d = this.ctx.store.getByKey<D>('Deployment', key);
    if (!d) return;
    this.endedSettled = false;
    try {
      this.syncDeployment({ d });
    } catch (e) {
      if (!(e instanceof IntOrStringError)) throw e;
      this.endedSettled = false;
      this.ctx.record(d, 'Warning', 'InvalidStrategy', e.message);
    }
    if (this.endedSettled) this.settled.add(key);
  }

  private syncDeployment(run: Run): void {
    const d = run.d;
    if (isEmptySelector(d.spec?.selector)) {
      this.ctx.record(d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      if ((d.status?.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) {
        this.writeDeployment(run, { status: { ...d.status, observedGeneration: d.metadata.generation } });
      }
      return;
    }
    const rsList = this.replicaSetsFor(d);
    if (d.metadata.deletionTimestamp) {
      const { newRS, oldRSs } = this.allReplicaSets(run, rsList, false);
      this.syncDeploymentStatus(run, [...oldRSs, newRS], newRS);
      return;
    }
    this.checkPausedConditions(run);
    if (run.d.spec?.paused) {
      this.syncScale(run, rsList);
      return;
    }
    // apps/v1 has no spec.rollbackTo; `kubectl rollout undo` rewrites the template instead.
    if (this.isScalingEvent(run, rsList)) {
      this.syncScale(run, rsList);
      return;
    }
    if (strategyType(run.d) === 'Recreate') this.rolloutRecreate(run, rsList);
    else this.rolloutRolling(run, rsList);
  }

  /** getReplicaSetsForDeployment: owned ReplicaSets that still match, plus adopted orphans. */
  private replicaSetsFor(d: D): RS[] {
    const store = this.ctx.store;
    const candidates = [
      ...controlledBy<RS>(store, 'ReplicaSet', d.metadata.uid!),
      ...orphansIn<RS>(store, 'ReplicaSet', d.metadata.namespace ?? 'default'),
    ];
    const claimed = claim(store, d, candidates, (rs) => matchesSelector(d.spec?.selector, rs.metadata.labels));
    return claimed.sort(byCreation) as RS[];
  }

  // ---- new ReplicaSet and revisions ------------------------------------------------------

  private allReplicaSets(run: Run, rsList: RS[], create: boolean): { newRS: RS | undefined; oldRSs: RS[] } {
    const existing = findNewReplicaSet(run.d, rsList);
    const oldRSs = rsList.filter((rs) => rs !== existing);
    const newRS = this.newReplicaSet(run, rsList, oldRSs, create);
    return { newRS, oldRSs };
  }

  /** getNewReplicaSet: find (and annotate) or create the ReplicaSet matching the current template. */
  private newReplicaSet(run: Run, rsList: RS[], oldRSs: RS[], create: boolean): RS | undefined {
    const store = this.ctx.store;
    const d = run.d;
    const existing = findNewReplicaSet(d, rsList) as RS | undefined;
    const newRevision = String(maxRevision(oldRSs) + 1);
    if (existing) {
      const annotations = newReplicaSetAnnotations(d, existing, newRevision, true);
      const minReadyChanged = minReadySeconds(existing) !== minReadySeconds(d);
      if (annotations || minReadyChanged) {
        return store.update<RS>({
          ...existing,
          metadata: annotations ? { ...existing.metadata, annotations } : existing.metadata,
          spec: minReadyChanged ? { ...existing.spec!, minReadySeconds: minReadySeconds(d) } : existing.spec,
        });
      }
      let next = withRevision(d, existing.metadata.annotations?.[REVISION_ANNOTATION] ?? '');
      if (hasProgressDeadline(d) && !getCondition(d.status?.conditions, 'Progressing')) {
        next = {
          ...next,
          status: { ...next.status, conditions: setCondition(next.status?.conditions, this.condition('Progressing', 'True', FOUND_NEW_RS_REASON, `Found new replica set "${existing.metadata.name}"`)) },
        };
      }
      if (next !== d) this.writeDeployment(run, next);
      return existing;
    }
    if (!create) return undefined;

    const template = d.spec!.template;
    const hash = computeHash(template, d.status?.collisionCount);
    // withKey: the spread with the hash label added, sharing one hidden class across templates.
    const labels = withKey(template.metadata?.labels ?? {}, POD_TEMPLATE_HASH_LABEL, hash);
    const draft: RS = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        labels,
        ownerReferences: [controllerRef(d)],
      },
      spec: {
        replicas: 0,
        ...(minReadySeconds(d) ? { minReadySeconds: minReadySeconds(d) } : {}),
        selector: selectorWithLabel(d.spec!.selector, POD_TEMPLATE_HASH_LABEL, hash),
        template: { ...template, metadata: { ...template.metadata, labels } },
      },
    };
    const replicas = newRSNewReplicas(d, [...oldRSs, draft], draft);
    let newRS: RS = { ...draft, spec: { ...draft.spec!, replicas } };
    newRS = { ...newRS, metadata: withKey(newRS.metadata, 'annotations', newReplicaSetAnnotations(d, newRS, newRevision, false) ?? {}) };

    let created: RS;
    let alreadyExists = false;
    try {
      created = store.create(newRS);
    } catch (e) {
      if (!(e instanceof ApiError) || e.reason !== 'AlreadyExists') {
        const msg = `Failed to create new replica set "${newRS.metadata.name}": ${(e as Error).message}`;
        if (hasProgressDeadline(d)) {
          this.writeDeployment(run, {
            status: { ...d.status, conditions: setCondition(d.status?.conditions, this.condition('Progressing', 'False', FAILED_RS_CREATE_REASON, msg)) },
          });
        }
        this.ctx.record(d, 'Warning', FAILED_RS_CREATE_REASON, msg);
        return undefined;
      }
      const rs = store.get<RS>('ReplicaSet', d.metadata.namespace, newRS.metadata.name!)!;
      if (controllerOf(rs)?.uid === d.metadata.uid && equalIgnoreHash(d.spec!.template, rs.spec?.template)) {
        created = rs;
        alreadyExists = true;
      } else {
        // A hash collision: bump collisionCount; the status write requeues the Deployment.
        this.writeDeployment(run, { status: { ...d.status, collisionCount: (d.status?.collisionCount ?? 0) + 1 } });
        return undefined;
      }
    }
    if (!alreadyExists && replicas > 0) {
      this.ctx.record(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${created.metadata.name} from 0 to ${replicas}`);
    }
    let next = withRevision(d, newRevision);
    if (!alreadyExists && hasProgressDeadline(d)) {
      next = {
        ...next,
        status: { ...next.status, conditions: setCondition(next.status?.conditions, this.condition('Progressing', 'True', NEW_RS_REASON, `Created new replica set "${created.metadata.name}"`)) },
      };
    }
    if (next !== d) this.writeDeployment(run, next);
    return created;
  }

  // ---- scaling ---------------------------------------------------------------------------

  /** isScalingEvent: an active ReplicaSet was sized for a different replica count. */
  private isScalingEvent(run: Run, rsList: RS[]): boolean {
    const { newRS, oldRSs } = this.allReplicaSets(run, rsList, false);
    const desired = desiredReplicas(run.d);
    for (const rs of filterActive([...oldRSs, newRS])) {
      const v = rs.metadata?.annotations?.[DESIRED_REPLICAS_ANNOTATION];
      if (v === undefined || !/^[+-]?\d+$/.test(v)) continue;
      if (Number.parseInt(v, 10) !== desired) return true;
    }
    return false;
  }

  /** sync: reconcile a scaling event or a paused Deployment without rolling. */
  private syncScale(run: Run, rsList: RS[]): void {
    const { newRS, oldRSs } = this.allReplicaSets(run, rsList, false);
    const scaled = this.scale(run, newRS, oldRSs);
    const latest = (rs: RS) => scaled.get(rs.metadata.uid!) ?? rs;
    const olds = oldRSs.map(latest);
    const nrs = newRS && latest(newRS);
    if (run.d.spec?.paused) this.cleanupDeployment(run, olds);
    this.syncDeploymentStatus(run, [...olds, nrs], nrs);
  }

  /** scale: returns the ReplicaSets it rewrote, by uid. */
  private scale(run: Run, newRS: RS | undefined, oldRSs: RS[]): Map<string, RS> {
    const d = run.d;
    const out = new Map<string, RS>();
    const desired = desiredReplicas(d);
    const activeOrLatest = findActiveOrLatest(newRS, oldRSs) as RS | undefined;
    if (activeOrLatest) {
      if (rsReplicas(activeOrLatest) === desired) return out;
      const r = this.scaleAndRecord(run, activeOrLatest, desired);
      out.set(r.rs.metadata.uid!, r.rs);
      return out;
    }
    if (isSaturated(d, newRS)) {
      for (const old of filterActive(oldRSs) as RS[]) {
        const r = this.scaleAndRecord(run, old, 0);
        out.set(r.rs.metadata.uid!, r.rs);
      }
      return out;
    }
    if (!isRollingUpdate(d)) return out;
    // Proportional scaling: distribute the difference over the active ReplicaSets by size.
    const all = filterActive([...oldRSs, newRS]) as RS[];
    const current = replicaCount(all);
    const allowed = desired > 0 ? desired + maxSurge(d) : 0;
    const toAdd = allowed - current;
    let op = '';
    if (toAdd > 0) {
      all.sort(bySizeNewer);
      op = 'up';
    } else if (toAdd < 0) {
      all.sort(bySizeOlder);
      op = 'down';
    }
    let added = 0;
    const sizes = new Map<RS, number>();
    for (const rs of all) {
      if (toAdd !== 0) {
        const p = getProportion(rs, d, toAdd, added);
        sizes.set(rs, rsReplicas(rs) + p);
        added += p;
      } else {
        sizes.set(rs, rsReplicas(rs));
      }
    }
    all.forEach((rs, i) => {
      if (i === 0 && toAdd !== 0) sizes.set(rs, Math.max(0, sizes.get(rs)! + toAdd - added));
      const r = this.scaleReplicaSet(run, rs, sizes.get(rs)!, op);
      out.set(r.rs.metadata.uid!, r.rs);
    });
    return out;
  }

  private scaleAndRecord(run: Run, rs: RS, newScale: number): { scaled: boolean; rs: RS } {
    if (rsReplicas(rs) === newScale) return { scaled: false, rs };
    return this.scaleReplicaSet(run, rs, newScale, rsReplicas(rs) < newScale ? 'up' : 'down');
  }

  private scaleReplicaSet(run: Run, rs: RS, newScale: number, op: string): { scaled: boolean; rs: RS } {
    const d = run.d;
    const desired = desiredReplicas(d);
    const max = desired + maxSurge(d);
    const sizeChanged = rsReplicas(rs) !== newScale;
    if (!sizeChanged && !replicasAnnotationsNeedUpdate(rs, desired, max)) return { scaled: false, rs };
    const oldScale = rsReplicas(rs);
    const updated = this.ctx.store.update<RS>({
      ...rs,
      metadata: {
        ...rs.metadata,
        annotations: { ...rs.metadata.annotations, [DESIRED_REPLICAS_ANNOTATION]: String(desired), [MAX_REPLICAS_ANNOTATION]: String(max) },
      },
      spec: sizeChanged ? { ...rs.spec!, replicas: newScale } : rs.spec,
    });
    if (sizeChanged) {
      this.ctx.record(d, 'Normal', 'ScalingReplicaSet', `Scaled ${op} replica set ${rs.metadata.name} from ${oldScale} to ${newScale}`);
    }
    return { scaled: sizeChanged, rs: updated };
  }

  // ---- RollingUpdate ---------------------------------------------------------------------

  private rolloutRolling(run: Run, rsList: RS[]): void {
    const all = this.allReplicaSets(run, rsList, true);
    let newRS = all.newRS;
    let oldRSs = all.oldRSs;
    if (!newRS) return; // creation failed or collided; the status write requeues us
    const up = this.reconcileNewReplicaSet(run, [...oldRSs, newRS], newRS);
    newRS = up.rs;
    if (up.scaled) {
      this.syncRolloutStatus(run, [...oldRSs, newRS], newRS);
      return;
    }
    const down = this.reconcileOldReplicaSets(run, [...oldRSs, newRS], oldRSs, newRS);
    oldRSs = down.oldRSs;
    if (down.scaled) {
      this.syncRolloutStatus(run, [...oldRSs, newRS], newRS);
      return;
    }
    if (deploymentComplete(run.d, run.d.status ?? {})) this.cleanupDeployment(run, oldRSs);
    this.syncRolloutStatus(run, [...oldRSs, newRS], newRS);
  }

  private reconcileNewReplicaSet(run: Run, allRSs: RS[], newRS: RS): { scaled: boolean; rs: RS } {
    const desired = desiredReplicas(run.d);
    if (rsReplicas(newRS) === desired) return { scaled: false, rs: newRS };
    if (rsReplicas(newRS) > desired) return this.scaleAndRecord(run, newRS, desired);
    return this.scaleAndRecord(run, newRS, newRSNewReplicas(run.d, allRSs, newRS));
  }

  private reconcileOldReplicaSets(run: Run, allRSs: RS[], oldRSs: RS[], newRS: RS): { scaled: boolean; oldRSs: RS[] } {
    const d = run.d;
    const oldPods = replicaCount(oldRSs);
    if (oldPods === 0) return { scaled: false, oldRSs };
    const allPods = replicaCount(allRSs);
    const minAvailable = desiredReplicas(d) - maxUnavailable(d);
    const newUnavailable = rsReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown = allPods - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return { scaled: false, oldRSs };

    // Clean up unhealthy replicas first, then scale down healthy ones within maxUnavailable.
    const cleaned = this.cleanupUnhealthyReplicas(run, oldRSs, maxScaledDown);
    const scaledDown = this.scaleDownOldReplicaSetsForRollingUpdate(run, [...cleaned.oldRSs, newRS], cleaned.oldRSs);
    return { scaled: cleaned.count + scaledDown.count > 0, oldRSs: scaledDown.oldRSs };
  }

  private cleanupUnhealthyReplicas(run: Run, oldRSs: RS[], maxCleanup: number): { oldRSs: RS[]; count: number } {
    const rss = [...oldRSs].sort(byCreation);
    let total = 0;
    for (let i = 0; i < rss.length; i++) {
      if (total >= maxCleanup) break;
      const rs = rss[i]!;
      const replicas = rsReplicas(rs);
      const available = rs.status?.availableReplicas ?? 0;
      if (replicas === 0 || replicas === available) continue;
      const n = Math.min(maxCleanup - total, replicas - available);
      rss[i] = this.scaleAndRecord(run, rs, replicas - n).rs;
      total += n;
    }
    return { oldRSs: rss, count: total };
  }

  private scaleDownOldReplicaSetsForRollingUpdate(run: Run, allRSs: RS[], oldRSs: RS[]): { oldRSs: RS[]; count: number } {
    const d = run.d;
    const minAvailable = desiredReplicas(d) - maxUnavailable(d);
    const available = availableReplicaCount(allRSs);
    if (available <= minAvailable) return { oldRSs, count: 0 };
    const rss = [...oldRSs].sort(byCreation);
    const target = available - minAvailable;
    let total = 0;
    for (let i = 0; i < rss.length; i++) {
      if (total >= target) break;
      const rs = rss[i]!;
      if (rsReplicas(rs) === 0) continue;
      const n = Math.min(rsReplicas(rs), target - total);
      rss[i] = this.scaleAndRecord(run, rs, rsReplicas(rs) - n).rs;
      total += n;
    }
    return { oldRSs: rss, count: total };
  }

  // ---- Recreate --------------------------------------------------------------------------

  private rolloutRecreate(run: Run, rsList: RS[]): void {
    let { newRS, oldRSs } = this.allReplicaSets(run, rsList, false);
    // Scale every old ReplicaSet to zero first.
    let scaledDown = false;
    oldRSs = oldRSs.map((rs) => {
      if (rsReplicas(rs) === 0) return rs;
      const r = this.scaleAndRecord(run, rs, 0);
      if (r.scaled) scaledDown = true;
      return r.rs;
    });
    if (scaledDown) {
      this.syncRolloutStatus(run, [...oldRSs, newRS], newRS);
      return;
    }
    // Wait until no old pod is left running.
    if (this.oldPodsRunning(newRS, rsList)) {
      this.syncRolloutStatus(run, [...oldRSs, newRS], newRS);
      return;
    }
    if (!newRS) {
      const all = this.allReplicaSets(run, rsList, true);
      newRS = all.newRS;
      oldRSs = all.oldRSs;
      if (!newRS) return;
    }
    newRS = this.scaleAndRecord(run, newRS, desiredReplicas(run.d)).rs;
    if (deploymentComplete(run.d, run.d.status ?? {})) this.cleanupDeployment(run, oldRSs);
    this.syncRolloutStatus(run, [...oldRSs, newRS], newRS);
  }

  private oldPodsRunning(newRS: RS | undefined, rsList: RS[]): boolean {
    const olds = rsList.filter((rs) => rs.metadata.uid !== newRS?.metadata.uid);
    if (actualReplicaCount(olds) > 0) return true;
    for (const rs of olds) {
      for (const p of podsOwnedBy(this.ctx.store, rs.metadata.uid!)) {
        const phase = p.status?.phase;
        if (phase !== 'Failed' && phase !== 'Succeeded') return true;
      }
    }
    return false;
  }

  // ---- history ---------------------------------------------------------------------------

  /** cleanupDeployment: delete the oldest idle ReplicaSets beyond revisionHistoryLimit. */
  private cleanupDeployment(run: Run, oldRSs: RS[]): void {
    const limit = revisionHistoryLimit(run.d);
    if (limit === 2147483647) return;
    const cleanable = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp);
    const diff = cleanable.length - limit;
    if (diff <= 0) return;
    cleanable.sort(byRevision);
    for (let i = 0; i < diff; i++) {
      const rs = cleanable[i]!;
      if ((rs.status?.replicas ?? 0) !== 0 || rsReplicas(rs) !== 0) continue;
      if ((rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
      this.ctx.store.delete('ReplicaSet', rs.metadata.namespace, rs.metadata.name!);
    }
  }

  // ---- status ----------------------------------------------------------------------------

  private checkPausedConditions(run: Run): void {
    const d = run.d;
    if (!hasProgressDeadline(d)) return;
    const cond = getCondition(d.status?.conditions, 'Progressing');
    if (cond?.reason === TIMED_OUT_REASON) return;
    const pausedExists = cond?.reason === PAUSED_REASON;
    let c: DeploymentCondition | undefined;
    if (d.spec?.paused && !pausedExists) c = this.condition('Progressing', 'Unknown', PAUSED_REASON, 'Deployment is paused');
    else if (!d.spec?.paused && pausedExists) c = this.condition('Progressing', 'Unknown', RESUMED_REASON, 'Deployment is resumed');
    if (!c) return;
    this.writeDeployment(run, { status: { ...d.status, conditions: setCondition(d.status?.conditions, c) } });
  }

  private calculateStatus(run: Run, allRSs: (RS | undefined)[], newRS: RS | undefined): DeploymentStatus {
    const d = run.d;
    const available = availableReplicaCount(allRSs);
    const total = replicaCount(allRSs);
    // Keys added to a literal in order (a key added after a spread takes V8's slow path).
    const status: { -readonly [K in keyof DeploymentStatus]: DeploymentStatus[K] } = {
      observedGeneration: d.metadata.generation,
      replicas: actualReplicaCount(allRSs),
      updatedReplicas: actualReplicaCount([newRS]),
      readyReplicas: readyReplicaCount(allRSs),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, total - available),
    };
    if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
    status.conditions =
      available >= desiredReplicas(d) - maxUnavailable(d)
        ? setCondition(d.status?.conditions, this.condition('Available', 'True', MIN_AVAILABLE_REASON, 'Deployment has minimum availability.'))
        : setCondition(d.status?.conditions, this.condition('Available', 'False', MIN_UNAVAILABLE_REASON, 'Deployment does not have minimum availability.'));
    return status;
  }

  /** syncDeploymentStatus: status only, no progress estimation (scaling and paused syncs). */
  private syncDeploymentStatus(run: Run, allRSs: (RS | undefined)[], newRS: RS | undefined): void {
    const status = this.calculateStatus(run, allRSs, newRS);
    if (deepEqual(run.d.status, status)) return;
    this.writeDeployment(run, { status });
  }

  /** syncRolloutStatus: status plus the Progressing condition and the progress-deadline requeue. */
  private syncRolloutStatus(run: Run, allRSs: (RS | undefined)[], newRS: RS | undefined): void {
    const d = run.d;
    let status = this.calculateStatus(run, allRSs, newRS);
    let conditions = status.conditions;
    if (!hasProgressDeadline(d)) conditions = removeCondition(conditions, 'Progressing');
    const current = getCondition(d.status?.conditions, 'Progressing');
    const isComplete = status.replicas === status.updatedReplicas && current?.reason === NEW_RS_AVAILABLE_REASON;
    if (hasProgressDeadline(d) && !isComplete) {
      const rsName = newRS?.metadata.name;
      if (deploymentComplete(d, status)) {
        const msg = rsName ? `ReplicaSet "${rsName}" has successfully progressed.` : `Deployment "${d.metadata.name}" has successfully progressed.`;
        conditions = setCondition(conditions, this.condition('Progressing', 'True', NEW_RS_AVAILABLE_REASON, msg));
      } else if (deploymentProgressing(d, status)) {
        const msg = rsName ? `ReplicaSet "${rsName}" is progressing.` : `Deployment "${d.metadata.name}" is progressing.`;
        let c = this.condition('Progressing', 'True', RS_UPDATED_REASON, msg);
        // Progress moves lastUpdateTime even when the reason stays the same.
        if (current) {
          if (current.status === 'True') c = { ...c, lastTransitionTime: current.lastTransitionTime };
          conditions = removeCondition(conditions, 'Progressing');
        }
        conditions = setCondition(conditions, c);
      } else if (deploymentTimedOut(d, { ...status, conditions }, this.ctx.clock.now())) {
        const msg = rsName ? `ReplicaSet "${rsName}" has timed out progressing.` : `Deployment "${d.metadata.name}" has timed out progressing.`;
        conditions = setCondition(conditions, this.condition('Progressing', 'False', TIMED_OUT_REASON, msg));
      }
    }
    // ReplicaFailure from the ReplicaSets (the new one first), or none.
    const failure = replicaFailure(allRSs, newRS);
    conditions = failure ? setCondition(conditions, failure) : removeCondition(conditions, 'ReplicaFailure');
    status = { ...status, conditions };
    if (deepEqual(d.status, status)) {
      const requeued = this.requeueStuck(d, status);
      // Recreate reads the old ReplicaSets' pods, which are not watched for every change.
      this.endedSettled = !requeued && strategyType(d) !== 'Recreate';
      return;
    }
    this.writeDeployment(run, { status });
  }

  /** requeueStuckDeployment: come back when the progress deadline would pass. True when it did. */
  private requeueStuck(d: D, status: DeploymentStatus): boolean {
    const deadline = progressDeadlineSeconds(d);
    const cond = getCondition(d.status?.conditions, 'Progressing');
    if (deadline === undefined || !cond) return false;
    if (deploymentComplete(d, status) || cond.reason === TIMED_OUT_REASON) return false;
    const after = (timeMs(cond.lastUpdateTime) + deadline * 1000 - this.ctx.clock.now()) / 1000;
    this.delayed.after(objectKey(d), after < 1 ? 1 : after + 1);
    return true;
  }

  private condition(type: string, status: string, reason: string, message: string): DeploymentCondition {
    const now = this.ctx.clock.rfc3339();
    return { type, status, reason, message, lastUpdateTime: now, lastTransitionTime: now };
  }

  /** Write the Deployment (metadata and status; the spec object is kept so generation stays). */
  private writeDeployment(run: Run, change: Partial<D>): void {
    // A status-only change to a Deployment that has a status replaces it in place (the same
    // object as the general spread below, without V8's slow double spread).
    let only = true;
    for (const k in change) if (k !== 'status') only = false;
    // withEntries for the general case: the double spread adds keys to a copy, V8's slow path (copy.ts).
    let next: D;
    if (only && change.status !== undefined && run.d.status !== undefined) {
      next = { ...run.d, status: change.status };
    } else {
      const keys = Object.keys(change);
      if (!keys.includes('spec')) keys.push('spec');
      next = withEntries(run.d, keys, keys.map((k) => (k === 'spec' ? run.d.spec : change[k as keyof D])));
    }
    run.d = this.ctx.store.update(next);
  }
}

// ---- helpers -----------------------------------------------------------------------------

function isEmptySelector(s: LabelSelector | undefined): boolean {
  return !!s && s.matchLabels === undefined && s.matchExpressions === undefined;
}

/** CloneSelectorAndAddLabel. */
function selectorWithLabel(s: LabelSelector, key: string, value: string): LabelSelector {
  return { ...s, matchLabels: withKey(s.matchLabels ?? {}, key, value) };
}

/** SetDeploymentRevision on a copy: the same object when nothing changes. */
function withRevision(d: D, revision: string): D {
  if (d.metadata.annotations?.[REVISION_ANNOTATION] === revision) return d;
  return { ...d, metadata: withKey(d.metadata, 'annotations', withKey(d.metadata.annotations ?? {}, REVISION_ANNOTATION, revision)) };
}

/**
 * SetNewReplicaSetAnnotations: the Deployment's own annotations, the revision (kept as the
 * greatest, with older revisions moved to revision-history on a rollback) and, for a ReplicaSet
 * about to be created, the desired/max replica annotations. Undefined when nothing changes.
 */
function newReplicaSetAnnotations(d: D, rs: RS, newRevision: string, exists: boolean): Record<string, string> | undefined {
  // Most syncs change nothing: find that out without copying the annotations.
  if (!annotationsWouldChange(d, rs, newRevision, exists)) return undefined;
  const a: Record<string, string> = { ...rs.metadata.annotations };
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (SKIP_COPY.has(k) || a[k] === v) continue;
    a[k] = v;
    changed = true;
  }
  const oldRevision = a[REVISION_ANNOTATION];
  let oldRevisionInt = 0;
  if (oldRevision !== undefined && oldRevision !== '') {
    if (!/^[+-]?\d+$/.test(oldRevision)) return changed ? a : undefined;
    oldRevisionInt = Number.parseInt(oldRevision, 10);
  }
  const newRevisionInt = Number.parseInt(newRevision, 10);
  if (oldRevisionInt < newRevisionInt) {
    a[REVISION_ANNOTATION] = newRevision;
    changed = true;
    if (oldRevision !== undefined) {
      const history = a[REVISION_HISTORY_ANNOTATION] ?? '';
      const olds = history.split(',');
      if (olds[0]!.length === 0) {
        a[REVISION_HISTORY_ANNOTATION] = oldRevision;
      } else {
        let totalLen = history.length + oldRevision.length + 1;
        let start = 0;
        while (totalLen > MAX_REV_HISTORY_CHARS && start < olds.length) {
          totalLen -= olds[start]!.length + 1;
          start++;
        }
        if (totalLen <= MAX_REV_HISTORY_CHARS) a[REVISION_HISTORY_ANNOTATION] = [...olds.slice(start), oldRevision].join(',');
      }
    }
  }
  if (!exists) {
    const desired = String(desiredReplicas(d));
    const max = String(desiredReplicas(d) + maxSurge(d));
    if (a[DESIRED_REPLICAS_ANNOTATION] !== desired || a[MAX_REPLICAS_ANNOTATION] !== max) {
      a[DESIRED_REPLICAS_ANNOTATION] = desired;
      a[MAX_REPLICAS_ANNOTATION] = max;
      changed = true;
    }
  }
  return changed ? a : undefined;
}

/** Whether newReplicaSetAnnotations would report a change (the same tests, read-only). */
function annotationsWouldChange(d: D, rs: RS, newRevision: string, exists: boolean): boolean {
  const current = rs.metadata.annotations;
  const own = d.metadata.annotations;
  if (own) for (const k in own) if (!SKIP_COPY.has(k) && current?.[k] !== own[k]) return true;
  const oldRevision = current?.[REVISION_ANNOTATION];
  let oldRevisionInt = 0;
  if (oldRevision !== undefined && oldRevision !== '') {
    if (!/^[+-]?\d+$/.test(oldRevision)) return false;
    oldRevisionInt = Number.parseInt(oldRevision, 10);
  }
  if (oldRevisionInt < Number.parseInt(newRevision, 10)) return true;
  if (!exists) {
    return (
      current?.[DESIRED_REPLICAS_ANNOTATION] !== String(desiredReplicas(d)) ||
      current?.[MAX_REPLICAS_ANNOTATION] !== String(desiredReplicas(d) + maxSurge(d))
    );
  }
  return false;
}

/** getReplicaFailures: the first ReplicaFailure condition of the new, then the old ReplicaSets. */
function replicaFailure(allRSs: (RS | undefined)[], newRS: RS | undefined): DeploymentCondition | undefined {
  const ordered = newRS ? [newRS, ...allRSs.filter((r) => r && r !== newRS)] : allRSs;
  for (const rs of ordered) {
    const c = rs?.status?.conditions?.find((x) => x.type === 'ReplicaFailure');
    if (c) {
      return { type: 'ReplicaFailure', status: c.status, reason: c.reason, message: c.message, lastUpdateTime: c.lastTransitionTime, lastTransitionTime: c.lastTransitionTime };
    }
  }
  return undefined;
}
