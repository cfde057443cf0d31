// `ipvsadm -Sn` text of a model, in ipvsadm 1.31's layout (print_service_entry / print_dest with
// FMT_RULE): `-A SPEC -s SCHED [-p T [-M MASK]] [--pe PE] [-b FLAGS] [-o]`, then one
// `-a SPEC -r ADDR:PORT -m|-g|-i -w W [--tun-type ...]` line per real server in list order.
import { formatIPv4 } from '../../net/ip.js';
import {
  hostPort,
  SCHED_FLAG_1,
  SCHED_FLAG_2,
  SCHED_FLAG_3,
  serviceSpec,
  type IpvsConfig,
  type RealServer,
  type VirtualService,
} from './model.js';

/** The flag names ipvsadm prints for a scheduler (print_sched_flags), comma-separated. */
export function schedFlagNames(scheduler: string, bits: number): string[] {
  const names =
    scheduler === 'sh' ? ['sh-fallback', 'sh-port', 'flag-3'] : scheduler === 'mh' ? ['mh-fallback', 'mh-port', 'flag-3'] : ['flag-1', 'flag-2', 'flag-3'];
  const out: string[] = [];
  [SCHED_FLAG_1, SCHED_FLAG_2, SCHED_FLAG_3].forEach((bit, i) => {
    if (bits & bit) out.push(names[i]!);
  });
  return out;
}

/** The `-A` line of a virtual service. */
export function serviceLine(vs: VirtualService): string {
  let line = `-A ${serviceSpec(vs)} -s ${vs.scheduler}`;
  if (vs.persistence) {
    line += ` -p ${vs.persistence.timeout}`;
    const m = vs.persistence.netmask;
    if (vs.family === 4 && m !== 0xffffffff) line += ` -M ${formatIPv4(m)}`;
    if (vs.family === 6 && m !== 128) line += ` -M ${m}`;
  }
  if (vs.pe) line += ` --pe ${vs.pe}`;
  const flags = schedFlagNames(vs.scheduler, vs.schedFlags);
  if (flags.length) line += ` -b ${flags.join(',')}`;
  if (vs.onePacket) line += ' -o'; // the FMT_RULE spelling of one-packet scheduling is unverified
  return line;
}

const METHOD_SWITCH = { masq: '-m', route: '-g', tunnel: '-i' } as const;

/** The `-a` line of a real server of `vs`. */
export function serverLine(vs: VirtualService, rs: RealServer): string {
  let line = `-a ${serviceSpec(vs)} -r ${hostPort(rs.address, rs.port)} ${METHOD_SWITCH[rs.method]} -w ${rs.weight}`;
  if (rs.tunnel) {
    line += ` --tun-type ${rs.tunnel.type}`;
    if (rs.tunnel.port !== undefined) line += ` --tun-port ${rs.tunnel.port}`;
    if (rs.tunnel.checksum) line += ` --tun-${rs.tunnel.checksum}`;
  }
  // Deliberately not printed: ipvsadm 1.31's rule format has no -x/-y (thresholds are kept in the model).
  return line;
}

/** `ipvsadm -Sn` of the whole configuration (empty string when there is no service). */
export function printIpvsadm(config: IpvsConfig): string {
  const out: string[] = [];
  for (const vs of config.services) {
    out.push(serviceLine(vs));
    for (const rs of vs.realServers) out.push(serverLine(vs, rs));
  }
  return out.length ? `${out.join('\n')}\n` : '';
}
