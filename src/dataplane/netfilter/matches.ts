// Match extensions: which options each `-m` module takes, how they become structured data, and
// how iptables-save prints that data back (the option order of each libxt_*.c save function).
// A module or option not listed here is an error for the parser, never skipped.
import { fullMask, hostOrNetText, parseAddressSpec, parseMaskAddress } from './addr.js';
import {
  ADDRTYPE_NAMES,
  CTSTATE_NAMES,
  CTSTATUS_NAMES,
  type AddressSpec,
  type CtStateName,
  type CtStatusName,
  type Inverted,
  type IpvsMatch,
  type MatchData,
  type PortRange,
} from './model.js';
import {
  findSpec,
  formatPortRange,
  hex,
  parseMarkMask,
  parseNumber,
  parsePortRange,
  parseProtocol,
  type BuildContext,
  type Built,
  type OptionSpec,
  type ParsedOption,
} from './options.js';
import { formatKernelProbability, parseDecimal } from './probability.js';
import { saveString } from './tokens.js';

export interface MatchModule {
  readonly name: string;
  readonly options: readonly OptionSpec[];
  build(options: readonly ParsedOption[], ctx: BuildContext): Built<MatchData>;
  /** The options as iptables-save prints them (without `-m NAME`). */
  save(data: MatchData, ctx: BuildContext): string;
}

const neg = (invert: boolean) => (invert ? '! ' : '');

function single(options: readonly ParsedOption[], name: string): ParsedOption | undefined {
  for (const o of options) if (o.name === name) return o;
  return undefined;
}

function duplicate(options: readonly ParsedOption[]): string | undefined {
  for (let i = 1; i < options.length; i++) for (let j = 0; j < i; j++) if (options[i]!.name === options[j]!.name) return `option ${options[i]!.name} given more than once`;
  return undefined;
}

function inverted<T>(o: ParsedOption, value: T): Inverted<T> {
  return { value, invert: o.invert };
}

// ---------------------------------------------------------------- tcp, udp, sctp

const TCP_FLAG_BITS: Readonly<Record<string, number>> = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ALL: 0x3f,
  NONE: 0,
};
const TCP_FLAG_ORDER = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG'];

function parseTcpFlags(text: string): number | undefined {
  let bits = 0;
  for (const part of text.split(',')) {
    const b = TCP_FLAG_BITS[part.toUpperCase()];
    if (b === undefined) return undefined;
    bits |= b;
  }
  return bits;
}

function formatTcpFlagList(bits: number): string {
  if (bits === 0) return 'NONE';
  return TCP_FLAG_ORDER.filter((n) => bits & TCP_FLAG_BITS[n]!).join(',');
}

function portOption(o: ParsedOption): Built<Inverted<PortRange>> {
  const r = parsePortRange(o.args[0]!);
  return r ? inverted(o, r) : `invalid port or port range "${o.args[0]}" for ${o.name} (use numbers: 80 or 80:90)`;
}

function savePorts(sport: Inverted<PortRange> | undefined, dport: Inverted<PortRange> | undefined): string[] {
  const out: string[] = [];
  if (sport && !(sport.value.from === 0 && sport.value.to === 65535 && !sport.invert)) out.push(`${neg(sport.invert)}--sport ${formatPortRange(sport.value)}`);
  if (dport && !(dport.value.from === 0 && dport.value.to === 65535 && !dport.invert)) out.push(`${neg(dport.invert)}--dport ${formatPortRange(dport.value)}`);
  return out;
}

function protocolGuard(module: string, ctx: BuildContext): string | undefined {
  const p = ctx.proto;
  const want = module === 'tcp' ? 6 : module === 'udp' ? 17 : 132;
  if (!p || p.invert || p.number !== want) return `-m ${module} needs "-p ${module}" before it`;
  return undefined;
}

