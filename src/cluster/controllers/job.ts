// The Job controller (pkg/controller/job), NonIndexed completion mode: keeps up to parallelism
// pods running until `completions` have succeeded, counts failures against backoffLimit with the
// pod-failure backoff (10s doubling to 6m), and finishes with SuccessCriteriaMet/Complete or
// FailureTarget/Failed. ttlSecondsAfterFinished is honoured here (upstream: the TTL controller).
// Differs from upstream: no tracking finalizers; finished pods are counted as the controller
// observes them (in sync or on deletion). Indexed mode, podFailurePolicy and successPolicy are
// not modelled.
import type { Job, JobCondition, JobStatus } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Controller, ControllerContext } from '../controller.js';
import { matchesSelector } from '../labels.js';
import { controllerOf, controllerRef, objectKey, splitKey, type Stored } from '../object.js';
import { podsOwnedBy } from '../podindex.js';
import type { WatchEvent } from '../store.js';
import { claim } from '../workloads/claim.js';
import { Delayed } from '../workloads/delayed.js';
import { deepEqual } from '../workloads/equal.js';
import { indexByNamespace, indexOrphans, inNamespace, orphansIn } from '../workloads/indexes.js';
import { isPodActive, isPodReady, podReadyCondition, timeMs } from '../workloads/pods.js';
import { podFromTemplate } from '../workloads/podtemplate.js';

type J = Stored<Job>;
type P = Stored<Pod>;

export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const LEGACY_JOB_NAME_LABEL = 'job-name';
export const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';

/** MaxPodCreateDeletePerSync. */
const MAX_PER_SYNC = 500;
/** DefaultJobPodFailureBackOff / MaxJobPodFailureBackOff. */
const POD_FAILURE_BACKOFF_S = 10;
const MAX_POD_FAILURE_BACKOFF_S = 360;

interface Tracking {
  succeeded: Set<string>;
  failed: Set<string>;
  /** backoffRecord. */
  failuresAfterLastSuccess: number;
  lastFailureMs?: number;
}

