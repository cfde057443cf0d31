// Target extensions (`-j NAME` where NAME is not a chain): options, structured data and how
// iptables-save prints them. An unknown target name is an error for the parser unless it names a
// chain of the table.
import { formatIp, parseIp, parseIPv4 } from '../../net/ip.js';
import type { NatRange, TableName, TargetData } from './model.js';
import { findSpec, hex, parseMarkMask, parseNumber, type BuildContext, type Built, type OptionSpec, type ParsedOption } from './options.js';
import { saveString } from './tokens.js';

export interface TargetModule {
  readonly name: string;
  readonly options: readonly OptionSpec[];
  /** Tables the target is valid in (undefined: all). */
  readonly tables?: readonly TableName[];
  build(options: readonly ParsedOption[], ctx: BuildContext): Built<TargetData>;
  save(data: TargetData, ctx: BuildContext): string;
}

function single(options: readonly ParsedOption[], name: string): ParsedOption | undefined {
  for (const o of options) if (o.name === name) return o;
  return undefined;
}

function noOptions(name: 'ACCEPT' | 'DROP' | 'RETURN' | 'QUEUE' | 'TRACE' | 'NOTRACK', tables?: TableName[]): TargetModule {
  return {
    name,
    options: [],
    ...(tables ? { tables } : {}),
    build: () => ({ kind: name }),
    save: () => '',
  };
}

// ---------------------------------------------------------------- REJECT

const REJECT_V4: Readonly<Record<string, string>> = {
  'icmp-net-unreachable': 'icmp-net-unreachable',
  'net-unreach': 'icmp-net-unreachable',
  'icmp-host-unreachable': 'icmp-host-unreachable',
  'host-unreach': 'icmp-host-unreachable',
  'icmp-proto-unreachable': 'icmp-proto-unreachable',
  'proto-unreach': 'icmp-proto-unreachable',
  'icmp-port-unreachable': 'icmp-port-unreachable',
  'port-unreach': 'icmp-port-unreachable',
  'icmp-net-prohibited': 'icmp-net-prohibited',
  'net-prohib': 'icmp-net-prohibited',
  'icmp-host-prohibited': 'icmp-host-prohibited',
  'host-prohib': 'icmp-host-prohibited',
  'tcp-reset': 'tcp-reset',
  'tcp-rst': 'tcp-reset',
  'icmp-admin-prohibited': 'icmp-admin-prohibited',
  'admin-prohib': 'icmp-admin-prohibited',
};

const REJECT_V6: Readonly<Record<string, string>> = {
  'icmp6-no-route': 'icmp6-no-route',
  'no-route': 'icmp6-no-route',
  'icmp6-adm-prohibited': 'icmp6-adm-prohibited',
  'adm-prohibited': 'icmp6-adm-prohibited',
  'icmp6-addr-unreachable': 'icmp6-addr-unreachable',
  'addr-unreach': 'icmp6-addr-unreachable',
  'icmp6-port-unreachable': 'icmp6-port-unreachable',
  'port-unreach': 'icmp6-port-unreachable',
  'icmp6-policy-fail': 'icmp6-policy-fail',
  'policy-fail': 'icmp6-policy-fail',
  'icmp6-reject-route': 'icmp6-reject-route',
  'reject-route': 'icmp6-reject-route',
  'tcp-reset': 'tcp-reset',
};

const reject: TargetModule = {
  name: 'REJECT',
  options: [{ name: '--reject-with', args: 1 }],
  tables: ['filter', 'mangle', 'raw', 'security'],
  build(options, ctx) {
    const table = ctx.family === 4 ? REJECT_V4 : REJECT_V6;
    const o = single(options, '--reject-with');
    const w = o ? table[o.args[0]!] : ctx.family === 4 ? 'icmp-port-unreachable' : 'icmp6-port-unreachable';
    if (!w) return `invalid --reject-with "${o!.args[0]}" (one of ${[...new Set(Object.values(table))].join(', ')})`;
    if (w === 'tcp-reset' && (!ctx.proto || ctx.proto.number !== 6 || ctx.proto.invert)) return '--reject-with tcp-reset needs "-p tcp"';
    if (ctx.table === 'mangle' || ctx.table === 'raw') {
      // Allowed by the kernel only in INPUT/FORWARD/OUTPUT hooks; the evaluator handles it like filter.
    }
    return { kind: 'REJECT', with: w };
  },
  save(d) {
    if (d.kind !== 'REJECT') throw new Error('REJECT.save');
    return `--reject-with ${d.with}`;
  },
};

