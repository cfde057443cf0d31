// Longest-prefix match: a path-compressed binary (Patricia) trie, one class per family so IPv4
// stays in 32-bit integer arithmetic and IPv6 uses BigInt. `LinearPrefixMap` is the plain
// "scan every prefix" reference the property tests compare the tries with.

export interface PrefixEntry<K, T> {
  readonly key: K;
  readonly len: number;
  readonly value: T;
}

export interface PrefixMap<K extends number | bigint, T> {
  readonly size: number;
  /** Insert or replace the value at `key/len` (host bits of `key` are ignored). */
  set(key: K, len: number, value: T): void;
  get(key: K, len: number): T | undefined;
  delete(key: K, len: number): boolean;
  /** The value of the longest prefix holding `addr`. */
  lookup(addr: K): T | undefined;
  lookupEntry(addr: K): PrefixEntry<K, T> | undefined;
  /** Every prefix holding `addr`, longest first (what the kernel backtracks through). */
  matches(addr: K): PrefixEntry<K, T>[];
  /** All entries: address order, a prefix before the longer prefixes inside it. */
  entries(): PrefixEntry<K, T>[];
}

// ---------------------------------------------------------------- IPv4

const MASK4 = new Int32Array(33);
for (let len = 1; len <= 32; len++) MASK4[len] = (0xffffffff << (32 - len)) | 0;

class Node4<T> {
  left: Node4<T> | null = null;
  right: Node4<T> | null = null;
  constructor(
    public key: number,
    public len: number,
    public value: T | undefined,
    public has: boolean,
  ) {}
}

function bit4(key: number, i: number): number {
  return (key >>> (31 - i)) & 1;
}

export class PrefixTrie4<T> implements PrefixMap<number, T> {
  private root: Node4<T> | null = null;
  private count = 0;

  get size(): number {
    return this.count;
  }

  set(key: number, len: number, value: T): void {
    key = (key & MASK4[len]!) >>> 0;
    if (!this.root) {
      this.root = new Node4(key, len, value, true);
      this.count++;
      return;
    }
    let parent: Node4<T> | null = null;
    let n = this.root;
    for (;;) {
      const diff = Math.clz32(key ^ n.key);
      const cpl = Math.min(len, n.len, diff);
      if (cpl < n.len) {
        // `n` lies below the new prefix, or the two diverge at bit `cpl`: insert a node above `n`.
        let mid: Node4<T>;
        if (cpl === len) {
          mid = new Node4(key, len, value, true);
          if (bit4(n.key, len)) mid.right = n;
          else mid.left = n;
        } else {
          mid = new Node4<T>((key & MASK4[cpl]!) >>> 0, cpl, undefined, false);
          const leaf = new Node4(key, len, value, true);
          if (bit4(key, cpl)) {
            mid.right = leaf;
            mid.left = n;
          } else {
            mid.left = leaf;
            mid.right = n;
          }
        }
        this.replace(parent, n, mid);
        this.count++;
        return;
      }
      if (len === n.len) {
        if (!n.has) this.count++;
        n.value = value;
        n.has = true;
        return;
      }
      const b = bit4(key, n.len);
      const next = b ? n.right : n.left;
      if (!next) {
        const leaf = new Node4(key, len, value, true);
        if (b) n.right = leaf;
        else n.left = leaf;
        this.count++;
        return;
      }
      parent = n;
      n = next;
    }
  }

  private replace(parent: Node4<T> | null, old: Node4<T>, by: Node4<T> | null): void {
    if (!parent) this.root = by;
    else if (parent.left === old) parent.left = by;
    else parent.right = by;
  }

  private find(key: number, len: number): Node4<T> | null {
    key = (key & MASK4[len]!) >>> 0;
    let n = this.root;
    while (n && n.len <= len) {
      if (((key ^ n.key) & MASK4[n.len]!) !== 0) return null;
      if (n.len === len) return n.has ? n : null;
      n = bit4(key, n.len) ? n.right : n.left;
    }
    return null;
  }

  get(key: number, len: number): T | undefined {
    return this.find(key, len)?.value;
  }

  delete(key: number, len: number): boolean {
    key = (key & MASK4[len]!) >>> 0;
    let grand: Node4<T> | null = null;
    let parent: Node4<T> | null = null;
    let n = this.root;
    while (n && n.len < len) {
      if (((key ^ n.key) & MASK4[n.len]!) !== 0) return false;
      grand = parent;
      parent = n;
      n = bit4(key, n.len) ? n.right : n.left;
    }
    if (!n || n.len !== len || n.key !== key || !n.has) return false;
    n.has = false;
    n.value = undefined;
    this.count--;
    if (n.left && n.right) return true;
    this.replace(parent, n, n.left ?? n.right);
    // A valueless parent left with one child is no longer needed.
    if (parent && !parent.has && !(parent.left && parent.right)) this.replace(grand, parent, parent.left ?? parent.right);
    return true;
  }

