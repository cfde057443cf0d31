// ipsets as `-m set --match-set` sees them: the types kube-proxy and CNIs use, parsed from
// `ipset save` / `ipset restore` text (create, add, del, flush, destroy, swap), with membership tests
// that pick each dimension from the packet's source or destination as the match's flags say.
import type { Diagnostic } from '../../manifest/diagnostic.js';
import type { AddressFamily, Packet } from '../../net/packet.js';
import { addressIn, parseAddressSpec } from './addr.js';
import type { AddressSpec, SetDirection } from './model.js';
import { tokenizeLine } from './tokens.js';

export const IPSET_TYPES = ['hash:ip', 'hash:ip,port', 'hash:ip,port,ip', 'hash:ip,port,net', 'hash:net', 'hash:net,port', 'bitmap:port'] as const;
export type IpsetType = (typeof IPSET_TYPES)[number];

type PortProto = 'tcp' | 'udp' | 'sctp' | 'udplite';

interface NetEntry {
  readonly net: AddressSpec;
  readonly nomatch: boolean;
}

export interface Ipset {
  readonly name: string;
  readonly type: IpsetType;
  readonly family: AddressFamily;
  /** The create line's options after the type, as written. */
  readonly createOptions: readonly string[];
  /** Elements as written in `add` lines, with their options, in order. */
  readonly elements: { text: string; options: string[] }[];
  /** Exact-key members (host addresses, ports, protocols). */
  readonly keys: Set<string>;
  /** hash:net / hash:net,port / hash:ip,port,net: networks under a key ('' for hash:net). */
  readonly nets: Map<string, NetEntry[]>;
  /** bitmap:port range. */
  readonly range?: { readonly from: number; readonly to: number };
}

export type SetLookup = 'match' | 'nomatch' | 'absent';

export class IpsetStore {
  readonly sets = new Map<string, Ipset>();

  has(name: string): boolean {
    return this.sets.has(name);
  }

  /**
   * Test a packet against set `name` with the match's direction flags. 'nomatch' is an element
   * marked nomatch (hash:net types): a plain `--match-set` treats it as no match.
   */
  test(name: string, p: Packet, directions: readonly SetDirection[]): SetLookup {
    const set = this.sets.get(name);
    if (!set || set.family !== p.family) return 'absent';
    const addr = (i: number) => (directions[i] === 'src' ? p.src : p.dst);
    const addrN = (i: number) => (directions[i] === 'src' ? p.srcN : p.dstN);
    const port = (i: number) => (directions[i] === 'src' ? p.sport : p.dport);
    const hasPorts = p.proto === 'tcp' || p.proto === 'udp' || p.proto === 'sctp';
    const pp = (i: number) => `${p.proto}:${port(i)}`;
    switch (set.type) {
      case 'hash:ip':
        return set.keys.has(addr(0)) ? 'match' : 'absent';
      case 'hash:ip,port':
        return hasPorts && directions.length >= 2 && set.keys.has(`${addr(0)},${pp(1)}`) ? 'match' : 'absent';
      case 'hash:ip,port,ip':
        return hasPorts && directions.length >= 3 && set.keys.has(`${addr(0)},${pp(1)},${addr(2)}`) ? 'match' : 'absent';
      case 'hash:ip,port,net':
        if (!hasPorts || directions.length < 3) return 'absent';
        return longestNet(set.nets.get(`${addr(0)},${pp(1)}`), addrN(2));
      case 'hash:net':
        return longestNet(set.nets.get(''), addrN(0));
      case 'hash:net,port':
        if (!hasPorts || directions.length < 2) return 'absent';
        return longestNet(set.nets.get(pp(1)), addrN(0));
      case 'bitmap:port':
        return hasPorts && set.keys.has(`${port(0)}`) ? 'match' : 'absent';
    }
  }
}

function longestNet(entries: NetEntry[] | undefined, n: number | bigint): SetLookup {
  if (!entries) return 'absent';
  let best: NetEntry | undefined;
  for (const e of entries) if (addressIn(e.net, n) && (!best || e.net.prefix > best.net.prefix)) best = e;
  return !best ? 'absent' : best.nomatch ? 'nomatch' : 'match';
}

export type IpsetParseResult =
  | { readonly ok: true; readonly store: IpsetStore }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/** Parse `ipset save` output (or an `ipset restore` script) into a store. */
