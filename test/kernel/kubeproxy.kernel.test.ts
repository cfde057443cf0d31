// The Linux kernel judges kube-proxy rules as kubepath renders them: the shipped scenario's Services
// and fast-check-generated Services (ClusterIP, NodePort, externalIPs, LoadBalancer ingress IP,
// externalTrafficPolicy Local, ClientIP affinity, no endpoints) are rendered for a node by the real
// renderer, with every address inside 198.18.0.0/15, loaded into the lab's node namespace, and real
// connections (from a pod, from the node, from outside) must each take a path the evaluator lists,
// with the same DNAT/SNAT and verdict. Needs root, iptables (nft backend), xtables-monitor, ipset and
// ip netns; skips with a printed reason elsewhere, and fails instead when CI=true.
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderIptables } from '../../src/dataplane/kubeproxy/iptables.js';
import { iptablesNodeSave } from '../../src/dataplane/kubeproxy/save.js';
import { Netfilter, parseIptablesSave } from '../../src/dataplane/netfilter/index.js';
import { makePacket } from '../../src/net/packet.js';
import { runUntil, startSimulation } from '../../src/scenario/runner.js';
import { loadScenario } from '../../src/scenario/scenario.js';
import { chiSquare, kernelSkipReason, KernelLab, runKernelCase, type CaseReport, type KernelCase, type KernelCaseFlow } from './harness.js';
import {
  EP_IPS,
  LAB_ENV,
  LAB_NODE_IP,
  labFlows,
  labNodeView,
  labObjects,
  labServicesArbitrary,
  remapToLab,
  renderedCase,
} from '../dataplane/integration/lab-services.js';

const skipReason = kernelSkipReason();
const inCI = process.env.CI === 'true';
if (skipReason) console.log(`kernel suite skipped: ${skipReason}`);

describe.runIf(skipReason && inCI)('kube-proxy kernel suite in CI', () => {
  it('can run (CI must provide root, iptables, xtables-monitor, ipset and ip netns)', () => {
    expect.fail(`kernel suite cannot run in CI: ${skipReason}`);
  });
});

function explain(report: CaseReport): string {
  return report.problems.length ? `${report.name}\n${report.problems.join('\n\n')}` : '';
}

function expectAgreement(report: CaseReport): void {
  expect(explain(report)).toBe('');
  for (const f of report.flows) {
    expect(f.kernel.length, `${f.flow.from} -> ${f.flow.dst}:${f.flow.dport} has no kernel trace`).toBeGreaterThan(0);
    expect(f.matched, `${f.flow.from} -> ${f.flow.dst}:${f.flow.dport}`).toBeGreaterThanOrEqual(0);
  }
}

/**
 * Run a case one source host at a time, retrying a part whose kernel trace went missing. Local
 * workaround: xtables-monitor exits on ENOBUFS when trace events come faster than it prints them
 * (only first packets are traced now, which made it rare), and every later flow of that run then
 * has no trace. Splitting by source keeps ClientIP affinity meaningful (it is per client address).
 */
async function runBySource(lab: KernelLab, kcase: KernelCase): Promise<CaseReport> {
  const sources = [...new Set(kcase.flows.map((f) => f.from))];
  const reports: CaseReport[] = [];
  for (const from of sources) {
    const part: KernelCase = { ...kcase, name: `${kcase.name} [from ${from}]`, flows: kcase.flows.filter((f) => f.from === from) };
    let report = await runKernelCase(lab, part);
    for (let attempt = 1; attempt < 3 && report.flows.some((f) => f.kernel.length === 0); attempt++) report = await runKernelCase(lab, part);
    reports.push(report);
  }
  return { name: kcase.name, saved: reports[0]?.saved ?? '', flows: reports.flatMap((r) => r.flows), problems: reports.flatMap((r) => r.problems) };
}

