// Profiles: defaults, node pools and zones, address assignment, well-known labels and every check.
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { InputError } from '../../src/manifest/diagnostic.js';
import { defaultProfilePath, loadProfile, parsePortRange, parseProfile, PROFILES_DIR, readProfile, resolveProfilePath } from '../../src/scenario/profile.js';
import { yaml } from '../manifest/helpers.js';

const profile = (spec: string) => `apiVersion: kubepath.dev/v1alpha1\nkind: Profile\nmetadata:\n  name: p\nspec:\n${spec}`;
const problems = (spec: string) => readProfile(profile(spec), 'p.yaml').diagnostics.map((d) => `${d.severity} ${d.field}@${d.line}: ${d.message}`);
const pool = '  nodes:\n    - {namePrefix: node, count: 2, subnet: 192.168.1.0/24}\n';

describe('shipped profiles', () => {
  test('the default profile is bare-metal: 3 workers node-1..3 over zone-a/b/c, flannel vxlan, iptables, kubeadm ranges', () => {
    const p = loadProfile(defaultProfilePath());
    expect(p.name).toBe('bare-metal');
    expect(p.cloud).toBe('none');
    expect(p.cni).toEqual({ plugin: 'flannel', mode: 'vxlan', settings: {} });
    expect(p.kubeProxy).toEqual({ mode: 'iptables', masqueradeAll: false, ipvsScheduler: 'rr' });
    expect(p.cluster.clusterCIDRs).toEqual(['10.244.0.0/16']);
    expect(p.cluster.serviceCIDRs).toEqual(['10.96.0.0/12']);
    expect(p.cluster.nodePortRange).toEqual({ base: 30000, size: 2768 });
    expect(p.nodes.map((n) => [n.name, n.role, n.zone, n.internalIP])).toEqual([
      ['node-1', 'worker', 'zone-a', '192.168.1.2'],
      ['node-2', 'worker', 'zone-b', '192.168.1.3'],
      ['node-3', 'worker', 'zone-c', '192.168.1.4'],
    ]);
  });
  test.each(['aws', 'alibaba'])('the %s profile loads', (name) => {
    const p = loadProfile(resolveProfilePath(name, '/nowhere'));
    expect(p.cloud).toBe(name);
    expect(p.nodes).toHaveLength(3);
    expect(new Set(p.nodes.map((n) => n.zone)).size).toBe(3);
    expect(p.cluster.allocateNodeCIDRs).toBe(false);
  });
  test('a bare name resolves to a shipped profile, a path to a file', () => {
    expect(resolveProfilePath('bare-metal', '/tmp')).toBe(resolve(PROFILES_DIR, 'bare-metal.yaml'));
    expect(resolveProfilePath('./p.yaml', '/tmp/x')).toBe('/tmp/x/p.yaml');
  });
});