export class JobController implements Controller {
  readonly name = 'job';
  private ctx!: ControllerContext;
  private delayed!: Delayed;
  private readonly tracking = new Map<string, Tracking>();

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.delayed = new Delayed(ctx);
    const s = ctx.store;
    indexByNamespace(s, 'Job');
    indexOrphans(s, 'Pod');
    s.watch<J>('Job', (ev) => {
      if (ev.type === 'DELETED') this.tracking.delete(ev.object.metadata.uid!);
      else ctx.queue.add(objectKey(ev.object));
    });
    s.watch<P>('Pod', (ev) => this.onPod(ev));
  }

  private onPod(ev: WatchEvent<P>): void {
    const pod = ev.object;
    const ref = controllerOf(pod);
    if (ev.type === 'DELETED') {
      // Without tracking finalizers, a pod's end is counted when it leaves the store.
      const job = this.owner(pod.metadata.namespace, ref);
      if (!job) return;
      this.observeFinished(job, pod, true);
      this.ctx.queue.add(objectKey(job));
      return;
    }
    if (ref) {
      const job = this.owner(pod.metadata.namespace, ref);
      if (job) this.ctx.queue.add(objectKey(job));
      if (ev.type === 'MODIFIED') {
        const oldRef = controllerOf(ev.old!);
        if (oldRef && oldRef.uid !== ref.uid) {
          const o = this.owner(ev.old!.metadata.namespace, oldRef);
          if (o) this.ctx.queue.add(objectKey(o));
        }
      }
      return;
    }
    if (ev.type === 'ADDED' || !deepEqual(ev.old?.metadata.labels, pod.metadata.labels) || controllerOf(ev.old!)) {
      for (const job of inNamespace<J>(this.ctx.store, 'Job', pod.metadata.namespace ?? 'default')) {
        if (job.spec?.selector && matchesSelector(job.spec.selector, pod.metadata.labels)) this.ctx.queue.add(objectKey(job));
      }
    }
  }

  private owner(ns: string | undefined, ref: { kind: string; name: string; uid: string } | undefined): J | undefined {
    if (!ref || ref.kind !== 'Job') return undefined;
    const job = this.ctx.store.get<J>('Job', ns, ref.name);
    return job && job.metadata.uid === ref.uid ? job : undefined;
  }

  private track(job: J): Tracking {
    let t = this.tracking.get(job.metadata.uid!);
    if (!t) this.tracking.set(job.metadata.uid!, (t = { succeeded: new Set(), failed: new Set(), failuresAfterLastSuccess: 0 }));
    return t;
  }

  /**
   * Count a finished pod once: Succeeded, or failed (Failed, or deleted / being deleted before it
   * succeeded, as upstream counts terminating pods). Updates the pod-failure backoff record.
   */
  private observeFinished(job: J, pod: Pod, gone: boolean): void {
    const t = this.track(job);
    const uid = pod.metadata!.uid!;
    if (t.succeeded.has(uid) || t.failed.has(uid)) return;
    const phase = pod.status?.phase;
    if (phase === 'Succeeded') {
      t.succeeded.add(uid);
      t.failuresAfterLastSuccess = 0;
      t.lastFailureMs = undefined;
    } else if (phase === 'Failed' || gone || pod.metadata?.deletionTimestamp) {
      t.failed.add(uid);
      t.failuresAfterLastSuccess++;
      t.lastFailureMs = Math.max(t.lastFailureMs ?? 0, finishedMs(pod, this.ctx.clock.now()));
    }
  }

  // ---- sync ------------------------------------------------------------------------------

  sync(key: string): void {
    this.delayed.synced(key);
    const { namespace, name } = splitKey(key);
    const store = this.ctx.store;
    let job = store.get<J>('Job', namespace, name);
    if (!job) return;
    const now = this.ctx.clock.now();
    const nowStr = this.ctx.clock.rfc3339();

    if (isFinished(job)) {
      this.handleTtl(job);
      return;
    }
    const pods = this.podsFor(job);
    for (const p of pods) this.observeFinished(job, p, false);
    const t = this.track(job);
    let active = pods.filter(isPodActive);
    const succeeded = t.succeeded.size;
    const failed = t.failed.size;
    const spec = job.spec!;
    const parallelism = spec.parallelism ?? 1;
    const completions = spec.completions ?? (spec.parallelism === undefined ? 1 : undefined);
    const backoffLimit = spec.backoffLimit ?? 6;
    const suspended = !!spec.suspend;

    let status: JobStatus = { ...job.status };
    if (!suspended && !status.startTime) status.startTime = nowStr;
    let conditions = status.conditions ?? [];

    // A Job already past its failure or success criteria waits for its pods to terminate.
    let interim = conditions.find((c) => (c.type === 'FailureTarget' || c.type === 'SuccessCriteriaMet') && c.status === 'True');
    if (!interim) {
      if (failed > backoffLimit || pastBackoffLimitOnFailure(job, active)) {
        interim = this.condition('FailureTarget', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
      } else if (pastActiveDeadline(job, status, now)) {
        interim = this.condition('FailureTarget', 'DeadlineExceeded', 'Job was active longer than specified deadline');
      } else if (spec.activeDeadlineSeconds !== undefined && !suspended && status.startTime) {
        this.delayed.after(key, (timeMs(status.startTime) + spec.activeDeadlineSeconds * 1000 - now) / 1000);
      }
      if (interim) conditions = [...conditions, interim];
    }

    if (interim?.type === 'FailureTarget') {
      for (const p of active) this.deletePod(job, p);
      active = [];
    } else if (!interim) {
      active = this.manageJob(job, active, succeeded, completions, parallelism, suspended);
      const complete = completions === undefined ? succeeded > 0 && active.length === 0 : succeeded >= completions && active.length === 0;
      if (complete) {
        interim = this.condition('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods');
        conditions = [...conditions, interim];
      } else {
        conditions = this.suspendConditions(job, conditions, suspended, status);
        if (suspended) status.startTime = undefined;
      }
    }

    // The terminal condition is added once no pod is terminating any more.
    const stillTerminating = this.podsFor(job).filter((p) => p.metadata.deletionTimestamp && isPodActiveOrTerminating(p)).length;
    if (interim && stillTerminating === 0) {
      const type = interim.type === 'FailureTarget' ? 'Failed' : 'Complete';
      conditions = [...conditions, { ...interim, type, lastProbeTime: nowStr, lastTransitionTime: nowStr }];
      if (type === 'Complete') {
        status.completionTime = nowStr;
        this.ctx.record(job, 'Normal', 'Completed', 'Job completed');
      } else {
        this.ctx.record(job, 'Warning', interim.reason!, interim.message!);
      }
    }

    const livePods = this.podsFor(job);
    status = {
      ...status,
      conditions: conditions.length ? conditions : undefined,
      active: active.length,
      ready: active.filter((p) => isPodReady(p)).length,
      succeeded: t.succeeded.size,
      failed: t.failed.size,
      terminating: livePods.filter((p) => p.metadata.deletionTimestamp && isPodActiveOrTerminating(p)).length,
      uncountedTerminatedPods: {},
    };
    if (!status.conditions) delete status.conditions;
    if (!status.startTime) delete status.startTime;
    job = store.get<J>('Job', namespace, name) ?? job;
    if (!deepEqual(job.status, status)) job = store.update<J>({ ...job, status });
    if (isFinished(job)) this.handleTtl(job);
  }

  /** getPodsForJob: owned pods and adoptable orphans matching the Job's selector. */
  private podsFor(job: J): P[] {
    const store = this.ctx.store;
    const owned = podsOwnedBy(store, job.metadata.uid!) as P[];
    const sel = job.spec?.selector;
    // Without a selector (the API server would generate one from the uid) only owned pods count.
    if (!sel) return owned;
    const candidates = [...owned, ...orphansIn<P>(store, 'Pod', job.metadata.namespace ?? 'default')];
    return claim(store, job, candidates, (p) => matchesSelector(sel, p.metadata.labels));
  }

  /** manageJob: the active pods after creating or deleting toward the wanted count. */
  private manageJob(job: J, active: P[], succeeded: number, completions: number | undefined, parallelism: number, suspended: boolean): P[] {
    if (suspended) {
      for (const p of active) this.deletePod(job, p);
      return [];
    }
    let want: number;
    if (completions === undefined) want = succeeded > 0 ? active.length : parallelism;
    else want = Math.max(0, Math.min(completions - succeeded, parallelism));
    const rm = Math.max(0, active.length - want);
    if (rm > 0) {
      // activePodsForRemoval: not-ready and unscheduled pods go first (the ReplicaSet ranking).
      const order = [...active].sort(removalOrder).slice(0, Math.min(rm, MAX_PER_SYNC));
      for (const p of order) this.deletePod(job, p);
      return active.filter((p) => !order.includes(p));
    }
    if (active.length >= want) return active;
    const t = this.track(job);
    const remaining = backoffRemaining(t, this.ctx.clock.now());
    if (remaining > 0) {
      this.delayed.after(objectKey(job), remaining);
      return active;
    }
    // Replacement policy TerminatingOrFailed (the default): terminating pods do not hold creation.
    const n = Math.min(want - active.length, MAX_PER_SYNC);
    const template = this.podTemplate(job);
    const refs = [controllerRef(job)];
    const out = [...active];
    for (let i = 0; i < n; i++) {
      const pod = this.ctx.store.create(podFromTemplate(template, job, refs));
      this.ctx.record(job, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
      out.push(pod);
    }
    return out;
  }

  /** The template with the job labels the API server adds (batch.kubernetes.io/job-name, controller-uid). */
  private podTemplate(job: J): NonNullable<Job['spec']>['template'] {
    const t = job.spec!.template;
    const labels = t.metadata?.labels ?? {};
    if (labels[CONTROLLER_UID_LABEL] === job.metadata.uid) return t;
    return {
      ...t,
      metadata: {
        ...t.metadata,
        labels: {
          ...labels,
          [CONTROLLER_UID_LABEL]: job.metadata.uid!,
          [JOB_NAME_LABEL]: job.metadata.name!,
          [LEGACY_CONTROLLER_UID_LABEL]: job.metadata.uid!,
          [LEGACY_JOB_NAME_LABEL]: job.metadata.name!,
        },
      },
    };
  }

  private suspendConditions(job: J, conditions: JobCondition[], suspended: boolean, status: JobStatus): JobCondition[] {
    const cur = conditions.find((c) => c.type === 'Suspended');
    if (suspended && cur?.status !== 'True') {
      this.ctx.record(job, 'Normal', 'Suspended', 'Job suspended');
      return [...conditions.filter((c) => c !== cur), this.condition('Suspended', 'JobSuspended', 'Job suspended')];
    }
    if (!suspended && cur?.status === 'True') {
      this.ctx.record(job, 'Normal', 'Resumed', 'Job resumed');
      status.startTime = this.ctx.clock.rfc3339();
      return [...conditions.filter((c) => c !== cur), { ...this.condition('Suspended', 'JobResumed', 'Job resumed'), status: 'False' }];
    }
    return conditions;
  }

  private deletePod(job: J, p: P): void {
    this.ctx.store.delete('Pod', p.metadata.namespace, p.metadata.name!);
    this.ctx.record(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
  }

  /** ttlSecondsAfterFinished: delete the Job (and, through the GC, its pods) once it expires. */
  private handleTtl(job: J): void {
    const ttl = job.spec?.ttlSecondsAfterFinished;
    if (ttl === undefined) return;
    const fin = job.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
    const finishedAt = timeMs(job.status?.completionTime ?? fin?.lastTransitionTime);
    if (Number.isNaN(finishedAt)) return;
    const wait = (finishedAt + ttl * 1000 - this.ctx.clock.now()) / 1000;
    if (wait > 0) this.delayed.after(objectKey(job), wait);
    else this.ctx.store.delete('Job', job.metadata.namespace, job.metadata.name!);
  }

  private condition(type: string, reason: string, message: string): JobCondition {
    const now = this.ctx.clock.rfc3339();
    return { type, status: 'True', reason, message, lastProbeTime: now, lastTransitionTime: now };
  }
}

// ---- helpers -------------------------------------------------------------------------------

function isFinished(job: Job): boolean {
  return !!job.status?.conditions?.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

function isPodActiveOrTerminating(p: Pod): boolean {
  return p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
}

/** pastBackoffLimitOnFailure: with restartPolicy OnFailure, container restarts count as failures. */
function pastBackoffLimitOnFailure(job: Job, active: Pod[]): boolean {
  if (job.spec?.template.spec?.restartPolicy !== 'OnFailure') return false;
  let restarts = 0;
  for (const p of active) {
    for (const s of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) restarts += s.restartCount ?? 0;
  }
  const limit = job.spec?.backoffLimit ?? 6;
  return limit === 0 ? restarts > 0 : restarts >= limit;
}

function pastActiveDeadline(job: Job, status: JobStatus, now: number): boolean {
  const d = job.spec?.activeDeadlineSeconds;
  if (d === undefined || !status.startTime || job.spec?.suspend) return false;
  return now - timeMs(status.startTime) >= d * 1000;
}

/** getRemainingTimeForFailuresCount: 10s × 2^(failures-1), capped at 6 minutes, since the last failure. */
function backoffRemaining(t: Tracking, now: number): number {
  if (t.failuresAfterLastSuccess === 0 || t.lastFailureMs === undefined) return 0;
  let backoff = POD_FAILURE_BACKOFF_S;
  for (let i = 1; i < t.failuresAfterLastSuccess; i++) {
    backoff *= 2;
    if (backoff >= MAX_POD_FAILURE_BACKOFF_S) {
      backoff = MAX_POD_FAILURE_BACKOFF_S;
      break;
    }
  }
  const elapsed = (now - t.lastFailureMs) / 1000;
  return backoff < elapsed ? 0 : backoff - elapsed;
}

/** getFinishedTime: the last container finish, else the Ready=False transition, else the deletion time, else now. */
function finishedMs(p: Pod, now: number): number {
  let best = Number.NaN;
  for (const s of [...(p.status?.containerStatuses ?? []), ...(p.status?.initContainerStatuses ?? [])]) {
    const f = timeMs(s.state?.terminated?.finishedAt);
    if (!Number.isNaN(f) && (Number.isNaN(best) || f > best)) best = f;
  }
  if (!Number.isNaN(best)) return best;
  const ready = podReadyCondition(p);
  if (ready?.status === 'False' && (p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded')) {
    const t = timeMs(ready.lastTransitionTime);
    if (!Number.isNaN(t)) return t;
  }
  const del = timeMs(p.metadata?.deletionTimestamp);
  return Number.isNaN(del) ? now : del;
}

/** activePodsForRemoval ordering: unassigned, then not running, then not ready, then newer. */
function removalOrder(a: Pod, b: Pod): number {
  const ua = !a.spec?.nodeName;
  const ub = !b.spec?.nodeName;
  if (ua !== ub) return ua ? -1 : 1;
  const ra = a.status?.phase === 'Running';
  const rb = b.status?.phase === 'Running';
  if (ra !== rb) return ra ? 1 : -1;
  const ya = isPodReady(a);
  const yb = isPodReady(b);
  if (ya !== yb) return ya ? 1 : -1;
  return timeMs(b.metadata?.creationTimestamp) - timeMs(a.metadata?.creationTimestamp);
}
