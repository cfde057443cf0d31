// STUB — to be written: Job controller
import type { Controller, ControllerContext } from '../controller.js';

export class JobController implements Controller {
  readonly name = 'job';
  start(_ctx: ControllerContext): void {}
  sync(_key: string): void {}
}
