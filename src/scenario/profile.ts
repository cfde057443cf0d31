// Profile files: the cluster a scenario runs on — cloud, network ranges, kube-proxy, CNI and the
// nodes (single nodes or pools), with the labels and taints the kubelet, kubeadm and the cloud set.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterConfig, type ClusterConfig } from '../cluster/config.js';
import { hasErrors, InputError, sortDiagnostics, type Diagnostic } from '../manifest/diagnostic.js';
import { readKubepathDoc, type Field } from '../manifest/doc-reader.js';
import { addToIP, cidrsOverlap, cidrSize, contains, hasHostBits, networkOf, parseCIDR, parseIP, type Cidr, type IP } from '../manifest/ip.js';
import { isQuantity } from '../manifest/quantity.js';
import { isDNS1123Subdomain, isQualifiedName, isValidLabelValue } from '../manifest/syntax.js';
import { enclosingSubnet } from '../net/cidr.js';
import { KUBEPATH_API_VERSION, type CniPlugin, type Cloud, type KubeProxyMode, type NodeSpec, type Profile } from './types.js';

/** Shipped profiles, found from this module's location so it works from src/ and from dist/. */
export const PROFILES_DIR = fileURLToPath(new URL('../../scenarios/profiles/', import.meta.url));
export const DEFAULT_PROFILE = 'bare-metal';

export const CLOUDS: readonly Cloud[] = ['none', 'aws', 'alibaba'];
export const KUBE_PROXY_MODES: readonly KubeProxyMode[] = ['iptables', 'ipvs', 'nftables'];
export const CNI_PLUGINS: readonly CniPlugin[] = ['flannel', 'calico', 'aws-vpc-cni', 'terway'];
export const IPVS_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'sh', 'dh', 'sed', 'nq', 'mh'];
const CNI_MODES: Record<CniPlugin, readonly string[]> = {
  flannel: ['vxlan', 'host-gw', 'vpc-route'],
  calico: ['ipip', 'vxlan', 'none'],
  'aws-vpc-cni': ['secondary-ip', 'prefix'],
  terway: ['shared', 'exclusive'],
};
const DEFAULT_CNI: Record<Cloud, CniPlugin> = { none: 'flannel', aws: 'aws-vpc-cni', alibaba: 'terway' };
const DEFAULT_CNI_MODE: Partial<Record<CniPlugin, string>> = { flannel: 'vxlan', calico: 'ipip', terway: 'shared' };
/** kube-apiserver refuses service ranges with more than 20 host bits. */
const MAX_SERVICE_CIDR_BITS = 20;
/** The node IPAM's cidrset refuses node masks more than 16 bits longer than the cluster CIDR. */
const MAX_NODE_MASK_DIFF = 16;

const SPEC_FIELDS = ['cloud', 'region', 'network', 'kubeProxy', 'cni', 'controllers', 'kubelet', 'nodeLifecycle', 'scheduler', 'nodes'];
const NETWORK_FIELDS = ['clusterCIDR', 'serviceCIDR', 'nodeCIDRMaskSize', 'nodePortRange', 'allocateNodeCIDRs'];
const NODE_FIELDS = [
  'name',
  'namePrefix',
  'count',
  'zone',
  'zones',
  'region',
  'role',
  'instanceType',
  'internalIP',
  'subnet',
  'externalIP',
  'externalSubnet',
  'capacity',
  'labels',
  'taints',
  'unschedulable',
];

/** A profile reference → file: a path (relative to `baseDir`) or the bare name of a shipped profile. */
export function resolveProfilePath(ref: string, baseDir: string): string {
  const asPath = isAbsolute(ref) ? ref : resolve(baseDir, ref);
  if (/[\\/]/.test(ref) || /\.ya?ml$/.test(ref) || existsSync(asPath)) return asPath;
  return resolve(PROFILES_DIR, `${ref}.yaml`);
}

export function defaultProfilePath(): string {
  return resolve(PROFILES_DIR, `${DEFAULT_PROFILE}.yaml`);
}

