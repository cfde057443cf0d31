// The EndpointSliceMirroring reconciler (pkg/controller/endpointslicemirroring): each subset of
// a user-managed Endpoints object (after repacking) becomes one slice per address type.
import type { Endpoints } from 'kubernetes-types/core/v1.js';
import type { EndpointPort } from 'kubernetes-types/discovery/v1.js';
import { ApiError } from '../../store.js';
import { LABEL_MANAGED_BY, LABEL_SERVICE_NAME, type AddressType } from '../constants.js';
import { repackSubsets } from '../endpoints/repack.js';
import { EndpointSet, endpointsEqualBeyondHash } from '../endpointset.js';
import { portMapKey } from '../ports.js';
import type { SliceWriter } from '../reconciler.js';
import { stringMapsEqual } from '../slicemeta.js';
import type { Slice } from '../types.js';
import { addressToEndpoint, mirroredAnnotations, newMirroredSlice, toSlicePorts } from './slice.js';

/** --mirroring-max-endpoints-per-subset default. */
export const DEFAULT_MAX_ENDPOINTS_PER_SUBSET = 1000;

export interface MirroringOptions {
  maxEndpointsPerSubset: number;
  writer: SliceWriter;
  recordEvent(endpoints: Endpoints, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

interface ByAction {
  toCreate: Slice[];
  toUpdate: Slice[];
  toDelete: Slice[];
}

/** addrTypePortMapKey: the address type, then the port map key. */
function addrTypeKey(ports: readonly EndpointPort[] | undefined, addressType: string): string {
  return `${addressType}-${portMapKey(ports)}`;
}

function keyAddressType(key: string): AddressType {
  return key.startsWith('IPv6') ? 'IPv6' : 'IPv4';
}

export class MirroringReconciler {
  constructor(private readonly opts: MirroringOptions) {}

  reconcile(endpoints: Endpoints, existingSlices: readonly Slice[]): Error | undefined {
    const portsByKey = new Map<string, EndpointPort[]>();
    const endpointsByKey = new Map<string, EndpointSet>();
    let numInvalid = 0;
    let skipped = 0;
    const max = this.opts.maxEndpointsPerSubset;

    // Subsets are canonicalised before mirroring.
    for (const subset of repackSubsets(endpoints.subsets ?? [])) {
      const ports = toSlicePorts(subset.ports);
      const keys = { IPv4: addrTypeKey(ports, 'IPv4'), IPv6: addrTypeKey(ports, 'IPv6') };
      for (const key of [keys.IPv4, keys.IPv6]) {
        if (!endpointsByKey.has(key)) endpointsByKey.set(key, new EndpointSet());
        portsByKey.set(key, ports);
      }
      const total = (subset.addresses?.length ?? 0) + (subset.notReadyAddresses?.length ?? 0);
      let added = 0;
      const add = (list: typeof subset.addresses, ready: boolean): void => {
        for (const address of list ?? []) {
          // At most max addresses per subset: one subset maps to one slice.
          if (added >= max) break;
          const r = addressToEndpoint(address, ready);
          if (!r) {
            numInvalid++;
            continue;
          }
          endpointsByKey.get(keys[r.addressType])!.insert(r.endpoint);
          added++;
        }
      };
      add(subset.addresses, true);
      add(subset.notReadyAddresses, false);
      skipped += total - added;
    }
    if (numInvalid > 0) {
      this.opts.recordEvent(endpoints, 'Warning', 'InvalidIPAddress', `Skipped ${numInvalid} invalid IP addresses when mirroring to EndpointSlices`);
    }
    if (skipped > numInvalid) {
      this.opts.recordEvent(
        endpoints,
        'Warning',
        'TooManyAddressesToMirror',
        `A max of ${max} addresses can be mirrored to EndpointSlices per Endpoints subset. ${skipped} addresses were skipped`,
      );
    }

    const existingByKey = new Map<string, Slice[]>();
    for (const s of existingSlices) {
      const key = addrTypeKey(s.ports, s.addressType);
      let list = existingByKey.get(key);
      if (!list) existingByKey.set(key, (list = []));
      list.push(s);
    }
    const slices: ByAction = { toCreate: [], toUpdate: [], toDelete: [] };
    for (const [key, desired] of endpointsByKey) {
      const r = this.reconcileByPortMapping(endpoints, existingByKey.get(key) ?? [], desired, portsByKey.get(key)!, keyAddressType(key));
      slices.toCreate.push(...r.toCreate);
      slices.toUpdate.push(...r.toUpdate);
      slices.toDelete.push(...r.toDelete);
    }
    for (const [key, list] of existingByKey) if (!endpointsByKey.has(key)) slices.toDelete.push(...list);
    return this.finalize(endpoints, slices);
  }

  /**
   * One slice per port mapping: the first existing slice is rewritten (unless it already matches
   * endpoints, labels and annotations), the others go.
   */
  private reconcileByPortMapping(
    endpoints: Endpoints,
    existing: readonly Slice[],
    desired: EndpointSet,
    ports: EndpointPort[],
    addressType: AddressType,
  ): ByAction {
    const out: ByAction = { toCreate: [], toUpdate: [], toDelete: [] };
    if (desired.size === 0) {
      out.toDelete = [...existing];
      return out;
    }
    if (existing.length > 0) {
      out.toDelete = existing.slice(1);
      const first = existing[0]!;
      const compareLabels = { ...(first.metadata.labels ?? {}) };
      delete compareLabels[LABEL_MANAGED_BY];
      delete compareLabels[LABEL_SERVICE_NAME];
      if (
        unchangedEndpoints(first, desired) &&
        stringMapsEqual(endpoints.metadata?.labels, compareLabels) &&
        stringMapsEqual(mirroredAnnotations(endpoints), first.metadata.annotations)
      ) {
        return out;
      }
    }
    const slice = newMirroredSlice(endpoints, ports, addressType, existing[0]?.metadata.name);
    for (const ep of desired.values()) {
      if (slice.endpoints.length >= this.opts.maxEndpointsPerSubset) break;
      slice.endpoints.push(ep);
    }
    if (slice.metadata.name) out.toUpdate.push(slice);
    else out.toCreate.push(slice);
    return out;
  }

  /** finalize: recycle deletes into updates per address type, then creates, updates, deletes. */
  private finalize(endpoints: Endpoints, slices: ByAction): Error | undefined {
    recycleSlices(slices);
    const ref = `${endpoints.metadata?.namespace ?? 'default'}/${endpoints.metadata?.name ?? ''}`;
    if (!endpoints.metadata?.deletionTimestamp) {
      for (const s of slices.toCreate) {
        try {
          this.opts.writer.create(s);
        } catch (e) {
          if (e instanceof ApiError && e.reason === 'Forbidden' && /terminat/i.test(e.message)) return undefined;
          return new Error(`failed to create EndpointSlice for Endpoints ${ref}: ${message(e)}`);
        }
      }
    }
    for (const s of slices.toUpdate) {
      try {
        this.opts.writer.update(s);
      } catch (e) {
        return new Error(`failed to update ${s.metadata.name} EndpointSlice for Endpoints ${ref}: ${message(e)}`);
      }
    }
    for (const s of slices.toDelete) {
      try {
        this.opts.writer.delete(s);
      } catch (e) {
        return new Error(`failed to delete ${s.metadata.name} EndpointSlice for Endpoints ${ref}: ${message(e)}`);
      }
    }
    return undefined;
  }
}

/** totalChanges is zero: the slice holds exactly the desired endpoints, each unchanged. */
function unchangedEndpoints(slice: Slice, desired: EndpointSet): boolean {
  let matches = 0;
  for (const ep of slice.endpoints ?? []) {
    const got = desired.get(ep);
    if (!got || !endpointsEqualBeyondHash(got, ep)) return false;
    matches++;
  }
  return matches === desired.size;
}

/** recycleSlices: a create and a delete of the same address type become one update. */
function recycleSlices(slices: ByAction): void {
  const byType = (list: Slice[]) => {
    const m = new Map<string, Slice[]>();
    for (const s of list) {
      let l = m.get(s.addressType);
      if (!l) m.set(s.addressType, (l = []));
      l.push(s);
    }
    return m;
  };
  const creates = byType(slices.toCreate);
  const deletes = byType(slices.toDelete);
  for (const [type, toCreate] of creates) {
    const toDelete = deletes.get(type) ?? [];
    for (let i = 0; i < toCreate.length && i < toDelete.length; i++) {
      const slice = toCreate[i]!;
      slices.toCreate = slices.toCreate.filter((s) => s !== slice);
      slices.toDelete = slices.toDelete.filter((s) => s !== toDelete[i]);
      slice.metadata = { ...slice.metadata, name: toDelete[i]!.metadata.name! };
      slices.toUpdate.push(slice);
    }
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
