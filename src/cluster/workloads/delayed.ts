// Requeue-after with the delaying queue's deduplication: a key already waiting for an earlier (or
// the same) time is not scheduled again, so no-op syncs do not pile up timers.
import type { ControllerContext } from '../controller.js';

export class Delayed {
  private readonly due = new Map<string, number>();

  constructor(private readonly ctx: ControllerContext) {}

  after(key: string, seconds: number): void {
    const delay = Math.max(0, seconds);
    const now = this.ctx.clock.now();
    const at = now + delay * 1000;
    const cur = this.due.get(key);
    if (cur !== undefined && cur >= now && cur <= at) return;
    this.due.set(key, at);
    this.ctx.enqueueAfter(key, delay);
  }

  /** Call at the start of a sync: a wait that has come due is over. */
  synced(key: string): void {
    const cur = this.due.get(key);
    if (cur !== undefined && cur <= this.ctx.clock.now()) this.due.delete(key);
  }
}
