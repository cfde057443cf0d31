// Builders for the endpoint controller tests: a Cluster with only the controllers under test,
// and Nodes, Services and Pods written straight into the store (as the upstream tests do).
import type { Node, Pod, Service, ServicePort, ContainerPort } from 'kubernetes-types/core/v1.js';
import { Cluster } from '../../../src/cluster/cluster.js';
import { clusterConfig, type ClusterConfig } from '../../../src/cluster/config.js';
import type { Controller } from '../../../src/cluster/controller.js';
import type { KObject } from '../../../src/cluster/object.js';
import { installPodIndexes } from '../../../src/cluster/podindex.js';
import { EndpointSliceController } from '../../../src/cluster/controllers/endpointslice.js';
import type { Slice } from '../../../src/cluster/endpointslice/types.js';

export const NS = 'test';

export interface Harness {
  cluster: Cluster;
  /** Slice writes seen by the store, in order: `ADDED name`, `MODIFIED name`, `DELETED name`. */
  writes: string[];
}

export function harness(
  config: Partial<ClusterConfig> = {},
  controllers: Controller[] = [new EndpointSliceController()],
  seed = 1,
): Harness {
  const cluster = new Cluster(clusterConfig(config), { seed });
  installPodIndexes(cluster.store);
  const writes: string[] = [];
  cluster.store.watch('EndpointSlice', (ev) => writes.push(`${ev.type} ${ev.object.metadata.name}`));
  for (const c of controllers) cluster.register(c);
  return { cluster, writes };
}

export interface NodeOpts {
  zone?: string;
  cpu?: string;
  ready?: boolean;
  labels?: Record<string, string>;
}

export function node(name: string, o: NodeOpts = {}): KObject & Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: { ...(o.zone ? { 'topology.kubernetes.io/zone': o.zone } : {}), ...o.labels },
    },
    status: {
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
      ...(o.cpu ? { allocatable: { cpu: o.cpu } } : {}),
    },
  };
}

export interface ServiceOpts {
  namespace?: string;
  selector?: Record<string, string> | null;
  ports?: ServicePort[];
  ipFamilies?: string[];
  clusterIP?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  publishNotReadyAddresses?: boolean;
  trafficDistribution?: string;
  type?: string;
}

/** newServiceAndEndpointMeta: port `name`, targetPort 80, TCP, selector foo=bar, IPv4. */
export function service(name: string, o: ServiceOpts = {}): KObject & Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: o.namespace ?? NS,
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.annotations ? { annotations: o.annotations } : {}),
    },
    spec: {
      ...(o.type ? { type: o.type } : {}),
      ...(o.selector === null ? {} : { selector: o.selector ?? { foo: 'bar' } }),
      ports: o.ports ?? [{ name, port: 80, targetPort: 80, protocol: 'TCP' }],
      ...(o.ipFamilies === undefined ? { ipFamilies: ['IPv4'] } : o.ipFamilies.length ? { ipFamilies: o.ipFamilies } : {}),
      ...(o.clusterIP !== undefined ? { clusterIP: o.clusterIP } : {}),
      ...(o.publishNotReadyAddresses ? { publishNotReadyAddresses: true } : {}),
      ...(o.trafficDistribution ? { trafficDistribution: o.trafficDistribution } : {}),
    },
  };
}

export interface PodOpts {
  namespace?: string;
  ready?: boolean;
  nodeName?: string;
  ips?: string[];
  labels?: Record<string, string>;
  terminating?: boolean;
  hostname?: string;
  subdomain?: string;
  containerPorts?: ContainerPort[];
  initContainerPorts?: ContainerPort[];
  phase?: string;
  readySince?: string;
}

/** A distinct, valid IPv4 address for Pod number n. */
export function podIP(n: number): string {
  return `10.${1 + Math.floor(n / 62500)}.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
}

/** newPod: `pod<n>` labelled foo=bar on node-1, Running, with one IP. */
export function pod(n: number, o: PodOpts = {}): KObject & Pod {
  const ips = o.ips ?? [podIP(n)];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `pod${n}`,
      namespace: o.namespace ?? NS,
      labels: o.labels ?? { foo: 'bar' },
      ...(o.terminating ? { deletionTimestamp: '2026-01-01T00:00:00Z', deletionGracePeriodSeconds: 30 } : {}),
    },
    spec: {
      containers: [{ name: 'container-1', ...(o.containerPorts ? { ports: o.containerPorts } : {}) }],
      ...(o.initContainerPorts
        ? { initContainers: [{ name: 'sidecar', restartPolicy: 'Always', ports: o.initContainerPorts }] }
        : {}),
      nodeName: o.nodeName ?? 'node-1',
      ...(o.hostname ? { hostname: o.hostname } : {}),
      ...(o.subdomain ? { subdomain: o.subdomain } : {}),
    },
    status: {
      phase: o.phase ?? 'Running',
      ...(ips.length ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}),
      conditions: [
        {
          type: 'Ready',
          status: o.ready === false ? 'False' : 'True',
          ...(o.readySince ? { lastTransitionTime: o.readySince } : {}),
        },
      ],
    },
  };
}

export function slicesFor(cluster: Cluster, svcName: string, namespace = NS): Slice[] {
  return cluster.store
    .list<Slice>('EndpointSlice', namespace)
    .filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === svcName);
}

/** The multiset of endpoint counts, sorted descending (expectUnorderedSlicesWithLengths). */
export function lengths(slices: readonly Slice[]): number[] {
  return slices.map((s) => s.endpoints.length).sort((a, b) => b - a);
}

/** A slice owned by the Service as the upstream tests build it (newEmptyEndpointSlice), with the
 * labels the controller lists slices by. */
export function existingSlice(
  svc: KObject & Service,
  n: number,
  endpoints: Slice['endpoints'],
  o: { addressType?: string; ports?: Slice['ports']; ownerUid?: string; labels?: Record<string, string> } = {},
): Slice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${svc.metadata.name}-${n}`,
      namespace: svc.metadata.namespace,
      labels: o.labels ?? {
        'kubernetes.io/service-name': svc.metadata.name!,
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
      },
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'Service',
          name: svc.metadata.name!,
          uid: o.ownerUid ?? svc.metadata.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    addressType: o.addressType ?? 'IPv4',
    endpoints,
    ports: o.ports ?? [{ name: svc.metadata.name!, port: 80, protocol: 'TCP' }],
  };
}
