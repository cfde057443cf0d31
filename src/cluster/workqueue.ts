// A controller's work queue: keys are deduplicated while waiting, processed first-in first-out.

export class WorkQueue {
  private readonly keys = new Set<string>();

  add(key: string): void {
    this.keys.add(key);
  }

  /** The oldest waiting key, removed from the queue. */
  pop(): string | undefined {
    const it = this.keys.values().next();
    if (it.done) return undefined;
    this.keys.delete(it.value);
    return it.value;
  }

  get size(): number {
    return this.keys.size;
  }
}