const tcp: MatchModule = {
  name: 'tcp',
  options: [
    { name: '--sport', aliases: ['--source-port'], args: 1, invertible: true },
    { name: '--dport', aliases: ['--destination-port'], args: 1, invertible: true },
    { name: '--tcp-flags', args: 2, invertible: true },
    { name: '--syn', args: 0, invertible: true },
    { name: '--tcp-option', args: 1, invertible: true },
  ],
  build(options, ctx) {
    const dup = duplicate(options);
    if (dup) return dup;
    const guard = protocolGuard('tcp', ctx);
    if (guard) return guard;
    let sport, dport, flags, option;
    for (const o of options) {
      if (o.name === '--sport' || o.name === '--dport') {
        const r = portOption(o);
        if (typeof r === 'string') return r;
        if (o.name === '--sport') sport = r;
        else dport = r;
      } else if (o.name === '--tcp-flags' || o.name === '--syn') {
        if (flags) return 'only one of --tcp-flags and --syn may be given';
        if (o.name === '--syn') flags = inverted(o, { mask: 0x17, comp: 0x02 });
        else {
          const mask = parseTcpFlags(o.args[0]!);
          const comp = parseTcpFlags(o.args[1]!);
          if (mask === undefined || comp === undefined) return `invalid TCP flags "${o.args.join(' ')}" (use FIN,SYN,RST,PSH,ACK,URG,ALL,NONE)`;
          flags = inverted(o, { mask, comp });
        }
      } else {
        const n = parseNumber(o.args[0]!, 255);
        if (n === undefined) return `invalid --tcp-option "${o.args[0]}"`;
        option = inverted(o, n);
      }
    }
    return { kind: 'tcp', ...(sport ? { sport } : {}), ...(dport ? { dport } : {}), ...(flags ? { flags } : {}), ...(option ? { option } : {}) };
  },
  save(d) {
    if (d.kind !== 'tcp') throw new Error('tcp.save');
    const out = savePorts(d.sport, d.dport);
    if (d.option) out.push(`${neg(d.option.invert)}--tcp-option ${d.option.value}`);
    if (d.flags) out.push(`${neg(d.flags.invert)}--tcp-flags ${formatTcpFlagList(d.flags.value.mask)} ${formatTcpFlagList(d.flags.value.comp)}`);
    return out.join(' ');
  },
};

function portsOnly(name: 'udp' | 'sctp'): MatchModule {
  return {
    name,
    options: [
      { name: '--sport', aliases: ['--source-port'], args: 1, invertible: true },
      { name: '--dport', aliases: ['--destination-port'], args: 1, invertible: true },
    ],
    build(options, ctx) {
      const dup = duplicate(options);
      if (dup) return dup;
      const guard = protocolGuard(name, ctx);
      if (guard) return guard;
      let sport, dport;
      for (const o of options) {
        const r = portOption(o);
        if (typeof r === 'string') return r;
        if (o.name === '--sport') sport = r;
        else dport = r;
      }
      return { kind: name, ...(sport ? { sport } : {}), ...(dport ? { dport } : {}) };
    },
    save(d) {
      if (d.kind !== name) throw new Error(`${name}.save`);
      return savePorts(d.sport, d.dport).join(' ');
    },
  };
}

// ---------------------------------------------------------------- icmp

const ICMP_TYPES: Readonly<Record<string, [number, number?]>> = {
  'echo-reply': [0],
  pong: [0],
  'destination-unreachable': [3],
  'network-unreachable': [3, 0],
  'host-unreachable': [3, 1],
  'protocol-unreachable': [3, 2],
  'port-unreachable': [3, 3],
  'fragmentation-needed': [3, 4],
  'source-route-failed': [3, 5],
  'network-prohibited': [3, 9],
  'host-prohibited': [3, 10],
  'communication-prohibited': [3, 13],
  'source-quench': [4],
  redirect: [5],
  'echo-request': [8],
  ping: [8],
  'router-advertisement': [9],
  'router-solicitation': [10],
  'time-exceeded': [11],
  'ttl-exceeded': [11],
  'ttl-zero-during-transit': [11, 0],
  'parameter-problem': [12],
  'timestamp-request': [13],
  'timestamp-reply': [14],
};

const icmp: MatchModule = {
  name: 'icmp',
  options: [{ name: '--icmp-type', args: 1, invertible: true }],
  build(options, ctx) {
    const o = single(options, '--icmp-type');
    if (!ctx.proto || ctx.proto.number !== 1 || ctx.proto.invert) return '-m icmp needs "-p icmp" before it';
    if (!o) return '-m icmp needs --icmp-type';
    const text = o.args[0]!;
    if (text === 'any') return { kind: 'icmp', type: 'any', invert: o.invert };
    const named = ICMP_TYPES[text];
    if (named) {
      const code = named[1];
      return { kind: 'icmp', type: { type: named[0], codeMin: code ?? 0, codeMax: code ?? 255 }, invert: o.invert };
    }
    const m = /^(\d+)(?:\/(\d+))?$/.exec(text);
    if (!m || Number(m[1]) > 255 || (m[2] !== undefined && Number(m[2]) > 255)) return `invalid ICMP type "${text}"`;
    const code = m[2] === undefined ? undefined : Number(m[2]);
    return { kind: 'icmp', type: { type: Number(m[1]), codeMin: code ?? 0, codeMax: code ?? 255 }, invert: o.invert };
  },
  save(d) {
    if (d.kind !== 'icmp' && d.kind !== 'icmp6') throw new Error('icmp.save');
    const flag = d.kind === 'icmp' ? '--icmp-type' : '--icmpv6-type';
    if (d.type === 'any') return `${neg(d.invert)}${flag} any`;
    const code = d.type.codeMin === 0 && d.type.codeMax === 255 ? '' : `/${d.type.codeMin}`;
    return `${neg(d.invert)}${flag} ${d.type.type}${code}`;
  },
};