/** The rolling-update scenario's Services at `at` seconds, remapped into the lab, rendered for node-1. */
function scenarioCase(at: number) {
  const sim = startSimulation(loadScenario('scenarios/rolling-update.yaml'));
  runUntil(sim, at);
  const { store } = sim.cluster;
  const lab = remapToLab(store.list('Service') as unknown as Service[], store.list('EndpointSlice') as unknown as EndpointSlice[]);
  const svc = (ns: string, name: string) => lab.services.find((s) => s.metadata?.namespace === ns && s.metadata?.name === name)!;
  const web = svc('shop', 'web').spec!.clusterIP!;
  const np = svc('shop', 'web-nodeport').spec!;
  const nodePort = np.ports![0]!.nodePort!;
  const dns = svc('kube-system', 'kube-dns').spec!.clusterIP!;
  const api = svc('default', 'kubernetes').spec!.clusterIP!;
  const apiHasEndpoints = lab.slices.some((s) => s.metadata?.labels?.['kubernetes.io/service-name'] === 'kubernetes' && s.endpoints.length > 0);
  const flows: KernelCaseFlow[] = [
    { from: 'client', proto: 'tcp', dst: web, dport: 80, expect: 'ok' },
    { from: 'client', proto: 'tcp', dst: web, dport: 80, expect: 'ok' },
    { from: 'client', proto: 'tcp', dst: np.clusterIP!, dport: 80, expect: 'ok' },
    { from: 'client', proto: 'tcp', dst: LAB_NODE_IP, dport: nodePort, expect: 'ok' },
    { from: 'client', proto: 'udp', dst: dns, dport: 53, expect: 'ok' },
    { from: 'client', proto: 'tcp', dst: api, dport: 443, ...(apiHasEndpoints ? {} : { expect: 'error:ECONNREFUSED' }) },
    { from: 'node', proto: 'tcp', dst: web, dport: 80, expect: 'ok' },
    { from: 'node', proto: 'tcp', dst: LAB_NODE_IP, dport: nodePort, expect: 'ok' },
    { from: 'ext', proto: 'tcp', dst: LAB_NODE_IP, dport: nodePort, expect: 'ok' },
    { from: 'ext', proto: 'tcp', dst: LAB_NODE_IP, dport: nodePort, expect: 'ok' },
    { from: 'ext', proto: 'tcp', dst: web, dport: 80, expect: 'ok' },
    { from: 'ep1', proto: 'tcp', dst: web, dport: 80, expect: 'ok' },
  ];
  const node = sim.scenario.profile.nodes.find((n) => n.name === 'node-1')!;
  return renderedCase(`rolling-update at ${at}s, node-1`, lab.services, lab.slices, labNodeView('node-1', node.zone), flows);
}

