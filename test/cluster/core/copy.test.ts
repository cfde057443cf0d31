import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { copyAt, copySite } from '../../../src/cluster/copy.js';

// copyAt must give exactly what the spread gives: the same keys, in the same order, the same
// values (set keys replaced in place, new ones appended in the order listed).
const key = fc.constantFrom('uid', 'name', 'namespace', 'labels', 'generation', 'resourceVersion', 'creationTimestamp', 'annotations', 'a', 'b');
const value = fc.oneof(fc.string(), fc.integer(), fc.constant(undefined), fc.dictionary(fc.string(), fc.string()));
const object = fc.dictionary(key, value);

function spread(o: Record<string, unknown>, set: readonly string[], values: readonly unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...o };
  set.forEach((k, i) => (out[k] = values[i]));
  return out;
}

describe('copyAt', () => {
  it('equals the spread with the keys set, key order included, across changing source shapes', () => {
    fc.assert(
      fc.property(fc.uniqueArray(key, { maxLength: 4 }), fc.array(object, { minLength: 1, maxLength: 12 }), (set, objects) => {
        const site = copySite(set);
        for (const o of objects) {
          const values = set.map((k) => `${k}!`);
          const got = copyAt(site, o, values);
          const want = spread(o, set, values);
          expect(Object.keys(got)).toEqual(Object.keys(want));
          expect(got).toEqual(want);
        }
      }),
    );
  });

  it('alternating between two shapes keeps each right (a running and a terminating pod)', () => {
    const site = copySite(['uid', 'resourceVersion']);
    const running = { name: 'p', uid: 'u', resourceVersion: '1' };
    const terminating = { name: 'p', uid: 'u', resourceVersion: '2', deletionTimestamp: 't' };
    for (let i = 0; i < 3; i++) {
      expect(JSON.stringify(copyAt(site, running, ['u2', '5']))).toBe('{"name":"p","uid":"u2","resourceVersion":"5"}');
      expect(JSON.stringify(copyAt(site, terminating, ['u2', '6']))).toBe('{"name":"p","uid":"u2","resourceVersion":"6","deletionTimestamp":"t"}');
    }
  });

  it('leaves keys a literal cannot lay out like a spread (array indexes) to the spread', () => {
    const site = copySite(['x']);
    const o = { b: 1, 2: 'two', a: 3 };
    expect(JSON.stringify(copyAt(site, o, [4]))).toBe(JSON.stringify({ ...o, x: 4 }));
  });
});
