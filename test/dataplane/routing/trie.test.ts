import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LinearPrefixMap, PrefixTrie4, PrefixTrie6, parseAddr, parsePrefix, type PrefixMap } from '../../../src/dataplane/routing/index.js';

function v4(text: string): number {
  return parseAddr(text)!.n as number;
}
function v6(text: string): bigint {
  return parseAddr(text)!.n as bigint;
}
function put4(t: PrefixMap<number, string>, cidr: string): void {
  const p = parsePrefix(cidr)!;
  t.set(p.net as number, p.len, cidr);
}
function put6(t: PrefixMap<bigint, string>, cidr: string): void {
  const p = parsePrefix(cidr)!;
  t.set(p.net as bigint, p.len, cidr);
}

describe('IPv4 longest-prefix match', () => {
  it('matches everything with /0 and only the address with /32', () => {
    const t = new PrefixTrie4<string>();
    put4(t, '0.0.0.0/0');
    put4(t, '10.0.0.1/32');
    expect(t.lookup(v4('10.0.0.1'))).toBe('10.0.0.1/32');
    expect(t.lookup(v4('10.0.0.2'))).toBe('0.0.0.0/0');
    expect(t.lookup(v4('255.255.255.255'))).toBe('0.0.0.0/0');
    expect(t.lookup(v4('0.0.0.0'))).toBe('0.0.0.0/0');
  });

  it('picks the most specific of overlapping prefixes', () => {
    const t = new PrefixTrie4<string>();
    for (const c of ['10.0.0.0/8', '10.244.0.0/16', '10.244.1.0/24', '10.244.1.128/25', '192.168.0.0/16']) put4(t, c);
    expect(t.lookup(v4('10.244.1.200'))).toBe('10.244.1.128/25');
    expect(t.lookup(v4('10.244.1.7'))).toBe('10.244.1.0/24');
    expect(t.lookup(v4('10.244.2.7'))).toBe('10.244.0.0/16');
    expect(t.lookup(v4('10.1.2.3'))).toBe('10.0.0.0/8');
    expect(t.lookup(v4('11.0.0.1'))).toBeUndefined();
    expect(t.matches(v4('10.244.1.200')).map((e) => e.value)).toEqual(['10.244.1.128/25', '10.244.1.0/24', '10.244.0.0/16', '10.0.0.0/8']);
  });

  it('ignores host bits of the inserted key, as ip route refuses or masks them', () => {
    const t = new PrefixTrie4<string>();
    t.set(v4('10.244.1.77'), 24, 'x');
    expect(t.get(v4('10.244.1.0'), 24)).toBe('x');
    expect(t.lookup(v4('10.244.1.1'))).toBe('x');
  });

  it('keeps lookups right after deletes that compress the trie', () => {
    const t = new PrefixTrie4<string>();
    for (const c of ['10.0.0.0/8', '10.1.0.0/16', '10.2.0.0/16', '10.1.1.0/24']) put4(t, c);
    expect(t.delete(v4('10.1.0.0'), 16)).toBe(true);
    expect(t.delete(v4('10.1.0.0'), 16)).toBe(false);
    expect(t.lookup(v4('10.1.1.1'))).toBe('10.1.1.0/24');
    expect(t.lookup(v4('10.1.2.1'))).toBe('10.0.0.0/8');
    expect(t.delete(v4('10.0.0.0'), 8)).toBe(true);
    expect(t.lookup(v4('10.1.2.1'))).toBeUndefined();
    expect(t.lookup(v4('10.2.3.4'))).toBe('10.2.0.0/16');
    expect(t.size).toBe(2);
  });

  it('lists entries in address order, a prefix before those inside it', () => {
    const t = new PrefixTrie4<string>();
    for (const c of ['10.1.0.0/16', '0.0.0.0/0', '10.0.0.0/8', '9.0.0.0/8']) put4(t, c);
    expect(t.entries().map((e) => e.value)).toEqual(['0.0.0.0/0', '9.0.0.0/8', '10.0.0.0/8', '10.1.0.0/16']);
  });
});

describe('IPv6 longest-prefix match', () => {
  it('handles ::/0, /128 and overlapping prefixes', () => {
    const t = new PrefixTrie6<string>();
    for (const c of ['::/0', '2001:db8::/32', '2001:db8:1::/48', '2001:db8:1::1/128', 'fd00::/8']) put6(t, c);
    expect(t.lookup(v6('2001:db8:1::1'))).toBe('2001:db8:1::1/128');
    expect(t.lookup(v6('2001:db8:1::2'))).toBe('2001:db8:1::/48');
    expect(t.lookup(v6('2001:db8:2::2'))).toBe('2001:db8::/32');
    expect(t.lookup(v6('fd12::1'))).toBe('fd00::/8');
    expect(t.lookup(v6('::1'))).toBe('::/0');
    expect(t.lookup(v6('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'))).toBe('::/0');
  });
});

