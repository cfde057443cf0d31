// The Kubernetes kinds kubepath knows: their API group, the versions the API serves today, the
// versions that were removed (and when), scope, and whether kubepath simulates them.
import { closest } from './syntax.js';

export type NameRule = 'subdomain' | 'label' | 'dns1035';

export interface KindInfo {
  kind: string;
  /** '' is the core group. */
  group: string;
  /** Served versions, preferred first. */
  versions: string[];
  /** Removed `group/version` → Kubernetes release that removed it. */
  removed?: Record<string, string>;
  namespaced: boolean;
  simulated: boolean;
  /** How metadata.name is validated (simulated kinds only). */
  name?: NameRule;
  /** Lower-case plural and short names, as kubectl accepts them. */
  aliases: string[];
}

const K = (
  kind: string,
  group: string,
  versions: string[],
  opts: { cluster?: boolean; sim?: NameRule; removed?: Record<string, string>; aliases?: string[] } = {},
): KindInfo => ({
  kind,
  group,
  versions,
  removed: opts.removed,
  namespaced: !opts.cluster,
  simulated: opts.sim !== undefined,
  name: opts.sim,
  aliases: [kind.toLowerCase(), plural(kind), ...(opts.aliases ?? [])],
});

function plural(kind: string): string {
  const k = kind.toLowerCase();
  if (k.endsWith('s')) return `${k}es`;
  if (k.endsWith('y') && !/[aeiou]y$/.test(k)) return `${k.slice(0, -1)}ies`;
  return `${k}s`;
}

const V1 = ['v1'];

