// The StatefulSet controller (pkg/controller/statefulset): pods `<set>-<ordinal>` with a stable
// hostname and subdomain, created in order (OrderedReady) or all at once (Parallel), scaled down
// from the highest ordinal, and updated from the highest ordinal down to the partition.
// Differs from upstream: volumeClaimTemplates create no PersistentVolumeClaims.
import type { StatefulSet, StatefulSetStatus } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Controller, ControllerContext } from '../controller.js';
import { matchesSelector } from '../labels.js';
import { controllerOf, controllerRef, objectKey, splitKey, type Stored } from '../object.js';
import { podsOwnedBy } from '../podindex.js';
import type { WatchEvent } from '../store.js';
import { claim } from '../workloads/claim.js';
import { Delayed } from '../workloads/delayed.js';
import { deepEqual } from '../workloads/equal.js';
import { indexByController, indexByNamespace, indexOrphans, inNamespace, orphansIn } from '../workloads/indexes.js';
import { isPodAvailable, isPodReady, isPodRunningAndReady, secondsUntilAvailable } from '../workloads/pods.js';
import { podFromTemplate } from '../workloads/podtemplate.js';
import {
  CONTROLLER_REVISION_HASH_LABEL,
  createRevision,
  listRevisions,
  newRevision,
  revisionData,
  revisionTemplate,
  templatePatch,
  type Revision,
} from '../workloads/revisions.js';

type SS = Stored<StatefulSet>;
type P = Stored<Pod>;

export const STATEFULSET_POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

const ORDINAL_RE = /^(.*)-([0-9]+)$/;

