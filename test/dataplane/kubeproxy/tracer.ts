// A deliberately small packet walker over a rendered dump, modelled on upstream's test tracer
// (proxier_test.go tracePacket): it starts at nat KUBE-SERVICES, follows jumps, treats every
// probabilistic jump as taken-and-not-taken (so all endpoints show up), ignores rules that check
// affinity, marks or conntrack state, then applies the filter chains to the post-DNAT destination.
// It exists to check rule semantics in tests; the real evaluator lives in src/dataplane/netfilter.
import { cidrContains, parseCIDR, parseIP } from '../../../src/dataplane/kubeproxy/index.js';

interface Rule {
  chain: string;
  tokens: string[];
}

function tokenize(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) out.push(m[1] ?? m[2]!);
  return out;
}

function parse(text: string): Map<string, Map<string, Rule[]>> {
  const tables = new Map<string, Map<string, Rule[]>>();
  let cur: Map<string, Rule[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) tables.set(line.slice(1), (cur = new Map()));
    else if (line.startsWith('-A ')) {
      const tokens = tokenize(line);
      const chain = tokens[1]!;
      let list = cur!.get(chain);
      if (!list) cur!.set(chain, (list = []));
      list.push({ chain, tokens: tokens.slice(2) });
    }
  }
  return tables;
}

export interface Packet {
  source: string;
  dest: string;
  port: number;
  protocol?: string;
}

export interface TraceResult {
  /** Comma-separated endpoints, or ACCEPT/DROP/REJECT, or '' when nothing matched. */
  output: string;
  masq: boolean;
}

function addrMatches(spec: string, ip: string): boolean {
  const c = parseCIDR(spec.includes('/') ? spec : spec.includes(':') ? `${spec}/128` : `${spec}/32`);
  return c !== undefined && cidrContains(c, parseIP(ip));
}

export function tracePacket(text: string, localIPs: readonly string[], pkt: Packet): TraceResult {
  const tables = parse(text);
  const nat = tables.get('nat') ?? new Map<string, Rule[]>();
  const filter = tables.get('filter') ?? new Map<string, Rule[]>();
  const proto = pkt.protocol ?? 'tcp';
  const locals = new Set([...localIPs, '127.0.0.1', '::1']);
  const isLocal = (ip: string) => locals.has(ip) || ip.startsWith('127.');

  const matches = (tokens: string[], dest: string): { target: string | undefined; stat: boolean; ok: boolean } => {
    let neg = false;
    let stat = false;
    let target: string | undefined;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      const next = tokens[i + 1];
      if (t === '!') {
        neg = true;
        continue;
      }
      let ok = true;
      switch (t) {
        case '-s':
          ok = addrMatches(next!, pkt.source) !== neg;
          i++;
          break;
        case '-d':
          ok = addrMatches(next!, dest) !== neg;
          i++;
          break;
        case '-p':
          ok = (next === proto) !== neg;
          i++;
          break;
        case '--dport':
          ok = (Number(next) === pkt.port) !== neg;
          i++;
          break;
        case '--src-type':
          ok = (next === 'LOCAL' ? isLocal(pkt.source) : false) !== neg;
          i++;
          break;
        case '--dst-type':
          ok = (next === 'LOCAL' ? isLocal(dest) : false) !== neg;
          i++;
          break;
        case '--comment':
        case '--name':
        case '--nfacct-name':
        case '--mode':
        case '--to-destination':
          i++;
          break;
        case '--probability':
          stat = true;
          i++;
          break;
        case '-m':
          if (next === 'recent' || next === 'mark' || next === 'conntrack') return { target, stat, ok: false };
          i++;
          break;
        case '-i':
          ok = false; // no interfaces in this model
          i++;
          break;
        case '-j':
          target = next;
          i++;
          break;
      }
      neg = false;
      if (!ok) return { target, stat, ok: false };
    }
    return { target, stat, ok: true };
  };

  let masq = false;
  const dnat: string[] = [];
  const walk = (chain: string, depth: number): boolean => {
    if (depth > 20) throw new Error(`jump loop at ${chain}`);
    for (const rule of nat.get(chain) ?? []) {
      const m = matches(rule.tokens, pkt.dest);
      if (!m.ok || m.target === undefined) continue;
      if (m.target === 'KUBE-MARK-MASQ') {
        masq = true;
        continue;
      }
      if (m.target === 'DNAT') {
        const i = rule.tokens.indexOf('--to-destination');
        dnat.push(rule.tokens[i + 1]!);
        return true;
      }
      if (m.target === 'RETURN') return false;
      const done = walk(m.target, depth + 1);
      if (done && !m.stat) return true;
    }
    return false;
  };
  walk('KUBE-SERVICES', 0);
  if (dnat.length > 0) return { output: [...new Set(dnat)].join(', '), masq };

  for (const chain of ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL']) {
    for (const rule of filter.get(chain) ?? []) {
      const m = matches(rule.tokens, pkt.dest);
      if (m.ok && (m.target === 'ACCEPT' || m.target === 'DROP' || m.target === 'REJECT')) return { output: m.target, masq };
    }
  }
  return { output: '', masq };
}
