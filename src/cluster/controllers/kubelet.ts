// The kubelets of every node, as one controller. For a pod bound to a Ready node: after
// containerStartSeconds the sandbox gets its addresses from a PodIpam (host-local on the node's
// podCIDR by default; hostNetwork pods use the node's IPs), containers run, and Ready follows the
// readiness probe's initialDelaySeconds. Job-like pods complete after `kubepath.dev/run-seconds`.
// A deleted pod keeps running for min(grace, sigtermExitSeconds), then leaves the store. Pods of a
// NotReady node are left as they are; pods of a deleted node are collected (PodGC).
import type { Container, ContainerStatus, Node, Pod, PodCondition, PodStatus } from 'kubernetes-types/core/v1.js';
import type { Controller, ControllerContext } from '../controller.js';
import type { KObject, Stored } from '../object.js';
import { controllerOf, objectKey } from '../object.js';
import { POD_NODE_INDEX } from '../podindex.js';
import type { PodIpam } from '../ipam/pod-ipam.js';
import { HostLocalIpam } from '../ipam/host-local.js';
import { ipFamilyOf } from '../../net/ip.js';
import { Timestamps } from '../apiserver/timestamps.js';
import { stampCondition } from '../apiserver/conditions.js';

/** Scenario override of readiness: "false" forces NotReady, "true" forces Ready. */
export const ANNOTATION_READY = 'kubepath.dev/ready';
/** How long a Job-like pod's containers run before exiting 0 (seconds). */
export const ANNOTATION_RUN_SECONDS = 'kubepath.dev/run-seconds';
export const DEFAULT_RUN_SECONDS = 10;
/** PodGC's quarantine before it deletes pods of a node that is gone. */
export const POD_GC_QUARANTINE_SECONDS = 40;

export interface KubeletOptions {
  /** How pods get addresses; host-local on the node's podCIDR when not given. */
  ipam?: PodIpam;
}

interface Runtime {
  uid: string;
  node: string;
  /** When this kubelet accepted the pod (status.startTime). */
  seenAt: number;
  /** When the containers started. */
  startedAt?: number;
  ips?: string[];
  ipamHeld: boolean;
  sandboxError?: string;
  terminatingSince?: number;
  /** Pending wake-up, so a sync does not stack timers. */
  timerAt?: number;
}

export class Kubelet implements Controller {
  readonly name = 'kubelet';
  readonly ipam: PodIpam;
  private ctx!: ControllerContext;
  private ts!: Timestamps;
  private readonly runtimes = new Map<string, Runtime>();
  /** node → pods waiting for an address */
  private readonly waitingForIp = new Map<string, Set<string>>();

