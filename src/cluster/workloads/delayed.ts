// Requeue-after with the delaying queue's deduplication: a key already waiting for an earlier (or
// the same) time is not scheduled again, so no-op syncs do not pile up timers.
import type { ControllerContext } from '../controller.js';

export class Delayed {
  private readonly due = new Map<string, number>();

  /**
   * `needed`, when given, is asked as a wait comes due: false means a sync now could change
   * nothing (the controller knows its last sync saw the current state and did not depend on
   * time), so the key is not queued.
   */
  constructor(
    private readonly ctx: ControllerContext,
    private readonly needed?: (key: string) => boolean,
  ) {}

  after(key: string, seconds: number): void {
    const delay = Math.max(0, seconds);
    const now = this.ctx.clock.now();
    const at = now + delay * 1000;
    const cur = this.due.get(key);
    if (cur !== undefined && cur >= now && cur <= at) return;
    this.due.set(key, at);
    const needed = this.needed;
    if (!needed) {
      this.ctx.enqueueAfter(key, delay);
      return;
    }
    // The same timer enqueueAfter sets, with the question asked when it fires.
    this.ctx.clock.after(delay, () => {
      if (needed(key)) this.ctx.queue.add(key);
      else this.synced(key);
    });
  }

  /** Call at the start of a sync: a wait that has come due is over. */
  synced(key: string): void {
    const cur = this.due.get(key);
    if (cur !== undefined && cur <= this.ctx.clock.now()) this.due.delete(key);
  }
}
