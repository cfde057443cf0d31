// STUB — to be written: kubelet
import type { Controller, ControllerContext } from '../controller.js';

export class Kubelet implements Controller {
  readonly name = 'kubelet';
  start(_ctx: ControllerContext): void {}
  sync(_key: string): void {}
}
