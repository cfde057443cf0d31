// RFC 3339 UTC timestamps to and from milliseconds, worked out by arithmetic: V8's Date
// toISOString() and Date.parse() cost about 2 µs each, and a pod churn event formats and parses
// several timestamps. Anything outside the common form is left to Date.
import { flat } from './object.js';

/** Years 1970 through 9999: the range written with four digits and handled here. */
const MIN_MS = 0;
const MAX_MS = 253402300800000; // 10000-01-01T00:00:00Z
const DAY_MS = 86_400_000;

/**
 * `YYYY-MM-DDTHH:MM:SS[.fff]Z` as Go's time.RFC3339Nano writes it in UTC: the fraction without
 * trailing zeros, and none at all when it is zero.
 */
export function formatRFC3339Nano(ms: number): string {
  if (!Number.isInteger(ms) || ms < MIN_MS || ms >= MAX_MS) return formatWithDate(ms);
  const days = Math.floor(ms / DAY_MS);
  const inDay = ms - days * DAY_MS;
  const [y, m, d] = civilFromDays(days);
  const secs = Math.floor(inDay / 1000);
  const milli = inDay - secs * 1000;
  const hh = Math.floor(secs / 3600);
  const mm = Math.floor((secs % 3600) / 60);
  const ss = secs % 60;
  let frac = '';
  if (milli !== 0) {
    frac = `.${pad(milli, 3)}`;
    while (frac.endsWith('0')) frac = frac.slice(0, -1);
  }
  return flat(`${y}-${pad(m, 2)}-${pad(d, 2)}T${pad(hh, 2)}:${pad(mm, 2)}:${pad(ss, 2)}${frac}Z`);
}

/**
 * Milliseconds since the epoch of `YYYY-MM-DDTHH:MM:SSZ` (the API server's second precision),
 * as Date.parse gives them; other texts go to Date.parse (NaN for junk).
 */
export function parseRFC3339(text: string): number {
  if (text.length !== 20 || !secondPrecisionShape(text)) return Date.parse(text);
  const y = digits(text, 0, 4);
  const m = digits(text, 5, 2);
  const d = digits(text, 8, 2);
  const hh = digits(text, 11, 2);
  const mm = digits(text, 14, 2);
  const ss = digits(text, 17, 2);
  // Out-of-range fields (and T24:00:00, which Date reads as the next day) are Date's to judge.
  if (y < 1970 || m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m) || hh > 23 || mm > 59 || ss > 59) {
    return Date.parse(text);
  }
  return daysFromCivil(y, m, d) * DAY_MS + ((hh * 60 + mm) * 60 + ss) * 1000;
}

function formatWithDate(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-01-01T00:00:05.120Z
  const dot = iso.lastIndexOf('.');
  if (dot < 0) return iso;
  let end = iso.length - 1;
  while (end > dot + 1 && iso.charCodeAt(end - 1) === 48) end--;
  return end === dot + 1 ? `${iso.slice(0, dot)}Z` : `${iso.slice(0, end)}Z`;
}

// `dddd-dd-ddTdd:dd:ddZ`
function secondPrecisionShape(t: string): boolean {
  for (let i = 0; i < 19; i++) {
    const c = t.charCodeAt(i);
    if (i === 4 || i === 7) {
      if (c !== 45) return false; // -
    } else if (i === 10) {
      if (c !== 84) return false; // T
    } else if (i === 13 || i === 16) {
      if (c !== 58) return false; // :
    } else if (c < 48 || c > 57) {
      return false;
    }
  }
  return t.charCodeAt(19) === 90; // Z
}

function digits(t: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) v = v * 10 + (t.charCodeAt(i) - 48);
  return v;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian calendar).
function daysFromCivil(year: number, m: number, d: number): number {
  const y = m <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}