describe.skipIf(!!skipReason)('kube-proxy rules rendered by kubepath, against the Linux kernel', () => {
  let lab: KernelLab | undefined;

  beforeAll(async () => {
    lab = await KernelLab.create();
    // The kernel rate-limits ICMP errors per peer (1/s after a burst): UDP connections to a REJECTing
    // Service would see a timeout instead of ECONNREFUSED, which the evaluator does not model.
    for (const sysctl of ['net.ipv4.icmp_ratelimit=0', 'net.ipv4.icmp_msgs_per_sec=100000']) {
      const r = spawnSync('ip', ['netns', 'exec', lab.nodeNs, 'sysctl', '-qw', sysctl], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`sysctl ${sysctl}: ${r.stderr}`);
    }
  }, 60_000);

  afterAll(async () => {
    await lab?.destroy();
  }, 60_000);

  it('the shipped rolling-update scenario before the rollout: ClusterIP, NodePort, DNS over UDP, no-endpoint REJECT', async () => {
    const report = await runBySource(lab!, scenarioCase(25));
    expectAgreement(report);
    // Three endpoints answered the web Service over the run: the evaluator's branches all exist in the kernel.
    const webOutcomes = report.flows[0]!.outcomes.filter((o) => o.verdict === 'ACCEPT').map((o) => o.packet.dst);
    expect(new Set(webOutcomes)).toEqual(new Set(EP_IPS));
  }, 60_000);

  it('the shipped scenario after node-2 stopped reporting: its endpoints have left the rules', async () => {
    const report = await runBySource(lab!, scenarioCase(180));
    expectAgreement(report);
    expect(report.flows[0]!.outcomes.length).toBeLessThan(3);
  }, 60_000);

  it('generated Services of every kind: the kernel takes one of the evaluator\'s paths, with the same NAT and fate', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(labServicesArbitrary, async (list) => {
        const { services, slices } = labObjects(list, 'lab-node');
        const kcase = renderedCase(`generated #${run++}: ${JSON.stringify(list)}`, services, slices, labNodeView('lab-node'), labFlows(list));
        const report = await runBySource(lab!, kcase);
        expectAgreement(report);
      }),
      { numRuns: Number(process.env.KP_RUNS ?? 6), endOnFailure: true },
    );
  }, 150_000);

  it('every kind at least once: NodePort, externalIP and LB IP with Local policy, affinity, no endpoints', async () => {
    const list = [
      { index: 0, type: 'LoadBalancer', protocol: 'TCP', externalIP: true, externalLocal: true, affinity: false, targetPort: 8080, endpoints: [{ host: 0, local: true, ready: true }, { host: 1, local: false, ready: true }] },
      { index: 1, type: 'NodePort', protocol: 'TCP', externalIP: false, externalLocal: true, affinity: true, targetPort: 8081, endpoints: [{ host: 2, local: false, ready: true }] },
      { index: 2, type: 'ClusterIP', protocol: 'TCP', externalIP: true, externalLocal: false, affinity: true, targetPort: 8082, endpoints: [{ host: 0, local: false, ready: true }, { host: 1, local: false, ready: true }, { host: 2, local: false, ready: true }] },
      { index: 3, type: 'NodePort', protocol: 'UDP', externalIP: false, externalLocal: false, affinity: false, targetPort: 9090, endpoints: [] },
    ] as const;
    const { services, slices } = labObjects(list, 'lab-node');
    const report = await runBySource(lab!, renderedCase('every kind', services, slices, labNodeView('lab-node'), labFlows(list)));
    expectAgreement(report);
    // ClientIP affinity: the pod's connections to svc2 (ClusterIP, then externalIP) reach one endpoint;
    // after the first, the recent list leaves the evaluator a single path.
    const sticky = report.flows.filter((f) => f.flow.from === 'client' && (f.flow.dst === '198.19.1.12' || f.flow.dst === '198.19.200.12'));
    expect(sticky).toHaveLength(2);
    expect(new Set(sticky.map((f) => f.observed.split(':')[1])).size).toBe(1);
    expect(sticky[0]!.outcomes).toHaveLength(3);
    expect(sticky[1]!.outcomes).toHaveLength(1);
    // externalTrafficPolicy Local: an outside client reaches only the node's own endpoint (ep1) of svc0.
    const local = report.flows.filter((f) => f.flow.from === 'ext' && f.flow.dport === 80 && f.flow.dst !== '198.19.1.10');
    expect(local.length).toBe(2);
    for (const f of local) expect(f.observed.split(':')[1]).toBe('ep1');
  }, 90_000);

  it('endpoint counts over 300 connections to a rendered 3-endpoint Service fit the evaluator (chi-square, p = 0.001)', async () => {
    const l = lab!;
    const list = [{ index: 0, type: 'ClusterIP', protocol: 'TCP', externalIP: false, externalLocal: false, affinity: false, targetPort: 8080, endpoints: [0, 1, 2].map((host) => ({ host, local: false, ready: true })) }] as const;
    const { services, slices } = labObjects(list as never, 'lab-node');
    const rules = iptablesNodeSave(renderIptables(services, slices, labNodeView('lab-node'), LAB_ENV), 0);
    const parsed = parseIptablesSave(rules);
    if (!parsed.ok) throw new Error('rendered rules do not parse');
    await l.load(rules);
    const vip = '198.19.1.10';
    const nf = new Netfilter(parsed.ruleset, { node: l.network() });
    const client = l.hosts.client;
    const probe = makePacket({ src: client.ip, dst: vip, proto: 'tcp', sport: 50000, dport: 80, inInterface: client.nodeIface! });
    const byEndpoint = new Map<string, number>();
    for (const o of nf.evaluate(probe, { from: 'interface' }).outcomes) byEndpoint.set(o.packet.dst, (byEndpoint.get(o.packet.dst) ?? 0) + o.probabilityValue);
    const hostOf = (ip: string) => Object.values(l.hosts).find((h) => h.ip === ip)!.role;
    expect([...byEndpoint.keys()].map(hostOf).sort()).toEqual(['ep1', 'ep2', 'ep3']);

    const flows = Array.from({ length: 300 }, () => ({ from: 'client' as const, proto: 'tcp' as const, dst: vip, dport: 80, sport: l.port(), timeoutMs: 3000 }));
    const { results } = await l.flows(flows, { trace: false, concurrency: 16 });
    const counts = new Map<string, number>();
    for (const r of results) {
      expect(r.status).toBe('ok');
      if (r.status === 'ok') counts.set(r.reply.name, (counts.get(r.reply.name) ?? 0) + 1);
    }
    const order = [...byEndpoint.keys()];
    const x2 = chiSquare(
      order.map((ip) => counts.get(hostOf(ip)) ?? 0),
      order.map((ip) => byEndpoint.get(ip)!),
    );
    // Critical value of chi-square with 2 degrees of freedom at significance 0.001.
    expect(x2).toBeLessThan(13.8155);
  }, 120_000);
});
