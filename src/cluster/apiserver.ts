// The API server's registry logic on writes: defaulting, admission and allocation for Services
// (ClusterIPs, NodePorts), Pods and Nodes. Installed as store admissions.
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { Store } from './store.js';
import type { ClusterConfig } from './config.js';
import type { Rng } from './rng.js';
import type { Clock } from './clock.js';
import type { KObject } from './object.js';
import { ServiceRegistry } from './apiserver/service-registry.js';
import { defaultPod } from './apiserver/pod-defaults.js';
import { defaultNode } from './apiserver/node-defaults.js';

export { createDefaultServices, kubernetesServiceIP, clusterDnsIP } from './apiserver/default-services.js';
export { ServiceRegistry } from './apiserver/service-registry.js';

export interface ApiServerOptions {
  /** Timestamps for defaulted conditions; without it they are left out. */
  clock?: Clock;
}

export interface ApiServer {
  readonly services: ServiceRegistry;
}

export function installApiServer(store: Store, config: ClusterConfig, rng: Rng, opts: ApiServerOptions = {}): ApiServer {
  const services = new ServiceRegistry(config, rng);
  store.admit('Service', {
    create: (o) => services.create(o as Service) as KObject,
    update: (o, old) => services.update(o as Service, old as Service) as KObject,
    deleted: (o) => services.deleted(o as Service),
  });
  store.admit('Pod', {
    create: (o) => defaultPod(o as Pod, config.nodeLifecycle.defaultTolerationSeconds) as KObject,
  });
  store.admit('Node', {
    create: (o) => defaultNode(o as Node, opts.clock?.rfc3339()) as KObject,
  });
  return { services };
}