// ---------------------------------------------------------------- NAT

/** `ip[-ip][:port[-port]]`, `[v6]:port`, `:port` (ports only). */
export function parseNatRange(text: string, family: 4 | 6, portsOnly = false): NatRange | undefined {
  const range: { minAddr?: string; maxAddr?: string; minAddrN?: number | bigint; minPort?: number; maxPort?: number } = {};
  let addrPart = text;
  let portPart: string | undefined;
  if (portsOnly) {
    addrPart = '';
    portPart = text;
  } else if (family === 6 && text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return undefined;
    addrPart = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest) {
      if (!rest.startsWith(':')) return undefined;
      portPart = rest.slice(1);
    }
  } else if (family === 4) {
    const colon = text.indexOf(':');
    if (colon >= 0) {
      addrPart = text.slice(0, colon);
      portPart = text.slice(colon + 1);
    }
  }
  if (addrPart) {
    const [a, b] = addrPart.split('-');
    const norm = (s: string | undefined) => {
      if (s === undefined) return undefined;
      if (family === 4) return parseIPv4(s) === undefined ? undefined : s;
      const ip = parseIp(s);
      return ip && ip.family === 'IPv6' ? formatIp(ip) : undefined;
    };
    const min = norm(a);
    const max = b === undefined ? min : norm(b);
    if (!min || !max) return undefined;
    range.minAddr = min;
    range.maxAddr = max;
    range.minAddrN = family === 4 ? parseIPv4(min)! : parseIp(min)!.value;
  }
  if (portPart !== undefined) {
    const m = /^(\d+)(?:[-:](\d+))?$/.exec(portPart);
    if (!m) return undefined;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : Number(m[2]);
    if (min > 65535 || max > 65535 || min > max || min === 0) return undefined;
    range.minPort = min;
    range.maxPort = max;
  }
  if (range.minAddr === undefined && range.minPort === undefined) return undefined;
  return range;
}

export function formatNatRange(r: NatRange, family: 4 | 6, portsOnly = false): string {
  const port = r.minPort === undefined ? '' : r.minPort === r.maxPort ? `${r.minPort}` : `${r.minPort}-${r.maxPort}`;
  if (portsOnly) return port;
  let addr = '';
  if (r.minAddr !== undefined) addr = r.minAddr === r.maxAddr ? r.minAddr : `${r.minAddr}-${r.maxAddr}`;
  if (family === 6 && port) return `[${addr}]:${port}`;
  return port ? `${addr}:${port}` : addr;
}

function needsPortProto(ctx: BuildContext): boolean {
  const p = ctx.proto;
  return !!p && !p.invert && [6, 17, 132, 33, 136].includes(p.number);
}

function natModule(name: 'DNAT' | 'SNAT'): TargetModule {
  const flag = name === 'DNAT' ? '--to-destination' : '--to-source';
  return {
    name,
    options: [
      { name: flag, args: 1 },
      { name: '--random', args: 0 },
      { name: '--random-fully', args: 0 },
      { name: '--persistent', args: 0 },
    ],
    tables: ['nat'],
    build(options, ctx) {
      const tos = options.filter((o) => o.name === flag);
      if (tos.length !== 1) return `${name} needs exactly one ${flag}`;
      const range = parseNatRange(tos[0]!.args[0]!, ctx.family);
      if (!range) return `invalid ${flag} "${tos[0]!.args[0]}" (address[-address][:port[-port]])`;
      if (range.minPort !== undefined && !needsPortProto(ctx)) return 'Need TCP, UDP, SCTP or DCCP with port specification';
      if (name === 'DNAT' && !['PREROUTING', 'OUTPUT'].includes(ctx.chain) && isBuiltin(ctx.chain))
        return 'DNAT is only valid in PREROUTING and OUTPUT (or chains called from them)';
      if (name === 'SNAT' && !['POSTROUTING', 'INPUT'].includes(ctx.chain) && isBuiltin(ctx.chain))
        return 'SNAT is only valid in POSTROUTING and INPUT (or chains called from them)';
      return {
        kind: name,
        range,
        random: !!single(options, '--random'),
        randomFully: !!single(options, '--random-fully'),
        persistent: !!single(options, '--persistent'),
      };
    },
    save(d, ctx) {
      if (d.kind !== name) throw new Error(`${name}.save`);
      const out = [`${flag} ${formatNatRange(d.range, ctx.family)}`];
      if (d.random) out.push('--random');
      if (d.randomFully) out.push('--random-fully');
      if (d.persistent) out.push('--persistent');
      return out.join(' ');
    },
  };
}

