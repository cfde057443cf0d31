// STUB — to be written: EndpointSliceMirroring controller
import type { Controller, ControllerContext } from '../controller.js';

export class EndpointSliceMirroringController implements Controller {
  readonly name = 'endpointslicemirroring';
  start(_ctx: ControllerContext): void {}
  sync(_key: string): void {}
}
