// The API store: objects by kind and key, resourceVersion, uid, timestamps, generateName,
// graceful deletion, indexes and watch events. Objects handed out are shared, never copied:
// callers must treat them as immutable and write changed copies back with update().
import type { KObject } from './object.js';
import { flat, isClusterScoped as isClusterScopedKind, keyOf, objectKey } from './object.js';
import type { Clock } from './clock.js';
import { NAME_SUFFIX_ALPHABET, type Rng } from './rng.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent<T extends KObject = KObject> {
  type: EventType;
  object: T;
  /** The previous version, for MODIFIED and DELETED. */
  old?: T;
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

type IndexFn = (o: KObject) => readonly string[];
/**
 * The part of an object an index reads (one value, e.g. `o.metadata.labels`); when it is
 * identical (===) across an update, the index is not recomputed.
 */
type IndexInput = (o: KObject) => unknown;

interface Index {
  fn: IndexFn;
  input: IndexInput | undefined;
  buckets: Map<string, Set<string>>;
}

export interface DeleteOptions {
  /** Seconds of graceful termination; 0 removes at once. Pods default to their spec's value. */
  gracePeriodSeconds?: number;
}

export class Store {
  private readonly objects = new Map<string, Map<string, KObject>>();
  private readonly handlers = new Map<string, WatchHandler[]>();
  private readonly allHandlers: WatchHandler[] = [];
  private readonly admissions = new Map<string, Admission[]>();
  private readonly indexes = new Map<string, Index[]>();
  private readonly indexByName = new Map<string, Map<string, Index>>();
  private rv = 0;
  /** Writes so far per kind: a cheap way for derived data to know it is still current. */
  private readonly writesByKind = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly rng: Rng,
  ) {}

  // ---- reads -------------------------------------------------------------------------------

  get<T extends KObject = KObject>(kind: string, namespace: string | undefined, name: string): T | undefined {
    return this.objects.get(kind)?.get(keyOf(kind, namespace, name)) as T | undefined;
  }

  getByKey<T extends KObject = KObject>(kind: string, key: string): T | undefined {
    return this.objects.get(kind)?.get(key) as T | undefined;
  }

  /** Objects of a kind (in one namespace if given), in creation order. */
  list<T extends KObject = KObject>(kind: string, namespace?: string): T[] {
    const all = this.objects.get(kind);
    if (!all) return [];
    const out: T[] = [];
    for (const o of all.values()) if (namespace === undefined || o.metadata.namespace === namespace) out.push(o as T);
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
    return this.writesByKind.get(kind) ?? 0;
  }

  // ---- indexes -----------------------------------------------------------------------------

  /** Maintain an index: each object of `kind` is filed under every value `fn` returns. */
  addIndex(kind: string, name: string, fn: IndexFn, input?: IndexInput): void {
    let byName = this.indexByName.get(kind);
    if (!byName) this.indexByName.set(kind, (byName = new Map()));
    const idx: Index = { fn, input, buckets: new Map() };
    const prev = byName.get(name);
    byName.set(name, idx);
    const list = (this.indexes.get(kind) ?? []).filter((x) => x !== prev);
    list.push(idx);
    this.indexes.set(kind, list);
    for (const o of this.objects.get(kind)?.values() ?? []) for (const v of fn(o)) bucket(idx, v).add(objectKey(o));
  }

  /** Keys of objects filed under `value` in an index (a live set: copy before writing while iterating). */
  byIndex(kind: string, name: string, value: string): ReadonlySet<string> {
    return this.indexByName.get(kind)?.get(name)?.buckets.get(value) ?? EMPTY;
  }

  // ---- watches and admission ---------------------------------------------------------------

  watch<T extends KObject = KObject>(kind: string, handler: WatchHandler<T>): void {
    let hs = this.handlers.get(kind);
    if (!hs) this.handlers.set(kind, (hs = []));
    hs.push(handler as WatchHandler);
  }

  watchAll(handler: WatchHandler): void {
    this.allHandlers.push(handler);
  }

  admit(kind: string, admission: Admission): void {
    let as = this.admissions.get(kind);
    if (!as) this.admissions.set(kind, (as = []));
    as.push(admission);
  }

  // ---- writes ------------------------------------------------------------------------------

  create<T extends KObject>(input: T): T {
    const meta = { ...input.metadata };
    if (!meta.name && meta.generateName) meta.name = this.generateName(input.kind, meta.namespace, meta.generateName);
    if (!meta.name) throw new ApiError('Invalid', 'name or generateName is required', 'metadata.name');
    if (!isClusterScopedKind(input.kind) && !meta.namespace) meta.namespace = 'default';
    let obj: KObject = { ...input, metadata: meta };
    const key = objectKey(obj);
    const byKey = this.kindMap(obj.kind);
    if (byKey.has(key)) {
      throw new ApiError('AlreadyExists', `${obj.kind.toLowerCase()} "${meta.name}" already exists`, 'metadata.name');
    }
    for (const a of this.admissions.get(obj.kind) ?? []) if (a.create) obj = a.create(obj);
    // Server-set fields win over whatever the client sent. (Declaring the keys first and
    // overwriting them is much cheaper in V8 than adding keys after a spread.)
    const stamped: Record<string, unknown> = { uid: '', resourceVersion: '', creationTimestamp: '', ...obj.metadata };
    stamped['uid'] = this.rng.uuid();
    stamped['resourceVersion'] = String(++this.rv);
    stamped['creationTimestamp'] = this.clock.rfc3339();
    if (stamped['generation'] === undefined && hasSpec(obj)) stamped['generation'] = 1;
    obj.metadata = stamped as KObject['metadata'];
    byKey.set(key, obj);
    this.reindex(undefined, obj, key);
    this.emit({ type: 'ADDED', object: obj });
    return obj as T;
  }

  update<T extends KObject>(obj: T): T {
    const key = objectKey(obj);
    const old = this.kindMap(obj.kind).get(key);
    if (!old) throw new ApiError('NotFound', `${obj.kind.toLowerCase()} "${obj.metadata.name}" not found`);
    let next: KObject = obj;
    for (const a of this.admissions.get(obj.kind) ?? []) if (a.update) next = a.update(next, old);
    const generation =
      hasSpec(next) && next['spec'] !== old['spec'] ? (old.metadata.generation ?? 1) + 1 : old.metadata.generation;
    const meta: Record<string, unknown> = {
      ...next.metadata,
      uid: old.metadata.uid,
      creationTimestamp: old.metadata.creationTimestamp,
      resourceVersion: String(++this.rv),
    };
    if (generation !== undefined) meta['generation'] = generation;
    next = { ...next, metadata: meta as KObject['metadata'] };
    this.kindMap(obj.kind).set(key, next);
    this.reindex(old, next, key);
    this.emit({ type: 'MODIFIED', object: next, old });
    return next as T;
  }

  /**
   * Delete as the API server does: a scheduled Pod with a grace period gets a deletionTimestamp
   * and stays until the kubelet removes it; everything else leaves at once.
   */
  delete(kind: string, namespace: string | undefined, name: string, opts: DeleteOptions = {}): KObject | undefined {
    const key = keyOf(kind, namespace, name);
    const old = this.kindMap(kind).get(key);
    if (!old) return undefined;
    const grace = opts.gracePeriodSeconds ?? podGrace(old);
    if (kind === 'Pod' && grace > 0 && (old['spec'] as { nodeName?: string } | undefined)?.nodeName) {
      if (old.metadata.deletionTimestamp) return old;
      return this.update({
        ...old,
        metadata: {
          ...old.metadata,
          deletionTimestamp: this.clock.rfc3339(this.clock.now() + grace * 1000),
          deletionGracePeriodSeconds: grace,
        },
      });
    }
    this.kindMap(kind).delete(key);
    this.reindex(old, undefined, key);
    this.rv++;
    for (const a of this.admissions.get(kind) ?? []) a.deleted?.(old);
    this.emit({ type: 'DELETED', object: old, old });
    return old;
  }

  private kindMap(kind: string): Map<string, KObject> {
    let m = this.objects.get(kind);
    if (!m) this.objects.set(kind, (m = new Map()));
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

  private reindex(old: KObject | undefined, obj: KObject | undefined, key: string): void {
    const list = this.indexes.get((obj ?? old)!.kind);
    if (!list) return;
    for (let i = 0; i < list.length; i++) {
      const idx = list[i]!;
      if (old && obj && idx.input && idx.input(old) === idx.input(obj)) continue;
      const before = old ? idx.fn(old) : NONE;
      const after = obj ? idx.fn(obj) : NONE;
      if (sameValues(before, after)) continue;
      for (const v of before) if (!after.includes(v)) idx.buckets.get(v)?.delete(key);
      for (const v of after) bucket(idx, v).add(key);
    }
  }

  private emit(ev: WatchEvent): void {
    const kind = ev.object.kind;
    this.writesByKind.set(kind, (this.writesByKind.get(kind) ?? 0) + 1);
    for (const h of this.handlers.get(ev.object.kind) ?? []) h(ev);
    for (const h of this.allHandlers) h(ev);
  }
}

const EMPTY: ReadonlySet<string> = new Set();
const NONE: readonly string[] = [];

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function bucket(idx: Index, v: string): Set<string> {
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
