// Node objects as the kubelet and the cloud provider would register them, from a Profile's NodeSpec.
import type { Node } from 'kubernetes-types/core/v1.js';
import type { Stored } from '../cluster/object.js';
import type { NodeSpec } from './types.js';

export const KUBELET_VERSION = 'v1.37.0';

export function nodeObject(spec: NodeSpec): Stored<Node> {
  const resources = { cpu: spec.capacity.cpu, memory: spec.capacity.memory, pods: spec.capacity.pods };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: spec.name, labels: { ...spec.labels } },
    spec: {
      ...(spec.taints.length ? { taints: spec.taints.map((t) => ({ ...t })) } : {}),
      ...(spec.unschedulable ? { unschedulable: true } : {}),
    },
    status: {
      capacity: resources,
      allocatable: resources,
      addresses: [
        { type: 'InternalIP', address: spec.internalIP },
        ...(spec.externalIP ? [{ type: 'ExternalIP', address: spec.externalIP }] : []),
        { type: 'Hostname', address: spec.name },
      ],
      conditions: [
        { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
      ],
      nodeInfo: {
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: KUBELET_VERSION,
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        kernelVersion: '6.1.0-28-amd64',
        containerRuntimeVersion: 'containerd://2.1.4',
        operatingSystem: 'linux',
        architecture: 'amd64',
        machineID: '',
        systemUUID: '',
        bootID: '',
      },
    },
  };
}
