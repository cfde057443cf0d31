// STUB — to be written: garbage collector
import type { Controller, ControllerContext } from '../controller.js';

export class GarbageCollector implements Controller {
  readonly name = 'garbagecollector';
  start(_ctx: ControllerContext): void {}
  sync(_key: string): void {}
}
