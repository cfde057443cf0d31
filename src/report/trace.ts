// `kubepath trace` output: text for people, JSON per DESIGN.md for programs.
import type { Hop, TracePath, TraceResult } from '../trace/types.js';

function percent(p: number): string {
  const v = p * 100;
  return v === 100 ? '100%' : v >= 10 ? `${v.toFixed(1)}%` : `${v.toPrecision(2)}%`;
}

function packetText(h: Hop): string {
  const p = h.packet;
  const inner = `${p.src}:${p.sport} → ${p.dst}:${p.dport}`;
  return p.outer ? `[${p.outer.kind} ${p.outer.src} → ${p.outer.dst}] ${inner}` : inner;
}

/** Chains whose jump is a decision worth a line: the Service, its endpoint, external and firewall chains. */
const DECIDING_JUMP = /^JUMP:(KUBE-(SVC|SVL|SEP|EXT|FW|XLB)-|KUBE-MARK-DROP)/;

/** Hops worth a line in text (wide shows all): netfilter rules that rewrote the packet, decided its fate or picked a Service endpoint. */
function shown(h: Hop, wide: boolean): boolean {
  if (wide || h.stage !== 'netfilter') return true;
  if (h.action === 'DROP' || h.action === 'REJECT' || h.action === 'policy DROP') return true;
  if (/→ (destination|source)|\(mark /.test(h.note)) return true;
  return DECIDING_JUMP.test(h.action);
}

/** One hop; the packet is shown where it first appears or changes (NAT, encapsulation), or always with wide. */
function hopLine(h: Hop, wide: boolean, width: number, previous: string | undefined): string {
  const where = h.at.padEnd(width);
  const stage = h.stage.padEnd(9);
  const what = `${h.action.padEnd(12)} ${h.note}`;
  const rule = wide && h.rule ? `\n${' '.repeat(width + 15)}${h.rule.replace(/\n/g, `\n${' '.repeat(width + 15)}`)}` : '';
  const pkt = packetText(h);
  const shownPacket = wide || pkt !== previous ? `   [${pkt}]` : '';
  return `    ${where} ${stage} ${what}${h.crossZone ? '  ⇄ cross-zone' : ''}${shownPacket}${rule}`;
}

export function renderTraceText(r: TraceResult, wide = false): string {
  const q = r.request;
  const out: string[] = [];
  out.push(`${q.from} → ${q.to}   ${q.proto} ${q.src}:${q.sport} → ${q.dst}:${q.dport}`);
  out.push(`cluster at ${q.at}s · profile ${q.profile} · ${q.cni} · kube-proxy ${q.kubeProxyMode}${r.mode === 'sampled' ? ` · ${r.samples} samples (seed ${r.seed})` : ''}`);
  const byOutcome = new Map<string, number>();
  for (const p of r.paths) byOutcome.set(p.outcome, (byOutcome.get(p.outcome) ?? 0) + p.probability);
  out.push(`${r.paths.length} path${r.paths.length === 1 ? '' : 's'}: ${[...byOutcome].map(([o, p]) => `${o} ${percent(p)}`).join(', ')}`);
  const width = Math.max(8, ...r.paths.flatMap((p) => p.hops.map((h) => h.at.length)));
  const sorted = [...r.paths].sort((a, b) => b.probability - a.probability || (a.endpoint ?? '').localeCompare(b.endpoint ?? ''));
  sorted.forEach((p, i) => {
    out.push('');
    out.push(pathHeader(p, i + 1, q.src));
    let previous: string | undefined;
    for (const h of p.hops) {
      if (!shown(h, wide)) continue;
      out.push(hopLine(h, wide, width, previous));
      previous = packetText(h);
    }
  });
  if (r.warnings.length) {
    out.push('');
    for (const w of r.warnings) out.push(`warning: ${w}`);
  }
  return out.join('\n');
}

function pathHeader(p: TracePath, n: number, src: string): string {
  const parts = [`#${n}`, `${percent(p.probability)} (${p.probabilityExact})`, p.outcome];
  if (p.endpoint) parts.push(`→ ${p.endpoint}`);
  if (p.clientIpSeen) parts.push(p.clientIpSeen === src ? `client IP kept (${src})` : `client IP lost: seen as ${p.clientIpSeen}`);
  if (p.zones.length) parts.push(`zones ${p.zones.join(' → ')}${p.crossZone ? ' (cross-zone)' : ''}`);
  const line = `  ${parts.join('  ')}`;
  return p.outcome === 'delivered' ? line : `${line}\n    why: ${p.reason}`;
}

export function renderTraceJson(r: TraceResult): string {
  return JSON.stringify(r, null, 2);
}
