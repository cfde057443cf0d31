// Template hashing: FNV-32a over a canonical JSON of the object, safe-encoded the way
// apimachinery's rand.SafeEncodeString does (each decimal digit mapped into a 27-letter alphabet).
// Upstream hashes a go-spew dump of the Go struct, so the exact hash strings differ from a real
// cluster's; they are stable per template here and change exactly when upstream's would.

import { flat } from '../object.js';

const ENCODER = new TextEncoder();
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** FNV-1a, 32 bits. */
export function fnv32a(bytes: Uint8Array, h = 0x811c9dc5): number {
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** FNV-1, 32 bits (multiply then xor), as Go's fnv.New32 — used for ControllerRevision names. */
export function fnv32(bytes: Uint8Array, h = 0x811c9dc5): number {
  for (let i = 0; i < bytes.length; i++) {
    h = Math.imul(h, 0x01000193) >>> 0;
    h ^= bytes[i]!;
  }
  return h >>> 0;
}

/** rand.SafeEncodeString: every character replaced by SAFE_ALPHABET[byte % 27]. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += SAFE_ALPHABET[s.charCodeAt(i) % SAFE_ALPHABET.length];
  return out;
}

/**
 * JSON with object keys sorted and empty values dropped (undefined, null, [], {}), so that two
 * semantically equal objects — apimachinery's Semantic.DeepEqual treats nil and empty alike —
 * serialise identically.
 */
export function canonicalJson(v: unknown): string {
  return canon(v) ?? 'null';
}

// Built by appending rather than with arrays and join: the same text, a fraction of the garbage.
function canon(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) {
    if (v.length === 0) return undefined;
    let out = '[';
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out += ',';
      out += canon(v[i]) ?? 'null';
    }
    return out + ']';
  }
  if (typeof v === 'object') {
    const keys = Object.keys(v as object).sort();
    let out = '';
    for (const k of keys) {
      const c = canon((v as Record<string, unknown>)[k]);
      if (c === undefined) continue;
      out += out === '' ? '{' : ',';
      out += quotedKey(k) + c;
    }
    return out === '' ? undefined : out + '}';
  }
  return JSON.stringify(v);
}

// Templates use the same few dozen keys over and over: quote each once.
const quotedKeys = new Map<string, string>();
function quotedKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = JSON.stringify(k) + ':';
    if (quotedKeys.size < 4096) quotedKeys.set(k, q);
  }
  return q;
}

const canonCache = new WeakMap<object, string>();

/** canonicalJson, memoised per (immutable) object. */
export function canonicalJsonOf(o: object): string {
  let s = canonCache.get(o);
  if (s === undefined) canonCache.set(o, (s = flat(canonicalJson(o))));
  return s;
}

/**
 * controller.ComputeHash: the pod-template-hash of a template. The collision count, when set,
 * is appended as 8 bytes (uint32 little-endian, then 4 zero bytes) exactly as upstream writes it.
 */
export function computeHash(template: object, collisionCount?: number): string {
  let h = fnv32a(ENCODER.encode(canonicalJsonOf(template)));
  if (collisionCount !== undefined) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv32a(b, h);
  }
  return safeEncodeString(String(h));
}

/** history.HashControllerRevision: FNV-1 over the revision data, then the collision count in decimal. */
export function hashControllerRevision(data: string, collisionCount?: number): string {
  let h = fnv32(ENCODER.encode(data));
  if (collisionCount !== undefined) h = fnv32(ENCODER.encode(String(collisionCount)), h);
  return safeEncodeString(String(h));
}
