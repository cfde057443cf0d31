// The scheduling cycle of the common pod in O(log nodes) instead of O(nodes scored): the same
// window (percentageOfNodesToScore from the rotating start), the same scores and the same
// seeded tie-break, found with a segment tree instead of a walk over every node of the window.
//
// It applies when the pod asks only for resources (no affinity, ports, spreading constraints of
// its own, pod affinity) and no node is cordoned or tainted: then a node is feasible exactly when
// its resources fit, and its score is
//   resourceScore(node) + 3·100 (TaintToleration) + 2·normalised(rawSpread(node))
// where the raw spreading score of a node without matching pods depends only on its zone and
// topology labels (its "class"). The tree keeps, per class, the best resource score among the
// feasible nodes of every range of positions and how many nodes reach it; the few nodes that
// already hold matching pods are taken out of the tree for the query and scored one by one.
// Anything else is left to the linear cycle.
import type { PodRequests } from '../../apiserver/resources.js';
import type { Rng } from '../../rng.js';
import type { MatchCounts } from './match-counts.js';
import { F_FILTER_TAINTS, F_HOSTNAME, F_PREFER_TAINTS, F_UNSCHEDULABLE, F_ZONE, type SchedulerCache } from './cache.js';
import { fitsResources, MAX_NODE_SCORE, resourceScore, WEIGHT } from './scores.js';

/** More classes (zone × topology labels) than this and the linear cycle is used. */
const MAX_CLASSES = 16;
/** Nodes already holding matching pods are scored one by one; more than this, linearly. */
export const MAX_SPECIAL = 64;
const EMPTY = -Infinity;

/** TaintToleration (no taints: full score) plus weighted normalised spreading, for a raw score. */
function rest(spreading: boolean, raw: number, minSpread: number, maxSpread: number): number {
  let t = WEIGHT.taint * MAX_NODE_SCORE;
  if (spreading) {
    const sc = maxSpread === 0 ? MAX_NODE_SCORE : Math.trunc((MAX_NODE_SCORE * (maxSpread + minSpread - raw)) / maxSpread);
    t += WEIGHT.spread * sc;
  }
  return t;
}

/** The spreading inputs of one cycle (the system default constraints). */
export interface WindowSpread {
  counts: MatchCounts;
}

export class WindowIndex {
  /** Set by tests: every selection is recomputed linearly and compared. */
  static check = false;

  private cache: SchedulerCache | undefined;
  private nodeGeneration = -1;
  private applied = 0;
  private shape = 0;
  private requests: Readonly<PodRequests> | undefined;
  private usable = false;

  /** position → slot, slot → position */
  private order: Int32Array = new Int32Array(0);
  private posOf = new Int32Array(0);
  private len = 0;
  private size = 1;
  /** class index per position; class → zone id and flags */
  private classOf = new Int32Array(0);
  private classZone: number[] = [];
  private classFlags: number[] = [];
  private classes = 0;

  /** Per tree node and class: best resource score, how many reach it, feasible nodes. */
  private best = new Float64Array(0);
  private bestCount = new Int32Array(0);
  private members = new Int32Array(0);
  /** Per tree node: feasible nodes. */
  private total = new Int32Array(0);

  // Scratch for queries.
  private qBest = new Float64Array(MAX_CLASSES);
  private qCount = new Int32Array(MAX_CLASSES);
  private qMembers = new Int32Array(MAX_CLASSES);

  /**
   * Bring the tree up to date for pods of this request shape. False when the cluster's nodes do
   * not allow it (a cordoned or tainted node, too many classes): the linear cycle applies.
   */
  prepare(cache: SchedulerCache, shape: number, requests: Readonly<PodRequests>): boolean {
    const cols = cache.cols;
    if (this.cache !== cache || this.nodeGeneration !== cache.nodeGeneration) {
      this.cache = cache;
      this.nodeGeneration = cache.nodeGeneration;
      this.layout(cache);
      this.shape = 0;
    }
    if (!this.usable) return false;
    if (this.shape !== shape || this.applied < cols.changeBase) {
      this.shape = shape;
      this.requests = requests;
      this.build();
    } else {
      const changes = cols.changes;
      for (let i = this.applied - cols.changeBase; i < changes.length; i++) {
        const pos = this.posOf[changes[i]!]!;
        if (pos >= 0) this.setLeaf(pos, true);
      }
    }
    this.applied = cols.changeBase + cols.changes.length;
    return true;
  }

