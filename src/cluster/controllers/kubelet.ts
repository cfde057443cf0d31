// The kubelets of every node, as one controller. For a pod bound to a Ready node: after
// containerStartSeconds the sandbox gets its addresses from a PodIpam (host-local on the node's
// podCIDR by default; hostNetwork pods use the node's IPs), containers run, and Ready follows the
// readiness probe's initialDelaySeconds. Job-like pods complete after `kubepath.dev/run-seconds`.
// A deleted pod keeps running for min(grace, sigtermExitSeconds), then leaves the store. Pods of a
// NotReady node are left as they are; pods of a deleted node are collected (PodGC).
import type { Container, ContainerState, ContainerStatus, Node, Pod, PodCondition, PodStatus } from 'kubernetes-types/core/v1.js';
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
      if (ev.type === 'DELETED') {
        const key = ev.key ?? objectKey(pod);
        if (this.runtimes.has(key)) ctx.queue.add(key);
        return;
      }
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
      const key = ev.key ?? objectKey(pod);
      if (!pod.spec?.nodeName && !this.runtimes.has(key)) return;
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
      for (const e of this.ctx.store.byIndex('Pod', POD_NODE_INDEX, key.slice(5))) this.ctx.queue.add(e.key);
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
      // Every field declared up front: fields added later would live in a side array.
      rt = {
        uid: pod.metadata.uid!,
        node: node.metadata.name!,
        seenAt: now,
        startedAt: undefined,
        ips: undefined,
        ipamHeld: false,
        sandboxError: undefined,
        terminatingSince: undefined,
        timerAt: undefined,
      };
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
    const readyFlags: boolean[] = new Array(containers.length);
    let containersReady = true;
    for (let i = 0; i < containers.length; i++) {
      let ready: boolean;
      if (forced === 'false') ready = false;
      else if (forced === 'true') ready = true;
      else {
        const at = started + readinessDelay(containers[i]!) * 1000;
        ready = now >= at;
        if (!ready) next = next === undefined ? at : Math.min(next, at);
      }
      readyFlags[i] = ready;
      if (!ready) containersReady = false;
    }
    if (next !== undefined) this.wakeAt(key, rt, next);
    const notReady = containersReady ? NO_NAMES : containers.filter((_, i) => !readyFlags[i]).map((c) => c.name);
    const gates = pod.spec?.readinessGates;
    const failedGates = gates?.length
      ? gates.filter((g) => pod.status?.conditions?.find((c) => c.type === g.conditionType)?.status !== 'True').map((g) => g.conditionType)
      : NO_NAMES;
    const startedAt = this.ts.at(started);
    const kubeletConds: PodCondition[] = [
      COND_READY_TO_START,
      COND_INITIALIZED,
      readyCondition(containersReady, notReady, failedGates),
      containersReady
        ? COND_CONTAINERS_READY
        : { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${notReady.join(' ')}]` },
    ];
    const containerStatuses: ContainerStatus[] = new Array(containers.length);
    const state = runningState(startedAt);
    for (let i = 0; i < containers.length; i++) {
      const c = containers[i]!;
      containerStatuses[i] = {
        name: c.name,
        image: c.image ?? '',
        imageID: '',
        containerID: containerId(pod, c),
        ready: readyFlags[i]!,
        restartCount: 0,
        started: true,
        state,
      };
    }
    return this.status(
      'Running',
      pod,
      node,
      rt,
      kubeletConds,
      pod.spec?.initContainers ? pod.spec.initContainers.map((c) => terminatedStatus(c, pod, startedAt, startedAt)) : undefined,
      containerStatuses,
    );
  }

  private completedStatus(pod: Stored<Pod>, node: Stored<Node>, rt: Runtime, finishAt: number): PodStatus {
    const startedAt = this.ts.at(rt.startedAt!);
    const finishedAt = this.ts.at(finishAt);
    return this.status(
      'Succeeded',
      pod,
      node,
      rt,
      [
        { type: 'PodReadyToStartContainers', status: 'False' },
        { type: 'Initialized', status: 'True' },
        { type: 'Ready', status: 'False', reason: 'PodCompleted' },
        { type: 'ContainersReady', status: 'False', reason: 'PodCompleted' },
      ],
      undefined,
      (pod.spec?.containers ?? []).map((c) => terminatedStatus(c, pod, startedAt, finishedAt)),
    );
  }

  private creatingStatus(pod: Stored<Pod>, node: Stored<Node>, rt: Runtime): PodStatus {
    const containers = pod.spec?.containers ?? [];
    const names = containers.map((c) => c.name).join(' ');
    return this.status(
      'Pending',
      pod,
      node,
      rt,
      [
        { type: 'PodReadyToStartContainers', status: 'False' },
        { type: 'Initialized', status: 'True' },
        { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${names}]` },
        { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${names}]` },
      ],
      undefined,
      containers.map((c) => ({
        name: c.name,
        image: c.image ?? '',
        imageID: '',
        ready: false,
        restartCount: 0,
        started: false,
        state: WAITING_CREATING,
      })),
    );
  }

  /**
   * A kubelet status: the phase, the conditions in the kubelet's order, the fields every status
   * carries, then the container statuses. Built as one literal with keys added in order (no
   * spread of the old status: see conditions.ts on why).
   */
  private status(
    phase: string,
    pod: Stored<Pod>,
    node: Stored<Node>,
    rt: Runtime,
    kubeletConds: PodCondition[],
    initContainerStatuses: ContainerStatus[] | undefined,
    containerStatuses: ContainerStatus[],
  ): PodStatus {
    const host = nodeHostAddresses(node);
    const now = this.ts.at();
    const old = pod.status?.conditions ?? NO_CONDITIONS;
    const conditions: PodCondition[] = [];
    for (const c of kubeletConds) conditions.push(stampCondition(c, conditionOf(old, c.type), now));
    conditions.push(stampCondition(COND_SCHEDULED, conditionOf(old, 'PodScheduled'), now));
    for (const o of old) if (!KUBELET_CONDITIONS.has(o.type)) conditions.push(o);
    const ips = rt.ips;
    const qos = pod.status?.qosClass;
    const nominated = pod.status?.nominatedNodeName;
    if (host.ips.length && ips && ips.length && qos && !nominated && !initContainerStatuses) {
      // The usual status as one literal (the same keys, in the same order, as built below),
      // so that all its properties live in the object itself.
      return {
        phase,
        conditions,
        hostIP: host.ips[0],
        hostIPs: host.refs,
        podIP: ips[0],
        podIPs: ips.length === 1 ? [{ ip: ips[0] }] : ips.map((ip) => ({ ip })),
        startTime: this.ts.at(rt.seenAt),
        qosClass: qos,
        containerStatuses,
      };
    }
    const out: Mutable<PodStatus> = { phase, conditions };
    if (host.ips.length) {
      out.hostIP = host.ips[0];
      out.hostIPs = host.refs;
    }
    if (ips && ips.length) {
      out.podIP = ips[0];
      out.podIPs = ips.length === 1 ? [{ ip: ips[0] }] : ips.map((ip) => ({ ip }));
    }
    out.startTime = this.ts.at(rt.seenAt);
    if (qos) out.qosClass = qos;
    if (nominated) out.nominatedNodeName = nominated;
    if (initContainerStatuses) out.initContainerStatuses = initContainerStatuses;
    out.containerStatuses = containerStatuses;
    return out;
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
    for (const { key } of [...this.ctx.store.byIndex('Pod', POD_NODE_INDEX, nodeName)]) {
      const rt = this.runtimes.get(key);
      if (rt) this.forget(key, rt);
      const i = key.indexOf('/');
      this.ctx.store.delete('Pod', key.slice(0, i), key.slice(i + 1), { gracePeriodSeconds: 0 });
    }
    this.waitingForIp.delete(nodeName);
    this.ipam.forgetNode?.(nodeName);
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const NO_NAMES: string[] = [];
const NO_CONDITIONS: PodCondition[] = [];
const COND_READY_TO_START: PodCondition = { type: 'PodReadyToStartContainers', status: 'True' };
const COND_INITIALIZED: PodCondition = { type: 'Initialized', status: 'True' };
const COND_READY: PodCondition = { type: 'Ready', status: 'True' };
const COND_CONTAINERS_READY: PodCondition = { type: 'ContainersReady', status: 'True' };
const COND_SCHEDULED: PodCondition = { type: 'PodScheduled', status: 'True' };
const WAITING_CREATING: ContainerState = { waiting: { reason: 'ContainerCreating' } };

function conditionOf(conds: readonly PodCondition[], type: string): PodCondition | undefined {
  for (const c of conds) if (c.type === type) return c;
  return undefined;
}

// Every container started in one second shares one (immutable) state object.
let lastStartedAt = '';
let lastRunning: ContainerState = { running: { startedAt: '' } };
function runningState(startedAt: string): ContainerState {
  if (startedAt !== lastStartedAt) {
    lastStartedAt = startedAt;
    lastRunning = { running: { startedAt } };
  }
  return lastRunning;
}

/** A node's host IPs and their `{ip}` list, worked out once per addresses list. */
const hostAddresses = new WeakMap<object, { ips: string[]; refs: { ip: string }[] }>();
const NO_ADDRESSES: { ips: string[]; refs: { ip: string }[] } = { ips: [], refs: [] };
function nodeHostAddresses(node: Node): { ips: string[]; refs: { ip: string }[] } {
  const addresses = node.status?.addresses;
  if (!addresses) return NO_ADDRESSES;
  let h = hostAddresses.get(addresses);
  if (!h) {
    const ips = nodeHostIPs(node);
    hostAddresses.set(addresses, (h = { ips, refs: ips.map((ip) => ({ ip })) }));
  }
  return h;
}

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
  return COND_READY;
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
  // `containerd://` and the id written into one array: one flat string, no concatenation.
  writeHexId(CONTAINER_ID, CONTAINERD_PREFIX.length, pod.metadata?.uid ?? '', c.name);
  return String.fromCharCode.apply(null, CONTAINER_ID);
}

