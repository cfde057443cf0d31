// The scheduler's cache: one NodeInfo per node with running totals of what its pods request and
// the host ports they hold, kept up to date from watch events so a scheduling cycle never walks
// every pod. Nodes are listed as upstream's nodeTree lists them: zones interleaved, each zone in
// insertion order.
import type { Node, Pod, Taint } from 'kubernetes-types/core/v1.js';
import { milliValue, podRequests, value } from '../../apiserver/resources.js';
import { TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE } from '../../apiserver/pod-defaults.js';
import { MatchCountIndex } from './match-counts.js';

export const LABEL_HOSTNAME = 'kubernetes.io/hostname';
export const LABEL_ZONE = 'topology.kubernetes.io/zone';
export const LABEL_REGION = 'topology.kubernetes.io/region';

export interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

/** NodeInfo flags kept in a column so the per-node loops touch one contiguous array. */
export const F_UNSCHEDULABLE = 1;
export const F_FILTER_TAINTS = 2;
export const F_PREFER_TAINTS = 4;
export const F_PORTS = 8;
export const F_HOSTNAME = 16;
export const F_ZONE = 32;

/**
 * The numbers a scheduling cycle reads for every node, as typed-array columns indexed by the
 * node's slot: walking 500 nodes per pod through scattered objects is memory-bound.
 */
export class NodeColumns {
  capacity = 0;
  allocCpu = new Float64Array(0);
  allocMem = new Float64Array(0);
  allocPods = new Float64Array(0);
  reqCpu = new Float64Array(0);
  reqMem = new Float64Array(0);
  nzCpu = new Float64Array(0);
  nzMem = new Float64Array(0);
  podCount = new Float64Array(0);
  /** allocatable − requested (cpu, memory) and allocatable pods − pods, kept for the fit check. */
  freeCpu = new Float64Array(0);
  freeMem = new Float64Array(0);
  freePods = new Float64Array(0);
  flags = new Uint8Array(0);
  zoneId = new Int32Array(0);
  /** Bumped whenever the node's totals or allocatable change. */
  version = new Uint32Array(0);
  /**
   * Memo of the resource scores (LeastAllocated + BalancedAllocation) for one request shape;
   * memoShape is reset to 0 (no shape) whenever the node's totals or allocatable change.
   */
  memoShape = new Int32Array(0);
  memoScore = new Float64Array(0);

  ensure(slot: number): void {
    if (slot < this.capacity) return;
    const cap = Math.max(64, this.capacity * 2, slot + 1);
    const grow = <T extends Float64Array | Uint8Array | Int32Array | Uint32Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    const f64 = (n: number) => new Float64Array(n);
    this.allocCpu = grow(this.allocCpu, f64);
    this.allocMem = grow(this.allocMem, f64);
    this.allocPods = grow(this.allocPods, f64);
    this.reqCpu = grow(this.reqCpu, f64);
    this.reqMem = grow(this.reqMem, f64);
    this.nzCpu = grow(this.nzCpu, f64);
    this.nzMem = grow(this.nzMem, f64);
    this.podCount = grow(this.podCount, f64);
    this.freeCpu = grow(this.freeCpu, f64);
    this.freeMem = grow(this.freeMem, f64);
    this.freePods = grow(this.freePods, f64);
    this.flags = grow(this.flags, (n) => new Uint8Array(n));
    this.zoneId = grow(this.zoneId, (n) => new Int32Array(n));
    this.version = grow(this.version, (n) => new Uint32Array(n));
    this.memoShape = grow(this.memoShape, (n) => new Int32Array(n));
    this.memoScore = grow(this.memoScore, f64);
    this.capacity = cap;
  }

  /**
   * Slots whose totals or allocatable changed, in order; `changeBase` is the sequence number of
   * `changes[0]`. Readers remember how far they have read; older entries are dropped.
   */
  changes: number[] = [];
  changeBase = 0;

  /** Recompute the free columns of `slot` from allocatable and requested (never accumulated). */
  refreshFree(slot: number): void {
    this.memoShape[slot] = 0;
    if (this.changes.length >= 8192) {
      this.changeBase += 4096;
      this.changes = this.changes.slice(4096);
    }
    this.changes.push(slot);
    this.freeCpu[slot] = this.allocCpu[slot]! - this.reqCpu[slot]!;
    this.freeMem[slot] = this.allocMem[slot]! - this.reqMem[slot]!;
    this.freePods[slot] = this.allocPods[slot]! - this.podCount[slot]!;
  }
}

