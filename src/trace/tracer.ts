// The packet walk. Each element answers one step — a pod's routing, a node's netfilter + routing, an
// L2 link, the fabric between hosts, a NetworkPolicy check — with weighted branches; the walk
// composes them into paths whose exact probabilities multiply and sum to 1. In sampled mode one
// branch is drawn at each step with a seeded generator instead.
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Fabric, FabricNic } from '../dataplane/fabric/fabric.js';
import { add, formatFraction, mul, ONE, parseFraction, type Fraction } from '../net/fraction.js';
export { parseFraction };
import type { RouteResult, TraceStep, Verdict as NfVerdict } from '../dataplane/netfilter/index.js';
import { evaluateWithIpvs, type PathStep } from '../dataplane/ipvs/index.js';
import { decapsulate, outerPacket, routeInput, routeOutput, type Datagram, type L2Result, type RouteBranch, type RouteOutcome } from '../dataplane/routing/index.js';
import type { PolicyIndex, Verdict as PolicyVerdict } from '../policy/index.js';
import type { Packet } from '../net/packet.js';
import { branchOf, type Host, type Hosts } from './hosts.js';
import type { Topology } from '../topology/graph.js';
import type { Hop, PacketView, PathOutcome, Stage, TracePath } from './types.js';

export const MAX_STEPS = 64;

/** One way through a node's netfilter (and IPVS): what the walk needs of an outcome. */
interface NodeOutcome {
  readonly probability: Fraction;
  readonly verdict: NfVerdict;
  readonly delivery?: 'local' | 'forward' | 'output';
  readonly rejectWith?: string;
  readonly packet: Packet;
  readonly trace: readonly PathStep[];
  readonly route?: RouteResult;
  /** The path went through an IPVS virtual service. */
  readonly ipvs?: boolean;
}

export interface TracerOptions {
  readonly hosts: Hosts;
  readonly fabric: Fabric;
  readonly topology: Topology;
  readonly policy?: PolicyIndex;
  /** Whether the CNI enforces NetworkPolicy (when not, a denying policy is only noted). */
  readonly enforcePolicy: boolean;
  readonly cniName: string;
  /** A pod object by `ns/name` (for policy and hostNetwork endpoints). */
  readonly pod: (namespace: string, name: string) => Pod | undefined;
  /** hostNetwork pods by node, for naming what answers on a node address. */
  readonly hostNetworkPods: (node: string) => readonly Pod[];
  /** Sampled mode: a uniform [0,1) generator; exact mode when absent. */
  readonly random?: () => number;
}

/** Where a walk starts. */
export type Start =
  | { readonly kind: 'pod'; readonly namespace: string; readonly name: string; readonly node: string }
  | { readonly kind: 'node'; readonly node: string }
  /** Outside every host: the packet enters through the router / VPC fabric. */
  | { readonly kind: 'external'; readonly label: string };

interface State {
  readonly prob: Fraction;
  readonly hops: Hop[];
  readonly zones: string[];
  crossZone: boolean;
  steps: number;
  /** The source pod, for its egress policy; cleared once checked. */
  srcPod?: Pod;
  /** The zone of the location the packet is at. */
  zone?: string;
  /** The topology location the packet is at (`pod/…`, `node/…`, the fabric, `internet`). */
  location?: string;
}

/** A path while walking: its probability still an exact fraction. */
type Draft = Omit<TracePath, 'probability' | 'probabilityExact'> & { readonly prob: Fraction };

export function packetView(d: Datagram | Packet): PacketView {
  const p = 'packet' in d ? d.packet : d;
  const outer = 'packet' in d ? d.outer : undefined;
  return {
    proto: p.proto,
    src: p.src,
    sport: p.sport,
    dst: p.dst,
    dport: p.dport,
    ...(outer ? { outer: { kind: outer.kind, src: outer.src, dst: outer.dst, ...(outer.kind === 'vxlan' ? { dport: outer.dport } : {}) } } : {}),
  };
}

