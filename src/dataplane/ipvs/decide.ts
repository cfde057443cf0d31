// What IPVS does with a packet it sees at its hook (ip_vs_core.c ip_vs_in_hook and the protocol's
// conn_schedule, ip_vs_schedule, ip_vs_sched_persist, ip_vs_leave):
//  1. Find the virtual service: a firewall-mark service whose mark equals the packet's mark
//     first, then <protocol, address, port>, then a port-0 service on the address
//     (ip_vs_service_find). None: the packet is not IPVS's (it goes on as normal).
//  2. A packet of a connection IPVS already has goes to that connection's real server.
//  3. Only a packet that may start a connection is scheduled: TCP with SYN and without RST
//     (tcp_conn_schedule; any TCP packet with sysctl sloppy_tcp), UDP, SCTP. Anything else goes
//     on as normal (to the local stack, which answers a stray TCP segment with a reset).
//  4. Persistent service: a connection template for <client masked by -M, service> whose real
//     server is still in the service pins the client, unless the server's weight is 0 and
//     expire_quiescent_template is set (ip_vs_check_template); otherwise the scheduler decides.
//  5. Non-persistent service reached on another port (a port-0 service): no destination.
//  6. No destination (*ignored = 0): ip_vs_leave drops the packet and sends ICMP port unreachable
//     (ICMPv6 port unreachable), "no matter it is TCP/UDP" - the client sees a refusal, not a timeout.
import type { Packet } from '../../net/packet.js';
import { parseIp } from '../../net/ip.js';
import { TCP_RST, TCP_SYN } from '../../net/packet.js';
import { ONE, type Fraction } from '../netfilter/probability.js';
import { serverKey, serviceKey, type IpvsConfig, type RealServer, type VirtualService } from './model.js';
import { scheduleNew, type SchedulerState } from './schedulers.js';

/** The IPVS sysctls (net.ipv4.vs.*) that change what the model does; kernel defaults in IPVS_KERNEL_DEFAULTS. */
export interface IpvsSysctls {
  /** conntrack: keep netfilter conntrack for IPVS connections (else the packet IPVS sends is untracked and skips nat). */
  readonly conntrack: boolean;
  /** expire_quiescent_template: a template pointing at a weight-0 server is dropped. */
  readonly expireQuiescentTemplate: boolean;
  /** sloppy_tcp: schedule on any TCP packet, not only SYN. */
  readonly sloppyTcp: boolean;
}

export const IPVS_KERNEL_DEFAULTS: IpvsSysctls = { conntrack: false, expireQuiescentTemplate: false, sloppyTcp: false };

/** A persistence template (ip_vs_conn with IP_VS_CONN_F_TEMPLATE): this client goes to this server. */
export interface PersistenceTemplate {
  /** serviceKey() of the virtual service. */
  readonly service: string;
  /** The client address (compared after masking with the service's -M netmask). */
  readonly client: string;
  /** `address:port` of the real server. */
  readonly server: string;
  /** Virtual time (seconds) it expires at; absent: not expired. */
  readonly expires?: number;
}

/** An IPVS connection entry: later packets of it go to the same real server. */
export interface IpvsConnection {
  readonly protocol: 'tcp' | 'udp' | 'sctp';
  readonly client: string;
  readonly clientPort: number;
  readonly vip: string;
  readonly vport: number;
  /** `address:port` of the real server. */
  readonly server: string;
}

export interface IpvsState {
  /** Scheduler state by serviceKey(). */
  readonly schedulers?: ReadonlyMap<string, SchedulerState>;
  readonly templates?: readonly PersistenceTemplate[];
  readonly connections?: readonly IpvsConnection[];
}

/** A node's IPVS: its configuration (`ipvsadm -Sn`), runtime state and sysctls. */
export interface IpvsNode {
  readonly config: IpvsConfig;
  readonly state?: IpvsState;
  readonly sysctls?: Partial<IpvsSysctls>;
}

export interface DecisionBranch {
  readonly probability: Fraction;
  /** undefined: no destination, the packet is dropped with ICMP port unreachable. */
  readonly server: RealServer | undefined;
  readonly reason: string;
  readonly nextState?: SchedulerState;
  /** A persistence template this choice creates (persistent services). */
  readonly template?: PersistenceTemplate;
}

export type IpvsDecision =
  | { readonly kind: 'pass'; readonly service?: VirtualService; readonly reason: string }
  | { readonly kind: 'forward'; readonly service: VirtualService; readonly scheduler: string; readonly branches: readonly DecisionBranch[] };

