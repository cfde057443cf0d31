// The API store: objects by kind and key, resourceVersion, uid, timestamps, generateName,
// graceful deletion, indexes and watch events. Objects handed out are shared, never copied:
// callers must treat them as immutable and write changed copies back with update().
import type { KObject } from './object.js';
import { flat, isClusterScoped as isClusterScopedKind, keyOf, objectKey } from './object.js';
import type { Clock } from './clock.js';
import { NAME_SUFFIX_ALPHABET, type Rng } from './rng.js';
import { copyAt, copySite, withKeys, type CopySite } from './copy.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent<T extends KObject = KObject> {
  type: EventType;
  object: T;
  /** The previous version, for MODIFIED and DELETED. */
  old?: T;
  /** The object's store key (`ns/name`, or `name`): set by the store, so handlers need not rebuild it. */
  key?: string;
}

export type WatchHandler<T extends KObject = KObject> = (ev: WatchEvent<T>) => void;

export type ApiReason = 'AlreadyExists' | 'NotFound' | 'Invalid' | 'Conflict' | 'Forbidden';

/** An error the API server would return; `field` is the offending field path, when there is one. */
export class ApiError extends Error {
  constructor(
    readonly reason: ApiReason,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Registry logic the API server runs on writes (defaulting, allocation, validation). */
export interface Admission {
  /** May return a changed object; throws ApiError to reject. */
  create?(obj: KObject): KObject;
  update?(obj: KObject, old: KObject): KObject;
  /** After the object has left the store (release allocations). */
  deleted?(obj: KObject): void;
}

/**
 * A stored object with its key. Index buckets hold entries rather than keys, so reading an index
 * needs no lookup by key (one in a map of every Pod costs several cache misses). An entry lives
 * while its object is stored, and `object` is always the current version.
 */
export interface StoreEntry<T extends KObject = KObject> {
  readonly key: string;
  readonly object: T;
}

interface Entry {
  key: string;
  object: KObject;
}

type IndexFn = (o: KObject) => readonly string[];
/** An index that files each object under at most one value (no array per call). */
type SingleIndexFn = (o: KObject) => string | undefined;
/**
 * The part of an object an index reads (one value, e.g. `o.metadata.labels`); when it is
 * identical (===) across an update, the index is not recomputed.
 */
type IndexInput = (o: KObject) => unknown;

interface Index {
  fn: IndexFn;
  /** Set for single-valued indexes (fn then wraps it). */
  one: SingleIndexFn | undefined;
  input: IndexInput | undefined;
  buckets: Map<string, Set<Entry>>;
}

export interface DeleteOptions {
  /** Seconds of graceful termination; 0 removes at once. Pods default to their spec's value. */
  gracePeriodSeconds?: number;
}

/** Everything the store keeps for one kind, found with one lookup per call. */
interface KindState {
  /** Entries by key; undefined until the kind is first written (kinds() lists written kinds). */
  objects: Map<string, Entry> | undefined;
  handlers: WatchHandler[];
  admissions: Admission[];
  indexes: Index[];
  indexByName: Map<string, Index>;
  /** Writes so far: a cheap way for derived data to know it is still current. */
  writes: number;
  /** Copy sites for this kind's writes (made on first use). */
  copySites: KindCopySites | undefined;
}

interface KindCopySites {
  meta: CopySite;
  restamp: CopySite;
  restampGen: CopySite;
  withMeta: CopySite;
}

function copySitesOf(st: KindState): KindCopySites {
  return (st.copySites ??= {
    meta: copySite([]),
    restamp: copySite(['uid', 'creationTimestamp', 'resourceVersion']),
    restampGen: copySite(['uid', 'creationTimestamp', 'resourceVersion', 'generation']),
    withMeta: copySite(['metadata']),
  });
}

export class Store {
  private readonly objects = new Map<string, Map<string, Entry>>();
  private readonly states = new Map<string, KindState>();
  private readonly allHandlers: WatchHandler[] = [];
  private rv = 0;

  constructor(
    private readonly clock: Clock,
    private readonly rng: Rng,
  ) {}

  // ---- reads -------------------------------------------------------------------------------

  get<T extends KObject = KObject>(kind: string, namespace: string | undefined, name: string): T | undefined {
    return this.objects.get(kind)?.get(keyOf(kind, namespace, name))?.object as T | undefined;
  }

  getByKey<T extends KObject = KObject>(kind: string, key: string): T | undefined {
    return this.objects.get(kind)?.get(key)?.object as T | undefined;
  }

  /** Objects of a kind (in one namespace if given), in creation order. */
  list<T extends KObject = KObject>(kind: string, namespace?: string): T[] {
    const all = this.objects.get(kind);
    if (!all) return [];
    const out: T[] = [];
    for (const { object: o } of all.values()) if (namespace === undefined || o.metadata.namespace === namespace) out.push(o as T);
    return out;
  }

  count(kind: string): number {
    return this.objects.get(kind)?.size ?? 0;
  }

  kinds(): string[] {
    return [...this.objects.keys()];
  }

  resourceVersion(): number {
    return this.rv;
  }

  /** How many creates, updates and deletes objects of `kind` have seen (changes on every write). */
  writes(kind: string): number {
    return this.states.get(kind)?.writes ?? 0;
  }

  // ---- indexes -----------------------------------------------------------------------------

  /** Maintain an index: each object of `kind` is filed under every value `fn` returns. */
  addIndex(kind: string, name: string, fn: IndexFn, input?: IndexInput): void {
    this.installIndex(kind, name, fn, undefined, input);
  }

  /** addIndex for an index that files each object under one value or none. */
  addSingleIndex(kind: string, name: string, one: SingleIndexFn, input?: IndexInput): void {
    this.installIndex(kind, name, (o) => {
      const v = one(o);
      return v === undefined ? NONE : [v];
    }, one, input);
  }

  private installIndex(kind: string, name: string, fn: IndexFn, one: SingleIndexFn | undefined, input: IndexInput | undefined): void {
    const st = this.state(kind);
    const idx: Index = { fn, one, input, buckets: new Map() };
    const prev = st.indexByName.get(name);
    st.indexByName.set(name, idx);
    const list = st.indexes.filter((x) => x !== prev);
    list.push(idx);
    st.indexes = list;
    for (const e of this.objects.get(kind)?.values() ?? []) for (const v of fn(e.object)) bucket(idx, v).add(e);
  }

  /**
   * The entries of objects filed under `value` in an index, in filing order (a live set: copy
   * it before writing while iterating, and then look each key up again).
   */
  byIndex(kind: string, name: string, value: string): ReadonlySet<StoreEntry> {
    return this.states.get(kind)?.indexByName.get(name)?.buckets.get(value) ?? EMPTY;
  }

  // ---- watches and admission ---------------------------------------------------------------

  watch<T extends KObject = KObject>(kind: string, handler: WatchHandler<T>): void {
    this.state(kind).handlers.push(handler as WatchHandler);
  }

  watchAll(handler: WatchHandler): void {
    this.allHandlers.push(handler);
  }

  admit(kind: string, admission: Admission): void {
    this.state(kind).admissions.push(admission);
  }

  // ---- writes ------------------------------------------------------------------------------

  create<T extends KObject>(input: T): T {
    // Server-set fields go first and win over whatever the client sent. (Declaring the keys
    // first and overwriting them is much cheaper in V8 than adding keys after a spread.)
    const meta: Mutable<KObject['metadata']> = input.kind === 'Pod' ? podStampable(input.metadata) : stampable(input.metadata);
    if (!meta.name && meta.generateName) meta.name = this.generateName(input.kind, meta.namespace, meta.generateName);
    if (!meta.name) throw new ApiError('Invalid', 'name or generateName is required', 'metadata.name');
    if (!isClusterScopedKind(input.kind) && !meta.namespace) meta.namespace = 'default';
    let obj: KObject = input.kind === 'Pod' ? withPodMetadata(input, meta) : withMetadata(input, meta);
    const key = objectKey(obj);
    const st = this.state(obj.kind);
    const byKey = this.kindMap(obj.kind, st);
    if (byKey.has(key)) {
      throw new ApiError('AlreadyExists', `${obj.kind.toLowerCase()} "${meta.name}" already exists`, 'metadata.name');
    }
    for (const a of st.admissions) if (a.create) obj = a.create(obj);
    // The same key order either way; a copy only when admission replaced the metadata.
    const stamped: Record<string, unknown> = obj.metadata === meta ? meta : stampable(obj.metadata);
    stamped['uid'] = this.rng.uuid();
    stamped['resourceVersion'] = String(++this.rv);
    stamped['creationTimestamp'] = this.clock.rfc3339();
    if (stamped['generation'] === undefined && hasSpec(obj)) stamped['generation'] = 1;
    // The stamped metadata copied into one literal, which keeps all its properties in the object
    // itself (the keys added above went to a side array that every later version would copy).
    obj.metadata = copyAt(copySitesOf(st).meta, stamped, NO_VALUES) as KObject['metadata'];
    const entry: Entry = { key, object: obj };
    byKey.set(key, entry);
    this.reindex(st, undefined, obj, entry);
    this.emit(st, { type: 'ADDED', object: obj, old: undefined, key });
    return obj as T;
  }

  update<T extends KObject>(obj: T): T {
    const key = objectKey(obj);
    const st = this.state(obj.kind);
    const byKey = this.kindMap(obj.kind, st);
    const entry = byKey.get(key);
    if (!entry) throw new ApiError('NotFound', `${obj.kind.toLowerCase()} "${obj.metadata.name}" not found`);
    const old = entry.object;
    let next: KObject = obj;
    for (const a of st.admissions) if (a.update) next = a.update(next, old);
    const generation =
      hasSpec(next) && next['spec'] !== old['spec'] ? (old.metadata.generation ?? 1) + 1 : old.metadata.generation;
    const rv = String(++this.rv);
    // `{ ...m, uid, creationTimestamp, resourceVersion }` (and the generation), then the object
    // with it: each one literal, through this kind's copy sites (copy.ts).
    const sites = copySitesOf(st);
    const meta =
      generation !== undefined
        ? copyAt<object>(sites.restampGen, next.metadata, [old.metadata.uid, old.metadata.creationTimestamp, rv, generation])
        : copyAt<object>(sites.restamp, next.metadata, [old.metadata.uid, old.metadata.creationTimestamp, rv]);
    next = copyAt(sites.withMeta, next, [meta]);
    entry.object = next;
    this.reindex(st, old, next, entry);
    // The entry's key: handlers then queue the string the store's maps already hold.
    this.emit(st, { type: 'MODIFIED', object: next, old, key: entry.key });
    return next as T;
  }

  /**
   * Delete as the API server does: a scheduled Pod with a grace period gets a deletionTimestamp
   * and stays until the kubelet removes it; everything else leaves at once.
   */
  delete(kind: string, namespace: string | undefined, name: string, opts: DeleteOptions = {}): KObject | undefined {
    const key = keyOf(kind, namespace, name);
    const st = this.state(kind);
    const byKey = this.kindMap(kind, st);
    const entry = byKey.get(key);
    if (!entry) return undefined;
    const old = entry.object;
    const grace = opts.gracePeriodSeconds ?? podGrace(old);
    if (kind === 'Pod' && grace > 0 && (old['spec'] as { nodeName?: string } | undefined)?.nodeName) {
      if (old.metadata.deletionTimestamp) return old;
      return this.update({
        ...old,
        // withKeys: the spread with two keys added, without V8's slow path (see copy.ts).
        metadata: withKeys(old.metadata, 'deletionTimestamp', this.clock.rfc3339(this.clock.now() + grace * 1000), 'deletionGracePeriodSeconds', grace),
      });
    }
    byKey.delete(key);
    this.reindex(st, old, undefined, entry);
    this.rv++;
    for (const a of st.admissions) a.deleted?.(old);
    this.emit(st, { type: 'DELETED', object: old, old, key: entry.key });
    return old;
  }

  private state(kind: string): KindState {
    let st = this.states.get(kind);
    if (!st) {
      st = { objects: undefined, handlers: [], admissions: [], indexes: [], indexByName: new Map(), writes: 0, copySites: undefined };
      this.states.set(kind, st);
    }
    return st;
  }

  private kindMap(kind: string, st: KindState = this.state(kind)): Map<string, Entry> {
    let m = st.objects;
    if (!m) {
      m = new Map();
      st.objects = m;
      this.objects.set(kind, m);
    }
    return m;
  }

  private generateName(kind: string, namespace: string | undefined, prefix: string): string {
    const m = this.kindMap(kind);
    // apimachinery caps the prefix so that prefix+suffix fits 63 characters.
    const base = prefix.length > 58 ? prefix.slice(0, 58) : prefix;
    for (;;) {
      const name = flat(base + this.rng.string(5, NAME_SUFFIX_ALPHABET));
      if (!m.has(keyOf(kind, namespace ?? 'default', name))) return name;
    }
  }

  private reindex(st: KindState, old: KObject | undefined, obj: KObject | undefined, entry: Entry): void {
    const list = st.indexes;
    for (let i = 0; i < list.length; i++) {
      const idx = list[i]!;
      if (old && obj && idx.input && idx.input(old) === idx.input(obj)) continue;
      const one = idx.one;
      if (one) {
        const b = old ? one(old) : undefined;
        const a = obj ? one(obj) : undefined;
        if (b === a) continue;
        if (b !== undefined) idx.buckets.get(b)?.delete(entry);
        if (a !== undefined) bucket(idx, a).add(entry);
        continue;
      }
      const before = old ? idx.fn(old) : NONE;
      const after = obj ? idx.fn(obj) : NONE;
      if (sameValues(before, after)) continue;
      for (const v of before) if (!after.includes(v)) idx.buckets.get(v)?.delete(entry);
      for (const v of after) bucket(idx, v).add(entry);
    }
  }

  private emit(st: KindState, ev: WatchEvent): void {
    st.writes++;
    const hs = st.handlers;
    for (let i = 0; i < hs.length; i++) hs[i]!(ev);
    const all = this.allHandlers;
    for (let i = 0; i < all.length; i++) all[i]!(ev);
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Meta = KObject['metadata'];

// The copies every write makes, as small functions: V8 keeps one inline cache per object spread
// in the source, and a spread that meets many object shapes (every kind's metadata) takes a slow
// path about twenty times slower. Pods, most of the writes, get spreads of their own.

/** Metadata with the server-set fields declared first (then overwritten: cheaper than adding keys). */
function stampable(m: Meta): Mutable<Meta> {
  return { uid: '', resourceVersion: '', creationTimestamp: '', ...m };
}
function podStampable(m: Meta): Mutable<Meta> {
  return { uid: '', resourceVersion: '', creationTimestamp: '', ...m };
}
const NO_VALUES: readonly unknown[] = [];

function withMetadata(o: KObject, metadata: object): KObject {
  return { ...o, metadata: metadata as Meta };
}
function withPodMetadata(o: KObject, metadata: object): KObject {
  return { ...o, metadata: metadata as Meta };
}

const EMPTY: ReadonlySet<StoreEntry> = new Set();
const NONE: readonly string[] = [];

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function bucket(idx: Index, v: string): Set<Entry> {
  let s = idx.buckets.get(v);
  if (!s) idx.buckets.set(v, (s = new Set()));
  return s;
}

function hasSpec(o: KObject): boolean {
  return o['spec'] !== undefined;
}

function podGrace(o: KObject): number {
  if (o.kind !== 'Pod') return 0;
  const g = (o['spec'] as { terminationGracePeriodSeconds?: number } | undefined)?.terminationGracePeriodSeconds;
  return g ?? 30;
}
