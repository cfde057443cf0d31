// The portmap CNI plugin (containernetworking/plugins plugins/meta/portmap, iptables backend):
// a pod's hostPorts become DNAT rules in the nat table, as one iptables-restore payload for a node.
//   PREROUTING, OUTPUT   -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT   (appended)
//   CNI-HOSTPORT-DNAT    per container, per protocol, -m multiport --dports … -j CNI-DN-<hash>
//                        (each container's entries inserted at the top: the latest pod wins)
//   CNI-DN-<hash>        per hostPort: hairpin mark, localhost mark, DNAT to podIP:containerPort
//   CNI-HOSTPORT-SETMARK -j MARK --set-xmark 0x2000/0x2000 (markMasqBit 13)
//   CNI-HOSTPORT-MASQ    -m mark --mark 0x2000/0x2000 -j MASQUERADE, entered from the top of POSTROUTING
// The chain hash is sha512(<network name> + <container ID>); the container ID is the sandbox's,
// which kubepath derives from the pod UID (a runtime draws it at random).
import { createHash } from 'node:crypto';
import { containsIp } from '../../net/cidr.js';
import { saveString } from '../netfilter/tokens.js';
import { sandboxId } from './names.js';
import type { CniNode, CniPod } from './types.js';

export interface PortmapOptions {
  /** The CNI network name in the conflist (`cbr0` for kube-flannel, `k8s-pod-network` for Calico). */
  readonly networkName?: string;
  /**
   * Prefix length of the pod's address in the CNI result (the hairpin rule masquerades that
   * subnet): default the node podCIDR's length when the pod IP is in it (bridge + host-local),
   * else 32 (Calico's /32).
   */
  readonly podPrefixLength?: number;
  /** The sandbox ID the runtime passed to CNI ADD (default: derived from the pod UID). */
  readonly containerId?: (pod: CniPod) => string;
  /** portmap's markMasqBit (default 13). */
  readonly markMasqBit?: number;
}

export const HOSTPORT_DNAT_CHAIN = 'CNI-HOSTPORT-DNAT';
export const HOSTPORT_SETMARK_CHAIN = 'CNI-HOSTPORT-SETMARK';
export const HOSTPORT_MASQ_CHAIN = 'CNI-HOSTPORT-MASQ';
/** multiport takes at most 15 ports per rule. */
const MULTIPORT_MAX = 15;
const CHAIN_LEN = 28;

/** utils.MustFormatChainNameWithPrefix(name, id, "DN-"): `CNI-DN-` + sha512(name+id) hex, cut to 28 characters. */
export function portmapChainName(networkName: string, containerId: string): string {
  return `CNI-DN-${createHash('sha512').update(networkName + containerId).digest('hex')}`.slice(0, CHAIN_LEN);
}

function maskedCidr(ip: string, len: number): string {
  // iptables-save prints `-s` as the network: 10.244.1.5/24 → 10.244.1.0/24.
  const parts = ip.split('.').map(Number);
  const n = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  const net = (n & mask) >>> 0;
  return `${[net >>> 24, (net >>> 16) & 255, (net >>> 8) & 255, net & 255].join('.')}/${len}`;
}

/**
 * The nat-table rules portmap leaves on `node` for its pods with hostPorts (pods in CNI ADD order;
 * IPv4 only), as an `iptables-restore --noflush` payload. Empty when no pod has a hostPort.
 */
