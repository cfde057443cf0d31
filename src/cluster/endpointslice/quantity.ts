// resource.Quantity MilliValue for CPU figures such as "4", "3920m", "0.5" or "2k".

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/;

/** The quantity in thousandths, rounded up as MilliValue does; 0 for a missing or bad value. */
export function milliValue(q: string | number | undefined): number {
  if (q === undefined) return 0;
  if (typeof q === 'number') return Math.ceil(q * 1000);
  const m = QUANTITY.exec(q.trim());
  if (!m) return 0;
  const base = Number(m[1]);
  const scale = m[2] !== undefined ? 10 ** Number(m[2]) : SUFFIX[m[3] ?? '']!;
  // Round away float noise before taking the ceiling ("0.1" * 1000 is 100.00000000000001).
  const milli = Math.round(base * scale * 1000 * 1e6) / 1e6;
  return Math.ceil(milli);
}
