// `kubectl apply` for the simulation: create what is new, replace what was declared on what exists,
// keep what the server allocated (ClusterIPs, NodePorts), and turn API errors into located diagnostics.
import type { Service, ServicePort } from 'kubernetes-types/core/v1.js';
import type { Cluster } from '../cluster/cluster.js';
import { ApiError } from '../cluster/store.js';
import type { KObject, Stored } from '../cluster/object.js';
import type { Diagnostic } from '../manifest/diagnostic.js';
import { parseFieldPath } from '../manifest/source.js';
import type { LoadedObject } from './types.js';

/** kubectl and helm create these kinds first so that later objects can refer to them. */
const APPLY_ORDER = [
  'Namespace',
  'Node',
  'PriorityClass',
  'IngressClass',
  'ServiceAccount',
  'ConfigMap',
  'Secret',
  'Service',
  'Endpoints',
  'EndpointSlice',
  'DaemonSet',
  'Deployment',
  'ReplicaSet',
  'StatefulSet',
  'Job',
  'Pod',
  'Ingress',
  'NetworkPolicy',
];

function rank(kind: string): number {
  const i = APPLY_ORDER.indexOf(kind);
  return i < 0 ? APPLY_ORDER.length : i;
}

/** Apply objects in dependency order; returns one diagnostic per object the API server refused. */
export function applyObjects(cluster: Cluster, objects: readonly LoadedObject[]): Diagnostic[] {
  const sorted = objects.map((o, i) => ({ o, i })).sort((a, b) => rank(a.o.object.kind) - rank(b.o.object.kind) || a.i - b.i);
  const diagnostics: Diagnostic[] = [];
  for (const { o } of sorted) {
    try {
      ensureNamespace(cluster, o.object);
      applyOne(cluster, o.object);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      const at = e.field ? o.source.locate?.(parseFieldPath(e.field)) : undefined;
      diagnostics.push({
        severity: 'error',
        file: o.source.file,
        line: at?.line ?? o.source.line,
        ...(at?.column ? { column: at.column } : {}),
        ...(e.field ? { field: e.field } : {}),
        message: `${o.object.kind} "${o.object.metadata.name}": ${e.message}`,
        hint: hintFor(e),
      });
    }
  }
  return diagnostics;
}

export function applyOne(cluster: Cluster, obj: KObject): KObject {
  const { store } = cluster;
  const existing = store.get(obj.kind, obj.metadata.namespace ?? 'default', obj.metadata.name ?? '');
  if (!existing) return store.create(obj);
  return store.update(mergeForApply(existing, obj));
}

// The declared fields replace the live ones; server-owned fields (status, allocations) stay.
function mergeForApply(live: KObject, declared: KObject): KObject {
  const merged: KObject = {
    ...live,
    ...declared,
    metadata: {
      ...live.metadata,
      labels: declared.metadata.labels,
      annotations: declared.metadata.annotations,
    },
  };
  if ('status' in live) merged['status'] = live['status'];
  if (live.kind === 'Service') merged['spec'] = keepServiceAllocations(live as Stored<Service>, declared as Stored<Service>);
  return merged;
}

function keepServiceAllocations(live: Service, declared: Service): Service['spec'] {
  const spec = { ...declared.spec };
  if (!spec.clusterIP && live.spec?.clusterIP) {
    spec.clusterIP = live.spec.clusterIP;
    spec.clusterIPs = live.spec.clusterIPs;
  }
  spec.ports = declared.spec?.ports?.map((p): ServicePort => {
    if (p.nodePort) return p;
    const old = live.spec?.ports?.find((q) => q.port === p.port && (q.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
    return old?.nodePort ? { ...p, nodePort: old.nodePort } : p;
  });
  return spec;
}

function ensureNamespace(cluster: Cluster, obj: KObject): void {
  const ns = obj.metadata.namespace;
  if (!ns || obj.kind === 'Namespace' || cluster.store.get('Namespace', undefined, ns)) return;
  cluster.store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
}

function hintFor(e: ApiError): string {
  switch (e.reason) {
    case 'AlreadyExists':
      return 'rename one of the objects or remove the duplicate';
    case 'Invalid':
      return 'change the field to a value the API server accepts, or leave it out to have one allocated';
    default:
      return 'fix the manifest and run again';
  }
}
