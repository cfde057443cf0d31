// The NetworkPolicy index: built once from NetworkPolicies, Pods, Namespaces (and optionally
// Nodes), kept current by set/delete calls, and asked `evaluate(query)`.
//
// Semantics (networking.k8s.io/v1; reference §3.1):
// - allowed = egress of the source allows AND ingress of the destination allows.
// - A direction of a pod is isolated when some policy of its namespace selects it and has that
//   direction in its (defaulted) policyTypes; then only what some rule of those policies allows
//   passes. Policies only add: no order, no deny.
// - Exempt: traffic from the pod's own node (ingress), and a pod to itself (both directions,
//   see `direction`).
// - Ends that are not pods (outside addresses, nodes, hostNetwork pods) are never isolated and
//   match only ipBlock peers. hostNetwork pods are left undefined upstream; like most plugins we
//   treat them as their node's address.
// - ipBlock also matches pod IPs (option `ipBlockMatchesPods`, default true: e2e and Cyclonus).
// - Named ports resolve against the destination pod's container ports (name and protocol); toward
//   an end that is not a pod they match nothing (implementation-defined: there is nothing to
//   resolve the name against; Cyclonus also takes names only from destination pods' containers).
// - Ports are the destination port the pod sees, after Service DNAT.
//
// Cost: policies are grouped by namespace; the policies selecting a pod are computed once per
// Pod object and namespace generation (a WeakMap keyed by the immutable Pod), so a query scans only
// the rules of the policies that select its two ends.
import type { Namespace, Node, Pod } from 'kubernetes-types/core/v1.js';
import type { NetworkPolicy } from 'kubernetes-types/networking/v1.js';
import { matchesSelector, type Labels } from '../cluster/labels.js';
import { canonicalIp, parseIp, type IpAddress } from '../net/ip.js';
import { compilePolicy, DEFAULT_NAMESPACE, type CompiledPolicy } from './compile.js';
import { denyReasonText, endText, isolatedText, rulePathText, trafficText, type DenyReason } from './explain.js';
import { checkRule, portNamesOf, type PeerEnd } from './match.js';
import type { Direction, Endpoint, PolicyIndexOptions, PolicyQuery, PolicyRef, PolicyResult, Verdict } from './types.js';

export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export interface PolicyIndexInput {
  readonly policies?: readonly NetworkPolicy[];
  readonly pods?: readonly Pod[];
  readonly namespaces?: readonly Namespace[];
  /** Optional: node addresses make `{ip: <node IP>}` count as that node (node-local exemption). */
  readonly nodes?: readonly Node[];
}

interface NamespacePolicies {
  readonly byName: Map<string, CompiledPolicy>;
  /** By name, for a deterministic "first policy that allows". Rebuilt lazily. */
  sorted: CompiledPolicy[] | undefined;
  /** Bumped on every change; cached selections carry the value they were computed at. */
  generation: number;
}

/** The policies that select one pod, per direction. */
export interface Selection {
  readonly ingress: readonly CompiledPolicy[];
  readonly egress: readonly CompiledPolicy[];
}

interface CachedSelection extends Selection {
  readonly generation: number;
}

const NO_SELECTION: Selection = { ingress: [], egress: [] };

function podKey(pod: Pod): string {
  return `${pod.metadata?.namespace ?? DEFAULT_NAMESPACE}/${pod.metadata?.name ?? ''}`;
}

function podIps(pod: Pod): string[] {
  const list = (pod.status?.podIPs ?? []).flatMap((p) => (p.ip ? [p.ip] : []));
  if (list.length === 0 && pod.status?.podIP) list.push(pod.status.podIP);
  return list;
}

function hostIps(pod: Pod): string[] {
  const list = (pod.status?.hostIPs ?? []).flatMap((p) => (p.ip ? [p.ip] : []));
  if (list.length === 0 && pod.status?.hostIP) list.push(pod.status.hostIP);
  return list;
}

function parsedIps(list: readonly string[]): IpAddress[] {
  return list.map(parseIp).filter((a): a is IpAddress => a !== undefined);
}

