// RFC 3339 timestamps (second precision) are built per status write; most writes within a
// settle share one virtual second, so remember the last few.
import type { Clock } from '../clock.js';

export class Timestamps {
  private lastSecond = NaN;
  private lastText = '';

  constructor(private readonly clock: Clock) {}

  /** `clock.rfc3339(ms)`, remembered for the most recent second. */
  at(ms: number = this.clock.now()): string {
    const s = Math.floor(ms / 1000);
    if (s !== this.lastSecond) {
      this.lastSecond = s;
      this.lastText = this.clock.rfc3339(ms);
    }
    return this.lastText;
  }
}
