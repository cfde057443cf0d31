// The one seeded random generator of a simulation: every random choice (names, ClusterIPs,
// NodePorts, uids, scheduling ties) draws from it, so the same seed gives the same cluster.
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

export class Rng {
  private readonly gen: RandomGenerator;

  constructor(seed: number) {
    this.gen = xoroshiro128plus(seed | 0);
  }

  /** A uniformly random integer in [from, to], both included. */
  int(from: number, to: number): number {
    return uniformInt(this.gen, from, to);
  }

  /** A uniformly random element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }

  /** A uniformly random number in [0, 1), on a 2^-31 grid. */
  float(): number {
    return this.int(0, 0x7fffffff) / 0x80000000;
  }

  /** A random string of `n` characters from `alphabet`. */
  string(n: number, alphabet: string): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(0, alphabet.length - 1)];
    return s;
  }

  /** An RFC 4122 version-4 shaped UUID drawn from this generator (deterministic per seed). */
  uuid(): string {
    // 32 hex digits are drawn, then the variant digit; digit 12 becomes the version '4' and
    // digit 16 the variant. Character codes go into one reused array and become one flat string
    // (this runs once per created object).
    const out = UUID_CODES;
    let at = 0;
    for (let i = 0; i < 32; i++) {
      if (i === 8 || i === 12 || i === 16 || i === 20) out[at++] = DASH;
      const d = HEX_CODES[this.int(0, 15)]!;
      out[at++] = i === 12 ? FOUR : d;
    }
    out[19] = VARIANT_CODES[this.int(0, 3)]!;
    return String.fromCharCode.apply(null, out);
  }
}

const HEX_CODES = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
const VARIANT_CODES = Array.from('89ab', (c) => c.charCodeAt(0));
const DASH = 45;
const FOUR = 52;
const UUID_CODES: number[] = new Array<number>(36).fill(0);

/** The alphabet apimachinery's utilrand uses for generateName suffixes (no vowels, no look-alikes). */
export const NAME_SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
