// LayeredMap behaves exactly like a copied Map under any sequence of changes: same entries in the
// same order, same size, same answers — while the base map stays untouched.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LayeredMap } from '../../../src/dataplane/netfilter/layered-map.js';

type Op = { kind: 'set'; key: string; value: number } | { kind: 'delete'; key: string } | { kind: 'clear' };

const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f');
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('set' as const), key, value: fc.integer() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), key }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const) }) },
);

describe('LayeredMap', () => {
  it('equals a copied Map after any changes, and leaves the base as it was', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(key, fc.integer()), { selector: (t) => t[0] }), fc.array(op, { maxLength: 30 }), (entries, ops) => {
        const base = new Map<string, number>(entries);
        const before = [...base];
        const layered = new LayeredMap<string, number>(base);
        const copy = new Map<string, number>(base);
        for (const o of ops) {
          if (o.kind === 'set') {
            layered.set(o.key, o.value);
            copy.set(o.key, o.value);
          } else if (o.kind === 'delete') expect(layered.delete(o.key)).toBe(copy.delete(o.key));
          else {
            layered.clear();
            copy.clear();
          }
          expect([...layered]).toEqual([...copy]);
          expect(layered.size).toBe(copy.size);
          for (const k of ['a', 'b', 'c', 'd', 'e', 'f']) {
            expect(layered.has(k)).toBe(copy.has(k));
            expect(layered.get(k)).toBe(copy.get(k));
          }
        }
        expect([...base]).toEqual(before);
      }),
    );
  });
});