/** Reads and checks a profile file; throws InputError carrying every problem found. */
export function loadProfile(file: string): Profile {
  const { profile, diagnostics } = readProfileFile(file);
  if (!profile || hasErrors(diagnostics)) throw new InputError(diagnostics);
  return profile;
}

export function parseProfile(text: string, file: string): Profile {
  const { profile, diagnostics } = readProfile(text, file);
  if (!profile || hasErrors(diagnostics)) throw new InputError(diagnostics);
  return profile;
}

/** Non-throwing form for callers that collect problems from several files. */
export function readProfileFile(file: string): { profile?: Profile; diagnostics: Diagnostic[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return {
      diagnostics: [
        {
          severity: 'error',
          file,
          message: 'profile not found',
          hint: `give a path to a Profile file, or the name of a shipped profile: ${shippedProfiles().join(', ')}`,
        },
      ],
    };
  }
  return readProfile(text, file);
}

export function shippedProfiles(): string[] {
  try {
    return readdirSync(PROFILES_DIR)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.slice(0, -'.yaml'.length))
      .sort();
  } catch {
    return [];
  }
}

export function readProfile(text: string, file: string): { profile?: Profile; diagnostics: Diagnostic[] } {
  const doc = readKubepathDoc(text, file, 'Profile', KUBEPATH_API_VERSION);
  if (!doc.spec || !doc.reader) return { diagnostics: doc.diagnostics };
  const spec = doc.spec;
  spec.expectMap(SPEC_FIELDS, 'a Profile spec');

  const cloud = (spec.get('cloud').str({ values: CLOUDS }) ?? 'none') as Cloud;
  const region = spec.get('region').str();
  const cniField = spec.get('cni');
  cniField.expectMap(['plugin', 'mode', 'ipMasq', 'natOutgoing', 'externalSNAT', 'excludeSNATCIDRs'], 'cni');
  const plugin = (cniField.get('plugin').str({ values: CNI_PLUGINS }) ?? DEFAULT_CNI[cloud]) as CniPlugin;
  if (plugin === 'aws-vpc-cni' && cloud !== 'aws') cniField.get('plugin').error('aws-vpc-cni runs only on AWS', 'set spec.cloud: aws, or use flannel or calico');
  if (plugin === 'terway' && cloud !== 'alibaba') cniField.get('plugin').error('terway runs only on Alibaba Cloud', 'set spec.cloud: alibaba, or use flannel or calico');
  const mode = cniField.get('mode').str({ values: CNI_MODES[plugin] }) ?? DEFAULT_CNI_MODE[plugin];
  if (mode === 'vpc-route' && cloud === 'none') cniField.get('mode').error('vpc-route needs a cloud VPC route table', 'set spec.cloud, or use vxlan or host-gw');
  // Each plugin's masquerade switch: flanneld --ip-masq, the Calico pool's natOutgoing, the VPC CNI's
  // AWS_VPC_K8S_CNI_EXTERNALSNAT and AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS.
  const settings: Profile['cni']['settings'] = {};
  const only = (name: string, owner: CniPlugin) => {
    const f = cniField.get(name);
    if (f.present && plugin !== owner) f.error(`${name} is a setting of ${owner}`, `remove it, or use plugin: ${owner}`);
    return f;
  };
  const ipMasq = only('ipMasq', 'flannel').bool();
  if (ipMasq !== undefined) settings.ipMasq = ipMasq;
  const natOutgoing = only('natOutgoing', 'calico').bool();
  if (natOutgoing !== undefined) settings.natOutgoing = natOutgoing;
  const externalSNAT = only('externalSNAT', 'aws-vpc-cni').bool();
  if (externalSNAT !== undefined) settings.externalSNAT = externalSNAT;
  const exclude = only('excludeSNATCIDRs', 'aws-vpc-cni');
  if (exclude.present) {
    const list: string[] = [];
    for (const item of exclude.list()) {
      const t = item.str({ required: true });
      if (t === undefined) continue;
      const c = parseCIDR(t);
      if (!c) item.error(`Invalid value: ${JSON.stringify(t)}: must be a CIDR`, 'e.g. 10.0.0.0/8');
      else list.push(t);
    }
    settings.excludeSNATCIDRs = list;
  }
  const overlay = plugin === 'flannel' || plugin === 'calico';

  const cluster = readNetwork(spec, overlay);

  const kp = spec.get('kubeProxy');
  kp.expectMap(['mode', 'masqueradeAll', 'ipvsScheduler'], 'kubeProxy');
  // ACK creates clusters in IPVS mode by default; kubeadm, EKS and bare metal default to iptables.
  const kpMode = (kp.get('mode').str({ values: KUBE_PROXY_MODES }) ?? (cloud === 'alibaba' ? 'ipvs' : 'iptables')) as KubeProxyMode;
  const scheduler = kp.get('ipvsScheduler').str({ values: IPVS_SCHEDULERS });
  if (scheduler && kpMode !== 'ipvs') kp.get('ipvsScheduler').warning(`ignored: kube-proxy runs in ${kpMode} mode`, 'ipvsScheduler applies only with mode: ipvs');

  const nodes = readNodes(spec.get('nodes'), { region, cluster, overlay });

  const profile: Profile = {
    name: doc.name ?? '',
    file,
    cloud,
    ...(region !== undefined ? { region } : {}),
    cluster,
    kubeProxy: { mode: kpMode, masqueradeAll: kp.get('masqueradeAll').bool() ?? false, ipvsScheduler: scheduler ?? 'rr' },
    cni: { plugin, ...(mode !== undefined ? { mode } : {}), settings },
    nodes,
  };
  // Reading order, so the first problem in the file comes first.
  const diagnostics = sortDiagnostics(doc.reader.diagnostics);
  return { profile, diagnostics };
}

