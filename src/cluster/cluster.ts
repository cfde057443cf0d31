// The converge engine: a store, a virtual clock, one seeded generator and the controllers.
// settle() runs controllers until no queue has work; advance() moves time, firing timers.
import { Clock } from './clock.js';
import { Rng } from './rng.js';
import { Store } from './store.js';
import { WorkQueue } from './workqueue.js';
import type { Controller, ControllerContext, ClusterEvent } from './controller.js';
import type { ClusterConfig } from './config.js';
import { flat, objectRef, type KObject } from './object.js';
import { installPodIndexes } from './podindex.js';

export interface ClusterOptions {
  seed?: number;
  /** Virtual wall-clock start, ms since the Unix epoch. */
  epochMs?: number;
  /** Safety net against controllers that never agree: total syncs per settle(). */
  maxSyncsPerSettle?: number;
}

interface Registered {
  controller: Controller;
  queue: WorkQueue;
}

export class Cluster {
  readonly clock: Clock;
  readonly rng: Rng;
  readonly store: Store;
  readonly events: ClusterEvent[] = [];
  private readonly controllers: Registered[] = [];
  private readonly maxSyncs: number;
  /** Syncs run so far, per controller name (for benchmarks and tests). */
  readonly syncCounts = new Map<string, number>();

  constructor(
    readonly config: ClusterConfig,
    opts: ClusterOptions = {},
  ) {
    this.clock = new Clock(opts.epochMs);
    this.rng = new Rng(opts.seed ?? 1);
    this.store = new Store(this.clock, this.rng);
    // Controllers share these indexes; every cluster has them.
    installPodIndexes(this.store);
    this.maxSyncs = opts.maxSyncsPerSettle ?? 50_000_000;
  }

  /** Add a controller; controllers run in registration order within each settle round. */
  register(controller: Controller): void {
    const queue = new WorkQueue();
    const ctx: ControllerContext = {
      store: this.store,
      clock: this.clock,
      rng: this.rng,
      config: this.config,
      queue,
      enqueueAfter: (key, seconds) => this.clock.after(seconds, () => queue.add(key)),
      record: (object, type, reason, message) => this.record(controller.name, object, type, reason, message),
    };
    this.controllers.push({ controller, queue });
    controller.start(ctx);
  }

  controller<T extends Controller>(name: string): T | undefined {
    return this.controllers.find((r) => r.controller.name === name)?.controller as T | undefined;
  }

  /** Run controllers until every queue is empty. Returns the number of syncs run. */
  settle(): number {
    let total = 0;
    for (;;) {
      let round = 0;
      for (const { controller, queue } of this.controllers) {
        let n = 0;
        for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
          controller.sync(key);
          n++;
        }
        if (n) this.syncCounts.set(controller.name, (this.syncCounts.get(controller.name) ?? 0) + n);
        round += n;
      }
      total += round;
      if (round === 0) return total;
      if (total > this.maxSyncs) {
        throw new Error(`controllers did not settle after ${total} syncs (a controller keeps re-queueing work)`);
      }
    }
  }

  /** Move virtual time forward by `seconds`, firing due timers in order and settling after each. */
  advance(seconds: number): void {
    this.advanceTo(this.clock.now() + seconds * 1000);
  }

  /**
   * Move to an absolute virtual time (ms since the Unix epoch). `onSettled` is called after each
   * settled step, so callers can watch state change between timers.
   */
  advanceTo(ms: number, onSettled?: () => void): void {
    if (this.settle() && onSettled) onSettled();
    for (let t = this.clock.popDue(ms); t; t = this.clock.popDue(ms)) {
      t.fire();
      if (this.settle() && onSettled) onSettled();
    }
    this.clock.set(ms);
  }

  /** Seconds since the simulation began. */
  now(): number {
    return this.clock.elapsedSeconds();
  }

  private record(source: string, object: KObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    // Events are kept for the whole run: store their texts flat (see object.ts flat()). A
    // controller records events about one object in runs (a ReplicaSet's SuccessfulCreate per
    // pod): its reference text is made once per run.
    if (object !== this.lastEventObject) {
      this.lastEventObject = object;
      this.lastEventRef = flat(objectRef(object));
    }
    this.events.push({ t: this.clock.elapsedSeconds(), type, reason, object: this.lastEventRef, message: flat(message), source });
  }

  private lastEventObject: KObject | undefined;
  private lastEventRef = '';
}
