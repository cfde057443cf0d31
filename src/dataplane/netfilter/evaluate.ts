// The netfilter evaluator: walks a packet through the hooks in kernel order and returns every
// possible outcome with its exact probability.
//
//   from an interface: PREROUTING (raw, conntrack, mangle, nat) -> routing ->
//       INPUT (mangle, filter, security, nat) | FORWARD (mangle, filter, security) -> POSTROUTING (mangle, nat)
//   locally generated: OUTPUT (raw, conntrack, mangle, nat, filter, security) -> rerouting ->
//       POSTROUTING (mangle, nat) [-> loopback: PREROUTING (raw, mangle), INPUT (mangle, filter, security)]
//
// Only the first packet of a connection traverses the nat table; later packets get the
// connection's NAT applied and replies get it undone. `-m statistic --mode random` is a branch
// point: the walk takes the first alternative and leaves a snapshot of its state at the start of
// that rule, from which the other alternative is resumed later (depth first, so outcomes come out
// in rule order). Each outcome's probability is the exact product of its choices (see
// probability.ts). `recent` and `nth` are stateful: each path reads the state as it was and records
// its own changes, which `commit` applies for the path taken.
//
// Two modes share the walk: 'linear' matches every rule in order with the reference interpreter
// (match-ref.ts) and is the semantic reference; 'fast' uses compiled rules and indexed dispatch
// chains (compile.ts). A property test checks they agree. The fast mode also stores whole
// evaluations by the packet bits their rules decided on (flow-cache.ts) and answers later packets of
// the same class from them, replaying a stored path's decisions for the packet-specific details.
import type { Diagnostic } from '../../manifest/diagnostic.js';
import { InputError } from '../../manifest/diagnostic.js';
import {
  copyPacket,
  invertTuple,
  packetTuple,
  rewritePacket,
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
  type FlowTuple,
  type Packet,
  type PacketConntrack,
} from '../../net/packet.js';
import { buildChainIndex, compileRule, type ChainIndex, type CompiledRule } from './compile.js';
import { Conntrack, type ConntrackEntry } from './conntrack.js';
import { IpsetStore } from './ipset.js';
import { LayeredMap } from './layered-map.js';
import { ctStateBits, ruleMatches, type MatchEnv } from './match-ref.js';
import { FlowCache, FlowRecord, type FlowEntry, type FlowStart } from './flow-cache.js';
import { F_CT, freezeCt, IMPURE, memoHit, ruleFlowReads, ruleReads, ruleSource, srcBitsDeciding, type MemoEntry, type StepDef } from './memo.js';
import { type AddressSpec, type Chain, type Hook, type RecentMatch, type Rule, type Ruleset, type StatisticMatch, type TableName, type TargetData } from './model.js';
import { NodeModel, type NodeNetwork, type RouteResult } from './node.js';
import { canonicalRuleText } from './print.js';
import { complement, kernelProbability, mul, ONE, type Fraction } from './probability.js';
import { recentMatches, RecentView, type RecentEntry, type RecentState } from './recent.js';

export interface NetfilterOptions {
  readonly node: NodeNetwork;
  readonly ipsets?: IpsetStore;
  /** 'fast': compiled rules and indexed dispatch chains (default). 'linear': the reference first-match walk. */
  readonly mode?: 'fast' | 'linear';
  /** Probabilities as written in the rules (default), or as the kernel quantises them (P rounded to 1/2^31). */
  readonly probability?: 'as-written' | 'kernel';
  /** Refuse to enumerate more outcomes than this (default 100,000). */
  readonly maxOutcomes?: number;
  /**
   * Reuse whole evaluations for packets that differ only in bits no rule decided on (flow-cache.ts;
   * fast mode, default on). Off when `node.route` is a callback: its reads are not known.
   */
  readonly flowCache?: boolean;
}

export interface Injection {
  /**
   * The packet arrives on `packet.inInterface` (PREROUTING first), or a local process sends it
   * (OUTPUT first), or IPVS sends a packet it translated ('ipvs': ip_vs_xmit.c
   * ip_vs_nat_send_or_cont). To a remote real server IPVS sends it with NF_HOOK(LOCAL_OUT): routed
   * to the real server, then OUTPUT raw, mangle, filter, security - nat OUTPUT does nothing, the
   * connection's destination manip was set up at its first nat hook - rerouting, then POSTROUTING
   * mangle and nat, where SNAT/MASQUERADE rules run (the source manip is not set up yet). To a real
   * server on the node itself the packet goes on from where IPVS took it (nat INPUT and local
   * delivery; or filter OUTPUT onwards). The packet carries its mark and the conntrack view
   * (`packet.ct`) IPVS left it with.
   */
  readonly from: 'interface' | 'local' | 'ipvs';
  /** Virtual time in seconds (for `recent`); default: the evaluator's clock. */
  readonly now?: number;
  /**
   * A hook at IPVS's priorities (ip_vs_core.c ip_vs_ops4): LOCAL_IN at NF_IP_PRI_NAT_SRC - 1 (after
   * filter and security INPUT, before nat INPUT) and LOCAL_OUT at NF_IP_PRI_NAT_DST + 2 (after nat
   * OUTPUT, before filter OUTPUT). When it returns true the walk ends there (IPVS takes the packet):
   * the outcome is ACCEPT, delivery 'local', with `interceptedAt` set.
   */
  readonly intercept?: (packet: Packet, hook: 'INPUT' | 'OUTPUT') => boolean;
}

export type Verdict = 'ACCEPT' | 'DROP' | 'REJECT' | 'NO_ROUTE';

export interface TraceStep {
  readonly hook: Hook;
  readonly table: TableName;
  readonly chain: string;
  readonly kind: 'rule' | 'policy';
  /** Rule position in the chain, 0-based; -1 for the policy. */
  readonly index: number;
  readonly rule?: Rule;
  /** `-A CHAIN ...` as iptables-save prints the rule, or `-P CHAIN POLICY`. */
  readonly text: string;
  /** As the kernel trace names it: CONTINUE, JUMP:X, GOTO:X, RETURN, ACCEPT, DROP; and REJECT. */
  readonly verdict: string;
  /** The packet after this step. */
  readonly packet: Packet;
  /** The packet this step saw (differs from `packet` only for NAT and MARK steps). */
  readonly input: Packet;
}

export interface Choice {
  readonly rule: Rule;
  /** The statistic match fired (before any `!`). */
  readonly taken: boolean;
  /** Probability of firing. */
  readonly p: Fraction;
}

export interface Outcome {
  /** Exact probability of this path. */
  readonly probability: Fraction;
  /** The same as a float. */
  readonly probabilityValue: number;
  readonly choices: readonly Choice[];
  readonly verdict: Verdict;
  /** For ACCEPT: delivered to a local socket, forwarded out an interface, or sent by the node out an interface. */
  readonly delivery?: 'local' | 'forward' | 'output';
  readonly outInterface?: string;
  /** The routing decision the packet left by (forward / output), as the node's route callback returned it. */
  readonly route?: RouteResult;
  readonly rejectWith?: string;
  /** The packet as it leaves (all NAT applied), with its conntrack view. */
  readonly packet: Packet;
  readonly trace: readonly TraceStep[];
  /** NAT chose a source port the kernel may pick differently (--random, --random-fully, a clash). */
  readonly sourcePortMayVary: boolean;
  /** LOG / NFLOG lines emitted on the way. */
  readonly logs: readonly string[];
  /** The walk ended at the injection's `intercept` hook (IPVS took the packet there). */
  readonly interceptedAt?: 'INPUT' | 'OUTPUT';
}

export interface Evaluation {
  readonly outcomes: readonly Outcome[];
}

const MAX_DEPTH = 64;
const MAX_STEPS = 100_000;
const MEMO_ENTRIES = 16;
/** Sampling stores a packet's evaluation first (to draw from it, and for the packets after it) when it has at most this many paths. */
const SAMPLED_PATHS_STORED = 4096;

// Target codes of compiled rules.
const T_NONE = 0;
const T_ACCEPT = 1;
const T_DROP = 2;
const T_REJECT = 3;
const T_RETURN = 4;
const T_JUMP = 5;
const T_GOTO = 6;
const T_NAT = 7;
const T_MARK = 8;
const T_CONNMARK = 9;
const T_LOG = 10;
const T_NOTRACK = 11;
const T_NOP = 12;

// Results of a table traversal.
const R_CONTINUE = 0;
const R_DROP = 1;
const R_REJECT = 2;

const HOOKS: readonly Hook[] = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];
const H_PRE = 0;
const H_IN = 1;
const H_FWD = 2;
const H_OUT = 3;
const H_POST = 4;
const RAW = 0;
const MANGLE = 1;
const NAT = 2;
const FILTER = 3;
const SECURITY = 4;

// The walk as a stage machine, so that a walk can be resumed in the middle (after a branch).
const S_DONE = 0;
// from an interface
const S_PRE_RAW = 1;
const S_PRE_CT = 2;
const S_PRE_MANGLE = 3;
const S_PRE_NAT = 4;
const S_ROUTE = 5;
const S_FWD_MANGLE = 6;
const S_FWD_FILTER = 7;
const S_FWD_SECURITY = 8;
const S_IN_MANGLE = 9;
const S_IN_FILTER = 10;
const S_IN_SECURITY = 11;
const S_IN_NAT = 12;
// locally generated
const S_OUT_ROUTE = 13;
const S_OUT_RAW = 14;
const S_OUT_CT = 15;
const S_OUT_MANGLE = 16;
const S_OUT_NAT = 17;
const S_OUT_FILTER = 18;
const S_OUT_SECURITY = 19;
const S_OUT_REROUTE = 20;
// both
const S_POST_MANGLE = 21;
const S_POST_NAT = 22;
const S_POST_DONE = 23;
// loopback of locally generated packets
const S_LO_PRE_RAW = 24;
const S_LO_PRE_MANGLE = 25;
const S_LO_IN_MANGLE = 26;
const S_LO_IN_FILTER = 27;
const S_LO_IN_SECURITY = 28;
// a packet IPVS sends (Injection from 'ipvs')
const S_IPVS_ROUTE = 29;

