// The per-key exponential failure backoff of a rate-limited work queue (ItemExponentialFailure
// RateLimiter) together with the controllers' maxRetries: retry after base·2^n seconds, capped,
// and give up after maxRetries requeues.
import type { ControllerContext } from '../controller.js';

export class RetryBackoff {
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly baseSeconds: number,
    private readonly maxSeconds: number,
    private readonly maxRetries: number,
  ) {}

  /** handleErr: requeue with backoff, or drop the key once its retries are spent. */
  failed(ctx: ControllerContext, key: string): void {
    const n = this.failures.get(key) ?? 0;
    if (n >= this.maxRetries) {
      this.failures.delete(key);
      return;
    }
    this.failures.set(key, n + 1);
    ctx.enqueueAfter(key, Math.min(this.baseSeconds * 2 ** n, this.maxSeconds));
  }

  /** Forget: a successful sync resets the backoff. */
  succeeded(key: string): void {
    this.failures.delete(key);
  }

  /** Requeues so far (NumRequeues). */
  requeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}