export const KINDS: readonly KindInfo[] = [
  // Simulated.
  K('Namespace', '', V1, { cluster: true, sim: 'label', aliases: ['ns'] }),
  K('Node', '', V1, { cluster: true, sim: 'subdomain', aliases: ['no'] }),
  K('Pod', '', V1, { sim: 'subdomain', aliases: ['po'] }),
  K('Service', '', V1, { sim: 'dns1035', aliases: ['svc'] }),
  K('Endpoints', '', V1, { sim: 'subdomain', aliases: ['ep', 'endpoints'] }),
  K('Deployment', 'apps', V1, {
    sim: 'subdomain',
    aliases: ['deploy'],
    removed: { 'extensions/v1beta1': '1.16', 'apps/v1beta1': '1.16', 'apps/v1beta2': '1.16' },
  }),
  K('ReplicaSet', 'apps', V1, { sim: 'subdomain', aliases: ['rs'], removed: { 'extensions/v1beta1': '1.16', 'apps/v1beta2': '1.16' } }),
  K('StatefulSet', 'apps', V1, { sim: 'subdomain', aliases: ['sts'], removed: { 'apps/v1beta1': '1.16', 'apps/v1beta2': '1.16' } }),
  K('DaemonSet', 'apps', V1, { sim: 'subdomain', aliases: ['ds'], removed: { 'extensions/v1beta1': '1.16', 'apps/v1beta2': '1.16' } }),
  K('Job', 'batch', V1, { sim: 'subdomain' }),
  K('EndpointSlice', 'discovery.k8s.io', V1, { sim: 'subdomain', removed: { 'discovery.k8s.io/v1beta1': '1.25' } }),
  K('Ingress', 'networking.k8s.io', V1, {
    sim: 'subdomain',
    aliases: ['ing'],
    removed: { 'extensions/v1beta1': '1.22', 'networking.k8s.io/v1beta1': '1.22' },
  }),
  K('IngressClass', 'networking.k8s.io', V1, { cluster: true, sim: 'subdomain', removed: { 'networking.k8s.io/v1beta1': '1.22' } }),
  K('NetworkPolicy', 'networking.k8s.io', V1, { sim: 'subdomain', aliases: ['netpol'], removed: { 'extensions/v1beta1': '1.16' } }),
  // Known, not simulated.
  K('ConfigMap', '', V1, { aliases: ['cm'] }),
  K('Secret', '', V1),
  K('ServiceAccount', '', V1, { aliases: ['sa'] }),
  K('PersistentVolumeClaim', '', V1, { aliases: ['pvc'] }),
  K('PersistentVolume', '', V1, { cluster: true, aliases: ['pv'] }),
  K('LimitRange', '', V1, { aliases: ['limits'] }),
  K('ResourceQuota', '', V1, { aliases: ['quota'] }),
  K('ReplicationController', '', V1, { aliases: ['rc'] }),
  K('PodTemplate', '', V1),
  K('Event', '', V1, { aliases: ['ev'] }),
  K('Binding', '', V1),
  K('ComponentStatus', '', V1, { cluster: true, aliases: ['cs'] }),
  K('ControllerRevision', 'apps', V1, { removed: { 'apps/v1beta1': '1.16', 'apps/v1beta2': '1.16' } }),
  K('CronJob', 'batch', V1, { aliases: ['cj'], removed: { 'batch/v1beta1': '1.25', 'batch/v2alpha1': '1.21' } }),
  K('ServiceCIDR', 'networking.k8s.io', ['v1', 'v1beta1'], { cluster: true }),
  K('IPAddress', 'networking.k8s.io', ['v1', 'v1beta1'], { cluster: true }),
  K('PodDisruptionBudget', 'policy', V1, { aliases: ['pdb'], removed: { 'policy/v1beta1': '1.25' } }),
  K('HorizontalPodAutoscaler', 'autoscaling', ['v2', 'v1'], {
    aliases: ['hpa'],
    removed: { 'autoscaling/v2beta1': '1.25', 'autoscaling/v2beta2': '1.26' },
  }),
  ...['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'].map((k) =>
    K(k, 'rbac.authorization.k8s.io', V1, {
      cluster: k.startsWith('Cluster'),
      removed: { 'rbac.authorization.k8s.io/v1beta1': '1.22', 'rbac.authorization.k8s.io/v1alpha1': '1.22' },
    }),
  ),
  K('StorageClass', 'storage.k8s.io', V1, { cluster: true, aliases: ['sc'], removed: { 'storage.k8s.io/v1beta1': '1.22' } }),
  K('VolumeAttachment', 'storage.k8s.io', V1, { cluster: true, removed: { 'storage.k8s.io/v1beta1': '1.22' } }),
  K('CSIDriver', 'storage.k8s.io', V1, { cluster: true, removed: { 'storage.k8s.io/v1beta1': '1.22' } }),
  K('CSINode', 'storage.k8s.io', V1, { cluster: true, removed: { 'storage.k8s.io/v1beta1': '1.22' } }),
  K('CSIStorageCapacity', 'storage.k8s.io', V1, { removed: { 'storage.k8s.io/v1beta1': '1.27' } }),
  K('VolumeAttributesClass', 'storage.k8s.io', ['v1', 'v1beta1'], { cluster: true }),
  K('CustomResourceDefinition', 'apiextensions.k8s.io', V1, { cluster: true, aliases: ['crd', 'crds'], removed: { 'apiextensions.k8s.io/v1beta1': '1.22' } }),
  K('APIService', 'apiregistration.k8s.io', V1, { cluster: true, removed: { 'apiregistration.k8s.io/v1beta1': '1.22' } }),
  ...['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration'].map((k) =>
    K(k, 'admissionregistration.k8s.io', V1, { cluster: true, removed: { 'admissionregistration.k8s.io/v1beta1': '1.22' } }),
  ),
  K('ValidatingAdmissionPolicy', 'admissionregistration.k8s.io', ['v1', 'v1beta1'], { cluster: true }),
  K('ValidatingAdmissionPolicyBinding', 'admissionregistration.k8s.io', ['v1', 'v1beta1'], { cluster: true }),
  K('PriorityClass', 'scheduling.k8s.io', V1, { cluster: true, aliases: ['pc'], removed: { 'scheduling.k8s.io/v1beta1': '1.22', 'scheduling.k8s.io/v1alpha1': '1.22' } }),
  K('RuntimeClass', 'node.k8s.io', V1, { cluster: true, removed: { 'node.k8s.io/v1beta1': '1.25' } }),
  K('Lease', 'coordination.k8s.io', V1, { removed: { 'coordination.k8s.io/v1beta1': '1.22' } }),
  K('CertificateSigningRequest', 'certificates.k8s.io', V1, { cluster: true, aliases: ['csr'], removed: { 'certificates.k8s.io/v1beta1': '1.22' } }),
  ...['FlowSchema', 'PriorityLevelConfiguration'].map((k) =>
    K(k, 'flowcontrol.apiserver.k8s.io', V1, {
      cluster: true,
      removed: { 'flowcontrol.apiserver.k8s.io/v1beta1': '1.26', 'flowcontrol.apiserver.k8s.io/v1beta2': '1.29', 'flowcontrol.apiserver.k8s.io/v1beta3': '1.32' },
    }),
  ),
  K('DeviceClass', 'resource.k8s.io', ['v1', 'v1beta2', 'v1beta1'], { cluster: true }),
  K('ResourceClaim', 'resource.k8s.io', ['v1', 'v1beta2', 'v1beta1']),
  K('ResourceClaimTemplate', 'resource.k8s.io', ['v1', 'v1beta2', 'v1beta1']),
  K('ResourceSlice', 'resource.k8s.io', ['v1', 'v1beta2', 'v1beta1'], { cluster: true }),
];

