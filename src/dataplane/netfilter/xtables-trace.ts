// Reading the kernel's own rule-by-rule trace, as `xtables-monitor --trace` prints it for rules
// with `-j TRACE` (nft backend): PACKET lines (one per hook traversal, with the headers as the hook
// saw them) and TRACE lines (one per rule that matched, plus the policy at the end of a base chain).
//
//   PACKET: 2 763728cb IN=vcn OUT=vpn ... SRC=198.18.1.2 DST=198.18.2.2 ... SPORT=40960 DPORT=8081 SYN MARK=0x4000
//    TRACE: 2 763728cb nat:KUBE-SVC-A:rule:0x14:JUMP:KUBE-SEP-2  -4 -t nat -A KUBE-SVC-A ... -j KUBE-SEP-2
//    TRACE: 2 763728cb raw:PREROUTING:policy:ACCEPT

export interface KernelPacketLine {
  readonly kind: 'packet';
  readonly family: number;
  readonly id: string;
  /** KEY=VALUE fields (IN, OUT, SRC, DST, SPORT, DPORT, TTL, MARK, ...). */
  readonly fields: Readonly<Record<string, string>>;
  /** Bare words: TCP flags (SYN, ACK, ...), DF, LOOPBACK. */
  readonly words: readonly string[];
}

export interface KernelTraceLine {
  readonly kind: 'trace';
  readonly family: number;
  readonly id: string;
  readonly table: string;
  readonly chain: string;
  readonly type: 'rule' | 'policy' | 'return';
  /** nft rule handle (rules only). */
  readonly handle?: number;
  /** CONTINUE, ACCEPT, DROP, RETURN, JUMP:X, GOTO:X (numeric nft verdicts are named). */
  readonly verdict: string;
  /** `-A CHAIN ...` as iptables prints the rule (rules only). */
  readonly rule?: string;
}

export type KernelTraceRecord = KernelPacketLine | KernelTraceLine;

const NFT_VERDICTS: Readonly<Record<string, string>> = {
  '0xffffffff': 'CONTINUE',
  '0xfffffffe': 'BREAK',
  '0xfffffffd': 'JUMP',
  '0xfffffffc': 'GOTO',
  '0xfffffffb': 'RETURN',
};

/** Parse xtables-monitor --trace output; lines it does not recognise are ignored. */
export function parseXtablesTrace(text: string): KernelTraceRecord[] {
  const out: KernelTraceRecord[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    const pm = /^\s*PACKET: (\d+) ([0-9a-f]+) (.*)$/.exec(line);
    if (pm) {
      const fields: Record<string, string> = {};
      const words: string[] = [];
      for (const part of pm[3]!.trim().split(/\s+/)) {
        const eq = part.indexOf('=');
        if (eq > 0) fields[part.slice(0, eq)] = part.slice(eq + 1);
        else if (part) words.push(part);
      }
      out.push({ kind: 'packet', family: Number(pm[1]), id: pm[2]!, fields, words });
      continue;
    }
    const tm = /^\s*TRACE: (\d+) ([0-9a-f]+) ([^:\s]+):([^:\s]+):(rule|policy|return):?(\S*)(?:\s+(.*))?$/.exec(line);
    if (!tm) continue;
    const [, fam, id, table, chain, type, rest, ruleText] = tm as unknown as [string, string, string, string, string, 'rule' | 'policy' | 'return', string, string | undefined];
    let handle: number | undefined;
    let verdict = rest;
    if (type === 'rule') {
      const colon = rest.indexOf(':');
      handle = parseInt(rest.slice(0, colon), 16);
      verdict = rest.slice(colon + 1);
    }
    verdict = NFT_VERDICTS[verdict] ?? verdict;
    let rule: string | undefined;
    if (ruleText) {
      // "-4 -t nat -A CHAIN ..." -> "-A CHAIN ..."
      const m = /^(?:-[46]\s+)?(?:-t\s+\S+\s+)?(-A .*)$/.exec(ruleText.trim());
      rule = m ? m[1] : ruleText.trim();
    }
    out.push({
      kind: 'trace',
      family: Number(fam),
      id,
      table,
      chain,
      type,
      ...(handle !== undefined ? { handle } : {}),
      verdict,
      ...(rule !== undefined ? { rule } : {}),
    });
  }
  return out;
}