const ROUTE_FAILURE: Partial<Record<RouteOutcome, PathOutcome>> = {
  'no-route': 'no-route',
  unreachable: 'rejected',
  prohibit: 'rejected',
  'ttl-exceeded': 'loop',
};

export class Tracer {
  private paths: Draft[] = [];
  /** Inconsistencies met while walking (reported as warnings). */
  readonly problems = new Set<string>();

  constructor(private readonly o: TracerOptions) {}

  /** Every path of `packet` from `start` (exact mode), or one sampled path. */
  walk(start: Start, packet: Packet): TracePath[] {
    this.paths = [];
    const st: State = { prob: ONE, hops: [], zones: [], crossZone: false, steps: 0 };
    if (start.kind === 'pod') {
      const host = this.o.hosts.host(start.node);
      if (!host) {
        this.finish(st, 'dropped', `node ${start.node} is not in the cluster`);
        return this.paths.map(toPath);
      }
      const pod = this.o.pod(start.namespace, start.name);
      if (pod) st.srcPod = pod;
      this.moveTo(st, `pod/${start.namespace}/${start.name}`);
      this.podStep(st, `pod/${start.namespace}/${start.name}`, { packet }, undefined);
    } else if (start.kind === 'node') {
      const host = this.o.hosts.host(start.node);
      if (!host) {
        this.finish(st, 'dropped', `node ${start.node} is not in the cluster`);
        return this.paths.map(toPath);
      }
      this.moveTo(st, `node/${start.node}`);
      this.nodeStep(st, host, { packet }, undefined);
    } else {
      st.location = 'internet';
      this.fabricStep(st, undefined, packet.dst, { packet }, start.label);
    }
    return this.paths.map(toPath);
  }

  // ------------------------------------------------------------------ elements

  /** A pod's network namespace: routing only (pods run no netfilter of their own here). */
  private podStep(st: State, nsName: string, d: Datagram, iif: string | undefined): void {
    if (this.tooLong(st, nsName, d)) return;
    const ns = this.o.hosts.network.namespace(nsName);
    const res = iif === undefined ? routeOutput(ns, d) : routeInput(ns, d, iif);
    this.branch(st, res.branches, (b) => b.probability, (s, b) => {
      s.hops.push(routeHop(nsName, b, iif, s.zone));
      if (b.outcome === 'local' || b.outcome === 'broadcast') {
        return this.deliver(s, nsName, b.datagram, `delivered to ${nsName}`);
      }
      if (b.outcome !== 'forward') return this.routeFailure(s, nsName, b);
      this.link(s, nsName, b.outInterface!, b.nextHop!, b.datagram);
    });
  }

  /** A node: netfilter (kube-proxy, CNI, portmap rules) around the node's routing decision. */
  private nodeStep(st: State, host: Host, d: Datagram, iif: string | undefined): void {
    const at = host.ns.name;
    if (this.tooLong(st, at, d)) return;
    // Tunnel traffic: the outer packet goes through the host's stack, then the tunnel device decapsulates it.
    if (d.outer) {
      const outer = outerPacket(d.outer);
      if (outer && iif !== undefined) {
        const ev = host.netfilter.evaluate({ ...outer, inInterface: iif }, { from: 'interface' });
        const dropped = ev.outcomes.find((x) => x.verdict !== 'ACCEPT' || x.delivery !== 'local');
        if (dropped && ev.outcomes.length === 1) {
          st.hops.push(...netfilterHops(at, dropped.trace, st.zone));
          return this.finish(st, 'dropped', `${at} did not accept the ${d.outer.kind} packet from ${d.outer.src}`);
        }
      }
      const dec = decapsulate(host.ns, d);
      if (!dec) return this.finish(st, 'dropped', `${at}: no tunnel device takes ${d.outer.kind} from ${d.outer.src}`);
      st.hops.push(hop(at, 'decap', 'decapsulate', `${dec.iif} decapsulates ${d.outer.kind} from ${d.outer.src}`, dec.datagram, st.zone, { in: dec.iif }));
      return this.nodeStep(st, host, dec.datagram, dec.iif);
    }
    const packet = iif === undefined ? d.packet : { ...d.packet, inInterface: iif };
    const injection = { from: iif === undefined ? ('local' as const) : ('interface' as const) };
    const outcomes: readonly NodeOutcome[] = host.ipvsNode
      ? evaluateWithIpvs(host.netfilter, host.ipvsNode, packet, injection).paths.map((p) => ({
          probability: p.probability,
          verdict: p.verdict,
          ...(p.delivery ? { delivery: p.delivery } : {}),
          ...(p.rejectWith !== undefined ? { rejectWith: p.rejectWith } : {}),
          packet: p.packet,
          trace: p.steps,
          ...(p.legs[p.legs.length - 1]!.route ? { route: p.legs[p.legs.length - 1]!.route! } : {}),
          ipvs: p.ipvs !== undefined,
        }))
      : this.o.random
        ? [host.netfilter.sample(packet, injection, this.o.random)]
        : host.netfilter.evaluate(packet, injection).outcomes;
    this.branch(st, outcomes, (x) => x.probability, (s, x) => this.afterNetfilter(s, host, x, iif));
  }

