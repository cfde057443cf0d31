// Reads `ipvsadm -Sn` / `ipvsadm -S` text (what `ipvsadm -R` takes): `-A` lines add virtual
// services, `-a` lines add real servers to the service named on the line. Short and long options
// as ipvsadm 1.31 spells them; anything else is an error naming its line. Real servers keep the
// order of the text, taken as the kernel's list order: dump a node with `ipvsadm -Sn --nosort`
// (plain `-Sn` sorts them by address, and the schedulers' choices depend on the real order).
import type { Diagnostic } from '../../manifest/diagnostic.js';
import { formatIp, parseIp, parseIPv4 } from '../../net/ip.js';
import {
  DEFAULT_PERSISTENCE_TIMEOUT,
  DEFAULT_SCHEDULER,
  KERNEL_SCHEDULERS,
  SCHED_FLAG_1,
  SCHED_FLAG_2,
  SCHED_FLAG_3,
  serviceKey,
  serverKey,
  type ForwardingMethod,
  type IpvsConfig,
  type IpvsProtocol,
  type RealServer,
  type TunnelOptions,
  type VirtualService,
} from './model.js';

export interface IpvsParseOptions {
  /** File name for diagnostics. */
  readonly file?: string;
}

export type IpvsParseResult =
  | { readonly ok: true; readonly config: IpvsConfig; readonly diagnostics: readonly Diagnostic[] }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/** Long option -> short name (or the long name itself when it has no short form). */
const OPTIONS: Readonly<Record<string, string>> = {
  '--add-service': '-A',
  '--add-server': '-a',
  '--tcp-service': '-t',
  '--udp-service': '-u',
  '--sctp-service': '--sctp-service',
  '--fwmark-service': '-f',
  '--ipv6': '-6',
  '--scheduler': '-s',
  '--persistent': '-p',
  '--netmask': '-M',
  '--pe': '--pe',
  '--sched-flags': '-b',
  '--ops': '-o',
  '--real-server': '-r',
  '--gatewaying': '-g',
  '--ipip': '-i',
  '--masquerading': '-m',
  '--weight': '-w',
  '--u-threshold': '-x',
  '--l-threshold': '-y',
  '--tun-type': '--tun-type',
  '--tun-port': '--tun-port',
  '--tun-nocsum': '--tun-nocsum',
  '--tun-csum': '--tun-csum',
  '--tun-remcsum': '--tun-remcsum',
};
const SHORT = new Set(['-A', '-a', '-t', '-u', '-f', '-6', '-s', '-p', '-M', '-b', '-o', '-r', '-g', '-i', '-m', '-w', '-x', '-y']);
/** Options that take a value (`-p` takes an optional one). */
const WITH_VALUE = new Set(['-t', '-u', '--sctp-service', '-f', '-s', '-M', '--pe', '-b', '-r', '-w', '-x', '-y', '--tun-type', '--tun-port']);
const SERVICE_OPTIONS = new Set(['-s', '-p', '-M', '--pe', '-b', '-o']);
const SERVER_OPTIONS = new Set(['-r', '-g', '-i', '-m', '-w', '-x', '-y', '--tun-type', '--tun-port', '--tun-nocsum', '--tun-csum', '--tun-remcsum']);

class LineError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

interface Option {
  readonly name: string;
  readonly written: string;
  readonly value?: string;
}

function readOptions(words: readonly string[]): Option[] {
  const out: Option[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    let name: string | undefined;
    let value: string | undefined;
    if (w.startsWith('--')) {
      const eq = w.indexOf('=');
      const long = eq < 0 ? w : w.slice(0, eq);
      name = OPTIONS[long];
      if (eq >= 0) value = w.slice(eq + 1);
    } else if (SHORT.has(w)) name = w;
    if (!name) throw new LineError(`unknown option "${w}"`, 'ipvsadm -Sn prints -A/-a with -t -u --sctp-service -f -s -p -M -b -o -r -m -g -i -w');
    if (value === undefined && WITH_VALUE.has(name)) {
      value = words[++i];
      if (value === undefined) throw new LineError(`option ${w} needs a value`);
    } else if (value === undefined && name === '-p' && words[i + 1] !== undefined && /^\d+$/.test(words[i + 1]!)) {
      value = words[++i]; // -p [timeout]
    }
    out.push({ name, written: w, value });
  }
  return out;
}