export class NodeInfo {
  node: Node | undefined;
  labels: Readonly<Record<string, string>> = {};
  /** The zone and hostname labels, read once. */
  zone: string | undefined;
  hostname: string | undefined;
  /** NoSchedule and NoExecute taints, plus the not-ready taint a NotReady node would carry. */
  filterTaints: Taint[] = [];
  preferNoScheduleTaints: Taint[] = [];
  /** `proto/port` → host IP → holders */
  usedPorts: Map<string, Map<string, number>> | undefined;

  constructor(
    readonly name: string,
    /** This node's index into the cache's columns. */
    readonly slot: number,
    private readonly cols: NodeColumns,
  ) {
    cols.ensure(slot);
  }

  get unschedulable(): boolean {
    return (this.cols.flags[this.slot]! & F_UNSCHEDULABLE) !== 0;
  }
  get allocCpu(): number {
    return this.cols.allocCpu[this.slot]!;
  }
  get allocMem(): number {
    return this.cols.allocMem[this.slot]!;
  }
  get allocPods(): number {
    return this.cols.allocPods[this.slot]!;
  }
  get reqCpu(): number {
    return this.cols.reqCpu[this.slot]!;
  }
  get reqMem(): number {
    return this.cols.reqMem[this.slot]!;
  }
  get podCount(): number {
    return this.cols.podCount[this.slot]!;
  }

  setNode(node: Node, zoneId: number): void {
    const c = this.cols;
    const i = this.slot;
    this.node = node;
    this.labels = node.metadata?.labels ?? {};
    this.zone = this.labels[LABEL_ZONE];
    this.hostname = this.labels[LABEL_HOSTNAME];
    const taints = node.spec?.taints ?? [];
    this.filterTaints = taints.filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
    this.preferNoScheduleTaints = taints.filter((t) => t.effect === 'PreferNoSchedule');
    const ready = node.status?.conditions?.find((x) => x.type === 'Ready');
    if (ready && ready.status !== 'True') {
      // The node lifecycle controller taints NotReady nodes; act as if it had, when it has not yet.
      const key = ready.status === 'False' ? TAINT_NODE_NOT_READY : TAINT_NODE_UNREACHABLE;
      if (!this.filterTaints.some((t) => t.key === key && t.effect === 'NoSchedule')) {
        this.filterTaints = [...this.filterTaints, { key, effect: 'NoSchedule' }];
      }
    }
    const alloc = node.status?.allocatable ?? node.status?.capacity ?? {};
    c.allocCpu[i] = milliValue(alloc['cpu']);
    c.allocMem[i] = value(alloc['memory']);
    c.allocPods[i] = value(alloc['pods']);
    c.zoneId[i] = zoneId;
    c.version[i]!++;
    c.refreshFree(i);
    this.refreshFlags();
  }

  refreshFlags(): void {
    let f = 0;
    if (this.node?.spec?.unschedulable) f |= F_UNSCHEDULABLE;
    if (this.filterTaints.length) f |= F_FILTER_TAINTS;
    if (this.preferNoScheduleTaints.length) f |= F_PREFER_TAINTS;
    if (this.usedPorts && this.usedPorts.size) f |= F_PORTS;
    if (this.hostname !== undefined) f |= F_HOSTNAME;
    if (this.zone !== undefined) f |= F_ZONE;
    this.cols.flags[this.slot] = f;
  }

  portConflict(p: HostPort): boolean {
    const holders = this.usedPorts?.get(`${p.protocol}/${p.port}`);
    if (!holders) return false;
    if (p.ip === '0.0.0.0' || p.ip === '::') return holders.size > 0;
    return holders.has(p.ip) || holders.has('0.0.0.0') || holders.has('::');
  }
}

/** What the cache remembers of an assigned pod, to take it back out exactly. */
export interface PodRecord {
  uid: string;
  node: string;
  cpu: number;
  mem: number;
  nzCpu: number;
  nzMem: number;
  ports: HostPort[];
  requiredAntiAffinity: boolean;
  namespace: string;
  labels: Readonly<Record<string, string>> | undefined;
  /** Counted by spreading: not terminating. */
  counted: boolean;
}

// Pods of one template share their containers array: their host ports are worked out once.
const portsByContainers = new WeakMap<object, HostPort[]>();
const NO_PORTS: HostPort[] = [];

/** The host ports a pod's containers ask for (shared: callers must not change the list). */
export function hostPortsOf(pod: Pod): HostPort[] {
  const containers = pod.spec?.containers;
  if (!containers) return NO_PORTS;
  let ports = portsByContainers.get(containers);
  if (!ports) portsByContainers.set(containers, (ports = collectHostPorts(pod)));
  return ports;
}