export function parseIpsetSave(text: string, options: { readonly file?: string; readonly into?: IpsetStore } = {}): IpsetParseResult {
  const store = options.into ?? new IpsetStore();
  const diagnostics: Diagnostic[] = [];
  const error = (line: number, message: string) => diagnostics.push({ severity: 'error', message, line, ...(options.file ? { file: options.file } : {}) });
  text.split('\n').forEach((raw, idx) => {
    const line = idx + 1;
    const trimmed = raw.trim();
    if (!trimmed || trimmed.startsWith('#')) return;
    const tok = tokenizeLine(trimmed);
    if (!tok.ok) return void error(line, tok.message);
    const kept = tok.tokens.filter((t) => t.value !== '-exist' && t.value !== '-!');
    const args = kept.map((t) => t.value);
    const raws = kept.map((t) => t.raw);
    const [cmd, name, ...rest] = args;
    if (!name) return void error(line, `"${cmd}" needs a set name`);
    switch (cmd) {
      case 'create':
      case '-N':
      case 'n': {
        const type = rest[0] as IpsetType;
        if (!(IPSET_TYPES as readonly string[]).includes(type)) return void error(line, `unsupported ipset type "${rest[0] ?? ''}" (supported: ${IPSET_TYPES.join(', ')})`);
        const opts = rest.slice(1);
        const optsRaw = raws.slice(3);
        const famIdx = opts.indexOf('family');
        const fam = famIdx >= 0 ? opts[famIdx + 1] : 'inet';
        if (fam !== 'inet' && fam !== 'inet6') return void error(line, `unsupported family "${fam}"`);
        let range: { from: number; to: number } | undefined;
        if (type === 'bitmap:port') {
          const r = opts[opts.indexOf('range') + 1];
          const m = r && opts.includes('range') ? /^(\d+)-(\d+)$/.exec(r) : null;
          if (!m) return void error(line, 'bitmap:port needs "range FROM-TO"');
          range = { from: Number(m[1]), to: Number(m[2]) };
        }
        if (opts.includes('netmask')) return void error(line, 'the "netmask" create option is not supported');
        if (store.sets.has(name)) return; // -exist semantics: keep the existing set
        store.sets.set(name, {
          name,
          type,
          family: fam === 'inet' ? 4 : 6,
          createOptions: optsRaw,
          elements: [],
          keys: new Set(),
          nets: new Map(),
          ...(range ? { range } : {}),
        });
        return;
      }
      case 'add':
      case '-A':
      case 'a':
      case 'del':
      case '-D':
      case 'd': {
        const set = store.sets.get(name);
        if (!set) return void error(line, `set "${name}" does not exist (create it first)`);
        const element = rest[0];
        if (!element) return void error(line, `"${cmd}" needs an element`);
        const parsed = parseElement(set, element);
        if (typeof parsed === 'string') return void error(line, parsed);
        const elOpts = rest.slice(1);
        const elOptsRaw = raws.slice(3);
        const nomatch = elOpts.includes('nomatch');
        if (nomatch && !set.type.includes('net')) return void error(line, '"nomatch" is only valid for sets with a net dimension');
        const add = cmd === 'add' || cmd === '-A' || cmd === 'a';
        for (const k of parsed.keys) {
          if (add) set.keys.add(k);
          else set.keys.delete(k);
        }
        if (parsed.net) {
          const list = set.nets.get(parsed.netKey) ?? [];
          const kept = list.filter((e) => e.net.text !== parsed.net!.text);
          if (add) kept.push({ net: parsed.net, nomatch });
          set.nets.set(parsed.netKey, kept);
        }
        if (add) set.elements.push({ text: element, options: elOptsRaw });
        else {
          const i = set.elements.findIndex((e) => e.text === element);
          if (i >= 0) set.elements.splice(i, 1);
        }
        return;
      }
      case 'flush':
      case '-F': {
        const set = store.sets.get(name);
        if (!set) return void error(line, `set "${name}" does not exist`);
        set.keys.clear();
        set.nets.clear();
        set.elements.length = 0;
        return;
      }
      case 'destroy':
      case '-X':
        if (!store.sets.delete(name)) error(line, `set "${name}" does not exist`);
        return;
      case 'swap':
      case '-W': {
        const other = rest[0];
        const a = store.sets.get(name);
        const b = other ? store.sets.get(other) : undefined;
        if (!a || !b || !other) return void error(line, `cannot swap "${name}" and "${other ?? ''}"`);
        store.sets.set(name, { ...b, name });
        store.sets.set(other, { ...a, name: other });
        return;
      }
      default:
        return void error(line, `unknown ipset command "${cmd}"`);
    }
  });
  return diagnostics.length ? { ok: false, diagnostics } : { ok: true, store };
}

