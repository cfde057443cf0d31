// computeProbability(n) = Go fmt "%0.10f" of 1.0/float64(n).
// JS toFixed and Go both round the exact binary value; they differ only on an exact decimal tie,
// where Go rounds half to even and toFixed rounds up (1/2048 = 0.00048828125 is the one case).

const cache: string[] = [];

export function computeProbability(n: number): string {
  const x = 1 / n;
  const fixed = x.toFixed(10);
  const eleven = x.toFixed(11);
  const isTie = eleven.endsWith('5') && x.toFixed(30) === eleven + '0'.repeat(19);
  if (!isTie) return fixed;
  const down = eleven.slice(0, -1);
  const lastDigit = Number(down[down.length - 1]);
  return lastDigit % 2 === 0 ? down : fixed;
}

/** Memoised like the proxier's precomputed table. */
export function probability(n: number): string {
  let p = cache[n];
  if (p === undefined) {
    p = computeProbability(n);
    if (n <= 100_000) cache[n] = p;
  }
  return p;
}