  /**
   * The window from `start`: how many positions the linear filter loop would examine and how
   * many feasible nodes it would find.
   */
  span(start: number, numToFind: number): { examined: number; found: number } {
    const all = this.total[1]!;
    const len = this.len;
    if (all < numToFind) return { examined: len, found: all };
    const before = this.prefix(start);
    const after = all - before;
    if (after >= numToFind) return { examined: this.kth(before + numToFind - 1) - start + 1, found: numToFind };
    return { examined: len - start + this.kth(numToFind - after - 1) + 1, found: numToFind };
  }

  /** The slot of the first feasible node from `start` (for a window with one feasible node). */
  firstFeasible(start: number): number {
    const before = this.prefix(start);
    const pos = before < this.total[1]! ? this.kth(before) : this.kth(0);
    return this.order[pos]!;
  }

  /** The feasible slots of the window, in the order the linear loop finds them. */
  feasibleSlots(start: number, examined: number, out: Int32Array): number {
    let n = 0;
    const len = this.len;
    for (let i = 0; i < examined; i++) {
      let pos = start + i;
      if (pos >= len) pos -= len;
      if (this.total[this.size + pos]! > 0) out[n++] = this.order[pos]!;
    }
    return n;
  }

  /**
   * Score the window [start, start + examined) (cyclic) holding `found` feasible nodes and pick
   * the node the linear cycle would pick, drawing from `rng` exactly when it would. `spread` is
   * undefined when the pod has no default spreading selector. Returns undefined (nothing drawn,
   * nothing changed) when too many nodes hold matching pods.
   */
  select(start: number, examined: number, found: number, spread: WindowSpread | undefined, zoneIds: ReadonlyMap<string, number>, rng: Rng): number | undefined {
    const counts = spread?.counts;
    if (counts && counts.perSlot.size > MAX_SPECIAL) return undefined;
    const end = start + examined;
    // Nodes holding matching pods: out of the tree while the classes are aggregated.
    let n = 0;
    if (counts) {
      // keys() + get(): destructuring entries allocates a pair per entry on this per-pod path.
      const perSlot = counts.perSlot;
      for (const slot of perSlot.keys()) {
        const cnt = perSlot.get(slot)!;
        const pos = slot < this.posOf.length ? this.posOf[slot]! : -1;
        if (pos < 0 || !this.inWindow(pos, start, end)) continue;
        const leaf = this.size + pos;
        if (this.total[leaf] === 0) continue;
        this.sPos[n] = pos;
        this.sSlot[n] = slot;
        this.sCount[n] = cnt;
        this.sBase[n] = this.best[leaf * this.classes + this.classOf[pos]!]!;
        n++;
      }
      for (let i = 0; i < n; i++) this.clearLeaf(this.sPos[i]!);
    }
    try {
      return this.choose(start, end, found, n, counts, zoneIds, rng);
    } finally {
      for (let i = 0; i < n; i++) this.setLeaf(this.sPos[i]!, true);
    }
  }

  private inWindow(pos: number, start: number, end: number): boolean {
    return end <= this.len ? pos >= start && pos < end : pos >= start || pos < end - this.len;
  }

  // Scratch for select(): the nodes holding matching pods (position, slot, count, resource
  // score, raw spread score, total) and per class / per zone values.
  private readonly sPos = new Int32Array(MAX_SPECIAL);
  private readonly sSlot = new Int32Array(MAX_SPECIAL);
  private readonly sCount = new Float64Array(MAX_SPECIAL);
  private readonly sBase = new Float64Array(MAX_SPECIAL);
  private readonly sRaw = new Float64Array(MAX_SPECIAL);
  private readonly sTotal = new Float64Array(MAX_SPECIAL);
  private readonly tied = new Int32Array(MAX_SPECIAL);
  private readonly cRaw = new Float64Array(MAX_CLASSES);
  private readonly cTotal = new Float64Array(MAX_CLASSES);
  private readonly tiedBest = new Float64Array(MAX_CLASSES);
  private zoneStamp = new Uint32Array(16);
  private zoneTerm = new Float64Array(16);
  private stamp = 0;

