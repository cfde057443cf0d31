// iproute2 commands (`ip link add …`, `ip route add …`, `bridge fdb append …`, `sysctl -w …`)
// applied to the model. Renderers emit these texts — what a CNI plugin or a node's setup runs — so
// the same list programs the model and, in the kernel suite, a real network namespace.
import { parseRouteCommand, parseRuleCommand, type CommandResult } from './command.js';
import type { RouteSpec, RuleSpec } from './namespace.js';
import type { LinkKind, LinkSpec } from './links.js';
import type { Network } from './network.js';
import type { FdbEntry, Ipv4Conf, Neighbour } from './namespace.js';
import type { AddMode } from './table.js';

/** One command for one namespace: `ip …`, `bridge …` or `sysctl -w key=value`, as a shell would be given it. */
export type HostCommand = string;

export type ApplyResult = { readonly ok: true } | { readonly ok: false; readonly message: string };

const OK: ApplyResult = { ok: true };
const fail = (message: string): ApplyResult => ({ ok: false, message });

// Route and rule texts repeat across nodes (every flannel node has the same remote routes but one):
// parse each text once.
const routeCache = new Map<string, CommandResult<RouteSpec>>();
const ruleCache = new Map<string, CommandResult<RuleSpec>>();
const CACHE_LIMIT = 200_000;

function cached<T>(cache: Map<string, T>, key: string, make: () => T): T {
  let v = cache.get(key);
  if (v === undefined) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    v = make();
    cache.set(key, v);
  }
  return v;
}

/** Apply one command to namespace `ns` of `net`. Commands that create a veth with `netns X` create X when missing. */
// Neighbour and FDB entries are immutable: one object per command text, shared by the hosts.
const neighbourCache = new Map<string, Neighbour>();
const fdbCache = new Map<string, FdbEntry>();

// The words of each command text (the same texts recur on every host).
const wordCache = new Map<string, readonly string[]>();

export function applyHostCommand(net: Network, ns: string, command: HostCommand): ApplyResult {
  const w = cached(wordCache, command, () => command.trim().split(/\s+/)) as string[];
  const tool = w[0];
  try {
    if (tool === 'ip') return applyIp(net, ns, w.slice(1));
    if (tool === 'bridge') return applyBridge(net, ns, w.slice(1));
    if (tool === 'sysctl') return applySysctl(net, ns, w.slice(1));
  } catch (e) {
    return fail(`${command}: ${(e as Error).message}`);
  }
  return fail(`unknown command "${command}": expected ip, bridge or sysctl`);
}

/** Apply a list in order; the first refusal is returned with the command that caused it. */
export function applyHostCommands(net: Network, ns: string, commands: readonly HostCommand[]): ApplyResult {
  for (const c of commands) {
    const r = applyHostCommand(net, ns, c);
    if (!r.ok) return fail(r.message.startsWith(c) ? r.message : `${c}: ${r.message}`);
  }
  return OK;
}

function opt(w: readonly string[], key: string): string | undefined {
  const i = w.indexOf(key);
  return i >= 0 ? w[i + 1] : undefined;
}

function change(r: { ok: boolean; message?: string }): ApplyResult {
  return r.ok ? OK : fail(r.message ?? 'refused');
}

const LINK_KINDS: ReadonlySet<string> = new Set<LinkKind>(['veth', 'bridge', 'vxlan', 'ipip', 'dummy']);

