import { describe, expect, it } from 'vitest';
import { matchesSelector, matchesMap, formatSelector } from '../../../src/cluster/labels.js';
import { parseSelector } from '../../../src/scenario/selector.js';

describe('label selectors (apimachinery semantics)', () => {
  it('treats an empty selector as matching everything and a missing one as matching nothing', () => {
    expect(matchesSelector({}, { a: '1' })).toBe(true);
    expect(matchesSelector(undefined, { a: '1' })).toBe(false);
    expect(matchesMap({}, undefined)).toBe(true);
  });

  it('NotIn and DoesNotExist match objects without the key; In and Exists do not', () => {
    expect(matchesSelector({ matchExpressions: [{ key: 'x', operator: 'NotIn', values: ['1'] }] }, {})).toBe(true);
    expect(matchesSelector({ matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] }, {})).toBe(true);
    expect(matchesSelector({ matchExpressions: [{ key: 'x', operator: 'In', values: ['1'] }] }, {})).toBe(false);
    expect(matchesSelector({ matchExpressions: [{ key: 'x', operator: 'Exists' }] }, {})).toBe(false);
  });

  it('parses kubectl selector syntax and prints it back', () => {
    const s = parseSelector('app=web,tier!=db,env in (a,b),!legacy,canary');
    expect(s).toEqual({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'NotIn', values: ['db'] },
        { key: 'env', operator: 'In', values: ['a', 'b'] },
        { key: 'legacy', operator: 'DoesNotExist' },
        { key: 'canary', operator: 'Exists' },
      ],
    });
    expect(formatSelector(s)).toBe('app=web,tier notin (db),env in (a,b),!legacy,canary');
    expect(matchesSelector(s, { app: 'web', env: 'a', canary: '' })).toBe(true);
    expect(matchesSelector(s, { app: 'web', env: 'a', canary: '', legacy: 'y' })).toBe(false);
  });
});