  private choose(start: number, end: number, found: number, special: number, counts: MatchCounts | undefined, zoneIds: ReadonlyMap<string, number>, rng: Rng): number {
    const C = this.classes;
    const len = this.len;
    const cols = this.cache!.cols;
    this.qBest.fill(EMPTY);
    this.qCount.fill(0);
    this.qMembers.fill(0);
    this.query(start, Math.min(end, len));
    if (end > len) this.query(0, end - len);

    // Spreading: hostname weight from the feasible count, zone weight from the zones present.
    let minSpread = Infinity;
    let maxSpread = 0;
    if (counts) {
      const hostWeight = Math.log(found + 2);
      const zones = zoneIds.size + 1;
      if (this.zoneStamp.length < zones) {
        this.zoneStamp = new Uint32Array(zones * 2);
        this.zoneTerm = new Float64Array(zones * 2);
      }
      const stamp = ++this.stamp;
      let domains = 0;
      for (let c = 0; c < C; c++) if (this.qMembers[c]! > 0) domains += this.present(this.classZone[c]!, stamp);
      for (let i = 0; i < special; i++) domains += this.present(cols.zoneId[this.sSlot[i]!]!, stamp);
      const zoneWeight = Math.log(domains + 2);
      const perZone = counts.perZone;
      for (const zone of perZone.keys()) {
        const cnt = perZone.get(zone)!;
        const z = zoneIds.get(zone);
        if (z !== undefined && this.zoneStamp[z] === stamp) this.zoneTerm[z] = cnt * zoneWeight + 4;
      }
      for (let c = 0; c < C; c++) {
        if (this.qMembers[c] === 0) continue;
        const r = this.raw(this.classFlags[c]!, this.classZone[c]!, 0, hostWeight);
        this.cRaw[c] = r;
        if (r < minSpread) minSpread = r;
        if (r > maxSpread) maxSpread = r;
      }
      for (let i = 0; i < special; i++) {
        const slot = this.sSlot[i]!;
        const r = this.raw(cols.flags[slot]!, cols.zoneId[slot]!, this.sCount[i]!, hostWeight);
        this.sRaw[i] = r;
        if (r < minSpread) minSpread = r;
        if (r > maxSpread) maxSpread = r;
      }
    }
    const spreading = counts !== undefined;

    // The best total and how many nodes reach it.
    let bestScore = -Infinity;
    for (let c = 0; c < C; c++) {
      this.cTotal[c] = EMPTY;
      if (this.qMembers[c] === 0) continue;
      const t = this.qBest[c]! + rest(spreading, this.cRaw[c]!, minSpread, maxSpread);
      this.cTotal[c] = t;
      if (t > bestScore) bestScore = t;
    }
    for (let i = 0; i < special; i++) {
      const t = this.sBase[i]! + rest(spreading, this.sRaw[i]!, minSpread, maxSpread);
      this.sTotal[i] = t;
      if (t > bestScore) bestScore = t;
    }
    let ties = 0;
    for (let c = 0; c < C; c++) {
      if (this.cTotal[c] === bestScore) {
        ties += this.qCount[c]!;
        this.tiedBest[c] = this.qBest[c]!;
      } else {
        this.tiedBest[c] = EMPTY;
      }
    }
    // Tied nodes holding matching pods, in window order (positions from start, wrapping).
    let tiedSpecial = 0;
    for (let i = 0; i < special; i++) {
      if (this.sTotal[i] !== bestScore) continue;
      const pos = this.sPos[i]!;
      const rank = pos >= start ? pos - start : pos + len - start;
      let j = tiedSpecial++;
      while (j > 0 && this.rankOf(this.tied[j - 1]!, start) > rank) {
        this.tied[j] = this.tied[j - 1]!;
        j--;
      }
      this.tied[j] = pos;
    }
    ties += tiedSpecial;

    const k = ties > 1 ? rng.int(0, ties - 1) : 0;
    const slot = this.order[this.kthTied(start, end, k, tiedSpecial)]!;
    if (WindowIndex.check) this.verify(start, end, found, slot, bestScore, ties, k, counts, zoneIds);
    return slot;
  }