function readCidrList(f: Field, what: string): { cidrs: Cidr[]; fields: Field[] } {
  if (!f.present) return { cidrs: [], fields: [] };
  const items = f.isSeq ? f.list() : [f];
  const cidrs: Cidr[] = [];
  const fields: Field[] = [];
  const families = new Set<string>();
  if (items.length > 2) f.error(`may hold at most two ${what}s, one per IP family`);
  for (const item of items) {
    const text = item.str();
    if (text === undefined) continue;
    const c = parseCIDR(text);
    if (!c) {
      item.error(`Invalid value: ${JSON.stringify(text)}: must be a valid CIDR value, (e.g. 10.244.0.0/16 or fd00:10:244::/56)`);
      continue;
    }
    if (hasHostBits(c)) {
      item.error(`Invalid value: ${JSON.stringify(text)}: has host bits set`, `did you mean ${networkOf(c).toString()}/${c.prefix}?`);
      continue;
    }
    if (families.has(c.family)) item.error(`Invalid value: ${JSON.stringify(text)}: a second ${c.family} ${what}`, 'dual-stack takes one IPv4 and one IPv6 range');
    families.add(c.family);
    cidrs.push(c);
    fields.push(item);
  }
  return { cidrs, fields };
}

function readNetwork(spec: Field, overlay: boolean): ClusterConfig {
  const net = spec.get('network');
  net.expectMap(NETWORK_FIELDS, 'network');
  const defaults = clusterConfig();
  const pod = readCidrList(net.get('clusterCIDR'), 'clusterCIDR');
  const svc = readCidrList(net.get('serviceCIDR'), 'serviceCIDR');
  const podCidrs = pod.cidrs.length || net.get('clusterCIDR').present ? pod.cidrs : defaults.clusterCIDRs.map((c) => parseCIDR(c)!);
  const svcCidrs = svc.cidrs.length || net.get('serviceCIDR').present ? svc.cidrs : defaults.serviceCIDRs.map((c) => parseCIDR(c)!);
  svc.cidrs.forEach((c, i) => {
    const hostBits = (c.family === 'IPv4' ? 32 : 128) - c.prefix;
    if (hostBits > MAX_SERVICE_CIDR_BITS)
      svc.fields[i]!.error(
        `Invalid value: ${JSON.stringify(c.text)}: too large; for ${c.family === 'IPv4' ? 32 : 128}-bit addresses, the mask must be >= ${(c.family === 'IPv4' ? 32 : 128) - MAX_SERVICE_CIDR_BITS}`,
      );
  });
  svcCidrs.forEach((s, i) => {
    const clash = podCidrs.find((p) => cidrsOverlap(p, s));
    if (clash) {
      const at = svc.fields[i] ?? net.get('serviceCIDR');
      at.error(`serviceCIDR ${s.text} overlaps clusterCIDR ${clash.text}`, 'Service and Pod address ranges must not overlap; pick disjoint ranges (e.g. 10.244.0.0/16 and 10.96.0.0/12)');
    }
  });

  const maskField = net.get('nodeCIDRMaskSize');
  const mask = { ...defaults.nodeCIDRMaskSize };
  if (maskField.present) {
    if (maskField.isMap) {
      maskField.expectMap(['ipv4', 'ipv6'], 'nodeCIDRMaskSize');
      mask.ipv4 = maskField.get('ipv4').int({ min: 1, max: 32 }) ?? mask.ipv4;
      mask.ipv6 = maskField.get('ipv6').int({ min: 1, max: 128 }) ?? mask.ipv6;
    } else mask.ipv4 = maskField.int({ min: 1, max: 32, hint: 'a number, the IPv4 mask, or {ipv4: 24, ipv6: 64}' }) ?? mask.ipv4;
  }
  const allocate = net.get('allocateNodeCIDRs').bool() ?? overlay;
  if (allocate) {
    pod.cidrs.forEach((c, i) => {
      const m = c.family === 'IPv4' ? mask.ipv4 : mask.ipv6;
      if (m < c.prefix)
        (maskField.present ? maskField : pod.fields[i]!).error(
          `node CIDR mask size /${m} is larger than the cluster CIDR ${c.text}`,
          `use a mask of at least /${c.prefix} (the default is /${c.family === 'IPv4' ? 24 : 64})`,
        );
      else if (m - c.prefix > MAX_NODE_MASK_DIFF)
        (maskField.present ? maskField : pod.fields[i]!).error(
          `node CIDR mask size /${m} is more than ${MAX_NODE_MASK_DIFF} bits longer than the cluster CIDR ${c.text}`,
          `use a mask of at most /${c.prefix + MAX_NODE_MASK_DIFF}`,
        );
    });
  }

  const npr = net.get('nodePortRange');
  let nodePortRange = defaults.nodePortRange;
  const text = npr.str();
  if (text !== undefined) {
    const r = parsePortRange(text);
    if (!r) npr.error(`Invalid value: ${JSON.stringify(text)}: not a port range`, 'write it as kube-apiserver takes it: 30000-32767 or 30000+2767');
    else nodePortRange = r;
  }

  const ctl = spec.get('controllers');
  ctl.expectMap(['maxEndpointsPerSlice', 'preferSameTrafficDistribution'], 'controllers');
  const kubelet = spec.get('kubelet');
  kubelet.expectMap(['containerStartSeconds', 'sigtermExitSeconds'], 'kubelet');
  const nl = spec.get('nodeLifecycle');
  nl.expectMap(['defaultTolerationSeconds'], 'nodeLifecycle');
  const sched = spec.get('scheduler');
  sched.expectMap(['percentageOfNodesToScore'], 'scheduler');

  return clusterConfig({
    clusterCIDRs: podCidrs.map((c) => c.text),
    serviceCIDRs: svcCidrs.map((c) => c.text),
    nodeCIDRMaskSize: mask,
    allocateNodeCIDRs: allocate,
    nodePortRange,
    maxEndpointsPerSlice: ctl.get('maxEndpointsPerSlice').int({ min: 1, max: 1000 }) ?? defaults.maxEndpointsPerSlice,
    preferSameTrafficDistribution: ctl.get('preferSameTrafficDistribution').bool() ?? defaults.preferSameTrafficDistribution,
    kubelet: {
      containerStartSeconds: kubelet.get('containerStartSeconds').num({ min: 0 }) ?? defaults.kubelet.containerStartSeconds,
      sigtermExitSeconds: kubelet.get('sigtermExitSeconds').num({ min: 0 }) ?? defaults.kubelet.sigtermExitSeconds,
    },
    nodeLifecycle: { defaultTolerationSeconds: nl.get('defaultTolerationSeconds').int({ min: 0 }) ?? defaults.nodeLifecycle.defaultTolerationSeconds },
    scheduler: { percentageOfNodesToScore: sched.get('percentageOfNodesToScore').int({ min: 0, max: 100 }) ?? defaults.scheduler.percentageOfNodesToScore },
  });
}

