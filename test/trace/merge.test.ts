// mergePaths: paths that are the same walk (outcome, endpoint, every hop's place, stage, action,
// rule and addresses) become one path whose probability is the exact sum; others stay apart, in order.
import { describe, expect, it } from 'vitest';
import { mergePaths } from '../../src/trace/tracer.js';
import type { Hop, TracePath } from '../../src/trace/types.js';

function hop(at: string, dst: string, rule?: string): Hop {
  return { at, stage: 'netfilter', action: 'DNAT', note: 'n', packet: { proto: 'tcp', src: '10.0.0.2', sport: 40000, dst, dport: 80 }, ...(rule ? { rule } : {}) } as Hop;
}

function path(exact: string, endpoint: string, hops: Hop[]): TracePath {
  const [n, d] = exact.split('/').map(Number);
  return { probability: n! / (d ?? 1), probabilityExact: exact, outcome: 'delivered', endpoint, crossZone: false, zones: [], reason: 'r', hops } as TracePath;
}

describe('mergePaths', () => {
  it('adds the exact probabilities of identical walks and keeps the first one’s place', () => {
    const a = path('1/3', 'pod/a', [hop('node/n1', '10.1.0.5', 'r1')]);
    const b = path('1/3', 'pod/b', [hop('node/n1', '10.1.0.6', 'r2')]);
    const a2 = path('1/6', 'pod/a', [hop('node/n1', '10.1.0.5', 'r1')]);
    const out = mergePaths([a, b, a2]);
    expect(out.map((p) => [p.endpoint, p.probabilityExact])).toEqual([
      ['pod/a', '1/2'],
      ['pod/b', '1/3'],
    ]);
    expect(out[0]!.probability).toBeCloseTo(0.5, 12);
  });

  it('keeps walks apart that differ only in a rule or in a packet address', () => {
    const a = path('1/4', 'pod/a', [hop('node/n1', '10.1.0.5', 'r1')]);
    const otherRule = path('1/4', 'pod/a', [hop('node/n1', '10.1.0.5', 'r9')]);
    const otherDst = path('1/4', 'pod/a', [hop('node/n1', '10.1.0.7', 'r1')]);
    const same = path('1/4', 'pod/a', [hop('node/n1', '10.1.0.5', 'r1')]);
    const out = mergePaths([a, otherRule, otherDst, same]);
    expect(out.map((p) => p.probabilityExact)).toEqual(['1/2', '1/4', '1/4']);
    expect(out[1]!.hops[0]!.rule).toBe('r9');
    expect(out[2]!.hops[0]!.packet.dst).toBe('10.1.0.7');
  });
});
