// `{ ...o, [key]: value }` for the per-pod hot paths, without V8's slow path: an object literal
// that starts with a spread and then adds a key the source lacks takes a runtime call (about
// 2 µs) and gives every result a hidden class of its own, which in turn makes later property
// accesses on those objects megamorphic. Here the copy is one object literal listing the
// source's keys in order, built by a small function made once per key list: the same keys in
// the same order and the same values as the spread gives (for JSON-like objects: own enumerable
// string keys, no symbols).

type Builder = (o: object, a: unknown, b: unknown) => object;

/** Builders by key list (the source's keys, then the keys set). */
const builders = new Map<string, Builder>();
/** Builders by source object, for sources that never change (template specs, initial statuses). */
const bySource = new WeakMap<object, { id: string; build: Builder }>();
/** Past this many key lists (objects of unusual shapes), plain spreads are used. */
const MAX_BUILDERS = 4096;

/** True when `o`'s own keys are exactly `keys`, in this order (a cheap check of a known shape). */
export function hasKeys(o: object, keys: readonly string[]): boolean {
  let i = 0;
  for (const k in o) {
    if (i >= keys.length || k !== keys[i] || !Object.prototype.hasOwnProperty.call(o, k)) return false;
    i++;
  }
  return i === keys.length;
}

/** `{ ...o, [key]: value }`. */
export function withKey<T extends object>(o: T, key: string, value: unknown): T {
  const build = builderFor(o, key, undefined);
  return build ? (build(o, value, undefined) as T) : { ...o, [key]: value };
}

/** `{ ...o, [key1]: value1, [key2]: value2 }`. */
export function withKeys<T extends object>(o: T, key1: string, value1: unknown, key2: string, value2: unknown): T {
  const build = builderFor(o, key1, key2);
  return build ? (build(o, value1, value2) as T) : { ...o, [key1]: value1, [key2]: value2 };
}

/** `{ ...o, [keys[0]]: values[0], [keys[1]]: values[1], … }` (keys distinct). */
export function withEntries<T extends object>(o: T, keys: readonly string[], values: readonly unknown[]): T {
  const build = listBuilderFor(o, keys);
  if (build) return build(o, values) as T;
  const out = { ...o } as Record<string, unknown>;
  for (let i = 0; i < keys.length; i++) out[keys[i]!] = values[i];
  return out as T;
}

/**
 * withKey for an object that never changes (a stored object or a part of one, often shared by
 * the pods of one template): its builder is remembered per object.
 */
export function storedWithKey<T extends object>(o: T, key: string, value: unknown): T {
  const hit = bySource.get(o);
  if (hit && hit.id === key) return hit.build(o, value, undefined) as T;
  const build = builderFor(o, key, undefined);
  if (!build) return { ...o, [key]: value };
  bySource.set(o, { id: key, build });
  return build(o, value, undefined) as T;
}

function builderFor(o: object, key1: string, key2: string | undefined): Builder | undefined {
  const keys = Object.keys(o);
  const id = `${keys.join('\u0000')}\u0001${key1}\u0001${key2 ?? ''}`;
  let b = builders.get(id);
  if (b) return b;
  if (builders.size >= MAX_BUILDERS || key1 === key2 || Object.getOwnPropertySymbols(o).length) return undefined;
  const set = key2 === undefined ? [key1] : [key1, key2];
  for (const k of keys) if (!plainKey(k)) return undefined;
  for (const k of set) if (!plainKey(k)) return undefined;
  const q = (k: string) => JSON.stringify(k);
  const value = (k: string) => (k === key1 ? 'a' : 'b');
  const parts = keys.map((k) => (set.includes(k) ? `${q(k)}: ${value(k)}` : `${q(k)}: o[${q(k)}]`));
  for (const k of set) if (!keys.includes(k)) parts.push(`${q(k)}: ${value(k)}`);
  // A generated literal: the one way to get a literal's fast, shared layout for a key list
  // known only at run time. Keys are quoted with JSON.stringify, so no key can change the code.
  b = new Function('o', 'a', 'b', `return { ${parts.join(', ')} };`) as Builder;
  builders.set(id, b);
  return b;
}

type ListBuilder = (o: object, v: readonly unknown[]) => object;

/**
 * A hot call site of withEntries that remembers the last two source shapes it copied (say, a
 * running and a terminating pod's metadata), so that a repeat costs a walk over the source's
 * keys instead of building their list as text.
 */
export interface CopySite {
  readonly set: readonly string[];
  keys: string[] | undefined;
  build: ListBuilder | undefined;
  keys2: string[] | undefined;
  build2: ListBuilder | undefined;
}

export function copySite(set: readonly string[]): CopySite {
  return { set, keys: undefined, build: undefined, keys2: undefined, build2: undefined };
}

/**
 * withEntries at a CopySite: `{ ...o, [set[0]]: values[0], … }`, built as one literal. Besides
 * being quick, the copy keeps every property in the object itself, where a spread meeting many
 * shapes, or keys added one by one, would put the ones past the first four in a side array.
 */
export function copyAt<T extends object>(site: CopySite, o: T, values: readonly unknown[]): T {
  if (site.keys !== undefined && hasKeys(o, site.keys)) return site.build!(o, values) as T;
  if (site.keys2 !== undefined && hasKeys(o, site.keys2)) return site.build2!(o, values) as T;
  const build = listBuilderFor(o, site.set);
  if (!build) return withEntries(o, site.set, values);
  site.keys2 = site.keys;
  site.build2 = site.build;
  site.keys = Object.keys(o);
  site.build = build;
  return build(o, values) as T;
}

const listBuilders = new Map<string, ListBuilder>();

function listBuilderFor(o: object, set: readonly string[]): ListBuilder | undefined {
  const keys = Object.keys(o);
  const id = `${keys.join('\u0000')}\u0001${set.join('\u0000')}`;
  let b = listBuilders.get(id);
  if (b) return b;
  if (listBuilders.size >= MAX_BUILDERS || new Set(set).size !== set.length || Object.getOwnPropertySymbols(o).length) return undefined;
  for (const k of keys) if (!plainKey(k)) return undefined;
  for (const k of set) if (!plainKey(k)) return undefined;
  const q = (k: string) => JSON.stringify(k);
  const parts = keys.map((k) => (set.includes(k) ? `${q(k)}: v[${set.indexOf(k)}]` : `${q(k)}: o[${q(k)}]`));
  set.forEach((k, i) => {
    if (!keys.includes(k)) parts.push(`${q(k)}: v[${i}]`);
  });
  b = new Function('o', 'v', `return { ${parts.join(', ')} };`) as ListBuilder;
  listBuilders.set(id, b);
  return b;
}

/** A key a literal lays out as a spread does: not `__proto__` (a literal would set the prototype), not an array index. */
function plainKey(k: string): boolean {
  return k !== '__proto__' && !/^(0|[1-9]\d*)$/.test(k);
}
