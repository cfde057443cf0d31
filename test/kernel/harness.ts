// The kernel conformance harness: the Linux kernel judges the netfilter evaluator.
//
// A lab is a set of fresh network namespaces (names `kp-<random>-<role>`): a "node" wired by veth
// pairs to a client pod, three endpoint pods and an "external" host, every address in
// 198.18.0.0/15. A case loads a ruleset (and ipsets) into the node namespace only, adds -j TRACE
// rules for its flows in raw PREROUTING/OUTPUT, opens real TCP connections / sends UDP datagrams
// from the other namespaces, reads the kernel's rule-by-rule trace with `xtables-monitor --trace`,
// and checks that it equals one of the evaluator's outcomes for that packet: same steps (table,
// chain, rule text as iptables-save prints it, verdict), same headers at each hook, same DNAT/SNAT
// result as seen by the endpoint, same fate (delivered / refused / dropped).
//
// `runKernelCase` is exported so renderer output (kube-proxy's restore payload) can be fed
// through the same harness. Nothing here touches the host's own namespace.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { makePacket, TCP_SYN, type Packet } from '../../src/net/packet.js';
import {
  Netfilter,
  parseIptablesSave,
  parseIpsetSave,
  parseXtablesTrace,
  printCanonical,
  type KernelPacketLine,
  type KernelTraceLine,
  type KernelTraceRecord,
  type NodeNetwork,
  type Outcome,
  type Ruleset,
  type TraceStep,
} from '../../src/dataplane/netfilter/index.js';

/** The test agent (client and server) the suites run inside namespaces. */
export const AGENT = fileURLToPath(new URL('./agent.mjs', import.meta.url));

// ---------------------------------------------------------------- process helpers

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Start the agent's server in a namespace (it answers each connection with its name) and wait until it
 * listens; the child goes into `children` at once, for teardown.
 */
export function startAgentServer(ns: string, name: string, ports: readonly number[], children: ChildProcess[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, AGENT, 'server', name, JSON.stringify(ports)], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server in ${ns} did not start`)), 10_000);
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server in ${ns} exited (${code})`));
    });
  });
}

/** Stop the agent processes a suite started, then delete its namespaces, newest first (the list is emptied). */
export async function teardown(children: readonly ChildProcess[], namespaces: string[]): Promise<void> {
  for (const c of children) {
    if (c.exitCode === null && c.pid !== undefined) {
      try {
        process.kill(c.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    c.stdin?.end();
  }
  for (const ns of [...namespaces].reverse()) await run('ip', ['netns', 'del', ns]);
  namespaces.length = 0;
}

/** Run a command to completion (killed after `timeoutMs`); never rejects. */
export function run(cmd: string, args: readonly string[], input?: string, timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: String(e) });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // commands that do not read stdin may exit first
    child.stdin.end(input ?? '');
  });
}