/** Table stages: [hook, table, next stage, nat hook]. */
const TABLE_STAGES: Readonly<Record<number, readonly [number, number, number, boolean]>> = {
  [S_PRE_RAW]: [H_PRE, RAW, S_PRE_CT, false],
  [S_PRE_MANGLE]: [H_PRE, MANGLE, S_PRE_NAT, false],
  [S_PRE_NAT]: [H_PRE, NAT, S_ROUTE, true],
  [S_FWD_MANGLE]: [H_FWD, MANGLE, S_FWD_FILTER, false],
  [S_FWD_FILTER]: [H_FWD, FILTER, S_FWD_SECURITY, false],
  [S_FWD_SECURITY]: [H_FWD, SECURITY, S_POST_MANGLE, false],
  [S_IN_MANGLE]: [H_IN, MANGLE, S_IN_FILTER, false],
  [S_IN_FILTER]: [H_IN, FILTER, S_IN_SECURITY, false],
  [S_IN_SECURITY]: [H_IN, SECURITY, S_IN_NAT, false],
  [S_IN_NAT]: [H_IN, NAT, S_DONE, true],
  [S_OUT_RAW]: [H_OUT, RAW, S_OUT_CT, false],
  [S_OUT_MANGLE]: [H_OUT, MANGLE, S_OUT_NAT, false],
  [S_OUT_NAT]: [H_OUT, NAT, S_OUT_FILTER, true],
  [S_OUT_FILTER]: [H_OUT, FILTER, S_OUT_SECURITY, false],
  [S_OUT_SECURITY]: [H_OUT, SECURITY, S_OUT_REROUTE, false],
  [S_POST_MANGLE]: [H_POST, MANGLE, S_POST_NAT, false],
  [S_POST_NAT]: [H_POST, NAT, S_POST_DONE, true],
  [S_LO_PRE_RAW]: [H_PRE, RAW, S_LO_PRE_MANGLE, false],
  [S_LO_PRE_MANGLE]: [H_PRE, MANGLE, S_LO_IN_MANGLE, false],
  [S_LO_IN_MANGLE]: [H_IN, MANGLE, S_LO_IN_FILTER, false],
  [S_LO_IN_FILTER]: [H_IN, FILTER, S_LO_IN_SECURITY, false],
  [S_LO_IN_SECURITY]: [H_IN, SECURITY, S_DONE, false],
};
const STAGE_TABLE: (readonly [number, number, number, boolean] | undefined)[] = [];
for (const [k, v] of Object.entries(TABLE_STAGES)) STAGE_TABLE[Number(k)] = v;

class Step implements TraceStep {
  /** The previous step of this path (steps form a persistent list shared by branches). */
  prev: Step | Segment | undefined = undefined;
  constructor(
    readonly hook: Hook,
    /** The rule, or undefined for the policy of `policyOf`. */
    readonly cr: CRule | undefined,
    readonly policyOf: CChain | undefined,
    readonly verdict: string,
    readonly packet: Packet,
    private readonly family: 4 | 6,
    private readonly before?: Packet,
  ) {}
  get input(): Packet {
    return this.before ?? this.packet;
  }
  get kind(): 'rule' | 'policy' {
    return this.cr ? 'rule' : 'policy';
  }
  get rule(): Rule | undefined {
    return this.cr?.rule;
  }
  get table(): TableName {
    return this.cr ? this.cr.rule.table : this.policyOf!.table;
  }
  get chain(): string {
    return this.cr ? this.cr.rule.chain : this.policyOf!.chain.name;
  }
  get index(): number {
    return this.cr ? this.cr.index : -1;
  }
  get text(): string {
    return this.cr ? canonicalRuleText(this.cr.rule, this.family) : `-P ${this.chain} ${this.verdict}`;
  }
  toJSON(): object {
    return { hook: this.hook, table: this.table, chain: this.chain, kind: this.kind, index: this.index, text: this.text, verdict: this.verdict };
  }
}

/** The steps of a cached traversal, replayed for another packet; expanded when the trace is read. */
class Segment {
  prev: Step | Segment | undefined = undefined;
  constructor(
    readonly hook: Hook,
    readonly defs: readonly StepDef[],
    readonly packet: Packet,
    readonly family: 4 | 6,
  ) {}
  expand(out: TraceStep[]): void {
    for (const d of this.defs) out.push(new Step(this.hook, d.rule as CRule | undefined, d.policyOf as CChain | undefined, d.verdict, this.packet, this.family));
  }
}

/** Persistent lists: paths share their common prefix. */
type StepNode = Step | Segment;
interface ChoiceNode {
  readonly choice: Choice;
  /** The probability the walk drew against (as a float). */
  readonly pv: number;
  readonly prev: ChoiceNode | undefined;
}

/** A compiled rule: its matcher (fast mode), target code and resolved jump. */
class CRule {
  constructor(
    readonly rule: Rule,
    readonly index: number,
    readonly fn: CompiledRule | undefined,
    /** Packet fields the conditions read (memo.ts), or IMPURE. */
    readonly reads: number,
    /** The same for the evaluation cache (random statistic matches are pure there). */
    readonly flowReads: number,
    /** The `-s` condition (its decided bits are counted per packet). */
    readonly src: AddressSpec | undefined,
    readonly code: number,
    readonly data: TargetData | undefined,
    readonly jump: CChain | undefined,
    readonly verdict: string,
    /** Has a random statistic match: a branch point. */
    readonly random: boolean,
    /** The first random match comes before any other stateful match: the state at the choice is the state at the rule's start. */
    readonly forkable: boolean,
  ) {
    this.srcPrefix = src?.prefix ?? 0;
    this.srcNet = src?.family === 4 ? (src.net as number) : 0;
    this.srcMask = src?.family === 4 ? (src.mask as number) : 0;
  }
  readonly srcPrefix: number;
  readonly srcNet: number;
  readonly srcMask: number;
}

/** A chain with its compiled rules and index, built on first use. */
// What depends only on a rule or a chain is computed once and shared by every evaluator over rulesets
// holding it (a tracer builds one evaluator per node, over rulesets that share kube-proxy's chains).
const COMPILED_RULES = new WeakMap<Rule, CompiledRule>();
const RULE_READS = new WeakMap<Rule, number>();
const RULE_FLOW_READS = new WeakMap<Rule, number>();
const CHAIN_INDEXES = new WeakMap<Chain, ChainIndex | null>();
const SET_REFERENCES = new WeakMap<Chain, readonly { name: string; line: number }[]>();
const SET_CHAINS = new WeakMap<ReadonlyMap<string, Chain>, Chain[]>();

const SHARED_CHAINS = new WeakMap<Chain, CChain>();

function sharedChain(table: TableName, chain: Chain): CChain {
  let c = SHARED_CHAINS.get(chain);
  if (!c) SHARED_CHAINS.set(chain, (c = new CChain(table, chain)));
  return c;
}

function compiledRule(rule: Rule): CompiledRule {
  let f = COMPILED_RULES.get(rule);
  if (!f) COMPILED_RULES.set(rule, (f = compileRule(rule)));
  return f;
}

function readsOf(rule: Rule): number {
  let r = RULE_READS.get(rule);
  if (r === undefined) RULE_READS.set(rule, (r = ruleReads(rule)));
  return r;
}

function flowReadsOf(rule: Rule): number {
  let r = RULE_FLOW_READS.get(rule);
  if (r === undefined) RULE_FLOW_READS.set(rule, (r = ruleFlowReads(rule)));
  return r;
}

function chainIndex(chain: Chain): ChainIndex | null {
  let i = CHAIN_INDEXES.get(chain);
  if (i === undefined) CHAIN_INDEXES.set(chain, (i = buildChainIndex(chain) ?? null));
  return i;
}

function setReferences(chain: Chain): readonly { name: string; line: number }[] {
  let refs = SET_REFERENCES.get(chain);
  if (!refs) {
    const out: { name: string; line: number }[] = [];
    for (const rule of chain.rules) for (const m of rule.matches) if (m.data.kind === 'set') out.push({ name: m.data.name, line: rule.line });
    SET_REFERENCES.set(chain, (refs = out));
  }
  return refs;
}

/**
 * The chains of a table that reference ipsets, remembered per chains map: a node's ruleset layered
 * on kube-proxy's (a LayeredMap) reuses its base's answer and looks only at its own changes, instead
 * of walking forty thousand chains for every node.
 */
function chainsReferencingSets(chains: ReadonlyMap<string, Chain>): Chain[] {
  let out = SET_CHAINS.get(chains);
  if (out) return out;
  if (chains instanceof LayeredMap) {
    const { base, own, removed } = chains.layers();
    out = chainsReferencingSets(base).filter((c) => !own.has(c.name) && !removed.has(c.name));
    for (const c of own.values()) if (setReferences(c).length > 0) out.push(c);
  } else {
    out = [];
    for (const c of chains.values()) if (setReferences(c).length > 0) out.push(c);
  }
  SET_CHAINS.set(chains, out);
  return out;
}

