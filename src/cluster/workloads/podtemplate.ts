// Pods from a controller's template (controller.GetPodFromTemplate), with the pod-spec defaults
// the API server would apply to the fields the control plane relies on.
import type { Pod, PodSpec, PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { KObject, Stored } from '../object.js';
import { canonicalJsonOf } from './hash.js';

export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';

/** SetDefaults_PodSpec for the fields controllers, the scheduler and the kubelet read. */
export function defaultPodSpec(spec: PodSpec | undefined): PodSpec {
  const s = spec ?? { containers: [] };
  return {
    ...s,
    restartPolicy: s.restartPolicy ?? 'Always',
    terminationGracePeriodSeconds: s.terminationGracePeriodSeconds ?? 30,
    dnsPolicy: s.dnsPolicy ?? 'ClusterFirst',
    schedulerName: s.schedulerName ?? 'default-scheduler',
    securityContext: s.securityContext ?? {},
  };
}

const defaultedSpecs = new WeakMap<object, PodSpec>();

/** defaultPodSpec memoised per template: pods of one owner share one spec object until bound. */
export function defaultedSpecOf(template: PodTemplateSpec): PodSpec {
  const key = template.spec ?? template;
  let s = defaultedSpecs.get(key);
  if (!s) defaultedSpecs.set(key, (s = defaultPodSpec(template.spec)));
  return s;
}

/** getPodsPrefix: `<name>-`, unless that would not be a valid name prefix. */
export function podNamePrefix(controllerName: string): string {
  const prefix = `${controllerName}-`;
  return prefix.length <= 253 ? prefix : controllerName;
}

/**
 * A Pod as controller.GetPodFromTemplate builds it: labels, annotations and finalizers of the
 * template, generateName `<owner>-`, the controller reference, the template's spec. `spec` may be
 * passed when the caller changed it (DaemonSet node affinity); nodeName stays empty otherwise.
 */
export function podFromTemplate(
  template: PodTemplateSpec,
  owner: KObject,
  ownerRefs: OwnerReference[],
  spec: PodSpec = defaultedSpecOf(template),
): Stored<Pod> {
  const meta = template.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: podNamePrefix(owner.metadata.name!),
      namespace: owner.metadata.namespace,
      ...(meta.labels ? { labels: meta.labels } : {}),
      ...(meta.annotations ? { annotations: meta.annotations } : {}),
      ...(meta.finalizers ? { finalizers: meta.finalizers } : {}),
      ownerReferences: ownerRefs,
    },
    spec,
  };
}

const withoutHash = new WeakMap<object, string>();

/** deploymentutil.EqualIgnoreHash: templates equal once the pod-template-hash label is dropped. */
export function equalIgnoreHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  return canonicalWithoutHash(a) === canonicalWithoutHash(b);
}

function canonicalWithoutHash(t: PodTemplateSpec | undefined): string {
  if (!t) return '';
  let s = withoutHash.get(t);
  if (s === undefined) {
    const labels = t.metadata?.labels;
    if (labels && POD_TEMPLATE_HASH_LABEL in labels) {
      const { [POD_TEMPLATE_HASH_LABEL]: _drop, ...rest } = labels;
      s = canonicalJsonOf({ ...t, metadata: { ...t.metadata, labels: rest } });
    } else {
      s = canonicalJsonOf(t);
    }
    withoutHash.set(t, s);
  }
  return s;
}