describe('nodes', () => {
  test('a pool is named <prefix>-1..N and takes addresses in order, skipping the network and first address', () => {
    const p = parseProfile(profile('  nodes:\n    - {namePrefix: worker, count: 3, subnet: 10.0.5.0/24}\n'), 'p.yaml');
    expect(p.nodes.map((n) => `${n.name}=${n.internalIP}`)).toEqual(['worker-1=10.0.5.2', 'worker-2=10.0.5.3', 'worker-3=10.0.5.4']);
  });
  test('zones on a pool are assigned round-robin, each zone with its own subnet', () => {
    const p = parseProfile(profile('  nodes:\n    - namePrefix: n\n      count: 5\n      zones: [a, b]\n      subnet: [10.0.1.0/24, 10.0.2.0/24]\n'), 'p.yaml');
    expect(p.nodes.map((n) => `${n.name} ${n.zone} ${n.internalIP}`)).toEqual(['n-1 a 10.0.1.2', 'n-2 b 10.0.2.2', 'n-3 a 10.0.1.3', 'n-4 b 10.0.2.3', 'n-5 a 10.0.1.4']);
  });
  test('pools sharing a subnet continue where the previous one stopped and skip explicit addresses', () => {
    const p = parseProfile(
      profile('  nodes:\n    - {name: cp, role: control-plane, internalIP: 10.0.1.3}\n    - {namePrefix: a, count: 2, subnet: 10.0.1.0/24}\n    - {namePrefix: b, count: 1, subnet: 10.0.1.0/24}\n'),
      'p.yaml',
    );
    expect(p.nodes.map((n) => `${n.name}=${n.internalIP}`)).toEqual(['cp=10.0.1.3', 'a-1=10.0.1.2', 'a-2=10.0.1.4', 'b-1=10.0.1.5']);
  });
  test('a subnet that runs out says so', () => {
    expect(problems('  nodes:\n    - {namePrefix: n, count: 3, subnet: 10.0.0.0/30}\n')).toEqual(['error spec.nodes[0].subnet@7: subnet 10.0.0.0/30 has no free address left for node n-2']);
  });
  test('nodes carry the well-known labels the kubelet and the cloud set', () => {
    const p = parseProfile(profile('  region: r1\n  nodes:\n    - {name: n1, zone: z1, instanceType: m5.large, internalIP: 10.1.0.5, labels: {pool: web}}\n'), 'p.yaml');
    expect(p.nodes[0]!.labels).toEqual({
      'beta.kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'kubernetes.io/hostname': 'n1',
      'kubernetes.io/os': 'linux',
      'node.kubernetes.io/instance-type': 'm5.large',
      'topology.kubernetes.io/region': 'r1',
      'topology.kubernetes.io/zone': 'z1',
      pool: 'web',
    });
    expect(p.nodes[0]!.region).toBe('r1');
  });
  test('a control-plane node gets the kubeadm role label and NoSchedule taint', () => {
    const p = parseProfile(profile('  nodes:\n    - {name: cp, role: control-plane, internalIP: 10.1.0.5}\n'), 'p.yaml');
    expect(p.nodes[0]!.labels['node-role.kubernetes.io/control-plane']).toBe('');
    expect(p.nodes[0]!.taints).toEqual([{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]);
  });
  test('capacity defaults to 4 cpu, 16Gi, 110 pods and can be set', () => {
    const p = parseProfile(profile('  nodes:\n    - {name: a, internalIP: 10.1.0.5}\n    - {name: b, internalIP: 10.1.0.6, capacity: {cpu: 3500m, memory: 8Gi, pods: 58}}\n'), 'p.yaml');
    expect(p.nodes.map((n) => n.capacity)).toEqual([
      { cpu: '4', memory: '16Gi', pods: '110' },
      { cpu: '3500m', memory: '8Gi', pods: '58' },
    ]);
  });
  test('taints and unschedulable are kept', () => {
    const p = parseProfile(profile('  nodes:\n    - name: gpu\n      internalIP: 10.1.0.5\n      unschedulable: true\n      taints: [{key: gpu, value: "true", effect: NoSchedule}]\n'), 'p.yaml');
    expect(p.nodes[0]).toMatchObject({ unschedulable: true, taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }] });
  });
  test('each node remembers its entry in the file', () => {
    const p = parseProfile(profile(pool), 'p.yaml');
    expect(p.nodes[1]!.source).toMatchObject({ file: 'p.yaml', line: 7 });
  });
});