class CChain {
  /** Compiled rules, shared by every evaluator whose ruleset resolves the jumps the same way. */
  rules: CRule[] | undefined;
  /** The chains the compiled jumps resolved to, by name. */
  resolved: ReadonlyMap<string, Chain> | undefined;
  /** The evaluator that asked last and the rules it uses (saves its map lookup on the hot path). */
  lastBy: object | undefined;
  lastRules: CRule[] | undefined;
  index: ChainIndex | null | undefined;
  constructor(
    readonly table: TableName,
    readonly chain: Chain,
  ) {}
}

interface WalkCt {
  untracked: boolean;
  state: 'NEW' | 'ESTABLISHED' | 'RELATED';
  direction: 'ORIGINAL' | 'REPLY';
  original: FlowTuple;
  reply: FlowTuple;
  snat: boolean;
  dnat: boolean;
  seenReply: boolean;
  assured: boolean;
  confirmed: boolean;
  mark: number;
  /** First packet of the connection: the nat table is traversed. */
  isNew: boolean;
  entry: ConntrackEntry | undefined;
}

interface Effects {
  readonly recent: ReadonlyMap<string, Map<string, RecentEntry>> | undefined;
  readonly nth: ReadonlyMap<StatisticMatch, number> | undefined;
  readonly ct: WalkCt | undefined;
  readonly now: number;
}

class OutcomeImpl implements Outcome {
  private exact: Fraction | undefined;
  private withCt: Packet | undefined;
  private flat: readonly TraceStep[] | undefined;
  private choiceList: readonly Choice[] | undefined;
  constructor(
    private readonly choiceNodes: ChoiceNode | undefined,
    readonly probabilityValue: number,
    readonly verdict: Verdict,
    /** The packet as it leaves, without its conntrack view. */
    readonly last: Packet,
    private readonly steps: StepNode | undefined,
    readonly sourcePortMayVary: boolean,
    readonly logs: readonly string[],
    readonly effects: Effects,
    readonly delivery: 'local' | 'forward' | 'output' | undefined,
    readonly outInterface: string | undefined,
    readonly rejectWith: string | undefined,
    readonly route: RouteResult | undefined,
    readonly interceptedAt?: 'INPUT' | 'OUTPUT',
  ) {}
  get choices(): readonly Choice[] {
    if (!this.choiceList) {
      const out: Choice[] = [];
      for (let n = this.choiceNodes; n; n = n.prev) out.push(n.choice);
      this.choiceList = out.reverse();
    }
    return this.choiceList;
  }
  get trace(): readonly TraceStep[] {
    if (!this.flat) {
      const items: (Step | Segment)[] = [];
      for (let n = this.steps; n; n = n.prev) items.push(n);
      const out: TraceStep[] = [];
      for (let i = items.length - 1; i >= 0; i--) {
        const s = items[i]!;
        if (s instanceof Segment) s.expand(out);
        else out.push(s);
      }
      this.flat = out;
    }
    return this.flat;
  }
  get packet(): Packet {
    if (!this.withCt) {
      const ct = this.effects.ct;
      if (ct) {
        const q = copyPacket(this.last);
        q.ct = packetConntrack(ct);
        this.withCt = q;
      } else this.withCt = this.last;
    }
    return this.withCt;
  }
  get probability(): Fraction {
    if (!this.exact) {
      let f = ONE;
      for (const c of this.choices) f = mul(f, c.taken ? c.p : complement(c.p));
      this.exact = f;
    }
    return this.exact;
  }
  /** What the evaluation cache keeps of this outcome (flow-cache.ts). */
  stored(): StoredPath {
    const taken: boolean[] = [];
    const pv: number[] = [];
    for (let n = this.choiceNodes; n; n = n.prev) {
      taken.push(n.choice.taken);
      pv.push(n.pv);
    }
    const ct = this.effects.ct;
    return {
      verdict: this.verdict,
      delivery: this.delivery,
      outInterface: this.outInterface,
      route: this.route,
      rejectWith: this.rejectWith,
      sourcePortMayVary: this.sourcePortMayVary,
      interceptedAt: this.interceptedAt,
      probabilityValue: this.probabilityValue,
      choices: this.choices,
      taken: taken.reverse(),
      pv: pv.reverse(),
      snatReply: ct && ct.snat && !ct.untracked ? ct.reply : undefined,
      exact: this.exact,
    };
  }
}

/**
 * One path of a stored evaluation: what an outcome says without the packet (the verdict, where it
 * goes, its choices) and the decisions that replay it for any packet of the same key.
 */
interface StoredPath {
  readonly verdict: Verdict;
  readonly delivery: 'local' | 'forward' | 'output' | undefined;
  readonly outInterface: string | undefined;
  readonly route: RouteResult | undefined;
  readonly rejectWith: string | undefined;
  readonly sourcePortMayVary: boolean;
  readonly interceptedAt: 'INPUT' | 'OUTPUT' | undefined;
  readonly probabilityValue: number;
  readonly choices: readonly Choice[];
  /** The decision at each choice, in order, and the probability the walk drew it against. */
  readonly taken: readonly boolean[];
  readonly pv: readonly number[];
  /** The reply tuple source NAT left (its port is the asking packet's): checked against conntrack on a hit. */
  readonly snatReply: FlowTuple | undefined;
  exact: Fraction | undefined;
}

/**
 * An outcome of a stored evaluation (flow-cache.ts) for a packet of the same key. What the stored
 * path says is read from it; the packet-specific rest (the NATed packet, the rule-by-rule trace,
 * the connection to commit) comes from replaying the path's decisions for this packet, on first read.
 */
class FlowOutcome implements Outcome {
  private walked: OutcomeImpl | undefined;
  constructor(
    private readonly nf: Netfilter,
    private readonly path: StoredPath,
    private readonly q: Packet,
    private readonly injection: Injection,
  ) {}
  get probability(): Fraction {
    const path = this.path;
    if (!path.exact) {
      let f = ONE;
      for (const c of path.choices) f = mul(f, c.taken ? c.p : complement(c.p));
      path.exact = f;
    }
    return path.exact;
  }
  get probabilityValue(): number {
    return this.path.probabilityValue;
  }
  get choices(): readonly Choice[] {
    return this.path.choices;
  }
  get verdict(): Verdict {
    return this.path.verdict;
  }
  get delivery(): 'local' | 'forward' | 'output' | undefined {
    return this.path.delivery;
  }
  get outInterface(): string | undefined {
    return this.path.outInterface;
  }
  get route(): RouteResult | undefined {
    return this.path.route;
  }
  get rejectWith(): string | undefined {
    return this.path.rejectWith;
  }
  get sourcePortMayVary(): boolean {
    return this.path.sourcePortMayVary;
  }
  get interceptedAt(): 'INPUT' | 'OUTPUT' | undefined {
    return this.path.interceptedAt;
  }
  get logs(): readonly string[] {
    return NO_LOGS; // a path that logs is never stored
  }
  get packet(): Packet {
    return this.replayed().packet;
  }
  get trace(): readonly TraceStep[] {
    return this.replayed().trace;
  }
  get effects(): Effects {
    return this.replayed().effects;
  }
  private replayed(): OutcomeImpl {
    return (this.walked ??= this.nf.replay(this.q, this.injection, this.path.taken) as OutcomeImpl);
  }
}

/** A stored evaluation's choices as a tree: a leaf is the index of a path. */
type DrawTree = number | { readonly pv: number; readonly fired: DrawTree; readonly not: DrawTree };
const DRAW_TREES = new WeakMap<FlowEntry<StoredPath>, DrawTree>();

/** One path of a stored evaluation, drawn as the walk draws: one uniform number per choice on the way. */
function drawPath(stored: FlowEntry<StoredPath>, random: () => number): StoredPath {
  let tree = DRAW_TREES.get(stored);
  if (tree === undefined) DRAW_TREES.set(stored, (tree = drawTree(stored.outcomes, 0, stored.outcomes.length, 0)));
  while (typeof tree !== 'number') tree = random() < tree.pv ? tree.fired : tree.not;
  return stored.outcomes[tree]!;
}

/** The tree of paths lo..hi-1, which share their first d decisions (depth first order keeps them contiguous). */
function drawTree(paths: readonly StoredPath[], lo: number, hi: number, d: number): DrawTree {
  const first = paths[lo]!;
  if (d >= first.taken.length) return lo;
  let split = lo;
  while (split < hi && paths[split]!.taken[d]) split++;
  for (let i = split; i < hi; i++) if (paths[i]!.taken[d]) split = lo;
  if (split === lo || split === hi) throw new Error('stored evaluation is not in depth-first order');
  return { pv: first.pv[d]!, fired: drawTree(paths, lo, split, d + 1), not: drawTree(paths, split, hi, d + 1) };
}

const NO_LOGS: readonly string[] = [];

interface Frame {
  readonly c: CChain;
  readonly pos: number;
  readonly cand: readonly number[] | undefined;
}

/** The state of a walk at the start of a branching rule, to resume the other alternatives from. */
interface Snapshot {
  readonly stage: number;
  readonly p: Packet;
  readonly route: RouteResult | undefined;
  readonly route0: RouteResult | undefined;
  readonly before: Packet | undefined;
  readonly ct: WalkCt | undefined;
  readonly notrack: boolean;
  readonly forwarded: boolean;
  readonly steps: StepNode | undefined;
  readonly choices: ChoiceNode | undefined;
  readonly probabilityValue: number;
  readonly logs: string[] | undefined;
  readonly recent: Map<string, Map<string, RecentEntry>> | undefined;
  readonly nth: Map<StatisticMatch, number> | undefined;
  readonly mayVary: boolean;
  readonly srcWritten: boolean;
  readonly stepCount: number;
  // The table traversal in progress, positioned at the branching rule.
  readonly hook: number;
  readonly base: CChain;
  readonly c: CChain;
  readonly pos: number;
  readonly cand: readonly number[] | undefined;
  readonly stack: readonly Frame[];
  readonly tp: Packet;
  readonly troute: RouteResult | undefined;
}

