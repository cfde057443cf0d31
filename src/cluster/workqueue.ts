// A controller's work queue: keys are deduplicated while waiting, processed first-in first-out.
// An array with a moving head keeps pop O(1); a Set of the waiting keys does the deduplication.

export class WorkQueue {
  private items: string[] = [];
  private head = 0;
  private readonly waiting = new Set<string>();

  add(key: string): void {
    // One hash lookup: the set grows only when the key was not waiting.
    const waiting = this.waiting;
    const before = waiting.size;
    waiting.add(key);
    if (waiting.size !== before) this.items.push(key);
  }

  /** The oldest waiting key, removed from the queue. */
  pop(): string | undefined {
    if (this.head === this.items.length) return undefined;
    const key = this.items[this.head++]!;
    this.waiting.delete(key);
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return key;
  }

  get size(): number {
    return this.items.length - this.head;
  }
}