  lookup(addr: number): T | undefined {
    let n = this.root;
    let best: T | undefined;
    while (n !== null) {
      if (((addr ^ n.key) & MASK4[n.len]!) !== 0) break;
      if (n.has) best = n.value;
      if (n.len === 32) break;
      n = (addr >>> (31 - n.len)) & 1 ? n.right : n.left;
    }
    return best;
  }

  lookupEntry(addr: number): PrefixEntry<number, T> | undefined {
    let n = this.root;
    let best: Node4<T> | null = null;
    while (n !== null) {
      if (((addr ^ n.key) & MASK4[n.len]!) !== 0) break;
      if (n.has) best = n;
      if (n.len === 32) break;
      n = (addr >>> (31 - n.len)) & 1 ? n.right : n.left;
    }
    return best ? { key: best.key, len: best.len, value: best.value as T } : undefined;
  }

  matches(addr: number): PrefixEntry<number, T>[] {
    const out: PrefixEntry<number, T>[] = [];
    let n = this.root;
    while (n !== null) {
      if (((addr ^ n.key) & MASK4[n.len]!) !== 0) break;
      if (n.has) out.push({ key: n.key, len: n.len, value: n.value as T });
      if (n.len === 32) break;
      n = (addr >>> (31 - n.len)) & 1 ? n.right : n.left;
    }
    return out.reverse();
  }

  entries(): PrefixEntry<number, T>[] {
    const out: PrefixEntry<number, T>[] = [];
    const walk = (n: Node4<T> | null): void => {
      if (!n) return;
      if (n.has) out.push({ key: n.key, len: n.len, value: n.value as T });
      walk(n.left);
      walk(n.right);
    };
    walk(this.root);
    return out;
  }
}

// ---------------------------------------------------------------- IPv6

const MASK6: bigint[] = [];
const ALL6 = (1n << 128n) - 1n;
for (let len = 0; len <= 128; len++) MASK6.push(ALL6 ^ ((1n << BigInt(128 - len)) - 1n));
const SHIFT6: bigint[] = [];
for (let i = 0; i < 128; i++) SHIFT6.push(BigInt(127 - i));

class Node6<T> {
  left: Node6<T> | null = null;
  right: Node6<T> | null = null;
  constructor(
    public key: bigint,
    public len: number,
    public value: T | undefined,
    public has: boolean,
  ) {}
}

function bit6(key: bigint, i: number): boolean {
  return ((key >> SHIFT6[i]!) & 1n) === 1n;
}

/** Leading zero bits of a 128-bit value. */
function clz128(x: bigint): number {
  for (let w = 3; w >= 0; w--) {
    const word = Number((x >> BigInt(w * 32)) & 0xffffffffn);
    if (word !== 0) return (3 - w) * 32 + Math.clz32(word);
  }
  return 128;
}

export class PrefixTrie6<T> implements PrefixMap<bigint, T> {
  private root: Node6<T> | null = null;
  private count = 0;

  get size(): number {
    return this.count;
  }

  set(key: bigint, len: number, value: T): void {
    key &= MASK6[len]!;
    if (!this.root) {
      this.root = new Node6(key, len, value, true);
      this.count++;
      return;
    }
    let parent: Node6<T> | null = null;
    let n = this.root;
    for (;;) {
      const cpl = Math.min(len, n.len, clz128(key ^ n.key));
      if (cpl < n.len) {
        let mid: Node6<T>;
        if (cpl === len) {
          mid = new Node6(key, len, value, true);
          if (bit6(n.key, len)) mid.right = n;
          else mid.left = n;
        } else {
          mid = new Node6<T>(key & MASK6[cpl]!, cpl, undefined, false);
          const leaf = new Node6(key, len, value, true);
          if (bit6(key, cpl)) {
            mid.right = leaf;
            mid.left = n;
          } else {
            mid.left = leaf;
            mid.right = n;
          }
        }
        this.replace(parent, n, mid);
        this.count++;
        return;
      }
      if (len === n.len) {
        if (!n.has) this.count++;
        n.value = value;
        n.has = true;
        return;
      }
      const b = bit6(key, n.len);
      const next = b ? n.right : n.left;
      if (!next) {
        const leaf = new Node6(key, len, value, true);
        if (b) n.right = leaf;
        else n.left = leaf;
        this.count++;
        return;
      }
      parent = n;
      n = next;
    }
  }

  private replace(parent: Node6<T> | null, old: Node6<T>, by: Node6<T> | null): void {
    if (!parent) this.root = by;
    else if (parent.left === old) parent.left = by;
    else parent.right = by;
  }

  get(key: bigint, len: number): T | undefined {
    key &= MASK6[len]!;
    let n = this.root;
    while (n && n.len <= len) {
      if (((key ^ n.key) & MASK6[n.len]!) !== 0n) return undefined;
      if (n.len === len) return n.has ? n.value : undefined;
      n = bit6(key, n.len) ? n.right : n.left;
    }
    return undefined;
  }

