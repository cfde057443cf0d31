// STUB — to be written: StatefulSet controller
import type { Controller, ControllerContext } from '../controller.js';

export class StatefulSetController implements Controller {
  readonly name = 'statefulset';
  start(_ctx: ControllerContext): void {}
  sync(_key: string): void {}
}