/** kube-apiserver's --service-node-port-range forms: `30000-32767`, `30000+2767`, `30000`. */
export function parsePortRange(text: string): { base: number; size: number } | undefined {
  const m = /^\s*(\d+)\s*(?:([-+])\s*(\d+))?\s*$/.exec(text);
  if (!m) return undefined;
  const base = Number(m[1]);
  const other = m[3] !== undefined ? Number(m[3]) : undefined;
  const end = other === undefined ? base : m[2] === '+' ? base + other : other;
  if (base < 1 || end > 65535 || end < base) return undefined;
  return { base, size: end - base + 1 };
}

interface NodeContext {
  region?: string;
  cluster: ClusterConfig;
  overlay: boolean;
}

/** Hands out node addresses from subnets in order, skipping the network, first and broadcast addresses and any taken address. */
class AddressPool {
  private readonly cursors = new Map<string, bigint>();
  constructor(private readonly used: Set<string>) {}

  take(c: Cidr): IP | undefined {
    const size = cidrSize(c);
    const last = c.family === 'IPv4' ? size - 2n : size - 1n;
    const base = networkOf(c);
    let off = this.cursors.get(c.text) ?? 2n;
    for (; off <= last; off++) {
      const ip = addToIP(base, off);
      const key = ip.toString();
      if (!this.used.has(key)) {
        this.used.add(key);
        this.cursors.set(c.text, off + 1n);
        return ip;
      }
    }
    this.cursors.set(c.text, off);
    return undefined;
  }
}

