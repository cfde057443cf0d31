// Exact probabilities as BigInt fractions: what every branching element (netfilter statistic
// rules, IPVS schedulers, multipath routes) returns, so the tracer multiplies them without loss.

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

// Products and complements remembered by operand identity. A rule's probability is one object for
// the rule's life, so the products along a path are the same objects trace after trace; the BigInt
// work (numbers of a hundred digits and more after fifteen kube-proxy choices) is done once.
const products = new WeakMap<Fraction, WeakMap<Fraction, Fraction>>();
const complements = new WeakMap<Fraction, Fraction>();

export function mul(a: Fraction, b: Fraction): Fraction {
  // Most factors along a path are 1: skip the gcd then.
  if (a.num === a.den) return b;
  if (b.num === b.den) return a;
  let row = products.get(a);
  if (!row) products.set(a, (row = new WeakMap()));
  let product = row.get(b);
  if (!product) row.set(b, (product = fraction(a.num * b.num, a.den * b.den)));
  return product;
}

export function add(a: Fraction, b: Fraction): Fraction {
  return fraction(a.num * b.den + b.num * a.den, a.den * b.den);
}

export function complement(a: Fraction): Fraction {
  let c = complements.get(a);
  if (!c) complements.set(a, (c = fraction(a.den - a.num, a.den)));
  return c;
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

/** `N` or `N/D`, as formatFraction writes it. */
export function parseFraction(text: string): Fraction {
  const [n, d] = text.split('/');
  return fraction(BigInt(n!), BigInt(d ?? '1'));
}