describe('node checks', () => {
  test('duplicate names, from a pool and a single node', () => {
    expect(problems('  nodes:\n    - {namePrefix: node, count: 2, subnet: 192.168.1.0/24}\n    - {name: node-2, internalIP: 192.168.2.9}\n')).toEqual([
      'error spec.nodes[1].name@8: duplicate node name node-2: also defined at line 7',
    ]);
  });
  test('duplicate explicit IPs', () => {
    expect(problems('  nodes:\n    - {name: a, internalIP: 192.168.2.9}\n    - {name: b, internalIP: 192.168.2.9}\n')).toEqual([
      'error spec.nodes[1].internalIP@8: duplicate node IP 192.168.2.9: also given at line 7',
    ]);
  });
  test('a node IP inside the pod or service CIDR is an error', () => {
    expect(problems('  nodes:\n    - {name: a, internalIP: 10.244.3.1}\n    - {name: b, internalIP: 10.96.0.50}\n')).toEqual([
      'error spec.nodes[0].internalIP@7: internalIP 10.244.3.1 is inside the clusterCIDR 10.244.0.0/16',
      'error spec.nodes[1].internalIP@8: internalIP 10.96.0.50 is inside the serviceCIDR 10.96.0.0/12',
    ]);
  });
  test('with a VPC CNI node addresses may share the pod range', () => {
    expect(problems('  cloud: aws\n  network: {clusterCIDR: 10.0.0.0/16, serviceCIDR: 172.20.0.0/16}\n  nodes:\n    - {namePrefix: n, count: 2, subnet: 10.0.1.0/24}\n')).toEqual([]);
  });
  test('a pool subnet overlapping the service CIDR is an error at the subnet', () => {
    expect(problems('  nodes:\n    - {namePrefix: n, count: 2, subnet: 10.96.0.0/24}\n')).toContain('error spec.nodes[0].subnet@7: subnet 10.96.0.0/24 is inside the serviceCIDR 10.96.0.0/12');
  });
  test('an entry needs name or namePrefix+count, and a pool needs a subnet', () => {
    expect(problems('  nodes:\n    - {zone: a}\n    - {namePrefix: n, count: 2}\n    - {name: x, namePrefix: y, count: 1}\n')).toEqual([
      'error spec.nodes[0]@7: a node entry needs name (one node) or namePrefix and count (a pool)',
      'error spec.nodes[1].subnet@8: Required value',
      'error spec.nodes[2]@9: give either name (one node) or namePrefix and count (a pool), not both',
    ]);
  });
  test('invalid node names, IPs, quantities, roles and taint effects are reported', () => {
    expect(problems('  nodes:\n    - name: Node_1\n      internalIP: 10.1.0.5\n    - name: b\n      internalIP: 10.1.0.300\n      role: master\n      capacity: {memory: 16GB}\n      taints: [{key: k, effect: Never}]\n')).toEqual([
      expect.stringMatching(/^error spec\.nodes\[0\]\.name@7: Invalid value: "Node_1": a lowercase RFC 1123 subdomain/),
      'error spec.nodes[1].internalIP@10: Invalid value: "10.1.0.300": must be a valid IP address',
      'error spec.nodes[1].role@11: Unsupported value: "master": supported values: "worker", "control-plane"',
      'error spec.nodes[1].capacity.memory@12: Invalid value: "16GB": not a quantity',
      'error spec.nodes[1].taints[0].effect@13: Unsupported value: "Never": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
    ]);
  });
  test('unknown node fields are reported with a suggestion', () => {
    expect(problems('  nodes:\n    - {name: a, internalIp: 10.1.0.5}\n')).toEqual([
      'error spec.nodes[0].internalIP@7: Required value',
      'error spec.nodes[0].internalIp@7: unknown field "internalIp"',
    ]);
    const d = readProfile(profile('  nodes:\n    - {name: a, internalIp: 10.1.0.5}\n'), 'p.yaml').diagnostics.find((x) => x.field === 'spec.nodes[0].internalIp')!;
    expect(d.hint).toBe('did you mean internalIP?');
  });
});