  private afterNetfilter(st: State, host: Host, x: NodeOutcome, iif: string | undefined): void {
    const at = host.ns.name;
    // Hops in the kernel's order: PREROUTING, the routing decision, then FORWARD/INPUT and POSTROUTING
    // (a locally sent packet is routed before OUTPUT). A path through IPVS was routed locally first
    // and rerouted by IPVS: its steps come first, then the route it left by.
    const trace = x.trace;
    const split = x.ipvs ? trace.length : iif === undefined ? 0 : trace.findIndex((t) => t.hook !== 'PREROUTING');
    const pre = split < 0 ? trace : trace.slice(0, split);
    const post = split < 0 ? [] : trace.slice(split);
    st.hops.push(...netfilterHops(at, pre, st.zone));
    if (x.verdict !== 'ACCEPT' || x.delivery === 'local') st.hops.push(...netfilterHops(at, post, st.zone));
    if (x.verdict === 'DROP') return this.finish(st, 'dropped', `dropped by ${lastRule(x.trace) ?? 'a DROP policy'} on ${at}`);
    if (x.verdict === 'REJECT') return this.finish(st, 'rejected', `rejected${x.rejectWith ? ` (${x.rejectWith})` : ''} by ${lastRule(x.trace) ?? 'a REJECT rule'} on ${at}`);
    if (x.verdict === 'NO_ROUTE') {
      // Ask the routing layer again for the reason (blackhole, unreachable, rp_filter…).
      const p = x.packet;
      const step = p.inInterface !== undefined ? routeInput(host.ns, { packet: p }, p.inInterface) : routeOutput(host.ns, { packet: p });
      const b = step.branches[0];
      if (b) {
        st.hops.push(routeHop(at, b, iif, st.zone));
        return this.routeFailure(st, at, b);
      }
      return this.finish(st, 'no-route', `${at} has no route to ${p.dst}`);
    }
    if (x.delivery === 'local') return this.deliverToNode(st, host, x.packet);
    const b = branchOf(x.route);
    if (!b) return this.finish(st, 'no-route', `${at} has no route to ${x.packet.dst}`);
    st.hops.push(routeHop(at, b, iif, st.zone));
    st.hops.push(...netfilterHops(at, post, st.zone));
    if (!this.egressPolicy(st, at, x.packet)) return;
    const out: Datagram = b.encap && b.datagram.outer ? { packet: stripIfaces(x.packet), outer: b.datagram.outer } : { packet: stripIfaces(x.packet) };
    if (b.encap && b.datagram.outer) {
      const o = b.datagram.outer;
      st.hops.push(hop(at, 'encap', o.kind === 'vxlan' ? `vxlan vni ${o.vni ?? 1}` : 'ipip', `${b.encap.device} wraps it in ${o.kind === 'vxlan' ? `VXLAN (UDP ${o.sport}→${o.dport})` : 'IPIP'} ${o.src} → ${o.dst}`, out, st.zone, { out: b.outInterface! }));
    }
    this.link(st, at, b.outInterface!, b.nextHop!, out);
  }

