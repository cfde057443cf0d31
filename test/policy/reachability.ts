// A truth table of pod → pod connectivity, with the expectation verbs of the e2e netpol suite
// (Expect, ExpectPeer, ExpectAllIngress, ExpectAllEgress), written here from their documented
// meaning. Loopback cells are ignored when comparing, as e2e does (ignoreLoopback, #95879).
import type { PolicyIndex } from '../../src/policy/index.js';
import { ALL_POD_REFS, type Model } from './model.js';

export interface PeerPattern {
  readonly ns?: string;
  readonly pod?: string;
}

function matches(ref: string, p: PeerPattern): boolean {
  const [ns, pod] = ref.split('/');
  return (p.ns === undefined || p.ns === ns) && (p.pod === undefined || p.pod === pod);
}

export class Reachability {
  private readonly cells = new Map<string, boolean>();

  constructor(
    defaultValue: boolean,
    readonly pods: readonly string[] = ALL_POD_REFS,
  ) {
    for (const f of pods) for (const t of pods) this.cells.set(`${f}>${t}`, defaultValue);
  }

  expect(from: string, to: string, connected: boolean): this {
    this.cells.set(`${from}>${to}`, connected);
    return this;
  }

  expectPeer(from: PeerPattern, to: PeerPattern, connected: boolean): this {
    for (const f of this.pods) for (const t of this.pods) if (matches(f, from) && matches(t, to)) this.expect(f, t, connected);
    return this;
  }

  expectAllIngress(to: string, connected: boolean): this {
    for (const f of this.pods) this.expect(f, to, connected);
    return this;
  }

  expectAllEgress(from: string, connected: boolean): this {
    for (const t of this.pods) this.expect(from, t, connected);
    return this;
  }

  get(from: string, to: string): boolean {
    return this.cells.get(`${from}>${to}`)!;
  }

  /** `x/a → y/b: expected true, got false` for each differing cell. */
  diff(observed: Reachability, ignoreLoopback = true): string[] {
    const out: string[] = [];
    for (const f of this.pods) {
      for (const t of this.pods) {
        if (ignoreLoopback && f === t) continue;
        if (this.get(f, t) !== observed.get(f, t)) out.push(`${f} → ${t}: expected ${this.get(f, t)}, got ${observed.get(f, t)}`);
      }
    }
    return out;
  }

  /** The table as e2e prints it: rows are sources, columns destinations, `.` connected, `X` blocked. */
  toString(): string {
    const rows = [['-', ...this.pods].join('\t')];
    for (const f of this.pods) rows.push([f, ...this.pods.map((t) => (this.get(f, t) ? '.' : 'X'))].join('\t'));
    return rows.join('\n');
  }
}

/** What the index answers for every ordered pod pair on (port, protocol). */
export function probe(index: PolicyIndex, m: Model, port: number, protocol: string): Reachability {
  const r = new Reachability(false);
  for (const f of ALL_POD_REFS) {
    for (const t of ALL_POD_REFS) {
      r.expect(f, t, index.evaluate({ src: { pod: m.pod(f) }, dst: { pod: m.pod(t) }, protocol, port }).allowed);
    }
  }
  return r;
}
