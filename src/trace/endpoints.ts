// `--from` and `--to` of `kubepath trace`, resolved against the cluster state.
//   from: pod/NS/NAME | node/NAME | ip/ADDR | internet
//   to:   tcp://IP:PORT | udp://IP:PORT | sctp://IP:PORT | http(s)://HOST[:PORT][/path]
//         svc/NS/NAME[:PORT] | pod/NS/NAME:PORT | node/NAME:PORT | ip/ADDR:PORT
// A bad or unknown one is an InputError naming the flag and what exists instead.
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { Stored } from '../cluster/object.js';
import type { Store } from '../cluster/store.js';
import { InputError } from '../manifest/diagnostic.js';
import { parseIp } from '../net/ip.js';
import type { L4Protocol } from '../net/packet.js';
import type { Fabric } from '../dataplane/fabric/fabric.js';
import { internalIP } from './cni-view.js';
import type { Flow } from './session.js';
import type { Start } from './tracer.js';

export const FROM_FORMS = 'pod/NS/NAME, node/NAME, ip/ADDR or internet';
export const TO_FORMS = 'tcp://IP:PORT, udp://IP:PORT, sctp://IP:PORT, http://HOST[:PORT], svc/NS/NAME[:PORT], pod/NS/NAME:PORT, node/NAME:PORT or ip/ADDR:PORT';

function bad(field: string, message: string, hint: string): never {
  throw new InputError([{ severity: 'error', field, message, hint }]);
}

function podOf(store: Store, field: string, ns: string, name: string): Stored<Pod> {
  const pod = store.get<Stored<Pod>>('Pod', ns, name);
  if (!pod) {
    const names = store.list<Stored<Pod>>('Pod', ns).map((p) => p.metadata.name).slice(0, 8);
    bad(field, `pod ${ns}/${name} not found`, names.length ? `pods in ${ns}: ${names.join(', ')}` : `namespace ${ns} has no pods`);
  }
  return pod;
}

export interface ResolvedFrom {
  readonly start: Start;
  readonly label: string;
  readonly src?: string;
}

export function resolveFrom(text: string, store: Store, fabric: Fabric): ResolvedFrom {
  const field = '--from';
  if (text === 'internet') return { start: { kind: 'external', label: 'internet' }, label: 'internet' };
  const [kind, ...rest] = text.split('/');
  if (kind === 'pod') {
    if (rest.length !== 2) bad(field, `"${text}" is not pod/NS/NAME`, 'e.g. --from pod/default/client-7d9f');
    const pod = podOf(store, field, rest[0]!, rest[1]!);
    if (!pod.spec?.nodeName) bad(field, `pod ${rest[0]}/${rest[1]} is not scheduled (Pending)`, 'pick a running pod: kubepath get pods SCENARIO');
    if (pod.spec.hostNetwork) return { start: { kind: 'node', node: pod.spec.nodeName }, label: text };
    if (!pod.status?.podIPs?.length) bad(field, `pod ${rest[0]}/${rest[1]} has no IP yet (${pod.status?.phase ?? 'Pending'})`, 'trace at a later time with --at, or pick a running pod');
    return { start: { kind: 'pod', namespace: rest[0]!, name: rest[1]!, node: pod.spec.nodeName }, label: text };
  }
  if (kind === 'node') {
    if (rest.length !== 1 || !store.get('Node', undefined, rest[0]!)) {
      const names = store.list('Node').map((n) => n.metadata.name).slice(0, 8);
      bad(field, `node "${rest.join('/')}" not found`, `the nodes are: ${names.join(', ')}`);
    }
    return { start: { kind: 'node', node: rest[0]! }, label: text };
  }
  if (kind === 'ip') {
    const addr = rest.join('/');
    if (!parseIp(addr)) bad(field, `"${addr}" is not an IP address`, 'e.g. --from ip/203.0.113.7');
    // An address a node or pod holds starts there; any other enters from outside.
    const owner = fabric.ownerOf(addr);
    if (owner?.owner.startsWith('node/')) return { start: { kind: 'node', node: owner.node }, label: text, src: addr };
    const pod = store.list<Stored<Pod>>('Pod').find((p) => !p.spec?.hostNetwork && p.status?.podIPs?.some((x) => x.ip === addr) && p.spec?.nodeName);
    if (pod) return { start: { kind: 'pod', namespace: pod.metadata.namespace!, name: pod.metadata.name!, node: pod.spec!.nodeName! }, label: text, src: addr };
    return { start: { kind: 'external', label: addr }, label: text, src: addr };
  }
  return bad(field, `"${text}" is not a source`, `use ${FROM_FORMS}`);
}

export interface ResolvedTo {
  readonly flow: Flow;
  readonly label: string;
}

const SCHEMES: Record<string, { proto: L4Protocol; port?: number }> = {
  tcp: { proto: 'tcp' },
  udp: { proto: 'udp' },
  sctp: { proto: 'sctp' },
  http: { proto: 'tcp', port: 80 },
  https: { proto: 'tcp', port: 443 },
};

function port(field: string, text: string | undefined, what: string): number {
  const n = Number(text);
  if (!text || !Number.isInteger(n) || n < 1 || n > 65535) bad(field, `${what}: "${text ?? ''}" is not a port (1-65535)`, `e.g. --to ${what}:80`);
  return n;
}

