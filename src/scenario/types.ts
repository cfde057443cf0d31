// The typed form of kubepath's own files (Profile, Scenario) after parsing and validation.
import type { ClusterConfig } from '../cluster/config.js';
import type { KObject } from '../cluster/object.js';
import type { SourceRef } from '../manifest/source.js';
import type { Diagnostic } from '../manifest/diagnostic.js';

export const KUBEPATH_API_VERSION = 'kubepath.dev/v1alpha1';

/** One object read from a manifest, with where it came from. */
export interface LoadedObject {
  object: KObject;
  source: SourceRef;
}

export interface NodeSpec {
  name: string;
  role: 'control-plane' | 'worker';
  zone?: string;
  region?: string;
  instanceType?: string;
  internalIP: string;
  /** The subnet the node's primary NIC sits in (the pool's subnet, the zone's vSwitch/VPC subnet). */
  subnet: string;
  externalIP?: string;
  /** Kubernetes quantities, e.g. cpu "4", memory "16Gi", pods "110". */
  capacity: { cpu: string; memory: string; pods: string };
  labels: Record<string, string>;
  taints: { key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' }[];
  unschedulable: boolean;
  source: SourceRef;
}

export type Cloud = 'none' | 'aws' | 'alibaba';
export type KubeProxyMode = 'iptables' | 'ipvs' | 'nftables';
export type CniPlugin = 'flannel' | 'calico' | 'aws-vpc-cni' | 'terway';

export interface Profile {
  name: string;
  file: string;
  cloud: Cloud;
  region?: string;
  cluster: ClusterConfig;
  kubeProxy: { mode: KubeProxyMode; masqueradeAll: boolean; ipvsScheduler: string };
  /** `mode`: flannel vxlan|host-gw|vpc-route, calico ipip|vxlan|none, terway shared|exclusive. */
  cni: {
    plugin: CniPlugin;
    mode?: string;
    /** Masquerade switches: flannel ipMasq, Calico natOutgoing, AWS VPC CNI externalSNAT / excludeSNATCIDRs. */
    settings: { ipMasq?: boolean; natOutgoing?: boolean; externalSNAT?: boolean; excludeSNATCIDRs?: string[] };
  };
  nodes: NodeSpec[];
}

export interface WorkloadRef {
  kind: 'Deployment' | 'ReplicaSet' | 'StatefulSet' | 'DaemonSet' | 'Job';
  namespace: string;
  name: string;
}

export interface ObjectRef {
  kind: string;
  namespace?: string;
  name: string;
}

export type TimelineAction =
  | { action: 'scale'; target: WorkloadRef; replicas: number }
  | { action: 'deletePod'; pod: ObjectRef }
  | { action: 'setPodReady'; pod: ObjectRef; ready: boolean }
  | { action: 'nodeNotReady' | 'nodeReady' | 'cordon' | 'uncordon' | 'drain' | 'deleteNode'; node: string }
  /** Rolling update: change the pod template (image of a container, or whole-template patch). */
  | { action: 'rollout'; target: WorkloadRef; image?: { container?: string; image: string }; templatePatch?: Record<string, unknown> }
  | { action: 'apply'; objects: LoadedObject[] }
  | { action: 'delete'; target: ObjectRef };

export type TimelineEvent = TimelineAction & {
  /** Seconds since the scenario started. */
  at: number;
  source: SourceRef;
};

/** A statement about cluster state at a time; later issues add traffic expectations. */
export type Expectation = (
  | {
      expect: 'endpoints';
      /** `ns/name` of a Service. */
      service: string;
      ready?: number;
      serving?: number;
      terminating?: number;
      total?: number;
    }
  | {
      expect: 'pods';
      namespace: string;
      /** Label selector in kubectl syntax (`app=web,tier=front`); empty means all pods. */
      selector: string;
      running?: number;
      ready?: number;
      total?: number;
    }
) & { at: number; name?: string; source: SourceRef };

export interface Scenario {
  name: string;
  file: string;
  description?: string;
  seed: number;
  profile: Profile;
  manifests: LoadedObject[];
  timeline: TimelineEvent[];
  expectations: Expectation[];
  /** Warnings and notes found while loading (errors are thrown as InputError instead). */
  diagnostics: Diagnostic[];
}
