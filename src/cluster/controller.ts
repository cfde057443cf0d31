// The contract every controller follows: subscribe to watches in start(), enqueue keys from
// event handlers, and do the work in sync(key). Handlers must not write to the store.
import type { Store } from './store.js';
import type { Clock } from './clock.js';
import type { Rng } from './rng.js';
import type { ClusterConfig } from './config.js';
import type { WorkQueue } from './workqueue.js';
import type { KObject } from './object.js';

export interface ClusterEvent {
  /** Seconds since the simulation started. */
  t: number;
  type: 'Normal' | 'Warning';
  reason: string;
  /** `Kind/ns/name` of the object the event is about. */
  object: string;
  message: string;
  source: string;
}

export interface ControllerContext {
  store: Store;
  clock: Clock;
  rng: Rng;
  config: ClusterConfig;
  queue: WorkQueue;
  /** Put a key back on this controller's queue after a virtual delay. */
  enqueueAfter(key: string, seconds: number): void;
  /** Record an event (as `kubectl get events` would show it). */
  record(object: KObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export interface Controller {
  readonly name: string;
  start(ctx: ControllerContext): void;
  sync(key: string): void;
}