/** Kinds that no longer exist at all, with what replaced them. */
export const REMOVED_KINDS: Record<string, { release: string; hint: string }> = {
  PodSecurityPolicy: { release: '1.25', hint: 'use Pod Security Admission: namespace labels pod-security.kubernetes.io/*' },
};

const byKind = new Map(KINDS.map((k) => [k.kind, k]));
const builtinGroups = new Set(KINDS.map((k) => k.group));
builtinGroups.add('extensions');
for (const g of ['authentication.k8s.io', 'authorization.k8s.io', 'apiserverinternal.k8s.io', 'storagemigration.k8s.io', 'internal.apiserver.k8s.io']) builtinGroups.add(g);

export function kindInfo(kind: string): KindInfo | undefined {
  return byKind.get(kind);
}

export function apiVersionOf(info: KindInfo, version = info.versions[0]!): string {
  return info.group ? `${info.group}/${version}` : version;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.lastIndexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

export type KindCheck =
  | { status: 'ok'; info: KindInfo }
  | { status: 'custom' }
  | { status: 'unknown'; message: string; hint?: string }
  | { status: 'mismatch'; message: string; hint: string };

/** Is `kind` served at `apiVersion` by the Kubernetes API (or a custom resource)? */
export function checkKind(apiVersion: string, kind: string): KindCheck {
  const { group, version } = splitApiVersion(apiVersion);
  const info = byKind.get(kind);
  if (info) {
    if (info.group === group && info.versions.includes(version)) return { status: 'ok', info };
    const right = apiVersionOf(info);
    const removedIn = info.removed?.[apiVersion];
    if (removedIn)
      return {
        status: 'mismatch',
        message: `${kind} is no longer served at ${apiVersion}: that version was removed in Kubernetes ${removedIn}`,
        hint: `use apiVersion: ${right}${kind === 'Deployment' || kind === 'DaemonSet' || kind === 'ReplicaSet' ? '; it also requires spec.selector' : ''}`,
      };
    if (info.group === group)
      return { status: 'mismatch', message: `no matches for kind "${kind}" in version "${apiVersion}"`, hint: `use apiVersion: ${right}` };
    if (!builtinGroups.has(group) && group.includes('.')) return { status: 'custom' };
    return { status: 'mismatch', message: `no matches for kind "${kind}" in version "${apiVersion}"`, hint: `${kind} is served at apiVersion: ${right}` };
  }
  const gone = REMOVED_KINDS[kind];
  if (gone && builtinGroups.has(group)) return { status: 'mismatch', message: `${kind} was removed in Kubernetes ${gone.release}`, hint: gone.hint };
  if (!builtinGroups.has(group) && group.includes('.')) return { status: 'custom' };
  const guess = closest(kind, byKind.keys());
  return {
    status: 'unknown',
    message: `unknown kind "${kind}" in version "${apiVersion}"`,
    hint: guess ? `did you mean ${guess}?` : 'it is neither a Kubernetes kind nor a custom resource (a group with a dot, like example.com/v1)',
  };
}

/** `deploy`, `deployments`, `Deployment` → the kind; undefined when unknown. */
export function kindFromAlias(word: string): KindInfo | undefined {
  const w = word.toLowerCase();
  return KINDS.find((k) => k.aliases.includes(w));
}
