// Splitting an iptables-restore line into arguments, and quoting a value back the way
// iptables-save does. Both follow libxtables (1.8.x): inside double quotes a backslash escapes the
// next character and the closing quote ends the argument; outside quotes a backslash is literal.

export interface Token {
  /** The argument after unquoting. */
  readonly value: string;
  /** The argument as written, quotes and escapes included (what the exact printer emits). */
  readonly raw: string;
}

export type TokenizeResult = { ok: true; tokens: Token[] } | { ok: false; message: string };

export function tokenizeLine(line: string): TokenizeResult {
  if (!line.includes('"')) {
    // No quotes: arguments are the blank-separated words, as written.
    const tokens: Token[] = [];
    let i = 0;
    const n = line.length;
    while (i < n) {
      let c = line.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) {
        i++;
        continue;
      }
      const start = i;
      while (i < n) {
        c = line.charCodeAt(i);
        if (c === 32 || c === 9 || c === 10 || c === 13) break;
        i++;
      }
      const word = line.slice(start, i);
      tokens.push({ value: word, raw: word });
    }
    return { ok: true, tokens };
  }
  const tokens: Token[] = [];
  let value = '';
  let start = -1;
  let inQuote = false;
  let escaped = false;
  let quoted = false;
  const flush = (end: number) => {
    if (value.length > 0 || quoted) tokens.push({ value, raw: line.slice(start, end) });
    value = '';
    start = -1;
    quoted = false;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (start < 0 && !(c === ' ' || c === '\t' || c === '\n' || c === '\r')) start = i;
    if (inQuote) {
      if (escaped) {
        value += c;
        escaped = false;
      } else if (c === '\\') {
        escaped = true;
      } else if (c === '"') {
        inQuote = false;
        flush(i + 1); // the closing quote ends the argument, as in add_param_to_argv
      } else {
        // Copy the run up to the next quote or backslash at once.
        let j = i + 1;
        while (j < line.length && line[j] !== '"' && line[j] !== '\\') j++;
        value += line.slice(i, j);
        i = j - 1;
      }
      continue;
    }
    if (c === '"') {
      inQuote = true;
      quoted = true;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (start >= 0 && (value.length > 0 || quoted)) flush(i);
      else start = -1;
      continue;
    }
    value += c;
  }
  if (inQuote) return { ok: false, message: 'unterminated quoted string' };
  if (start >= 0) flush(line.length);
  return { ok: true, tokens };
}

const NO_QUOTE = /^[A-Za-z0-9_-]+$/;

/** A value as iptables-save prints strings (comments, log prefixes): bare when safe, else quoted. */
export function saveString(value: string): string {
  if (NO_QUOTE.test(value)) return value;
  let out = '"';
  for (const c of value) out += c === '"' || c === '\\' || c === "'" ? `\\${c}` : c;
  return `${out}"`;
}
