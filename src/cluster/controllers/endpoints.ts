// STUB — to be written: Endpoints controller
import type { Controller, ControllerContext } from '../controller.js';

export class EndpointsController implements Controller {
  readonly name = 'endpoints';
  start(_ctx: ControllerContext): void {}
  sync(_key: string): void {}
}