const icmp6: MatchModule = {
  name: 'icmp6',
  options: [{ name: '--icmpv6-type', args: 1, invertible: true }],
  build(options, ctx) {
    const o = single(options, '--icmpv6-type');
    if (!ctx.proto || ctx.proto.number !== 58 || ctx.proto.invert) return '-m icmp6 needs "-p ipv6-icmp" before it';
    if (!o) return '-m icmp6 needs --icmpv6-type';
    const m = /^(\d+)(?:\/(\d+))?$/.exec(o.args[0]!);
    if (!m) return `invalid ICMPv6 type "${o.args[0]}" (use a number)`;
    const code = m[2] === undefined ? undefined : Number(m[2]);
    return { kind: 'icmp6', type: { type: Number(m[1]), codeMin: code ?? 0, codeMax: code ?? 255 }, invert: o.invert };
  },
  save: icmp.save,
};

// ---------------------------------------------------------------- multiport

const multiport: MatchModule = {
  name: 'multiport',
  options: [
    { name: '--sports', aliases: ['--source-ports'], args: 1, invertible: true },
    { name: '--dports', aliases: ['--destination-ports'], args: 1, invertible: true },
    { name: '--ports', args: 1, invertible: true },
  ],
  build(options, ctx) {
    if (options.length !== 1) return '-m multiport takes exactly one of --sports, --dports, --ports';
    const p = ctx.proto;
    if (!p || p.invert || ![6, 17, 132, 33, 136].includes(p.number)) return '-m multiport needs "-p tcp", "-p udp" or "-p sctp"';
    const o = options[0]!;
    const ports: PortRange[] = [];
    let slots = 0;
    for (const part of o.args[0]!.split(',')) {
      const r = parsePortRange(part);
      if (!r) return `invalid port "${part}" in ${o.name}`;
      ports.push(r);
      slots += r.from === r.to ? 1 : 2;
    }
    if (slots > 15) return `too many ports in ${o.name} (at most 15, a range counts as two)`;
    const direction = o.name === '--sports' ? 'src' : o.name === '--dports' ? 'dst' : 'both';
    return { kind: 'multiport', direction, ports, invert: o.invert };
  },
  save(d) {
    if (d.kind !== 'multiport') throw new Error('multiport.save');
    const flag = d.direction === 'src' ? '--sports' : d.direction === 'dst' ? '--dports' : '--ports';
    return `${neg(d.invert)}${flag} ${d.ports.map((r) => formatPortRange(r)).join(',')}`;
  },
};

// ---------------------------------------------------------------- comment, mark, connmark, nfacct

const comment: MatchModule = {
  name: 'comment',
  options: [{ name: '--comment', args: 1 }],
  build(options) {
    const o = single(options, '--comment');
    if (!o || options.length !== 1) return '-m comment needs exactly one --comment';
    if (o.args[0]!.length > 255) return 'comment is longer than 255 characters';
    return { kind: 'comment', comment: o.args[0]! };
  },
  save(d) {
    if (d.kind !== 'comment') throw new Error('comment.save');
    return `--comment ${saveString(d.comment)}`;
  },
};

function markModule(name: 'mark' | 'connmark'): MatchModule {
  return {
    name,
    options: [{ name: '--mark', args: 1, invertible: true }],
    build(options) {
      const o = single(options, '--mark');
      if (!o || options.length !== 1) return `-m ${name} needs exactly one --mark`;
      const mm = parseMarkMask(o.args[0]!);
      if (!mm) return `invalid mark "${o.args[0]}" (use value or value/mask)`;
      return { kind: name, value: mm.value, mask: mm.mask, invert: o.invert };
    },
    save(d) {
      if (d.kind !== name) throw new Error(`${name}.save`);
      const v = d.mask === 0xffffffff ? hex(d.value) : `${hex(d.value)}/${hex(d.mask)}`;
      return `${neg(d.invert)}--mark ${v}`;
    },
  };
}

const nfacct: MatchModule = {
  name: 'nfacct',
  options: [{ name: '--nfacct-name', args: 1 }],
  build(options) {
    const o = single(options, '--nfacct-name');
    if (!o || options.length !== 1) return '-m nfacct needs exactly one --nfacct-name';
    return { kind: 'nfacct', name: o.args[0]! };
  },
  save(d) {
    if (d.kind !== 'nfacct') throw new Error('nfacct.save');
    // libxt_nfacct prints " --nfacct-name " and xtables_save_string adds its own leading space: two spaces.
    return `--nfacct-name  ${saveString(d.name)}`;
  },
};

// ---------------------------------------------------------------- addrtype

