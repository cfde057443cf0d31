import { describe, expect, it } from 'vitest';
import type { Node, PodSpec } from 'kubernetes-types/core/v1.js';
import { nodeShouldRunDaemonPod } from '../../../src/cluster/controllers/daemonset.js';
import { addOrUpdateToleration, pinToNode, requiredAffinityMatches, targetNodeName, toleratesTaint, withDaemonTolerations } from '../../../src/cluster/workloads/nodefit.js';

function node(name: string, labels: Record<string, string> = {}, taints: NonNullable<Node['spec']>['taints'] = []): Node {
  return { metadata: { name, labels }, spec: { taints } };
}

const spec = (s: Partial<PodSpec> = {}): PodSpec => ({ containers: [], ...s });

describe('tolerations', () => {
  it('Equal needs the same value, Exists any; an empty key with Exists tolerates everything', () => {
    const taint = { key: 'k', value: 'v', effect: 'NoSchedule' };
    expect(toleratesTaint({ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule' }, taint)).toBe(true);
    expect(toleratesTaint({ key: 'k', value: 'w' }, taint)).toBe(false);
    expect(toleratesTaint({ key: 'k', operator: 'Exists' }, taint)).toBe(true);
    expect(toleratesTaint({ key: 'k', operator: 'Exists', effect: 'NoExecute' }, taint)).toBe(false);
    expect(toleratesTaint({ operator: 'Exists' }, taint)).toBe(true);
  });

  it('the DaemonSet tolerations replace a matching one (dropping tolerationSeconds) and keep others', () => {
    const s = withDaemonTolerations(spec({ tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }, { key: 'x', operator: 'Exists' }] }));
    expect(s.tolerations![0]).toEqual({ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' });
    expect(s.tolerations![1]).toEqual({ key: 'x', operator: 'Exists' });
    expect(s.tolerations).toHaveLength(7);
    expect(addOrUpdateToleration(undefined, { key: 'a', operator: 'Exists' })).toEqual([{ key: 'a', operator: 'Exists' }]);
  });
});

describe('required node affinity', () => {
  it('combines nodeSelector with ORed terms of ANDed expressions, including Gt/Lt and matchFields', () => {
    const n = node('n1', { zone: 'a', cores: '16' });
    const terms = (...t: object[]) => spec({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: t } } } });
    expect(requiredAffinityMatches(spec({ nodeSelector: { zone: 'a' } }), n)).toBe(true);
    expect(requiredAffinityMatches(spec({ nodeSelector: { zone: 'b' } }), n)).toBe(false);
    expect(requiredAffinityMatches(terms({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }, { matchExpressions: [{ key: 'cores', operator: 'Gt', values: ['8'] }] }), n)).toBe(true);
    expect(requiredAffinityMatches(terms({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }, { key: 'cores', operator: 'Lt', values: ['8'] }] }), n)).toBe(false);
    expect(requiredAffinityMatches(terms({ matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] }), n)).toBe(true);
    expect(requiredAffinityMatches(terms({}), n)).toBe(false);
    expect(requiredAffinityMatches(terms({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }), n)).toBe(true);
    expect(requiredAffinityMatches(terms({ matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['n1'] }] }), n)).toBe(false);
  });

  it('pins a pod to its node, replacing other required terms; the target node is read back', () => {
    const s = pinToNode(spec({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }] } } } }), 'n7');
    expect(s.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms).toEqual([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n7'] }] }]);
    expect(targetNodeName(s)).toBe('n7');
    expect(targetNodeName({ ...s, nodeName: 'n8' })).toBe('n8');
    expect(targetNodeName(spec())).toBeUndefined();
  });
});

describe('NodeShouldRunDaemonPod', () => {
  const ds = withDaemonTolerations(spec());
  it('a NoSchedule taint stops new daemons but keeps running ones; NoExecute stops both', () => {
    expect(nodeShouldRunDaemonPod(ds, node('n', {}, [{ key: 'k', effect: 'NoSchedule' }]))).toEqual({ shouldRun: false, shouldContinueRunning: true });
    expect(nodeShouldRunDaemonPod(ds, node('n', {}, [{ key: 'k', effect: 'NoExecute' }]))).toEqual({ shouldRun: false, shouldContinueRunning: false });
    expect(nodeShouldRunDaemonPod(ds, node('n', {}, [{ key: 'k', effect: 'PreferNoSchedule' }]))).toEqual({ shouldRun: true, shouldContinueRunning: true });
  });

  it('tolerates node problems and cordons, but not network-unavailable without hostNetwork', () => {
    for (const key of ['node.kubernetes.io/unreachable', 'node.kubernetes.io/memory-pressure', 'node.kubernetes.io/unschedulable']) {
      const effect = key.endsWith('unreachable') ? 'NoExecute' : 'NoSchedule';
      expect(nodeShouldRunDaemonPod(ds, node('n', {}, [{ key, effect }])).shouldRun).toBe(true);
    }
    const net = node('n', {}, [{ key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' }]);
    expect(nodeShouldRunDaemonPod(ds, net).shouldRun).toBe(false);
    expect(nodeShouldRunDaemonPod(withDaemonTolerations(spec({ hostNetwork: true })), net).shouldRun).toBe(true);
  });

  it('a template nodeName limits the DaemonSet to that node', () => {
    const pinned = withDaemonTolerations(spec({ nodeName: 'n2' }));
    expect(nodeShouldRunDaemonPod(pinned, node('n1')).shouldRun).toBe(false);
    expect(nodeShouldRunDaemonPod(pinned, node('n2')).shouldRun).toBe(true);
  });
});
