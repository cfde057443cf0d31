// Tracing one packet through a node's `iptables-save` dump (rendered by kubepath or taken from a real
// node, legacy or nft backend): parse it with the netfilter parser, evaluate the packet with the
// exact evaluator, and describe every outcome in the trace JSON shape (see DESIGN.md), naming the
// Service and endpoint from kube-proxy's rule comments and chain names where present.
import { readFileSync } from 'node:fs';
import { InputError, type Diagnostic } from '../manifest/diagnostic.js';
import { addressNumber, makePacket, type L4Protocol, type Packet } from '../net/packet.js';
import {
  Netfilter,
  parseIpsetSave,
  parseIptablesSave,
  type IpsetStore,
  type NodeNetwork,
  type Choice,
  type Rule,
  type TraceStep,
} from '../dataplane/netfilter/index.js';
import { evaluateWithIpvs, parseIpvsadm, plainPath, type IpvsNode, type PathStep } from '../dataplane/ipvs/index.js';
import { formatFraction, fraction, mul, ONE, type Fraction } from '../dataplane/netfilter/probability.js';

export interface DumpTraceRequest {
  /** The dump's file name (diagnostics name it). */
  readonly file: string;
  /** The dump's text; read from `file` when absent. */
  readonly text?: string;
  /** `ip/ADDR` or `ip/ADDR:PORT` (the source port defaults to 40000). */
  readonly from: string;
  /** `tcp://IP:PORT`, `udp://IP:PORT` or `sctp://IP:PORT` (IPv6 in brackets). */
  readonly to: string;
  /** The node's own addresses, `IP` or `IP/PREFIX` (the prefix gives the connected subnet). */
  readonly nodeIPs: readonly string[];
  /** The interface a packet from elsewhere arrives on; default eth0. */
  readonly inInterface?: string;
  /** `ipset save` output for rules that match sets (IPVS mode). */
  readonly ipsetFile?: string;
  readonly ipsetText?: string;
  /** `ipvsadm -Sn --nosort` output (IPVS mode): the virtual services, whose addresses are local (kube-ipvs0). */
  readonly ipvsadmFile?: string;
  readonly ipvsadmText?: string;
}

export interface HopPacket {
  readonly src: string;
  readonly sport: number;
  readonly dst: string;
  readonly dport: number;
  readonly proto: string;
}

export interface Hop {
  /** `node/<first node IP>`. */
  readonly at: string;
  readonly stage: 'netfilter' | 'ipvs';
  readonly hook: string;
  readonly table: string;
  readonly chain: string;
  /** The rule exactly as in the dump (`-A CHAIN ...`), `-P CHAIN POLICY` for a chain's policy, or the IPVS service and server lines. */
  readonly rule: string;
  /** 1-based line of the rule in the dump (absent for policies). */
  readonly line?: number;
  /** JUMP:X, GOTO:X, RETURN, CONTINUE, ACCEPT, DROP, REJECT; DNAT/SNAT/MASQUERADE/REDIRECT for NAT; `policy X`. */
  readonly action: string;
  readonly note: string;
  /** The packet after this step. */
  readonly packet: HopPacket;
}

export type PathOutcome = 'delivered' | 'dropped' | 'rejected' | 'no-route';

export interface TracePath {
  /** Probability of this path, as a number. */
  readonly probability: number;
  /** Exact probability as the kernel draws it (statistic probabilities quantised to 1/2^31). */
  readonly probabilityExact: string;
  /** The probability kube-proxy meant: each random choice snapped to its nearest simple fraction (1/3, 1/2). */
  readonly probabilityNominal: string;
  readonly outcome: PathOutcome;
  readonly verdict: string;
  /** ACCEPT: `local` (a socket on the node), `forward` (out an interface) or `output` (sent by the node). */
  readonly delivery?: string;
  readonly outInterface?: string;
  readonly rejectWith?: string;
  /** `ip:port` the packet is delivered to (after DNAT), or null. */
  readonly endpoint: string | null;
  /** kube-proxy's name for the Service port (`ns/name:port`), from rule comments. */
  readonly service: string | null;
  /** The source address the endpoint sees, or null when not delivered. */
  readonly clientIpSeen: string | null;
  readonly dnat: { readonly from: string; readonly to: string } | null;
  readonly snat: { readonly from: string; readonly to: string } | null;
  /** NAT picked a source port the kernel may pick differently (--random-fully, a clash). */
  readonly sourcePortMayVary: boolean;
  readonly hops: readonly Hop[];
}

