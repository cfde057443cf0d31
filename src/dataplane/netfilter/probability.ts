// Exact probabilities for branching rules.
//
// Decision: a `-m statistic --mode random --probability P` rule is read as the exact decimal
// written (kube-proxy's "%0.10f" text, e.g. 0.3333333333 = 3333333333/10^10), and a path's
// probability is the exact product of its choices (P or 1 - P) as a BigInt fraction. The
// branches of any chain then sum to exactly 1, with no tolerance needed.
// The kernel itself stores lround(P * 2^31) and compares it with a 31-bit random number, so its
// real probability differs from the text by less than 2^-32; `kernelProbability` gives that value
// for callers who want it (and iptables-save prints it with "%.11f", see `formatKernelProbability`).

export interface Fraction {
  readonly num: bigint;
  readonly den: bigint;
}

export const ONE: Fraction = { num: 1n, den: 1n };
export const ZERO: Fraction = { num: 0n, den: 1n };

function gcd(a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a;
  if (b < 0n) b = -b;
  while (b) [a, b] = [b, a % b];
  return a;
}

export function fraction(num: bigint, den: bigint): Fraction {
  if (den === 0n) throw new Error('zero denominator');
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  const g = gcd(num, den) || 1n;
  return { num: num / g, den: den / g };
}

export function mul(a: Fraction, b: Fraction): Fraction {
  // Most factors along a path are 1: skip the gcd then.
  if (a.num === a.den) return b;
  if (b.num === b.den) return a;
  return fraction(a.num * b.num, a.den * b.den);
}

export function add(a: Fraction, b: Fraction): Fraction {
  return fraction(a.num * b.den + b.num * a.den, a.den * b.den);
}

export function complement(a: Fraction): Fraction {
  return fraction(a.den - a.num, a.den);
}

export function equals(a: Fraction, b: Fraction): boolean {
  return a.num * b.den === b.num * a.den;
}

export function toNumber(a: Fraction): number {
  return Number(a.num) / Number(a.den);
}

export function formatFraction(a: Fraction): string {
  return a.den === 1n ? `${a.num}` : `${a.num}/${a.den}`;
}

/** A non-negative decimal ("0.3333333333", "1", ".5", "1e-3" is refused) as an exact fraction. */
export function parseDecimal(text: string): Fraction | undefined {
  const m = /^(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) return undefined;
  const frac = m[2] ?? '';
  return fraction(BigInt((m[1] || '0') + frac), 10n ** BigInt(frac.length));
}

const TWO31 = 2n ** 31n;

/** The value the kernel stores for a probability: lround(P * 2^31), as libxt_statistic does. */
export function kernelProbabilityUnits(p: Fraction): bigint {
  // lround rounds half away from zero; P is non-negative.
  const scaled = p.num * TWO31 * 2n + p.den;
  return scaled / (2n * p.den);
}

/** The kernel's effective probability: units / 2^31. */
export function kernelProbability(p: Fraction): Fraction {
  return fraction(kernelProbabilityUnits(p), TWO31);
}

/** What iptables-save prints for a probability: "%.11f" of units / 2^31 (glibc: round half to even). */
export function formatKernelProbability(p: Fraction): string {
  const units = kernelProbabilityUnits(p);
  const scale = 10n ** 11n;
  const q = (units * scale) / TWO31;
  const r = (units * scale) % TWO31;
  let digits = q;
  if (r * 2n > TWO31 || (r * 2n === TWO31 && q % 2n === 1n)) digits += 1n;
  const s = digits.toString().padStart(12, '0');
  return `${s.slice(0, -11)}.${s.slice(-11)}`;
}