interface Alternative {
  readonly snap: Snapshot;
  /** Decisions for the choices of the snapshot's rule, in order; the last is the alternative. */
  readonly forced: readonly boolean[];
}

/** One path through the hooks. Alternatives at branch points go to `pending`. */
class Walk implements MatchEnv {
  readonly node: NodeModel;
  readonly ipsets: IpsetStore;
  /** Sampling: draw each random choice instead of forking it. */
  sampler: (() => number) | undefined = undefined;
  stage = S_DONE;
  /** The packet between stages. */
  p!: Packet;
  route: RouteResult | undefined = undefined;
  route0: RouteResult | undefined = undefined;
  before: Packet | undefined = undefined;
  ct: WalkCt | undefined = undefined;
  notrack = false;
  forwarded = false;
  steps: StepNode | undefined = undefined;
  choices: ChoiceNode | undefined = undefined;
  probabilityValue = 1;
  logs: string[] | undefined = undefined;
  recentView: RecentView | undefined = undefined;
  nth: Map<StatisticMatch, number> | undefined = undefined;
  mayVary = false;
  stepCount = 0;
  rejectWith = '';
  // Memo bookkeeping of the current table traversal (fast mode).
  reads = 0;
  /** Leading bits of the source the traversal's `-s` conditions decided on. */
  srcBits = 0;
  pure = false;
  /** What the evaluation read, for the evaluation cache (shared by the evaluation's walks). */
  rec: FlowRecord | undefined = undefined;
  /** Source NAT rewrote the source on this path: later reads of it are not reads of the packet's. */
  srcWritten = false;
  lookups: (ChainIndex | readonly number[])[] | undefined = undefined;
  // The traversal in progress (kept current at branching rules, for snapshots).
  tHook = 0;
  tBase: CChain | undefined = undefined;
  tChain: CChain | undefined = undefined;
  tPos = 0;
  tCand: readonly number[] | undefined = undefined;
  tStack: Frame[] = [];
  tP!: Packet;
  tRoute: RouteResult | undefined = undefined;
  currentRule: Rule | undefined = undefined;
  // Branching: the snapshot at the start of the current branching rule, the decisions forced on
  // its choices, and the choices taken in it so far.
  ruleSnap: Snapshot | undefined = undefined;
  forced: readonly boolean[] = [];
  forcedPos = 0;
  ruleTaken: boolean[] = [];
  /** Set when this walk resumes a snapshot: the stage's traversal continues from it. */
  resume: Snapshot | undefined = undefined;

  constructor(
    private readonly nf: Netfilter,
    readonly now: number,
    private readonly pending: Alternative[],
    /** The evaluation's injection (the intercept hook; a packet IPVS sent). */
    readonly injection: Injection,
  ) {
    this.node = nf.node;
    this.ipsets = nf.ipsets;
  }

  statistic(m: StatisticMatch): boolean {
    if (m.mode === 'nth') {
      const counters = (this.nth ??= new Map());
      const old = counters.get(m) ?? this.nf.nthCount(m);
      const next = old === m.every - 1 ? 0 : old + 1;
      counters.set(m, next);
      return (next === 0) !== m.invert;
    }
    let fired: boolean;
    if (this.nf.kernelProbabilities) {
      const p = kernelProbability(m.probability);
      if (p.num === 0n) fired = false;
      else if (p.num >= p.den) fired = true;
      else fired = this.choose(p, Number(p.num) / Number(p.den));
    } else if (m.certainty === 0) fired = false;
    else if (m.certainty === 1) fired = true;
    else fired = this.choose(m.probability, m.probabilityValue);
    return fired !== m.invert;
  }

  /** A choice that fires with probability p: forced when resuming, else true with the alternative left for later. */
  private choose(p: Fraction, pv: number): boolean {
    let fired: boolean;
    if (this.forcedPos < this.forced.length) fired = this.forced[this.forcedPos++]!;
    else if (this.sampler) fired = this.sampler() < pv;
    else {
      fired = true;
      const snap = (this.ruleSnap ??= this.nf.snapshot(this));
      this.pending.push({ snap, forced: [...this.ruleTaken, false] });
    }
    this.ruleTaken.push(fired);
    this.choices = { choice: { rule: this.currentRule!, taken: fired, p }, pv, prev: this.choices };
    this.probabilityValue *= fired ? pv : 1 - pv;
    return fired;
  }

  recent(m: RecentMatch, p: Packet): boolean {
    const view = (this.recentView ??= new RecentView(this.nf.recentState));
    return recentMatches(m, p, this.now, view, this.forwarded);
  }

  push(item: Step | Segment): void {
    item.prev = this.steps;
    this.steps = item;
  }
}

/** A node's netfilter: ruleset, ipsets, conntrack and match state, and the evaluator over them. */
export class Netfilter {
  readonly node: NodeModel;
  readonly ipsets: IpsetStore;
  readonly conntrack = new Conntrack();
  readonly recentState: RecentState = new Map();
  readonly kernelProbabilities: boolean;
  /** Virtual time in seconds, used when an injection gives none. */
  now = 0;
  private readonly fast: boolean;
  private readonly maxOutcomes: number;
  private readonly nthState = new Map<StatisticMatch, number>();
  private readonly family: 4 | 6;
  /** The ruleset's chains by table; their compiled forms, made on first use; the base chain of each (hook, table): base[hook][table]. */
  private readonly chains = new Map<TableName, ReadonlyMap<string, Chain>>();
  /** Rules of each chain as this ruleset resolves them: the shared compilation once checked, else a private one. */
  private readonly ready = new Map<CChain, CRule[]>();
  private readonly base: (CChain | undefined)[][];
  /** Cached pure traversals per [hook][table], most recent first. */
  private readonly memo: MemoEntry[][][] = HOOKS.map(() => [[], [], [], [], []]);
  /** Stored whole evaluations (flow-cache.ts), or undefined when off. */
  readonly flows: FlowCache<StoredPath> | undefined;

  constructor(
    readonly ruleset: Ruleset,
    options: NetfilterOptions,
  ) {
    this.node = new NodeModel(options.node);
    this.ipsets = options.ipsets ?? new IpsetStore();
    this.fast = (options.mode ?? 'fast') === 'fast';
    this.kernelProbabilities = options.probability === 'kernel';
    this.maxOutcomes = options.maxOutcomes ?? 100_000;
    this.family = ruleset.family;
    this.flows = this.fast && options.flowCache !== false && !options.node.route ? new FlowCache() : undefined;
    const problems: Diagnostic[] = [];
    for (const table of ruleset.tables.values()) {
      for (const chain of chainsReferencingSets(table.chains)) {
        for (const ref of setReferences(chain)) {
          if (!this.ipsets.has(ref.name)) problems.push({ severity: 'error', line: ref.line, message: `-m set: set "${ref.name}" does not exist`, hint: 'load it with the ipset save text' });
        }
      }
      this.chains.set(table.name, table.chains);
    }
    if (problems.length) throw new InputError(problems);
    const tables: readonly TableName[] = ['raw', 'mangle', 'nat', 'filter', 'security'];
    this.base = HOOKS.map((hook) => tables.map((t) => this.chainNamed(t, hook)));
  }

  /** The compiled form of a chain of this ruleset (shared across evaluators: rulesets share most chains). */
  private chainNamed(table: TableName, name: string): CChain | undefined {
    const chain = this.chains.get(table)?.get(name);
    return chain ? sharedChain(table, chain) : undefined;
  }

  /** A chain's compiled rules for this ruleset. */
  private rulesOf(c: CChain): CRule[] {
    if (c.lastBy === this) return c.lastRules!;
    const rules = this.ready.get(c) ?? this.prepare(c);
    c.lastBy = this;
    c.lastRules = rules;
    return rules;
  }

  private prepare(c: CChain): CRule[] {
    let rules: CRule[];
    if (!c.rules) {
      const resolved = new Map<string, Chain>();
      rules = c.rules = this.compileChain(c, resolved);
      c.resolved = resolved;
    } else {
      // Another evaluator compiled it: usable when every jump names the same chain here.
      const here = this.chains.get(c.table)!;
      let same = true;
      for (const [name, chain] of c.resolved!) {
        if (here.get(name) !== chain) {
          same = false;
          break;
        }
      }
      rules = same ? c.rules : this.compileChain(c, new Map());
    }
    this.ready.set(c, rules);
    return rules;
  }

  nthCount(m: StatisticMatch): number {
    // libxt_statistic starts the counter at (every - 1) - packet, so that --packet p fires first on packet p (0-based).
    return this.nthState.get(m) ?? (m.mode === 'nth' ? m.every - 1 - m.packet : 0);
  }

  /** Every outcome of sending `packet`, with exact probabilities summing to 1. */
  evaluate(packet: Packet, injection: Injection): Evaluation {
    const start = this.flowStart(packet, injection);
    if (start === undefined) return { outcomes: this.enumerate(packet, injection, undefined)! };
    const stored = this.flows!.lookup(packet, start);
    if (stored !== undefined && this.stillHolds(stored, packet)) {
      const outcomes: Outcome[] = [];
      for (const path of stored.outcomes) outcomes.push(new FlowOutcome(this, path, packet, injection));
      return { outcomes };
    }
    return { outcomes: this.record(packet, injection, start).outcomes };
  }