export function renderPortmap(pods: readonly CniPod[], node: CniNode, options: PortmapOptions = {}): string {
  const networkName = options.networkName ?? 'cbr0';
  const bit = options.markMasqBit ?? 13;
  const mark = `0x${(2 ** bit).toString(16)}/0x${(2 ** bit).toString(16)}`;
  const entries: { chain: string; entryRules: string[]; rules: string[] }[] = [];
  for (const pod of pods) {
    if (pod.hostNetwork || pod.node !== node.name || pod.hostPorts.length === 0) continue;
    const ip = pod.ips.find((a) => !a.includes(':'));
    if (!ip) continue;
    const cid = options.containerId?.(pod) ?? sandboxId(pod);
    const chain = portmapChainName(networkName, cid);
    const comment = saveString(`dnat name: "${networkName}" id: "${cid}"`.slice(0, 256));
    const len = options.podPrefixLength ?? node.podCIDRs.find((c) => !c.includes(':') && containsIp(c, ip))?.split('/')[1];
    const masqCidr = maskedCidr(ip, Number(len ?? 32));
    // Entry rules: one per protocol (sorted) and per 15 ports.
    // Entry rules list every hostPort, whatever the family of its hostIP (as upstream does).
    const byProto = new Map<string, number[]>();
    const mappings = pod.hostPorts.filter((h) => !h.hostIP || !h.hostIP.includes(':'));
    for (const h of pod.hostPorts) {
      const proto = h.protocol.toLowerCase();
      byProto.set(proto, [...(byProto.get(proto) ?? []), h.hostPort]);
    }
    const entryRules: string[] = [];
    for (const proto of [...byProto.keys()].sort()) {
      const ports = byProto.get(proto)!;
      for (let i = 0; i < ports.length; i += MULTIPORT_MAX) {
        entryRules.push(`-A ${HOSTPORT_DNAT_CHAIN} -p ${proto} -m comment --comment ${comment} -m multiport --dports ${ports.slice(i, i + MULTIPORT_MAX).join(',')} -j ${chain}`);
      }
    }
    const rules: string[] = [];
    for (const h of mappings) {
      const proto = h.protocol.toLowerCase();
      const dst = h.hostIP && h.hostIP !== '0.0.0.0' ? `-d ${h.hostIP}/32 ` : '';
      const match = `-p ${proto} -m ${proto} --dport ${h.hostPort}`;
      rules.push(
        `-A ${chain} -s ${masqCidr} ${dst}${match} -j ${HOSTPORT_SETMARK_CHAIN}`,
        `-A ${chain} -s 127.0.0.1/32 ${dst}${match} -j ${HOSTPORT_SETMARK_CHAIN}`,
        `-A ${chain} ${dst}${match} -j DNAT --to-destination ${ip}:${h.containerPort}`,
      );
    }
    entries.push({ chain, entryRules, rules });
  }
  if (entries.length === 0) return '';
  const out = [
    '*nat',
    // Built-in chains are declared so the payload also loads alone; --noflush keeps their rules.
    ':PREROUTING ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    `:${HOSTPORT_DNAT_CHAIN} - [0:0]`,
    `:${HOSTPORT_MASQ_CHAIN} - [0:0]`,
    `:${HOSTPORT_SETMARK_CHAIN} - [0:0]`,
    ...entries.map((e) => `:${e.chain} - [0:0]`),
    `-I POSTROUTING 1 -m comment --comment ${saveString('CNI portfwd requiring masquerade')} -j ${HOSTPORT_MASQ_CHAIN}`,
    `-A PREROUTING -m addrtype --dst-type LOCAL -j ${HOSTPORT_DNAT_CHAIN}`,
    `-A OUTPUT -m addrtype --dst-type LOCAL -j ${HOSTPORT_DNAT_CHAIN}`,
    `-A ${HOSTPORT_MASQ_CHAIN} -m mark --mark ${mark} -j MASQUERADE`,
    `-A ${HOSTPORT_SETMARK_CHAIN} -m comment --comment ${saveString('CNI portfwd masquerade mark')} -j MARK --set-xmark ${mark}`,
  ];
  // Each container's entry rules were inserted at the top, one at a time: the latest pod's come
  // first, and within a pod the last protocol's rule ends up first.
  for (const e of [...entries].reverse()) out.push(...[...e.entryRules].reverse());
  for (const e of entries) out.push(...e.rules);
  out.push('COMMIT', '');
  return out.join('\n');
}
