// EndpointSliceTracker: the slices a controller wrote, so that it resyncs a Service only when a
// slice changed behind its back (edited, deleted or added by someone else).
import { LABEL_SERVICE_NAME } from './constants.js';
import type { Slice } from './types.js';

// Upstream records each slice's metadata.generation, which the API server bumps when anything
// but metadata changes. The store keeps no generation for slices, so we record the content
// fields as written: objects are immutable, so a changed field is a different reference.
interface Written {
  endpoints: unknown;
  ports: unknown;
  addressType: unknown;
}

const DELETION_EXPECTED = 'deletion-expected';

export class EndpointSliceTracker {
  private readonly byService = new Map<string, Map<string, Written | typeof DELETION_EXPECTED>>();

  /** Has: the slice is tracked. */
  has(slice: Slice): boolean {
    return this.byService.get(serviceNN(slice))?.has(slice.metadata.uid ?? '') ?? false;
  }

  /** ShouldSync: the slice is untracked, or its content is not what this controller wrote. */
  shouldSync(slice: Slice): boolean {
    const forService = this.byService.get(serviceNN(slice));
    if (!forService) return true;
    const w = forService.get(slice.metadata.uid ?? '');
    if (w === undefined) return true;
    if (w === DELETION_EXPECTED) return false;
    return w.endpoints !== slice.endpoints || w.ports !== slice.ports || w.addressType !== slice.addressType;
  }

  /** Update: remember a slice as this controller wrote it. */
  update(slice: Slice): void {
    this.forService(slice).set(slice.metadata.uid ?? '', {
      endpoints: slice.endpoints,
      ports: slice.ports,
      addressType: slice.addressType,
    });
  }

  expectDeletion(slice: Slice): void {
    this.forService(slice).set(slice.metadata.uid ?? '', DELETION_EXPECTED);
  }

  /** HandleDeletion: forget the slice; false when its deletion was not expected. */
  handleDeletion(slice: Slice): boolean {
    const forService = this.byService.get(serviceNN(slice));
    if (!forService) return true;
    const uid = slice.metadata.uid ?? '';
    const w = forService.get(uid);
    forService.delete(uid);
    return w === undefined || w === DELETION_EXPECTED;
  }

  deleteService(namespace: string, name: string): void {
    this.byService.delete(`${namespace}/${name}`);
  }

  private forService(slice: Slice): Map<string, Written | typeof DELETION_EXPECTED> {
    const nn = serviceNN(slice);
    let m = this.byService.get(nn);
    if (!m) this.byService.set(nn, (m = new Map()));
    return m;
  }
}

function serviceNN(slice: Slice): string {
  return `${slice.metadata.namespace ?? 'default'}/${slice.metadata.labels?.[LABEL_SERVICE_NAME] ?? ''}`;
}