  /**
   * The path of `packet` that takes `decisions` at its random choices, in order (as `Outcome.choices`
   * lists them). Nothing is stored or committed.
   */
  replay(packet: Packet, injection: Injection, decisions: readonly boolean[]): Outcome {
    const w = this.firstWalk(packet, injection, []);
    let i = 0;
    // choose() fires when the draw is below the probability, which lies strictly between 0 and 1.
    w.sampler = () => (decisions[i++] ? 0 : 1);
    return this.run(w);
  }

  /**
   * Every outcome, depth first (the alternatives of the latest choices first, so outcomes follow rule
   * order). More than `limit` outcomes is an error; with `giveUp` it ends the enumeration instead (as
   * does the first read of state once `rec` says so) and returns undefined.
   */
  private enumerate(packet: Packet, injection: Injection, rec: FlowRecord | undefined, limit = this.maxOutcomes, giveUp = false): OutcomeImpl[] | undefined {
    const now = injection.now ?? this.now;
    const outcomes: OutcomeImpl[] = [];
    const pending: Alternative[] = [];
    const first = this.firstWalk(packet, injection, pending);
    first.rec = rec;
    outcomes.push(this.run(first));
    while (pending.length) {
      if (giveUp && !rec!.ok) return undefined;
      outcomes.push(this.run(this.resumeWalk(pending.pop()!, now, pending, injection, rec)));
      if (outcomes.length > limit) {
        if (giveUp) return undefined;
        throw new Error(`more than ${limit} outcomes; the ruleset branches too much`);
      }
    }
    return giveUp && !rec!.ok ? undefined : outcomes;
  }

  /** Evaluate while recording what was read, and store the evaluation when it may be reused. */
  private record(packet: Packet, injection: Injection, start: FlowStart): { outcomes: OutcomeImpl[]; stored: FlowEntry<StoredPath> | undefined } {
    if (this.flows!.refused(packet, start)) return { outcomes: this.enumerate(packet, injection, undefined)!, stored: undefined };
    const rec = new FlowRecord(packet);
    const outcomes = this.enumerate(packet, injection, rec)!; // without giveUp: all of them, or an error
    if (!rec.ok && !rec.connection) this.flows!.refuse(packet, start);
    return { outcomes, stored: rec.ok ? this.flows!.insert(packet, start, rec, outcomes.map((o) => o.stored())) : undefined };
  }

  /**
   * Store the evaluation of a packet that is to be sampled, unless it cannot be stored (given up as soon
   * as that shows, and remembered for its destination) or branches more than a stored evaluation should.
   */
  private recordForSampling(packet: Packet, injection: Injection, start: FlowStart): FlowEntry<StoredPath> | undefined {
    const flows = this.flows!;
    if (flows.refused(packet, start) || (this.conntrack.size !== 0 && this.conntrack.lookup(packetTuple(packet)))) return undefined;
    const rec = new FlowRecord(packet);
    const outcomes = this.enumerate(packet, injection, rec, SAMPLED_PATHS_STORED, true);
    if (!outcomes) {
      if (!rec.connection) flows.refuse(packet, start);
      return undefined;
    }
    return flows.insert(packet, start, rec, outcomes.map((o) => o.stored()));
  }

  /** Where the evaluation cache applies: a packet that carries no connection or IPVS state of its own, no intercept hook. */
  private flowStart(packet: Packet, injection: Injection): FlowStart | undefined {
    if (this.flows === undefined || injection.intercept || packet.ct || packet.ipvs || packet.family !== this.family) return undefined;
    if (injection.from === 'interface') return packet.inInterface === undefined ? undefined : 'interface';
    return injection.from === 'local' ? 'local' : undefined;
  }

  /**
   * Whether a stored evaluation still holds for `q` given today's conntrack table: the packet must
   * start a connection (no entry for its tuple), and where a path applied source NAT the reply
   * tuple it leaves must be free (else the kernel, and the walk, pick another port).
   */
  private stillHolds(stored: FlowEntry<StoredPath>, q: Packet): boolean {
    const table = this.conntrack;
    if (table.size === 0) return true;
    if (table.lookup(packetTuple(q))) return false;
    if (stored.snat && hasPorts(q)) {
      for (const path of stored.outcomes) {
        const r = path.snatReply;
        if (r && table.inUse(tuple(r.proto, r.src, r.sport, r.dst, q.sport))) return false;
      }
    }
    return true;
  }

  /**
   * One path of `packet`, drawn at random: each `statistic --mode random` rule fires with its
   * probability, using `random()` (uniform in [0, 1)). What one real packet does; the outcome's
   * probability is still the exact probability of that path. Nothing is committed.
   */
  sample(packet: Packet, injection: Injection, random: () => number): Outcome {
    const start = this.flowStart(packet, injection);
    if (start !== undefined) {
      // Enumerate once (stored for the packets that follow), then draw among the stored paths.
      let stored = this.flows!.lookup(packet, start);
      if (stored === undefined || !this.stillHolds(stored, packet)) stored = this.recordForSampling(packet, injection, start);
      if (stored !== undefined) return new FlowOutcome(this, drawPath(stored, random), packet, injection);
    }
    const w = this.firstWalk(packet, injection, []);
    w.sampler = random;
    return this.run(w);
  }

  private firstWalk(packet: Packet, injection: Injection, pending: Alternative[]): Walk {
    if (packet.family !== this.family) throw new Error(`IPv${packet.family} packet given to an IPv${this.family} ruleset`);
    if (injection.from === 'interface' && packet.inInterface === undefined) throw new Error('a packet arriving from an interface needs inInterface');
    const now = injection.now ?? this.now;
    const first = new Walk(this, now, pending, injection);
    if (injection.from === 'interface') {
      first.p = packet.outInterface !== undefined ? withInterfaces(packet, packet.inInterface, undefined, packet.ttl) : packet;
      first.stage = S_PRE_RAW;
    } else if (injection.from === 'ipvs') {
      first.p = packet;
      first.stage = S_IPVS_ROUTE;
    } else {
      first.p = packet.inInterface !== undefined ? withInterfaces(packet, undefined, packet.outInterface, packet.ttl) : packet;
      first.stage = S_OUT_ROUTE;
    }
    return first;
  }

  /** Apply the state changes of an outcome (the path the packet took): conntrack entry, recent lists, nth counters. */
  commit(outcome: Outcome): void {
    const e = (outcome as OutcomeImpl).effects;
    if (e.recent) for (const [name, t] of e.recent) this.recentState.set(name, t);
    if (e.nth) for (const [m, v] of e.nth) this.nthState.set(m, v);
    const ct = e.ct;
    if (ct && !ct.untracked) {
      if (ct.isNew && outcome.verdict === 'ACCEPT') {
        this.conntrack.insert({
          original: ct.original,
          reply: ct.reply,
          snat: ct.snat,
          dnat: ct.dnat,
          seenReply: false,
          assured: false,
          mark: ct.mark,
          created: e.now,
          lastSeen: e.now,
        });
      } else if (ct.entry) {
        ct.entry.mark = ct.mark;
        ct.entry.lastSeen = e.now;
        if (ct.direction === 'REPLY' && outcome.verdict === 'ACCEPT') {
          if (ct.entry.seenReply) ct.entry.assured = true;
          ct.entry.seenReply = true;
        }
      }
    }
  }

  /**
   * Evaluate and commit one outcome: `choose` gets the outcomes and returns the index taken
   * (default: the only one, else an error). Returns the outcome taken.
   */
  send(packet: Packet, injection: Injection, choose?: (outcomes: readonly Outcome[]) => number): Outcome {
    const { outcomes } = this.evaluate(packet, injection);
    let i = 0;
    if (choose) i = choose(outcomes);
    else if (outcomes.length !== 1) throw new Error(`packet has ${outcomes.length} possible outcomes; pass a chooser`);
    const o = outcomes[i];
    if (!o) throw new Error(`no outcome ${i}`);
    this.commit(o);
    return o;
  }

  /** A chooser that samples by probability with a uniform random number in [0, 1). */
  static sampler(random: () => number): (outcomes: readonly Outcome[]) => number {
    return (outcomes) => {
      let r = random();
      for (let i = 0; i < outcomes.length; i++) {
        r -= outcomes[i]!.probabilityValue;
        if (r < 0) return i;
      }
      return outcomes.length - 1;
    };
  }

  // ---------------------------------------------------------------- branching

  /** The walk's state as it was at the start of the current rule (see CRule.forkable). */
  snapshot(w: Walk): Snapshot {
    const view = w.recentView;
    let recent: Map<string, Map<string, RecentEntry>> | undefined;
    if (view && view.changed.size) {
      recent = new Map();
      for (const [k, t] of view.changed) recent.set(k, new Map(t));
    }
    return {
      stage: w.stage,
      p: w.p,
      route: w.route,
      route0: w.route0,
      before: w.before,
      ct: w.ct && copyCt(w.ct),
      notrack: w.notrack,
      forwarded: w.forwarded,
      steps: w.steps,
      choices: w.choices,
      probabilityValue: w.probabilityValue,
      logs: w.logs && [...w.logs],
      recent,
      nth: w.nth && new Map(w.nth),
      mayVary: w.mayVary,
      srcWritten: w.srcWritten,
      stepCount: w.stepCount,
      hook: w.tHook,
      base: w.tBase!,
      c: w.tChain!,
      pos: w.tPos,
      cand: w.tCand,
      stack: [...w.tStack],
      tp: w.tP,
      troute: w.tRoute,
    };
  }