function parseAddrTypes(text: string): number | undefined {
  let bits = 0;
  for (const part of text.split(',')) {
    const i = (ADDRTYPE_NAMES as readonly string[]).indexOf(part.toUpperCase());
    if (i < 0) return undefined;
    bits |= 1 << i;
  }
  return bits;
}

function formatAddrTypes(bits: number): string {
  return ADDRTYPE_NAMES.filter((_, i) => bits & (1 << i)).join(',');
}

const addrtype: MatchModule = {
  name: 'addrtype',
  options: [
    { name: '--src-type', args: 1, invertible: true },
    { name: '--dst-type', args: 1, invertible: true },
    { name: '--limit-iface-in', args: 0 },
    { name: '--limit-iface-out', args: 0 },
  ],
  build(options, ctx) {
    const dup = duplicate(options);
    if (dup) return dup;
    let srcType, dstType;
    for (const o of options) {
      if (o.name === '--src-type' || o.name === '--dst-type') {
        const bits = parseAddrTypes(o.args[0]!);
        if (bits === undefined) return `invalid address type "${o.args[0]}" (use ${ADDRTYPE_NAMES.join(', ')})`;
        if (o.name === '--src-type') srcType = inverted(o, bits);
        else dstType = inverted(o, bits);
      }
    }
    const limitIfaceIn = !!single(options, '--limit-iface-in');
    const limitIfaceOut = !!single(options, '--limit-iface-out');
    if (!srcType && !dstType) return '-m addrtype needs --src-type or --dst-type';
    if (limitIfaceIn && limitIfaceOut) return '--limit-iface-in and --limit-iface-out cannot be combined';
    if (limitIfaceIn && !['PREROUTING', 'INPUT', 'FORWARD'].includes(ctx.chain) && isBuiltinName(ctx.chain))
      return '--limit-iface-in is only valid in PREROUTING, INPUT and FORWARD';
    if (limitIfaceOut && !['OUTPUT', 'POSTROUTING', 'FORWARD'].includes(ctx.chain) && isBuiltinName(ctx.chain))
      return '--limit-iface-out is only valid in OUTPUT, POSTROUTING and FORWARD';
    return { kind: 'addrtype', ...(srcType ? { srcType } : {}), ...(dstType ? { dstType } : {}), limitIfaceIn, limitIfaceOut };
  },
  save(d) {
    if (d.kind !== 'addrtype') throw new Error('addrtype.save');
    const out: string[] = [];
    if (d.srcType) out.push(`${neg(d.srcType.invert)}--src-type ${formatAddrTypes(d.srcType.value)}`);
    if (d.dstType) out.push(`${neg(d.dstType.invert)}--dst-type ${formatAddrTypes(d.dstType.value)}`);
    if (d.limitIfaceIn) out.push('--limit-iface-in');
    if (d.limitIfaceOut) out.push('--limit-iface-out');
    return out.join(' ');
  },
};

function isBuiltinName(chain: string): boolean {
  return ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'].includes(chain);
}

// ---------------------------------------------------------------- statistic

const statistic: MatchModule = {
  name: 'statistic',
  options: [
    { name: '--mode', args: 1 },
    { name: '--probability', args: 1, invertible: true },
    { name: '--every', args: 1, invertible: true },
    { name: '--packet', args: 1 },
  ],
  build(options) {
    const dup = duplicate(options);
    if (dup) return dup;
    const mode = single(options, '--mode')?.args[0];
    const invert = options.some((o) => o.invert);
    if (mode === 'random') {
      const p = single(options, '--probability');
      if (!p) return '--mode random needs --probability';
      if (single(options, '--every') || single(options, '--packet')) return '--every and --packet belong to --mode nth';
      const f = parseDecimal(p.args[0]!);
      if (!f || f.num > f.den) return `invalid probability "${p.args[0]}" (a decimal between 0 and 1)`;
      const certainty = f.num === 0n ? 0 : f.num >= f.den ? 1 : undefined;
      return { kind: 'statistic', mode: 'random', probability: f, probabilityValue: Number(f.num) / Number(f.den), certainty, probabilityText: p.args[0]!, invert };
    }
    if (mode === 'nth') {
      const e = single(options, '--every');
      if (!e) return '--mode nth needs --every';
      if (single(options, '--probability')) return '--probability belongs to --mode random';
      const every = parseNumber(e.args[0]!);
      const pk = single(options, '--packet');
      const packet = pk ? parseNumber(pk.args[0]!) : 0;
      if (!every || packet === undefined || packet > every - 1) return 'invalid --every/--packet (need 0 <= packet < every)';
      return { kind: 'statistic', mode: 'nth', every, packet, invert };
    }
    return `invalid or missing --mode "${mode ?? ''}" (random or nth)`;
  },
  save(d) {
    if (d.kind !== 'statistic') throw new Error('statistic.save');
    if (d.mode === 'random') return `--mode random ${neg(d.invert)}--probability ${formatKernelProbability(d.probability)}`;
    return `--mode nth ${neg(d.invert)}--every ${d.every} --packet ${d.packet}`;
  },
};

