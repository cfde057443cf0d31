// FindPort: resolve a Service port's targetPort against a Pod's containers.
import type { Pod, ServicePort } from 'kubernetes-types/core/v1.js';

/**
 * The container port a Service port sends to on this Pod, or undefined when a named targetPort
 * resolves nowhere. A named port must match name and protocol, first in the containers, then in
 * restartable init containers (sidecars).
 */
export function findPort(pod: Pod, svcPort: ServicePort): number | undefined {
  // The API server defaults targetPort to port and protocol to TCP; objects written straight
  // into the store may lack them.
  const target = svcPort.targetPort ?? svcPort.port;
  if (typeof target === 'number') return target;
  const protocol = svcPort.protocol ?? 'TCP';
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  }
  for (const c of pod.spec?.initContainers ?? []) {
    if (c.restartPolicy !== 'Always') continue;
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  }
  return undefined;
}