export class PolicyIndex {
  private readonly ipBlockMatchesPods: boolean;
  private readonly byNamespace = new Map<string, NamespacePolicies>();
  private readonly namespaceLabels = new Map<string, Labels>();
  private readonly pods = new Map<string, Pod>();
  private readonly podByIp = new Map<string, Pod>();
  private readonly nodeByIp = new Map<string, string>();
  private readonly nodeIps = new Map<string, string[]>();
  /** Node addresses learnt from pods' status.hostIPs: a fallback when no Node objects are given. */
  private readonly hostIpNode = new Map<string, string>();
  private selections = new WeakMap<Pod, CachedSelection>();
  /** Parsed pod IPs per (immutable) Pod object. */
  private readonly addresses = new WeakMap<Pod, readonly IpAddress[]>();
  private generation = 0;

  constructor(input: PolicyIndexInput = {}, options: PolicyIndexOptions = {}) {
    this.ipBlockMatchesPods = options.ipBlockMatchesPods ?? true;
    for (const ns of input.namespaces ?? []) this.setNamespace(ns);
    for (const node of input.nodes ?? []) this.setNode(node);
    for (const pod of input.pods ?? []) this.setPod(pod);
    for (const p of input.policies ?? []) this.setPolicy(p);
  }

  // --- keeping the index current -------------------------------------------------------------

  setPolicy(policy: NetworkPolicy): void {
    const compiled = compilePolicy(policy);
    const ns = this.namespacePolicies(compiled.namespace);
    ns.byName.set(compiled.name, compiled);
    this.touch(ns);
  }

  deletePolicy(namespace: string, name: string): void {
    const ns = this.byNamespace.get(namespace);
    if (!ns || !ns.byName.delete(name)) return;
    this.touch(ns);
  }

  setNamespace(ns: Namespace): void {
    const name = ns.metadata?.name ?? '';
    // The API server always sets this immutable label; objects built by hand may lack it.
    const labels = ns.metadata?.labels?.[NAMESPACE_NAME_LABEL] === name ? ns.metadata.labels : { ...ns.metadata?.labels, [NAMESPACE_NAME_LABEL]: name };
    this.namespaceLabels.set(name, labels);
  }

  deleteNamespace(name: string): void {
    this.namespaceLabels.delete(name);
  }

  setPod(pod: Pod): void {
    const key = podKey(pod);
    this.deletePodIps(this.pods.get(key));
    this.pods.set(key, pod);
    if (!pod.spec?.hostNetwork) {
      for (const ip of podIps(pod)) {
        const c = canonicalIp(ip);
        if (c) this.podByIp.set(c, pod);
      }
    }
    const node = pod.spec?.nodeName;
    if (node) {
      for (const ip of hostIps(pod)) {
        const c = canonicalIp(ip);
        if (c) this.hostIpNode.set(c, node);
      }
    }
  }

  deletePod(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    this.deletePodIps(this.pods.get(key));
    this.pods.delete(key);
  }

  setNode(node: Node): void {
    const name = node.metadata?.name ?? '';
    this.deleteNode(name);
    const ips: string[] = [];
    for (const a of node.status?.addresses ?? []) {
      if (a.type !== 'InternalIP' && a.type !== 'ExternalIP') continue;
      const c = canonicalIp(a.address);
      if (c) {
        ips.push(c);
        this.nodeByIp.set(c, name);
      }
    }
    this.nodeIps.set(name, ips);
  }

  deleteNode(name: string): void {
    for (const ip of this.nodeIps.get(name) ?? []) if (this.nodeByIp.get(ip) === name) this.nodeByIp.delete(ip);
    this.nodeIps.delete(name);
  }

  private deletePodIps(old: Pod | undefined): void {
    if (!old) return;
    for (const ip of podIps(old)) {
      const c = canonicalIp(ip);
      if (c && this.podByIp.get(c) === old) this.podByIp.delete(c);
    }
  }

  private namespacePolicies(namespace: string): NamespacePolicies {
    let ns = this.byNamespace.get(namespace);
    if (!ns) {
      ns = { byName: new Map(), sorted: undefined, generation: ++this.generation };
      this.byNamespace.set(namespace, ns);
    }
    return ns;
  }

  private touch(ns: NamespacePolicies): void {
    ns.sorted = undefined;
    ns.generation = ++this.generation;
  }

