// Hand-written kube-proxy-shaped rulesets for the lab (addresses from KernelLab): ClusterIP with
// endpoints and masquerade, NodePort, REJECT for a Service without endpoints, DROP, ClientIP
// affinity, and an IPVS-mode-like ruleset with ipsets, marks and nth. Written the way kube-proxy
// writes its restore payload (match order, unquoted single-word comments), not as iptables-save
// prints it: the harness also checks that our canonical printing equals the kernel's.
import type { KernelCase } from './harness.js';

const POD_CIDR = '198.18.0.0/17';
const EP1 = '198.18.11.2';
const EP2 = '198.18.12.2';
const EP3 = '198.18.13.2';
const NODE = '198.18.128.1';

const FILTER_BASE = [
  '*filter',
  ':INPUT ACCEPT [0:0]',
  ':FORWARD ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  ':KUBE-EXTERNAL-SERVICES - [0:0]',
  ':KUBE-FORWARD - [0:0]',
  ':KUBE-NODEPORTS - [0:0]',
  ':KUBE-PROXY-FIREWALL - [0:0]',
  ':KUBE-SERVICES - [0:0]',
  '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
  '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
  '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
  '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
  '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
  '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
  '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
  '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
  '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
  '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
];

const NAT_HEAD = [
  '*nat',
  ':PREROUTING ACCEPT [0:0]',
  ':INPUT ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  ':POSTROUTING ACCEPT [0:0]',
  ':KUBE-MARK-MASQ - [0:0]',
  ':KUBE-NODEPORTS - [0:0]',
  ':KUBE-POSTROUTING - [0:0]',
  ':KUBE-SERVICES - [0:0]',
];

const NAT_FIXED = [
  '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
  '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
  '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
  '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
  '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
];

const NODEPORTS_LAST = '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS';

interface Svc {
  readonly spn: string;
  readonly hash: string;
  readonly ip: string;
  readonly port: number;
  readonly proto: 'tcp' | 'udp';
  readonly endpoints: readonly { ip: string; port: number; sep: string }[];
  readonly nodePort?: number;
  readonly affinity?: number;
}

/** nat rules for one Service, in kube-proxy's order and spelling. */
function serviceNat(s: Svc): { chains: string[]; services: string[]; nodeports: string[]; rules: string[] } {
  const svc = `KUBE-SVC-${s.hash}`;
  const ext = `KUBE-EXT-${s.hash}`;
  const m = `-m ${s.proto} -p ${s.proto}`;
  const chains = [svc, ...s.endpoints.map((e) => e.sep)];
  const services = [`-A KUBE-SERVICES -m comment --comment "${s.spn} cluster IP" ${m} -d ${s.ip} --dport ${s.port} -j ${svc}`];
  const nodeports: string[] = [];
  const rules: string[] = [];
  if (s.nodePort) {
    chains.push(ext);
    nodeports.push(`-A KUBE-NODEPORTS -m comment --comment ${s.spn} ${m} --dport ${s.nodePort} -j ${ext}`);
    rules.push(`-A ${ext} -m comment --comment "masquerade traffic for ${s.spn} external destinations" -j KUBE-MARK-MASQ`, `-A ${ext} -j ${svc}`);
  }
  rules.push(`-A ${svc} -m comment --comment "${s.spn} cluster IP" ${m} -d ${s.ip} --dport ${s.port} ! -s ${POD_CIDR} -j KUBE-MARK-MASQ`);
  if (s.affinity) {
    for (const e of s.endpoints)
      rules.push(`-A ${svc} -m comment --comment "${s.spn} -> ${e.ip}:${e.port}" -m recent --name ${e.sep} --rcheck --seconds ${s.affinity} --reap -j ${e.sep}`);
  }
  const n = s.endpoints.length;
  s.endpoints.forEach((e, i) => {
    const stat = i < n - 1 ? ` -m statistic --mode random --probability ${(1 / (n - i)).toFixed(10)}` : '';
    rules.push(`-A ${svc} -m comment --comment "${s.spn} -> ${e.ip}:${e.port}"${stat} -j ${e.sep}`);
  });
  for (const e of s.endpoints) {
    rules.push(`-A ${e.sep} -m comment --comment ${s.spn} -s ${e.ip} -j KUBE-MARK-MASQ`);
    const aff = s.affinity ? ` -m recent --set --name ${e.sep}` : '';
    rules.push(`-A ${e.sep} -m comment --comment ${s.spn}${aff} ${m} -j DNAT --to-destination ${e.ip}:${e.port}`);
  }
  return { chains, services, nodeports, rules };
}

