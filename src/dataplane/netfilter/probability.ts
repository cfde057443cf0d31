// Exact probabilities for branching rules.
//
// Decision: a `-m statistic --mode random --probability P` rule is read as the exact decimal
// written (kube-proxy's "%0.10f" text, e.g. 0.3333333333 = 3333333333/10^10), and a path's
// probability is the exact product of its choices (P or 1 - P) as a BigInt fraction. The
// branches of any chain then sum to exactly 1, with no tolerance needed.
// The kernel itself stores lround(P * 2^31) and compares it with a 31-bit random number, so its
// real probability differs from the text by less than 2^-32; `kernelProbability` gives that value
// for callers who want it (and iptables-save prints it with "%.11f", see `formatKernelProbability`).

export { type Fraction, ONE, ZERO, fraction, mul, add, complement, equals, toNumber, formatFraction } from '../../net/fraction.js';
import { fraction, type Fraction } from '../../net/fraction.js';

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