function readNodes(list: Field, ctx: NodeContext): NodeSpec[] {
  const entries = list.list();
  if (!list.present || entries.length === 0) {
    list.error('Required value', 'list the nodes, e.g. - {namePrefix: node, count: 3, zones: [zone-a, zone-b, zone-c], subnet: 192.168.1.0/24}');
    return [];
  }
  const podCidrs = ctx.cluster.clusterCIDRs.map((c) => parseCIDR(c)).filter((c): c is Cidr => !!c);
  const svcCidrs = ctx.cluster.serviceCIDRs.map((c) => parseCIDR(c)).filter((c): c is Cidr => !!c);

  // Addresses written out for single nodes are reserved before pools take theirs.
  const used = new Set<string>();
  const explicit = new Map<string, Field>();
  for (const e of entries) {
    const ipField = e.get('internalIP');
    const text = ipField.present ? ipField.str() : undefined;
    const ip = text !== undefined ? parseIP(text) : undefined;
    if (!ip || !e.get('name').present) continue;
    const key = ip.toString();
    const first = explicit.get(key);
    if (first) ipField.error(`duplicate node IP ${text}: also given at line ${first.pos.line}`, 'every node needs its own address');
    else explicit.set(key, ipField);
    used.add(key);
  }
  const pool = new AddressPool(used);

  const checkRange = (f: Field, what: string, inside: (c: Cidr) => boolean): void => {
    for (const s of svcCidrs) if (inside(s)) f.error(`${what} is inside the serviceCIDR ${s.text}`, 'node addresses must not overlap the Service range');
    if (ctx.overlay)
      for (const p of podCidrs) if (inside(p)) f.error(`${what} is inside the clusterCIDR ${p.text}`, 'node addresses must not overlap the Pod range');
  };

  const nodes: NodeSpec[] = [];
  const names = new Map<string, Field>();
  for (const e of entries) {
    if (!e.expectMap(NODE_FIELDS, 'a node entry')) {
      if (!e.present) e.error('empty node entry');
      continue;
    }
    const name = e.get('name');
    const prefix = e.get('namePrefix');
    const isPool = prefix.present || e.get('count').present;
    if (name.present && isPool) {
      e.error('give either name (one node) or namePrefix and count (a pool), not both');
      continue;
    }
    if (!name.present && !isPool) {
      e.error('a node entry needs name (one node) or namePrefix and count (a pool)');
      continue;
    }
    const common = readNodeCommon(e, ctx);
    let nodeNames: string[];
    let zones: (string | undefined)[];
    if (isPool) {
      const p = prefix.str({ required: true, hint: 'names are <namePrefix>-1 … <namePrefix>-<count>' });
      const count = e.get('count').int({ required: true, min: 1 });
      if (p === undefined || count === undefined) continue;
      nodeNames = Array.from({ length: count }, (_, i) => `${p}-${i + 1}`);
      const nameErrs = isDNS1123Subdomain(`${p}-1`);
      if (nameErrs.length) {
        prefix.error(`Invalid value: ${JSON.stringify(p)}: node names ${nameErrs[0]}`);
        continue;
      }
      for (const f of ['internalIP', 'externalIP'] as const)
        if (e.get(f).present) e.get(f).error(`${f} names one node's address`, `give a pool ${f === 'internalIP' ? 'subnet' : 'externalSubnet'} instead`);
    } else {
      const n = name.str({ required: true });
      if (n === undefined) continue;
      const errsN = isDNS1123Subdomain(n);
      if (errsN.length) {
        name.error(`Invalid value: ${JSON.stringify(n)}: ${errsN[0]}`);
        continue;
      }
      nodeNames = [n];
      if (e.get('zones').present) e.get('zones').error('zones spreads a pool over zones', 'give a single node zone: <zone>');
    }
    zones = readZones(e, nodeNames.length);

    // Internal addresses.
    const subnets = readSubnets(e.get('subnet'), zones, checkRange);
    const externalSubnets = readSubnets(e.get('externalSubnet'), zones, () => {});
    let singleIP: string | undefined;
    if (!isPool && e.get('internalIP').present) {
      const f = e.get('internalIP');
      const text = f.str();
      const ip = text !== undefined ? parseIP(text) : undefined;
      if (!ip) {
        if (text !== undefined) f.error(`Invalid value: ${JSON.stringify(text)}: must be a valid IP address`);
        continue;
      }
      singleIP = ip.toString();
      checkRange(f, `internalIP ${singleIP}`, (c) => contains(c, ip));
    } else if (!subnets.length) {
      e.get(isPool ? 'subnet' : 'internalIP').error('Required value', isPool ? 'give the pool a subnet to take node addresses from, e.g. subnet: 192.168.1.0/24' : 'give the node an internalIP, or a subnet to take one from');
      continue;
    }
    let externalIP: string | undefined;
    if (!isPool && e.get('externalIP').present) {
      const text = e.get('externalIP').str();
      const ip = text !== undefined ? parseIP(text) : undefined;
      if (text !== undefined && !ip) e.get('externalIP').error(`Invalid value: ${JSON.stringify(text)}: must be a valid IP address`);
      externalIP = ip?.toString();
    }

    for (let i = 0; i < nodeNames.length; i++) {
      const nodeName = nodeNames[i]!;
      const zone = zones[i];
      let internalIP = singleIP;
      // The subnet the node's NIC sits in: the pool's, or (a lone node without one) the /24 around its address.
      let nodeSubnet = subnets.length ? subnets[i % subnets.length]!.cidr.text : enclosingSubnet(internalIP!);
      if (internalIP === undefined) {
        const subnet = subnets[i % subnets.length]!;
        nodeSubnet = subnet.cidr.text;
        const ip = pool.take(subnet.cidr);
        if (!ip) {
          subnet.field.error(`subnet ${subnet.cidr.text} has no free address left for node ${nodeName}`, 'use a larger subnet, or split the pool');
          break;
        }
        internalIP = ip.toString();
      }
      let ext = externalIP;
      if (externalSubnets.length) ext = pool.take(externalSubnets[i % externalSubnets.length]!.cidr)?.toString();
      const firstField = names.get(nodeName);
      if (firstField) {
        (isPool ? prefix : name).error(`duplicate node name ${nodeName}: also defined at line ${firstField.pos.line}`, 'node names must be unique');
        continue;
      }
      names.set(nodeName, isPool ? prefix : name);
      nodes.push(buildNode(nodeName, zone, internalIP, nodeSubnet, ext, common, e));
    }
  }
  return nodes;
}

