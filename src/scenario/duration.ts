// Durations in scenario files: `30s`, `2m`, `1h30m`, `500ms`, `1.5s`; a plain number means seconds.

const UNIT_SECONDS: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
const TERM = /(\d+(?:\.\d+)?|\.\d+)(ms|h|m|s)/y;

export const DURATION_HINT = 'write a duration like 30s, 2m, 1h30m or 500ms; a plain number means seconds';

/** Seconds, or undefined when `v` is not a duration. Negative durations are not durations. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (s === '') return undefined;
  if (/^(\d+(\.\d+)?|\.\d+)$/.test(s)) return Number(s);
  let total = 0;
  let pos = 0;
  TERM.lastIndex = 0;
  while (pos < s.length) {
    TERM.lastIndex = pos;
    const m = TERM.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
    pos = TERM.lastIndex;
  }
  // Whole milliseconds, so 0.1s + 0.2s is 0.3 and not 0.30000000000000004.
  return Math.round(total * 1000) / 1000;
}

/** The shortest canonical text for a duration in seconds: `1h30m`, `2m5s`, `1.5s`, `500ms`, `0s`. */
export function formatDuration(seconds: number): string {
  let ms = Math.round(seconds * 1000);
  if (ms === 0) return '0s';
  const h = Math.floor(ms / 3_600_000);
  ms -= h * 3_600_000;
  const m = Math.floor(ms / 60_000);
  ms -= m * 60_000;
  let out = '';
  if (h) out += `${h}h`;
  if (m) out += `${m}m`;
  if (ms) out += ms % 1000 === 0 ? `${ms / 1000}s` : !out && ms < 1000 ? `${ms}ms` : `${ms / 1000}s`;
  return out;
}