function collectHostPorts(pod: Pod): HostPort[] {
  const out: HostPort[] = [];
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.hostPort && p.hostPort > 0) out.push({ ip: p.hostIP || '0.0.0.0', protocol: p.protocol || 'TCP', port: p.hostPort });
    }
  }
  return out;
}

export class SchedulerCache {
  readonly cols = new NodeColumns();
  /** NodeInfo by slot. */
  readonly slots: NodeInfo[] = [];
  private readonly infos = new Map<string, NodeInfo>();
  private readonly zones = new Map<string, string[]>();
  private readonly zoneOrder: string[] = [];
  private readonly zoneOf = new Map<string, string>();
  private list: NodeInfo[] = [];
  private order = new Int32Array(0);
  private dirty = false;
  readonly pods = new Map<string, PodRecord>();
  /** Assigned pods with required pod anti-affinity terms (checked against every incoming pod). */
  readonly antiAffinityPods = new Set<string>();
  /** Namespaces that hold assigned pods, with how many. */
  readonly namespaces = new Map<string, number>();
  /** Bumped on every node change, so per-node derived data can be cached. */
  nodeGeneration = 0;
  /** Bumped when a node appears, goes or changes labels (zones of placed pods may move). */
  topologyGeneration = 0;
  readonly matchCounts = new MatchCountIndex();
  /** Topology domains of the nodes eligible for hard spread constraints, per constraint keys and node affinity. */
  readonly spreadDomains = new Map<string, { generation: number; domains: string[][] }>();

  info(name: string): NodeInfo | undefined {
    return this.infos.get(name);
  }

  /** Nodes in nodeTree order. */
  nodes(): readonly NodeInfo[] {
    if (this.dirty) this.rebuild();
    return this.list;
  }

  /** Slots of `nodes()`, same order. */
  nodeSlots(): Int32Array {
    if (this.dirty) this.rebuild();
    return this.order;
  }

  private newInfo(name: string): NodeInfo {
    const info = new NodeInfo(name, this.slots.length, this.cols);
    this.slots.push(info);
    this.infos.set(name, info);
    return info;
  }

  /** Zone label value → small integer (see NodeInfo.zoneId). */
  readonly zoneIds = new Map<string, number>();

  zoneIdOf(zone: string): number {
    let id = this.zoneIds.get(zone);
    if (id === undefined) this.zoneIds.set(zone, (id = this.zoneIds.size));
    return id;
  }

  upsertNode(node: Node): void {
    const name = node.metadata?.name ?? '';
    const info = this.infos.get(name) ?? this.newInfo(name);
    if (!info.node || info.node.metadata?.labels !== node.metadata?.labels) this.topologyGeneration++;
    info.setNode(node, this.zoneIdOf(node.metadata?.labels?.[LABEL_ZONE] ?? ''));
    const zone = zoneKey(node);
    const before = this.zoneOf.get(name);
    if (before !== zone) {
      if (before !== undefined) this.removeFromTree(name, before);
      this.addToTree(name, zone);
    }
    this.nodeGeneration++;
  }

  removeNode(name: string): void {
    this.topologyGeneration++;
    const info = this.infos.get(name);
    const zone = this.zoneOf.get(name);
    if (zone !== undefined) this.removeFromTree(name, zone);
    if (info) {
      info.node = undefined;
      if (info.podCount === 0) this.infos.delete(name);
    }
    // The slot stays allocated; a node of the same name coming back gets a fresh one.
    this.nodeGeneration++;
  }

  /** Account an assigned, non-terminal pod; returns true when the cache changed. */
  addPod(key: string, pod: Pod): boolean {
    const node = pod.spec?.nodeName ?? '';
    const uid = pod.metadata?.uid ?? '';
    const counted = !pod.metadata?.deletionTimestamp;
    const existing = this.pods.get(key);
    if (existing && existing.uid === uid && existing.node === node) {
      if (existing.counted === counted) return false;
      existing.counted = counted;
      this.matchCounts.podChanged(existing.namespace, existing.labels, this.infos.get(node)!.slot, this.zoneOfNode(node), counted ? 1 : -1);
      return true;
    }
    if (existing) this.removePod(key);
    const r = podRequests(pod);
    const anti = pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    const rec: PodRecord = {
      uid,
      node,
      cpu: r.milliCPU,
      mem: r.memory,
      nzCpu: r.nonZeroMilliCPU,
      nzMem: r.nonZeroMemory,
      ports: hostPortsOf(pod),
      requiredAntiAffinity: !!anti && anti.length > 0,
      namespace: key.slice(0, key.indexOf('/')),
      labels: pod.metadata?.labels,
      counted,
    };
    this.pods.set(key, rec);
    const ns = rec.namespace;
    this.namespaces.set(ns, (this.namespaces.get(ns) ?? 0) + 1);
    const info = this.infos.get(node) ?? this.newInfo(node);
    if (counted) this.matchCounts.podChanged(rec.namespace, rec.labels, info.slot, this.zoneOfNode(node), 1);
    const c = this.cols;
    const i = info.slot;
    c.reqCpu[i]! += rec.cpu;
    c.reqMem[i]! += rec.mem;
    c.nzCpu[i]! += rec.nzCpu;
    c.nzMem[i]! += rec.nzMem;
    c.podCount[i]!++;
    c.version[i]!++;
    c.refreshFree(i);
    for (const p of rec.ports) {
      if (!info.usedPorts) info.usedPorts = new Map();
      const k = `${p.protocol}/${p.port}`;
      let holders = info.usedPorts.get(k);
      if (!holders) info.usedPorts.set(k, (holders = new Map()));
      holders.set(p.ip, (holders.get(p.ip) ?? 0) + 1);
    }
    if (rec.ports.length) info.refreshFlags();
    if (rec.requiredAntiAffinity) this.antiAffinityPods.add(key);
    return true;
  }

