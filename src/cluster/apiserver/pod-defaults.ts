// What the API server does to a Pod on create: scheme defaults (SetDefaults_Pod, _PodSpec,
// _Container, probes), requests defaulted from limits, the Priority, ServiceAccount and
// DefaultTolerationSeconds admission plugins, and the initial status (Pending, QoS class).
import type { Container, Pod, PodSpec, Probe, Toleration, ContainerPort } from 'kubernetes-types/core/v1.js';
import { podQosClass } from './resources.js';
import { hasKeys, withKey, withKeys } from '../copy.js';

const TEMPLATE_POD_KEYS = ['apiVersion', 'kind', 'metadata', 'spec'];

export const TAINT_NODE_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_NODE_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';
export const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Defaulted {
  seconds: number;
  spec: PodSpec;
  qosClass: PodQos;
  /** The initial status of a pod created without one, shared like the spec. */
  pending: Pod['status'];
}

type PodQos = ReturnType<typeof podQosClass>;

// Controllers create every pod of a template from one spec object: default it once. The result
// is shared by those pods, which is safe because stored objects are never changed in place.
const defaultedBySpec = new WeakMap<PodSpec, Defaulted>();

export function defaultPod(pod: Pod, defaultTolerationSeconds: number): Pod {
  const input = pod.spec;
  let d = input ? defaultedBySpec.get(input) : undefined;
  if (!d || d.seconds !== defaultTolerationSeconds) {
    const spec = defaultPodSpec(input ?? { containers: [] });
    const tolerations = addDefaultTolerations(spec.tolerations, defaultTolerationSeconds);
    // withKey: a spread with a key added would give each template's spec a hidden class of its own.
    const withTolerations = tolerations === spec.tolerations ? spec : withKey(spec, 'tolerations', tolerations);
    const qosClass = podQosClass({ spec: withTolerations });
    d = { seconds: defaultTolerationSeconds, spec: withTolerations, qosClass, pending: { phase: 'Pending', qosClass } };
    if (input) defaultedBySpec.set(input, d);
  }
  if (pod.status?.phase) return { ...pod, spec: d.spec };
  const status = pod.status ? { ...pod.status, phase: 'Pending', qosClass: d.qosClass } : d.pending;
  // The spread with `status` added, without V8's slow path (see copy.ts): a literal for the
  // shape controllers create pods in, withKeys for any other.
  if (hasKeys(pod, TEMPLATE_POD_KEYS)) return { apiVersion: pod.apiVersion, kind: pod.kind, metadata: pod.metadata, spec: d.spec, status };
  return withKeys(pod, 'spec', d.spec, 'status', status);
}

// Defaults go first in an object literal and the input is spread over them: adding properties
// to a spread copy one by one is two orders of magnitude slower in V8, and pods are created by
// the hundred thousand. Values the input sets to empty are fixed up afterwards.
export function defaultPodSpec(input: PodSpec): PodSpec {
  const hostNetwork = !!input.hostNetwork;
  const account = input.serviceAccountName || input.serviceAccount || 'default';
  const s: Mutable<PodSpec> = {
    dnsPolicy: 'ClusterFirst',
    restartPolicy: 'Always',
    securityContext: {},
    terminationGracePeriodSeconds: DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS,
    schedulerName: DEFAULT_SCHEDULER_NAME,
    enableServiceLinks: true,
    // Priority admission without a PriorityClass, ServiceAccount admission.
    ...(input.priorityClassName ? {} : { priority: 0 }),
    preemptionPolicy: 'PreemptLowerPriority',
    serviceAccountName: account,
    serviceAccount: account,
    ...input,
    containers: (input.containers ?? []).map((c) => defaultContainer(c, hostNetwork)),
    ...(input.initContainers ? { initContainers: input.initContainers.map((c) => defaultContainer(c, hostNetwork)) } : {}),
  };
  if (!s.dnsPolicy) s.dnsPolicy = 'ClusterFirst';
  if (!s.restartPolicy) s.restartPolicy = 'Always';
  if (!s.securityContext) s.securityContext = {};
  if (s.terminationGracePeriodSeconds == null) s.terminationGracePeriodSeconds = DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS;
  if (!s.schedulerName) s.schedulerName = DEFAULT_SCHEDULER_NAME;
  if (s.enableServiceLinks == null) s.enableServiceLinks = true;
  if (s.priority == null && !s.priorityClassName) s.priority = 0;
  if (!s.preemptionPolicy) s.preemptionPolicy = 'PreemptLowerPriority';
  if (!s.serviceAccountName) s.serviceAccountName = s.serviceAccount || 'default';
  if (!s.serviceAccount) s.serviceAccount = s.serviceAccountName;
  return s;
}

