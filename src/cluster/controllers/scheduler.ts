// STUB — to be written: kube-scheduler
import type { Controller, ControllerContext } from '../controller.js';

export class Scheduler implements Controller {
  readonly name = 'scheduler';
  start(_ctx: ControllerContext): void {}
  sync(_key: string): void {}
}
