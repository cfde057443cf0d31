// The ReplicaSet controller (pkg/controller/replicaset): keeps spec.replicas active pods,
// creating them from the template and deleting the lowest-ranked ones, adopts and releases pods
// by selector, and reports replicas / fullyLabeled / ready / available.
import type { ReplicaSet, ReplicaSetCondition, ReplicaSetStatus } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Controller, ControllerContext } from '../controller.js';
import { matchesMap, matchesSelector, selectorMatcher } from '../labels.js';
import { controllerOf, controllerRef, keyOf, objectKey, type Stored } from '../object.js';
import { POD_OWNER_INDEX, podsOwnedBy } from '../podindex.js';
import type { WatchEvent } from '../store.js';
import { claim } from '../workloads/claim.js';
import { withKey } from '../copy.js';
import { deepEqual } from '../workloads/equal.js';
import { Delayed } from '../workloads/delayed.js';
import { controlledBy, indexByController, indexByNamespace, indexOrphans, inNamespace, ORPHAN_INDEX, orphansIn } from '../workloads/indexes.js';
import { isPodActive, isPodAvailable, isPodReady, secondsUntilAvailable } from '../workloads/pods.js';
import { podFromTemplate } from '../workloads/podtemplate.js';
import { podsToDelete } from '../workloads/rank.js';

type RS = Stored<ReplicaSet>;
type P = Stored<Pod>;

/** --concurrent... burstReplicas: at most this many creations or deletions per sync. */
export const BURST_REPLICAS = 500;

