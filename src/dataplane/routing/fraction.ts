// Exact branch probabilities. Same shape as the netfilter layer's Fraction ({num, den} BigInts), so
// the tracer can multiply probabilities from both without conversion.

export interface Fraction {
  readonly num: bigint;
  readonly den: bigint;
}

export const ONE: Fraction = { num: 1n, den: 1n };

function gcd(a: bigint, b: bigint): bigint {
  while (b) [a, b] = [b, a % b];
  return a < 0n ? -a : a;
}

export function fraction(num: bigint, den: bigint): Fraction {
  const g = gcd(num, den) || 1n;
  return { num: num / g, den: den / g };
}

export function mulFraction(a: Fraction, b: Fraction): Fraction {
  return fraction(a.num * b.num, a.den * b.den);
}

export function fractionValue(a: Fraction): number {
  return Number(a.num) / Number(a.den);
}
