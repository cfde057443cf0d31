import { describe, expect, it } from 'vitest';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { newCluster, node, pod } from '../node/fixtures.js';
import type { Stored } from '../../../src/cluster/object.js';
import { addDefaultTolerations } from '../../../src/cluster/apiserver/pod-defaults.js';
import { milliValue, podQosClass, podRequests, value } from '../../../src/cluster/apiserver/resources.js';

describe('Pod defaulting on create', () => {
  it('fills the scheme defaults and starts the pod Pending', () => {
    const { cluster } = newCluster([]);
    const p = cluster.store.create(pod('p'));
    expect(p.spec).toMatchObject({
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      enableServiceLinks: true,
      serviceAccountName: 'default',
      securityContext: {},
    });
    expect(p.spec!.containers[0]).toMatchObject({ imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log' });
    expect(p.status).toEqual({ phase: 'Pending', qosClass: 'BestEffort' });
  });

  it('DefaultTolerationSeconds adds not-ready and unreachable NoExecute tolerations with the configured seconds', () => {
    const { cluster } = newCluster([], { nodeLifecycle: { defaultTolerationSeconds: 120 } });
    const p = cluster.store.create(pod('p'));
    expect(p.spec!.tolerations).toEqual([
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 120 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 120 },
    ]);
  });

  it('adds nothing the pod already tolerates', () => {
    expect(addDefaultTolerations([{ operator: 'Exists' }], 300)).toEqual([{ operator: 'Exists' }]);
    const own = [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 }];
    expect(addDefaultTolerations(own, 300)).toEqual([
      ...own,
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ]);
    // A NoSchedule toleration does not cover the NoExecute taint.
    expect(addDefaultTolerations([{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoSchedule' }], 300)).toHaveLength(3);
  });

  it('defaults requests from limits and derives the QoS class', () => {
    const { cluster } = newCluster([]);
    const g = cluster.store.create(
      pod('g', { containers: [{ name: 'a', image: 'x:latest', resources: { limits: { cpu: '500m', memory: '1Gi' } } }] }),
    );
    expect(g.spec!.containers[0]!.resources!.requests).toEqual({ cpu: '500m', memory: '1Gi' });
    expect(g.spec!.containers[0]!.imagePullPolicy).toBe('Always');
    expect(g.status!.qosClass).toBe('Guaranteed');
    const b = cluster.store.create(pod('b', { cpu: '100m' }));
    expect(b.status!.qosClass).toBe('Burstable');
  });

  it('hostNetwork pods get hostPort = containerPort', () => {
    const { cluster } = newCluster([]);
    const p = cluster.store.create(pod('h', { hostNetwork: true, containers: [{ name: 'a', image: 'x', ports: [{ containerPort: 9100 }] }] }));
    expect(p.spec!.containers[0]!.ports).toEqual([{ containerPort: 9100, protocol: 'TCP', hostPort: 9100 }]);
  });
});

describe('Node defaulting on create', () => {
  it('marks a node without conditions Ready, copies capacity to allocatable, adds the kubelet labels', () => {
    const { cluster } = newCluster([]);
    const n = cluster.store.create(node('n1', { cpu: '8' }));
    expect(n.status!.conditions!.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'KubeletReady' });
    expect(n.status!.allocatable).toEqual({ cpu: '8', memory: '16Gi', pods: '110' });
    expect(n.metadata.labels).toMatchObject({ 'kubernetes.io/hostname': 'n1', 'kubernetes.io/os': 'linux' });
    expect(n.status!.addresses).toContainEqual({ type: 'Hostname', address: 'n1' });
  });

  it('keeps what the manifest says', () => {
    const { cluster } = newCluster([]);
    const input = node('n2', { ready: 'False' });
    const n = cluster.store.create({
      ...input,
      status: { ...input.status, allocatable: { cpu: '3', memory: '1Gi', pods: '10' } },
    } as Stored<Node>);
    expect(n.status!.conditions).toEqual([{ type: 'Ready', status: 'False' }]);
    expect(n.status!.allocatable).toEqual({ cpu: '3', memory: '1Gi', pods: '10' });
  });
});

describe('resource quantities and pod requests', () => {
  it('parses quantities exactly, rounding up as Quantity.Value/MilliValue do', () => {
    expect(milliValue('100m')).toBe(100);
    expect(milliValue('0.1')).toBe(100);
    expect(milliValue('2')).toBe(2000);
    expect(milliValue('1.5m')).toBe(2);
    expect(value('1Gi')).toBe(2 ** 30);
    expect(value('128Mi')).toBe(128 * 2 ** 20);
    expect(value('1e3')).toBe(1000);
    expect(value('1k')).toBe(1000);
    expect(value('0.5Ki')).toBe(512);
    expect(value('110')).toBe(110);
    expect(value('bogus')).toBe(0);
  });

  it('counts init containers as a peak and sidecars as running alongside', () => {
    const p: Pod = {
      spec: {
        containers: [{ name: 'a', resources: { requests: { cpu: '200m' } } }],
        initContainers: [
          { name: 'init', resources: { requests: { cpu: '500m' } } },
          { name: 'sidecar', restartPolicy: 'Always', resources: { requests: { cpu: '100m' } } },
        ],
      },
    };
    const r = podRequests(p);
    expect(r.milliCPU).toBe(500);
    expect(r.memory).toBe(0);
    // Missing memory counts as 200Mi per container when scoring.
    expect(r.nonZeroMemory).toBe(2 * 200 * 1024 * 1024);
    expect(podQosClass(p)).toBe('Burstable');
  });
});