// ---------------------------------------------------------------- recent

const recent: MatchModule = {
  name: 'recent',
  options: [
    { name: '--set', args: 0, invertible: true },
    { name: '--rcheck', args: 0, invertible: true },
    { name: '--update', args: 0, invertible: true },
    { name: '--remove', args: 0, invertible: true },
    { name: '--seconds', args: 1 },
    { name: '--reap', args: 0 },
    { name: '--hitcount', args: 1 },
    { name: '--rttl', args: 0 },
    { name: '--name', args: 1 },
    { name: '--mask', args: 1 },
    { name: '--rsource', args: 0 },
    { name: '--rdest', args: 0 },
  ],
  build(options, ctx) {
    const dup = duplicate(options);
    if (dup) return dup;
    const commands = options.filter((o) => ['--set', '--rcheck', '--update', '--remove'].includes(o.name));
    if (commands.length !== 1) return '-m recent needs exactly one of --set, --rcheck, --update, --remove';
    const cmd = commands[0]!;
    const command = cmd.name.slice(2) as 'set' | 'rcheck' | 'update' | 'remove';
    const secondsOpt = single(options, '--seconds');
    const seconds = secondsOpt ? parseNumber(secondsOpt.args[0]!) : 0;
    const hitOpt = single(options, '--hitcount');
    const hitcount = hitOpt ? parseNumber(hitOpt.args[0]!) : 0;
    if (seconds === undefined || hitcount === undefined) return 'invalid --seconds or --hitcount';
    const reap = !!single(options, '--reap');
    if (reap && !seconds) return '--reap needs --seconds';
    if ((seconds || hitcount) && (command === 'set' || command === 'remove')) return '--seconds and --hitcount go with --rcheck or --update';
    const maskOpt = single(options, '--mask');
    let mask: AddressSpec | undefined = fullMask(ctx.family);
    if (maskOpt) mask = parseMaskAddress(maskOpt.args[0]!, ctx.family);
    if (!mask) return `invalid --mask "${maskOpt?.args[0]}"`;
    if (single(options, '--rsource') && single(options, '--rdest')) return '--rsource and --rdest cannot be combined';
    const name = single(options, '--name')?.args[0] ?? 'DEFAULT';
    if (name.length === 0 || name.length > 200) return 'invalid --name';
    return {
      kind: 'recent',
      command,
      invert: cmd.invert,
      seconds,
      reap,
      hitcount,
      rttl: !!single(options, '--rttl'),
      name,
      mask,
      side: single(options, '--rdest') ? 'dest' : 'source',
    };
  },
  save(d) {
    if (d.kind !== 'recent') throw new Error('recent.save');
    const out = [`${neg(d.invert)}--${d.command}`];
    if (d.seconds) out.push(`--seconds ${d.seconds}`);
    if (d.reap) out.push('--reap');
    if (d.hitcount) out.push(`--hitcount ${d.hitcount}`);
    if (d.rttl) out.push('--rttl');
    out.push(`--name ${d.name}`, `--mask ${d.mask.text}`, d.side === 'source' ? '--rsource' : '--rdest');
    return out.join(' ');
  },
};

// ---------------------------------------------------------------- conntrack, state

function parseStates(text: string, allowed: readonly CtStateName[]): CtStateName[] | undefined {
  const out = new Set<CtStateName>();
  for (const part of text.split(',')) {
    const up = part.toUpperCase() as CtStateName;
    if (!allowed.includes(up)) return undefined;
    out.add(up);
  }
  return CTSTATE_NAMES.filter((s) => out.has(s));
}

function parseStatuses(text: string): CtStatusName[] | undefined {
  const out = new Set<CtStatusName>();
  for (const part of text.split(',')) {
    const up = part.toUpperCase();
    if (up === 'NONE') continue;
    if (!(CTSTATUS_NAMES as readonly string[]).includes(up)) return undefined;
    out.add(up as CtStatusName);
  }
  return CTSTATUS_NAMES.filter((s) => out.has(s));
}

const CT_ADDR = { '--ctorigsrc': 'origSrc', '--ctorigdst': 'origDst', '--ctreplsrc': 'replSrc', '--ctrepldst': 'replDst' } as const;
const CT_PORT = {
  '--ctorigsrcport': 'origSrcPort',
  '--ctorigdstport': 'origDstPort',
  '--ctreplsrcport': 'replSrcPort',
  '--ctrepldstport': 'replDstPort',
} as const;

