// Small builders for node-side tests: a Cluster with only the controllers a test names.
import type { Node, Pod, Taint, Toleration, Container } from 'kubernetes-types/core/v1.js';
import { Cluster } from '../../../src/cluster/cluster.js';
import { clusterConfig, type ClusterConfig } from '../../../src/cluster/config.js';
import { installPodIndexes } from '../../../src/cluster/podindex.js';
import { installApiServer, type ApiServer } from '../../../src/cluster/apiserver.js';
import type { Controller } from '../../../src/cluster/controller.js';
import type { Stored } from '../../../src/cluster/object.js';

export interface TestCluster {
  cluster: Cluster;
  api: ApiServer;
}

export function newCluster(
  controllers: Controller[],
  config: Partial<ClusterConfig> = {},
  seed = 1,
): TestCluster {
  const cluster = new Cluster(clusterConfig(config), { seed });
  installPodIndexes(cluster.store);
  const api = installApiServer(cluster.store, cluster.config, cluster.rng, { clock: cluster.clock });
  for (const c of controllers) cluster.register(c);
  return { cluster, api };
}

export interface NodeOpts {
  zone?: string;
  cpu?: string;
  memory?: string;
  pods?: string;
  ip?: string;
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
  podCIDR?: string;
  podCIDRs?: string[];
  ready?: 'True' | 'False' | 'Unknown';
}

export function node(name: string, o: NodeOpts = {}): Stored<Node> {
  const labels: Record<string, string> = { ...(o.labels ?? {}) };
  if (o.zone) labels['topology.kubernetes.io/zone'] = o.zone;
  const cidrs = o.podCIDRs ?? (o.podCIDR ? [o.podCIDR] : undefined);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels },
    spec: {
      ...(o.taints ? { taints: o.taints } : {}),
      ...(o.unschedulable ? { unschedulable: true } : {}),
      ...(cidrs ? { podCIDR: cidrs[0], podCIDRs: cidrs } : {}),
    },
    status: {
      capacity: { cpu: o.cpu ?? '4', memory: o.memory ?? '16Gi', pods: o.pods ?? '110' },
      ...(o.ip ? { addresses: [{ type: 'InternalIP', address: o.ip }] } : {}),
      ...(o.ready ? { conditions: [{ type: 'Ready', status: o.ready }] } : {}),
    },
  } as Stored<Node>;
}

export interface PodOpts {
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  nodeName?: string;
  cpu?: string;
  memory?: string;
  hostPort?: number;
  tolerations?: Toleration[];
  nodeSelector?: Record<string, string>;
  affinity?: NonNullable<Pod['spec']>['affinity'];
  owner?: { kind: string; name: string; uid: string; apiVersion?: string };
  hostNetwork?: boolean;
  restartPolicy?: string;
  readinessDelay?: number;
  grace?: number;
  containers?: Container[];
  spec?: Partial<NonNullable<Pod['spec']>>;
}

export function pod(name: string, o: PodOpts = {}): Stored<Pod> {
  const requests: Record<string, string> = {};
  if (o.cpu) requests['cpu'] = o.cpu;
  if (o.memory) requests['memory'] = o.memory;
  const container: Container = {
    name: 'app',
    image: 'nginx:1.27',
    ...(Object.keys(requests).length ? { resources: { requests } } : {}),
    ...(o.hostPort ? { ports: [{ containerPort: 8080, hostPort: o.hostPort }] } : {}),
    ...(o.readinessDelay !== undefined ? { readinessProbe: { httpGet: { port: 8080 }, initialDelaySeconds: o.readinessDelay } } : {}),
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: o.namespace ?? 'default',
      labels: o.labels ?? {},
      ...(o.annotations ? { annotations: o.annotations } : {}),
      ...(o.owner
        ? { ownerReferences: [{ apiVersion: o.owner.apiVersion ?? 'apps/v1', kind: o.owner.kind, name: o.owner.name, uid: o.owner.uid, controller: true }] }
        : {}),
    },
    spec: {
      containers: o.containers ?? [container],
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      ...(o.tolerations ? { tolerations: o.tolerations } : {}),
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
      ...(o.affinity ? { affinity: o.affinity } : {}),
      ...(o.hostNetwork ? { hostNetwork: true } : {}),
      ...(o.restartPolicy ? { restartPolicy: o.restartPolicy } : {}),
      ...(o.grace !== undefined ? { terminationGracePeriodSeconds: o.grace } : {}),
      ...(o.spec ?? {}),
    },
  } as Stored<Pod>;
}

export function getPod(c: Cluster, name: string, ns = 'default'): Stored<Pod> | undefined {
  return c.store.get<Stored<Pod>>('Pod', ns, name);
}

export function getNode(c: Cluster, name: string): Stored<Node> {
  return c.store.get<Stored<Node>>('Node', undefined, name)!;
}

export function condition(p: Pod | undefined, type: string): string | undefined {
  return p?.status?.conditions?.find((c) => c.type === type)?.status;
}

/** Set a node's Ready condition as the scenario runner does. */
export function setNodeReady(c: Cluster, name: string, status: 'True' | 'False' | 'Unknown'): void {
  const n = getNode(c, name);
  const conds = n.status?.conditions ?? [];
  const next = conds.some((x) => x.type === 'Ready')
    ? conds.map((x) => (x.type === 'Ready' ? { ...x, status } : x))
    : [...conds, { type: 'Ready', status }];
  c.store.update({ ...n, status: { ...n.status, conditions: next } });
}

export function nodeOf(c: Cluster, name: string, ns = 'default'): string | undefined {
  return getPod(c, name, ns)?.spec?.nodeName;
}