export class StatefulSetController implements Controller {
  readonly name = 'statefulset';
  private ctx!: ControllerContext;
  private delayed!: Delayed;

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.delayed = new Delayed(ctx);
    const s = ctx.store;
    indexByNamespace(s, 'StatefulSet');
    indexByController(s, 'ControllerRevision');
    indexOrphans(s, 'Pod');
    s.watch<SS>('StatefulSet', (ev) => ctx.queue.add(ev.key ?? objectKey(ev.object)));
    s.watch<P>('Pod', (ev) => this.onPod(ev));
  }

  private onPod(ev: WatchEvent<P>): void {
    const pod = ev.object;
    const ref = controllerOf(pod);
    if (ev.type === 'MODIFIED') {
      const old = ev.old!;
      const oldRef = controllerOf(old);
      const refChanged = oldRef?.uid !== ref?.uid;
      if (refChanged && oldRef) this.enqueueOwner(old.metadata.namespace, oldRef);
      if (ref) {
        const set = this.enqueueOwner(pod.metadata.namespace, ref);
        if (set && (set.spec?.minReadySeconds ?? 0) > 0 && !isPodReady(old) && isPodReady(pod)) {
          this.delayed.after(objectKey(set), set.spec!.minReadySeconds! + 1);
        }
        return;
      }
      if (refChanged || !deepEqual(old.metadata.labels, pod.metadata.labels)) this.enqueueSelecting(pod);
      return;
    }
    if (ref) this.enqueueOwner(pod.metadata.namespace, ref);
    else if (ev.type === 'ADDED' && !pod.metadata.deletionTimestamp) this.enqueueSelecting(pod);
  }

  private enqueueOwner(ns: string | undefined, ref: { kind: string; name: string; uid: string }): SS | undefined {
    if (ref.kind !== 'StatefulSet') return undefined;
    const set = this.ctx.store.get<SS>('StatefulSet', ns, ref.name);
    if (!set || set.metadata.uid !== ref.uid) return undefined;
    this.ctx.queue.add(objectKey(set));
    return set;
  }

  private enqueueSelecting(pod: P): void {
    for (const set of inNamespace<SS>(this.ctx.store, 'StatefulSet', pod.metadata.namespace ?? 'default')) {
      const sel = set.spec?.selector;
      if (!sel || (!sel.matchLabels && !sel.matchExpressions)) continue;
      if (matchesSelector(sel, pod.metadata.labels)) this.ctx.queue.add(objectKey(set));
    }
  }

  // ---- sync ------------------------------------------------------------------------------

  sync(key: string): void {
    this.delayed.synced(key);
    const { namespace, name } = splitKey(key);
    const store = this.ctx.store;
    const set = store.get<SS>('StatefulSet', namespace, name);
    if (!set) return;
    // Pods it owns and orphans it selects, claimed only if their name parses to this set.
    const candidates = [...(podsOwnedBy(store, set.metadata.uid!) as P[]), ...orphansIn<P>(store, 'Pod', set.metadata.namespace ?? 'default')];
    const pods = claim(store, set, candidates, (p) => matchesSelector(set.spec?.selector, p.metadata.labels) && parentName(p) === name);
    const status = this.updateStatefulSet(set, pods);
    const replicas = set.spec?.replicas ?? 1;
    const minReady = set.spec?.minReadySeconds ?? 0;
    if (minReady > 0 && status && (status.availableReplicas ?? 0) !== replicas) {
      const wait = secondsUntilAvailable(podsOwnedBy(store, set.metadata.uid!), minReady, this.ctx.clock.now());
      if (wait !== undefined) this.delayed.after(key, wait);
    }
  }

  private updateStatefulSet(set: SS, pods: P[]): Status {
    const revisions = listRevisions(this.ctx.store, set);
    const { current, update, collisionCount } = this.revisions(set, revisions);
    const status = this.performUpdate(set, current, update, collisionCount, pods);
    this.updateStatus(set, status);
    this.truncateHistory(set, pods, revisions, current, update);
    return status;
  }

  /** getStatefulSetRevisions: reuse, roll back to, or create the revision of the current template. */
  private revisions(set: SS, revisions: Revision[]): { current: Revision; update: Revision; collisionCount: number } {
    const store = this.ctx.store;
    let collisionCount = set.status?.collisionCount ?? 0;
    const next = revisions.length ? revisions[revisions.length - 1]!.revision + 1 : 1;
    const candidate = newRevision(set, set.spec?.template?.metadata?.labels, set.metadata.annotations, templatePatch(set.spec!.template), next, collisionCount);
    const data = revisionData(candidate);
    const equal = revisions.filter((r) => revisionData(r) === data);
    let update: Revision;
    if (equal.length && revisions[revisions.length - 1] === equal[equal.length - 1]) {
      update = revisions[revisions.length - 1]!;
    } else if (equal.length) {
      // Rolling back to an earlier template: renumber that revision as the newest.
      update = store.update<Revision>({ ...equal[equal.length - 1]!, revision: next });
    } else {
      const r = createRevision(store, set, candidate, collisionCount);
      update = r.rev;
      collisionCount = r.collisionCount;
    }
    const current = revisions.find((r) => r.metadata.name === set.status?.currentRevision) ?? update;
    return { current, update, collisionCount };
  }

  private performUpdate(set: SS, current: Revision, update: Revision, collisionCount: number, pods: P[]): Status {
    const store = this.ctx.store;
    const minReady = set.spec?.minReadySeconds ?? 0;
    const now = this.ctx.clock.now();
    const currentTemplate = revisionTemplate(current) ?? set.spec!.template;
    const updateTemplate = revisionTemplate(update) ?? set.spec!.template;
    const status: Status = {
      observedGeneration: set.metadata.generation,
      currentRevision: current.metadata.name,
      updateRevision: update.metadata.name,
      collisionCount,
      replicas: 0,
      readyReplicas: 0,
      availableReplicas: 0,
      currentReplicas: 0,
      updatedReplicas: 0,
    };
    const count = (lists: (Pod | undefined)[][]) => countReplicas(status, lists, minReady, now, current.metadata.name!, update.metadata.name!);
    count([pods]);

    const replicaCount = set.spec?.replicas ?? 1;
    const start = set.spec?.ordinals?.start ?? 0;
    const end = start + replicaCount - 1;
    const replicas: Pod[] = new Array(replicaCount);
    const condemned: Pod[] = [];
    for (const p of pods) {
      const ord = ordinalOf(p);
      if (ord >= start && ord <= end) replicas[ord - start] = p;
      else if (ord >= 0) condemned.push(p);
    }
    const rollingUpdate = (set.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    const partition = rollingUpdate ? (set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0) : 0;
    for (let ord = start; ord <= end; ord++) {
      if (replicas[ord - start]) continue;
      const atCurrent = rollingUpdate && ord < start + partition;
      replicas[ord - start] = this.newPod(set, ord, atCurrent ? currentTemplate : updateTemplate, atCurrent ? current : update);
    }
    condemned.sort((a, b) => ordinalOf(b) - ordinalOf(a));

    let firstUnhealthy: Pod | undefined;
    for (const p of replicas) if (!isHealthy(p) && !firstUnhealthy) firstUnhealthy = p;
    for (let i = condemned.length - 1; i >= 0; i--) if (!isHealthy(condemned[i]!) && !firstUnhealthy) firstUnhealthy = condemned[i];

    const recount = () => {
      resetCounts(status);
      count([replicas, condemned]);
      return status;
    };
    if (set.metadata.deletionTimestamp) return status;
    const monotonic = (set.spec?.podManagementPolicy ?? 'OrderedReady') !== 'Parallel';

    // Living replicas first: replace failed ones, create missing ones, fix identities.
    for (let i = 0; i < replicas.length; i++) {
      const exit = this.processReplica(set, monotonic, replicas, i, minReady, now);
      if (exit && monotonic) return recount();
    }
    // Then scale down, highest ordinal first (one at a time when monotonic).
    for (let i = 0; i < condemned.length; i++) {
      const exit = this.processCondemned(set, firstUnhealthy, monotonic, condemned, i, minReady, now);
      if (exit && monotonic) return recount();
    }
    recount();
    if (!rollingUpdate) return status; // OnDelete: pods are replaced only when deleted by hand
    // Delete the highest-ordinal pod not at the update revision, then wait for it to be healthy.
    for (let target = replicas.length - 1; target >= partition; target--) {
      const p = replicas[target]!;
      if (revisionOfPod(p) !== update.metadata.name && !p.metadata?.deletionTimestamp) {
        store.delete('Pod', p.metadata!.namespace, p.metadata!.name!);
        this.ctx.record(set, 'Normal', 'SuccessfulDelete', `delete Pod ${p.metadata!.name} in StatefulSet ${set.metadata.name} successful`);
        status.currentReplicas--;
        return status;
      }
      if (!isHealthy(p)) return status;
    }
    return status;
  }

  /** processReplica: true when a monotonic set must stop here. */
  private processReplica(set: SS, monotonic: boolean, replicas: Pod[], i: number, minReady: number, now: number): boolean {
    const store = this.ctx.store;
    const p = replicas[i]!;
    const phase = p.status?.phase;
    // A pod that ran to completion (or failed) is deleted, then recreated on a later sync.
    if (phase === 'Failed' || phase === 'Succeeded') {
      if (!p.metadata?.deletionTimestamp) {
        store.delete('Pod', p.metadata!.namespace, p.metadata!.name!);
        this.ctx.record(set, 'Normal', 'SuccessfulDelete', `delete Pod ${p.metadata!.name} in StatefulSet ${set.metadata.name} successful`);
      }
      return true;
    }
    if (!isCreated(p)) {
      store.create(p as P);
      this.ctx.record(set, 'Normal', 'SuccessfulCreate', `create Pod ${p.metadata!.name} in StatefulSet ${set.metadata.name} successful`);
      if (monotonic) return true;
    }
    if (monotonic) {
      if (p.metadata?.deletionTimestamp) return true;
      if (!isPodRunningAndReady(p)) return true;
      if (!(p.status?.phase === 'Running' && isPodAvailable(p, minReady, now))) return true;
    }
    if (!isCreated(p) || identityMatches(set, p)) return false;
    store.update(withIdentity(p as P));
    return false;
  }

  /** processCondemned: true when a monotonic set must stop here. */
  private processCondemned(set: SS, firstUnhealthy: Pod | undefined, monotonic: boolean, condemned: Pod[], i: number, minReady: number, now: number): boolean {
    const p = condemned[i]!;
    if (p.metadata?.deletionTimestamp) return monotonic;
    if (monotonic && p !== firstUnhealthy) {
      if (!isPodRunningAndReady(p)) return true;
      if (!(p.status?.phase === 'Running' && isPodAvailable(p, minReady, now))) return true;
    }
    this.ctx.store.delete('Pod', p.metadata!.namespace, p.metadata!.name!);
    this.ctx.record(set, 'Normal', 'SuccessfulDelete', `delete Pod ${p.metadata!.name} in StatefulSet ${set.metadata.name} successful`);
    return true;
  }

  /** newStatefulSetPod at a revision: name, hostname, subdomain, identity labels, revision label. */
  private newPod(set: SS, ordinal: number, template: NonNullable<StatefulSet['spec']>['template'], rev: Revision): Pod {
    const base = podFromTemplate(template, set, [controllerRef(set)]);
    const name = `${set.metadata.name}-${ordinal}`;
    return {
      ...base,
      metadata: {
        ...base.metadata,
        name,
        labels: {
          ...base.metadata.labels,
          [STATEFULSET_POD_NAME_LABEL]: name,
          [POD_INDEX_LABEL]: String(ordinal),
          [CONTROLLER_REVISION_HASH_LABEL]: rev.metadata.name!,
        },
      },
      spec: { ...base.spec!, hostname: name, subdomain: set.spec?.serviceName },
    };
  }

  /** updateStatefulSetStatus: complete a finished rolling update, write only when counts differ. */
  private updateStatus(set: SS, status: Status): void {
    const rolling = (set.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    if (rolling && status.updatedReplicas === status.replicas && status.readyReplicas === status.replicas) {
      status.currentReplicas = status.updatedReplicas;
      status.currentRevision = status.updateRevision;
    }
    const fresh = this.ctx.store.get<SS>('StatefulSet', set.metadata.namespace, set.metadata.name!) ?? set;
    const s = fresh.status;
    const inconsistent =
      (status.observedGeneration ?? 0) > (s?.observedGeneration ?? 0) ||
      status.replicas !== (s?.replicas ?? 0) ||
      status.currentReplicas !== (s?.currentReplicas ?? 0) ||
      status.readyReplicas !== (s?.readyReplicas ?? 0) ||
      status.updatedReplicas !== (s?.updatedReplicas ?? 0) ||
      status.currentRevision !== s?.currentRevision ||
      status.availableReplicas !== (s?.availableReplicas ?? 0) ||
      status.updateRevision !== s?.updateRevision;
    if (!inconsistent) return;
    this.ctx.store.update<SS>({ ...fresh, status: { ...fresh.status, ...status } });
  }

  /** truncateHistory: keep revisionHistoryLimit revisions besides those pods or the status use. */
  private truncateHistory(set: SS, pods: P[], revisions: Revision[], current: Revision, update: Revision): void {
    const live = new Set([current.metadata.name, update.metadata.name]);
    for (const p of pods) live.add(revisionOfPod(p));
    const history = revisions.filter((r) => !live.has(r.metadata.name));
    const limit = set.spec?.revisionHistoryLimit ?? 10;
    if (history.length <= limit) return;
    for (const r of history.slice(0, history.length - limit)) this.ctx.store.delete('ControllerRevision', r.metadata.namespace, r.metadata.name!);
  }
}

// ---- helpers -----------------------------------------------------------------------------

type Status = Required<Pick<StatefulSetStatus, 'replicas' | 'readyReplicas' | 'availableReplicas' | 'currentReplicas' | 'updatedReplicas'>> &
  Pick<StatefulSetStatus, 'observedGeneration' | 'currentRevision' | 'updateRevision' | 'collisionCount'>;

function resetCounts(s: Status): void {
  s.replicas = s.readyReplicas = s.availableReplicas = s.currentReplicas = s.updatedReplicas = 0;
}

/** computeReplicaStatus over the given pod lists, added to `s`. */
function countReplicas(s: Status, lists: (Pod | undefined)[][], minReady: number, now: number, currentRev: string, updateRev: string): void {
  for (const list of lists) {
    for (const p of list) {
      if (!p) continue;
      if (isCreated(p)) s.replicas++;
      if (isPodRunningAndReady(p)) {
        s.readyReplicas++;
        if (isPodAvailable(p, minReady, now)) s.availableReplicas++;
      }
      if (isCreated(p) && !p.metadata?.deletionTimestamp) {
        const rev = revisionOfPod(p);
        if (rev === currentRev) s.currentReplicas++;
        if (rev === updateRev) s.updatedReplicas++;
      }
    }
  }
}

/** A pod read from the store (upstream checks status.phase != "", which the API server sets). */
function isCreated(p: Pod): boolean {
  return !!p.metadata?.uid;
}

function isHealthy(p: Pod): boolean {
  return isCreated(p) && isPodRunningAndReady(p) && !p.metadata?.deletionTimestamp;
}

function revisionOfPod(p: Pod): string {
  return p.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? '';
}

export function parentName(p: Pod): string | undefined {
  const m = ORDINAL_RE.exec(p.metadata?.name ?? '');
  return m ? m[1] : undefined;
}

export function ordinalOf(p: Pod): number {
  const m = ORDINAL_RE.exec(p.metadata?.name ?? '');
  if (!m) return -1;
  const n = Number.parseInt(m[2]!, 10);
  return n <= 2147483647 ? n : -1;
}

function identityMatches(set: SS, p: Pod): boolean {
  const ord = ordinalOf(p);
  const labels = p.metadata?.labels;
  return (
    ord >= 0 &&
    parentName(p) === set.metadata.name &&
    p.metadata?.name === `${set.metadata.name}-${ord}` &&
    p.metadata?.namespace === set.metadata.namespace &&
    labels?.[STATEFULSET_POD_NAME_LABEL] === p.metadata?.name &&
    labels?.[POD_INDEX_LABEL] === String(ord)
  );
}

/** updateIdentity: restore the identity labels (hostname and subdomain are only set at creation). */
function withIdentity(p: P): P {
  const ord = ordinalOf(p);
  return { ...p, metadata: { ...p.metadata, labels: { ...p.metadata.labels, [STATEFULSET_POD_NAME_LABEL]: p.metadata.name!, [POD_INDEX_LABEL]: String(ord) } } };
}