  private resumeWalk(alt: Alternative, now: number, pending: Alternative[], injection: Injection, rec: FlowRecord | undefined): Walk {
    const s = alt.snap;
    const w = new Walk(this, now, pending, injection);
    w.rec = rec;
    w.srcWritten = s.srcWritten;
    w.stage = s.stage;
    w.p = s.p;
    w.route = s.route;
    w.route0 = s.route0;
    w.before = s.before;
    w.ct = s.ct && copyCt(s.ct);
    w.notrack = s.notrack;
    w.forwarded = s.forwarded;
    w.steps = s.steps;
    w.choices = s.choices;
    w.probabilityValue = s.probabilityValue;
    w.logs = s.logs && [...s.logs];
    if (s.recent) {
      w.recentView = new RecentView(this.recentState);
      for (const [k, t] of s.recent) w.recentView.adopt(k, new Map(t));
    }
    w.nth = s.nth && new Map(s.nth);
    w.mayVary = s.mayVary;
    w.stepCount = s.stepCount;
    w.ruleSnap = s;
    w.forced = alt.forced;
    w.resume = s;
    return w;
  }

  // ---------------------------------------------------------------- the walk

  private run(w: Walk): OutcomeImpl {
    for (;;) {
      const st = STAGE_TABLE[w.stage];
      if (st) {
        const [hook, table, next, nat] = st;
        let r: number;
        if (w.resume) r = this.resumeTable(w);
        else if (nat) r = this.natHook(w, hook);
        else r = this.runTable(w, hook, table);
        if (r !== R_CONTINUE) return this.finish(w, r);
        const intercept = w.injection.intercept;
        if (intercept && (w.stage === S_IN_SECURITY || w.stage === S_OUT_NAT)) {
          const at = w.stage === S_IN_SECURITY ? 'INPUT' : 'OUTPUT';
          if (intercept(w.p, at)) return this.outcome(w, 'ACCEPT', 'local', w.p.outInterface, at);
        }
        w.stage = next;
        continue;
      }
      switch (w.stage) {
        case S_DONE:
          return this.finish(w, R_CONTINUE, 'local', undefined);
        case S_PRE_CT:
          w.ct = this.lookupConntrack(w, w.p);
          w.stage = S_PRE_MANGLE;
          break;
        case S_IPVS_ROUTE: {
          // IPVS routed the packet to the real server itself (__ip_vs_get_out_rt).
          const p = w.p;
          const route0 = this.node.route(p.inInterface !== undefined || p.outInterface !== undefined ? withInterfaces(p, undefined, undefined, p.ttl) : p);
          if (!route0) return this.outcome(w, 'NO_ROUTE', undefined, undefined);
          if (route0.local) {
            // The real server is this node: IPVS returns NF_ACCEPT and the packet goes on from where it was taken.
            w.ct = this.lookupConntrack(w, p);
            if (p.inInterface !== undefined) {
              w.stage = S_IN_NAT;
            } else {
              w.route0 = route0;
              w.p = withInterfaces(p, undefined, 'lo', p.ttl);
              w.before = w.p;
              w.stage = S_OUT_FILTER;
            }
            break;
          }
          w.route0 = route0;
          w.p = withInterfaces(p, undefined, route0.outInterface, p.ttl);
          w.stage = S_OUT_RAW;
          break;
        }
        case S_ROUTE: {
          const route = this.node.route(w.p);
          if (!route) return this.outcome(w, 'NO_ROUTE', undefined, undefined);
          if (route.local) {
            if (w.p.outInterface !== undefined) w.p = withInterfaces(w.p, w.p.inInterface, undefined, w.p.ttl);
            w.stage = S_IN_MANGLE;
          } else {
            // ip_forward decrements the TTL before the FORWARD hook.
            w.p = withInterfaces(w.p, w.p.inInterface, route.outInterface, w.p.ttl > 0 ? w.p.ttl - 1 : 0);
            w.forwarded = true;
            w.route = route;
            w.stage = S_FWD_MANGLE;
          }
          break;
        }
        case S_OUT_ROUTE: {
          const route0 = this.node.route(w.p);
          if (!route0) return this.outcome(w, 'NO_ROUTE', undefined, undefined);
          w.route0 = route0;
          w.p = withInterfaces(w.p, undefined, route0.local ? 'lo' : route0.outInterface, w.p.ttl);
          w.stage = S_OUT_RAW;
          break;
        }
        case S_OUT_CT:
          w.ct = this.lookupConntrack(w, w.p);
          w.before = w.p;
          w.stage = S_OUT_MANGLE;
          break;
        case S_OUT_REROUTE: {
          // The kernel reroutes when the destination or the mark changed (ip_route_me_harder).
          let route1: RouteResult | undefined = w.route0;
          const b = w.before!;
          if (w.p.dst !== b.dst || w.p.mark !== b.mark) route1 = this.node.route(w.p);
          if (!route1) return this.outcome(w, 'NO_ROUTE', undefined, undefined);
          w.route = route1;
          w.p = withInterfaces(w.p, undefined, route1.local ? 'lo' : route1.outInterface, w.p.ttl);
          w.stage = S_POST_MANGLE;
          break;
        }
        case S_POST_DONE: {
          const route = w.route!;
          if (w.forwarded) return this.finish(w, R_CONTINUE, 'forward', route.outInterface);
          if (!route.local) return this.finish(w, R_CONTINUE, 'output', route.outInterface);
          // Loopback: back in through PREROUTING and INPUT; the connection is confirmed now, so the
          // nat table is not traversed again.
          if (w.ct) w.ct.isNew = false;
          w.p = withInterfaces(w.p, 'lo', undefined, w.p.ttl);
          w.stage = S_LO_PRE_RAW;
          break;
        }
        default:
          throw new Error(`bad walk stage ${w.stage}`);
      }
    }
  }

  private finish(w: Walk, r: number, delivery?: 'local' | 'forward' | 'output', outInterface?: string): OutcomeImpl {
    if (r === R_CONTINUE) return this.outcome(w, 'ACCEPT', delivery, outInterface ?? w.p.outInterface);
    return this.outcome(w, r === R_DROP ? 'DROP' : 'REJECT', undefined, undefined);
  }

  private outcome(
    w: Walk,
    verdict: Verdict,
    delivery: 'local' | 'forward' | 'output' | undefined,
    outInterface: string | undefined,
    interceptedAt?: 'INPUT' | 'OUTPUT',
  ): OutcomeImpl {
    const view = w.recentView;
    const effects: Effects = { recent: view && view.changed.size ? view.changed : undefined, nth: w.nth, ct: w.ct, now: w.now };
    return new OutcomeImpl(
      w.choices,
      w.probabilityValue,
      verdict,
      w.p,
      w.steps,
      w.mayVary,
      w.logs ?? NO_LOGS,
      effects,
      delivery,
      outInterface,
      verdict === 'REJECT' ? w.rejectWith : undefined,
      verdict === 'ACCEPT' && delivery !== 'local' ? w.route : undefined,
      interceptedAt,
    );
  }

  // ---------------------------------------------------------------- conntrack and NAT

  private lookupConntrack(w: Walk, p: Packet): WalkCt | undefined {
    // The CT target leaves a packet alone when it already has a connection (a packet IPVS sent).
    if (w.notrack && !(w.injection.from === 'ipvs' && p.ct)) {
      const t = packetTuple(p);
      return walkCt(true, 'NEW', 'ORIGINAL', t, invertTuple(t), false, false, false, false, false, 0, false, undefined);
    }
    const given = p.ct;
    if (given) {
      if (w.rec !== undefined) w.rec.connection = true;
      // The caller states the connection: use it as given.
      if (given.state === 'INVALID') return undefined;
      const untracked = given.state === 'UNTRACKED';
      const state = given.state === 'UNTRACKED' ? 'NEW' : given.state;
      const isNew = !untracked && given.state === 'NEW' && !given.confirmed;
      return walkCt(untracked, state, given.direction, given.original, given.reply, given.snat, given.dnat, given.seenReply, given.assured, given.confirmed, given.mark, isNew, undefined);
    }
    const t = packetTuple(p);
    const found = this.conntrack.size === 0 ? undefined : this.conntrack.lookup(t);
    if (found) {
      if (w.rec !== undefined) w.rec.connection = true; // an existing connection: its state, not the packet, decides
      const e = found.entry;
      const state = found.direction === 'REPLY' || e.seenReply ? 'ESTABLISHED' : 'NEW';
      return walkCt(false, state, found.direction, e.original, e.reply, e.snat, e.dnat, e.seenReply, e.assured, true, e.mark, false, e);
    }
    if (!startsConnection(p)) return undefined;
    return walkCt(false, 'NEW', 'ORIGINAL', t, invertTuple(t), false, false, false, false, false, 0, true, undefined);
  }

  /** The nat table at a hook for a new connection, or the recorded NAT for an existing one. */
  private natHook(w: Walk, hook: number): number {
    const ct = w.ct;
    if (!ct || ct.untracked) return R_CONTINUE;
    if (ct.isNew) {
      // A packet IPVS sent: the destination manip was set up at the first nat hook, so nat OUTPUT does nothing.
      if (hook === H_OUT && w.injection.from === 'ipvs') return R_CONTINUE;
      return this.runTable(w, hook, NAT);
    }
    const p = w.p;
    const target = ct.direction === 'ORIGINAL' ? ct.reply : ct.original;
    if (hook === H_PRE || hook === H_OUT) {
      // Destination manipulation: the packet must look like the inverse of the other direction.
      if (target.src !== p.dst || target.sport !== p.dport) w.p = rewritePacket(p, { dst: target.src, dport: target.sport });
    } else if (target.dst !== p.src || target.dport !== p.sport) w.p = rewritePacket(p, { src: target.dst, sport: target.dport });
    return R_CONTINUE;
  }