const conntrack: MatchModule = {
  name: 'conntrack',
  options: [
    { name: '--ctstate', args: 1, invertible: true },
    { name: '--ctproto', args: 1, invertible: true },
    ...Object.keys(CT_ADDR).map((name) => ({ name, args: 1 as const, invertible: true })),
    ...Object.keys(CT_PORT).map((name) => ({ name, args: 1 as const, invertible: true })),
    { name: '--ctstatus', args: 1, invertible: true },
    { name: '--ctexpire', args: 1, invertible: true },
    { name: '--ctdir', args: 1 },
  ],
  build(options, ctx) {
    const dup = duplicate(options);
    if (dup) return dup;
    const out: Record<string, unknown> = { kind: 'conntrack' };
    for (const o of options) {
      const arg = o.args[0]!;
      if (o.name === '--ctstate') {
        const s = parseStates(arg, CTSTATE_NAMES);
        if (!s) return `invalid --ctstate "${arg}" (use ${CTSTATE_NAMES.join(', ')})`;
        out['state'] = inverted(o, s);
      } else if (o.name === '--ctproto') {
        const p = parseProtocol(arg, false);
        if (!p) return `invalid --ctproto "${arg}"`;
        out['proto'] = inverted(o, p);
      } else if (o.name in CT_ADDR) {
        const a = parseAddressSpec(arg, ctx.family);
        if (!a) return `invalid address "${arg}" for ${o.name}`;
        out[CT_ADDR[o.name as keyof typeof CT_ADDR]] = inverted(o, a);
      } else if (o.name in CT_PORT) {
        const r = parsePortRange(arg);
        if (!r) return `invalid port "${arg}" for ${o.name}`;
        out[CT_PORT[o.name as keyof typeof CT_PORT]] = inverted(o, r);
      } else if (o.name === '--ctstatus') {
        const s = parseStatuses(arg);
        if (!s) return `invalid --ctstatus "${arg}" (use NONE, ${CTSTATUS_NAMES.join(', ')})`;
        out['status'] = inverted(o, s);
      } else if (o.name === '--ctdir') {
        const d = arg.toUpperCase();
        if (d !== 'ORIGINAL' && d !== 'REPLY') return `invalid --ctdir "${arg}" (ORIGINAL or REPLY)`;
        out['direction'] = d;
      } else {
        return `${o.name} is not supported by this simulator (conntrack timeouts are not modelled)`;
      }
    }
    return out as unknown as MatchData;
  },
  save(d) {
    if (d.kind !== 'conntrack') throw new Error('conntrack.save');
    const out: string[] = [];
    if (d.state) out.push(`${neg(d.state.invert)}--ctstate ${d.state.value.join(',')}`);
    if (d.proto) out.push(`${neg(d.proto.invert)}--ctproto ${d.proto.value.number}`);
    for (const [flag, key] of Object.entries(CT_ADDR)) {
      const v = d[key];
      if (v) out.push(`${neg(v.invert)}${flag} ${hostOrNetText(v.value)}`);
    }
    for (const [flag, key] of Object.entries(CT_PORT)) {
      const v = d[key];
      if (v) out.push(`${neg(v.invert)}${flag} ${formatPortRange(v.value)}`);
    }
    if (d.status) out.push(`${neg(d.status.invert)}--ctstatus ${d.status.value.length ? d.status.value.join(',') : 'NONE'}`);
    if (d.direction) out.push(`--ctdir ${d.direction}`);
    return out.join(' ');
  },
};