interface ParsedElement {
  keys: string[];
  netKey: string;
  net?: AddressSpec;
}

function parsePortProto(text: string): { proto: PortProto; from: number; to: number } | undefined {
  const m = /^(?:(tcp|udp|sctp|udplite):)?(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) return undefined;
  const from = Number(m[2]);
  const to = m[3] === undefined ? from : Number(m[3]);
  if (from > 65535 || to > 65535 || from > to) return undefined;
  return { proto: (m[1] as PortProto | undefined) ?? 'tcp', from, to };
}

function hostAddress(text: string, family: AddressFamily): string | undefined {
  const a = parseAddressSpec(text, family);
  return a && a.prefix === (family === 4 ? 32 : 128) ? a.text.slice(0, a.text.indexOf('/')) : undefined;
}

function parseElement(set: Ipset, element: string): ParsedElement | string {
  const parts = element.split(',');
  const fam = set.family;
  const bad = () => `invalid element "${element}" for ${set.type}`;
  const portKeys = (pp: { proto: PortProto; from: number; to: number }) => {
    const out: string[] = [];
    for (let port = pp.from; port <= pp.to; port++) out.push(`${pp.proto}:${port}`);
    return out;
  };
  switch (set.type) {
    case 'hash:ip': {
      const ip = parts.length === 1 ? hostAddress(parts[0]!, fam) : undefined;
      return ip ? { keys: [ip], netKey: '' } : bad();
    }
    case 'hash:ip,port':
    case 'hash:ip,port,ip':
    case 'hash:ip,port,net': {
      if (parts.length !== (set.type === 'hash:ip,port' ? 2 : 3)) return bad();
      const ip = hostAddress(parts[0]!, fam);
      const pp = parsePortProto(parts[1]!);
      if (!ip || !pp) return bad();
      if (set.type === 'hash:ip,port') return { keys: portKeys(pp).map((k) => `${ip},${k}`), netKey: '' };
      if (set.type === 'hash:ip,port,ip') {
        const ip2 = hostAddress(parts[2]!, fam);
        return ip2 ? { keys: portKeys(pp).map((k) => `${ip},${k},${ip2}`), netKey: '' } : bad();
      }
      const net = parseAddressSpec(parts[2]!, fam);
      if (!net || pp.from !== pp.to) return bad();
      return { keys: [], netKey: `${ip},${pp.proto}:${pp.from}`, net };
    }
    case 'hash:net': {
      const net = parts.length === 1 ? parseAddressSpec(parts[0]!, fam) : undefined;
      return net ? { keys: [], netKey: '', net } : bad();
    }
    case 'hash:net,port': {
      const net = parts.length === 2 ? parseAddressSpec(parts[0]!, fam) : undefined;
      const pp = parts.length === 2 ? parsePortProto(parts[1]!) : undefined;
      return net && pp && pp.from === pp.to ? { keys: [], netKey: `${pp.proto}:${pp.from}`, net } : bad();
    }
    case 'bitmap:port': {
      const m = parts.length === 1 ? /^(\d+)(?:-(\d+))?$/.exec(parts[0]!) : null;
      if (!m) return bad();
      const from = Number(m[1]);
      const to = m[2] === undefined ? from : Number(m[2]);
      if (!set.range || from < set.range.from || to > set.range.to || from > to) return `element "${element}" is outside the set's range`;
      const keys: string[] = [];
      for (let p = from; p <= to; p++) keys.push(`${p}`);
      return { keys, netKey: '' };
    }
  }
}

/** The store as `ipset save` prints it: create lines, then add lines, set by set. */
export function printIpsetSave(store: IpsetStore): string {
  const out: string[] = [];
  for (const s of store.sets.values()) {
    out.push(`create ${s.name} ${s.type}${s.createOptions.length ? ` ${s.createOptions.join(' ')}` : ''}`);
    for (const e of s.elements) out.push(`add ${s.name} ${e.text}${e.options.length ? ` ${e.options.join(' ')}` : ''}`);
  }
  return out.length ? `${out.join('\n')}\n` : '';
}
