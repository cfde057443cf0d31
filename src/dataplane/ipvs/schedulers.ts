// Schedulers as exact probability branches for a NEW connection, from the service's real servers
// and (optionally) the scheduler's runtime state. Servers are taken in the kernel's list order.
//
//  rr  (ip_vs_rr.c): the next server after the last one chosen (`position`, -1 = the list head,
//      as after the service was created) whose weight > 0 and not overloaded. Without a state the
//      position is unknown: each eligible server 1/n (its long-run share).
//  wrr (ip_vs_wrr.c): the kernel's mark (cl = position, cw = current weight; di = gcd of the
//      positive weights, mw = max weight - (di - 1)). Without a state: weight / sum of weights
//      (over a full cycle a server of weight w is chosen w/di times).
//  lc, wlc, sed, nq (ip_vs_lc.c, ip_vs_wlc.c, ip_vs_sed.c, ip_vs_nq.c): deterministic. The load is
//      lc/wlc: activeconns * 256 + inactconns (ip_vs_dest_conn_overhead); sed/nq: activeconns + 1.
//      lc takes the first server with the least load; wlc/sed compare load/weight by cross
//      multiplication and keep the earlier server on a tie; nq takes the first idle server
//      (activeconns = 0) outright. With no connections at all the choice is deterministic, not
//      uniform: lc, wlc and nq take the FIRST eligible server in list order; sed (whose load
//      counts the new connection: 1/weight) takes the first server of the highest weight.
//  sh, dh, mh: see hashing.ts - a deterministic function of the packet.
// Weight-0 servers are never chosen for a new connection; overloaded ones (state) neither.
import type { Packet } from '../../net/packet.js';
import { fraction, ONE, type Fraction } from '../netfilter/probability.js';
import { dhSchedule, mhSchedule, shSchedule } from './hashing.js';
import { hashesPort, MODELLED_SCHEDULERS, serverKey, type RealServer, type VirtualService } from './model.js';

export interface ServerLoad {
  /** ActiveConn as `ipvsadm -Ln` shows it. */
  readonly active: number;
  /** InActConn. */
  readonly inactive: number;
}

export interface SchedulerState {
  /** rr and wrr: index of the server chosen last; -1 is the list head (a fresh service). */
  readonly position?: number;
  /** wrr: the current weight (mark->cw). */
  readonly currentWeight?: number;
  /** Connection counts by real server (`address:port`); absent servers have none. */
  readonly loads?: ReadonlyMap<string, ServerLoad>;
  /** Real servers (`address:port`) over their upper threshold (IP_VS_DEST_F_OVERLOAD). */
  readonly overloaded?: ReadonlySet<string>;
}

export interface ScheduleBranch {
  readonly probability: Fraction;
  /** Index into the service's real servers; -1: no destination available. */
  readonly index: number;
  readonly server: RealServer | undefined;
  /** Why, in plain words. */
  readonly reason: string;
  /** The scheduler state after this choice (rr and wrr). */
  readonly nextState?: SchedulerState;
}

export class UnmodelledSchedulerError extends Error {}

/** Servers a new connection may not go to: weight 0 (quiesced) or overloaded. */
function unavailability(vs: VirtualService, state: SchedulerState | undefined): (i: number) => boolean {
  const over = state?.overloaded;
  return (i) => {
    const rs = vs.realServers[i]!;
    return rs.weight <= 0 || (over !== undefined && over.has(serverKey(rs)));
  };
}

function overloaded(vs: VirtualService, state: SchedulerState | undefined, i: number): boolean {
  return state?.overloaded?.has(serverKey(vs.realServers[i]!)) ?? false;
}

function load(vs: VirtualService, state: SchedulerState | undefined, i: number): ServerLoad {
  return state?.loads?.get(serverKey(vs.realServers[i]!)) ?? { active: 0, inactive: 0 };
}

function one(vs: VirtualService, index: number, reason: string, nextState?: SchedulerState): ScheduleBranch[] {
  if (index < 0) return [{ probability: ONE, index: -1, server: undefined, reason }];
  return [{ probability: ONE, index, server: vs.realServers[index], reason, ...(nextState ? { nextState } : {}) }];
}

const NONE = 'no destination available: every real server has weight 0 or is overloaded';

