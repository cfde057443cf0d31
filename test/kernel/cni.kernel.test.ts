// The Linux kernel judges the CNI renderers. Three "node" namespaces whose eth0s are veths into a
// bridge in a "switch" namespace (the LAN, which also holds the subnet gateway 198.18.0.1); the
// plugin's rendered commands — host, then per pod host and pod — are applied to the kernel with
// `ip -n` / `bridge -n` / `ip netns exec … sysctl`, and its iptables payload with
// `iptables-restore --noflush`; the same commands program the routing model. Then, for pod → pod
// paths across and within nodes, every namespace on the model's path must route the packet as the
// kernel does (`ip route get` with the same iif: same device, same gateway, or local), the routes
// must print the same, and a real TCP connection must succeed with the server seeing the pod's
// address. Pods reaching the gateway host are masqueraded to their node's address.
// Addresses: node LAN 198.18.0.0/24, cluster CIDR 198.19.0.0/16. Same skip rule as the other
// kernel suites: skips with a printed reason, fails when CI=true.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCalico } from '../../src/dataplane/cni/calico.js';
import { createFlannel } from '../../src/dataplane/cni/flannel.js';
import type { CniNode, CniPlugin, CniPod } from '../../src/dataplane/cni/types.js';
import { applyHostCommand, Network, showRoutes, type HostCommand, type WalkPath } from '../../src/dataplane/routing/index.js';
import { makePacket } from '../../src/net/packet.js';
import { AGENT, kernelSkipReason, run, startAgentServer, teardown } from './harness.js';

const skipReason = kernelSkipReason();
const inCI = process.env.CI === 'true';
if (skipReason) console.log(`kernel cni suite skipped: ${skipReason}`);

describe.runIf(skipReason && inCI)('kernel cni suite in CI', () => {
  it('can run (CI must provide root and ip netns)', () => {
    expect.fail(`kernel cni suite cannot run in CI: ${skipReason}`);
  });
});



