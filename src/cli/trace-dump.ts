// `kubepath trace --iptables-save FILE --from ip/ADDR --to tcp://IP:PORT [--node-ip IP]... [-o text|json]`:
// every outcome of one packet through a node's iptables-save dump, with its exact probability, the
// rules that decided it (as written in the dump), NAT, the verdict, and kube-proxy's names.
import { InputError } from '../manifest/diagnostic.js';
import { traceDump, type DumpTrace, type TracePath } from '../trace/dump.js';

export interface TraceDumpOptions {
  readonly iptablesSave: string;
  readonly from?: string;
  readonly to?: string;
  readonly nodeIp?: readonly string[];
  readonly inInterface?: string;
  readonly ipsetSave?: string;
  readonly ipvsadmSave?: string;
  readonly output?: string;
}

export function traceDumpCommand(o: TraceDumpOptions): string {
  const missing = (['from', 'to'] as const).filter((k) => !o[k]);
  if (missing.length) {
    throw new InputError(missing.map((k) => ({ severity: 'error' as const, field: `--${k}`, message: `--${k} is required`, hint: k === 'from' ? 'e.g. --from ip/10.244.1.5' : 'e.g. --to tcp://10.96.0.10:53' })));
  }
  const output = o.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw new InputError([{ severity: 'error', field: '-o', message: `"${output}" is not an output format here`, hint: 'use text or json' }]);
  const result = traceDump({
    file: o.iptablesSave,
    from: o.from!,
    to: o.to!,
    nodeIPs: o.nodeIp ?? [],
    ...(o.inInterface ? { inInterface: o.inInterface } : {}),
    ...(o.ipsetSave ? { ipsetFile: o.ipsetSave } : {}),
    ...(o.ipvsadmSave ? { ipvsadmFile: o.ipvsadmSave } : {}),
  });
  return output === 'json' ? JSON.stringify(result, null, 2) : renderTraceText(result);
}

function pct(p: number): string {
  return `${(p * 100).toFixed(p === 1 || p === 0 ? 0 : 2)}%`;
}

function fate(path: TracePath): string {
  switch (path.outcome) {
    case 'delivered':
      return path.delivery === 'local'
        ? 'delivered to the node itself'
        : `delivered${path.delivery === 'output' ? ' (sent by the node)' : ' (forwarded)'}${path.outInterface ? ` out ${path.outInterface}` : ''}`;
    case 'rejected':
      return `rejected (${path.rejectWith ?? 'icmp-port-unreachable'})`;
    case 'dropped':
      return 'dropped';
    case 'no-route':
      return 'no route';
  }
}

/** The human-readable report. */
export function renderTraceText(t: DumpTrace): string {
  const r = t.request;
  const pk = r.packet;
  const out: string[] = [];
  out.push(`${pk.proto} ${pk.src}:${pk.sport} -> ${pk.dst}:${pk.dport} through ${r.iptablesSave}`);
  out.push(
    `  node addresses: ${r.nodeIPs.length ? r.nodeIPs.join(', ') : '(none given: only loopback is local)'}; enters at ${r.entry}${r.inInterface ? ` on ${r.inInterface}` : ''}`,
  );
  out.push(`${t.paths.length} possible path${t.paths.length === 1 ? '' : 's'}:`);
  t.paths.forEach((p, i) => {
    out.push('');
    out.push(`path ${i + 1}: p = ${p.probabilityNominal} (${pct(p.probability)}), ${fate(p)}`);
    if (p.service) out.push(`  service:   ${p.service}`);
    if (p.endpoint) out.push(`  endpoint:  ${p.endpoint}`);
    out.push(`  DNAT:      ${p.dnat ? `${p.dnat.from} -> ${p.dnat.to}` : 'none'}`);
    out.push(`  SNAT:      ${p.snat ? `${p.snat.from} -> ${p.snat.to}${p.sourcePortMayVary ? ' (the kernel may pick another source port)' : ''}` : 'none'}`);
    if (p.clientIpSeen) out.push(`  client IP seen by the destination: ${p.clientIpSeen}`);
    if (p.probabilityExact !== p.probabilityNominal) out.push(`  exact kernel probability: ${p.probabilityExact}`);
    out.push('  rules:');
    // Built-in chains ending in policy ACCEPT decide nothing; -o json lists them too.
    for (const h of p.hops.filter((x) => x.action !== 'policy ACCEPT')) {
      out.push(`    ${h.hook.padEnd(11)} ${h.table.padEnd(6)} ${h.rule}`);
      out.push(`    ${''.padEnd(18)} => ${h.action}${h.note ? `: ${h.note}` : ''}`);
    }
  });
  return out.join('\n');
}
