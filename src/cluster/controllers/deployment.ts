// STUB — to be written: Deployment controller
import type { Controller, ControllerContext } from '../controller.js';

export class DeploymentController implements Controller {
  readonly name = 'deployment';
  start(_ctx: ControllerContext): void {}
  sync(_key: string): void {}
}