  private applyNat(w: Walk, t: TargetData, p: Packet, route: RouteResult | undefined): Packet | undefined {
    const ct = w.ct!;
    switch (t.kind) {
      case 'DNAT':
      case 'REDIRECT': {
        let dst = p.dst;
        let dstN: number | bigint | undefined;
        let dport = p.dport;
        if (t.kind === 'DNAT') {
          if (t.range.minAddr !== undefined) {
            dst = t.range.minAddr;
            dstN = t.range.minAddrN;
            if (t.range.maxAddr !== t.range.minAddr) w.mayVary = true;
          }
        } else {
          const a = p.inInterface === undefined ? (p.family === 4 ? '127.0.0.1' : '::1') : this.node.interfaceAddress(p.inInterface, p.family);
          if (a === undefined) return undefined;
          dst = a;
        }
        // The kernel keeps the port when it lies in the range, else picks one in it.
        if (t.range.minPort !== undefined && hasPorts(p) && !(p.dport >= t.range.minPort && p.dport <= t.range.maxPort!)) {
          dport = t.range.minPort;
          if (t.range.maxPort !== t.range.minPort) w.mayVary = true;
        }
        const out = rewritePacket(p, dstN === undefined ? { dst, dport } : { dst, dstN, dport });
        ct.reply = tuple(ct.reply.proto, out.dst, out.dport, ct.reply.dst, ct.reply.dport);
        if (out.dst !== p.dst || out.dport !== p.dport) ct.dnat = true;
        return out;
      }
      case 'SNAT':
      case 'MASQUERADE': {
        let src: string | undefined;
        if (t.kind === 'SNAT') {
          src = t.range.minAddr ?? p.src;
          if (t.range.maxAddr !== t.range.minAddr) w.mayVary = true;
        } else {
          src = route?.source ?? (p.outInterface !== undefined ? this.node.interfaceAddress(p.outInterface, p.family, p.dstN) : undefined);
          if (src === undefined) return undefined; // MASQUERADE without an address drops the packet
        }
        let sport = p.sport;
        if (hasPorts(p)) {
          if (t.range.minPort !== undefined && !(sport >= t.range.minPort && sport <= t.range.maxPort!)) {
            sport = t.range.minPort;
            w.mayVary = true;
          }
          if (t.random || t.randomFully) w.mayVary = true;
          sport = this.freePort(ct, src, sport, t.range.minPort, t.range.maxPort, w);
        }
        const out = rewritePacket(p, { src, sport });
        ct.reply = tuple(ct.reply.proto, ct.reply.src, ct.reply.sport, out.src, out.sport);
        if (out.src !== p.src || out.sport !== p.sport) ct.snat = true;
        const rec = w.rec;
        if (rec !== undefined && !w.srcWritten) {
          rec.snat = true;
          // Stored only when NAT kept the port (a hit re-checks that port against conntrack) and changed the
          // address (so the connection's SNAT status, which marks the paths to check, does not depend on the source).
          if (out.sport !== p.sport || out.srcN === rec.packet.srcN) rec.pure = false;
        }
        w.srcWritten = true;
        return out;
      }
      default:
        return p;
    }
  }

  /** Keep the source port unless the resulting reply tuple is taken; then take the next free one. */
  private freePort(ct: WalkCt, src: string, sport: number, min: number | undefined, max: number | undefined, w: Walk): number {
    if (this.conntrack.size === 0) return sport;
    const lo = min ?? (sport < 512 ? 1 : sport < 1024 ? 600 : 1024);
    const hi = max ?? (sport < 512 ? 511 : sport < 1024 ? 1023 : 65535);
    let port = sport;
    for (let tries = 0; tries <= hi - lo; tries++) {
      if (!this.conntrack.inUse(tuple(ct.reply.proto, ct.reply.src, ct.reply.sport, src, port))) {
        if (port !== sport) w.mayVary = true;
        return port;
      }
      port = port >= hi ? lo : port + 1;
    }
    return sport;
  }

  // ---------------------------------------------------------------- chains

  private compileChain(c: CChain, resolved: Map<string, Chain>): CRule[] {
    const out: CRule[] = [];
    c.chain.rules.forEach((rule, i) => {
      const data = rule.target?.data;
      let code = T_NONE;
      let jump: CChain | undefined;
      let verdict = 'CONTINUE';
      if (data) {
        switch (data.kind) {
          case 'ACCEPT':
            code = T_ACCEPT;
            verdict = 'ACCEPT';
            break;
          case 'DROP':
          case 'QUEUE': // no queue reader: the packet is dropped
            code = T_DROP;
            verdict = 'DROP';
            break;
          case 'REJECT':
            code = T_REJECT;
            verdict = 'REJECT';
            break;
          case 'RETURN':
            code = T_RETURN;
            verdict = 'RETURN';
            break;
          case 'jump':
          case 'goto':
            code = data.kind === 'jump' ? T_JUMP : T_GOTO;
            jump = this.chainNamed(c.table, data.chain);
            if (!jump) throw new Error(`chain ${data.chain} does not exist in table ${c.table}`);
            resolved.set(data.chain, jump.chain);
            verdict = `${data.kind === 'jump' ? 'JUMP' : 'GOTO'}:${data.chain}`;
            break;
          case 'DNAT':
          case 'SNAT':
          case 'MASQUERADE':
          case 'REDIRECT':
            code = T_NAT;
            verdict = 'ACCEPT';
            break;
          case 'MARK':
            code = T_MARK;
            break;
          case 'CONNMARK':
            code = T_CONNMARK;
            break;
          case 'LOG':
          case 'NFLOG':
            code = T_LOG;
            break;
          case 'NOTRACK':
            code = T_NOTRACK;
            break;
          case 'CT':
            code = data.notrack ? T_NOTRACK : T_NOP;
            break;
          case 'TRACE':
          case 'TCPMSS':
            code = T_NOP;
            break;
        }
      }
      let random = false;
      let forkable = true;
      for (const m of rule.matches) {
        const d = m.data;
        if (d.kind === 'statistic' && d.mode === 'random') {
          random = true;
          break;
        }
        if (d.kind === 'statistic' || d.kind === 'recent') forkable = false;
      }
      out.push(
        new CRule(
          rule,
          i,
          this.fast ? compiledRule(rule) : undefined,
          this.fast ? readsOf(rule) : IMPURE,
          this.fast ? flowReadsOf(rule) : IMPURE,
          ruleSource(rule),
          code,
          data,
          jump,
          verdict,
          random,
          random && forkable,
        ),
      );
    });
    return out;
  }

  private enter(w: Walk, c: CChain, p: Packet): readonly number[] | undefined {
    if (!this.fast) return undefined;
    if (c.index === undefined) c.index = chainIndex(c.chain);
    if (!c.index) return undefined;
    const cand = c.index.candidates(p);
    (w.lookups ??= []).push(c.index, cand);
    return cand;
  }