async function must(cmd: string, args: readonly string[], input?: string): Promise<string> {
  const r = await run(cmd, args, input);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

function which(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

/** Why the kernel suite cannot run here, or undefined when it can. */
export function kernelSkipReason(): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return 'not root';
  for (const bin of ['ip', 'iptables', 'iptables-restore', 'iptables-save', 'xtables-monitor', 'ipset', 'nft']) {
    if (!which(bin)) return `${bin} not found`;
  }
  const version = spawnSync('iptables', ['--version'], { encoding: 'utf8' }).stdout ?? '';
  if (!version.includes('nf_tables')) return `iptables is not the nft backend (${version.trim()}); xtables-monitor needs it`;
  const probe = `kp-${randomBytes(4).toString('hex')}-probe`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (add.status !== 0) return `cannot create network namespaces: ${(add.stderr ?? '').trim()}`;
  const veth = spawnSync('ip', ['-n', probe, 'link', 'add', 'kpprobe0', 'type', 'veth', 'peer', 'name', 'kpprobe1'], { encoding: 'utf8' });
  spawnSync('ip', ['netns', 'del', probe]);
  if (veth.status !== 0) return `cannot create veth pairs: ${(veth.stderr ?? '').trim()}`;
  return undefined;
}

// ---------------------------------------------------------------- the lab

export type Source = 'client' | 'ext' | 'node' | 'ep1' | 'ep2' | 'ep3';

interface Host {
  readonly role: Source;
  readonly ns: string;
  readonly ip: string;
  /** The node's interface facing this host (undefined for the node itself). */
  readonly nodeIface?: string;
  readonly nodeIp?: string;
}

/** Ports every endpoint pod (and the node) serves, TCP and UDP. */
export const SERVER_PORTS = [8080, 8081, 8082, 9090];

/** Addresses of the lab's hosts, and the node-side interface facing each. */
export const LAB_HOSTS = {
  client: { ip: '198.18.1.2', nodeIface: 'vc1', nodeIp: '198.18.1.1' },
  ep1: { ip: '198.18.11.2', nodeIface: 'vp1', nodeIp: '198.18.11.1' },
  ep2: { ip: '198.18.12.2', nodeIface: 'vp2', nodeIp: '198.18.12.1' },
  ep3: { ip: '198.18.13.2', nodeIface: 'vp3', nodeIp: '198.18.13.1' },
  ext: { ip: '198.18.128.2', nodeIface: 'eth0', nodeIp: '198.18.128.1' },
} as const;

/** The lab node as the evaluator sees it: the same interfaces and routes as the namespace. */
export const LAB_NETWORK: NodeNetwork = {
  interfaces: [
    { name: 'lo', addresses: ['127.0.0.1/8'] },
    ...Object.values(LAB_HOSTS).map((h) => ({ name: h.nodeIface, addresses: [`${h.nodeIp}/24`] })),
  ],
  defaultInterface: 'eth0',
};

export class KernelLab {
  readonly id = randomBytes(3).toString('hex');
  readonly nodeNs = `kp-${this.id}-node`;
  readonly nodeIP = '198.18.128.1';
  /** The pod network, for masquerade rules (`! -s 198.18.0.0/17`). */
  readonly podCIDR = '198.18.0.0/17';
  readonly hosts: Record<Source, Host>;
  private readonly namespaces: string[] = [];
  private readonly children: ChildProcess[] = [];
  private nextPort = 20000;
  private onExit: (() => void) | undefined;

  private constructor() {
    const h = (role: keyof typeof LAB_HOSTS): Host => ({ role, ns: `kp-${this.id}-${role}`, ...LAB_HOSTS[role] });
    this.hosts = {
      client: h('client'),
      ep1: h('ep1'),
      ep2: h('ep2'),
      ep3: h('ep3'),
      ext: h('ext'),
      node: { role: 'node', ns: this.nodeNs, ip: this.nodeIP },
    };
  }

  /** What the evaluator knows of the node: the same interfaces and routes as the namespace. */
  network(): NodeNetwork {
    return LAB_NETWORK;
  }

  static async create(): Promise<KernelLab> {
    const lab = new KernelLab();
    // If the test process dies before afterAll, still remove our namespaces on exit.
    const onExit = () => {
      for (const ns of lab.namespaces) spawnSync('ip', ['netns', 'del', ns]);
    };
    process.once('exit', onExit);
    lab.onExit = onExit;
    try {
      await lab.build();
    } catch (e) {
      await lab.destroy();
      throw e;
    }
    return lab;
  }

  private async ns(...args: string[]): Promise<void> {
    await must('ip', args);
  }

  private async build(): Promise<void> {
    const node = this.nodeNs;
    await this.ns('netns', 'add', node);
    this.namespaces.push(node);
    await this.ns('-n', node, 'link', 'set', 'lo', 'up');
    await must('ip', ['netns', 'exec', node, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    for (const role of ['ext', 'client', 'ep1', 'ep2', 'ep3'] as const) {
      const host = this.hosts[role];
      await this.ns('netns', 'add', host.ns);
      this.namespaces.push(host.ns);
      await this.ns('-n', host.ns, 'link', 'set', 'lo', 'up');
      await this.ns('-n', node, 'link', 'add', host.nodeIface!, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.ns);
      await this.ns('-n', node, 'addr', 'add', `${host.nodeIp}/24`, 'dev', host.nodeIface!);
      await this.ns('-n', node, 'link', 'set', host.nodeIface!, 'up');
      await this.ns('-n', host.ns, 'addr', 'add', `${host.ip}/24`, 'dev', 'eth0');
      await this.ns('-n', host.ns, 'link', 'set', 'eth0', 'up');
      await this.ns('-n', host.ns, 'route', 'add', 'default', 'via', host.nodeIp!);
    }
    // Everything else (ClusterIPs that were not DNATed) leaves by eth0 to the external host,
    // which does not forward: such connections time out, as on a node with a default route.
    await this.ns('-n', node, 'route', 'add', 'default', 'via', this.hosts.ext.ip);
    await Promise.all((['ep1', 'ep2', 'ep3', 'node'] as const).map((role) => this.startServer(role)));
  }

  private startServer(role: Source): Promise<void> {
    return startAgentServer(this.hosts[role].ns, role, SERVER_PORTS, this.children);
  }

  /** A fresh source port for the next flow (flows never reuse a conntrack tuple). */
  port(): number {
    return this.nextPort++;
  }

  /**
   * Replace the node's whole ruleset and ipsets with `rules` (iptables-restore input), then run
   * `iptables` commands (argument lists); returns what iptables-save prints afterwards.
   */
  async load(rules: string, ipsets?: string, commands: readonly (readonly string[])[] = []): Promise<string> {
    await must('ip', ['netns', 'exec', this.nodeNs, 'nft', 'flush', 'ruleset']);
    await must('ip', ['netns', 'exec', this.nodeNs, 'ipset', 'destroy']);
    if (ipsets) await must('ip', ['netns', 'exec', this.nodeNs, 'ipset', 'restore'], ipsets);
    await must('ip', ['netns', 'exec', this.nodeNs, 'iptables-restore'], rules);
    for (const c of commands) await must('ip', ['netns', 'exec', this.nodeNs, 'iptables', ...c]);
    return must('ip', ['netns', 'exec', this.nodeNs, 'iptables-save']);
  }

  /** Run flows (grouped by source, each group in order) while xtables-monitor records the trace. */
  async flows(flows: readonly KernelFlow[], options: { trace: boolean; concurrency?: number }): Promise<{ results: FlowResult[]; trace: string }> {
    let monitor: ChildProcess | undefined;
    let trace = '';
    let monitorErrors = '';
    if (options.trace) {
      monitor = spawn('ip', ['netns', 'exec', this.nodeNs, 'xtables-monitor', '--trace'], { stdio: ['ignore', 'pipe', 'pipe'] });
      this.children.push(monitor);
      monitor.stdout!.on('data', (d) => (trace += d));
      monitor.stderr!.on('data', (d) => (monitorErrors += d));
      await sleep(600);
    }
    // Flows run in the given order (stateful rules see them in that order); consecutive flows from
    // one source share an agent process.
    const results: FlowResult[] = new Array(flows.length);
    for (let start = 0; start < flows.length; ) {
      const source = flows[start]!.from;
      let end = start;
      while (end < flows.length && flows[end]!.from === source) end++;
      const host = this.hosts[source];
      const specs = flows.slice(start, end).map((f) => ({
        proto: f.proto,
        host: f.dst,
        port: f.dport,
        localPort: f.sport,
        localAddress: source === 'node' ? this.nodeIP : host.ip,
        timeoutMs: f.timeoutMs ?? 1500,
      }));
      const r = await run('ip', ['netns', 'exec', host.ns, process.execPath, AGENT, 'client', JSON.stringify(specs), String(options.concurrency ?? 1)], undefined, 600_000);
      if (r.code !== 0) throw new Error(`client in ${host.ns} failed: ${r.stderr}`);
      const parsed = JSON.parse(r.stdout) as FlowResult[];
      parsed.forEach((res, k) => (results[start + k] = res));
      start = end;
    }
    if (monitor) {
      await traceSettled(monitor, () => trace, flows);
      // Said aloud so a CI log shows why a retry happened (ENOBUFS, most often).
      if (monitor.exitCode !== null) console.warn(`xtables-monitor exited early (code ${monitor.exitCode}): ${monitorErrors.trim()}`);
      monitor.kill('SIGTERM');
      await new Promise((r) => (monitor!.exitCode !== null ? r(undefined) : monitor!.once('exit', r)));
    }
    return { results, trace };
  }

  async destroy(): Promise<void> {
    await teardown(this.children, this.namespaces);
    if (this.onExit) process.off('exit', this.onExit);
  }
}

/**
 * Wait until the monitor has printed every flow's first packet and then gone quiet, instead of a
 * fixed pause: on a loaded machine xtables-monitor lags the kernel by seconds, and killing it early
 * loses the trace of the last flows. Gives up after 20 s, or at once if the monitor has exited (it
 * does on ENOBUFS; its message goes to stderr).
 */
async function traceSettled(monitor: ChildProcess, trace: () => string, flows: readonly KernelFlow[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  const printed = () => flows.every((f) => trace().includes(`SPORT=${f.sport} `));
  let seen = -1;
  while (Date.now() < deadline && monitor.exitCode === null) {
    const length = trace().length;
    if (length === seen && printed()) return;
    seen = length;
    await sleep(300);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------- flows and results

export interface KernelFlow {
  readonly from: Source;
  readonly proto: 'tcp' | 'udp';
  readonly dst: string;
  readonly dport: number;
  readonly sport: number;
  readonly timeoutMs?: number;
}

export type FlowResult =
  | { readonly status: 'ok'; readonly reply: { name: string; local: string; localPort: number; remote: string; remotePort: number } }
  | { readonly status: 'error'; readonly code: string }
  | { readonly status: 'timeout' };

/** A kernel trace step, normalised for comparison with the evaluator's. */
export interface ComparableStep {
  readonly table: string;
  readonly chain: string;
  readonly kind: 'rule' | 'policy';
  readonly verdict: string;
  readonly rule?: string;
}

/** One (hook, table) traversal: the headers the kernel printed and the steps. */
export interface ComparableBlock {
  readonly packet: { src: string; dst: string; sport: number; dport: number; in?: string; out?: string; mark: number };
  readonly steps: ComparableStep[];
}

function kernelPacket(p: KernelPacketLine): ComparableBlock['packet'] {
  const f = p.fields;
  return {
    src: f['SRC']!,
    dst: f['DST']!,
    sport: Number(f['SPORT'] ?? 0),
    dport: Number(f['DPORT'] ?? 0),
    ...(f['IN'] ? { in: f['IN'] } : {}),
    ...(f['OUT'] ? { out: f['OUT'] } : {}),
    mark: f['MARK'] ? parseInt(f['MARK'], 16) : 0,
  };
}

/** The kernel's blocks for the first packet of a flow, in order (following it through NAT and loopback). */
export function kernelBlocks(records: readonly KernelTraceRecord[], flow: { src: string; sport: number; proto: 'tcp' | 'udp' }): ComparableBlock[] {
  const blocks: { id: string; packet: KernelPacketLine; steps: KernelTraceLine[] }[] = [];
  for (const r of records) {
    if (r.kind === 'packet') blocks.push({ id: r.id, packet: r, steps: [] });
    else {
      for (let k = blocks.length - 1; k >= 0; k--) {
        if (blocks[k]!.id === r.id) {
          blocks[k]!.steps.push(r);
          break;
        }
      }
    }
  }
  const isFirst = (p: KernelPacketLine) => flow.proto === 'udp' || (p.words.includes('SYN') && !p.words.includes('ACK'));
  const start = blocks.findIndex((b) => b.packet.fields['SRC'] === flow.src && Number(b.packet.fields['SPORT']) === flow.sport && isFirst(b.packet));
  if (start < 0) return [];
  const out: ComparableBlock[] = [];
  const seenHooks = new Set<string>();
  let id = blocks[start]!.id;
  let last = blocks[start]!.packet;
  for (let k = start; k < blocks.length; k++) {
    const b = blocks[k]!;
    const p = b.packet;
    const sameId = b.id === id && p.fields['SRC'] === last.fields['SRC'] && p.fields['SPORT'] === last.fields['SPORT'];
    // Loopback gives the packet a new id: follow it by its (possibly NATed) headers.
    const looped =
      !sameId &&
      p.fields['IN'] === 'lo' &&
      p.fields['SRC'] === last.fields['SRC'] &&
      p.fields['DST'] === last.fields['DST'] &&
      p.fields['DPORT'] === last.fields['DPORT'];
    if (!sameId && !looped) continue;
    if (!isFirst(p)) continue;
    const first = b.steps[0];
    const key = first ? `${first.table}:${first.chain}:${p.fields['IN'] ?? ''}` : '';
    if (key && seenHooks.has(key)) break; // a retransmission re-entering the same hook
    if (key) seenHooks.add(key);
    id = b.id;
    last = p;
    out.push({
      packet: kernelPacket(p),
      steps: b.steps.map((s) => ({ table: s.table, chain: s.chain, kind: s.type === 'policy' ? 'policy' : 'rule', verdict: s.verdict, ...(s.rule ? { rule: s.rule } : {}) })),
    });
  }
  return out;
}

/** The evaluator's trace in the same shape: one block per (hook, table) traversal. */
export function evaluatorBlocks(trace: readonly TraceStep[]): ComparableBlock[] {
  const out: ComparableBlock[] = [];
  let key = '';
  for (const s of trace) {
    const k = `${s.hook}/${s.table}`;
    if (k !== key || !out.length) {
      key = k;
      // The kernel dumps the headers with the first trace event of a chain, after that rule ran:
      // a MARK is visible, NAT is not yet (the nat hook rewrites the packet after the chain).
      const p = s.input;
      out.push({
        packet: {
          src: p.src,
          dst: p.dst,
          sport: p.sport,
          dport: p.dport,
          ...(p.inInterface ? { in: p.inInterface } : {}),
          ...(p.outInterface ? { out: p.outInterface } : {}),
          mark: s.packet.mark,
        },
        steps: [],
      });
    }
    out[out.length - 1]!.steps.push({
      table: s.table,
      chain: s.chain,
      kind: s.kind,
      verdict: s.verdict === 'REJECT' ? 'DROP' : s.verdict, // the kernel traces REJECT as a DROP verdict
      ...(s.kind === 'rule' ? { rule: s.text } : {}),
    });
  }
  return out;
}

/** What the endpoint (or the client) should observe for an outcome. */
export function expectedObservation(lab: KernelLab, o: Outcome, flow: KernelFlow): string {
  if (o.verdict === 'DROP') return 'timeout';
  if (o.verdict === 'NO_ROUTE') return 'error:ENETUNREACH';
  if (o.verdict === 'REJECT') {
    if (o.rejectWith === 'icmp-port-unreachable' || o.rejectWith === 'tcp-reset') return 'error:ECONNREFUSED';
    if (o.rejectWith === 'icmp-net-unreachable' || o.rejectWith === 'icmp-net-prohibited') return 'error:ENETUNREACH';
    return 'error:EHOSTUNREACH';
  }
  const p = o.packet;
  const serverHost = Object.values(lab.hosts).find((h) => h.role !== 'client' && h.role !== 'ext' && (h.ip === p.dst || (h.role === 'node' && o.delivery === 'local')));
  if (!serverHost || !SERVER_PORTS.includes(p.dport)) return flow.proto === 'tcp' && o.delivery === 'local' ? 'error:ECONNREFUSED' : 'timeout';
  const port = o.sourcePortMayVary ? '*' : String(p.sport);
  return `ok:${serverHost.role}:${p.dport}:${p.src}:${port}`;
}

export function observed(r: FlowResult): string {
  if (r.status === 'ok') return `ok:${r.reply.name}:${r.reply.localPort}:${r.reply.remote}:${r.reply.remotePort}`;
  if (r.status === 'error') return `error:${r.code}`;
  return 'timeout';
}

function observationMatches(expected: string, got: string): boolean {
  if (!expected.endsWith(':*')) return expected === got;
  return got.startsWith(expected.slice(0, -1));
}

// ---------------------------------------------------------------- cases

export interface KernelCaseFlow {
  readonly from: Source;
  readonly proto: 'tcp' | 'udp';
  readonly dst: string;
  readonly dport: number;
  /** Expected fate, checked in addition to the evaluator agreement: 'ok:ep1', 'ok', 'timeout', 'error:ECONNREFUSED'. */
  readonly expect?: string;
  readonly timeoutMs?: number;
}

export interface KernelCase {
  readonly name: string;
  /** iptables-restore text for the node (renderer-style or iptables-save style). */
  readonly rules: string;
  /** ipset restore text. */
  readonly ipsets?: string;
  readonly flows: readonly KernelCaseFlow[];
}

export interface FlowReport {
  readonly flow: KernelFlow;
  readonly observed: string;
  readonly kernel: ComparableBlock[];
  /** Index of the evaluator outcome that equals the kernel's path, or -1. */
  readonly matched: number;
  readonly outcomes: readonly Outcome[];
  readonly problems: string[];
}

export interface CaseReport {
  readonly name: string;
  /** What iptables-save printed after loading. */
  readonly saved: string;
  readonly flows: FlowReport[];
  readonly problems: string[];
}

const TRACE_SPORTS = '20000:39999';

/**
 * The TRACE rules for the harness' flows (source ports 20000-39999), in order. Only a flow's first
 * packet is compared, so only TCP SYNs are traced: tracing every packet of every connection made
 * xtables-monitor fall behind and exit on ENOBUFS in CI.
 */
const TRACE_RULES: readonly (readonly string[])[] = (['PREROUTING', 'OUTPUT'] as const).flatMap((chain) =>
  (['tcp', 'udp'] as const).map((proto) => [
    chain, '-p', proto, '-m', proto, '--sport', TRACE_SPORTS,
    ...(proto === 'tcp' ? ['--tcp-flags', 'FIN,SYN,RST,ACK', 'SYN'] : []),
    '-j', 'TRACE',
  ]),
);

/** `iptables` commands that put the TRACE rules at the top of raw PREROUTING/OUTPUT, in order. */
export function traceCommands(): string[][] {
  return TRACE_RULES.map((r, i) => ['-t', 'raw', '-I', r[0]!, String(r[0] === 'PREROUTING' ? i + 1 : i - 1), ...r.slice(1)]);
}

/** The case's ruleset with the TRACE rules at the top of raw PREROUTING/OUTPUT (as `traceCommands` leaves the kernel). */
export function withTraceRules(ruleset: Ruleset): Ruleset {
  const traceText = [
    '*raw',
    ':PREROUTING ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ...TRACE_RULES.map((r) => `-A ${r.join(' ')}`),
    'COMMIT',
    '',
  ].join('\n');
  const trace = parseIptablesSave(traceText);
  if (!trace.ok) throw new Error('trace rules do not parse');
  const raw = trace.ruleset.tables.get('raw')!;
  const existing = ruleset.tables.get('raw');
  const tables = new Map(ruleset.tables);
  if (existing) {
    const chains = new Map(existing.chains);
    for (const hook of ['PREROUTING', 'OUTPUT']) {
      const ours = raw.chains.get(hook)!;
      const theirs = chains.get(hook);
      chains.set(hook, theirs ? { ...theirs, rules: [...ours.rules.map((r) => ({ ...r, chain: hook })), ...theirs.rules] } : ours);
    }
    tables.set('raw', { name: 'raw', chains });
  } else tables.set('raw', raw);
  return { family: ruleset.family, tables, source: ruleset.source };
}

/** Run a case in the lab: load, send, compare with the evaluator. */
export async function runKernelCase(lab: KernelLab, kcase: KernelCase): Promise<CaseReport> {
  const problems: string[] = [];
  const parsed = parseIptablesSave(kcase.rules, { file: kcase.name });
  if (!parsed.ok) throw new Error(`case ${kcase.name} does not parse: ${parsed.diagnostics.map((d) => `line ${d.line}: ${d.message}`).join('; ')}`);
  const ruleset = withTraceRules(parsed.ruleset);
  const saved = await lab.load(kcase.rules, kcase.ipsets, traceCommands());
  // The kernel's own printing of every table must equal our canonical printing.
  const savedRs = parseIptablesSave(saved);
  if (!savedRs.ok) problems.push(`iptables-save output does not parse: ${savedRs.diagnostics.map((d) => `line ${d.line}: ${d.message}`).join('; ')}`);
  else {
    for (const table of ruleset.tables.keys()) {
      const mine = printCanonical(ruleset, { tables: [table] });
      const theirs = printCanonical(savedRs.ruleset, { tables: [table] });
      if (mine !== theirs) problems.push(`table ${table}: canonical text differs from iptables-save\n--- ours\n${mine}--- kernel\n${theirs}`);
    }
  }
  const ipsets = kcase.ipsets ? parseIpsetSave(kcase.ipsets) : undefined;
  if (ipsets && !ipsets.ok) throw new Error(`case ${kcase.name}: ipsets do not parse`);
  const nf = new Netfilter(ruleset, { node: lab.network(), ...(ipsets?.ok ? { ipsets: ipsets.store } : {}) });

  const flows: KernelFlow[] = kcase.flows.map((f) => ({ ...f, sport: lab.port() }));
  const { results, trace } = await lab.flows(flows, { trace: true });
  const records = parseXtablesTrace(trace);
  const reports: FlowReport[] = [];
  // Flows from one source ran in order; evaluate them in that order so stateful matches agree.
  for (const [i, flow] of flows.entries()) {
    const host = lab.hosts[flow.from];
    const packet: Packet = makePacket({
      src: host.ip,
      dst: flow.dst,
      proto: flow.proto,
      sport: flow.sport,
      dport: flow.dport,
      tcpFlags: TCP_SYN,
      ...(flow.from === 'node' ? {} : { inInterface: host.nodeIface! }),
    });
    const { outcomes } = nf.evaluate(packet, { from: flow.from === 'node' ? 'local' : 'interface' });
    const kernel = kernelBlocks(records, { src: host.ip, sport: flow.sport, proto: flow.proto });
    const got = observed(results[i]!);
    const flowProblems: string[] = [];
    const kernelJson = JSON.stringify(kernel);
    let matched = -1;
    outcomes.forEach((o, k) => {
      if (matched >= 0) return;
      if (JSON.stringify(evaluatorBlocks(o.trace)) === kernelJson && observationMatches(expectedObservation(lab, o, flow), got)) matched = k;
    });
    if (matched < 0) {
      const near = outcomes.find((o) => observationMatches(expectedObservation(lab, o, flow), got)) ?? outcomes[0]!;
      flowProblems.push(
        `${flow.from} -> ${flow.proto} ${flow.dst}:${flow.dport} (sport ${flow.sport}): no evaluator outcome equals the kernel's path\n` +
          `  observed: ${got}; evaluator outcomes: ${outcomes.map((o) => `${expectedObservation(lab, o, flow)} p=${o.probabilityValue.toFixed(6)}`).join(', ')}\n` +
          diffBlocks(kernel, evaluatorBlocks(near.trace)),
      );
    } else nf.commit(outcomes[matched]!);
    const exp = kcase.flows[i]!.expect;
    if (exp && !(got === exp || got.startsWith(`${exp}:`))) flowProblems.push(`${flow.from} -> ${flow.dst}:${flow.dport}: expected ${exp}, observed ${got}`);
    reports.push({ flow, observed: got, kernel, matched, outcomes, problems: flowProblems });
    problems.push(...flowProblems);
  }
  return { name: kcase.name, saved, flows: reports, problems };
}

function blockLines(blocks: readonly ComparableBlock[]): string[] {
  const out: string[] = [];
  for (const b of blocks) {
    const p = b.packet;
    out.push(`  [${p.in ?? ''}>${p.out ?? ''} ${p.src}:${p.sport} > ${p.dst}:${p.dport} mark=${p.mark}]`);
    for (const s of b.steps) out.push(`    ${s.table}:${s.chain}:${s.kind}:${s.verdict} ${s.rule ?? ''}`);
  }
  return out;
}

function diffBlocks(kernel: readonly ComparableBlock[], ours: readonly ComparableBlock[]): string {
  const a = blockLines(kernel);
  const b = blockLines(ours);
  const out = ['  kernel | evaluator:'];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const mark = a[i] === b[i] ? ' ' : '!';
    out.push(`${mark} K${a[i] ?? ''}`);
    if (a[i] !== b[i]) out.push(`${mark} E${b[i] ?? ''}`);
  }
  return out.join('\n');
}

/** Pearson's chi-square statistic of observed counts against expected probabilities. */
export function chiSquare(counts: readonly number[], probabilities: readonly number[]): number {
  const n = counts.reduce((a, b) => a + b, 0);
  let x = 0;
  counts.forEach((c, i) => {
    const e = n * probabilities[i]!;
    x += ((c - e) * (c - e)) / e;
  });
  return x;
}
