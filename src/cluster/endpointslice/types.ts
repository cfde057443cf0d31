// The EndpointSlice shapes the controllers work with. kubernetes-types 1.30 predates
// hints.forNodes (PreferSameNode), so the hint type is widened here.
import type { Endpoint, EndpointHints, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';

export interface ForNode {
  name: string;
}

export type Hints = EndpointHints & { forNodes?: ForNode[] };

export type SliceEndpoint = Omit<Endpoint, 'hints'> & { hints?: Hints };

/** An EndpointSlice as stored, or a working copy a reconciler is about to write. */
export interface Slice extends Omit<EndpointSlice, 'endpoints' | 'metadata' | 'apiVersion' | 'kind'> {
  apiVersion: 'discovery.k8s.io/v1';
  kind: 'EndpointSlice';
  metadata: ObjectMeta;
  endpoints: SliceEndpoint[];
  ports?: EndpointPort[];
  [field: string]: unknown;
}

/**
 * A copy safe to change: fresh metadata maps and a fresh endpoints array. Endpoint objects are
 * shared, so code that changes one replaces it in the array instead of writing into it.
 */
export function copySlice(s: Slice): Slice {
  return {
    ...s,
    metadata: {
      ...s.metadata,
      ...(s.metadata.labels ? { labels: { ...s.metadata.labels } } : {}),
      ...(s.metadata.annotations ? { annotations: { ...s.metadata.annotations } } : {}),
    },
    endpoints: [...(s.endpoints ?? [])],
  };
}