export class ReplicaSetController implements Controller {
  readonly name = 'replicaset';
  private ctx!: ControllerContext;
  private delayed!: Delayed;
  private readonly ownerRefs = new WeakMap<object, ReturnType<typeof controllerRef>[]>();
  private readonly ownerKeys = new WeakMap<object, { namespace: string | undefined; key: string }>();

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.delayed = new Delayed(ctx);
    const s = ctx.store;
    indexByNamespace(s, 'ReplicaSet');
    indexByController(s, 'ReplicaSet');
    indexOrphans(s, 'Pod');
    s.watch<RS>('ReplicaSet', (ev) => ctx.queue.add(ev.key ?? objectKey(ev.object)));
    s.watch<P>('Pod', (ev) => this.onPod(ev));
  }

  // ---- event handlers --------------------------------------------------------------------

  private onPod(ev: WatchEvent<P>): void {
    const pod = ev.object;
    const ref = controllerOf(pod);
    if (ev.type !== 'MODIFIED') {
      if (ref) this.enqueueOwner(pod, ref);
      else if (ev.type === 'ADDED' && !pod.metadata.deletionTimestamp) this.enqueueSelecting(pod);
      return;
    }
    const old = ev.old!;
    const oldRef = controllerOf(old);
    const labelsChanged = !deepEqual(old.metadata.labels, pod.metadata.labels);
    const refChanged = oldRef?.uid !== ref?.uid;
    if (refChanged && oldRef) this.enqueueOwner(old, oldRef);
    if (ref) {
      const rs = this.enqueueOwner(pod, ref);
      // A pod that just became ready may become available after minReadySeconds (+1s, as upstream).
      if (rs && (rs.spec?.minReadySeconds ?? 0) > 0 && !isPodReady(old) && isPodReady(pod)) {
        this.delayed.after(objectKey(rs), rs.spec!.minReadySeconds! + 1);
      }
      return;
    }
    if (labelsChanged || refChanged) this.enqueueSelecting(pod);
  }

  private enqueueOwner(pod: P, ref: { kind: string; name: string; uid: string }): RS | undefined {
    if (ref.kind !== 'ReplicaSet') return undefined;
    // The owner lives in the pod's namespace: its store key is also its queue key. Pods of one
    // ReplicaSet share their reference object: the key is made once (and, being one string,
    // hashed once by the maps and sets it goes through).
    let cached = this.ownerKeys.get(ref);
    if (!cached || cached.namespace !== pod.metadata.namespace) {
      cached = { namespace: pod.metadata.namespace, key: keyOf('ReplicaSet', pod.metadata.namespace, ref.name) };
      this.ownerKeys.set(ref, cached);
    }
    const key = cached.key;
    const rs = this.ctx.store.getByKey<RS>('ReplicaSet', key);
    if (!rs || rs.metadata.uid !== ref.uid) return undefined;
    this.ctx.queue.add(key);
    return rs;
  }

  /** getPodReplicaSets: ReplicaSets in the pod's namespace whose selector matches an orphan. */
  private enqueueSelecting(pod: P): void {
    for (const rs of inNamespace<RS>(this.ctx.store, 'ReplicaSet', pod.metadata.namespace ?? 'default')) {
      const sel = rs.spec?.selector;
      if (!sel || (!sel.matchLabels && !sel.matchExpressions)) continue;
      if (matchesSelector(sel, pod.metadata.labels)) this.ctx.queue.add(objectKey(rs));
    }
  }

  // ---- sync ------------------------------------------------------------------------------

  sync(key: string): void {
    this.delayed.synced(key);
    const store = this.ctx.store;
    // Queue keys are store keys.
    const rs = store.getByKey<RS>('ReplicaSet', key);
    if (!rs) return;
    const selector = rs.spec?.selector;
    // Active pods this ReplicaSet owns, plus active orphans it may adopt (read straight from the indexes).
    const candidates: P[] = [];
    for (const { object } of store.byIndex('Pod', POD_OWNER_INDEX, rs.metadata.uid!)) {
      if (isPodActive(object as P)) candidates.push(object as P);
    }
    for (const { object } of store.byIndex('Pod', ORPHAN_INDEX, rs.metadata.namespace ?? 'default')) {
      if (isPodActive(object as P)) candidates.push(object as P);
    }
    const matches = selectorMatcher(selector);
    const pods = claim(store, rs, candidates, (p) => matches(p.metadata.labels));

    let err: string | undefined;
    if (!rs.metadata.deletionTimestamp) err = this.manageReplicas(pods, rs);

    const status = this.calculateStatus(rs, pods, err);
    let current = store.getByKey<RS>('ReplicaSet', key) ?? rs;
    const s = current.status;
    if (
      !(
        (s?.replicas ?? 0) === status.replicas &&
        (s?.fullyLabeledReplicas ?? 0) === status.fullyLabeledReplicas &&
        (s?.readyReplicas ?? 0) === status.readyReplicas &&
        (s?.availableReplicas ?? 0) === status.availableReplicas &&
        current.metadata.generation === s?.observedGeneration &&
        deepEqual(s?.conditions, status.conditions)
      )
    ) {
      // Keys added to a literal in order: `{ ...status, observedGeneration }` without V8's slow
      // path for a key added after a spread.
      const next: Record<string, unknown> = {
        replicas: status.replicas,
        fullyLabeledReplicas: status.fullyLabeledReplicas,
        readyReplicas: status.readyReplicas,
        availableReplicas: status.availableReplicas,
      };
      if (status.conditions) next['conditions'] = status.conditions;
      next['observedGeneration'] = current.metadata.generation;
      // withKey for the first status write, which adds the key: a spread adding it would give each
      // ReplicaSet its own hidden class (copy.ts).
      const nextStatus = next as unknown as ReplicaSetStatus;
      current = store.update<RS>('status' in current ? { ...current, status: nextStatus } : withKey(current, 'status', nextStatus));
    }
    // Come back when a ready pod becomes available.
    const replicas = current.spec?.replicas ?? 1;
    const minReady = current.spec?.minReadySeconds ?? 0;
    if (!err && minReady > 0 && status.readyReplicas === replicas && status.availableReplicas !== replicas) {
      const wait = secondsUntilAvailable(pods, minReady, this.ctx.clock.now());
      if (wait !== undefined) this.delayed.after(key, wait);
    }
  }

  /** manageReplicas: create or delete pods toward spec.replicas. Returns an error message. */
  private manageReplicas(pods: P[], rs: RS): string | undefined {
    const store = this.ctx.store;
    const diff = pods.length - (rs.spec?.replicas ?? 1);
    if (diff < 0) {
      const n = Math.min(-diff, BURST_REPLICAS);
      const template = rs.spec?.template;
      if (!template) return 'no pod template';
      const refs = this.refsFor(rs);
      for (let i = 0; i < n; i++) {
        try {
          const pod = store.create(podFromTemplate(template, rs, refs));
          this.ctx.record(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
        } catch (e) {
          const msg = (e as Error).message;
          this.ctx.record(rs, 'Warning', 'FailedCreate', `Error creating: ${msg}`);
          return msg;
        }
      }
    } else if (diff > 0) {
      const n = Math.min(diff, BURST_REPLICAS);
      const victims = podsToDelete(pods, this.relatedPods(rs), n, this.ctx.clock.now());
      for (const p of victims) {
        store.delete('Pod', p.metadata!.namespace, p.metadata!.name!);
        this.ctx.record(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata!.name}`);
      }
    }
    return undefined;
  }

  /** getIndirectlyRelatedPods: pods selected by every ReplicaSet with the same controller. */
  private relatedPods(rs: RS): Pod[] {
    const ref = controllerOf(rs);
    if (!ref) return [];
    const seen = new Set<string>();
    const out: Pod[] = [];
    for (const r of controlledBy<RS>(this.ctx.store, 'ReplicaSet', ref.uid)) {
      if (r.metadata.namespace !== rs.metadata.namespace) continue;
      const sel = r.spec?.selector;
      // Owned pods carry the selector's labels; orphans are looked up by the selector too.
      const pods = [...podsOwnedBy(this.ctx.store, r.metadata.uid!), ...orphansIn<P>(this.ctx.store, 'Pod', r.metadata.namespace ?? 'default')];
      for (const p of pods) {
        const uid = p.metadata!.uid!;
        if (seen.has(uid) || !matchesSelector(sel, p.metadata!.labels)) continue;
        seen.add(uid);
        out.push(p);
      }
    }
    return out;
  }

  private calculateStatus(rs: RS, pods: P[], err: string | undefined): ReplicaSetStatus {
    const templateLabels = rs.spec?.template?.metadata?.labels ?? {};
    const minReady = rs.spec?.minReadySeconds ?? 0;
    const now = this.ctx.clock.now();
    let fullyLabeled = 0;
    let ready = 0;
    let available = 0;
    for (const p of pods) {
      if (matchesMap(templateLabels, p.metadata.labels)) fullyLabeled++;
      if (isPodReady(p)) {
        ready++;
        if (isPodAvailable(p, minReady, now)) available++;
      }
    }
    let conditions = rs.status?.conditions;
    const failure = conditions?.find((c) => c.type === 'ReplicaFailure');
    if (err && !failure) {
      const diff = pods.length - (rs.spec?.replicas ?? 1);
      const reason = diff < 0 ? 'FailedCreate' : diff > 0 ? 'FailedDelete' : '';
      const c: ReplicaSetCondition = { type: 'ReplicaFailure', status: 'True', reason, message: err, lastTransitionTime: this.ctx.clock.rfc3339() };
      conditions = [...(conditions ?? []), c];
    } else if (!err && failure) {
      conditions = conditions!.filter((c) => c.type !== 'ReplicaFailure');
    }
    const status: ReplicaSetStatus = {
      replicas: pods.length,
      fullyLabeledReplicas: fullyLabeled,
      readyReplicas: ready,
      availableReplicas: available,
    };
    if (conditions && conditions.length) (status as { conditions?: ReplicaSetCondition[] }).conditions = conditions;
    return status;
  }

  /** One owner-reference array per ReplicaSet object, shared by the pods it creates. */
  private refsFor(rs: RS): ReturnType<typeof controllerRef>[] {
    let r = this.ownerRefs.get(rs);
    if (!r) this.ownerRefs.set(rs, (r = [controllerRef(rs)]));
    return r;
  }
}