/** ip_vs_service_find for a packet. */
export function findService(config: IpvsConfig, packet: Packet): VirtualService | undefined {
  const proto = packet.proto;
  if (packet.mark !== 0) {
    const byMark = config.services.find((vs) => vs.fwmark === packet.mark && vs.family === packet.family);
    if (byMark) return byMark;
  }
  if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') return undefined;
  const at = (port: number) => config.services.find((vs) => vs.protocol === proto && vs.port === port && vs.address === packet.dst);
  return at(packet.dport) ?? at(0);
}

function startsConnection(packet: Packet, sysctls: IpvsSysctls): boolean {
  if (packet.proto === 'tcp') return (sysctls.sloppyTcp || (packet.tcpFlags & TCP_SYN) !== 0) && (packet.tcpFlags & TCP_RST) === 0;
  return packet.proto === 'udp' || packet.proto === 'sctp';
}

function masked(address: string, vs: VirtualService): bigint | undefined {
  const ip = parseIp(address);
  if (!ip) return undefined;
  const m = vs.persistence!.netmask;
  if (ip.family === 'IPv4') return ip.value & BigInt(m >>> 0);
  return ip.value & (((1n << BigInt(m)) - 1n) << BigInt(128 - m));
}

/** Whether IPVS takes this packet at its hook (a service matches and it is a new or known connection). */
export function ipvsClaims(node: IpvsNode, packet: Packet): boolean {
  const vs = findService(node.config, packet);
  if (!vs) return false;
  return startsConnection(packet, { ...IPVS_KERNEL_DEFAULTS, ...node.sysctls }) || findConnection(node, vs, packet) !== undefined;
}

function findConnection(node: IpvsNode, vs: VirtualService, packet: Packet): RealServer | undefined {
  const conn = node.state?.connections?.find(
    (c) => c.protocol === packet.proto && c.client === packet.src && c.clientPort === packet.sport && c.vip === packet.dst && c.vport === packet.dport,
  );
  return conn && vs.realServers.find((r) => serverKey(r) === conn.server);
}

/** What IPVS does with `packet` at its hook; `now` (seconds) is compared with template expiry. */
export function decide(node: IpvsNode, packet: Packet, now = 0): IpvsDecision {
  const sysctls = { ...IPVS_KERNEL_DEFAULTS, ...node.sysctls };
  const vs = findService(node.config, packet);
  if (!vs) return { kind: 'pass', reason: 'no virtual service for this destination' };
  const key = serviceKey(vs);
  const forward = (branches: DecisionBranch[]): IpvsDecision => ({ kind: 'forward', service: vs, scheduler: vs.scheduler, branches });

  const known = findConnection(node, vs, packet);
  if (known) return forward([{ probability: ONE, server: known, reason: `existing IPVS connection to ${serverKey(known)}` }]);
  if (!startsConnection(packet, sysctls)) {
    return { kind: 'pass', service: vs, reason: packet.proto === 'tcp' ? 'TCP segment without SYN and no IPVS connection: not scheduled' : `${packet.proto} is not scheduled` };
  }

  const state = node.state?.schedulers?.get(key);
  if (vs.persistence) {
    const client = masked(packet.src, vs);
    const template = node.state?.templates?.find(
      (t) => t.service === key && masked(t.client, vs) === client && (t.expires === undefined || t.expires > now),
    );
    if (template) {
      const rs = vs.realServers.find((r) => serverKey(r) === template.server);
      if (rs && !(sysctls.expireQuiescentTemplate && rs.weight === 0)) {
        return forward([{ probability: ONE, server: rs, reason: `persistence template pins ${template.client} to ${template.server}` }]);
      }
    }
    const why = template ? `template for ${template.client} ${vs.realServers.some((r) => serverKey(r) === template.server) ? 'expired (its server has weight 0)' : 'points at a removed server'}; ` : 'no persistence template; ';
    return forward(
      scheduleNew(vs, packet, state).map((b) => ({
        probability: b.probability,
        server: b.server,
        reason: `${why}${b.reason}`,
        ...(b.nextState ? { nextState: b.nextState } : {}),
        ...(b.server ? { template: { service: key, client: packet.src, server: serverKey(b.server), expires: now + vs.persistence!.timeout } } : {}),
      })),
    );
  }
  if (vs.fwmark === undefined && packet.dport !== vs.port) {
    return forward([{ probability: ONE, server: undefined, reason: 'a port-0 service must be persistent (ip_vs_schedule refuses it)' }]);
  }
  return forward(
    scheduleNew(vs, packet, state).map((b) => ({
      probability: b.probability,
      server: b.server,
      reason: b.reason,
      ...(b.nextState ? { nextState: b.nextState } : {}),
    })),
  );
}