/** Split `HOST:PORT`, with IPv6 in brackets. */
function hostPort(text: string): [string, string | undefined] {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (m) return [m[1]!, m[2]];
  const i = text.lastIndexOf(':');
  return i > 0 && text.indexOf(':') === i ? [text.slice(0, i), text.slice(i + 1)] : [text, undefined];
}

export function resolveTo(text: string, store: Store): ResolvedTo {
  const field = '--to';
  const scheme = /^([a-z]+):\/\/([^/]*)(\/.*)?$/.exec(text);
  if (scheme) {
    const s = SCHEMES[scheme[1]!];
    if (!s) bad(field, `scheme "${scheme[1]}" is not supported`, `use ${TO_FORMS}`);
    const [host, p] = hostPort(scheme[2]!);
    const dport = p !== undefined ? port(field, p, host) : (s.port ?? bad(field, `"${text}" has no port`, `e.g. ${scheme[1]}://${host}:80`));
    const dst = parseIp(host) ? host : serviceByDnsName(store, host, field);
    return { flow: { proto: s.proto, dst, dport }, label: text };
  }
  const [kind, ...rest] = text.split('/');
  const joined = rest.join('/');
  if (kind === 'svc') {
    const [ns, nameAndPort] = [rest[0], rest.slice(1).join('/')];
    if (!ns || !nameAndPort) bad(field, `"${text}" is not svc/NS/NAME[:PORT]`, 'e.g. --to svc/default/web:80');
    const [name, portText] = nameAndPort.split(':') as [string, string | undefined];
    const svc = store.get<Stored<Service>>('Service', ns, name);
    if (!svc) {
      const names = store.list<Stored<Service>>('Service', ns).map((x) => x.metadata.name);
      bad(field, `service ${ns}/${name} not found`, names.length ? `services in ${ns}: ${names.join(', ')}` : `namespace ${ns} has no services`);
    }
    const ip = svc.spec?.clusterIP;
    if (!ip || ip === 'None') bad(field, `service ${ns}/${name} has no ClusterIP (${ip === 'None' ? 'headless' : svc.spec?.type ?? 'ExternalName'})`, 'trace to one of its pods: --to pod/NS/NAME:PORT');
    const ports = svc.spec?.ports ?? [];
    const sp = portText === undefined ? ports[0] : ports.find((x) => x.name === portText || String(x.port) === portText);
    if (!sp) bad(field, `service ${ns}/${name} has no port "${portText}"`, `its ports: ${ports.map((x) => `${x.port}${x.name ? ` (${x.name})` : ''}/${x.protocol ?? 'TCP'}`).join(', ') || 'none'}`);
    return { flow: { proto: (sp.protocol ?? 'TCP').toLowerCase() as L4Protocol, dst: ip, dport: sp.port }, label: text };
  }
  if (kind === 'pod') {
    const [ns, rest2] = [rest[0], rest.slice(1).join('/')];
    const [name, p] = (rest2 ?? '').split(':') as [string, string | undefined];
    if (!ns || !name) bad(field, `"${text}" is not pod/NS/NAME:PORT`, 'e.g. --to pod/default/web-0:8080');
    const pod = podOf(store, field, ns, name);
    const ip = pod.status?.podIP ?? (pod.spec?.hostNetwork ? undefined : undefined);
    const addr = ip ?? (pod.spec?.hostNetwork && pod.spec.nodeName ? nodeAddress(store, pod.spec.nodeName) : undefined);
    if (!addr) bad(field, `pod ${ns}/${name} has no IP yet`, 'trace at a later time with --at');
    return { flow: { proto: 'tcp', dst: addr, dport: port(field, p, `pod/${ns}/${name}`) }, label: text };
  }
  if (kind === 'node') {
    const [name, p] = joined.split(':') as [string, string | undefined];
    const addr = nodeAddress(store, name);
    if (!addr) bad(field, `node "${name}" not found`, `the nodes are: ${store.list('Node').map((n) => n.metadata.name).slice(0, 8).join(', ')}`);
    return { flow: { proto: 'tcp', dst: addr, dport: port(field, p, `node/${name}`) }, label: text };
  }
  if (kind === 'ip') {
    const [addr, p] = hostPort(joined);
    if (!parseIp(addr)) bad(field, `"${addr}" is not an IP address`, 'e.g. --to ip/10.96.0.10:53');
    return { flow: { proto: 'tcp', dst: addr, dport: port(field, p, `ip/${addr}`) }, label: text };
  }
  return bad(field, `"${text}" is not a destination`, `use ${TO_FORMS}`);
}

function nodeAddress(store: Store, name: string): string | undefined {
  const node = store.get('Node', undefined, name);
  return node ? internalIP(node as never) : undefined;
}

/** `NAME.NS[.svc[.cluster.local]]` → the Service's ClusterIP (what CoreDNS answers for a ClusterIP Service). */
function serviceByDnsName(store: Store, host: string, field: string): string {
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)(?:\.svc(?:\.cluster\.local)?)?\.?$/.exec(host);
  const svc = m ? store.get<Stored<Service>>('Service', m[2]!, m[1]!) : undefined;
  const ip = svc?.spec?.clusterIP;
  if (!svc || !ip || ip === 'None') return bad(field, `"${host}" is neither an IP address nor a ClusterIP Service name`, 'use an IP, or NAME.NAMESPACE.svc.cluster.local of a ClusterIP Service');
  return ip;
}