/** A 64-hex id derived from the pod uid and a name (deterministic, no draw from the rng). */
function hexId(uid: string, name: string): string {
  writeHexId(HEX_ID, 0, uid, name);
  return String.fromCharCode.apply(null, HEX_ID);
}

/** hexId's 64 character codes, written into `out` from `base`. */
function writeHexId(out: number[], base: number, uid: string, name: string): void {
  // FNV-style hashes of `${uid}/${name}`, then the uid's hex digits; written as character codes
  // into one reused array (this runs for every container status written).
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  const n = uid.length + 1 + name.length;
  for (let i = 0; i < n; i++) {
    const ch = i < uid.length ? uid.charCodeAt(i) : i === uid.length ? SLASH : name.charCodeAt(i - uid.length - 1);
    h1 = Math.imul(h1 ^ ch, 16777619);
    h2 = Math.imul(h2 ^ ch, 2246822519);
  }
  writeHex(out, base, h1);
  writeHex(out, base + 8, h2);
  let at = base + 16;
  for (let i = 0; i < uid.length && at < base + 48; i++) {
    const ch = uid.charCodeAt(i);
    if (ch !== DASH) out[at++] = ch;
  }
  while (at < base + 48) out[at++] = ZERO;
  writeHex(out, base + 48, h1 ^ h2);
  writeHex(out, base + 56, Math.imul(h1, 31) ^ h2);
}

const HEX_ID: number[] = new Array<number>(64).fill(0);
const CONTAINERD_PREFIX = 'containerd://';
const CONTAINER_ID: number[] = [...Array.from(CONTAINERD_PREFIX, (c) => c.charCodeAt(0)), ...new Array<number>(64).fill(0)];
const HEX_DIGITS = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
const SLASH = 47;
const DASH = 45;
const ZERO = 48;

/** `n` as 8 lower-case hex digits (as `(n >>> 0).toString(16).padStart(8, '0')`). */
function writeHex(out: number[], at: number, n: number): void {
  for (let i = 0; i < 8; i++) out[at + i] = HEX_DIGITS[(n >>> (28 - 4 * i)) & 15]!;
}

function stubNode(name: string): Node {
  return { metadata: { name } };
}

function stubPod(key: string, uid: string): Pod {
  const i = key.indexOf('/');
  return { metadata: { namespace: key.slice(0, i), name: key.slice(i + 1), uid } };
}