interface NodeCommon {
  role: 'control-plane' | 'worker';
  region?: string;
  instanceType?: string;
  capacity: NodeSpec['capacity'];
  labels: Record<string, string>;
  taints: NodeSpec['taints'];
  unschedulable: boolean;
}

function readZones(e: Field, count: number): (string | undefined)[] {
  const zone = e.get('zone').str();
  const zf = e.get('zones');
  if (zone !== undefined && zf.present) {
    zf.error('give zone or zones, not both');
    return Array(count).fill(zone);
  }
  if (!zf.present) return Array(count).fill(zone);
  const zs = zf.list().map((z) => z.str({ required: true })).filter((z): z is string => z !== undefined);
  if (zs.length === 0) {
    zf.error('must list at least one zone');
    return Array(count).fill(undefined);
  }
  for (const [i, z] of zs.entries()) {
    const errs = isValidLabelValue(z);
    if (errs.length) zf.list()[i]!.error(`Invalid value: ${JSON.stringify(z)}: ${errs[0]}`);
  }
  // Round-robin, as a cloud node group spreads instances over its zones.
  return Array.from({ length: count }, (_, i) => zs[i % zs.length]);
}

function readSubnets(
  f: Field,
  zones: (string | undefined)[],
  checkRange: (f: Field, what: string, inside: (c: Cidr) => boolean) => void,
): { cidr: Cidr; field: Field }[] {
  if (!f.present) return [];
  const items = f.isSeq ? f.list() : [f];
  const out: { cidr: Cidr; field: Field }[] = [];
  for (const item of items) {
    const text = item.str();
    if (text === undefined) continue;
    const c = parseCIDR(text);
    if (!c) {
      item.error(`Invalid value: ${JSON.stringify(text)}: must be a valid CIDR value, (e.g. 192.168.1.0/24)`);
      continue;
    }
    checkRange(item, `subnet ${text}`, (r) => cidrsOverlap(r, c));
    out.push({ cidr: c, field: item });
  }
  const distinctZones = new Set(zones.filter(Boolean)).size;
  if (f.isSeq && out.length > 1 && distinctZones > 1 && out.length !== distinctZones)
    f.error(`lists ${out.length} subnets for ${distinctZones} zones`, 'give one subnet per zone, in the order of zones');
  return out;
}