  removePod(key: string): boolean {
    const rec = this.pods.get(key);
    if (!rec) return false;
    this.pods.delete(key);
    this.antiAffinityPods.delete(key);
    const ns = rec.namespace;
    const left = (this.namespaces.get(ns) ?? 1) - 1;
    if (left <= 0) this.namespaces.delete(ns);
    else this.namespaces.set(ns, left);
    const info = this.infos.get(rec.node);
    if (!info) return true;
    if (rec.counted) this.matchCounts.podChanged(rec.namespace, rec.labels, info.slot, this.zoneOfNode(rec.node), -1);
    const c = this.cols;
    const i = info.slot;
    c.reqCpu[i]! -= rec.cpu;
    c.reqMem[i]! -= rec.mem;
    c.nzCpu[i]! -= rec.nzCpu;
    c.nzMem[i]! -= rec.nzMem;
    c.podCount[i]!--;
    c.version[i]!++;
    c.refreshFree(i);
    for (const p of rec.ports) {
      const k = `${p.protocol}/${p.port}`;
      const holders = info.usedPorts?.get(k);
      if (!holders) continue;
      const n = (holders.get(p.ip) ?? 1) - 1;
      if (n <= 0) holders.delete(p.ip);
      else holders.set(p.ip, n);
      if (holders.size === 0) info.usedPorts!.delete(k);
    }
    if (rec.ports.length) info.refreshFlags();
    if (!info.node && info.podCount === 0) this.infos.delete(rec.node);
    return true;
  }

  /** The zone value spreading files a pod of this node under; undefined for unknown nodes. */
  private zoneOfNode(name: string): string | undefined {
    const info = this.infos.get(name);
    return info?.node ? info.zone ?? '' : undefined;
  }

  private addToTree(name: string, zone: string): void {
    let z = this.zones.get(zone);
    if (!z) {
      this.zones.set(zone, (z = []));
      this.zoneOrder.push(zone);
    }
    z.push(name);
    this.zoneOf.set(name, zone);
    this.dirty = true;
  }

  private removeFromTree(name: string, zone: string): void {
    const z = this.zones.get(zone);
    if (z) {
      const i = z.indexOf(name);
      if (i >= 0) z.splice(i, 1);
      if (z.length === 0) {
        this.zones.delete(zone);
        this.zoneOrder.splice(this.zoneOrder.indexOf(zone), 1);
      }
    }
    this.zoneOf.delete(name);
    this.dirty = true;
  }

  private rebuild(): void {
    const out: NodeInfo[] = [];
    const lists = this.zoneOrder.map((z) => this.zones.get(z)!);
    const longest = lists.reduce((m, l) => Math.max(m, l.length), 0);
    for (let i = 0; i < longest; i++) {
      for (const l of lists) {
        const name = l[i];
        if (name !== undefined) out.push(this.infos.get(name)!);
      }
    }
    this.list = out;
    this.order = Int32Array.from(out, (n) => n.slot);
    this.dirty = false;
  }
}

/** utilnode.GetZoneKey: region and zone; empty when the node has neither. */
export function zoneKey(node: Node): string {
  const labels = node.metadata?.labels ?? {};
  const region = labels[LABEL_REGION] ?? labels['failure-domain.beta.kubernetes.io/region'] ?? '';
  const zone = labels[LABEL_ZONE] ?? labels['failure-domain.beta.kubernetes.io/zone'] ?? '';
  if (!region && !zone) return '';
  return `${region}:\x00:${zone}`;
}
