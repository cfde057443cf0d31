// Shared helpers for the netfilter tests: fixtures, table sections of a dump, packets, a node.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { makePacket, type PacketInit } from '../../../src/net/packet.js';
import { mustParseIptablesSave, Netfilter, type NetfilterOptions, type NodeNetwork, type Ruleset } from '../../../src/dataplane/netfilter/index.js';

export function fixture(name: string): string {
  return readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), 'utf8');
}

/** `*table` ... `COMMIT` of each table in a dump, comments dropped, keyed by table name. */
export function tableSections(dump: string): Map<string, string> {
  const out = new Map<string, string>();
  let name: string | undefined;
  let lines: string[] = [];
  for (const line of dump.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    if (line.startsWith('*')) {
      name = line.slice(1);
      lines = [line];
    } else if (line === 'COMMIT' && name) {
      lines.push(line);
      out.set(name, `${lines.join('\n')}\n`);
      name = undefined;
    } else if (name) lines.push(line);
  }
  return out;
}

/** The node of upstream kube-proxy's test fixtures: eth0 with 192.168.0.2, pods in 10.0.0.0/8. */
export const TEST_NODE: NodeNetwork = {
  interfaces: [
    { name: 'lo', addresses: ['127.0.0.1/8', '::1/128'] },
    { name: 'eth0', addresses: ['192.168.0.2/24', '192.168.1.2/24', '192.168.99.11/24'] },
    { name: 'cni0', addresses: ['10.180.0.254/16'] },
  ],
  defaultInterface: 'eth0',
};

export function netfilterFor(text: string, options: Partial<NetfilterOptions> = {}): Netfilter {
  return new Netfilter(mustParseIptablesSave(text), { node: TEST_NODE, ...options });
}

export function netfilterOf(ruleset: Ruleset, options: Partial<NetfilterOptions> = {}): Netfilter {
  return new Netfilter(ruleset, { node: TEST_NODE, ...options });
}

const BUILTINS: Record<string, string[]> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/**
 * A restore text from rules grouped by table: `{ nat: ['-A PREROUTING ...'] }`. Built-in chains are
 * declared (ACCEPT, or `policies`), and user chains named by `-A X` are declared too.
 */
export function rulesText(tables: Record<string, readonly string[]>, policies: Record<string, string> = {}): string {
  const out: string[] = [];
  for (const [table, rules] of Object.entries(tables)) {
    out.push(`*${table}`);
    for (const c of BUILTINS[table]!) out.push(`:${c} ${policies[`${table}/${c}`] ?? 'ACCEPT'} [0:0]`);
    const users = new Set<string>();
    for (const r of rules) {
      const m = /^-A (\S+)/.exec(r);
      if (m && !BUILTINS[table]!.includes(m[1]!)) users.add(m[1]!);
    }
    for (const u of users) out.push(`:${u} - [0:0]`);
    out.push(...rules, 'COMMIT');
  }
  return `${out.join('\n')}\n`;
}

export function tcp(src: string, dst: string, dport: number, extra: Partial<PacketInit> = {}) {
  return makePacket({ src, dst, proto: 'tcp', sport: 40000, dport, ...extra });
}

export function udp(src: string, dst: string, dport: number, extra: Partial<PacketInit> = {}) {
  return makePacket({ src, dst, proto: 'udp', sport: 40000, dport, ...extra });
}
