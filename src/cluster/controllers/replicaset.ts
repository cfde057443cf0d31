// STUB — to be written: ReplicaSet controller
import type { Controller, ControllerContext } from '../controller.js';

export class ReplicaSetController implements Controller {
  readonly name = 'replicaset';
  start(_ctx: ControllerContext): void {}
  sync(_key: string): void {}
}
