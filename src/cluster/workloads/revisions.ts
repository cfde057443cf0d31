// ControllerRevision history (pkg/controller/history) as StatefulSets and DaemonSets keep it:
// one revision per distinct pod template, numbered, owned by the workload.
import type { ControllerRevision } from 'kubernetes-types/apps/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { controllerRef, type KObject, type Stored } from '../object.js';
import { ApiError, type Store } from '../store.js';
import { canonicalJsonOf, hashControllerRevision } from './hash.js';
import { controlledBy } from './indexes.js';
import { timeMs } from './pods.js';

export type Revision = Stored<ControllerRevision>;

export const CONTROLLER_REVISION_HASH_LABEL = 'controller-revision-hash';

/** getPatch: the template a revision records, as a strategic-merge "replace" patch. */
export function templatePatch(template: PodTemplateSpec): Record<string, unknown> {
  return { spec: { template: { ...template, $patch: 'replace' } } };
}

/** The template recorded in a revision. */
export function revisionTemplate(rev: ControllerRevision): PodTemplateSpec | undefined {
  const t = (rev.data as { spec?: { template?: PodTemplateSpec & { $patch?: string } } } | undefined)?.spec?.template;
  if (!t) return undefined;
  const { $patch: _drop, ...rest } = t;
  return rest;
}

export function revisionData(rev: ControllerRevision): string {
  return rev.data ? canonicalJsonOf(rev.data as object) : '';
}

/** The revisions a workload controls, sorted by revision, creation time, then name. */
export function listRevisions(store: Store, owner: KObject): Revision[] {
  return controlledBy<Revision>(store, 'ControllerRevision', owner.metadata.uid!).sort(byRevision);
}

export function byRevision(a: ControllerRevision, b: ControllerRevision): number {
  if (a.revision !== b.revision) return a.revision - b.revision;
  const ta = timeMs(a.metadata?.creationTimestamp);
  const tb = timeMs(b.metadata?.creationTimestamp);
  if (ta !== tb) return ta - tb;
  const na = a.metadata?.name ?? '';
  const nb = b.metadata?.name ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/** history.NewControllerRevision, named `<parent>-<hash of the data and collision count>`. */
export function newRevision(
  parent: KObject,
  labels: Record<string, string> | undefined,
  annotations: Record<string, string> | undefined,
  data: Record<string, unknown>,
  revision: number,
  collisionCount: number,
): Revision {
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: revisionName(parent.metadata.name!, hashControllerRevision(canonicalJsonOf(data), collisionCount)),
      namespace: parent.metadata.namespace,
      ...(labels ? { labels: { ...labels } } : {}),
      ...(annotations ? { annotations: { ...annotations } } : {}),
      ownerReferences: [controllerRef(parent)],
    },
    data,
    revision,
  };
}

/** ControllerRevisionName: the prefix is cut to 223 characters. */
export function revisionName(prefix: string, hash: string): string {
  return `${prefix.length > 223 ? prefix.slice(0, 223) : prefix}-${hash}`;
}

/**
 * CreateControllerRevision: create, and on a name clash with different data bump the collision
 * count and try the next name. Returns the stored revision and the final collision count.
 */
export function createRevision(store: Store, parent: KObject, rev: Revision, collisionCount: number): { rev: Revision; collisionCount: number } {
  const data = revisionData(rev);
  for (;;) {
    const name = revisionName(parent.metadata.name!, hashControllerRevision(data, collisionCount));
    try {
      return { rev: store.create<Revision>({ ...rev, metadata: { ...rev.metadata, name } }), collisionCount };
    } catch (e) {
      if (!(e instanceof ApiError) || e.reason !== 'AlreadyExists') throw e;
      const exists = store.get<Revision>('ControllerRevision', parent.metadata.namespace, name)!;
      if (revisionData(exists) === data) return { rev: exists, collisionCount };
      collisionCount++;
    }
  }
}