function applyIp(net: Network, nsName: string, w: string[]): ApplyResult {
  const ns = net.namespace(nsName);
  const [object, verb] = w;
  if (object === 'link' && verb === 'add') {
    // link add [name] NAME [address MAC] [mtu N] type KIND …
    let i = 2;
    if (w[i] === 'name') i++;
    const name = w[i]!;
    const head = w.slice(i + 1, w.indexOf('type'));
    const kind = opt(w, 'type');
    if (!kind || !LINK_KINDS.has(kind)) return fail(`link type "${kind}" is not modelled`);
    const mtu = opt(head, 'mtu');
    const mac = opt(head, 'address');
    const base = { name, up: false, ...(mtu ? { mtu: Number(mtu) } : {}), ...(mac ? { mac } : {}) };
    const rest = w.slice(w.indexOf('type') + 2);
    if (kind === 'veth') {
      // … type veth peer name PEER [netns NS] [mtu N]
      const peer = opt(rest, 'name')!;
      const peerNs = opt(rest, 'netns') ?? nsName;
      if (!net.has(peerNs)) net.createNamespace(peerNs, { ipForward: false });
      const peerMtu = opt(rest, 'mtu') ?? mtu;
      return change(net.addVethPair({ namespace: nsName, ...base }, { namespace: peerNs, name: peer, up: false, ...(peerMtu ? { mtu: Number(peerMtu) } : {}) }));
    }
    const spec: LinkSpec = {
      ...base,
      kind: kind as LinkKind,
      ...(kind === 'vxlan'
        ? {
            vni: Number(opt(rest, 'id') ?? 1),
            ...(opt(rest, 'local') ? { local: opt(rest, 'local')! } : {}),
            ...(opt(rest, 'dev') ? { dev: opt(rest, 'dev')! } : {}),
            ...(opt(rest, 'dstport') ? { dstport: Number(opt(rest, 'dstport')) } : {}),
            learning: !rest.includes('nolearning'),
          }
        : {}),
      ...(kind === 'ipip'
        ? { ...(opt(rest, 'local') ? { local: opt(rest, 'local')! } : {}), ...(opt(rest, 'remote') ? { remote: opt(rest, 'remote')! } : {}), ...(opt(rest, 'dev') ? { dev: opt(rest, 'dev')! } : {}) }
        : {}),
    };
    return change(ns.addLink(spec));
  }
  if (object === 'link' && verb === 'set') {
    // link set [dev] NAME up|down|master BR|mtu N|address MAC …
    let i = 2;
    if (w[i] === 'dev') i++;
    const name = w[i]!;
    const args = w.slice(i + 1);
    const upd: { master?: string; mtu?: number; mac?: string } = {};
    if (opt(args, 'master')) upd.master = opt(args, 'master')!;
    if (opt(args, 'mtu')) upd.mtu = Number(opt(args, 'mtu'));
    if (opt(args, 'address')) upd.mac = opt(args, 'address')!;
    if (Object.keys(upd).length) {
      const r = ns.updateLink(name, upd);
      if (!r.ok) return change(r);
    }
    if (args.includes('up') || args.includes('down')) return change(ns.setLinkUp(name, args.includes('up')));
    return OK;
  }
  if ((object === 'addr' || object === 'address') && verb === 'add') {
    // addr add CIDR [brd B] [scope S] dev DEV [noprefixroute]
    const cidr = w[2]!;
    const dev = opt(w, 'dev');
    if (!dev) return fail('addr add needs dev');
    const scope = opt(w, 'scope');
    const brd = opt(w, 'brd');
    return change(ns.addAddress(dev, cidr, { ...(scope ? { scope } : {}), ...(brd ? { brd } : {}), ...(w.includes('noprefixroute') ? { noprefixroute: true } : {}) }));
  }
  if (object === 'route' || (object === '-6' && w[1] === 'route')) {
    const off = object === '-6' ? 1 : 0;
    const mode = w[1 + off] as AddMode;
    if (mode !== 'add' && mode !== 'replace' && mode !== 'append') return fail(`ip route ${mode} is not modelled`);
    const text = w.slice(2 + off).join(' ');
    const spec = cached(routeCache, text, () => parseRouteCommand(w.slice(2 + off)));
    if (!spec.ok) return fail(spec.message);
    return change(ns.addRoute(spec.value, mode));
  }
  if (object === 'rule' && verb === 'add') {
    const text = w.slice(2).join(' ');
    const spec = cached(ruleCache, text, () => parseRuleCommand(w.slice(2)));
    if (!spec.ok) return fail(spec.message);
    return change(ns.addRule(spec.value));
  }
  if ((object === 'neigh' || object === 'neighbor' || object === 'neighbour') && (verb === 'add' || verb === 'replace')) {
    // neigh add|replace IP lladdr MAC dev DEV [nud permanent]
    const lladdr = opt(w, 'lladdr');
    const dev = opt(w, 'dev');
    if (!dev) return fail('neigh add needs dev');
    const nud = (opt(w, 'nud') ?? 'permanent').toUpperCase();
    ns.addNeighbour(cached(neighbourCache, w.join(' '), () => ({ address: w[2]!, dev, ...(lladdr ? { lladdr } : {}), state: nud as 'PERMANENT' })));
    return OK;
  }
  return fail(`ip ${w.slice(0, 2).join(' ')} is not modelled`);
}

function applyBridge(net: Network, nsName: string, w: string[]): ApplyResult {
  // fdb append|add|replace MAC dev DEV dst IP
  if (w[0] !== 'fdb' || !['append', 'add', 'replace'].includes(w[1]!)) return fail(`bridge ${w.slice(0, 2).join(' ')} is not modelled`);
  const dev = opt(w, 'dev');
  const dst = opt(w, 'dst');
  if (!dev || !dst) return fail('bridge fdb needs dev and dst');
  net.namespace(nsName).addFdb(cached(fdbCache, w.join(' '), () => ({ mac: w[2]!, dev, dst })));
  return OK;
}

function applySysctl(net: Network, nsName: string, w: string[]): ApplyResult {
  // sysctl -w net.ipv4.conf.DEV.KEY=V | net.ipv4.ip_forward=V
  const kv = w.find((x) => x.includes('='));
  if (!kv) return fail('sysctl needs key=value');
  const [key, value] = kv.split('=') as [string, string];
  const ns = net.namespace(nsName);
  if (key === 'net.ipv4.ip_forward') {
    ns.ipForward = value === '1';
    return OK;
  }
  const m = /^net\.ipv4\.conf\.([^.]+)\.(rp_filter|forwarding|accept_local|route_localnet|src_valid_mark|proxy_arp)$/.exec(key);
  if (!m) return fail(`sysctl ${key} is not modelled`);
  const [, dev, setting] = m as unknown as [string, string, string];
  if (setting === 'proxy_arp') return change(ns.updateLink(dev, { proxyArp: value === '1' }));
  const conf: Ipv4Conf =
    setting === 'rp_filter'
      ? { rpFilter: Number(value) as 0 | 1 | 2 }
      : setting === 'forwarding'
        ? { forwarding: value === '1' }
        : setting === 'accept_local'
          ? { acceptLocal: value === '1' }
          : setting === 'route_localnet'
            ? { routeLocalnet: value === '1' }
            : { srcValidMark: value === '1' };
  ns.setConf(dev, conf);
  return OK;
}