function isBuiltin(chain: string): boolean {
  return ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'].includes(chain);
}

function portsTarget(name: 'MASQUERADE' | 'REDIRECT'): TargetModule {
  return {
    name,
    options: [
      { name: '--to-ports', args: 1 },
      { name: '--random', args: 0 },
      ...(name === 'MASQUERADE' ? [{ name: '--random-fully', args: 0 as const }] : []),
    ],
    tables: ['nat'],
    build(options, ctx) {
      const to = single(options, '--to-ports');
      let range: NatRange = {};
      if (to) {
        const r = parseNatRange(to.args[0]!, ctx.family, true);
        if (!r) return `invalid --to-ports "${to.args[0]}" (port[-port])`;
        if (!needsPortProto(ctx)) return 'Need TCP, UDP, SCTP or DCCP with port specification';
        range = r;
      }
      if (name === 'MASQUERADE' && isBuiltin(ctx.chain) && ctx.chain !== 'POSTROUTING') return 'MASQUERADE is only valid in POSTROUTING';
      if (name === 'REDIRECT' && isBuiltin(ctx.chain) && !['PREROUTING', 'OUTPUT'].includes(ctx.chain)) return 'REDIRECT is only valid in PREROUTING and OUTPUT';
      return { kind: name, range, random: !!single(options, '--random'), randomFully: !!single(options, '--random-fully') };
    },
    save(d, ctx) {
      if (d.kind !== name) throw new Error(`${name}.save`);
      const out: string[] = [];
      if (d.range.minPort !== undefined) out.push(`--to-ports ${formatNatRange(d.range, ctx.family, true)}`);
      if (d.random) out.push('--random');
      if (d.randomFully) out.push('--random-fully');
      return out.join(' ');
    },
  };
}

// ---------------------------------------------------------------- MARK, CONNMARK

const MARK_OPS = ['--set-xmark', '--set-mark', '--and-mark', '--or-mark', '--xor-mark'];

/** The (value, mask) pair of `--set-xmark`, from any of MARK's spellings. */
function xmark(o: ParsedOption): { value: number; mask: number } | undefined {
  const arg = o.args[0]!;
  switch (o.name) {
    case '--set-xmark':
      return parseMarkMask(arg);
    case '--set-mark': {
      const mm = parseMarkMask(arg);
      return mm && { value: mm.value, mask: (mm.mask | mm.value) >>> 0 };
    }
    case '--and-mark': {
      const v = parseNumber(arg);
      return v === undefined ? undefined : { value: 0, mask: ~v >>> 0 };
    }
    case '--or-mark': {
      const v = parseNumber(arg);
      return v === undefined ? undefined : { value: v, mask: v };
    }
    case '--xor-mark': {
      const v = parseNumber(arg);
      return v === undefined ? undefined : { value: v, mask: 0 };
    }
    default:
      return undefined;
  }
}

const mark: TargetModule = {
  name: 'MARK',
  options: MARK_OPS.map((name) => ({ name, args: 1 as const })),
  build(options) {
    if (options.length !== 1) return 'MARK needs exactly one of --set-xmark, --set-mark, --and-mark, --or-mark, --xor-mark';
    const x = xmark(options[0]!);
    if (!x) return `invalid mark "${options[0]!.args[0]}" for ${options[0]!.name}`;
    return { kind: 'MARK', value: x.value >>> 0, mask: x.mask >>> 0 };
  },
  save(d) {
    if (d.kind !== 'MARK') throw new Error('MARK.save');
    return `--set-xmark ${hex(d.value)}/${hex(d.mask)}`;
  },
};