function readNodeCommon(e: Field, ctx: NodeContext): NodeCommon {
  const role = (e.get('role').str({ values: ['worker', 'control-plane'] }) ?? 'worker') as NodeCommon['role'];
  const region = e.get('region').str() ?? ctx.region;
  const instanceType = e.get('instanceType').str();
  const cap = e.get('capacity');
  cap.expectMap(['cpu', 'memory', 'pods'], 'capacity');
  const quantity = (key: 'cpu' | 'memory' | 'pods', dflt: string): string => {
    const f = cap.get(key);
    const v = f.str();
    if (v === undefined) return dflt;
    if (!isQuantity(v) || (key === 'pods' && !/^\d+$/.test(v))) {
      f.error(`Invalid value: ${JSON.stringify(v)}: ${key === 'pods' ? 'must be a whole number' : 'not a quantity'}`, key === 'memory' ? 'e.g. 16Gi' : key === 'cpu' ? 'e.g. 4 or 3500m' : 'e.g. 110');
      return dflt;
    }
    return v;
  };
  const capacity = { cpu: quantity('cpu', '4'), memory: quantity('memory', '16Gi'), pods: quantity('pods', '110') };
  const labelsField = e.get('labels');
  const labels = labelsField.stringMap() ?? {};
  for (const [k, v] of Object.entries(labels)) {
    const kErr = isQualifiedName(k);
    if (kErr.length) labelsField.get(k).error(`Invalid value: ${JSON.stringify(k)}: ${kErr[0]}`);
    const vErr = isValidLabelValue(v);
    if (vErr.length) labelsField.get(k).error(`Invalid value: ${JSON.stringify(v)}: ${vErr[0]}`);
  }
  const taints: NodeSpec['taints'] = [];
  const seen = new Set<string>();
  for (const t of e.get('taints').list()) {
    if (!t.expectMap(['key', 'value', 'effect'], 'a taint')) continue;
    const key = t.get('key').str({ required: true });
    const value = t.get('value').str();
    const effect = t.get('effect').str({ required: true, values: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] }) as NodeSpec['taints'][number]['effect'] | undefined;
    if (key !== undefined) {
      const kErr = isQualifiedName(key);
      if (kErr.length) t.get('key').error(`Invalid value: ${JSON.stringify(key)}: ${kErr[0]}`);
    }
    if (value !== undefined && isValidLabelValue(value).length) t.get('value').error(`Invalid value: ${JSON.stringify(value)}: ${isValidLabelValue(value)[0]}`);
    if (key === undefined || effect === undefined) continue;
    if (seen.has(`${key}:${effect}`)) t.error(`Duplicate value: "${key}:${effect}"`, 'taints must be unique by key and effect pair');
    seen.add(`${key}:${effect}`);
    taints.push({ key, ...(value !== undefined ? { value } : {}), effect });
  }
  return {
    role,
    ...(region !== undefined ? { region } : {}),
    ...(instanceType !== undefined ? { instanceType } : {}),
    capacity,
    labels,
    taints,
    unschedulable: e.get('unschedulable').bool() ?? false,
  };
}

