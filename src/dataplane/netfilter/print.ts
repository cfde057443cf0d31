// Two printers. `printExact` reproduces the parsed text byte for byte (options in the order they
// were written, quotes as written). `canonicalRuleText` / `printCanonical` print what iptables-save
// prints after loading the rules: IP header options first (-s -d -i -o -p -f), then the matches in
// load order with each module's options in its own order, then the target; marks in hex,
// probabilities as the kernel stores them, `-m tcp` made explicit.
import type { AddressFamily } from '../../net/packet.js';
import { MATCH_MODULES } from './matches.js';
import { BUILTIN_CHAINS, type Rule, type Ruleset, type TableName } from './model.js';
import type { BuildContext } from './options.js';
import { TARGET_MODULES } from './targets.js';

export function printExact(ruleset: Ruleset): string {
  const out: string[] = [];
  for (const l of ruleset.source) {
    switch (l.kind) {
      case 'text':
      case 'command':
      case 'rule':
        out.push(l.text);
        break;
      case 'chain':
        out.push(`:${l.chain} ${l.policy}${l.counters !== undefined ? ` [${l.counters}]` : ''}`);
        break;
    }
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

const neg = (invert: boolean) => (invert ? '! ' : '');

/** The rule's options (everything after `-A CHAIN`) as iptables-save prints them. */
export function canonicalRuleSpec(rule: Rule, family: AddressFamily): string {
  const parts: string[] = [];
  const ip = rule.ip;
  if (ip.src) parts.push(`${neg(ip.src.invert)}-s ${ip.src.text}`);
  if (ip.dst) parts.push(`${neg(ip.dst.invert)}-d ${ip.dst.text}`);
  if (ip.in) parts.push(`${neg(ip.in.invert)}-i ${ip.in.name}${ip.in.wildcard ? '+' : ''}`);
  if (ip.out) parts.push(`${neg(ip.out.invert)}-o ${ip.out.name}${ip.out.wildcard ? '+' : ''}`);
  if (ip.proto) parts.push(`${neg(ip.proto.invert)}-p ${ip.proto.name}`);
  if (ip.fragment) parts.push(`${neg(ip.fragment.invert)}-f`);
  const ctx: BuildContext = { family, table: rule.table, chain: rule.chain, ...(ip.proto ? { proto: ip.proto } : {}) };
  for (const m of rule.matches) {
    const module = MATCH_MODULES.get(m.module)!;
    const opts = module.save(m.data, ctx);
    parts.push(opts ? `-m ${m.module} ${opts}` : `-m ${m.module}`);
  }
  const t = rule.target;
  if (t) {
    if (t.data.kind === 'jump' || t.data.kind === 'goto') parts.push(`${t.flag} ${t.data.chain}`);
    else {
      const opts = TARGET_MODULES.get(t.name)!.save(t.data, ctx);
      parts.push(opts ? `-j ${t.name} ${opts}` : `-j ${t.name}`);
    }
  }
  return parts.join(' ');
}

const textCache = new WeakMap<Rule, string>();

/** `-A CHAIN ...` exactly as iptables-save would print this rule (the form traces name rules by). */
export function canonicalRuleText(rule: Rule, family: AddressFamily): string {
  let s = textCache.get(rule);
  if (s === undefined) {
    const spec = canonicalRuleSpec(rule, family);
    s = spec ? `-A ${rule.chain} ${spec}` : `-A ${rule.chain}`;
    textCache.set(rule, s);
  }
  return s;
}

export interface CanonicalPrintOptions {
  /** Print `[packets:bytes]` before rules that carry counters (iptables-save -c). */
  readonly counters?: boolean;
  /** Table order; by default the ruleset's. */
  readonly tables?: readonly TableName[];
}

/**
 * The ruleset as iptables-save prints it (without the dated header and footer comments): built-in
 * chains in hook order, user chains sorted by name, rules grouped by chain in that order.
 */
export function printCanonical(ruleset: Ruleset, options: CanonicalPrintOptions = {}): string {
  const out: string[] = [];
  const names = options.tables ?? [...ruleset.tables.keys()];
  for (const name of names) {
    const table = ruleset.tables.get(name);
    if (!table) continue;
    out.push(`*${name}`);
    const builtins = BUILTIN_CHAINS[name].filter((c) => table.chains.has(c)).map((c) => table.chains.get(c)!);
    const users = [...table.chains.values()].filter((c) => !c.builtin).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const chains = [...builtins, ...users];
    for (const c of chains) out.push(`:${c.name} ${c.builtin ? c.policy : '-'} [${c.counters}]`);
    for (const c of chains) {
      for (const r of c.rules) {
        const text = canonicalRuleText(r, ruleset.family);
        out.push(options.counters && r.counters !== undefined ? `[${r.counters}] ${text}` : text);
      }
    }
    out.push('COMMIT');
  }
  return out.length ? `${out.join('\n')}\n` : '';
}
