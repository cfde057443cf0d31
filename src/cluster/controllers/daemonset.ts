// STUB — to be written: DaemonSet controller
import type { Controller, ControllerContext } from '../controller.js';

export class DaemonSetController implements Controller {
  readonly name = 'daemonset';
  start(_ctx: ControllerContext): void {}
  sync(_key: string): void {}
}
