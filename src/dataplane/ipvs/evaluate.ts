// netfilter -> IPVS -> netfilter, composed with exact probabilities.
//
// The netfilter walk runs with an intercept hook at IPVS's priorities (LOCAL_IN after filter and
// security INPUT; LOCAL_OUT after nat OUTPUT). Each outcome IPVS takes is scheduled (decide.ts);
// each real server it may go to is translated as the forwarding method says and handed back to
// netfilter (Injection from 'ipvs': OUTPUT without nat, rerouting, POSTROUTING with nat), each
// outcome of that becoming one path. A path's probability is the product of the first walk's,
// the scheduler's and the second walk's, so the paths of a packet sum to exactly 1.
//
// Masquerading (-m): the destination becomes the real server; with sysctl conntrack=1 the
// connection's reply tuple is altered to come from the real server (ip_vs_nfct.c
// ip_vs_update_conntrack: only for a new, unconfirmed connection, original direction), with
// conntrack=0 the packet is untracked (ip_vs_notrack) and so never sees a nat chain again.
// Deliberately simplified: direct routing (-g) and tunnelling (-i) end the path at IPVS (sent
// towards the real server) without walking OUTPUT/POSTROUTING; the TTL is left unchanged.
import { copyPacket, rewritePacket, type Packet, type PacketConntrack } from '../../net/packet.js';
import type { Injection, Netfilter, Outcome, TraceStep, Verdict } from '../netfilter/evaluate.js';
import { mul, toNumber, type Fraction } from '../netfilter/probability.js';
import { decide, ipvsClaims, IPVS_KERNEL_DEFAULTS, type DecisionBranch, type IpvsNode, type PersistenceTemplate } from './decide.js';
import type { RealServer, VirtualService } from './model.js';
import { serverLine, serviceLine } from './print.js';
import type { SchedulerState } from './schedulers.js';

/** The IPVS decision on a path, as a trace step. */
export interface IpvsStep {
  readonly kind: 'ipvs';
  /** Where IPVS took the packet: LOCAL_IN (from an interface) or LOCAL_OUT (sent by the node). */
  readonly hook: 'INPUT' | 'OUTPUT';
  readonly service: VirtualService;
  /** undefined: no destination (the packet is refused). */
  readonly server: RealServer | undefined;
  readonly scheduler: string;
  /** Why this server, in plain words. */
  readonly reason: string;
  /** The service's `-A` line as `ipvsadm -Sn` prints it. */
  readonly text: string;
  /** The chosen server's `-a` line. */
  readonly serverText?: string;
  /** MASQ (destination translated), ROUTE / TUNNEL (sent unchanged / encapsulated), REJECT (ICMP port unreachable). */
  readonly verdict: 'MASQ' | 'ROUTE' | 'TUNNEL' | 'REJECT';
  /** Probability of this choice given the packet reached IPVS. */
  readonly probability: Fraction;
  readonly input: Packet;
  readonly packet: Packet;
}

export type PathStep = TraceStep | IpvsStep;

export interface IpvsPath {
  readonly probability: Fraction;
  readonly probabilityValue: number;
  readonly verdict: Verdict;
  readonly delivery?: 'local' | 'forward' | 'output';
  readonly outInterface?: string;
  readonly rejectWith?: string;
  /** The packet as it leaves (or as it was refused / delivered). */
  readonly packet: Packet;
  /** Netfilter steps, the IPVS step, then the netfilter steps of the packet IPVS sent. */
  readonly steps: readonly PathStep[];
  readonly ipvs?: IpvsStep;
  /** The netfilter outcomes this path is made of (one, or two around IPVS). */
  readonly legs: readonly Outcome[];
  readonly sourcePortMayVary: boolean;
  readonly logs: readonly string[];
  /** IPVS scheduler state after this path's choice (rr, wrr). */
  readonly nextState?: SchedulerState;
  /** The persistence template this path's choice creates. */
  readonly template?: PersistenceTemplate;
}

export interface IpvsEvaluation {
  readonly paths: readonly IpvsPath[];
}

const IP_PROTO: Partial<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132 };

/** A netfilter outcome as a path that did not meet IPVS. */
export function plainPath(o: Outcome): IpvsPath {
  return {
    probability: o.probability,
    probabilityValue: o.probabilityValue,
    verdict: o.verdict,
    ...(o.delivery ? { delivery: o.delivery } : {}),
    ...(o.outInterface !== undefined ? { outInterface: o.outInterface } : {}),
    ...(o.rejectWith !== undefined ? { rejectWith: o.rejectWith } : {}),
    packet: o.packet,
    steps: o.trace,
    legs: [o],
    sourcePortMayVary: o.sourcePortMayVary,
    logs: o.logs,
  };
}