  /** Mark a zone present in this query (no matching pods yet: 0 × weight + 4); 1 when newly seen. */
  private present(z: number, stamp: number): number {
    if (this.zoneStamp[z] === stamp) return 0;
    this.zoneStamp[z] = stamp;
    this.zoneTerm[z] = 4;
    return 1;
  }

  private rankOf(pos: number, start: number): number {
    return pos >= start ? pos - start : pos + this.len - start;
  }

  private raw(flags: number, zone: number, cnt: number, hostWeight: number): number {
    let s = 0;
    if (flags & F_HOSTNAME) s += cnt * hostWeight + 2;
    if (flags & F_ZONE) s += this.zoneTerm[zone]!;
    return Math.round(s);
  }

  // ---- the k-th tied node in window order -------------------------------------------------

  // The walk's cursor: ties still to skip, and how many tied special positions lie behind it.
  private curK = 0;
  private curSp = 0;
  // tiedCount's answer: tied nodes in the range, and the special cursor past the range.
  private tcQ = 0;
  private tcSp = 0;

  /** The position of the k-th tied node of the window (tied plain nodes and `tied[0..n)`). */
  private kthTied(start: number, end: number, k: number, tiedSpecial: number): number {
    const len = this.len;
    this.curK = k;
    this.curSp = 0;
    const first = this.kthIn(start, Math.min(end, len), tiedSpecial);
    if (first >= 0) return first;
    if (end > len) {
      const second = this.kthIn(0, end - len, tiedSpecial);
      if (second >= 0) return second;
    }
    throw new Error('scheduler window: tie index out of range');
  }

  /**
   * Walk the tree nodes covering [lo, hi) left to right, skipping whole nodes while the k-th
   * tied node lies beyond them; -1 when it lies beyond the range (cursor then moved past it).
   */
  private kthIn(lo: number, hi: number, tiedSpecial: number): number {
    // Left-side nodes come in order; right-side nodes in reverse, so they are kept and replayed.
    const right = this.rightNodes;
    let nRight = 0;
    let l = lo + this.size;
    let r = hi + this.size;
    while (l < r) {
      if (l & 1) {
        const got = this.visit(l++, tiedSpecial);
        if (got >= 0) return got;
      }
      if (r & 1) right[nRight++] = --r;
      l >>= 1;
      r >>= 1;
    }
    while (nRight > 0) {
      const got = this.visit(right[--nRight]!, tiedSpecial);
      if (got >= 0) return got;
    }
    return -1;
  }

  private readonly rightNodes = new Int32Array(64);

  /** Sets tcQ (plain nodes in the tree plus tied special positions of a tree node's range) and tcSp. */
  private tiedCount(node: number, tiedSpecial: number): void {
    const a = this.firstPos(node);
    const b = a + this.width(node);
    let sp = this.curSp;
    while (sp < tiedSpecial && this.tied[sp]! >= a && this.tied[sp]! < b) sp++;
    this.tcQ = this.tiedIn(node) + (sp - this.curSp);
    this.tcSp = sp;
  }

  private visit(node: number, tiedSpecial: number): number {
    this.tiedCount(node, tiedSpecial);
    if (this.curK >= this.tcQ) {
      this.curK -= this.tcQ;
      this.curSp = this.tcSp;
      return -1;
    }
    let n = node;
    while (n < this.size) {
      this.tiedCount(2 * n, tiedSpecial);
      if (this.curK < this.tcQ) {
        n = 2 * n;
      } else {
        this.curK -= this.tcQ;
        this.curSp = this.tcSp;
        n = 2 * n + 1;
      }
    }
    return n - this.size;
  }

  private tiedIn(node: number): number {
    const C = this.classes;
    let q = 0;
    for (let c = 0; c < C; c++) {
      const t = this.tiedBest[c]!;
      if (t !== EMPTY && this.best[node * C + c] === t) q += this.bestCount[node * C + c]!;
    }
    return q;
  }

  /** The first position a tree node covers, and how many positions it covers (size is a power of two). */
  private firstPos(node: number): number {
    return (node << (Math.clz32(node) - Math.clz32(this.size))) - this.size;
  }