const CONTROL_PLANE = 'node-role.kubernetes.io/control-plane';

function buildNode(name: string, zone: string | undefined, internalIP: string, subnet: string, externalIP: string | undefined, c: NodeCommon, entry: Field): NodeSpec {
  // What the kubelet registers (hostname, os, arch, with the beta aliases it still sets), what the cloud
  // node controller adds (zone, region, instance type) and what kubeadm marks on control-plane nodes.
  const labels: Record<string, string> = {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    ...(c.instanceType ? { 'node.kubernetes.io/instance-type': c.instanceType } : {}),
    ...(c.region ? { 'topology.kubernetes.io/region': c.region } : {}),
    ...(zone ? { 'topology.kubernetes.io/zone': zone } : {}),
    ...(c.role === 'control-plane' ? { [CONTROL_PLANE]: '' } : {}),
    ...c.labels,
  };
  const taints = [...c.taints];
  if (c.role === 'control-plane' && !taints.some((t) => t.key === CONTROL_PLANE && t.effect === 'NoSchedule'))
    taints.push({ key: CONTROL_PLANE, effect: 'NoSchedule' });
  return {
    name,
    role: c.role,
    ...(zone !== undefined ? { zone } : {}),
    ...(c.region !== undefined ? { region: c.region } : {}),
    ...(c.instanceType !== undefined ? { instanceType: c.instanceType } : {}),
    internalIP,
    subnet,
    ...(externalIP !== undefined ? { externalIP } : {}),
    capacity: { ...c.capacity },
    labels,
    taints,
    unschedulable: c.unschedulable,
    source: entry.reader.sourceOf(entry.node),
  };
}