function kubeProxy(services: readonly Svc[], filterExtra: readonly string[] = []): string {
  const parts = services.map(serviceNat);
  return [
    ...FILTER_BASE,
    ...filterExtra,
    'COMMIT',
    ...NAT_HEAD,
    ...parts.flatMap((p) => p.chains.map((c) => `:${c} - [0:0]`)),
    ...NAT_FIXED,
    ...parts.flatMap((p) => p.services),
    NODEPORTS_LAST,
    ...parts.flatMap((p) => p.nodeports),
    ...parts.flatMap((p) => p.rules),
    'COMMIT',
    '',
  ].join('\n');
}

const web: Svc = {
  spn: 'default/web:http',
  hash: 'WEB3ENDPOINTSAAA',
  ip: '198.19.0.10',
  port: 80,
  proto: 'tcp',
  endpoints: [
    { ip: EP1, port: 8080, sep: 'KUBE-SEP-WEBEP1AAAAAAAAAA' },
    { ip: EP2, port: 8080, sep: 'KUBE-SEP-WEBEP2AAAAAAAAAA' },
    { ip: EP3, port: 8080, sep: 'KUBE-SEP-WEBEP3AAAAAAAAAA' },
  ],
};

const dns: Svc = {
  spn: 'kube-system/dns:dns',
  hash: 'DNSUDPAAAAAAAAAA',
  ip: '198.19.0.53',
  port: 53,
  proto: 'udp',
  endpoints: [
    { ip: EP1, port: 9090, sep: 'KUBE-SEP-DNSEP1AAAAAAAAAA' },
    { ip: EP2, port: 9090, sep: 'KUBE-SEP-DNSEP2AAAAAAAAAA' },
  ],
};

const nodePortSvc: Svc = {
  spn: 'default/shop:http',
  hash: 'SHOPNODEPORTAAAA',
  ip: '198.19.0.20',
  port: 80,
  proto: 'tcp',
  nodePort: 30080,
  endpoints: [
    { ip: EP2, port: 8081, sep: 'KUBE-SEP-SHOPEP2AAAAAAAAA' },
    { ip: EP3, port: 8081, sep: 'KUBE-SEP-SHOPEP3AAAAAAAAA' },
  ],
};

const sticky: Svc = {
  spn: 'default/sticky:http',
  hash: 'STICKYAFFINITYAA',
  ip: '198.19.0.30',
  port: 80,
  proto: 'tcp',
  affinity: 10800,
  endpoints: [
    { ip: EP1, port: 8082, sep: 'KUBE-SEP-STICKYEP1AAAAAAA' },
    { ip: EP2, port: 8082, sep: 'KUBE-SEP-STICKYEP2AAAAAAA' },
    { ip: EP3, port: 8082, sep: 'KUBE-SEP-STICKYEP3AAAAAAA' },
  ],
};

export const CLUSTER_IP: KernelCase = {
  name: 'ClusterIP with three endpoints, masquerade for non-pod sources, a UDP service',
  rules: kubeProxy([web, dns]),
  flows: [
    { from: 'client', proto: 'tcp', dst: web.ip, dport: 80, expect: 'ok' },
    { from: 'client', proto: 'tcp', dst: web.ip, dport: 80, expect: 'ok' },
    { from: 'client', proto: 'tcp', dst: web.ip, dport: 80, expect: 'ok' },
    { from: 'ext', proto: 'tcp', dst: web.ip, dport: 80, expect: 'ok' },
    { from: 'node', proto: 'tcp', dst: web.ip, dport: 80, expect: 'ok' },
    { from: 'ep1', proto: 'tcp', dst: web.ip, dport: 80, expect: 'ok' },
    { from: 'client', proto: 'udp', dst: dns.ip, dport: 53, expect: 'ok' },
    { from: 'client', proto: 'tcp', dst: web.ip, dport: 81, expect: 'timeout', timeoutMs: 1000 },
  ],
};