function defaultContainer(input: Container, hostNetwork: boolean): Container {
  const c: Mutable<Container> = {
    imagePullPolicy: pullsAlways(input.image) ? 'Always' : 'IfNotPresent',
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    ...input,
  };
  if (!c.imagePullPolicy) c.imagePullPolicy = pullsAlways(c.image) ? 'Always' : 'IfNotPresent';
  if (!c.terminationMessagePath) c.terminationMessagePath = '/dev/termination-log';
  if (!c.terminationMessagePolicy) c.terminationMessagePolicy = 'File';
  if (c.ports) c.ports = c.ports.map((p) => defaultPort(p, hostNetwork));
  const limits = c.resources?.limits;
  if (limits) {
    const requests = { ...(c.resources?.requests ?? {}) };
    let changed = !c.resources?.requests;
    for (const k of Object.keys(limits)) {
      if (!(k in requests)) {
        requests[k] = limits[k]!;
        changed = true;
      }
    }
    if (changed) c.resources = { ...c.resources, requests };
  }
  if (c.readinessProbe) c.readinessProbe = defaultProbe(c.readinessProbe);
  if (c.livenessProbe) c.livenessProbe = defaultProbe(c.livenessProbe);
  if (c.startupProbe) c.startupProbe = defaultProbe(c.startupProbe);
  return c;
}

function defaultPort(p: ContainerPort, hostNetwork: boolean): ContainerPort {
  if (p.protocol && (!hostNetwork || p.hostPort)) return p;
  return { protocol: 'TCP', ...p, ...(p.protocol ? {} : { protocol: 'TCP' }), ...(hostNetwork && !p.hostPort ? { hostPort: p.containerPort } : {}) };
}

function defaultProbe(p: Probe): Probe {
  const out: Mutable<Probe> = { timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3, ...p };
  if (out.timeoutSeconds == null) out.timeoutSeconds = 1;
  if (out.periodSeconds == null) out.periodSeconds = 10;
  if (out.successThreshold == null) out.successThreshold = 1;
  if (out.failureThreshold == null) out.failureThreshold = 3;
  if (out.httpGet) out.httpGet = { ...out.httpGet, path: out.httpGet.path || '/', scheme: out.httpGet.scheme || 'HTTP' };
  return out;
}

/** `:latest` or no tag (and no digest) means Always. */
function pullsAlways(image: string | undefined): boolean {
  if (!image) return false;
  if (image.includes('@')) return false;
  const last = image.slice(image.lastIndexOf('/') + 1);
  const colon = last.lastIndexOf(':');
  return colon < 0 || last.slice(colon + 1) === 'latest';
}

/**
 * DefaultTolerationSeconds admission: add not-ready and unreachable NoExecute tolerations with
 * the configured seconds unless the pod already tolerates those taints.
 */
export function addDefaultTolerations(
  tolerations: Toleration[] | undefined,
  seconds: number,
): Toleration[] | undefined {
  let notReady = false;
  let unreachable = false;
  for (const t of tolerations ?? []) {
    const effectOk = !t.effect || t.effect === 'NoExecute';
    if ((t.key === TAINT_NODE_NOT_READY || !t.key) && effectOk) notReady = true;
    if ((t.key === TAINT_NODE_UNREACHABLE || !t.key) && effectOk) unreachable = true;
  }
  if (notReady && unreachable) return tolerations;
  const out = [...(tolerations ?? [])];
  if (!notReady) out.push({ key: TAINT_NODE_NOT_READY, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds });
  if (!unreachable) out.push({ key: TAINT_NODE_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds });
  return out;
}
