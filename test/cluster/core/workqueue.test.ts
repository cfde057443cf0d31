import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { WorkQueue } from '../../../src/cluster/workqueue.js';

describe('WorkQueue', () => {
  it('pops keys first-in first-out and ignores a key added again while it waits', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant<null>(null), fc.integer({ min: 0, max: 20 }).map(String)), { maxLength: 300 }), (ops) => {
        const q = new WorkQueue();
        const model: string[] = [];
        for (const op of ops) {
          if (op === null) expect(q.pop()).toBe(model.shift());
          else {
            q.add(op);
            if (!model.includes(op)) model.push(op);
          }
          expect(q.size).toBe(model.length);
        }
      }),
    );
  });
});
