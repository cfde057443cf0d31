// A synthetic kube-proxy-shaped ruleset (iptables mode, as §1 of the kube-proxy reference
// describes), generated here because the renderer is written separately: the fixed chains, one
// ClusterIP capture per Service in KUBE-SERVICES, masquerade + statistic dispatch in KUBE-SVC-*,
// hairpin + DNAT in KUBE-SEP-*, and optionally NodePorts (KUBE-NODEPORTS, KUBE-EXT-*), Services
// without endpoints (filter REJECT), ClientIP affinity (recent) and externalIPs.
import { createHash } from 'node:crypto';

export interface SyntheticOptions {
  readonly services: number;
  readonly endpoints: number;
  /** Every k-th Service is a NodePort (0: none). */
  readonly nodePortEvery?: number;
  /** Every k-th Service has no endpoints: REJECT in filter (0: none). */
  readonly noEndpointsEvery?: number;
  /** Every k-th Service has ClientIP affinity (0: none). */
  readonly affinityEvery?: number;
  /** Every k-th Service has an externalIP (0: none). */
  readonly externalIPEvery?: number;
  /** Every k-th Service is UDP (0: none). */
  readonly udpEvery?: number;
}

export interface SyntheticService {
  readonly name: string;
  readonly clusterIP: string;
  readonly port: number;
  readonly proto: 'tcp' | 'udp';
  readonly nodePort?: number;
  readonly externalIP?: string;
  readonly endpoints: readonly string[];
  readonly affinity: boolean;
}

export interface SyntheticRuleset {
  readonly text: string;
  readonly services: readonly SyntheticService[];
  readonly podCIDR: string;
  readonly nodeIP: string;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function hash16(input: string): string {
  const d = createHash('sha256').update(input).digest();
  let out = '';
  let acc = 0;
  let bits = 0;
  for (let i = 0; out.length < 16; i++) {
    acc = ((acc << 8) | d[i]!) & 0xffff;
    bits += 8;
    while (bits >= 5 && out.length < 16) {
      out += BASE32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

const ip4 = (n: number) => `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

export function syntheticKubeProxy(o: SyntheticOptions): SyntheticRuleset {
  const every = (k: number | undefined, i: number) => !!k && i % k === k - 1;
  const podCIDR = '10.0.0.0/8';
  const nodeIP = '192.168.0.2';
  const services: SyntheticService[] = [];
  let ep = 0;
  for (let i = 0; i < o.services; i++) {
    const noEndpoints = every(o.noEndpointsEvery, i);
    const endpoints: string[] = [];
    if (!noEndpoints) for (let e = 0; e < o.endpoints; e++) endpoints.push(`${ip4(0x0a010000 + ep++)}:8080`);
    services.push({
      name: `ns${i % 97}/svc${i}:p${80 + (i % 3)}`,
      clusterIP: ip4(0xac1e0000 + 1 + i),
      port: 80 + (i % 3),
      proto: every(o.udpEvery, i) ? 'udp' : 'tcp',
      ...(every(o.nodePortEvery, i) ? { nodePort: 30000 + (i % 2768) } : {}),
      ...(every(o.externalIPEvery, i) ? { externalIP: ip4(0xc0a86300 + (i % 250) + 1) } : {}),
      endpoints,
      affinity: every(o.affinityEvery, i),
    });
  }

  const filterChains = ['KUBE-EXTERNAL-SERVICES', 'KUBE-FIREWALL', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL', 'KUBE-SERVICES'];
  const filter: string[] = [
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    '-A INPUT -j KUBE-FIREWALL',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -j KUBE-FIREWALL',
    '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
    '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  ];
  const natChains = ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'];
  const natServices: string[] = [];
  const natNodePorts: string[] = [];
  const natPer: string[] = [];
  for (const s of services) {
    const spn = s.name;
    const h = hash16(spn + s.proto);
    const svc = `KUBE-SVC-${h}`;
    const ext = `KUBE-EXT-${h}`;
    const m = `-m ${s.proto} -p ${s.proto}`;
    if (s.endpoints.length === 0) {
      filter.push(`-A KUBE-SERVICES -m comment --comment "${spn} has no endpoints" ${m} -d ${s.clusterIP} --dport ${s.port} -j REJECT`);
      if (s.nodePort) filter.push(`-A KUBE-EXTERNAL-SERVICES -m comment --comment "${spn} has no endpoints" -m addrtype --dst-type LOCAL ${m} --dport ${s.nodePort} -j REJECT`);
      if (s.externalIP) filter.push(`-A KUBE-EXTERNAL-SERVICES -m comment --comment "${spn} has no endpoints" ${m} -d ${s.externalIP} --dport ${s.port} -j REJECT`);
      continue;
    }
    natChains.push(svc);
    natServices.push(`-A KUBE-SERVICES -m comment --comment "${spn} cluster IP" ${m} -d ${s.clusterIP} --dport ${s.port} -j ${svc}`);
    const external = s.nodePort !== undefined || s.externalIP !== undefined;
    if (s.externalIP) natServices.push(`-A KUBE-SERVICES -m comment --comment "${spn} external IP" ${m} -d ${s.externalIP} --dport ${s.port} -j ${ext}`);
    if (s.nodePort) natNodePorts.push(`-A KUBE-NODEPORTS -m comment --comment ${spn} ${m} --dport ${s.nodePort} -j ${ext}`);
    natPer.push(`-A ${svc} -m comment --comment "${spn} cluster IP" ${m} -d ${s.clusterIP} --dport ${s.port} ! -s ${podCIDR} -j KUBE-MARK-MASQ`);
    if (external) {
      natChains.push(ext);
      natPer.push(`-A ${ext} -m comment --comment "masquerade traffic for ${spn} external destinations" -j KUBE-MARK-MASQ`);
      natPer.push(`-A ${ext} -j ${svc}`);
    }
    const seps = s.endpoints.map((e) => `KUBE-SEP-${hash16(spn + s.proto + e)}`);
    if (s.affinity) s.endpoints.forEach((e, k) => natPer.push(`-A ${svc} -m comment --comment "${spn} -> ${e}" -m recent --name ${seps[k]} --rcheck --seconds 10800 --reap -j ${seps[k]}`));
    const n = s.endpoints.length;
    s.endpoints.forEach((e, k) => {
      const stat = k < n - 1 ? ` -m statistic --mode random --probability ${(1 / (n - k)).toFixed(10)}` : '';
      natPer.push(`-A ${svc} -m comment --comment "${spn} -> ${e}"${stat} -j ${seps[k]}`);
    });
    s.endpoints.forEach((e, k) => {
      natChains.push(seps[k]!);
      const epIP = e.slice(0, e.indexOf(':'));
      natPer.push(`-A ${seps[k]} -m comment --comment ${spn} -s ${epIP} -j KUBE-MARK-MASQ`);
      const affinity = s.affinity ? ` -m recent --set --name ${seps[k]}` : '';
      natPer.push(`-A ${seps[k]} -m comment --comment ${spn}${affinity} ${m} -j DNAT --to-destination ${e}`);
    });
  }
  natServices.push('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS');
  const lines = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ...filterChains.map((c) => `:${c} - [0:0]`),
    ...filter,
    'COMMIT',
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ...natChains.map((c) => `:${c} - [0:0]`),
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
    ...natServices,
    ...natNodePorts,
    ...natPer,
    'COMMIT',
    '',
  ];
  return { text: lines.join('\n'), services, podCIDR, nodeIP };
}