describe('network', () => {
  test('overlapping cluster and service CIDRs are an error', () => {
    expect(problems(`  network:\n    clusterCIDR: 10.0.0.0/8\n    serviceCIDR: 10.96.0.0/12\n${pool}`)).toEqual([
      'error spec.network.serviceCIDR@8: serviceCIDR 10.96.0.0/12 overlaps clusterCIDR 10.0.0.0/8',
    ]);
  });
  test('invalid CIDRs and CIDRs with host bits are errors', () => {
    const ds = readProfile(profile(`  network:\n    clusterCIDR: 10.244.0.0/33\n    serviceCIDR: 10.96.0.1/12\n${pool}`), 'p.yaml').diagnostics;
    expect(ds.map((d) => `${d.field}@${d.line}`)).toEqual(['spec.network.clusterCIDR@7', 'spec.network.serviceCIDR@8']);
    expect(ds[1]!.hint).toBe('did you mean 10.96.0.0/12?');
  });
  test('a service range larger than /12 is refused as kube-apiserver does', () => {
    expect(problems(`  network:\n    serviceCIDR: 10.0.0.0/8\n    clusterCIDR: 192.168.0.0/16\n  nodes:\n    - {name: a, internalIP: 172.16.0.5}\n`)).toEqual([
      'error spec.network.serviceCIDR@7: Invalid value: "10.0.0.0/8": too large; for 32-bit addresses, the mask must be >= 12',
    ]);
  });
  test('the node mask may not be shorter than the cluster CIDR prefix, nor 16 bits longer', () => {
    expect(problems(`  network:\n    clusterCIDR: 10.244.0.0/24\n    nodeCIDRMaskSize: 16\n${pool}`)).toEqual([
      'error spec.network.nodeCIDRMaskSize@8: node CIDR mask size /16 is larger than the cluster CIDR 10.244.0.0/24',
    ]);
    expect(problems(`  network:\n    clusterCIDR: 10.0.0.0/8\n    serviceCIDR: 172.20.0.0/16\n    nodeCIDRMaskSize: 26\n${pool}`)).toEqual([
      'error spec.network.nodeCIDRMaskSize@9: node CIDR mask size /26 is more than 16 bits longer than the cluster CIDR 10.0.0.0/8',
    ]);
  });
  test('dual-stack ranges are lists with one CIDR per family', () => {
    const p = parseProfile(
      profile(`  network:\n    clusterCIDR: [10.244.0.0/16, fd00:10:244::/56]\n    serviceCIDR: [10.96.0.0/12, fd00:10:96::/112]\n    nodeCIDRMaskSize: {ipv4: 24, ipv6: 64}\n${pool}`),
      'p.yaml',
    );
    expect(p.cluster.clusterCIDRs).toEqual(['10.244.0.0/16', 'fd00:10:244::/56']);
    expect(p.cluster.serviceCIDRs).toEqual(['10.96.0.0/12', 'fd00:10:96::/112']);
    expect(problems(`  network:\n    clusterCIDR: [10.244.0.0/16, 10.245.0.0/16]\n${pool}`)).toEqual([
      'error spec.network.clusterCIDR[1]@7: Invalid value: "10.245.0.0/16": a second IPv4 clusterCIDR',
    ]);
  });
  test.each([
    ['30000-32767', { base: 30000, size: 2768 }],
    ['30000+2767', { base: 30000, size: 2768 }],
    ['31000', { base: 31000, size: 1 }],
  ])('node port range %s', (text, r) => {
    expect(parsePortRange(text)).toEqual(r);
  });
  test.each(['32767-30000', '0-100', '30000-70000', 'abc'])('node port range %s is invalid', (text) => {
    expect(parsePortRange(text)).toBeUndefined();
  });
});