  delete(key: bigint, len: number): boolean {
    key &= MASK6[len]!;
    let grand: Node6<T> | null = null;
    let parent: Node6<T> | null = null;
    let n = this.root;
    while (n && n.len < len) {
      if (((key ^ n.key) & MASK6[n.len]!) !== 0n) return false;
      grand = parent;
      parent = n;
      n = bit6(key, n.len) ? n.right : n.left;
    }
    if (!n || n.len !== len || n.key !== key || !n.has) return false;
    n.has = false;
    n.value = undefined;
    this.count--;
    if (n.left && n.right) return true;
    this.replace(parent, n, n.left ?? n.right);
    if (parent && !parent.has && !(parent.left && parent.right)) this.replace(grand, parent, parent.left ?? parent.right);
    return true;
  }

  private path(addr: bigint): Node6<T>[] {
    const out: Node6<T>[] = [];
    let n = this.root;
    while (n !== null) {
      if (((addr ^ n.key) & MASK6[n.len]!) !== 0n) break;
      if (n.has) out.push(n);
      if (n.len === 128) break;
      n = bit6(addr, n.len) ? n.right : n.left;
    }
    return out;
  }

  lookup(addr: bigint): T | undefined {
    const p = this.path(addr);
    return p.length ? p[p.length - 1]!.value : undefined;
  }

  lookupEntry(addr: bigint): PrefixEntry<bigint, T> | undefined {
    const p = this.path(addr);
    const n = p[p.length - 1];
    return n ? { key: n.key, len: n.len, value: n.value as T } : undefined;
  }

  matches(addr: bigint): PrefixEntry<bigint, T>[] {
    return this.path(addr)
      .reverse()
      .map((n) => ({ key: n.key, len: n.len, value: n.value as T }));
  }

  entries(): PrefixEntry<bigint, T>[] {
    const out: PrefixEntry<bigint, T>[] = [];
    const walk = (n: Node6<T> | null): void => {
      if (!n) return;
      if (n.has) out.push({ key: n.key, len: n.len, value: n.value as T });
      walk(n.left);
      walk(n.right);
    };
    walk(this.root);
    return out;
  }
}

// ---------------------------------------------------------------- reference

/**
 * The obviously-correct version: every prefix in an array, a lookup scans them all and keeps the
 * longest that holds the address. Arithmetic in BigInt for both families, independent of the tries.
 */
export class LinearPrefixMap<K extends number | bigint, T> implements PrefixMap<K, T> {
  private items: { key: bigint; len: number; value: T }[] = [];
  private readonly width: bigint;

  constructor(readonly family: 4 | 6) {
    this.width = family === 4 ? 32n : 128n;
  }

  private mask(len: number): bigint {
    return ((1n << this.width) - 1n) ^ ((1n << (this.width - BigInt(len))) - 1n);
  }

  private out(key: bigint): K {
    return (this.family === 4 ? Number(key) : key) as K;
  }

  get size(): number {
    return this.items.length;
  }

  set(key: K, len: number, value: T): void {
    const k = BigInt(key) & this.mask(len);
    const found = this.items.find((e) => e.key === k && e.len === len);
    if (found) found.value = value;
    else this.items.push({ key: k, len, value });
  }

  get(key: K, len: number): T | undefined {
    const k = BigInt(key) & this.mask(len);
    return this.items.find((e) => e.key === k && e.len === len)?.value;
  }

  delete(key: K, len: number): boolean {
    const k = BigInt(key) & this.mask(len);
    const i = this.items.findIndex((e) => e.key === k && e.len === len);
    if (i < 0) return false;
    this.items.splice(i, 1);
    return true;
  }

  lookup(addr: K): T | undefined {
    return this.lookupEntry(addr)?.value;
  }

  lookupEntry(addr: K): PrefixEntry<K, T> | undefined {
    const a = BigInt(addr);
    let best: { key: bigint; len: number; value: T } | undefined;
    for (const e of this.items) {
      if ((a & this.mask(e.len)) === e.key && (!best || e.len > best.len)) best = e;
    }
    return best && { key: this.out(best.key), len: best.len, value: best.value };
  }

  matches(addr: K): PrefixEntry<K, T>[] {
    const a = BigInt(addr);
    return this.items
      .filter((e) => (a & this.mask(e.len)) === e.key)
      .sort((x, y) => y.len - x.len)
      .map((e) => ({ key: this.out(e.key), len: e.len, value: e.value }));
  }

  entries(): PrefixEntry<K, T>[] {
    return [...this.items]
      .sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : x.len - y.len))
      .map((e) => ({ key: this.out(e.key), len: e.len, value: e.value }));
  }
}

export function createPrefixMap<T>(family: 4): PrefixTrie4<T>;
export function createPrefixMap<T>(family: 6): PrefixTrie6<T>;
export function createPrefixMap<T>(family: 4 | 6): PrefixTrie4<T> | PrefixTrie6<T>;
export function createPrefixMap<T>(family: 4 | 6): PrefixTrie4<T> | PrefixTrie6<T> {
  return family === 4 ? new PrefixTrie4<T>() : new PrefixTrie6<T>();
}
