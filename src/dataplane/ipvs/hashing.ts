// The hashing schedulers, computed as the kernel computes them, so a given packet maps to exactly
// one real server (or to none):
//
//  sh (ip_vs_sh.c): 256 buckets filled in list order, each server taking `weight` consecutive
//    buckets (a weight-0 server still takes one: `++d_count >= weight` moves on after it);
//    bucket = hash_32(port + ntohl(saddr), 8), port = the client port with sh-port, else 0.
//    The bucket's server is used if its weight > 0 and it is not overloaded; otherwise no
//    destination, or with sh-fallback the walk `(offset + ihash) % 256` re-hashed.
//  dh (ip_vs_dh.c): 256 buckets, server i % n in list order (weights ignored); bucket =
//    hash_32(ntohl(daddr), 8); unavailable (weight <= 0 or overloaded) means no destination.
//  mh (ip_vs_mh.c): Maglev, table size 4093 (CONFIG_IP_VS_MH_TAB_INDEX 12 -> primes[4]); each
//    server's offset/skip from hsiphash of (ntohs(port) + ntohl(addr)) with keys 2654435761 and
//    2654446892; turns = (last_weight / gcd) >> rshift (at least 1 for a non-zero last weight),
//    rshift = fls(max/gcd) - 6 when positive; slot = hsiphash(port + ntohl(saddr)) % 4093.
//
// Tables are cached per real-server list (models are immutable).
import { hash32, foldAddress, hsiphashU32 } from './hash.js';
import { hasFallback, hashesPort, lastWeightOf, type RealServer, type VirtualService } from './model.js';

export const SH_TAB_SIZE = 256;
export const DH_TAB_SIZE = 256;
export const MH_TAB_SIZE = 4093;
const MH_TAB_BITS = 6; // CONFIG_IP_VS_MH_TAB_INDEX / 2
const MH_KEY1: readonly [bigint, bigint] = [2654435761n, 2654435761n];
const MH_KEY2: readonly [bigint, bigint] = [2654446892n, 2654446892n];

/** What makes a server unusable for a new connection (is_unavailable). */
export type Unavailable = (index: number) => boolean;

const shTables = new WeakMap<readonly RealServer[], Int32Array>();
const dhTables = new WeakMap<readonly RealServer[], Int32Array>();
const mhTables = new WeakMap<readonly RealServer[], Int32Array>();

/** ip_vs_sh_reassign: bucket -> server index (-1: none). */
export function shTable(servers: readonly RealServer[]): Int32Array {
  let t = shTables.get(servers);
  if (t) return t;
  t = new Int32Array(SH_TAB_SIZE).fill(-1);
  if (servers.length) {
    let p = 0;
    let count = 0;
    for (let i = 0; i < SH_TAB_SIZE; i++) {
      t[i] = p;
      if (++count >= servers[p]!.weight) {
        p = (p + 1) % servers.length;
        count = 0;
      }
    }
  }
  shTables.set(servers, t);
  return t;
}