describe('profile settings', () => {
  test('CNI and kube-proxy defaults follow the cloud', () => {
    const aws = parseProfile(profile('  cloud: aws\n  network: {clusterCIDR: 10.0.0.0/16, serviceCIDR: 172.20.0.0/16}\n  nodes:\n    - {name: a, internalIP: 10.0.0.5}\n'), 'p.yaml');
    expect([aws.cni.plugin, aws.kubeProxy.mode, aws.cluster.allocateNodeCIDRs]).toEqual(['aws-vpc-cni', 'iptables', false]);
    const ali = parseProfile(profile('  cloud: alibaba\n  network: {clusterCIDR: 10.0.0.0/16, serviceCIDR: 172.21.0.0/20}\n  nodes:\n    - {name: a, internalIP: 10.0.0.5}\n'), 'p.yaml');
    expect([ali.cni.plugin, ali.cni.mode, ali.kubeProxy.mode]).toEqual(['terway', 'shared', 'ipvs']);
  });
  test('a VPC CNI on the wrong cloud is an error', () => {
    expect(problems(`  cni: {plugin: terway}\n${pool}`)).toEqual(['error spec.cni.plugin@6: terway runs only on Alibaba Cloud']);
  });
  test('CNI masquerade settings belong to their plugin and reach the profile', () => {
    const aws = parseProfile(profile('  cloud: aws\n  network: {clusterCIDR: 10.0.0.0/16, serviceCIDR: 172.20.0.0/16}\n  cni: {plugin: aws-vpc-cni, externalSNAT: true, excludeSNATCIDRs: [172.31.0.0/16]}\n  nodes:\n    - {name: a, internalIP: 10.0.0.5}\n'), 'p.yaml');
    expect(aws.cni.settings).toEqual({ externalSNAT: true, excludeSNATCIDRs: ['172.31.0.0/16'] });
    expect(problems(`  cni: {plugin: flannel, externalSNAT: true, natOutgoing: false}\n${pool}`)).toEqual([
      'error spec.cni.externalSNAT@6: externalSNAT is a setting of aws-vpc-cni',
      'error spec.cni.natOutgoing@6: natOutgoing is a setting of calico',
    ]);
  });
  test('unknown values get a suggestion', () => {
    const ds = readProfile(profile(`  kubeProxy: {mode: ipvss, ipvsScheduler: wrrr}\n${pool}`), 'p.yaml').diagnostics;
    expect(ds.map((d) => `${d.field}: ${d.hint}`)).toEqual(['spec.kubeProxy.mode: did you mean ipvs?', 'spec.kubeProxy.ipvsScheduler: did you mean wrr?']);
  });
  test('ipvsScheduler outside ipvs mode is a warning', () => {
    expect(problems(`  kubeProxy: {mode: iptables, ipvsScheduler: wrr}\n${pool}`)).toEqual(['warning spec.kubeProxy.ipvsScheduler@6: ignored: kube-proxy runs in iptables mode']);
  });
  test('controller and kubelet settings reach the ClusterConfig, with range checks', () => {
    const p = parseProfile(
      profile(`  controllers: {maxEndpointsPerSlice: 50, preferSameTrafficDistribution: false}\n  kubelet: {containerStartSeconds: 2, sigtermExitSeconds: 5}\n  nodeLifecycle: {defaultTolerationSeconds: 60}\n${pool}`),
      'p.yaml',
    );
    expect(p.cluster).toMatchObject({ maxEndpointsPerSlice: 50, preferSameTrafficDistribution: false, kubelet: { containerStartSeconds: 2, sigtermExitSeconds: 5 }, nodeLifecycle: { defaultTolerationSeconds: 60 } });
    expect(problems(`  controllers: {maxEndpointsPerSlice: 1001}\n${pool}`)).toEqual(['error spec.controllers.maxEndpointsPerSlice@6: Invalid value: 1001: must be between 1 and 1000']);
  });
  test('unknown spec fields, wrong apiVersion and kind are all reported together', () => {
    const text = yaml`
      apiVersion: kubepath.dev/v1
      kind: Profil
      metadata: {name: p}
      spec:
        clouds: aws
        nodes:
          - {name: a, internalIP: 10.1.0.5}
    `;
    const ds = readProfile(text, 'p.yaml').diagnostics;
    expect(ds.map((d) => `${d.field}@${d.line}`)).toEqual(['apiVersion@1', 'kind@2', 'spec.clouds@5']);
    expect(ds[2]!.hint).toBe('did you mean cloud?');
  });
  test('loadProfile throws an InputError carrying every diagnostic', () => {
    expect(() => parseProfile(profile('  cloud: gcp\n  nodes: []\n'), 'p.yaml')).toThrow(InputError);
    try {
      parseProfile(profile('  cloud: gcp\n  nodes: []\n'), 'p.yaml');
    } catch (e) {
      expect((e as InputError).diagnostics.map((d) => d.field)).toEqual(['spec.cloud', 'spec.nodes']);
      expect((e as InputError).message).toContain('p.yaml:6:3: error: spec.cloud: Unsupported value: "gcp"');
    }
  });
  test('a missing profile file names the shipped ones', () => {
    expect(() => loadProfile('/nowhere/p.yaml')).toThrow(/profile not found/);
  });
});