  private width(node: number): number {
    return 1 << (Math.clz32(node) - Math.clz32(this.size));
  }

  // ---- tree maintenance --------------------------------------------------------------------

  private layout(cache: SchedulerCache): void {
    const cols = cache.cols;
    const order = cache.nodeSlots();
    const len = order.length;
    this.usable = false;
    this.len = len;
    this.order = order;
    const classIds = new Map<number, number>();
    this.classZone = [];
    this.classFlags = [];
    this.classOf = new Int32Array(len);
    this.posOf = new Int32Array(cols.capacity).fill(-1);
    for (let pos = 0; pos < len; pos++) {
      const slot = order[pos]!;
      const flags = cols.flags[slot]!;
      if (flags & (F_UNSCHEDULABLE | F_FILTER_TAINTS | F_PREFER_TAINTS)) return;
      const key = cols.zoneId[slot]! * 4 + (flags & F_HOSTNAME ? 1 : 0) + (flags & F_ZONE ? 2 : 0);
      let c = classIds.get(key);
      if (c === undefined) {
        if (classIds.size >= MAX_CLASSES) return;
        classIds.set(key, (c = classIds.size));
        this.classZone.push(cols.zoneId[slot]!);
        this.classFlags.push(flags & (F_HOSTNAME | F_ZONE));
      }
      this.classOf[pos] = c;
      this.posOf[slot] = pos;
    }
    this.classes = Math.max(1, classIds.size);
    let size = 1;
    while (size < len) size <<= 1;
    this.size = size;
    const cells = 2 * size * this.classes;
    this.best = new Float64Array(cells);
    this.bestCount = new Int32Array(cells);
    this.members = new Int32Array(cells);
    this.total = new Int32Array(2 * size);
    this.usable = len > 0;
  }

  private build(): void {
    const C = this.classes;
    this.best.fill(EMPTY);
    this.bestCount.fill(0);
    this.members.fill(0);
    this.total.fill(0);
    for (let pos = 0; pos < this.len; pos++) this.setLeaf(pos, false);
    for (let n = this.size - 1; n >= 1; n--) {
      for (let c = 0; c < C; c++) this.pull(n, c);
      this.total[n] = this.total[2 * n]! + this.total[2 * n + 1]!;
    }
  }

  /** Recompute the leaf at `pos` from the node's columns; `up` also updates its ancestors. */
  private setLeaf(pos: number, up: boolean): void {
    const C = this.classes;
    const cols = this.cache!.cols;
    const slot = this.order[pos]!;
    const r = this.requests!;
    const leaf = this.size + pos;
    const c = this.classOf[pos]!;
    const i = leaf * C + c;
    if (fitsResources(cols, slot, r.milliCPU, r.memory)) {
      this.best[i] = resourceScore(cols, slot, r);
      this.bestCount[i] = 1;
      this.members[i] = 1;
      this.total[leaf] = 1;
    } else {
      this.best[i] = EMPTY;
      this.bestCount[i] = 0;
      this.members[i] = 0;
      this.total[leaf] = 0;
    }
    if (up) this.propagate(leaf, c);
  }

  private clearLeaf(pos: number): void {
    const C = this.classes;
    const leaf = this.size + pos;
    const c = this.classOf[pos]!;
    const i = leaf * C + c;
    this.best[i] = EMPTY;
    this.bestCount[i] = 0;
    this.members[i] = 0;
    this.total[leaf] = 0;
    this.propagate(leaf, c);
  }

  private propagate(leaf: number, c: number): void {
    for (let n = leaf >> 1; n >= 1; n >>= 1) {
      this.pull(n, c);
      this.total[n] = this.total[2 * n]! + this.total[2 * n + 1]!;
    }
  }

  private pull(n: number, c: number): void {
    const C = this.classes;
    const i = n * C + c;
    const a = 2 * n * C + c;
    const b = (2 * n + 1) * C + c;
    const ba = this.best[a]!;
    const bb = this.best[b]!;
    if (ba > bb) {
      this.best[i] = ba;
      this.bestCount[i] = this.bestCount[a]!;
    } else if (bb > ba) {
      this.best[i] = bb;
      this.bestCount[i] = this.bestCount[b]!;
    } else {
      this.best[i] = ba;
      this.bestCount[i] = this.bestCount[a]! + this.bestCount[b]!;
    }
    this.members[i] = this.members[a]! + this.members[b]!;
  }