  /** A frame leaves `nsName` by `dev` for `nextHop`: a veth/bridge to a namespace, or the NIC to the fabric. */
  private link(st: State, nsName: string, dev: string, nextHop: string, d: Datagram): void {
    const net = this.o.hosts.network;
    const l2: L2Result = net.deliver(nsName, dev, nextHop);
    if (l2.kind === 'station') {
      const via = l2.bridges.length ? ` (switched by ${l2.bridges.join(', ')})` : '';
      st.hops.push(hop(nsName, 'l2', 'forward', `${dev} → ${l2.namespace} ${l2.iif}${via}`, d, st.zone, { out: dev }));
      const target = l2.namespace;
      const arrived: Datagram = { ...d, packet: { ...d.packet, inInterface: l2.iif } };
      // Pod to pod on one bridge: the frame crosses the node's bridge.
      if (nsName.startsWith('pod/') && target.startsWith('pod/')) {
        const via = this.o.hosts.hostOfNamespace(target);
        if (via) this.moveTo(st, via.ns.name);
      }
      this.moveTo(st, target);
      if (target.startsWith('pod/')) {
        if (!this.egressPolicy(st, nsName, d.packet) || !this.ingressPolicy(st, target, d.packet)) return;
        return this.podStep(st, target, arrived, l2.iif);
      }
      const host = this.o.hosts.hostOfNamespace(target);
      if (!host) return this.finish(st, 'dropped', `${target} is not modelled`);
      return this.nodeStep(st, host, arrived, l2.iif);
    }
    if (l2.kind === 'external') {
      const host = this.o.hosts.hostOfNamespace(nsName);
      const from = host ? this.o.fabric.nicOf(nsName.startsWith('pod/') ? nsName : `node/${host.node.name}`, dev) : undefined;
      if (!from) return this.finish(st, 'dropped', `${nsName} ${dev} is not attached to the network`);
      return this.fabricStep(st, from, nextHop, d, nsName);
    }
    const why = l2.kind === 'unresolved' ? `nobody on ${dev} answers ARP for ${nextHop}` : `${l2.link} is down`;
    st.hops.push(hop(nsName, 'l2', 'drop', why, d, st.zone, { out: dev }));
    return this.finish(st, 'dropped', why);
  }

  /** The network between hosts: the same L2 subnet, or the router / VPC route table. */
  private fabricStep(st: State, from: FabricNic | undefined, nextHop: string, d: Datagram, label: string): void {
    const dst = d.outer ? d.outer.dst : d.packet.dst;
    const src = d.outer ? d.outer.src : d.packet.src;
    const arrival = from ? this.o.fabric.send(from, nextHop, dst, src) : this.o.fabric.route(dst);
    const where = this.o.topology.fabricName;
    this.moveTo(st, where);
    if (arrival.kind === 'internet') {
      st.hops.push(hop(where, 'fabric', 'forward', arrival.note, d, undefined));
      if (!from) return this.finish(st, 'no-route', `${dst} is not in the cluster's network`);
      this.moveTo(st, 'internet');
      return this.deliver(st, 'internet', d, `left the cluster for ${dst}`);
    }
    if (arrival.kind === 'dropped') {
      st.hops.push(hop(where, 'fabric', 'drop', arrival.note, d, undefined));
      return this.finish(st, 'dropped', arrival.note);
    }
    const nic = arrival.nic;
    const cross = from?.zone !== undefined && nic.zone !== undefined && from.zone !== nic.zone;
    const fromText = from ? `${from.owner} ${from.device}` : label;
    st.hops.push({
      ...hop(where, 'fabric', 'forward', `${fromText} → ${nic.owner} ${nic.device}: ${arrival.note}${cross ? ` (crosses ${from!.zone} → ${nic.zone})` : ''}`, d, undefined),
      ...(cross ? { crossZone: true } : {}),
    });
    this.moveTo(st, nic.owner);
    const arrived: Datagram = { ...d, packet: { ...d.packet, inInterface: nic.device } };
    if (nic.owner.startsWith('pod/')) {
      if (!this.egressPolicy(st, where, d.packet) || !this.ingressPolicy(st, nic.owner, d.packet)) return;
      return this.podStep(st, nic.owner, arrived, nic.device);
    }
    const host = this.o.hosts.host(nic.node);
    if (!host) return this.finish(st, 'dropped', `${nic.node} is not in the cluster`);
    this.nodeStep(st, host, arrived, nic.device);
  }