function integer(text: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new LineError(`${what} "${text}" is not a number`);
  const n = Number(text);
  if (n < min || n > max) throw new LineError(`${what} ${n} is out of range ${min}-${max}`);
  return n;
}

/** `host[:port]` or `[v6]:port`, numeric only. */
function hostPortOf(text: string, what: string): { address: string; family: 4 | 6; port: number | undefined } {
  let host = text;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw new LineError(`${what} "${text}": missing "]"`);
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw new LineError(`${what} "${text}" is not [address]:port`);
      portText = rest.slice(1);
    }
  } else {
    const colon = text.lastIndexOf(':');
    if (colon >= 0 && text.indexOf(':') === colon) {
      host = text.slice(0, colon);
      portText = text.slice(colon + 1);
    }
  }
  const ip = parseIp(host);
  if (!ip) throw new LineError(`${what} "${host}" is not a numeric IP address`, 'host names are not resolved; use ipvsadm -Sn (numeric) output');
  const port = portText === undefined || portText === '' ? undefined : integer(portText, `${what} port`, 0, 65535);
  return { address: formatIp(ip), family: ip.family === 'IPv4' ? 4 : 6, port };
}

function schedFlags(text: string, scheduler: string): number {
  let bits = 0;
  for (const flag of text.split(',')) {
    const named: Record<string, [number, string | undefined]> = {
      'flag-1': [SCHED_FLAG_1, undefined],
      'flag-2': [SCHED_FLAG_2, undefined],
      'flag-3': [SCHED_FLAG_3, undefined],
      'sh-fallback': [SCHED_FLAG_1, 'sh'],
      'sh-port': [SCHED_FLAG_2, 'sh'],
      'mh-fallback': [SCHED_FLAG_1, 'mh'],
      'mh-port': [SCHED_FLAG_2, 'mh'],
    };
    const f = named[flag];
    if (!f) throw new LineError(`unknown scheduler flag "${flag}"`, 'flags are flag-1..3, sh-fallback, sh-port, mh-fallback, mh-port');
    if (f[1] && f[1] !== scheduler) throw new LineError(`scheduler flag "${flag}" needs scheduler ${f[1]}, not ${scheduler}`);
    bits |= f[0];
  }
  return bits;
}

interface ServiceSpec {
  readonly key: string;
  readonly family: 4 | 6;
  readonly protocol?: IpvsProtocol;
  readonly address?: string;
  readonly port?: number;
  readonly fwmark?: number;
}

function serviceSpecOf(opts: readonly Option[]): ServiceSpec {
  const specs = opts.filter((o) => o.name === '-t' || o.name === '-u' || o.name === '--sctp-service' || o.name === '-f');
  if (specs.length !== 1) throw new LineError(specs.length ? 'more than one service given' : 'no service given (-t, -u, --sctp-service or -f)');
  const s = specs[0]!;
  const v6 = opts.some((o) => o.name === '-6');
  if (s.name === '-f') {
    const fwmark = integer(s.value!, 'firewall mark', 1, 0xffffffff);
    const family = v6 ? 6 : 4;
    return { key: `fwmark/${fwmark}/${family}`, family, fwmark };
  }
  if (v6) throw new LineError('-6 only goes with -f (a firewall-mark service)');
  const protocol: IpvsProtocol = s.name === '-t' ? 'tcp' : s.name === '-u' ? 'udp' : 'sctp';
  const hp = hostPortOf(s.value!, 'service address');
  const port = hp.port ?? 0;
  return { key: `${protocol}/${hp.family === 6 ? `[${hp.address}]` : hp.address}:${port}`, family: hp.family, protocol, address: hp.address, port };
}

