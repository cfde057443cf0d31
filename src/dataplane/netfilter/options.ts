// Shared pieces of extension parsing: option specs, collected options, and value parsers for
// ports, marks and protocols, with the spellings iptables accepts.
import type { AddressFamily } from '../../net/packet.js';
import type { PortRange, ProtocolSpec, TableName } from './model.js';

export interface OptionSpec {
  /** Long name with dashes, e.g. `--dport`. */
  readonly name: string;
  readonly aliases?: readonly string[];
  readonly args: 0 | 1 | 2;
  readonly invertible?: boolean;
}

/** An option as found in a rule, under its canonical name. */
export interface ParsedOption {
  readonly name: string;
  readonly args: readonly string[];
  readonly invert: boolean;
}

export interface BuildContext {
  readonly family: AddressFamily;
  readonly table: TableName;
  readonly chain: string;
  /** The rule's `-p`, if any. */
  readonly proto?: ProtocolSpec | undefined;
}

/** Result of building an extension's data from its options: the data, or a message for the user. */
export type Built<T> = T | string;

export function findSpec(specs: readonly OptionSpec[], name: string): OptionSpec | undefined {
  for (const s of specs) if (s.name === name || (s.aliases !== undefined && s.aliases.includes(name))) return s;
  return undefined;
}

export function parseNumber(text: string, max = 0xffffffff): number | undefined {
  let n: number;
  if (/^0x[0-9a-f]+$/i.test(text)) n = parseInt(text.slice(2), 16);
  else if (/^0[0-7]+$/.test(text)) n = parseInt(text.slice(1), 8);
  else if (/^\d+$/.test(text)) n = Number(text);
  else return undefined;
  return n <= max ? n : undefined;
}

/** `value[/mask]` as the mark modules take it; mask defaults to all ones. */
export function parseMarkMask(text: string): { value: number; mask: number } | undefined {
  const slash = text.indexOf('/');
  const value = parseNumber(slash < 0 ? text : text.slice(0, slash));
  const mask = slash < 0 ? 0xffffffff : parseNumber(text.slice(slash + 1));
  return value === undefined || mask === undefined ? undefined : { value, mask };
}

export function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/** `80`, `80:90`, `:90`, `80:` (numbers only; service names are refused). */
export function parsePortRange(text: string): PortRange | undefined {
  const colon = text.indexOf(':');
  const port = (s: string, dflt: number) => (s === '' ? dflt : /^\d+$/.test(s) && Number(s) <= 65535 ? Number(s) : undefined);
  if (colon < 0) {
    const p = port(text, -1);
    return p === undefined || p < 0 ? undefined : { from: p, to: p };
  }
  const from = port(text.slice(0, colon), 0);
  const to = port(text.slice(colon + 1), 65535);
  if (from === undefined || to === undefined || from > to) return undefined;
  return { from, to };
}

export function formatPortRange(r: PortRange, sep = ':'): string {
  return r.from === r.to ? `${r.from}` : `${r.from}${sep}${r.to}`;
}

export function inPortRange(r: PortRange, port: number): boolean {
  return port >= r.from && port <= r.to;
}

const PROTOCOLS: Readonly<Record<string, number>> = {
  all: 0,
  icmp: 1,
  igmp: 2,
  tcp: 6,
  udp: 17,
  gre: 47,
  esp: 50,
  ah: 51,
  'ipv6-icmp': 58,
  icmpv6: 58,
  sctp: 132,
  udplite: 136,
  'ipv6-mh': 135,
  mh: 135,
};

const PROTOCOL_NAMES: Readonly<Record<number, string>> = {
  1: 'icmp',
  2: 'igmp',
  6: 'tcp',
  17: 'udp',
  47: 'gre',
  50: 'esp',
  51: 'ah',
  58: 'ipv6-icmp',
  132: 'sctp',
  135: 'mh',
  136: 'udplite',
};

export function parseProtocol(text: string, invert: boolean): ProtocolSpec | undefined {
  const lower = text.toLowerCase();
  const number = lower in PROTOCOLS ? PROTOCOLS[lower]! : parseNumber(text, 255);
  if (number === undefined) return undefined;
  return { number, name: PROTOCOL_NAMES[number] ?? `${number}`, invert };
}
