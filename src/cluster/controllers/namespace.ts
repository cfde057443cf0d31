// STUB — to be written: namespace lifecycle
import type { Controller, ControllerContext } from '../controller.js';

export class NamespaceController implements Controller {
  readonly name = 'namespace';
  start(_ctx: ControllerContext): void {}
  sync(_key: string): void {}
}