export const NODE_PORT: KernelCase = {
  name: 'NodePort: external and pod clients to the node IP, masqueraded',
  rules: kubeProxy([nodePortSvc]),
  flows: [
    { from: 'ext', proto: 'tcp', dst: NODE, dport: 30080, expect: 'ok' },
    { from: 'ext', proto: 'tcp', dst: NODE, dport: 30080, expect: 'ok' },
    { from: 'client', proto: 'tcp', dst: NODE, dport: 30080, expect: 'ok' },
    { from: 'client', proto: 'tcp', dst: nodePortSvc.ip, dport: 80, expect: 'ok' },
    { from: 'ext', proto: 'tcp', dst: NODE, dport: 8080, expect: 'ok:node' },
  ],
};

export const NO_ENDPOINTS: KernelCase = {
  name: 'Service without endpoints: REJECT in filter for the ClusterIP and the NodePort',
  rules: kubeProxy(
    [web],
    [
      '-A KUBE-SERVICES -m comment --comment "default/empty:http has no endpoints" -m tcp -p tcp -d 198.19.0.40 --dport 80 -j REJECT',
      '-A KUBE-EXTERNAL-SERVICES -m comment --comment "default/empty:http has no endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30040 -j REJECT',
      '-A KUBE-SERVICES -m comment --comment "default/reset:http has no endpoints" -m tcp -p tcp -d 198.19.0.41 --dport 80 -j REJECT --reject-with tcp-reset',
    ],
  ),
  flows: [
    { from: 'client', proto: 'tcp', dst: '198.19.0.40', dport: 80, expect: 'error:ECONNREFUSED' },
    { from: 'ext', proto: 'tcp', dst: NODE, dport: 30040, expect: 'error:ECONNREFUSED' },
    { from: 'client', proto: 'tcp', dst: '198.19.0.41', dport: 80, expect: 'error:ECONNREFUSED' },
    { from: 'client', proto: 'udp', dst: '198.19.0.40', dport: 80, expect: 'timeout', timeoutMs: 800 },
  ],
};