export interface DumpTrace {
  readonly request: {
    readonly from: string;
    readonly to: string;
    readonly iptablesSave: string;
    readonly nodeIPs: readonly string[];
    /** Where the packet enters: OUTPUT when the source is a node address, else PREROUTING. */
    readonly entry: 'PREROUTING' | 'OUTPUT';
    readonly inInterface?: string;
    readonly packet: HopPacket;
  };
  readonly paths: readonly TracePath[];
}

const DEFAULT_SPORT = 40000;

function bad(message: string, field: string, hint?: string): InputError {
  return new InputError([{ severity: 'error', field, message, ...(hint ? { hint } : {}) }]);
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError([{ severity: 'error', file, message: `cannot read the ${what}: ${(e as NodeJS.ErrnoException).code ?? String(e)}` }]);
  }
}

/** `ip/ADDR[:PORT]` (IPv6 as `ip/[ADDR]:PORT` when a port is given). */
export function parseFrom(from: string): { address: string; sport: number } {
  const m = /^ip\/(?:\[([^\]]+)\]|([^:]+)|([0-9a-fA-F:]+))(?::(\d+))?$/.exec(from);
  const address = m ? (m[1] ?? m[2] ?? m[3]!) : undefined;
  if (!m || !address || !addressNumber(address)) throw bad(`"${from}" is not a source address`, '--from', 'write ip/ADDR, e.g. ip/10.244.1.5 or ip/10.244.1.5:40000');
  const sport = m[4] !== undefined ? Number(m[4]) : DEFAULT_SPORT;
  if (!(sport >= 1 && sport <= 65535)) throw bad(`source port ${m[4]} is out of range`, '--from');
  return { address, sport };
}

/** `tcp://IP:PORT` | `udp://IP:PORT` | `sctp://IP:PORT`. */
export function parseTo(to: string): { proto: L4Protocol; address: string; dport: number } {
  const m = /^(tcp|udp|sctp):\/\/(?:\[([^\]]+)\]|([^:/]+)):(\d+)\/?$/.exec(to);
  const address = m ? (m[2] ?? m[3]!) : undefined;
  if (!m || !address || !addressNumber(address)) throw bad(`"${to}" is not a destination`, '--to', 'write tcp://IP:PORT or udp://IP:PORT');
  const dport = Number(m[4]);
  if (!(dport >= 1 && dport <= 65535)) throw bad(`port ${m[4]} is out of range`, '--to');
  return { proto: m[1] as L4Protocol, address, dport };
}

function nodeNetwork(nodeIPs: readonly string[], ipvsAddresses: readonly string[] = []): { network: NodeNetwork; addresses: string[] } {
  const addresses: string[] = [];
  const withPrefix: string[] = [];
  for (const raw of nodeIPs) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(raw.trim());
    const a = m ? addressNumber(m[1]!) : undefined;
    const max = a?.family === 6 ? 128 : 32;
    const prefix = m?.[2] !== undefined ? Number(m[2]) : max;
    if (!m || !a || prefix > max) throw bad(`"${raw}" is not a node address`, '--node-ip', 'write an address, optionally with its prefix: 192.168.1.2 or 192.168.1.2/24');
    addresses.push(m[1]!);
    withPrefix.push(`${m[1]}/${prefix}`);
  }
  return {
    network: {
      interfaces: [
        { name: 'lo', addresses: ['127.0.0.1/8', '::1/128'] },
        { name: 'eth0', addresses: withPrefix },
        // kube-proxy binds every IPVS virtual service address to the kube-ipvs0 dummy device.
        ...(ipvsAddresses.length ? [{ name: 'kube-ipvs0', addresses: ipvsAddresses.map((a) => `${a}/${a.includes(':') ? 128 : 32}`) }] : []),
      ],
      defaultInterface: 'eth0',
    },
    addresses,
  };
}