  // --- reading ---------------------------------------------------------------------------------

  /** The policies of a namespace, by name. */
  policiesIn(namespace: string): readonly CompiledPolicy[] {
    const ns = this.byNamespace.get(namespace);
    if (!ns) return [];
    if (!ns.sorted) ns.sorted = [...ns.byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return ns.sorted;
  }

  /** The policies that isolate this pod, per direction (none for hostNetwork pods). */
  selecting(pod: Pod): Selection {
    if (pod.spec?.hostNetwork) return NO_SELECTION;
    const namespace = pod.metadata?.namespace ?? DEFAULT_NAMESPACE;
    const ns = this.byNamespace.get(namespace);
    if (!ns || ns.byName.size === 0) return NO_SELECTION;
    const cached = this.selections.get(pod);
    if (cached && cached.generation === ns.generation) return cached;
    const ingress: CompiledPolicy[] = [];
    const egress: CompiledPolicy[] = [];
    for (const p of this.policiesIn(namespace)) {
      if (!matchesSelector(p.podSelector, pod.metadata?.labels)) continue;
      if (p.ingress) ingress.push(p);
      if (p.egress) egress.push(p);
    }
    const sel: CachedSelection = { ingress, egress, generation: ns.generation };
    this.selections.set(pod, sel);
    return sel;
  }

  /** Labels of a namespace, with `kubernetes.io/metadata.name` even when the Namespace is unknown. */
  labelsOfNamespace(namespace: string): Labels {
    return this.namespaceLabels.get(namespace) ?? { [NAMESPACE_NAME_LABEL]: namespace };
  }

  /** The pod whose (pod-network) IP this is. */
  podWithIp(ip: string): Pod | undefined {
    const c = canonicalIp(ip);
    return c === undefined ? undefined : this.podByIp.get(c);
  }

  // --- evaluation ------------------------------------------------------------------------------

  evaluate(q: PolicyQuery): PolicyResult {
    if (q.isReply) {
      const reply: Verdict = { kind: 'reply', allowed: true, text: 'reply of an allowed connection: not evaluated (NetworkPolicy is stateful)' };
      return { allowed: true, ingress: reply, egress: reply };
    }
    const src = this.resolve(q.src);
    const dst = this.resolve(q.dst);
    const protocol = q.protocol.toUpperCase();
    const egress = this.direction('egress', src, dst, protocol, q.port);
    const ingress = this.direction('ingress', dst, src, protocol, q.port);
    return { allowed: egress.allowed && ingress.allowed, ingress, egress };
  }

  /** One direction: is `target` (the pod the policies select) allowed to talk with `other`? */
  verdict(direction: Direction, target: Endpoint, other: Endpoint, protocol: string, port: number): Verdict {
    return this.direction(direction, this.resolve(target), this.resolve(other), protocol.toUpperCase(), port);
  }

  private podAddresses(pod: Pod): readonly IpAddress[] {
    let ips = this.addresses.get(pod);
    if (!ips) {
      ips = parsedIps(podIps(pod));
      this.addresses.set(pod, ips);
    }
    return ips;
  }

  private resolve(e: Endpoint): PeerEnd {
    if ('pod' in e) {
      const pod = e.pod;
      const namespace = pod.metadata?.namespace ?? DEFAULT_NAMESPACE;
      const name = pod.metadata?.name ?? '';
      if (pod.spec?.hostNetwork) {
        const ip = e.ip ?? podIps(pod)[0] ?? hostIps(pod)[0];
        const node = pod.spec.nodeName;
        return { kind: 'host', ip: ip === undefined ? undefined : parseIp(ip), node, fromNode: false, hostNetwork: true, label: `hostNetwork pod ${namespace}/${name}${node ? ` on node ${node}` : ''}` };
      }
      const ips = e.ip !== undefined ? parsedIps([e.ip]) : this.podAddresses(pod);
      return { kind: 'pod', pod, namespace, name, labels: pod.metadata?.labels, namespaceLabels: this.labelsOfNamespace(namespace), ips };
    }
    const ip = parseIp(e.ip);
    const text = ip ? canonicalIp(e.ip)! : e.ip;
    if (e.fromNode) return { kind: 'host', ip, node: undefined, fromNode: true, hostNetwork: false, label: `${text} (the pod's own node)` };
    const pod = ip ? this.podByIp.get(text) : undefined;
    if (pod) return this.resolve({ pod, ip: text });
    const node = ip ? (this.nodeByIp.get(text) ?? this.hostIpNode.get(text)) : undefined;
    if (node !== undefined) return { kind: 'host', ip, node, fromNode: false, hostNetwork: false, label: `node ${node} (${text})` };
    return { kind: 'external', ip, label: text };
  }

  private direction(direction: Direction, target: PeerEnd, other: PeerEnd, protocol: string, port: number): Verdict {
    if (target.kind === 'host' && target.hostNetwork) {
      return { kind: 'not-isolated', allowed: true, why: 'host-network', text: `${target.label} uses the host network: NetworkPolicy does not select it` };
    }
    if (target.kind !== 'pod') {
      const role = direction === 'ingress' ? 'destination' : 'source';
      return { kind: 'not-isolated', allowed: true, why: 'not-a-pod', text: `${role} ${target.label} is not a pod: no ${direction} policy applies` };
    }
    const who = `${target.namespace}/${target.name}`;
    const policies = this.selecting(target.pod)[direction];
    if (policies.length === 0) {
      return { kind: 'not-isolated', allowed: true, why: 'no-policy', text: `no NetworkPolicy selects ${who} for ${direction}` };
    }
    const isolatedBy: PolicyRef[] = policies.map((p) => p.ref);
    // The packet never leaves the pod's network namespace (it goes over lo), so neither direction
    // applies. The reference writes this for ingress only; plugins enforce neither.
    if (other.kind === 'pod' && other.namespace === target.namespace && other.name === target.name) {
      return { kind: 'exempt', allowed: true, isolatedBy, why: 'self', text: `${isolatedText(who, direction, isolatedBy)}, but traffic from a pod to itself is always allowed` };
    }
    if (direction === 'ingress' && other.kind === 'host' && (other.fromNode || (other.node !== undefined && other.node === target.pod.spec?.nodeName))) {
      return {
        kind: 'exempt',
        allowed: true,
        isolatedBy,
        why: 'node-local',
        text: `${isolatedText(who, direction, isolatedBy)}, but traffic from its own node (${other.label}) is always allowed`,
      };
    }
    const dstPod = direction === 'ingress' ? target.pod : other.kind === 'pod' ? other.pod : undefined;
    let names: ReadonlySet<string> | undefined;
    const dstPortNames = () => (names ??= portNamesOf(dstPod, port, protocol));
    const reasons: [CompiledPolicy, DenyReason][] = [];
    for (const p of policies) {
      const rules = p[direction]!;
      if (rules.length === 0) {
        reasons.push([p, 'no-rules']);
        continue;
      }
      let portOk = false;
      for (let i = 0; i < rules.length; i++) {
        const c = checkRule(rules[i]!, p.namespace, other, protocol, port, dstPortNames, this.ipBlockMatchesPods);
        if (c.hit) {
          const path = rulePathText(direction, i, rules[i]!, c.hit);
          return {
            kind: 'allowed',
            allowed: true,
            isolatedBy,
            match: { policy: p.ref, direction, rule: i, peer: c.hit.peer, port: c.hit.port, text: path },
            text: `${isolatedText(who, direction, isolatedBy)}; ${endText(other)} on ${trafficText(protocol, port)} allowed by ${p.ref} ${path}`,
          };
        }
        portOk ||= c.portOk;
      }
      reasons.push([p, portOk ? 'peer' : 'port']);
    }
    const traffic = trafficText(protocol, port);
    const why = reasons.map(([p, r]) => denyReasonText(p, direction, r, other, traffic)).join('; ');
    return {
      kind: 'denied',
      allowed: false,
      isolatedBy,
      text: `${isolatedText(who, direction, isolatedBy)} and no rule allows ${endText(other)} on ${traffic}: ${why}`,
    };
  }
}

/** Build the index once; `index.evaluate({src, dst, protocol, port})` answers. */
export function buildPolicyIndex(input: PolicyIndexInput, options?: PolicyIndexOptions): PolicyIndex {
  return new PolicyIndex(input, options);
}