/** ip_vs_rr_schedule from a known position. */
export function rrNext(vs: VirtualService, position: number, state?: SchedulerState): number {
  const n = vs.realServers.length;
  const unavailable = unavailability(vs, state);
  // Circular scan after `position`, ending with `position` itself (one pass from the head).
  for (let k = 1; k <= n; k++) {
    const i = position < 0 ? k - 1 : (position + k) % n;
    if (!unavailable(i)) return i;
  }
  return -1;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** The wrr mark's derived values: di (gcd of positive weights, or 1) and mw (max weight - (di - 1)). */
export function wrrParameters(servers: readonly RealServer[]): { di: number; mw: number } {
  let g = 0;
  let max = 0;
  for (const rs of servers) {
    if (rs.weight > 0) g = g > 0 ? gcd(rs.weight, g) : rs.weight;
    if (rs.weight > max) max = rs.weight;
  }
  const di = g || 1;
  return { di, mw: max - (di - 1) };
}

/** ip_vs_wrr_schedule from a known mark: the chosen index (-1: none) and the mark after it. */
export function wrrNext(vs: VirtualService, position: number, currentWeight: number, state?: SchedulerState): { index: number; position: number; currentWeight: number } {
  const servers = vs.realServers;
  const n = servers.length;
  const { di, mw } = wrrParameters(servers);
  let cw = currentWeight;
  let dest = position; // -1: the list head
  if (mw === 0) return { index: -1, position: dest, currentWeight: cw };
  const last = dest;
  let stop: number | undefined;
  let lastPass = false;
  let restarted = false;
  for (;;) {
    for (let i = dest + 1; i < n; i++) {
      if (!overloaded(vs, state, i) && servers[i]!.weight >= cw) return { index: i, position: i, currentWeight: cw };
      if (i === stop) return { index: -1, position: i, currentWeight: cw };
    }
    dest = -1; // the walk ended at the list head
    cw -= di;
    if (cw <= 0) {
      cw = mw;
      if (lastPass || last === -1) return { index: -1, position: -1, currentWeight: cw };
      restarted = true;
    }
    lastPass = cw <= di;
    if (lastPass && restarted && last !== -1) stop = last;
  }
}

/**
 * The wrr mark after `ipvsadm -A` and one `-a` per server, added so that the list ends up in the
 * given order (each new server goes to the head, so they are added last to first): init_svc, then
 * ip_vs_wrr_dest_changed after each add.
 */
export function wrrStateAfterLoad(vs: VirtualService): { position: number; currentWeight: number } {
  let cw = 0; // init_svc with no servers: di = 1, mw = 0, cw = mw
  const servers = vs.realServers;
  for (let k = servers.length - 1; k >= 0; k--) {
    const { di, mw } = wrrParameters(servers.slice(k));
    if (cw > mw || !cw) cw = mw;
    else if (di > 1) cw = Math.trunc(cw / di) * di + 1;
  }
  return { position: -1, currentWeight: cw };
}

function leastConnection(vs: VirtualService, state: SchedulerState | undefined): number {
  const sched = vs.scheduler;
  const servers = vs.realServers;
  const over = (i: number) => overloaded(vs, state, i);
  if (sched === 'lc') {
    let least = -1;
    let loh = 0;
    servers.forEach((rs, i) => {
      if (over(i) || rs.weight === 0) return;
      const l = load(vs, state, i);
      const doh = l.active * 256 + l.inactive;
      if (least < 0 || doh < loh) {
        least = i;
        loh = doh;
      }
    });
    return least;
  }
  const overhead = (i: number) => {
    const l = load(vs, state, i);
    return sched === 'wlc' ? l.active * 256 + l.inactive : l.active + 1;
  };
  if (sched === 'nq') {
    let least = -1;
    let loh = 0;
    for (let i = 0; i < servers.length; i++) {
      if (over(i) || servers[i]!.weight === 0) continue;
      const doh = overhead(i);
      if (load(vs, state, i).active === 0) return i; // an idle server is taken directly
      if (least < 0 || loh * servers[i]!.weight > doh * servers[least]!.weight) {
        least = i;
        loh = doh;
      }
    }
    return least;
  }
  // wlc, sed: the first eligible server, then any later one with a strictly smaller load/weight.
  let least = servers.findIndex((rs, i) => !over(i) && rs.weight > 0);
  if (least < 0) return -1;
  let loh = overhead(least);
  for (let i = least + 1; i < servers.length; i++) {
    if (over(i)) continue;
    const doh = overhead(i);
    if (loh * servers[i]!.weight > doh * servers[least]!.weight) {
      least = i;
      loh = doh;
    }
  }
  return least;
}

/**
 * The real server(s) a new connection of `packet` to `vs` may go to, with exact probabilities
 * summing to 1. A branch with index -1 means the scheduler found no destination.
 */
export function scheduleNew(vs: VirtualService, packet: Packet, state?: SchedulerState): ScheduleBranch[] {
  const servers = vs.realServers;
  const unavailable = unavailability(vs, state);
  switch (vs.scheduler) {
    case 'rr': {
      if (state?.position !== undefined) {
        const i = rrNext(vs, state.position, state);
        return one(vs, i, i < 0 ? NONE : `round robin: the next server after position ${state.position}`, i < 0 ? undefined : { ...state, position: i });
      }
      const eligible = servers.map((_, i) => i).filter((i) => !unavailable(i));
      if (!eligible.length) return one(vs, -1, NONE);
      const p = fraction(1n, BigInt(eligible.length));
      return eligible.map((i) => ({
        probability: p,
        index: i,
        server: servers[i],
        reason: `round robin over ${eligible.length} server(s) with weight > 0: position unknown, each 1/${eligible.length}`,
        nextState: { ...state, position: i },
      }));
    }
    case 'wrr': {
      if (state?.position !== undefined && state.currentWeight !== undefined) {
        const r = wrrNext(vs, state.position, state.currentWeight, state);
        const next = { ...state, position: r.position, currentWeight: r.currentWeight };
        return r.index < 0
          ? [{ probability: ONE, index: -1, server: undefined, reason: NONE, nextState: next }]
          : one(vs, r.index, `weighted round robin: first server after position ${state.position} with weight >= ${r.currentWeight}`, next);
      }
      const eligible = servers.map((_, i) => i).filter((i) => !unavailable(i));
      if (!eligible.length) return one(vs, -1, NONE);
      const total = eligible.reduce((a, i) => a + servers[i]!.weight, 0);
      return eligible.map((i) => ({
        probability: fraction(BigInt(servers[i]!.weight), BigInt(total)),
        index: i,
        server: servers[i],
        reason: `weighted round robin: weight ${servers[i]!.weight} of ${total}`,
      }));
    }
    case 'lc':
    case 'wlc':
    case 'sed':
    case 'nq': {
      const i = leastConnection(vs, state);
      if (i < 0) return one(vs, -1, NONE);
      const what = vs.scheduler === 'lc' || vs.scheduler === 'wlc' ? 'activeconns*256+inactconns' : 'activeconns+1';
      const idle = !state?.loads?.size;
      const reason =
        vs.scheduler === 'nq' && (idle || load(vs, state, i).active === 0)
          ? 'never queue: the first idle server in list order'
          : idle && vs.scheduler !== 'sed'
            ? `${vs.scheduler}: no connections anywhere, so the first eligible server in list order`
            : `${vs.scheduler}: the least ${what}${vs.scheduler === 'lc' ? '' : ' per weight'} (the earlier server on a tie)`;
      return one(vs, i, reason);
    }
    case 'sh': {
      const i = shSchedule(vs, packet.src, packet.proto, packet.sport, unavailable);
      return one(vs, i, i < 0 ? `source hash: the bucket of ${packet.src} has no usable server` : `source hash of ${packet.src}${hashesPort(vs) ? ` port ${packet.sport}` : ''}`);
    }
    case 'dh': {
      const i = dhSchedule(vs, packet.dst, unavailable);
      return one(vs, i, i < 0 ? `destination hash: the bucket of ${packet.dst} has no usable server` : `destination hash of ${packet.dst}`);
    }
    case 'mh': {
      const i = mhSchedule(vs, packet.src, packet.proto, packet.sport, unavailable);
      return one(vs, i, i < 0 ? `maglev hash: the slot of ${packet.src} has no usable server` : `maglev hash of ${packet.src}${hashesPort(vs) ? ` port ${packet.sport}` : ''}`);
    }
    default:
      throw new UnmodelledSchedulerError(`scheduler ${vs.scheduler} is not modelled (kubepath interprets ${MODELLED_SCHEDULERS.join(', ')})`);
  }
}

/**
 * The rr / wrr state of a service loaded afresh (`ipvsadm -A`, then its servers, see
 * wrrStateAfterLoad) after `scheduled` new connections: what `scheduleNew` takes to give the
 * exact next choice.
 */
export function stateAfterConnections(vs: VirtualService, scheduled: number, base: SchedulerState = {}): SchedulerState {
  if (vs.scheduler === 'rr') {
    let position = -1;
    for (let k = 0; k < scheduled; k++) {
      const i = rrNext(vs, position, base);
      if (i < 0) break;
      position = i;
    }
    return { ...base, position };
  }
  if (vs.scheduler === 'wrr') {
    let st = wrrStateAfterLoad(vs);
    for (let k = 0; k < scheduled; k++) st = wrrNext(vs, st.position, st.currentWeight, base);
    return { ...base, position: st.position, currentWeight: st.currentWeight };
  }
  throw new UnmodelledSchedulerError(`only rr and wrr keep a position (not ${vs.scheduler})`);
}
