// A Map that reads through to a base map and records only its own changes: a ruleset restored onto
// another (a node's CNI chains onto kube-proxy's 40,000) holds the handful of chains it touched,
// not a copy of every entry. Iteration follows the base's order (changed entries in place), then
// the keys added here, as a copied Map would.

export class LayeredMap<K, V> extends Map<K, V> {
  private readonly removed = new Set<K>();

  constructor(private readonly base: ReadonlyMap<K, V>) {
    super();
  }

  /** The base map, the entries set here and the base keys removed here. */
  layers(): { readonly base: ReadonlyMap<K, V>; readonly own: ReadonlyMap<K, V>; readonly removed: ReadonlySet<K> } {
    const own = new Map<K, V>();
    for (const [k, v] of super.entries()) own.set(k, v);
    return { base: this.base, own, removed: this.removed };
  }

  override get(key: K): V | undefined {
    if (super.has(key)) return super.get(key);
    return this.removed.has(key) ? undefined : this.base.get(key);
  }

  override has(key: K): boolean {
    return super.has(key) || (!this.removed.has(key) && this.base.has(key));
  }

  override set(key: K, value: V): this {
    // A base key deleted and set again moves to the end, as in a Map: it stays hidden at its base place.
    return super.set(key, value);
  }

  override delete(key: K): boolean {
    const had = this.has(key);
    super.delete(key);
    if (this.base.has(key)) this.removed.add(key);
    return had;
  }

  override clear(): void {
    super.clear();
    for (const k of this.base.keys()) this.removed.add(k);
  }

  override get size(): number {
    let n = 0;
    for (const _ of this.keys()) n++;
    return n;
  }

  override *entries(): MapIterator<[K, V]> {
    for (const [k, v] of this.base) {
      if (this.removed.has(k)) continue;
      yield [k, super.has(k) ? super.get(k)! : v];
    }
    for (const [k, v] of super.entries()) if (!this.base.has(k) || this.removed.has(k)) yield [k, v];
  }

  override *keys(): MapIterator<K> {
    for (const [k] of this.entries()) yield k;
  }

  override *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  override [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  override forEach(fn: (value: V, key: K, map: Map<K, V>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }
}
