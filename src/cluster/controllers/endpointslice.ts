// STUB — to be written: EndpointSlice controller
import type { Controller, ControllerContext } from '../controller.js';

export class EndpointSliceController implements Controller {
  readonly name = 'endpointslice';
  start(_ctx: ControllerContext): void {}
  sync(_key: string): void {}
}
