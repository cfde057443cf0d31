// `kubepath trace -o dot|mermaid`: the paths drawn over the locations they visit. Each edge carries
// the total probability of the paths that take it; each end is labelled with its outcome.
import { MultiDirectedGraph } from 'graphology';
import type { TraceResult } from '../trace/types.js';

interface Place {
  label: string;
  zone?: string;
  ends: Map<string, number>;
}

interface Move {
  p: number;
  crossZone: boolean;
}

function percent(p: number): string {
  const v = p * 100;
  return v >= 99.995 ? '100%' : v >= 10 ? `${v.toFixed(1)}%` : `${v.toPrecision(2)}%`;
}

/** The locations and moves of all paths, with summed probabilities. */
export function pathGraph(r: TraceResult): MultiDirectedGraph<Place, Move> {
  const g = new MultiDirectedGraph<Place, Move>();
  const edgeKey = (a: string, b: string) => `${a}→${b}`;
  for (const path of r.paths) {
    const seq: { at: string; zone?: string; cross: boolean }[] = [];
    for (const h of path.hops) {
      const last = seq[seq.length - 1];
      if (last && last.at === h.at) continue;
      seq.push({ at: h.at, ...(h.zone !== undefined ? { zone: h.zone } : {}), cross: h.crossZone === true });
    }
    seq.forEach((s, i) => {
      if (!g.hasNode(s.at)) g.addNode(s.at, { label: s.at, ...(s.zone !== undefined ? { zone: s.zone } : {}), ends: new Map() });
      if (i === 0) return;
      const prev = seq[i - 1]!.at;
      const key = edgeKey(prev, s.at);
      if (g.hasEdge(key)) g.updateEdgeAttribute(key, 'p', (p) => (p ?? 0) + path.probability);
      else g.addEdgeWithKey(key, prev, s.at, { p: path.probability, crossZone: s.cross || seq[i - 1]!.cross });
    });
    const last = seq[seq.length - 1];
    if (last) {
      const ends = g.getNodeAttribute(last.at, 'ends');
      ends.set(path.outcome, (ends.get(path.outcome) ?? 0) + path.probability);
    }
  }
  return g;
}

function nodeText(id: string, a: Place): string {
  const ends = [...a.ends].map(([o, p]) => `${o} ${percent(p)}`).join(', ');
  return [id, a.zone ? `zone ${a.zone}` : undefined, ends || undefined].filter(Boolean).join('\\n');
}

export function renderTraceDot(r: TraceResult): string {
  const g = pathGraph(r);
  const ids = new Map<string, string>();
  g.forEachNode((n) => ids.set(n, `n${ids.size}`));
  const q = (s: string) => `"${s.replace(/"/g, '\\"')}"`;
  const out = [`digraph trace {`, `  rankdir=LR;`, `  label=${q(`${r.request.from} → ${r.request.to}`)};`, `  node [shape=box, fontname="monospace"];`];
  g.forEachNode((n, a) => out.push(`  ${ids.get(n)} [label=${q(nodeText(n, a))}${a.ends.has('dropped') || a.ends.has('rejected') ? ', color=red' : ''}];`));
  g.forEachEdge((_e, a, s, t) => out.push(`  ${ids.get(s)} -> ${ids.get(t)} [label=${q(percent(a.p))}${a.crossZone ? ', style=dashed, color=orange' : ''}];`));
  out.push('}');
  return out.join('\n');
}

export function renderTraceMermaid(r: TraceResult): string {
  const g = pathGraph(r);
  const ids = new Map<string, string>();
  g.forEachNode((n) => ids.set(n, `n${ids.size}`));
  const q = (s: string) => `"${s.replace(/"/g, '#quot;').replace(/\\n/g, '<br/>')}"`;
  const out = ['flowchart LR'];
  g.forEachNode((n, a) => out.push(`  ${ids.get(n)}[${q(nodeText(n, a))}]`));
  g.forEachEdge((_e, a, s, t) => out.push(`  ${ids.get(s)} ${a.crossZone ? '-.->' : '-->'}|${percent(a.p)}${a.crossZone ? ' cross-zone' : ''}| ${ids.get(t)}`));
  return out.join('\n');
}
