// STUB — to be written: node podCIDR allocation
import type { Controller, ControllerContext } from '../controller.js';

export class NodeIpamController implements Controller {
  readonly name = 'node-ipam';
  start(_ctx: ControllerContext): void {}
  sync(_key: string): void {}
}