/** Evaluate a packet through a dump; throws InputError for bad arguments or a dump that does not parse. */
export function traceDump(req: DumpTraceRequest): DumpTrace {
  const text = req.text ?? readText(req.file, 'iptables-save dump');
  const { address: src, sport } = parseFrom(req.from);
  const { proto, address: dst, dport } = parseTo(req.to);
  let ipvs: IpvsNode | undefined;
  const ipvsText = req.ipvsadmText ?? (req.ipvsadmFile ? readText(req.ipvsadmFile, 'ipvsadm -Sn output') : undefined);
  if (ipvsText !== undefined) {
    const r = parseIpvsadm(ipvsText, req.ipvsadmFile ? { file: req.ipvsadmFile } : {});
    if (!r.ok) throw new InputError([...r.diagnostics]);
    // kube-proxy's IPVS proxier sets net.ipv4.vs.conntrack=1 (and expire_quiescent_template=1).
    ipvs = { config: r.config, sysctls: { conntrack: true, expireQuiescentTemplate: true } };
  }
  const vips = ipvs ? [...new Set(ipvs.config.services.flatMap((v) => (v.address ? [v.address] : [])))] : [];
  const { network, addresses } = nodeNetwork(req.nodeIPs, vips);
  const family = addressNumber(src)!.family;
  if (addressNumber(dst)!.family !== family) throw bad(`${req.from} and ${req.to} are of different address families`, '--to');

  const parsed = parseIptablesSave(text, { file: req.file, family });
  if (!parsed.ok) throw new InputError([...parsed.diagnostics]);
  let ipsets: IpsetStore | undefined;
  const ipsetText = req.ipsetText ?? (req.ipsetFile ? readText(req.ipsetFile, 'ipset save output') : undefined);
  if (ipsetText !== undefined) {
    const r = parseIpsetSave(ipsetText, req.ipsetFile ? { file: req.ipsetFile } : {});
    if (!r.ok) throw new InputError([...r.diagnostics]);
    ipsets = r.store;
  }
  let nf: Netfilter;
  try {
    // The kernel's own probabilities: iptables-save prints them rounded, the kernel draws with units of 2^-31.
    nf = new Netfilter(parsed.ruleset, { node: network, probability: 'kernel', ...(ipsets ? { ipsets } : {}) });
  } catch (e) {
    if (e instanceof InputError) {
      throw new InputError(e.diagnostics.map((d): Diagnostic => ({ ...d, file: req.file, hint: d.hint ? `${d.hint}: pass --ipset-save FILE` : 'pass --ipset-save FILE' })));
    }
    throw e;
  }

  const local = addresses.some((a) => sameAddress(a, src)) || isLoopback(src);
  const inInterface = req.inInterface ?? 'eth0';
  const packet = makePacket({ src, dst, proto, sport, dport, ...(local ? {} : { inInterface }) });
  const injection = { from: local ? ('local' as const) : ('interface' as const) };
  const paths = ipvs ? evaluateWithIpvs(nf, ipvs, packet, injection).paths : nf.evaluate(packet, injection).outcomes.map(plainPath);
  const outcomes: DumpOutcome[] = paths.map((p) => ({
    ...p,
    choices: p.legs.flatMap((l) => l.choices),
    ...(p.ipvs ? { ipvsProbability: p.ipvs.probability } : {}),
  }));
  const lines = text.split('\n');
  const at = `node/${addresses[0] ?? 'local'}`;
  return {
    request: {
      from: req.from,
      to: req.to,
      iptablesSave: req.file,
      nodeIPs: [...req.nodeIPs],
      entry: local ? 'OUTPUT' : 'PREROUTING',
      ...(local ? {} : { inInterface }),
      packet: hopPacket(packet),
    },
    paths: outcomes.map((o) => describeOutcome(o, lines, at)),
  };
}