const connmark: TargetModule = {
  name: 'CONNMARK',
  options: [
    ...MARK_OPS.map((name) => ({ name, args: 1 as const })),
    { name: '--save-mark', args: 0 },
    { name: '--restore-mark', args: 0 },
    { name: '--mask', args: 1 },
    { name: '--nfmask', args: 1 },
    { name: '--ctmask', args: 1 },
  ],
  build(options) {
    const modes = options.filter((o) => MARK_OPS.includes(o.name) || o.name === '--save-mark' || o.name === '--restore-mark');
    if (modes.length !== 1) return 'CONNMARK needs exactly one of --set-xmark, --set-mark, --save-mark, --restore-mark, --and-mark, --or-mark, --xor-mark';
    const m = modes[0]!;
    if (m.name === '--save-mark' || m.name === '--restore-mark') {
      const maskOpt = single(options, '--mask');
      const all = maskOpt ? parseNumber(maskOpt.args[0]!) : 0xffffffff;
      const nf = single(options, '--nfmask');
      const ct = single(options, '--ctmask');
      const nfmask = nf ? parseNumber(nf.args[0]!) : all;
      const ctmask = ct ? parseNumber(ct.args[0]!) : all;
      if (nfmask === undefined || ctmask === undefined) return 'invalid CONNMARK mask';
      return { kind: 'CONNMARK', mode: m.name === '--save-mark' ? 'save' : 'restore', nfmask, ctmask };
    }
    if (options.length !== 1) return `${m.name} takes no mask options`;
    const x = xmark(m);
    if (!x) return `invalid mark "${m.args[0]}" for ${m.name}`;
    return { kind: 'CONNMARK', mode: 'set', value: x.value >>> 0, mask: x.mask >>> 0 };
  },
  save(d) {
    if (d.kind !== 'CONNMARK') throw new Error('CONNMARK.save');
    if (d.mode === 'set') return `--set-xmark ${hex(d.value)}/${hex(d.mask)}`;
    return `--${d.mode}-mark --nfmask ${hex(d.nfmask)} --ctmask ${hex(d.ctmask)}`;
  },
};

// ---------------------------------------------------------------- LOG, NFLOG

const LOG_LEVELS: Readonly<Record<string, number>> = {
  emerg: 0,
  panic: 0,
  alert: 1,
  crit: 2,
  error: 3,
  err: 3,
  warning: 4,
  warn: 4,
  notice: 5,
  info: 6,
  debug: 7,
};
const LOG_FLAGS = ['--log-tcp-sequence', '--log-tcp-options', '--log-ip-options', '--log-uid', '--log-macdecode'];

const log: TargetModule = {
  name: 'LOG',
  options: [{ name: '--log-prefix', args: 1 }, { name: '--log-level', args: 1 }, ...LOG_FLAGS.map((name) => ({ name, args: 0 as const }))],
  build(options) {
    const prefix = single(options, '--log-prefix')?.args[0] ?? '';
    if (prefix.length > 29) return 'LOG prefix is longer than 29 characters';
    const levelText = single(options, '--log-level')?.args[0];
    const level = levelText === undefined ? 4 : (LOG_LEVELS[levelText.toLowerCase()] ?? parseNumber(levelText, 7));
    if (level === undefined) return `invalid --log-level "${levelText}"`;
    return { kind: 'LOG', prefix, level, flags: LOG_FLAGS.filter((f) => single(options, f)) };
  },
  save(d) {
    if (d.kind !== 'LOG') throw new Error('LOG.save');
    const out: string[] = [];
    if (d.prefix) out.push(`--log-prefix ${saveString(d.prefix)}`);
    if (d.level !== 4) out.push(`--log-level ${d.level}`);
    out.push(...d.flags);
    return out.join(' ');
  },
};