/** ip_vs_dh_reassign: bucket i -> server i % n. */
export function dhTable(servers: readonly RealServer[]): Int32Array {
  let t = dhTables.get(servers);
  if (t) return t;
  t = new Int32Array(DH_TAB_SIZE).fill(-1);
  if (servers.length) for (let i = 0; i < DH_TAB_SIZE; i++) t[i] = i % servers.length;
  dhTables.set(servers, t);
  return t;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** fls(): position of the most significant set bit, 1-based; 0 for 0. */
function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

function mhKey(address: string, port: number, key: readonly [bigint, bigint], offset: number): number {
  return hsiphashU32((offset + port + foldAddress(address)) >>> 0, key);
}

/** ip_vs_mh_permutate + ip_vs_mh_populate: slot -> server index (-1: none). */
export function mhTable(servers: readonly RealServer[]): Int32Array {
  let t = mhTables.get(servers);
  if (t) return t;
  t = new Int32Array(MH_TAB_SIZE).fill(-1);
  let g = 0;
  let max = 0;
  for (const rs of servers) {
    const w = lastWeightOf(rs);
    if (w > 0) g = g > 0 ? gcd(w, g) : w;
    if (w > max) max = w;
  }
  if (g >= 1) {
    const shift = Math.max(0, fls(Math.trunc(max / g)) - MH_TAB_BITS);
    const setup = servers.map((rs) => {
      const offset = mhKey(rs.address, rs.port, MH_KEY1, 0) % MH_TAB_SIZE;
      const skip = (mhKey(rs.address, rs.port, MH_KEY2, 0) % (MH_TAB_SIZE - 1)) + 1;
      const lw = lastWeightOf(rs);
      const turns = Math.trunc(lw / g) >> shift || (lw !== 0 ? 1 : 0);
      return { skip, perm: offset, turns };
    });
    const taken = new Uint8Array(MH_TAB_SIZE);
    let n = 0;
    let dtCount = 0;
    fill: for (;;) {
      for (let d = 0; d < setup.length; ) {
        const ds = setup[d]!;
        if (ds.turns < 1) {
          d++;
          continue;
        }
        let c = ds.perm;
        while (taken[c]) {
          ds.perm += ds.skip;
          if (ds.perm >= MH_TAB_SIZE) ds.perm -= MH_TAB_SIZE;
          c = ds.perm;
        }
        taken[c] = 1;
        t[c] = d;
        if (++n === MH_TAB_SIZE) break fill;
        if (++dtCount >= ds.turns) {
          dtCount = 0;
          d++;
        }
      }
    }
  }
  mhTables.set(servers, t);
  return t;
}

/** The port a hashing scheduler mixes in: the client (source) port with sh-port / mh-port, for TCP, UDP, SCTP. */
function hashPort(vs: VirtualService, proto: string, sport: number): number {
  return hashesPort(vs) && (proto === 'tcp' || proto === 'udp' || proto === 'sctp') ? sport : 0;
}

/** The bucket sh looks at first, for a client. */
export function shBucket(client: string, port: number): number {
  return hash32((port + foldAddress(client)) >>> 0, 8);
}

/** The slot mh looks at first, for a client. */
export function mhSlot(client: string, port: number, offset = 0): number {
  return mhKey(client, port, MH_KEY1, offset) % MH_TAB_SIZE;
}

/** ip_vs_sh_schedule: the server index, or -1 for "no destination available". */
export function shSchedule(vs: VirtualService, src: string, proto: string, sport: number, unavailable: Unavailable): number {
  const t = shTable(vs.realServers);
  const port = hashPort(vs, proto, sport);
  const ihash = shBucket(src, port);
  const first = t[ihash]!;
  if (first < 0) return -1;
  if (!unavailable(first)) return first;
  if (!hasFallback(vs)) return -1;
  for (let offset = 0; offset < SH_TAB_SIZE; offset++) {
    const roffset = (offset + ihash) % SH_TAB_SIZE;
    const d = t[(roffset + ihash) & (SH_TAB_SIZE - 1)]!;
    if (d < 0) break;
    if (!unavailable(d)) return d;
  }
  return -1;
}

/** ip_vs_dh_schedule: the server index, or -1. */
export function dhSchedule(vs: VirtualService, dst: string, unavailable: Unavailable): number {
  const d = dhTable(vs.realServers)[hash32(foldAddress(dst), 8)]!;
  return d < 0 || unavailable(d) ? -1 : d;
}

/** ip_vs_mh_schedule: the server index, or -1. */
export function mhSchedule(vs: VirtualService, src: string, proto: string, sport: number, unavailable: Unavailable): number {
  const t = mhTable(vs.realServers);
  const port = hashPort(vs, proto, sport);
  const ihash = mhSlot(src, port);
  const first = t[ihash]!;
  if (first < 0) return -1;
  if (!unavailable(first)) return first;
  if (!hasFallback(vs)) return -1;
  for (let offset = 0; offset < MH_TAB_SIZE; offset++) {
    const roffset = (offset + ihash) % MH_TAB_SIZE;
    const d = t[mhSlot(src, port, roffset)]!;
    if (d < 0) break;
    if (!unavailable(d)) return d;
  }
  return -1;
}
