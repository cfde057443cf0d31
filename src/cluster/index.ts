// A cluster with the full control plane, wired in the order a real one reacts.
import { Cluster, type ClusterOptions } from './cluster.js';
import { clusterConfig, type ClusterConfig } from './config.js';
import { installApiServer } from './apiserver.js';
import { NamespaceController } from './controllers/namespace.js';
import { NodeIpamController } from './controllers/nodeipam.js';
import { NodeLifecycleController } from './controllers/nodelifecycle.js';
import { DeploymentController } from './controllers/deployment.js';
import { ReplicaSetController } from './controllers/replicaset.js';
import { StatefulSetController } from './controllers/statefulset.js';
import { DaemonSetController } from './controllers/daemonset.js';
import { JobController } from './controllers/job.js';
import { Scheduler } from './controllers/scheduler.js';
import { Kubelet } from './controllers/kubelet.js';
import { EndpointSliceController } from './controllers/endpointslice.js';
import { EndpointSliceMirroringController } from './controllers/endpointslicemirroring.js';
import { EndpointsController } from './controllers/endpoints.js';
import { GarbageCollector } from './controllers/garbagecollector.js';
import type { PodIpam } from './ipam/pod-ipam.js';

export { Cluster } from './cluster.js';
export type { ClusterConfig } from './config.js';

export interface CreateClusterOptions extends ClusterOptions {
  /** The CNI's pod IPAM the kubelet calls (default: host-local on node.spec.podCIDR). */
  podIpam?: PodIpam;
}

export function createCluster(config: Partial<ClusterConfig> | ClusterConfig = {}, opts: CreateClusterOptions = {}): Cluster {
  const cluster = new Cluster(clusterConfig(config), opts);
  installApiServer(cluster.store, cluster.config, cluster.rng, { clock: cluster.clock });
  for (const c of [
    new NamespaceController(),
    new NodeIpamController(),
    new NodeLifecycleController(),
    new DeploymentController(),
    new ReplicaSetController(),
    new StatefulSetController(),
    new DaemonSetController(),
    new JobController(),
    new Scheduler(),
    new Kubelet(opts.podIpam ? { ipam: opts.podIpam } : {}),
    new EndpointSliceController(),
    new EndpointSliceMirroringController(),
    new EndpointsController(),
    new GarbageCollector(),
  ]) {
    cluster.register(c);
  }
  return cluster;
}