// Prefixes clustered in a few /8s so random tables overlap a lot.
const prefix4 = fc.record({ a: fc.constantFrom(0, 10, 172, 192, 255), rest: fc.integer({ min: 0, max: 0xffffff }), len: fc.integer({ min: 0, max: 32 }) }).map(({ a, rest, len }) => ({
  key: ((a << 24) | rest) >>> 0,
  len,
}));
const addr4 = fc.oneof(
  fc.record({ a: fc.constantFrom(0, 10, 172, 192, 255), rest: fc.integer({ min: 0, max: 0xffffff }) }).map(({ a, rest }) => ((a << 24) | rest) >>> 0),
  fc.integer({ min: 0, max: 0xffffffff }),
);
const prefix6 = fc.record({ hi: fc.constantFrom(0n, 0x2001n, 0xfd00n, 0xffffn), rest: fc.bigInt({ min: 0n, max: (1n << 112n) - 1n }), len: fc.integer({ min: 0, max: 128 }) }).map(({ hi, rest, len }) => ({
  key: (hi << 112n) | rest,
  len,
}));
const addr6 = fc.record({ hi: fc.constantFrom(0n, 0x2001n, 0xfd00n, 0xffffn), rest: fc.bigInt({ min: 0n, max: (1n << 112n) - 1n }) }).map(({ hi, rest }) => (hi << 112n) | rest);

describe('tries agree with the linear reference', () => {
  it('IPv4: same longest match and same match list on random tables and addresses', () => {
    fc.assert(
      fc.property(fc.array(prefix4, { maxLength: 60 }), fc.array(addr4, { minLength: 1, maxLength: 40 }), (prefixes, addrs) => {
        const trie = new PrefixTrie4<number>();
        const ref = new LinearPrefixMap<number, number>(4);
        prefixes.forEach((p, i) => {
          trie.set(p.key, p.len, i);
          ref.set(p.key, p.len, i);
        });
        expect(trie.size).toBe(ref.size);
        for (const a of addrs) {
          expect(trie.lookupEntry(a)).toEqual(ref.lookupEntry(a));
          expect(trie.matches(a)).toEqual(ref.matches(a));
        }
        expect(trie.entries()).toEqual(ref.entries());
      }),
    );
  });

  it('IPv4: deleting random prefixes keeps the two in step', () => {
    fc.assert(
      fc.property(fc.array(prefix4, { maxLength: 50 }), fc.array(fc.nat(), { maxLength: 30 }), fc.array(addr4, { minLength: 1, maxLength: 20 }), (prefixes, dels, addrs) => {
        const trie = new PrefixTrie4<number>();
        const ref = new LinearPrefixMap<number, number>(4);
        prefixes.forEach((p, i) => {
          trie.set(p.key, p.len, i);
          ref.set(p.key, p.len, i);
        });
        for (const d of dels) {
          const p = prefixes[d % Math.max(1, prefixes.length)];
          if (!p) continue;
          expect(trie.delete(p.key, p.len)).toBe(ref.delete(p.key, p.len));
        }
        expect(trie.size).toBe(ref.size);
        for (const a of addrs) expect(trie.lookupEntry(a)).toEqual(ref.lookupEntry(a));
      }),
    );
  });

  it('IPv6: same longest match on random tables and addresses', () => {
    fc.assert(
      fc.property(fc.array(prefix6, { maxLength: 40 }), fc.array(addr6, { minLength: 1, maxLength: 30 }), (prefixes, addrs) => {
        const trie = new PrefixTrie6<number>();
        const ref = new LinearPrefixMap<bigint, number>(6);
        prefixes.forEach((p, i) => {
          trie.set(p.key, p.len, i);
          ref.set(p.key, p.len, i);
        });
        for (const a of addrs) {
          expect(trie.lookupEntry(a)).toEqual(ref.lookupEntry(a));
          expect(trie.matches(a)).toEqual(ref.matches(a));
        }
        expect(trie.entries()).toEqual(ref.entries());
      }),
    );
  });

  it('adding a more specific prefix never changes lookups outside it', () => {
    fc.assert(
      fc.property(fc.array(prefix4, { maxLength: 40 }), prefix4, fc.array(addr4, { minLength: 1, maxLength: 40 }), (prefixes, extra, addrs) => {
        const trie = new PrefixTrie4<number>();
        prefixes.forEach((p, i) => trie.set(p.key, p.len, i));
        const before = addrs.map((a) => trie.lookup(a));
        trie.set(extra.key, extra.len, -1);
        const mask = extra.len === 0 ? 0 : (0xffffffff << (32 - extra.len)) >>> 0;
        addrs.forEach((a, i) => {
          const inside = ((a & mask) >>> 0) === ((extra.key & mask) >>> 0);
          if (inside) expect([-1, before[i]]).toContain(trie.lookup(a));
          else expect(trie.lookup(a)).toBe(before[i]);
        });
      }),
    );
  });
});