  constructor(opts: KubeletOptions = {}) {
    this.ipam = opts.ipam ?? new HostLocalIpam({ pluginType: 'host-local' });
  }

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.ts = new Timestamps(ctx.clock);
    for (const p of ctx.store.list<Stored<Pod>>('Pod')) if (p.spec?.nodeName) ctx.queue.add(objectKey(p));
    ctx.store.watch<Stored<Pod>>('Pod', (ev) => {
      const pod = ev.object;
      const key = objectKey(pod);
      if (ev.type === 'DELETED') {
        if (this.runtimes.has(key)) ctx.queue.add(key);
        return;
      }
      if (!pod.spec?.nodeName && !this.runtimes.has(key)) return;
      const old = ev.old;
      if (
        ev.type === 'MODIFIED' &&
        old &&
        old['spec'] === pod['spec'] &&
        old.metadata.uid === pod.metadata.uid &&
        old.metadata.deletionTimestamp === pod.metadata.deletionTimestamp &&
        old.metadata.annotations?.[ANNOTATION_READY] === pod.metadata.annotations?.[ANNOTATION_READY] &&
        readinessGatesUnchanged(old as Stored<Pod>, pod)
      ) {
        return; // a status write, ours or another controller's
      }
      ctx.queue.add(key);
    });
    ctx.store.watch<Stored<Node>>('Node', (ev) => {
      const name = ev.object.metadata.name!;
      if (ev.type === 'DELETED') {
        ctx.enqueueAfter(`gc:${name}`, POD_GC_QUARANTINE_SECONDS);
        return;
      }
      if (ev.type === 'MODIFIED' && ev.old && !kubeletRelevantChange(ev.old as Node, ev.object)) return;
      ctx.queue.add(`node:${name}`);
    });
  }

  sync(key: string): void {
    if (key.startsWith('node:')) {
      for (const k of this.ctx.store.byIndex('Pod', POD_NODE_INDEX, key.slice(5))) this.ctx.queue.add(k);
      return;
    }
    if (key.startsWith('gc:')) {
      this.collectOrphans(key.slice(3));
      return;
    }
    this.syncPod(key);
  }

  private syncPod(key: string): void {
    const store = this.ctx.store;
    const pod = store.getByKey<Stored<Pod>>('Pod', key);
    let rt = this.runtimes.get(key);
    if (rt && (!pod || pod.metadata.uid !== rt.uid || pod.spec?.nodeName !== rt.node)) {
      this.forget(key, rt);
      rt = undefined;
    }
    if (!pod || !pod.spec?.nodeName) return;
    const node = store.get<Stored<Node>>('Node', undefined, pod.spec.nodeName);
    if (!node || !isNodeReady(node)) return;
    const now = this.ctx.clock.now();
    const phase = pod.status?.phase;
    const terminal = phase === 'Succeeded' || phase === 'Failed';

    if (pod.metadata.deletionTimestamp) {
      if (!rt?.startedAt || terminal) {
        this.remove(key, rt);
        return;
      }
      rt.terminatingSince ??= now;
      const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
      const due = rt.terminatingSince + Math.min(grace, this.ctx.config.kubelet.sigtermExitSeconds) * 1000;
      if (now >= due) this.remove(key, rt);
      else this.wakeAt(key, rt, due);
      return;
    }
    if (terminal) {
      if (rt?.ipamHeld) this.releaseIps(key, rt);
      return;
    }

    if (!rt) {
      rt = { uid: pod.metadata.uid!, node: node.metadata.name!, seenAt: now, ipamHeld: false };
      this.runtimes.set(key, rt);
      if (phase === 'Running' && pod.status?.podIP) this.adopt(pod, node, rt);
    }
    if (rt.startedAt === undefined) {
      const startAt = rt.seenAt + this.ctx.config.kubelet.containerStartSeconds * 1000;
      if (now < startAt) {
        this.write(pod, this.creatingStatus(pod, node, rt));
        this.wakeAt(key, rt, startAt);
        return;
      }
      if (!this.startSandbox(key, pod, node, rt)) {
        this.write(pod, this.creatingStatus(pod, node, rt));
        return;
      }
    }
    this.write(pod, this.runningStatus(key, pod, node, rt, now));
  }

  /** Sandbox and network: true when the pod has its addresses. */
  private startSandbox(key: string, pod: Stored<Pod>, node: Stored<Node>, rt: Runtime): boolean {
    const now = this.ctx.clock.now();
    if (pod.spec?.hostNetwork) {
      rt.ips = nodeHostIPs(node);
    } else {
      const res = this.ipam.allocate(node, pod);
      if (!res.ok) {
        if (rt.sandboxError !== res.reason) {
          rt.sandboxError = res.reason;
          this.ctx.record(
            pod,
            'Warning',
            'FailedCreatePodSandBox',
            `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "${sandboxId(pod)}": plugin type="${this.ipam.name}" failed (add): ${res.reason}`,
          );
        }
        let w = this.waitingForIp.get(rt.node);
        if (!w) this.waitingForIp.set(rt.node, (w = new Set()));
        w.add(key);
        return false;
      }
      rt.ips = res.ips;
      rt.ipamHeld = true;
    }
    rt.sandboxError = undefined;
    rt.startedAt = now;
    this.waitingForIp.get(rt.node)?.delete(key);
    return true;
  }

  /** A pod that is already running (state loaded from a snapshot): keep its addresses. */
  private adopt(pod: Stored<Pod>, node: Stored<Node>, rt: Runtime): void {
    const ips = (pod.status?.podIPs?.map((p) => p.ip) ?? [pod.status!.podIP!]).filter((x): x is string => !!x);
    const started = pod.status?.startTime ? Date.parse(pod.status.startTime) : NaN;
    rt.seenAt = Number.isFinite(started) ? started : rt.seenAt;
    rt.startedAt = rt.seenAt;
    rt.ips = ips;
    if (!pod.spec?.hostNetwork) {
      this.ipam.reserve?.(node, pod, ips);
      rt.ipamHeld = true;
    }
  }

  private runningStatus(key: string, pod: Stored<Pod>, node: Stored<Node>, rt: Runtime, now: number): PodStatus {
    const started = rt.startedAt!;
    const containers = pod.spec?.containers ?? [];
    const forced = pod.metadata.annotations?.[ANNOTATION_READY];
    let next: number | undefined;
    if (isJobLike(pod)) {
      const run = Number(pod.metadata.annotations?.[ANNOTATION_RUN_SECONDS] ?? DEFAULT_RUN_SECONDS);
      const finishAt = started + (Number.isFinite(run) && run >= 0 ? run : DEFAULT_RUN_SECONDS) * 1000;
      if (now >= finishAt) {
        if (rt.ipamHeld) this.releaseIps(key, rt);
        return this.completedStatus(pod, node, rt, finishAt);
      }
      next = finishAt;
    }
    const readyFlags = containers.map((c) => {
      if (forced === 'false') return false;
      if (forced === 'true') return true;
      const at = started + readinessDelay(c) * 1000;
      if (now < at) {
        next = next === undefined ? at : Math.min(next, at);
        return false;
      }
      return true;
    });
    if (next !== undefined) this.wakeAt(key, rt, next);
    const containersReady = readyFlags.every(Boolean);
    const notReady = containers.filter((_, i) => !readyFlags[i]).map((c) => c.name);
    const gates = pod.spec?.readinessGates ?? [];
    const failedGates = gates.filter((g) => pod.status?.conditions?.find((c) => c.type === g.conditionType)?.status !== 'True');
    const startedAt = this.ts.at(started);
    const kubeletConds: PodCondition[] = [
      { type: 'PodReadyToStartContainers', status: 'True' },
      { type: 'Initialized', status: 'True' },
      readyCondition(containersReady, notReady, failedGates.map((g) => g.conditionType)),
      containersReady
        ? { type: 'ContainersReady', status: 'True' }
        : { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${notReady.join(' ')}]` },
    ];
    return {
      phase: 'Running',
      ...this.baseStatus(pod, node, rt, kubeletConds),
      ...(pod.spec?.initContainers ? { initContainerStatuses: pod.spec.initContainers.map((c) => terminatedStatus(c, pod, startedAt, startedAt)) } : {}),
      containerStatuses: containers.map((c, i) => ({
        name: c.name,
        image: c.image ?? '',
        imageID: '',
        containerID: containerId(pod, c),
        ready: readyFlags[i]!,
        restartCount: 0,
        started: true,
        state: { running: { startedAt } },
      })),
    };
  }

  private completedStatus(pod: Stored<Pod>, node: Stored<Node>, rt: Runtime, finishAt: number): PodStatus {
    const startedAt = this.ts.at(rt.startedAt!);
    const finishedAt = this.ts.at(finishAt);
    return {
      phase: 'Succeeded',
      ...this.baseStatus(pod, node, rt, [
        { type: 'PodReadyToStartContainers', status: 'False' },
        { type: 'Initialized', status: 'True' },
        { type: 'Ready', status: 'False', reason: 'PodCompleted' },
        { type: 'ContainersReady', status: 'False', reason: 'PodCompleted' },
      ]),
      containerStatuses: (pod.spec?.containers ?? []).map((c) => terminatedStatus(c, pod, startedAt, finishedAt)),
    };
  }

  private creatingStatus(pod: Stored<Pod>, node: Stored<Node>, rt: Runtime): PodStatus {
    const containers = pod.spec?.containers ?? [];
    const names = containers.map((c) => c.name).join(' ');
    return {
      phase: 'Pending',
      ...this.baseStatus(pod, node, rt, [
        { type: 'PodReadyToStartContainers', status: 'False' },
        { type: 'Initialized', status: 'True' },
        { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${names}]` },
        { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${names}]` },
      ]),
      containerStatuses: containers.map((c) => ({
        name: c.name,
        image: c.image ?? '',
        imageID: '',
        ready: false,
        restartCount: 0,
        started: false,
        state: { waiting: { reason: 'ContainerCreating' } },
      })),
    };
  }

  /** Fields every kubelet status carries, and the conditions in the kubelet's order. */
  private baseStatus(pod: Stored<Pod>, node: Stored<Node>, rt: Runtime, kubeletConds: PodCondition[]): BaseStatus {
    const hostIPs = nodeHostIPs(node);
    const now = this.ts.at();
    const old = pod.status?.conditions ?? [];
    const conditions: PodCondition[] = [];
    for (const c of kubeletConds) conditions.push(stampCondition(c, old.find((o) => o.type === c.type), now));
    conditions.push(stampCondition({ type: 'PodScheduled', status: 'True' }, old.find((o) => o.type === 'PodScheduled'), now));
    for (const o of old) if (!KUBELET_CONDITIONS.has(o.type)) conditions.push(o);
    const ips = rt.ips ?? [];
    // A literal, not a spread of the old status: see conditions.ts on why.
    return {
      conditions,
      ...(hostIPs.length ? { hostIP: hostIPs[0], hostIPs: hostIPs.map((ip) => ({ ip })) } : {}),
      ...(ips.length ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}),
      startTime: this.ts.at(rt.seenAt),
      ...(pod.status?.qosClass ? { qosClass: pod.status.qosClass } : {}),
      ...(pod.status?.nominatedNodeName ? { nominatedNodeName: pod.status.nominatedNodeName } : {}),
    };
  }

  /** Write the status unless it says the same as what is stored. */
  private write(pod: Stored<Pod>, status: PodStatus): void {
    if (sameStatus(pod.status, status)) return;
    this.ctx.store.update({ ...pod, status });
  }

  private wakeAt(key: string, rt: Runtime, at: number): void {
    if (rt.timerAt !== undefined && rt.timerAt <= at && rt.timerAt > this.ctx.clock.now()) return;
    rt.timerAt = at;
    this.ctx.enqueueAfter(key, (at - this.ctx.clock.now()) / 1000);
  }

  private releaseIps(key: string, rt: Runtime): void {
    if (!rt.ipamHeld) return;
    rt.ipamHeld = false;
    const node = this.ctx.store.get<Stored<Node>>('Node', undefined, rt.node) ?? stubNode(rt.node);
    this.ipam.release(node, stubPod(key, rt.uid));
    const waiting = this.waitingForIp.get(rt.node);
    if (waiting) for (const k of waiting) this.ctx.queue.add(k);
  }

  private forget(key: string, rt: Runtime): void {
    this.releaseIps(key, rt);
    this.waitingForIp.get(rt.node)?.delete(key);
    this.runtimes.delete(key);
  }

  /** The containers are gone: give back the addresses and let the pod leave the store. */
  private remove(key: string, rt: Runtime | undefined): void {
    if (rt) this.forget(key, rt);
    const i = key.indexOf('/');
    this.ctx.store.delete('Pod', key.slice(0, i), key.slice(i + 1), { gracePeriodSeconds: 0 });
  }

  /** PodGC: pods bound to a node that stayed gone through the quarantine are deleted. */
  private collectOrphans(nodeName: string): void {
    if (this.ctx.store.get('Node', undefined, nodeName)) return;
    for (const key of [...this.ctx.store.byIndex('Pod', POD_NODE_INDEX, nodeName)]) {
      const rt = this.runtimes.get(key);
      if (rt) this.forget(key, rt);
      const i = key.indexOf('/');
      this.ctx.store.delete('Pod', key.slice(0, i), key.slice(i + 1), { gracePeriodSeconds: 0 });
    }
    this.waitingForIp.delete(nodeName);
    this.ipam.forgetNode?.(nodeName);
  }
}

type BaseStatus = Omit<PodStatus, 'phase' | 'containerStatuses' | 'initContainerStatuses'>;

const KUBELET_CONDITIONS = new Set(['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled']);

function readyCondition(containersReady: boolean, notReady: string[], failedGates: string[]): PodCondition {
  if (!containersReady) {
    return { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${notReady.join(' ')}]` };
  }
  if (failedGates.length) {
    const msg =
      failedGates.length === 1
        ? `the status of pod readiness gate "${failedGates[0]}" is not "True", but False`
        : `the status of pod readiness gates ${failedGates.map((g) => `"${g}"`).join(' ')} are not "True"`;
    return { type: 'Ready', status: 'False', reason: 'ReadinessGatesNotReady', message: msg };
  }
  return { type: 'Ready', status: 'True' };
}