function parseService(opts: readonly Option[], line: number): VirtualService {
  const spec = serviceSpecOf(opts);
  let scheduler = DEFAULT_SCHEDULER;
  let persistent = false;
  let timeout = DEFAULT_PERSISTENCE_TIMEOUT;
  let netmask: number | undefined;
  let pe: string | undefined;
  let flagsText: string | undefined;
  let onePacket = false;
  for (const o of opts) {
    if (o.name === '-A' || o.name === '-t' || o.name === '-u' || o.name === '--sctp-service' || o.name === '-f' || o.name === '-6') continue;
    if (!SERVICE_OPTIONS.has(o.name)) throw new LineError(`option ${o.written} does not apply to -A (a virtual service)`);
    switch (o.name) {
      case '-s':
        if (!(KERNEL_SCHEDULERS as readonly string[]).includes(o.value!))
          throw new LineError(`unknown scheduler "${o.value}"`, `the kernel has ${KERNEL_SCHEDULERS.join(', ')}`);
        scheduler = o.value!;
        break;
      case '-p':
        persistent = true;
        if (o.value !== undefined) timeout = integer(o.value, 'persistence timeout', 1, 0x7fffffff);
        break;
      case '-M':
        netmask =
          spec.family === 4
            ? (parseIPv4(o.value!) ?? (/^\d+$/.test(o.value!) ? prefixMask(integer(o.value!, 'netmask', 0, 32)) : undefined))
            : integer(o.value!, 'IPv6 netmask (prefix length)', 1, 128);
        if (netmask === undefined) throw new LineError(`netmask "${o.value}" is not a dotted mask`);
        break;
      case '--pe':
        pe = o.value!;
        break;
      case '-b':
        flagsText = o.value!;
        break;
      case '-o':
        onePacket = true;
        break;
    }
  }
  if (netmask !== undefined && !persistent) throw new LineError('-M (netmask) needs -p (persistence)');
  const schedFlagsBits = flagsText === undefined ? 0 : schedFlags(flagsText, scheduler);
  return {
    family: spec.family,
    ...(spec.fwmark !== undefined ? { fwmark: spec.fwmark } : { protocol: spec.protocol!, address: spec.address!, port: spec.port! }),
    scheduler,
    schedFlags: schedFlagsBits,
    ...(persistent ? { persistence: { timeout, netmask: netmask ?? (spec.family === 4 ? 0xffffffff : 128) } } : {}),
    ...(pe ? { pe } : {}),
    onePacket,
    realServers: [],
    line,
  };
}

function prefixMask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

function parseServer(opts: readonly Option[], vs: VirtualService, line: number): RealServer {
  let address: string | undefined;
  let port: number | undefined;
  let method: ForwardingMethod | undefined;
  let weight = 1;
  let upper = 0;
  let lower = 0;
  let tunType: TunnelOptions['type'] | undefined;
  let tunPort: number | undefined;
  let checksum: TunnelOptions['checksum'];
  for (const o of opts) {
    if (o.name === '-a' || o.name === '-t' || o.name === '-u' || o.name === '--sctp-service' || o.name === '-f' || o.name === '-6') continue;
    if (!SERVER_OPTIONS.has(o.name)) throw new LineError(`option ${o.written} does not apply to -a (a real server)`);
    switch (o.name) {
      case '-r': {
        const hp = hostPortOf(o.value!, 'real server');
        address = hp.address;
        port = hp.port;
        break;
      }
      case '-g':
      case '-i':
      case '-m': {
        const m: ForwardingMethod = o.name === '-g' ? 'route' : o.name === '-i' ? 'tunnel' : 'masq';
        if (method && method !== m) throw new LineError('more than one forwarding method (-m, -g, -i)');
        method = m;
        break;
      }
      case '-w':
        weight = integer(o.value!, 'weight', 0, 65535);
        break;
      case '-x':
        upper = integer(o.value!, 'upper threshold', 0, 0x7fffffff);
        break;
      case '-y':
        lower = integer(o.value!, 'lower threshold', 0, 0x7fffffff);
        break;
      case '--tun-type':
        if (o.value !== 'ipip' && o.value !== 'gue' && o.value !== 'gre') throw new LineError(`unknown tunnel type "${o.value}"`, 'one of ipip, gue, gre');
        tunType = o.value;
        break;
      case '--tun-port':
        tunPort = integer(o.value!, 'tunnel port', 1, 65535);
        break;
      default:
        checksum = o.name.slice('--tun-'.length) as TunnelOptions['checksum'];
    }
  }
  if (address === undefined) throw new LineError('-a needs -r ADDRESS[:PORT] (the real server)');
  method ??= 'route'; // ipvsadm's default forwarding method is gatewaying
  if ((tunType || tunPort !== undefined || checksum) && method !== 'tunnel') throw new LineError('--tun-* options need -i (tunnelling)');
  if (tunType === 'gue' && tunPort === undefined) throw new LineError('--tun-type gue needs --tun-port');
  if (lower > upper && upper !== 0) throw new LineError(`lower threshold ${lower} is above the upper threshold ${upper}`);
  const family = address.includes(':') ? 6 : 4;
  if (family !== vs.family && method !== 'tunnel') throw new LineError('a real server of another address family needs tunnelling (-i)');
  return {
    address,
    port: port ?? 0,
    method,
    weight,
    upperThreshold: upper,
    lowerThreshold: lower,
    ...(method === 'tunnel' && tunType ? { tunnel: { type: tunType, ...(tunPort !== undefined ? { port: tunPort } : {}), ...(checksum ? { checksum } : {}) } } : {}),
    line,
  };
}