  /** Merge the class aggregates of [lo, hi) into the query scratch. */
  private query(lo: number, hi: number): void {
    const C = this.classes;
    let l = lo + this.size;
    let r = hi + this.size;
    while (l < r) {
      if (l & 1) this.merge(l++, C);
      if (r & 1) this.merge(--r, C);
      l >>= 1;
      r >>= 1;
    }
  }

  private merge(node: number, C: number): void {
    for (let c = 0; c < C; c++) {
      const i = node * C + c;
      const b = this.best[i]!;
      if (b > this.qBest[c]!) {
        this.qBest[c] = b;
        this.qCount[c] = this.bestCount[i]!;
      } else if (b === this.qBest[c] && b !== EMPTY) {
        this.qCount[c]! += this.bestCount[i]!;
      }
      this.qMembers[c]! += this.members[i]!;
    }
  }

  /** Feasible nodes in positions [0, x). */
  private prefix(x: number): number {
    let sum = 0;
    let l = this.size;
    let r = x + this.size;
    while (l < r) {
      if (l & 1) sum += this.total[l++]!;
      if (r & 1) sum += this.total[--r]!;
      l >>= 1;
      r >>= 1;
    }
    return sum;
  }

  /** The position of the k-th (0-based) feasible node. */
  private kth(k: number): number {
    let n = 1;
    while (n < this.size) {
      const l = this.total[2 * n]!;
      if (k < l) n = 2 * n;
      else {
        k -= l;
        n = 2 * n + 1;
      }
    }
    return n - this.size;
  }

  // ---- checking against the linear computation (tests) ------------------------------------

  private verify(
    start: number,
    end: number,
    found: number,
    slot: number,
    bestScore: number,
    ties: number,
    k: number,
    counts: MatchCounts | undefined,
    zoneIds: ReadonlyMap<string, number>,
  ): void {
    const cols = this.cache!.cols;
    const r = this.requests!;
    const slots: number[] = [];
    for (let p = start; p < end; p++) {
      const pos = p % this.len;
      const s = this.order[pos]!;
      if (fitsResources(cols, s, r.milliCPU, r.memory) || (counts?.perSlot.has(s) && this.wasFeasible(s))) slots.push(s);
    }
    if (slots.length !== found) throw new Error(`scheduler window: found ${found}, linear ${slots.length}`);
    const hostWeight = Math.log(found + 2);
    const zones = new Set(slots.map((s) => cols.zoneId[s]!));
    const zoneWeight = Math.log(zones.size + 2);
    const raws = slots.map((s) => {
      if (!counts) return 0;
      const flags = cols.flags[s]!;
      let sc = 0;
      if (flags & F_HOSTNAME) sc += (counts.perSlot.get(s) ?? 0) * hostWeight + 2;
      if (flags & F_ZONE) {
        const z = cols.zoneId[s]!;
        let cnt = 0;
        for (const [zone, n] of counts.perZone) if (zoneIds.get(zone) === z) cnt = n;
        sc += cnt * zoneWeight + 4;
      }
      return Math.round(sc);
    });
    let min = Infinity;
    let max = 0;
    for (const v of raws) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const totals = slots.map((s, i) => {
      let t = resourceScore(cols, s, r) + WEIGHT.taint * MAX_NODE_SCORE;
      if (counts) t += WEIGHT.spread * (max === 0 ? MAX_NODE_SCORE : Math.trunc((MAX_NODE_SCORE * (max + min - raws[i]!)) / max));
      return t;
    });
    const best = Math.max(...totals);
    const tied = slots.filter((_, i) => totals[i] === best);
    if (best !== bestScore || tied.length !== ties || tied[k] !== slot) {
      throw new Error(`scheduler window: best ${bestScore}/${best}, ties ${ties}/${tied.length}, pick ${slot}/${tied[k]}`);
    }
  }

  private wasFeasible(slot: number): boolean {
    const r = this.requests!;
    return fitsResources(this.cache!.cols, slot, r.milliCPU, r.memory);
  }
}
