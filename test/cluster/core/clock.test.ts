import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Clock } from '../../../src/cluster/clock.js';

describe('Clock', () => {
  it('fires timers in time order, ties in insertion order, moving the clock to each', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 100 }), { maxLength: 60 }), (delays) => {
        const clock = new Clock(0);
        const fired: { i: number; at: number; now: number }[] = [];
        delays.forEach((d, i) => clock.after(d, () => fired.push({ i, at: d * 1000, now: clock.now() })));
        for (let t = clock.popDue(1e9); t; t = clock.popDue(1e9)) t.fire();
        const expected = delays.map((d, i) => ({ i, at: d * 1000, now: d * 1000 })).sort((a, b) => a.at - b.at || a.i - b.i);
        expect(fired).toEqual(expected);
      }),
    );
  });

  it('does not fire timers after the horizon', () => {
    const clock = new Clock(0);
    let fired = false;
    clock.after(10, () => (fired = true));
    expect(clock.popDue(9_999)).toBeUndefined();
    expect(fired).toBe(false);
  });

  it('prints RFC 3339 with second precision as the API server does', () => {
    expect(new Clock(Date.UTC(2026, 0, 1)).rfc3339()).toBe('2026-01-01T00:00:00Z');
  });
});