/** Parse `ipvsadm -Sn` text; every bad line is reported. Blank lines and `#` comments are skipped. */
export function parseIpvsadm(text: string, options: IpvsParseOptions = {}): IpvsParseResult {
  const diagnostics: Diagnostic[] = [];
  const services: VirtualService[] = [];
  const byKey = new Map<string, { vs: VirtualService; servers: RealServer[]; seen: Set<string> }>();
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    try {
      const opts = readOptions(trimmed.split(/\s+/));
      const cmd = opts[0];
      if (!cmd || (cmd.name !== '-A' && cmd.name !== '-a')) throw new LineError(`expected -A (add service) or -a (add server), got "${trimmed.split(/\s+/)[0]}"`);
      if (opts.filter((o) => o.name === '-A' || o.name === '-a').length > 1) throw new LineError('one command per line');
      if (cmd.name === '-A') {
        const vs = parseService(opts, line);
        const key = serviceKey(vs);
        if (byKey.has(key)) throw new LineError(`virtual service ${key} is added twice (first on line ${byKey.get(key)!.vs.line})`);
        byKey.set(key, { vs, servers: [], seen: new Set() });
        services.push(vs);
      } else {
        const spec = serviceSpecOf(opts);
        const entry = byKey.get(spec.key);
        if (!entry) throw new LineError(`no virtual service ${spec.key} was added before this line`, 'an -A line must come first');
        const rs = parseServer(opts, entry.vs, line);
        const key = serverKey(rs);
        if (entry.seen.has(key)) throw new LineError(`real server ${key} is added twice to ${spec.key}`);
        entry.seen.add(key);
        entry.servers.push(rs);
      }
    } catch (e) {
      if (!(e instanceof LineError)) throw e;
      diagnostics.push({ severity: 'error', file: options.file, line, message: e.message, ...(e.hint ? { hint: e.hint } : {}) });
    }
  });
  if (diagnostics.length) return { ok: false, diagnostics };
  const withServers = services.map((vs) => ({ ...vs, realServers: byKey.get(serviceKey(vs))!.servers }));
  return { ok: true, config: { services: withServers }, diagnostics };
}

/** Parse or throw (tests and fixtures). */
export function mustParseIpvsadm(text: string, options: IpvsParseOptions = {}): IpvsConfig {
  const r = parseIpvsadm(text, options);
  if (!r.ok) throw new Error(r.diagnostics.map((d) => `line ${d.line}: ${d.message}`).join('\n'));
  return r.config;
}
