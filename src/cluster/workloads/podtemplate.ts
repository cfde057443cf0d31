// Pods from a controller's template (controller.GetPodFromTemplate), with the pod-spec defaults
// the API server would apply to the fields the control plane relies on.
import type { Pod, PodSpec, PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { flat, type KObject, type Stored } from '../object.js';
import { canonicalJsonOf } from './hash.js';
import { withEntries } from '../copy.js';

export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';

/** SetDefaults_PodSpec for the fields controllers, the scheduler and the kubelet read. */
export function defaultPodSpec(spec: PodSpec | undefined): PodSpec {
  const s = spec ?? { containers: [] };
  // withEntries: the spread with these keys set, in one shared hidden class (see copy.ts).
  return withEntries(s, SPEC_DEFAULT_KEYS, [
    s.restartPolicy ?? 'Always',
    s.terminationGracePeriodSeconds ?? 30,
    s.dnsPolicy ?? 'ClusterFirst',
    s.schedulerName ?? 'default-scheduler',
    s.securityContext ?? {},
  ]);
}

const SPEC_DEFAULT_KEYS = ['restartPolicy', 'terminationGracePeriodSeconds', 'dnsPolicy', 'schedulerName', 'securityContext'];

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
  const prefix = flat(`${controllerName}-`);
  return prefix.length <= 253 ? prefix : controllerName;
}

// Every pod of an owner carries the same generateName: make the text once per owner metadata.
const prefixes = new WeakMap<object, string>();
function ownerPrefix(owner: KObject): string {
  let p = prefixes.get(owner.metadata);
  if (p === undefined) prefixes.set(owner.metadata, (p = podNamePrefix(owner.metadata.name!)));
  return p;
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
  // Keys added in order to a plain literal (spreads of optional parts are slow in V8).
  const metadata: Record<string, unknown> = { generateName: ownerPrefix(owner), namespace: owner.metadata.namespace };
  if (meta.labels) metadata['labels'] = meta.labels;
  if (meta.annotations) metadata['annotations'] = meta.annotations;
  if (meta.finalizers) metadata['finalizers'] = meta.finalizers;
  metadata['ownerReferences'] = ownerRefs;
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec };
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