export const DROPS: KernelCase = {
  name: 'DROP: iTP Local without local endpoints, a load-balancer firewall, FORWARD policy DROP with goto',
  rules: [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD DROP [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-PROXY-FIREWALL - [0:0]',
    ':ALLOW - [0:0]',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A FORWARD -m conntrack --ctstate NEW -j KUBE-SERVICES',
    '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    `-A FORWARD -d ${EP1}/32 -g ALLOW`,
    '-A FORWARD -p tcp -m multiport --dports 8081,9000:9100 -j ACCEPT',
    '-A KUBE-SERVICES -m comment --comment "default/local:http has no local endpoints" -m tcp -p tcp -d 198.19.0.50 --dport 80 -j DROP',
    '-A KUBE-PROXY-FIREWALL -m comment --comment "default/lb:http traffic not accepted by KUBE-FW-LBAAAAAAAAAAAAAA" -m tcp -p tcp -d 198.19.1.1 --dport 80 -j DROP',
    '-A ALLOW -p tcp -m tcp --dport 8080 -j ACCEPT',
    '-A ALLOW -j RETURN',
    'COMMIT',
    '',
  ].join('\n'),
  flows: [
    { from: 'client', proto: 'tcp', dst: '198.19.0.50', dport: 80, expect: 'timeout', timeoutMs: 1000 },
    { from: 'client', proto: 'tcp', dst: '198.19.1.1', dport: 80, expect: 'timeout', timeoutMs: 1000 },
    { from: 'client', proto: 'tcp', dst: EP1, dport: 8080, expect: 'ok:ep1' },
    { from: 'client', proto: 'tcp', dst: EP1, dport: 8082, expect: 'timeout', timeoutMs: 1000 },
    { from: 'client', proto: 'tcp', dst: EP2, dport: 8081, expect: 'ok:ep2' },
    { from: 'client', proto: 'udp', dst: EP2, dport: 9090, expect: 'timeout', timeoutMs: 800 },
  ],
};

export const AFFINITY: KernelCase = {
  name: 'ClientIP session affinity with recent: every connection after the first goes to the same endpoint',
  rules: kubeProxy([sticky]),
  flows: [
    { from: 'client', proto: 'tcp', dst: sticky.ip, dport: 80, expect: 'ok' },
    { from: 'client', proto: 'tcp', dst: sticky.ip, dport: 80, expect: 'ok' },
    { from: 'client', proto: 'tcp', dst: sticky.ip, dport: 80, expect: 'ok' },
    { from: 'client', proto: 'tcp', dst: sticky.ip, dport: 80, expect: 'ok' },
  ],
};

export const IPSETS_AND_MARKS: KernelCase = {
  name: 'IPVS-mode-like rules: ipsets, marks, CONNMARK, nth round robin, conntrack origdst',
  ipsets: [
    'create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536',
    'add KUBE-CLUSTER-IP 198.19.0.60,tcp:80',
    'create KUBE-NODE-PORT-TCP bitmap:port range 0-65535',
    'add KUBE-NODE-PORT-TCP 30090',
    'create KUBE-LOOP-BACK hash:ip,port,ip family inet hashsize 1024 maxelem 65536',
    `add KUBE-LOOP-BACK ${EP1},tcp:8080,${EP1}`,
    'create BLOCKED hash:net family inet hashsize 1024 maxelem 65536',
    'add BLOCKED 198.18.128.0/24',
    'add BLOCKED 198.18.128.2 nomatch',
    '',
  ].join('\n'),
  rules: [
    '*mangle',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    '-A PREROUTING -i vc1 -j MARK --set-mark 0x10/0xff',
    '-A PREROUTING -j CONNMARK --save-mark --mask 0xff',
    '-A FORWARD -m connmark --mark 0x10/0xff -j MARK --or-mark 0x100',
    'COMMIT',
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-MARK-MASQ - [0:0]',
    ':KUBE-POSTROUTING - [0:0]',
    ':RR - [0:0]',
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
    '-A KUBE-POSTROUTING -m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE',
    `-A KUBE-SERVICES ! -s ${POD_CIDR} -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ`,
    '-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j RR',
    '-A KUBE-SERVICES -m addrtype --dst-type LOCAL -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ',
    '-A KUBE-SERVICES -m addrtype --dst-type LOCAL -p tcp -m set --match-set KUBE-NODE-PORT-TCP dst -j RR',
    `-A RR -m statistic --mode nth --every 2 --packet 0 -p tcp -j DNAT --to-destination ${EP1}:8080`,
    `-A RR -p tcp -j DNAT --to-destination ${EP2}:8080`,
    'COMMIT',
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    '-A FORWARD -m set --match-set BLOCKED src -p tcp -m tcp --dport 8082 -j REJECT --reject-with icmp-host-prohibited',
    '-A FORWARD -m conntrack --ctstate NEW --ctstatus CONFIRMED -j DROP',
    '-A FORWARD -m conntrack --ctstate NEW,DNAT --ctorigdst 198.19.0.60 --ctorigdstport 80 -m mark --mark 0x110/0xfff -j ACCEPT',
    'COMMIT',
    '',
  ].join('\n'),
  flows: [
    { from: 'client', proto: 'tcp', dst: '198.19.0.60', dport: 80, expect: 'ok:ep1' },
    { from: 'client', proto: 'tcp', dst: '198.19.0.60', dport: 80, expect: 'ok:ep2' },
    { from: 'client', proto: 'tcp', dst: '198.19.0.60', dport: 80, expect: 'ok:ep1' },
    { from: 'ext', proto: 'tcp', dst: NODE, dport: 30090, expect: 'ok:ep2' },
    { from: 'ext', proto: 'tcp', dst: EP3, dport: 8082, expect: 'ok:ep3' },
    { from: 'client', proto: 'tcp', dst: EP3, dport: 8082, expect: 'ok:ep3' },
  ],
};

/** For the chi-square check: one Service with three endpoints, no masquerade, no trace. */
export const RANDOM_3: KernelCase = {
  name: 'three-endpoint random dispatch',
  rules: kubeProxy([web]),
  flows: [],
};

export const ALL_CASES: readonly KernelCase[] = [CLUSTER_IP, NODE_PORT, NO_ENDPOINTS, DROPS, IPSETS_AND_MARKS];