/** The conntrack view IPVS leaves on the packet it sends to a masqueraded real server. */
function handedOffConntrack(ct: PacketConntrack | undefined, rs: { address: string; port: number }, conntrack: boolean): PacketConntrack | undefined {
  if (!ct) return undefined;
  if (!conntrack) return { ...ct, state: 'UNTRACKED' };
  if (ct.state !== 'NEW' || ct.confirmed || ct.direction !== 'ORIGINAL') return ct;
  const ported = ct.reply.proto === 'tcp' || ct.reply.proto === 'udp' || ct.reply.proto === 'sctp';
  return { ...ct, reply: { ...ct.reply, src: rs.address, sport: ported ? rs.port : ct.reply.sport } };
}

function step(o: Outcome, vs: VirtualService, b: DecisionBranch, scheduler: string, out: Packet): IpvsStep {
  const rs = b.server;
  return {
    kind: 'ipvs',
    hook: o.interceptedAt!,
    service: vs,
    server: rs,
    scheduler,
    reason: b.reason,
    text: serviceLine(vs),
    ...(rs ? { serverText: serverLine(vs, rs) } : {}),
    verdict: !rs ? 'REJECT' : rs.method === 'masq' ? 'MASQ' : rs.method === 'route' ? 'ROUTE' : 'TUNNEL',
    probability: b.probability,
    input: o.packet,
    packet: out,
  };
}

/**
 * Every path of `packet` through the node's netfilter and IPVS. `injection` is where the packet
 * enters (from an interface or sent by the node), as for `Netfilter.evaluate`.
 */
export function evaluateWithIpvs(netfilter: Netfilter, ipvs: IpvsNode, packet: Packet, injection: Injection): IpvsEvaluation {
  if (injection.from === 'ipvs') throw new Error('evaluateWithIpvs takes a packet from an interface or from the node');
  const now = injection.now ?? netfilter.now;
  const sysctls = { ...IPVS_KERNEL_DEFAULTS, ...ipvs.sysctls };
  const first = netfilter.evaluate(packet, { ...injection, intercept: (p) => ipvsClaims(ipvs, p) });
  const paths: IpvsPath[] = [];
  for (const o of first.outcomes) {
    if (!o.interceptedAt) {
      paths.push(plainPath(o));
      continue;
    }
    const d = decide(ipvs, o.packet, now);
    if (d.kind === 'pass') {
      paths.push(plainPath(o)); // not reached: the intercept hook claims exactly what decide forwards
      continue;
    }
    for (const b of d.branches) {
      const extra = {
        ...(b.nextState ? { nextState: b.nextState } : {}),
        ...(b.template ? { template: b.template } : {}),
      };
      const probability = mul(o.probability, b.probability);
      const rs = b.server;
      if (!rs || rs.method !== 'masq') {
        // IPVS answers itself (no server: ICMP unreachable) or sends the packet on unchanged (DR, tunnel).
        const s = step(o, d.service, b, d.scheduler, o.packet);
        const towards = rs && netfilter.node.route(rewritePacket(o.packet, { dst: rs.address }));
        paths.push({
          probability,
          probabilityValue: toNumber(probability),
          ...(!rs
            ? { verdict: 'REJECT' as const, rejectWith: o.packet.family === 6 ? 'icmp6-port-unreachable' : 'icmp-port-unreachable' }
            : towards
              ? { verdict: 'ACCEPT' as const, delivery: 'output' as const, ...(towards.outInterface !== undefined ? { outInterface: towards.outInterface } : {}) }
              : { verdict: 'NO_ROUTE' as const }),
          packet: o.packet,
          steps: [...o.trace, s],
          ipvs: s,
          legs: [o],
          sourcePortMayVary: o.sourcePortMayVary,
          logs: o.logs,
          ...extra,
        });
        continue;
      }
      const dport = rs.port || o.packet.dport;
      const translated = rewritePacket(o.packet, { dst: rs.address, dport });
      const sent = copyPacket(translated);
      sent.outInterface = undefined;
      // The kernel marks what IPVS sends (skb->ipvs_property): `-m ipvs` matches it from here on.
      sent.ipvs = {
        vaddr: d.service.address ?? o.packet.dst,
        vport: d.service.port ?? o.packet.dport,
        vproto: IP_PROTO[o.packet.proto] ?? 0,
        method: 'MASQ',
      };
      sent.ct = handedOffConntrack(o.packet.ct, { address: rs.address, port: dport }, sysctls.conntrack);
      const s = step(o, d.service, b, d.scheduler, sent);
      const second = netfilter.evaluate(sent, { from: 'ipvs', now });
      for (const o2 of second.outcomes) {
        const p = mul(probability, o2.probability);
        paths.push({
          probability: p,
          probabilityValue: toNumber(p),
          verdict: o2.verdict,
          ...(o2.delivery ? { delivery: o2.delivery } : {}),
          ...(o2.outInterface !== undefined ? { outInterface: o2.outInterface } : {}),
          ...(o2.rejectWith !== undefined ? { rejectWith: o2.rejectWith } : {}),
          packet: o2.packet,
          steps: [...o.trace, s, ...o2.trace],
          ipvs: s,
          legs: [o, o2],
          sourcePortMayVary: o.sourcePortMayVary || o2.sourcePortMayVary,
          logs: [...o.logs, ...o2.logs],
          ...extra,
        });
      }
    }
  }
  return { paths };
}
