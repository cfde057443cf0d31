// What a Node looks like once its kubelet has registered: the well-known labels, conditions
// (Ready when none is given), capacity and allocatable, and a Hostname address.
import type { Node, NodeCondition, NodeStatus } from 'kubernetes-types/core/v1.js';
import { withKey } from '../copy.js';

/** Used when a Node object says nothing about its size. A simulator choice, not upstream. */
export const DEFAULT_NODE_CAPACITY: Readonly<Record<string, string>> = { cpu: '4', memory: '16Gi', pods: '110' };

export function defaultNode(node: Node, now?: string): Node {
  const name = node.metadata?.name ?? '';
  // withKey per missing label: keys added to a spread copy would give every node's labels a
  // hidden class of its own (see copy.ts).
  let labels: Record<string, string> = node.metadata?.labels ?? {};
  let labelsChanged = false;
  for (const [k, v] of [
    ['kubernetes.io/hostname', name],
    ['kubernetes.io/os', 'linux'],
    ['kubernetes.io/arch', 'amd64'],
  ] as const) {
    if (labels[k] === undefined) {
      labels = withKey(labels, k, v);
      labelsChanged = true;
    }
  }
  const status: { -readonly [K in keyof NodeStatus]: NodeStatus[K] } = { ...(node.status ?? {}) };
  if (!status.capacity) status.capacity = { ...DEFAULT_NODE_CAPACITY };
  if (!status.allocatable) status.allocatable = { ...status.capacity };
  if (!status.conditions?.length) status.conditions = defaultConditions(now);
  else if (!status.conditions.some((c) => c.type === 'Ready')) status.conditions = [...status.conditions, readyCondition(now)];
  if (!status.addresses?.some((a) => a.type === 'Hostname')) {
    status.addresses = [...(status.addresses ?? []), { type: 'Hostname', address: name }];
  }
  return {
    ...node,
    metadata: labelsChanged ? withKey(node.metadata ?? {}, 'labels', labels) : node.metadata!,
    spec: node.spec ?? {},
    status,
  };
}

function cond(type: string, status: string, reason: string, message: string, now?: string): NodeCondition {
  return {
    type,
    status,
    reason,
    message,
    ...(now ? { lastHeartbeatTime: now, lastTransitionTime: now } : {}),
  };
}

function readyCondition(now?: string): NodeCondition {
  return cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status', now);
}

function defaultConditions(now?: string): NodeCondition[] {
  return [
    cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available', now),
    cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure', now),
    cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available', now),
    readyCondition(now),
  ];
}