  // ------------------------------------------------------------------ endings

  private deliverToNode(st: State, host: Host, p: Packet): void {
    const name = host.node.name;
    // Who answers: a hostNetwork pod declaring the port, else the node itself.
    const hp = this.o.hostNetworkPods(name).find((pod) =>
      (pod.spec?.containers ?? []).some((c) => (c.ports ?? []).some((port) => port.containerPort === p.dport && (port.protocol ?? 'TCP').toLowerCase() === p.proto)),
    );
    const endpoint = hp ? `pod/${hp.metadata!.namespace}/${hp.metadata!.name}` : `node/${name}`;
    if (!this.egressPolicy(st, host.ns.name, p)) return;
    st.hops.push(hop(host.ns.name, 'deliver', 'deliver', `delivered to ${endpoint}${hp ? ' (hostNetwork)' : ''} on ${p.dst}:${p.dport}`, p, st.zone));
    this.end(st, 'delivered', `delivered to ${endpoint}`, endpoint, p.src);
  }

  private deliver(st: State, at: string, d: Datagram, reason: string): void {
    st.hops.push(hop(at, 'deliver', 'deliver', reason, d, st.zone));
    this.end(st, 'delivered', reason, at, d.packet.src);
  }

  private routeFailure(st: State, at: string, b: RouteBranch): void {
    const outcome = ROUTE_FAILURE[b.outcome] ?? 'dropped';
    this.finish(st, outcome, `${at}: ${b.note}`);
  }

  private finish(st: State, outcome: PathOutcome, reason: string): void {
    this.end(st, outcome, reason);
  }

  private end(st: State, outcome: PathOutcome, reason: string, endpoint?: string, clientIpSeen?: string): void {
    this.paths.push({
      prob: st.prob,
      outcome,
      ...(endpoint !== undefined ? { endpoint } : {}),
      ...(clientIpSeen !== undefined ? { clientIpSeen } : {}),
      crossZone: st.crossZone,
      zones: [...st.zones],
      reason,
      hops: [...st.hops],
    });
  }

  private tooLong(st: State, at: string, d: Datagram): boolean {
    if (++st.steps <= MAX_STEPS) return false;
    st.hops.push(hop(at, 'route', 'loop', `gave up after ${MAX_STEPS} steps`, d, st.zone));
    this.end(st, 'loop', `the packet keeps moving: gave up after ${MAX_STEPS} steps`);
    return true;
  }

  /** Move to a location one link away (the topology says which moves exist), entering its zone. */
  private moveTo(st: State, location: string): void {
    const from = st.location;
    if (from !== undefined && from !== location && !this.o.topology.linked(from, location)) this.problems.add(`no link ${from} — ${location} in the topology (a model inconsistency)`);
    st.location = location;
    this.enterZone(st, this.o.topology.zoneOf(location));
  }

  private enterZone(st: State, zone: string | undefined): void {
    if (zone === undefined) return;
    if (st.zones.length && st.zones[st.zones.length - 1] !== zone) st.crossZone = true;
    if (st.zones[st.zones.length - 1] !== zone) st.zones.push(zone);
    st.zone = zone;
  }

  // ------------------------------------------------------------------ NetworkPolicy

  /** The source pod's egress policy, checked once, where its node forwards the packet (after Service DNAT). */
  private egressPolicy(st: State, at: string, p: Packet): boolean {
    const src = st.srcPod;
    if (!src || !this.o.policy) return true;
    st.srcPod = undefined;
    const v = this.o.policy.verdict('egress', { pod: src, ip: p.src }, { ip: p.dst }, p.proto.toUpperCase(), p.dport);
    return this.policyHop(st, at, v, p);
  }

