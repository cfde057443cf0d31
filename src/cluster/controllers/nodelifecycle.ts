// STUB — to be written: node lifecycle and taint eviction
import type { Controller, ControllerContext } from '../controller.js';

export class NodeLifecycleController implements Controller {
  readonly name = 'node-lifecycle';
  start(_ctx: ControllerContext): void {}
  sync(_key: string): void {}
}