const state: MatchModule = {
  name: 'state',
  options: [{ name: '--state', args: 1, invertible: true }],
  build(options) {
    const o = single(options, '--state');
    if (!o || options.length !== 1) return '-m state needs exactly one --state';
    const s = parseStates(o.args[0]!, ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED']);
    if (!s) return `invalid --state "${o.args[0]}" (use INVALID, NEW, RELATED, ESTABLISHED, UNTRACKED)`;
    return { kind: 'state', states: s, invert: o.invert };
  },
  save(d) {
    if (d.kind !== 'state') throw new Error('state.save');
    return `${neg(d.invert)}--state ${d.states.join(',')}`;
  },
};

// ---------------------------------------------------------------- set (ipset)

const set: MatchModule = {
  name: 'set',
  options: [
    { name: '--match-set', aliases: ['--set'], args: 2, invertible: true },
    { name: '--return-nomatch', args: 0 },
    { name: '--update-counters', args: 0, invertible: true },
    { name: '--update-subcounters', args: 0, invertible: true },
  ],
  build(options) {
    const dup = duplicate(options);
    if (dup) return dup;
    const m = single(options, '--match-set');
    if (!m) return '-m set needs --match-set NAME FLAGS';
    const directions = m.args[1]!.split(',');
    if (directions.length < 1 || directions.length > 6 || directions.some((d) => d !== 'src' && d !== 'dst'))
      return `invalid set flags "${m.args[1]}" (a comma list of src and dst)`;
    const uc = single(options, '--update-counters');
    const usc = single(options, '--update-subcounters');
    if ((uc && !uc.invert) || (usc && !usc.invert)) return 'only "! --update-counters" and "! --update-subcounters" are meaningful';
    return {
      kind: 'set',
      name: m.args[0]!,
      directions: directions as ('src' | 'dst')[],
      invert: m.invert,
      returnNomatch: !!single(options, '--return-nomatch'),
      updateCounters: !uc,
      updateSubcounters: !usc,
    };
  },
  save(d) {
    if (d.kind !== 'set') throw new Error('set.save');
    const out = [`${neg(d.invert)}--match-set ${d.name} ${d.directions.join(',')}`];
    if (d.returnNomatch) out.push('--return-nomatch');
    if (!d.updateCounters) out.push('! --update-counters');
    if (!d.updateSubcounters) out.push('! --update-subcounters');
    return out.join(' ');
  },
};

// ---------------------------------------------------------------- physdev, iprange

const physdev: MatchModule = {
  name: 'physdev',
  options: [
    { name: '--physdev-in', args: 1, invertible: true },
    { name: '--physdev-out', args: 1, invertible: true },
    { name: '--physdev-is-in', args: 0, invertible: true },
    { name: '--physdev-is-out', args: 0, invertible: true },
    { name: '--physdev-is-bridged', args: 0, invertible: true },
  ],
  build(options) {
    const dup = duplicate(options);
    if (dup) return dup;
    if (options.length === 0) return '-m physdev needs at least one option';
    const out: Record<string, unknown> = { kind: 'physdev' };
    for (const o of options) {
      if (o.name === '--physdev-in' || o.name === '--physdev-out') {
        const name = o.args[0]!;
        const spec = { name: name.endsWith('+') ? name.slice(0, -1) : name, wildcard: name.endsWith('+'), invert: o.invert };
        out[o.name === '--physdev-in' ? 'in' : 'out'] = spec;
      } else if (o.name === '--physdev-is-in') {
        out['isIn'] = true;
        out['isInInvert'] = o.invert;
      } else if (o.name === '--physdev-is-out') {
        out['isOut'] = true;
        out['isOutInvert'] = o.invert;
      } else {
        out['isBridged'] = true;
        out['isBridgedInvert'] = o.invert;
      }
    }
    return out as unknown as MatchData;
  },
  save(d) {
    if (d.kind !== 'physdev') throw new Error('physdev.save');
    const iface = (s: { name: string; wildcard: boolean }) => `${s.name}${s.wildcard ? '+' : ''}`;
    const out: string[] = [];
    if (d.isIn) out.push(`${neg(!!d.isInInvert)}--physdev-is-in`);
    if (d.in) out.push(`${neg(d.in.invert)}--physdev-in ${iface(d.in)}`);
    if (d.isOut) out.push(`${neg(!!d.isOutInvert)}--physdev-is-out`);
    if (d.out) out.push(`${neg(d.out.invert)}--physdev-out ${iface(d.out)}`);
    if (d.isBridged) out.push(`${neg(!!d.isBridgedInvert)}--physdev-is-bridged`);
    return out.join(' ');
  },
};

const iprange: MatchModule = {
  name: 'iprange',
  options: [
    { name: '--src-range', args: 1, invertible: true },
    { name: '--dst-range', args: 1, invertible: true },
  ],
  build(options, ctx) {
    const dup = duplicate(options);
    if (dup) return dup;
    if (options.length === 0) return '-m iprange needs --src-range or --dst-range';
    const out: Record<string, unknown> = { kind: 'iprange' };
    for (const o of options) {
      const [a, b] = o.args[0]!.split('-');
      const from = a !== undefined ? parseAddressSpec(a, ctx.family) : undefined;
      const to = b !== undefined ? parseAddressSpec(b, ctx.family) : from;
      if (!from || !to || from.prefix !== (ctx.family === 4 ? 32 : 128) || to.prefix !== from.prefix)
        return `invalid address range "${o.args[0]}" for ${o.name} (FROM-TO)`;
      const text = `${hostOrNetText(from)}-${hostOrNetText(to)}`;
      out[o.name === '--src-range' ? 'src' : 'dst'] = inverted(o, { from: from.net, to: to.net, text });
    }
    return out as unknown as MatchData;
  },
  save(d) {
    if (d.kind !== 'iprange') throw new Error('iprange.save');
    const out: string[] = [];
    if (d.src) out.push(`${neg(d.src.invert)}--src-range ${d.src.value.text}`);
    if (d.dst) out.push(`${neg(d.dst.invert)}--dst-range ${d.dst.value.text}`);
    return out.join(' ');
  },
};

const IP_PROTOCOLS: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132, icmp: 1, icmpv6: 58 };
const IPVS_METHODS = ['GATE', 'IPIP', 'MASQ'] as const;