  /** The destination pod's ingress policy, on the packet as it arrives (after any SNAT). */
  private ingressPolicy(st: State, podNsName: string, p: Packet): boolean {
    if (!this.o.policy) return true;
    const [, namespace, name] = podNsName.split('/') as [string, string, string];
    const pod = this.o.pod(namespace, name);
    if (!pod) return true;
    const v = this.o.policy.verdict('ingress', { pod, ip: p.dst }, { ip: p.src }, p.proto.toUpperCase(), p.dport);
    return this.policyHop(st, podNsName, v, p);
  }

  private policyHop(st: State, at: string, v: PolicyVerdict, p: Packet): boolean {
    if (v.kind === 'not-isolated' && v.why !== 'host-network') return true;
    if (v.allowed) {
      st.hops.push(hop(at, 'policy', 'allow', v.text, p, st.zone));
      return true;
    }
    if (!this.o.enforcePolicy) {
      st.hops.push(hop(at, 'policy', 'not-enforced', `${v.text} — but ${this.o.cniName} does not enforce NetworkPolicy, so it passes`, p, st.zone));
      return true;
    }
    st.hops.push(hop(at, 'policy', 'deny', v.text, p, st.zone));
    this.end(st, 'dropped', v.text);
    return false;
  }

  // ------------------------------------------------------------------ branching

  /** Follow every item (exact) or one drawn item (sampled), each on its own copy of the state. */
  private branch<T>(st: State, items: readonly T[], probOf: (t: T) => Fraction, follow: (s: State, t: T) => void): void {
    if (items.length === 0) return void this.finish(st, 'dropped', 'no branch');
    if (this.o.random) {
      let r = this.o.random();
      let pick: T = items[items.length - 1] as T;
      for (const it of items) {
        const p = probOf(it);
        const v = Number(p.num) / Number(p.den);
        if (r < v) {
          pick = it;
          break;
        }
        r -= v;
      }
      return follow(st, pick);
    }
    if (items.length === 1) return follow(st, items[0]!);
    for (const it of items) {
      const s: State = { ...st, prob: mul(st.prob, probOf(it)), hops: [...st.hops], zones: [...st.zones] };
      follow(s, it);
    }
  }
}

function toPath(d: Draft): TracePath {
  return {
    probability: Number(d.prob.num) / Number(d.prob.den),
    probabilityExact: formatFraction(d.prob),
    outcome: d.outcome,
    ...(d.endpoint !== undefined ? { endpoint: d.endpoint } : {}),
    ...(d.clientIpSeen !== undefined ? { clientIpSeen: d.clientIpSeen } : {}),
    crossZone: d.crossZone,
    zones: d.zones,
    reason: d.reason,
    hops: d.hops,
  };
}

function stripIfaces(p: Packet): Packet {
  const q = { ...p };
  delete (q as { inInterface?: string }).inInterface;
  delete (q as { outInterface?: string }).outInterface;
  return q;
}

function hop(at: string, stage: Stage, action: string, note: string, d: Datagram | Packet, zone: string | undefined, extra: { in?: string; out?: string; rule?: string } = {}): Hop {
  return { at, stage, action, note, packet: packetView(d), ...(zone !== undefined ? { zone } : {}), ...extra };
}

function routeHop(at: string, b: RouteBranch, iif: string | undefined, zone: string | undefined): Hop {
  const rule = [b.ruleText && b.table !== undefined && b.table !== 254 && b.table !== 255 ? `ip rule: ${b.ruleText}` : undefined, b.routeText].filter(Boolean).join(' ; ');
  const action = b.outcome === 'forward' ? 'forward' : b.outcome;
  return {
    ...hop(at, 'route', action, b.note, b.datagram, zone, { ...(iif !== undefined ? { in: iif } : {}), ...(b.outInterface ? { out: b.encap ? b.encap.device : b.outInterface } : {}) }),
    ...(rule ? { rule } : {}),
  };
}