function sameAddress(a: string, b: string): boolean {
  const x = addressNumber(a);
  const y = addressNumber(b);
  return x !== undefined && y !== undefined && x.family === y.family && x.n === y.n;
}

function isLoopback(a: string): boolean {
  return a.startsWith('127.') || sameAddress(a, '::1');
}

function hopPacket(p: Packet): HopPacket {
  return { src: p.src, sport: p.sport, dst: p.dst, dport: p.dport, proto: p.proto };
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

const OUTCOME: Record<string, PathOutcome> = { ACCEPT: 'delivered', DROP: 'dropped', REJECT: 'rejected', NO_ROUTE: 'no-route' };

/** What describeOutcome needs of a netfilter outcome or of a path through IPVS. */
interface DumpOutcome {
  readonly probability: Fraction;
  readonly probabilityValue: number;
  readonly verdict: string;
  readonly delivery?: string;
  readonly outInterface?: string;
  readonly rejectWith?: string;
  readonly packet: Packet;
  readonly steps: readonly PathStep[];
  readonly choices: readonly Choice[];
  readonly sourcePortMayVary: boolean;
  /** The IPVS scheduler's share of the probability (already a simple fraction). */
  readonly ipvsProbability?: Fraction;
}

function describeOutcome(o: DumpOutcome, lines: readonly string[], at: string): TracePath {
  const hops: Hop[] = [];
  let service: string | null = null;
  let commentEndpoint: string | null = null;
  let dnat: { from: string; to: string } | null = null;
  let snat: { from: string; to: string } | null = null;
  const choiceOf = new Map(o.choices.map((c) => [c.rule, c]));
  for (const step of o.steps) {
    if ('kind' in step && step.kind === 'ipvs') {
      if (step.server && step.verdict === 'MASQ') dnat = { from: hostPort(step.input.dst, step.input.dport), to: hostPort(step.packet.dst, step.packet.dport) };
      hops.push({
        at,
        stage: 'ipvs',
        hook: step.hook,
        table: 'ipvs',
        chain: step.scheduler,
        rule: step.serverText ? `${step.text}\n${step.serverText}` : step.text,
        action: step.verdict,
        note: `${step.reason}${step.server ? `; ${step.verdict === 'MASQ' ? 'DNAT' : step.verdict} ${hostPort(step.input.dst, step.input.dport)} -> ${hostPort(step.server.address, step.server.port || step.input.dport)}` : '; no real server: ICMP port unreachable'}`,
        packet: hopPacket(step.packet),
      });
      continue;
    }
    const rule = step.rule;
    const comment = rule ? commentOf(rule) : undefined;
    const named = comment !== undefined ? kubeProxyComment(comment) : undefined;
    if (named?.service && (service === null || named.kind === 'endpoint')) service = named.service;
    if (named?.endpoint) commentEndpoint = named.endpoint;
    const nat = rule?.target?.data.kind;
    const isNat = step.input !== step.packet && (nat === 'DNAT' || nat === 'SNAT' || nat === 'MASQUERADE' || nat === 'REDIRECT');
    if (isNat && (nat === 'DNAT' || nat === 'REDIRECT')) dnat = { from: hostPort(step.input.dst, step.input.dport), to: hostPort(step.packet.dst, step.packet.dport) };
    if (isNat && (nat === 'SNAT' || nat === 'MASQUERADE')) snat = { from: hostPort(step.input.src, step.input.sport), to: hostPort(step.packet.src, step.packet.sport) };
    hops.push({
      at,
      stage: 'netfilter',
      hook: step.hook,
      table: step.table,
      chain: step.chain,
      rule: rule ? ruleTextInDump(rule, lines, step) : step.text,
      ...(rule && rule.line > 0 ? { line: rule.line } : {}),
      action: step.kind === 'policy' ? `policy ${step.verdict}` : isNat ? nat! : step.verdict,
      note: hopNote(step, named, choiceOf.get(rule!)),
      packet: hopPacket(step.packet),
    });
  }
  const p = o.packet;
  const delivered = o.verdict === 'ACCEPT';
  return {
    probability: o.probabilityValue,
    probabilityExact: formatFraction(o.probability),
    probabilityNominal: formatFraction(o.ipvsProbability ? mul(nominalProbability(o), o.ipvsProbability) : nominalProbability(o)),
    outcome: OUTCOME[o.verdict]!,
    verdict: o.verdict,
    ...(o.delivery ? { delivery: o.delivery } : {}),
    ...(delivered && o.outInterface ? { outInterface: o.outInterface } : {}),
    ...(o.rejectWith ? { rejectWith: o.rejectWith } : {}),
    endpoint: delivered ? hostPort(p.dst, p.dport) : dnat ? dnat.to : commentEndpoint,
    service,
    clientIpSeen: delivered ? p.src : null,
    dnat,
    snat,
    sourcePortMayVary: o.sourcePortMayVary,
    hops,
  };
}

/** The rule's own line of the dump (counters prefix dropped), else its canonical text. */
function ruleTextInDump(rule: Rule, lines: readonly string[], step: TraceStep): string {
  const raw = rule.line > 0 ? lines[rule.line - 1] : undefined;
  if (raw === undefined) return step.text;
  const t = raw.trim().replace(/^\[\d+:\d+\]\s+/, '');
  return t.startsWith('-A ') || t.startsWith('-I ') ? t : step.text;
}

function commentOf(rule: Rule): string | undefined {
  for (const m of rule.matches) if (m.data.kind === 'comment') return m.data.comment;
  return undefined;
}

export interface KubeProxyName {
  readonly service?: string;
  readonly endpoint?: string;
  readonly kind: 'cluster-ip' | 'external-ip' | 'load-balancer' | 'no-endpoints' | 'no-local-endpoints' | 'endpoint' | 'external' | 'service' | 'firewall';
  readonly text: string;
}

// A ServicePortName: namespace/name, optionally :port (DNS-1123 names; port names are IANA-like).
const SPN = '([a-z0-9](?:[-a-z0-9.]*[a-z0-9])?/[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?(?::[-a-z0-9]+)?)';
const COMMENT_FORMS: readonly [RegExp, KubeProxyName['kind'], string][] = [
  [new RegExp(`^${SPN} cluster IP$`), 'cluster-ip', 'cluster IP of'],
  [new RegExp(`^${SPN} external IP$`), 'external-ip', 'external IP of'],
  [new RegExp(`^${SPN} loadbalancer IP$`), 'load-balancer', 'load balancer IP of'],
  [new RegExp(`^${SPN} has no endpoints$`), 'no-endpoints', 'no endpoints:'],
  [new RegExp(`^${SPN} has no local endpoints$`), 'no-local-endpoints', 'no local endpoints:'],
  [new RegExp(`^masquerade traffic for ${SPN} external destinations$`), 'external', 'external destination of'],
  [new RegExp(`^(?:pod|route LOCAL) traffic for ${SPN} external destinations$`), 'external', 'external destination of'],
  [new RegExp(`^${SPN} traffic not accepted by \\S+$`), 'firewall', 'load balancer firewall of'],
  [new RegExp(`^${SPN}$`), 'service', 'Service'],
];

/** What a kube-proxy rule comment names: `"ns/svc:port cluster IP"`, `"ns/svc:port -> ip:port"`, ... */
export function kubeProxyComment(comment: string): KubeProxyName | undefined {
  const arrow = new RegExp(`^${SPN} -> (\\S+)$`).exec(comment);
  if (arrow) return { service: arrow[1]!, endpoint: arrow[2]!, kind: 'endpoint', text: `endpoint ${arrow[2]} of ${arrow[1]}` };
  for (const [re, kind, words] of COMMENT_FORMS) {
    const m = re.exec(comment);
    if (m) return { service: m[1]!, kind, text: `${words} ${m[1]}` };
  }
  return undefined;
}

const CHAIN_ROLES: readonly [string, string][] = [
  ['KUBE-SVC-', 'Service chain (cluster endpoints)'],
  ['KUBE-SVL-', 'Service chain (node-local endpoints)'],
  ['KUBE-EXT-', 'Service chain for external destinations'],
  ['KUBE-FW-', 'load balancer source-range firewall'],
  ['KUBE-SEP-', 'endpoint chain'],
];

function chainRole(chain: string): string | undefined {
  for (const [prefix, role] of CHAIN_ROLES) if (chain.startsWith(prefix)) return role;
  if (chain === 'KUBE-MARK-MASQ') return 'mark for masquerade';
  if (chain === 'KUBE-POSTROUTING') return 'masquerade marked traffic';
  if (chain === 'KUBE-NODEPORTS') return 'NodePorts';
  if (chain === 'KUBE-SERVICES') return 'Service portals';
  return undefined;
}

function hopNote(step: TraceStep, named: KubeProxyName | undefined, choice: { taken: boolean; p: Fraction } | undefined): string {
  const parts: string[] = [];
  if (step.kind === 'policy') parts.push(`end of built-in chain ${step.chain}: policy ${step.verdict}`);
  if (named) parts.push(named.text);
  if (choice) parts.push(`random choice ${choice.taken ? 'taken' : 'not taken'}, p = ${formatFraction(nominal(choice.p))}`);
  const target = step.rule?.target;
  const data = target?.data;
  const before = step.input;
  const after = step.packet;
  if (data && (data.kind === 'DNAT' || data.kind === 'REDIRECT') && before !== after) {
    parts.push(`${data.kind} ${hostPort(before.dst, before.dport)} -> ${hostPort(after.dst, after.dport)}`);
  } else if (data && (data.kind === 'SNAT' || data.kind === 'MASQUERADE') && before !== after) {
    parts.push(`${data.kind} source ${hostPort(before.src, before.sport)} -> ${hostPort(after.src, after.sport)}`);
  } else if (data && (data.kind === 'MARK' || data.kind === 'CONNMARK') && before.mark !== after.mark) {
    parts.push(`mark 0x${before.mark.toString(16)} -> 0x${after.mark.toString(16)}`);
  } else if (data && data.kind === 'REJECT') {
    parts.push(`rejected with ${data.with}`);
  } else if (target && (data?.kind === 'jump' || data?.kind === 'goto')) {
    const role = chainRole(data.chain);
    parts.push(`${data.kind === 'jump' ? 'jump to' : 'go to'} ${data.chain}${role ? ` (${role})` : ''}`);
  } else if (step.verdict === 'RETURN') {
    parts.push('return to the calling chain');
  } else if (step.kind === 'rule' && (step.verdict === 'ACCEPT' || step.verdict === 'DROP')) {
    parts.push(step.verdict === 'ACCEPT' ? 'accepted' : 'dropped');
  }
  return parts.join('; ');
}

/** The simplest fraction within 1e-9 of `p` (kube-proxy writes 1/n rounded; the kernel rounds again to 2^-31). */
export function nominal(p: Fraction): Fraction {
  const x = Number(p.num) / Number(p.den);
  if (x <= 0 || x >= 1) return p;
  // Continued-fraction convergents of x, stopping at the first close enough.
  let h0 = 0n;
  let h1 = 1n;
  let k0 = 1n;
  let k1 = 0n;
  let r = x;
  for (let i = 0; i < 40; i++) {
    const a = Math.floor(r);
    const ab = BigInt(a);
    [h0, h1] = [h1, ab * h1 + h0];
    [k0, k1] = [k1, ab * k1 + k0];
    if (Math.abs(Number(h1) / Number(k1) - x) < 1e-9) return fraction(h1, k1);
    const f = r - a;
    if (f < 1e-15) break;
    r = 1 / f;
  }
  return p;
}

function nominalProbability(o: { readonly choices: readonly Choice[] }): Fraction {
  let f = ONE;
  for (const c of o.choices) {
    const q = nominal(c.p);
    f = mul(f, c.taken ? q : fraction(q.den - q.num, q.den));
  }
  return f;
}
