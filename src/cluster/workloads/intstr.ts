// IntOrString fields (maxSurge, maxUnavailable) resolved against a total, as apimachinery's
// intstr.GetScaledValueFromIntOrPercent does.

export type IntOrString = number | string;

export class IntOrStringError extends Error {
  constructor(readonly value: IntOrString) {
    super(`invalid value for IntOrString: ${JSON.stringify(value)} is not an integer or a percentage`);
    this.name = 'IntOrStringError';
  }
}

/** Parse `25%` → {percent: 25}; numbers stay numbers. Throws IntOrStringError otherwise. */
export function parseIntOrPercent(v: IntOrString): { value: number; percent: boolean } {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new IntOrStringError(v);
    return { value: v, percent: false };
  }
  if (!v.endsWith('%')) throw new IntOrStringError(v);
  const digits = v.slice(0, -1);
  // strconv.Atoi: an optional sign and decimal digits, nothing else.
  if (!/^[+-]?\d+$/.test(digits)) throw new IntOrStringError(v);
  return { value: Number.parseInt(digits, 10), percent: true };
}

/** A percentage scaled to `total` (rounded up or down), or the integer itself. Undefined counts as 0. */
export function scaledValue(v: IntOrString | undefined, total: number, roundUp: boolean): number {
  if (v === undefined) return 0;
  const p = parseIntOrPercent(v);
  if (!p.percent) return p.value;
  const f = (p.value * total) / 100;
  return roundUp ? Math.ceil(f) : Math.floor(f);
}

/** The raw value, ignoring `total` (validation's getIntOrPercentValue). */
export function intOrPercentValue(v: IntOrString | undefined): number {
  if (v === undefined) return 0;
  try {
    return parseIntOrPercent(v).value;
  } catch {
    return 0;
  }
}