/** Netfilter steps as hops: every rule that matched, and the policy when a chain fell through to it; IPVS decisions. */
function netfilterHops(at: string, trace: readonly PathStep[], zone: string | undefined): Hop[] {
  const out: Hop[] = [];
  for (const s of trace) {
    if ('kind' in s && s.kind === 'ipvs') {
      out.push({
        at,
        stage: 'ipvs',
        rule: s.serverText ? `${s.text}\n${s.serverText}` : s.text,
        action: s.verdict,
        note: `IPVS ${s.scheduler}: ${s.reason}${s.server ? ` → ${s.server.address}:${s.server.port}` : ' — no real server, ICMP port unreachable'}`,
        packet: packetView(s.packet),
        ...(zone !== undefined ? { zone } : {}),
      });
      continue;
    }
    const target = s.rule?.target;
    const action = s.kind === 'policy' ? `policy ${s.verdict}` : target && target.data.kind !== 'jump' && target.data.kind !== 'goto' ? target.name : s.verdict;
    out.push({
      at,
      stage: 'netfilter',
      table: s.table,
      chain: s.chain,
      rule: s.text,
      action,
      note: describeStep(s),
      packet: packetView(s.packet),
      ...(zone !== undefined ? { zone } : {}),
    });
  }
  return out;
}

// A rule's comment, by rule text: the same few thousand rules are described on every trace.
const comments = new Map<string, string | undefined>();

function commentOf(text: string): string | undefined {
  if (comments.has(text)) return comments.get(text);
  const m = /--comment (?:"([^"]*)"|(\S+))/.exec(text);
  const what = m ? (m[1] ?? m[2]) : undefined;
  if (comments.size >= 1 << 16) comments.clear();
  comments.set(text, what);
  return what;
}

function describeStep(s: TraceStep): string {
  const what = commentOf(s.text);
  const before = s.input;
  const after = s.packet;
  const nat =
    before.dst !== after.dst || before.dport !== after.dport
      ? ` → destination ${after.dst}:${after.dport}`
      : before.src !== after.src || before.sport !== after.sport
        ? ` → source ${after.src}${before.sport !== after.sport ? `:${after.sport}` : ''}`
        : '';
  const mark = before.mark !== after.mark ? ` (mark 0x${after.mark.toString(16)})` : '';
  return `${s.table}/${s.chain}${what ? `: ${what}` : ''}${nat}${mark}`;
}

function lastRule(trace: readonly PathStep[]): string | undefined {
  const s = trace[trace.length - 1];
  return s ? s.text : undefined;
}

/** Add the probabilities of identical paths (same outcome, endpoint and hops). */
export function mergePaths(paths: readonly TracePath[]): TracePath[] {
  if (paths.length < 2) return [...paths];
  // Paths are bucketed by a short key and compared hop by hop only within a bucket: distinct
  // endpoints (the common case) never build or compare the long hop lists.
  const buckets = new Map<string, { path: TracePath; prob?: Fraction }[]>();
  const order: { path: TracePath; prob?: Fraction }[] = [];
  for (const p of paths) {
    const key = `${p.outcome}|${p.endpoint}|${p.clientIpSeen}|${p.hops.length}`;
    let bucket = buckets.get(key);
    if (!bucket) buckets.set(key, (bucket = []));
    const same = bucket.find((m) => sameHops(m.path.hops, p.hops));
    if (same) {
      same.prob = add(same.prob ?? parseFraction(same.path.probabilityExact), parseFraction(p.probabilityExact));
      continue;
    }
    const entry = { path: p };
    bucket.push(entry);
    order.push(entry);
  }
  return order.map(({ path, prob }) =>
    prob ? { ...path, probability: Number(prob.num) / Number(prob.den), probabilityExact: formatFraction(prob) } : path,
  );
}

/** Hops are equal when their location, stage, action, rule and packet addresses and ports are. */
function sameHops(a: readonly Hop[], b: readonly Hop[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.at !== y.at || x.stage !== y.stage || x.action !== y.action || (x.rule ?? '') !== (y.rule ?? '')) return false;
    const p = x.packet;
    const q = y.packet;
    if (p.src !== q.src || p.sport !== q.sport || p.dst !== q.dst || p.dport !== q.dport) return false;
  }
  return true;
}