function port16(text: string): number | undefined {
  const n = Number(text);
  return /^\d+$/.test(text) && n >= 0 && n <= 65535 ? n : undefined;
}

// libxt_ipvs. Saved in the order of the kernel's option bits (proto, vaddr, vport, vdir, vmethod, vportctl).
const ipvs: MatchModule = {
  name: 'ipvs',
  options: [
    { name: '--ipvs', args: 0, invertible: true },
    { name: '--vproto', args: 1, invertible: true },
    { name: '--vaddr', args: 1, invertible: true },
    { name: '--vport', args: 1, invertible: true },
    { name: '--vdir', args: 1 },
    { name: '--vmethod', args: 1, invertible: true },
    { name: '--vportctl', args: 1, invertible: true },
  ],
  build(options, ctx) {
    const dup = duplicate(options);
    if (dup) return dup;
    const out: { -readonly [K in keyof IpvsMatch]: IpvsMatch[K] } = { kind: 'ipvs', property: { value: true, invert: false } };
    for (const o of options) {
      const a = o.args[0] ?? '';
      switch (o.name) {
        case '--ipvs':
          out.property = { value: true, invert: o.invert };
          break;
        case '--vproto': {
          const n = IP_PROTOCOLS[a.toLowerCase()] ?? (/^\d+$/.test(a) && Number(a) < 256 ? Number(a) : undefined);
          if (n === undefined) return `--vproto: unknown protocol "${a}"`;
          out.vproto = { value: n, invert: o.invert };
          break;
        }
        case '--vaddr': {
          const spec = parseAddressSpec(a, ctx.family);
          if (!spec) return `--vaddr: invalid address "${a}"`;
          out.vaddr = { value: spec, invert: o.invert };
          break;
        }
        case '--vport':
        case '--vportctl': {
          const n = port16(a);
          if (n === undefined) return `${o.name}: invalid port "${a}"`;
          out[o.name === '--vport' ? 'vport' : 'vportctl'] = { value: n, invert: o.invert };
          break;
        }
        case '--vdir':
          if (a !== 'ORIGINAL' && a !== 'REPLY') return `--vdir: "${a}" is not ORIGINAL or REPLY`;
          out.vdir = a;
          break;
        case '--vmethod': {
          const m = IPVS_METHODS.find((x) => x === a.toUpperCase());
          if (!m) return `--vmethod: "${a}" is not GATE, IPIP or MASQ`;
          out.vmethod = { value: m, invert: o.invert };
          break;
        }
      }
    }
    return out;
  },
  save(d) {
    if (d.kind !== 'ipvs') throw new Error('ipvs.save');
    const out: string[] = [];
    const only = !d.vproto && !d.vaddr && !d.vport && !d.vdir && !d.vmethod && !d.vportctl;
    if (only || d.property.invert) out.push(`${neg(d.property.invert)}--ipvs`);
    if (d.vproto) out.push(`${neg(d.vproto.invert)}--vproto ${d.vproto.value}`);
    if (d.vaddr) out.push(`${neg(d.vaddr.invert)}--vaddr ${d.vaddr.value.text}`);
    if (d.vport) out.push(`${neg(d.vport.invert)}--vport ${d.vport.value}`);
    if (d.vdir) out.push(`--vdir ${d.vdir}`);
    if (d.vmethod) out.push(`${neg(d.vmethod.invert)}--vmethod ${d.vmethod.value}`);
    if (d.vportctl) out.push(`${neg(d.vportctl.invert)}--vportctl ${d.vportctl.value}`);
    return out.join(' ');
  },
};

export const MATCH_MODULES: ReadonlyMap<string, MatchModule> = new Map(
  [
    tcp,
    portsOnly('udp'),
    portsOnly('sctp'),
    icmp,
    icmp6,
    multiport,
    comment,
    markModule('mark'),
    markModule('connmark'),
    addrtype,
    statistic,
    recent,
    conntrack,
    state,
    set,
    nfacct,
    physdev,
    iprange,
    ipvs,
  ].map((m) => [m.name, m]),
);

/** The module a protocol loads implicitly for its options (`-p tcp --dport 80`). */
export function implicitModuleFor(protoNumber: number): string | undefined {
  return protoNumber === 6 ? 'tcp' : protoNumber === 17 ? 'udp' : protoNumber === 132 ? 'sctp' : protoNumber === 1 ? 'icmp' : protoNumber === 58 ? 'icmp6' : undefined;
}

export function matchOptionSpec(module: MatchModule, name: string): OptionSpec | undefined {
  return findSpec(module.options, name);
}
