// Virtual time: nothing in a simulation reads the wall clock. Timers fire in (time, insertion) order.
import { formatRFC3339Nano } from './rfc3339.js';

export type Timer = { at: number; seq: number; fire: () => void };

export class Clock {
  private nowMs: number;
  private seq = 0;
  private heap: Timer[] = [];
  /**
   * The last two seconds rfc3339() formatted, and their texts: most calls ask for the current
   * second, and the rest mostly for one other (a deletion's deadline, a container's start).
   */
  private textSecond = NaN;
  private text = '';
  private otherSecond = NaN;
  private otherText = '';
  private readonly texts = new Map<number, string>();

  constructor(readonly epochMs: number = Date.UTC(2026, 0, 1)) {
    this.nowMs = epochMs;
  }

  /** Milliseconds since the Unix epoch, virtual. */
  now(): number {
    return this.nowMs;
  }

  /** Seconds since the simulation started. */
  elapsedSeconds(): number {
    return (this.nowMs - this.epochMs) / 1000;
  }

  /** RFC 3339 with second precision, as the API server writes timestamps. */
  rfc3339(ms: number = this.nowMs): string {
    const second = Math.floor(ms / 1000);
    if (second === this.textSecond) return this.text;
    if (second !== this.otherSecond) {
      // A third second in play (deadlines, start times): the texts made before.
      let text = this.texts.get(second);
      if (text === undefined) {
        text = formatRFC3339Nano(second * 1000);
        if (this.texts.size >= 4096) this.texts.clear();
        this.texts.set(second, text);
      }
      this.otherText = text;
      this.otherSecond = second;
    }
    // Swap, so the newest second is checked first.
    const text = this.otherText;
    this.otherSecond = this.textSecond;
    this.otherText = this.text;
    this.textSecond = second;
    this.text = text;
    return text;
  }

  /** Run `fire` once virtual time reaches now + delaySeconds. */
  after(delaySeconds: number, fire: () => void): void {
    this.push({ at: this.nowMs + Math.max(0, delaySeconds) * 1000, seq: this.seq++, fire });
  }

  /** Time of the next pending timer, if any. */
  nextAt(): number | undefined {
    return this.heap[0]?.at;
  }

  /** Pop every timer due at or before `ms`, moving the clock to each one's time before firing it. */
  popDue(ms: number): Timer | undefined {
    const top = this.heap[0];
    if (!top || top.at > ms) return undefined;
    this.pop();
    if (top.at > this.nowMs) this.nowMs = top.at;
    return top;
  }

  /** Move the clock forward (never backward). */
  set(ms: number): void {
    if (ms > this.nowMs) this.nowMs = ms;
  }

  private push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      // Swapped through a local: a destructuring swap allocates an array (and an iterator).
      const t = h[i]!;
      h[i] = h[p]!;
      h[p] = t;
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      const t = h[i]!;
      h[i] = h[m]!;
      h[m] = t;
      i = m;
    }
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