async function must(cmd: string, args: readonly string[], input?: string): Promise<string> {
  const r = await run(cmd, args, input);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

const LAN = '198.18.0.0/24';
const GATEWAY = '198.18.0.1';
const CLUSTER = '198.19.0.0/16';

const NODES: CniNode[] = [
  { name: 'n1', internalIP: '198.18.0.11', subnet: LAN, podCIDRs: ['198.19.1.0/24'] },
  { name: 'n2', internalIP: '198.18.0.12', subnet: LAN, podCIDRs: ['198.19.2.0/24'] },
  { name: 'n3', internalIP: '198.18.0.13', subnet: LAN, podCIDRs: ['198.19.3.0/24'] },
];
/** Pods in creation order: a and d share n1. */
const PLACEMENT = [
  ['a', 'n1'],
  ['b', 'n2'],
  ['c', 'n3'],
  ['d', 'n1'],
] as const;

interface Pod extends CniPod {
  readonly netns: string;
  readonly hostInterface?: string;
}

/** Kernel namespaces and the routing model, programmed by the same commands. */
class CniTwin {
  readonly id = randomBytes(3).toString('hex');
  readonly net = new Network();
  readonly pods: Pod[] = [];
  private readonly created: string[] = [];
  private readonly servers: ChildProcess[] = [];
  private onExit: (() => void) | undefined;

  constructor(readonly plugin: CniPlugin) {}

  /** Kernel name of a model namespace. */
  kns(name: string): string {
    return `kp-${this.id}-${name}`;
  }

  pod(name: string): Pod {
    return this.pods.find((p) => p.name === name)!;
  }

  private async addKernelNamespace(name: string, forward: boolean): Promise<void> {
    const k = this.kns(name);
    await must('ip', ['netns', 'add', k]);
    this.created.push(k);
    await must('ip', ['-n', k, 'link', 'set', 'lo', 'up']);
    for (const s of [`net.ipv4.ip_forward=${forward ? 1 : 0}`, 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']) {
      await must('ip', ['netns', 'exec', k, 'sysctl', '-qw', s]);
    }
  }

  /** One command in namespace `ns` of both: the kernel (names mapped) and the model. */
  async apply(ns: string, command: HostCommand): Promise<void> {
    const w = command.trim().split(/\s+/);
    const at = w.indexOf('netns');
    if (at >= 0) w[at + 1] = this.kns(w[at + 1]!);
    const k = this.kns(ns);
    if (w[0] === 'ip') await must('ip', ['-n', k, ...w.slice(1)]);
    else if (w[0] === 'bridge') await must('bridge', ['-n', k, ...w.slice(1)]);
    else if (w[0] === 'sysctl') await must('ip', ['netns', 'exec', k, 'sysctl', ...w.slice(1)]);
    else throw new Error(`cannot run "${command}"`);
    const r = applyHostCommand(this.net, ns, command);
    if (!r.ok) throw new Error(`model refused "${command}" in ${ns}: ${r.message}`);
  }

  async build(): Promise<void> {
    this.onExit = () => {
      for (const k of this.created) spawnSync('ip', ['netns', 'del', k]);
    };
    process.once('exit', this.onExit);
    // The switch: a bridge holding the subnet gateway, one port per node.
    await this.addKernelNamespace('sw', false);
    this.net.createNamespace('sw', { ipForward: false });
    for (const c of ['ip link add br0 type bridge', 'ip link set br0 up', `ip addr add ${GATEWAY}/24 dev br0`]) await this.apply('sw', c);
    for (const n of NODES) {
      await this.addKernelNamespace(n.name, true);
      this.net.createNamespace(n.name, { ipForward: true });
      await this.apply('sw', `ip link add sw-${n.name} type veth peer name eth0 netns ${n.name}`);
      await this.apply('sw', `ip link set sw-${n.name} master br0`);
      await this.apply('sw', `ip link set sw-${n.name} up`);
      // The node's base setup (what the lead's tracer does before the CNI runs).
      for (const c of ['ip link set eth0 up', `ip addr add ${n.internalIP}/24 dev eth0`, `ip route add default via ${GATEWAY} dev eth0`]) await this.apply(n.name, c);
    }
    // Pod addresses from the plugin's IPAM, as the kubelet asks for them.
    const pods: CniPod[] = [];
    for (const [name, nodeName] of PLACEMENT) {
      const n = NODES.find((x) => x.name === nodeName)!;
      const res = this.plugin.ipam.allocate({ metadata: { name: n.name }, spec: { podCIDR: n.podCIDRs[0]!, podCIDRs: [...n.podCIDRs] } }, { metadata: { namespace: 'default', name, uid: `uid-${name}` } });
      if (!res.ok) throw new Error(res.reason);
      pods.push({ namespace: 'default', name, uid: `uid-${name}`, node: nodeName, ips: res.ips, hostNetwork: false, hostPorts: [] });
    }
    const cluster = { clusterCIDRs: [CLUSTER], serviceCIDRs: ['10.96.0.0/12'], nodes: new Map(NODES.map((n) => [n.name, n])), podsOn: (node: string) => pods.filter((p) => p.node === node) };
    for (const n of NODES) {
      const h = this.plugin.host(n, cluster);
      for (const c of h.commands) await this.apply(n.name, c);
      if (h.iptables) await must('ip', ['netns', 'exec', this.kns(n.name), 'iptables-restore', '--noflush'], h.iptables);
    }
    for (const p of pods) {
      const netns = `pod-${p.name}`;
      await this.addKernelNamespace(netns, false);
      this.net.createNamespace(netns, { ipForward: false });
      const n = NODES.find((x) => x.name === p.node)!;
      const pn = this.plugin.pod(p, n, cluster, netns);
      for (const c of pn.host) await this.apply(n.name, c);
      for (const c of pn.pod) await this.apply(pn.netns, c);
      this.pods.push({ ...p, netns, ...(pn.hostInterface ? { hostInterface: pn.hostInterface } : {}) });
    }
  }

  walk(from: Pod, dst: string): WalkPath[] {
    return this.net.walk({ namespace: from.netns, datagram: { packet: makePacket({ src: from.ips[0]!, dst, proto: 'tcp', sport: 40000, dport: 8080 }) } });
  }

  /** Start the test agent serving TCP 8080 in a namespace. */
  serve(ns: string): Promise<void> {
    return startAgentServer(this.kns(ns), ns, [8080], this.servers);
  }

  /** Connect from a pod to `dst`:8080; the reply names the address the server saw. */
  async connect(from: Pod, dst: string): Promise<{ status: string; remote?: string; code?: string }> {
    const flows = [{ proto: 'tcp', host: dst, port: 8080, localAddress: from.ips[0], timeoutMs: 5000 }];
    const r = await run('ip', ['netns', 'exec', this.kns(from.netns), process.execPath, AGENT, 'client', JSON.stringify(flows), '1'], undefined, 60_000);
    if (r.code !== 0) throw new Error(`client failed: ${r.stderr}`);
    const [res] = JSON.parse(r.stdout) as { status: string; code?: string; reply?: { remote: string } }[];
    return { status: res!.status, ...(res!.reply ? { remote: res!.reply.remote } : {}), ...(res!.code ? { code: res!.code } : {}) };
  }

  async destroy(): Promise<void> {
    await teardown(this.servers, this.created);
    if (this.onExit) process.removeListener('exit', this.onExit);
  }
}

/** `ip route get` in the kernel, as `dev=X via=Y` or `local`. */
async function kernelGet(t: CniTwin, ns: string, dst: string, from: string, iif?: string): Promise<string> {
  const args = ['-j', '-n', t.kns(ns), 'route', 'get', dst, 'from', from, ...(iif ? ['iif', iif] : [])];
  const r = await run('ip', args);
  if (r.code !== 0) return `error ${r.stderr.trim()}`;
  const [route] = JSON.parse(r.stdout) as { type?: string; dev: string; gateway?: string }[];
  if (route!.type === 'local') return 'local';
  return `dev=${route!.dev} via=${route!.gateway ?? '-'}`;
}

/** Each routing step of the model's path, with what the kernel says for the same lookup. */
async function compareAlongPath(t: CniTwin, path: WalkPath, dst: string, from: string): Promise<{ model: string[]; kernel: string[] }> {
  const model: string[] = [];
  const kernel: string[] = [];
  for (const h of path.hops) {
    if (h.kind !== 'route' || !h.branch) continue;
    const b = h.branch;
    // A frame received on a bridge port is routed as arriving on the bridge.
    const port = h.iif !== undefined ? t.net.namespace(h.namespace).link(h.iif) : undefined;
    const iif = port?.master ?? h.iif;
    // A tunnel packet in transit is routed on its outer header; where it was encapsulated, the
    // lookup was the inner one (into the tunnel device).
    const outer = !b.encap ? b.datagram.outer : undefined;
    const here = `${h.namespace}${iif ? ` iif ${iif}` : ''}${outer ? ` outer ${outer.dst}` : ''}: `;
    model.push(here + (b.outcome === 'local' ? 'local' : b.outcome === 'forward' ? `dev=${b.encap?.device ?? b.outInterface} via=${b.encap?.innerGateway ?? b.gateway ?? '-'}` : `error ${b.outcome}`));
    kernel.push(here + (await kernelGet(t, h.namespace, outer?.dst ?? dst, outer?.src ?? from, iif)));
  }
  return { model, kernel };
}

function suite(title: string, make: () => CniPlugin, expectations: { crossNode: (t: CniTwin) => string[] }) {
  describe.skipIf(!!skipReason)(title, () => {
    const t = new CniTwin(make());

    beforeAll(async () => {
      try {
        await t.build();
        for (const p of ['b', 'c', 'd']) await t.serve(t.pod(p).netns);
        await t.serve('sw');
      } catch (e) {
        await t.destroy();
        throw e;
      }
    }, 120_000);

    afterAll(async () => {
      await t.destroy();
    }, 60_000);

    it('the nodes print the same routes as iproute2', async () => {
      for (const n of NODES) {
        const model = showRoutes(t.net.namespace(n.name), { table: 'all', family: 4 });
        expect(model, `routes of ${n.name}`).toBe(await must('ip', ['-4', '-n', t.kns(n.name), 'route', 'show', 'table', 'all']));
      }
    });

    it('every namespace on the model path routes pod → pod as the kernel does (across nodes and on one node)', async () => {
      for (const [from, to] of [
        ['a', 'b'],
        ['b', 'c'],
        ['c', 'a'],
        ['a', 'd'],
      ] as const) {
        const src = t.pod(from);
        const dst = t.pod(to);
        const paths = t.walk(src, dst.ips[0]!);
        expect(paths).toHaveLength(1);
        expect(paths[0]).toMatchObject({ outcome: 'local', namespace: dst.netns });
        const { model, kernel } = await compareAlongPath(t, paths[0]!, dst.ips[0]!, src.ips[0]!);
        expect(kernel, `${from} → ${to}`).toEqual(model);
      }
      // The interface sequence the CNI implies, for a → b.
      const a = t.pod('a');
      const path = t.walk(a, t.pod('b').ips[0]!)[0]!;
      expect((await compareAlongPath(t, path, t.pod('b').ips[0]!, a.ips[0]!)).kernel).toEqual(expectations.crossNode(t));
    });

    it('real connections between pods succeed and the server sees the pod address (no NAT inside the cluster)', async () => {
      for (const [from, to] of [
        ['a', 'b'],
        ['b', 'c'],
        ['a', 'c'],
        ['a', 'd'],
      ] as const) {
        expect(await t.connect(t.pod(from), t.pod(to).ips[0]!), `${from} → ${to}`).toEqual({ status: 'ok', remote: t.pod(from).ips[0] });
      }
    });

    it('a pod reaching a host outside the cluster is masqueraded to its node address (the model path ends at that host)', async () => {
      const a = t.pod('a');
      expect(t.walk(a, GATEWAY)[0]).toMatchObject({ outcome: 'local', namespace: 'sw' });
      expect(await t.connect(a, GATEWAY)).toEqual({ status: 'ok', remote: '198.18.0.11' });
    });
  });
}

suite('flannel host-gw against the Linux kernel', () => createFlannel({ mode: 'host-gw', clusterCIDRs: [CLUSTER], serviceCIDRs: ['10.96.0.0/12'], cloud: 'none', nodeSubnet: () => LAN }), {
  crossNode: (t) => [
    `pod-a: dev=eth0 via=198.19.1.1`,
    // Arriving from the pod on the cni0 bridge, out eth0 to node 2.
    `n1 iif cni0: dev=eth0 via=198.18.0.12`,
    `n2 iif eth0: dev=cni0 via=-`,
    `pod-b iif eth0: local`,
  ].map((s) => s.replace(/^pod-a/, t.pod('a').netns).replace(/^pod-b/, t.pod('b').netns)),
});

suite('Calico without encapsulation (BGP routes) against the Linux kernel', () => createCalico({ mode: 'none', clusterCIDRs: [CLUSTER], serviceCIDRs: ['10.96.0.0/12'], cloud: 'none', nodeSubnet: () => LAN }), {
  crossNode: (t) => [
    `${t.pod('a').netns}: dev=eth0 via=169.254.1.1`,
    `n1 iif ${t.pod('a').hostInterface}: dev=eth0 via=198.18.0.12`,
    `n2 iif eth0: dev=${t.pod('b').hostInterface} via=-`,
    `${t.pod('b').netns} iif eth0: local`,
  ],
});

suite('flannel VXLAN against the Linux kernel', () => createFlannel({ mode: 'vxlan', clusterCIDRs: [CLUSTER], serviceCIDRs: ['10.96.0.0/12'], cloud: 'none', nodeSubnet: () => LAN }), {
  crossNode: (t) => [
    `${t.pod('a').netns}: dev=eth0 via=198.19.1.1`,
    // Into flannel.1 via node 2's lease address; the outer UDP packet is local to node 2, which
    // decapsulates it on flannel.1 and bridges it to the pod.
    'n1 iif cni0: dev=flannel.1 via=198.19.2.0',
    'n2 iif eth0 outer 198.18.0.12: local',
    'n2 iif flannel.1: dev=cni0 via=-',
    `${t.pod('b').netns} iif eth0: local`,
  ],
});