const nflog: TargetModule = {
  name: 'NFLOG',
  options: [
    { name: '--nflog-group', args: 1 },
    { name: '--nflog-prefix', args: 1 },
    { name: '--nflog-size', aliases: ['--nflog-range'], args: 1 },
    { name: '--nflog-threshold', args: 1 },
  ],
  build(options) {
    const num = (name: string, dflt: number | undefined) => {
      const o = single(options, name);
      return o ? parseNumber(o.args[0]!, 0xffffffff) : dflt;
    };
    const group = num('--nflog-group', 0);
    const size = num('--nflog-size', undefined);
    const threshold = num('--nflog-threshold', 1);
    if (group === undefined || threshold === undefined || (single(options, '--nflog-size') && size === undefined)) return 'invalid NFLOG option value';
    const prefix = single(options, '--nflog-prefix')?.args[0] ?? '';
    return { kind: 'NFLOG', prefix, group, threshold, ...(size !== undefined ? { size } : {}) };
  },
  save(d) {
    if (d.kind !== 'NFLOG') throw new Error('NFLOG.save');
    const out: string[] = [];
    if (d.prefix) out.push(`--nflog-prefix ${saveString(d.prefix)}`);
    if (d.group) out.push(`--nflog-group ${d.group}`);
    if (d.size !== undefined) out.push(`--nflog-size ${d.size}`);
    if (d.threshold !== 1) out.push(`--nflog-threshold ${d.threshold}`);
    return out.join(' ');
  },
};

// ---------------------------------------------------------------- CT, TCPMSS

const ct: TargetModule = {
  name: 'CT',
  options: [
    { name: '--notrack', args: 0 },
    { name: '--zone', args: 1 },
  ],
  tables: ['raw'],
  build(options) {
    const notrack = !!single(options, '--notrack');
    const zoneOpt = single(options, '--zone');
    const zone = zoneOpt ? parseNumber(zoneOpt.args[0]!, 65535) : undefined;
    if (zoneOpt && zone === undefined) return `invalid --zone "${zoneOpt.args[0]}"`;
    if (notrack && zoneOpt) return '--notrack cannot be combined with other CT options';
    return { kind: 'CT', notrack, ...(zone !== undefined ? { zone } : {}) };
  },
  save(d) {
    if (d.kind !== 'CT') throw new Error('CT.save');
    return d.notrack ? '--notrack' : d.zone !== undefined ? `--zone ${d.zone}` : '';
  },
};

const tcpmss: TargetModule = {
  name: 'TCPMSS',
  options: [
    { name: '--clamp-mss-to-pmtu', args: 0 },
    { name: '--set-mss', args: 1 },
  ],
  build(options, ctx) {
    if (options.length !== 1) return 'TCPMSS needs exactly one of --clamp-mss-to-pmtu, --set-mss';
    if (!ctx.proto || ctx.proto.number !== 6) return 'TCPMSS needs "-p tcp"';
    const o = options[0]!;
    if (o.name === '--clamp-mss-to-pmtu') return { kind: 'TCPMSS', clampToPmtu: true };
    const mss = parseNumber(o.args[0]!, 65535);
    return mss === undefined ? `invalid --set-mss "${o.args[0]}"` : { kind: 'TCPMSS', clampToPmtu: false, mss };
  },
  save(d) {
    if (d.kind !== 'TCPMSS') throw new Error('TCPMSS.save');
    return d.clampToPmtu ? '--clamp-mss-to-pmtu' : `--set-mss ${d.mss}`;
  },
};

export const TARGET_MODULES: ReadonlyMap<string, TargetModule> = new Map(
  [
    noOptions('ACCEPT'),
    noOptions('DROP'),
    noOptions('RETURN'),
    noOptions('QUEUE'),
    noOptions('TRACE', ['raw']),
    noOptions('NOTRACK', ['raw']),
    reject,
    natModule('DNAT'),
    natModule('SNAT'),
    portsTarget('MASQUERADE'),
    portsTarget('REDIRECT'),
    mark,
    connmark,
    log,
    nflog,
    ct,
    tcpmss,
  ].map((t) => [t.name, t]),
);

export function targetOptionSpec(module: TargetModule, name: string): OptionSpec | undefined {
  return findSpec(module.options, name);
}