  /** Traverse one table's base chain at a hook on `w.p`, leaving the packet after it in `w.p`. */
  private runTable(w: Walk, hook: number, table: number): number {
    const base = this.base[hook]![table];
    if (!base) return R_CONTINUE;
    const p0 = w.p;
    const route = table === NAT ? w.route : undefined;
    if (!this.fast) return this.traverse(w, hook, base, p0, route, undefined);
    const entries = this.memo[hook]![table]!;
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k]!;
      if (memoHit(e, p0, w.ct)) {
        if (w.rec !== undefined) w.rec.read(e.reads, e.srcBits, w.srcWritten);
        if (e.steps.length) w.push(new Segment(HOOKS[hook]!, e.steps, p0, this.family));
        if (e.result === R_REJECT) w.rejectWith = e.rejectWith;
        return e.result;
      }
    }
    w.reads = 0;
    w.srcBits = 0;
    w.pure = true;
    w.lookups = undefined;
    const firstSteps = w.steps;
    const ctBefore = w.ct;
    const result = this.traverse(w, hook, base, p0, route, undefined);
    if (w.pure && w.p === p0 && w.ct === ctBefore) {
      // A pure traversal changed neither the packet nor the connection: the view is still as it was.
      const defs: StepDef[] = [];
      for (let n = w.steps; n !== firstSteps; n = n!.prev) {
        const st = n as Step;
        defs.push({ rule: st.cr, policyOf: st.policyOf, verdict: st.verdict });
      }
      defs.reverse();
      const entry: MemoEntry = {
        reads: w.reads,
        srcBits: w.srcBits,
        packet: p0,
        ctBits: ctStateBits(ctBefore),
        ct: w.reads & F_CT ? freezeCt(ctBefore) : undefined,
        lookups: w.lookups ?? NO_LOOKUPS,
        result,
        rejectWith: w.rejectWith,
        steps: defs,
      };
      entries.unshift(entry);
      if (entries.length > MEMO_ENTRIES) entries.pop();
    }
    return result;
  }

  /** Continue the traversal a snapshot was taken in, from its branching rule. */
  private resumeTable(w: Walk): number {
    const s = w.resume!;
    w.resume = undefined;
    w.pure = false;
    return this.traverse(w, s.hook, s.base, s.tp, s.troute, s);
  }

  private traverse(w: Walk, hook: number, base: CChain, p0: Packet, route: RouteResult | undefined, resume: Snapshot | undefined): number {
    const hookName = HOOKS[hook]!;
    const tableName = base.table;
    const family = this.family;
    const fast = this.fast;
    let p = p0;
    const stack: Frame[] = resume ? [...resume.stack] : [];
    let c = resume ? resume.c : base;
    let rules = this.rulesOf(c);
    let cand = resume ? resume.cand : this.enter(w, c, p);
    let pos = resume ? resume.pos : 0;
    let resuming = !!resume;
    for (;;) {
      let i: number;
      if (cand) i = pos < cand.length ? cand[pos]! : -1;
      else i = pos < rules.length ? pos : -1;
      if (i < 0) {
        // End of chain: implicit return, or the policy of the base chain.
        const frame = stack.pop();
        if (!frame) return this.policy(w, hookName, base, p);
        c = frame.c;
        rules = this.rulesOf(c);
        pos = frame.pos;
        cand = frame.cand;
        continue;
      }
      const cr = rules[i]!;
      if (cr.random) {
        // A branch point: remember where we are, so the other alternatives can resume here.
        if (resuming) resuming = false; // the snapshot and forced decisions are already set
        else {
          w.ruleSnap = undefined;
          w.forced = NO_FORCED;
          w.forcedPos = 0;
        }
        w.ruleTaken = [];
        w.tHook = hook;
        w.tBase = base;
        w.tChain = c;
        w.tPos = pos;
        w.tCand = cand;
        w.tStack = stack;
        w.tP = p;
        w.tRoute = route;
        w.p = p;
        if (!cr.forkable) w.ruleSnap ??= this.snapshot(w);
      }
      pos++;
      if (++w.stepCount > MAX_STEPS) throw new Error('rule traversal did not terminate (loop in the ruleset?)');
      w.currentRule = cr.rule;
      if (fast) {
        if (cr.reads === IMPURE) w.pure = false;
        else w.reads |= cr.reads;
        let bits = 0;
        if (cr.srcPrefix !== 0) {
          // srcBitsDeciding, inlined for IPv4 (it runs for every `-s` rule visited)
          if (typeof p.srcN === 'number') {
            const x = (p.srcN ^ cr.srcNet) & cr.srcMask;
            bits = x === 0 ? cr.srcPrefix : Math.clz32(x) + 1;
          } else bits = srcBitsDeciding(cr.src!, p.srcN);
          if (bits > w.srcBits) w.srcBits = bits;
        }
        if (w.rec !== undefined) w.rec.read(cr.flowReads, bits, w.srcWritten);
        if (!cr.fn!(p, w)) continue;
      } else if (!ruleMatches(cr.rule, p, w)) continue;
      if (cr.code >= T_NAT && cr.code !== T_NOP) w.pure = false;
      const pin = p;
      switch (cr.code) {
        case T_NONE:
        case T_NOP:
          break;
        case T_ACCEPT:
          w.push(new Step(hookName, cr, undefined, cr.verdict, p, family));
          w.p = p;
          return R_CONTINUE;
        case T_DROP:
          w.push(new Step(hookName, cr, undefined, cr.verdict, p, family));
          w.p = p;
          return R_DROP;
        case T_REJECT:
          w.push(new Step(hookName, cr, undefined, cr.verdict, p, family));
          w.rejectWith = (cr.data as { with: string }).with;
          w.p = p;
          return R_REJECT;
        case T_RETURN: {
          w.push(new Step(hookName, cr, undefined, cr.verdict, p, family));
          const frame = stack.pop();
          if (!frame) return this.policy(w, hookName, base, p);
          c = frame.c;
          rules = this.rulesOf(c);
          pos = frame.pos;
          cand = frame.cand;
          continue;
        }
        case T_JUMP:
        case T_GOTO: {
          w.push(new Step(hookName, cr, undefined, cr.verdict, p, family));
          if (cr.code === T_JUMP) {
            stack.push({ c, pos, cand });
            if (stack.length > MAX_DEPTH) throw new Error(`chain nesting deeper than ${MAX_DEPTH} at ${cr.jump!.chain.name}`);
          }
          c = cr.jump!;
          rules = this.rulesOf(c);
          cand = this.enter(w, c, p);
          pos = 0;
          continue;
        }
        case T_NAT: {
          const ct = w.ct;
          if (!ct || !ct.isNew || tableName !== 'nat') {
            w.push(new Step(hookName, cr, undefined, 'ACCEPT', p, family));
            w.p = p;
            return R_CONTINUE;
          }
          const out = this.applyNat(w, cr.data!, p, route);
          if (!out) {
            w.push(new Step(hookName, cr, undefined, 'DROP', p, family));
            w.p = p;
            return R_DROP;
          }
          w.push(new Step(hookName, cr, undefined, 'ACCEPT', out, family, p));
          w.p = out;
          return R_CONTINUE;
        }
        case T_MARK: {
          const t = cr.data as { value: number; mask: number };
          const mark = ((p.mark & ~t.mask) ^ t.value) >>> 0;
          if (mark !== p.mark) p = withMark(p, mark);
          break;
        }
        case T_CONNMARK: {
          const t = cr.data as Extract<TargetData, { kind: 'CONNMARK' }>;
          const ct = w.ct;
          if (ct && !ct.untracked) {
            if (t.mode === 'set') ct.mark = ((ct.mark & ~t.mask) ^ t.value) >>> 0;
            else if (t.mode === 'save') ct.mark = ((ct.mark & ~t.ctmask) ^ (p.mark & t.nfmask)) >>> 0;
            else {
              const mark = ((p.mark & ~t.nfmask) ^ (ct.mark & t.ctmask)) >>> 0;
              if (mark !== p.mark) p = withMark(p, mark);
            }
          }
          break;
        }
        case T_LOG: {
          if (w.rec !== undefined) w.rec.pure = false; // the line names the whole packet
          const t = cr.data!;
          const line =
            t.kind === 'LOG'
              ? `${t.prefix}IN=${p.inInterface ?? ''} OUT=${p.outInterface ?? ''} SRC=${p.src} DST=${p.dst} PROTO=${p.proto.toUpperCase()} SPT=${p.sport} DPT=${p.dport}`
              : `nflog group ${(t as { group: number }).group}: ${(t as { prefix: string }).prefix}SRC=${p.src} DST=${p.dst} PROTO=${p.proto.toUpperCase()} SPT=${p.sport} DPT=${p.dport}`;
          (w.logs ??= []).push(line);
          break;
        }
        case T_NOTRACK:
          w.notrack = true;
          break;
      }
      w.push(new Step(hookName, cr, undefined, 'CONTINUE', p, family, p !== pin ? pin : undefined));
    }
  }

  private policy(w: Walk, hook: Hook, base: CChain, p: Packet): number {
    const policy = base.chain.policy ?? 'ACCEPT';
    w.push(new Step(hook, undefined, base, policy, p, this.family));
    w.p = p;
    return policy === 'ACCEPT' ? R_CONTINUE : R_DROP;
  }
}

const NO_FORCED: readonly boolean[] = [];
const NO_LOOKUPS: readonly (ChainIndex | readonly number[])[] = [];

function walkCt(
  untracked: boolean,
  state: WalkCt['state'],
  direction: WalkCt['direction'],
  original: FlowTuple,
  reply: FlowTuple,
  snat: boolean,
  dnat: boolean,
  seenReply: boolean,
  assured: boolean,
  confirmed: boolean,
  mark: number,
  isNew: boolean,
  entry: ConntrackEntry | undefined,
): WalkCt {
  return { untracked, state, direction, original, reply, snat, dnat, seenReply, assured, confirmed, mark, isNew, entry };
}

/** An explicit copy (object spread of this shape is slow in V8). */
function copyCt(c: WalkCt): WalkCt {
  return walkCt(c.untracked, c.state, c.direction, c.original, c.reply, c.snat, c.dnat, c.seenReply, c.assured, c.confirmed, c.mark, c.isNew, c.entry);
}

function withInterfaces(p: Packet, inInterface: string | undefined, outInterface: string | undefined, ttl: number): Packet {
  const q = copyPacket(p);
  q.inInterface = inInterface;
  q.outInterface = outInterface;
  q.ttl = ttl;
  return q;
}

function withMark(p: Packet, mark: number): Packet {
  const q = copyPacket(p);
  q.mark = mark;
  return q;
}

function tuple(proto: FlowTuple['proto'], src: string, sport: number, dst: string, dport: number): FlowTuple {
  return { proto, src, sport, dst, dport };
}

function hasPorts(p: Packet): boolean {
  return p.proto === 'tcp' || p.proto === 'udp' || p.proto === 'sctp';
}

/** Whether a packet without a conntrack entry may start one (else conntrack calls it INVALID). */
function startsConnection(p: Packet): boolean {
  if (p.proto === 'tcp') {
    const f = p.tcpFlags;
    if (f & TCP_RST) return false;
    if (f & TCP_SYN) return !(f & (TCP_ACK | TCP_FIN));
    return (f & TCP_ACK) !== 0; // nf_conntrack_tcp_loose=1 picks up established streams
  }
  if (p.proto === 'icmp') return p.icmpType === undefined || p.icmpType === 8 || p.icmpType === 13;
  if (p.proto === 'icmpv6') return p.icmpType === undefined || p.icmpType === 128;
  return true;
}

function packetConntrack(ct: WalkCt): PacketConntrack {
  return {
    state: ct.untracked ? 'UNTRACKED' : ct.state,
    direction: ct.direction,
    original: ct.original,
    reply: ct.reply,
    seenReply: ct.seenReply,
    assured: ct.assured,
    confirmed: ct.confirmed,
    snat: ct.snat,
    dnat: ct.dnat,
    mark: ct.mark,
  };
}

/** The reply a destination would send to a delivered outcome (ports swapped, SYN+ACK for TCP). */
export function replyPacket(outcome: Outcome): Packet {
  const p = outcome.packet;
  const q = copyPacket(rewritePacket(p, { src: p.dst, sport: p.dport, dst: p.src, dport: p.sport }));
  q.tcpFlags = p.proto === 'tcp' ? TCP_SYN | TCP_ACK : 0;
  q.mark = 0;
  q.ttl = 64;
  q.ct = undefined;
  q.inInterface = outcome.delivery === 'local' ? undefined : outcome.outInterface;
  q.outInterface = undefined;
  return q;
}