function terminatedStatus(c: Container, pod: Pod, startedAt: string, finishedAt: string): ContainerStatus {
  const id = containerId(pod, c);
  return {
    name: c.name,
    image: c.image ?? '',
    imageID: '',
    containerID: id,
    ready: false,
    restartCount: 0,
    started: false,
    state: { terminated: { exitCode: 0, reason: 'Completed', startedAt, finishedAt, containerID: id } },
  };
}

/** Seconds until a container's readiness probe first succeeds (no probe: at once). */
function readinessDelay(c: Container): number {
  return c.readinessProbe?.initialDelaySeconds ?? 0;
}

export function isJobLike(pod: Pod): boolean {
  if (controllerOf(pod as KObject)?.kind === 'Job') return true;
  const rp = pod.spec?.restartPolicy;
  return rp === 'Never' || rp === 'OnFailure';
}

export function isNodeReady(node: Node): boolean {
  return node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
}

/** GetNodeHostIPs: the first InternalIP (else ExternalIP), then the first of the other family. */
export function nodeHostIPs(node: Node): string[] {
  const all: string[] = [];
  for (const type of ['InternalIP', 'ExternalIP']) {
    for (const a of node.status?.addresses ?? []) if (a.type === type && ipFamilyOf(a.address)) all.push(a.address);
  }
  if (all.length === 0) return [];
  const first = all[0]!;
  const fam = ipFamilyOf(first);
  const other = all.find((ip) => ipFamilyOf(ip) !== fam);
  return other ? [first, other] : [first];
}

