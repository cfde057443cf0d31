// The IPVS model: virtual services and their real servers, as `ipvsadm -Sn` prints them. Plain
// data; it knows nothing of Kubernetes (kube-proxy's renderer produces the same text).
import type { AddressFamily } from '../../net/packet.js';

export type IpvsProtocol = 'tcp' | 'udp' | 'sctp';

/** `-m` masquerading (NAT), `-g` gatewaying (direct routing), `-i` ipip (tunnelling). */
export type ForwardingMethod = 'masq' | 'route' | 'tunnel';

/** Schedulers the kernel ships (net/netfilter/ipvs/ip_vs_*.c); the parser refuses other names. */
export const KERNEL_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'] as const;

/** Schedulers kubepath interprets. */
export const MODELLED_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'sh', 'dh', 'mh'] as const;

/** ipvsadm's default when `-s` is not given (DEF_SCHED). */
export const DEFAULT_SCHEDULER = 'wlc';

/** ipvsadm's default persistence timeout for a bare `-p`, in seconds. */
export const DEFAULT_PERSISTENCE_TIMEOUT = 300;

/** Scheduler flag bits (IP_VS_SVC_F_SCHED1..3); sh and mh name them fallback (1) and port (2). */
export const SCHED_FLAG_1 = 1;
export const SCHED_FLAG_2 = 2;
export const SCHED_FLAG_3 = 4;

export interface TunnelOptions {
  readonly type: 'ipip' | 'gue' | 'gre';
  readonly port?: number;
  readonly checksum?: 'nocsum' | 'csum' | 'remcsum';
}

export interface RealServer {
  /** Canonical text (RFC 5952 for IPv6). */
  readonly address: string;
  /** 0 means "the packet's destination port" (ip_vs_conn_new: `dest->port ? dest->port : vport`). */
  readonly port: number;
  readonly method: ForwardingMethod;
  /** 0 = quiesced: no new connections (graceful termination). */
  readonly weight: number;
  /**
   * The latest non-zero weight (dest->last_weight), which the mh table is built from: a server set to
   * weight 0 keeps its table slots. Not in `ipvsadm -Sn`; defaults to `weight`.
   */
  readonly lastWeight?: number;
  /** `-x` / `-y` connection thresholds (0 = none). */
  readonly upperThreshold: number;
  readonly lowerThreshold: number;
  readonly tunnel?: TunnelOptions;
  /** Line of the `-a` command it was read from. */
  readonly line?: number;
}

export interface Persistence {
  /** Seconds. */
  readonly timeout: number;
  /** IPv4: the mask as an unsigned 32-bit number (default 0xffffffff); IPv6: the prefix length (default 128). */
  readonly netmask: number;
}

export interface VirtualService {
  readonly family: AddressFamily;
  /** Absent for a firewall-mark service. */
  readonly protocol?: IpvsProtocol;
  readonly address?: string;
  readonly port?: number;
  /** `-f MARK`: matches packets whose skb mark equals it. */
  readonly fwmark?: number;
  readonly scheduler: string;
  /** SCHED_FLAG_* bits. */
  readonly schedFlags: number;
  readonly persistence?: Persistence;
  /** `--pe NAME` persistence engine (sip); kept, not interpreted. */
  readonly pe?: string;
  /** `-o`: one-packet scheduling (UDP). */
  readonly onePacket: boolean;
  /**
   * Taken as the kernel's list order, which every scheduler depends on (sh/dh/mh tables, rr/wrr
   * positions, lc/wlc ties). A new server goes to the head of the list (list_add_rcu in
   * __ip_vs_update_dest). `ipvsadm -Sn --nosort` prints this order; plain `ipvsadm -Sn` sorts the
   * servers by address and port (ipvs_sort_dests), which loses it.
   */
  readonly realServers: readonly RealServer[];
  /** Line of the `-A` command it was read from. */
  readonly line?: number;
}

export interface IpvsConfig {
  readonly services: readonly VirtualService[];
}

/** `sh-port` / `mh-port`: the client port is hashed with its address. */
export function hashesPort(vs: VirtualService): boolean {
  return (vs.scheduler === 'sh' || vs.scheduler === 'mh') && (vs.schedFlags & SCHED_FLAG_2) !== 0;
}

/** `sh-fallback` / `mh-fallback`: an unavailable server's clients are rehashed to another. */
export function hasFallback(vs: VirtualService): boolean {
  return (vs.scheduler === 'sh' || vs.scheduler === 'mh') && (vs.schedFlags & SCHED_FLAG_1) !== 0;
}

/** `198.18.0.1:80`, `[2001:db8::1]:80`. */
export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** How ipvsadm names a service on its command line: `-t 10.0.0.1:80`, `-f 7`, `-f 7 -6`. */
export function serviceSpec(vs: VirtualService): string {
  if (vs.fwmark !== undefined) return vs.family === 6 ? `-f ${vs.fwmark} -6` : `-f ${vs.fwmark}`;
  const flag = vs.protocol === 'tcp' ? '-t' : vs.protocol === 'udp' ? '-u' : '--sctp-service';
  return `${flag} ${hostPort(vs.address!, vs.port!)}`;
}

/** A key naming a service: `tcp/10.0.0.1:80`, `fwmark/7/4`. */
export function serviceKey(vs: VirtualService): string {
  return vs.fwmark !== undefined ? `fwmark/${vs.fwmark}/${vs.family}` : `${vs.protocol}/${hostPort(vs.address!, vs.port!)}`;
}

/** A key naming a real server within its service: `10.0.0.2:8080`. */
export function serverKey(rs: RealServer): string {
  return hostPort(rs.address, rs.port);
}

export function lastWeightOf(rs: RealServer): number {
  return rs.lastWeight ?? rs.weight;
}