function readinessGatesUnchanged(old: Pod, pod: Pod): boolean {
  const gates = pod.spec?.readinessGates;
  if (!gates?.length) return true;
  for (const g of gates) {
    const a = old.status?.conditions?.find((c) => c.type === g.conditionType)?.status;
    const b = pod.status?.conditions?.find((c) => c.type === g.conditionType)?.status;
    if (a !== b) return false;
  }
  return true;
}

function kubeletRelevantChange(a: Node, b: Node): boolean {
  if (isNodeReady(a) !== isNodeReady(b)) return true;
  if ((a.spec?.podCIDRs ?? []).join() !== (b.spec?.podCIDRs ?? []).join() || a.spec?.podCIDR !== b.spec?.podCIDR) return true;
  return a.status?.addresses !== b.status?.addresses;
}

function sameStatus(a: PodStatus | undefined, b: PodStatus): boolean {
  if (!a || a.phase !== b.phase || a.podIP !== b.podIP || a.hostIP !== b.hostIP || a.startTime !== b.startTime) return false;
  if ((a.podIPs?.length ?? 0) !== (b.podIPs?.length ?? 0) || (a.hostIPs?.length ?? 0) !== (b.hostIPs?.length ?? 0)) return false;
  const ca = a.conditions ?? [];
  const cb = b.conditions ?? [];
  if (ca.length !== cb.length) return false;
  for (let i = 0; i < ca.length; i++) {
    const x = ca[i]!;
    const y = cb[i]!;
    if (x.type !== y.type || x.status !== y.status || x.reason !== y.reason || x.message !== y.message) return false;
  }
  const sa = a.containerStatuses ?? [];
  const sb = b.containerStatuses ?? [];
  if (sa.length !== sb.length) return false;
  for (let i = 0; i < sa.length; i++) {
    const x = sa[i]!;
    const y = sb[i]!;
    if (x.ready !== y.ready || !!x.state?.running !== !!y.state?.running || !!x.state?.terminated !== !!y.state?.terminated) return false;
  }
  return true;
}

function sandboxId(pod: Pod): string {
  return hexId(pod.metadata?.uid ?? '', 'sandbox');
}

function containerId(pod: Pod, c: Container): string {
  return `containerd://${hexId(pod.metadata?.uid ?? '', c.name)}`;
}

/** A 64-hex id derived from the pod uid and a name (deterministic, no draw from the rng). */
function hexId(uid: string, name: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  const s = `${uid}/${name}`;
  for (let i = 0; i < s.length; i++) {
    h1 = Math.imul(h1 ^ s.charCodeAt(i), 16777619);
    h2 = Math.imul(h2 ^ s.charCodeAt(i), 2246822519);
  }
  const part = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
  const base = uid.replace(/-/g, '').padEnd(32, '0').slice(0, 32);
  return `${part(h1)}${part(h2)}${base}${part(h1 ^ h2)}${part(Math.imul(h1, 31) ^ h2)}`;
}

function stubNode(name: string): Node {
  return { metadata: { name } };
}

function stubPod(key: string, uid: string): Pod {
  const i = key.indexOf('/');
  return { metadata: { namespace: key.slice(0, i), name: key.slice(i + 1), uid } };
}
