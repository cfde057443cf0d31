// trafficdist.ReconcileHints: hints for spec.trafficDistribution. PreferClose and PreferSameZone
// give each ready endpoint a hint for its own zone; PreferSameNode adds one for its own node.
// Any other value clears hints.
import {
  TRAFFIC_DISTRIBUTION_PREFER_CLOSE,
  TRAFFIC_DISTRIBUTION_PREFER_SAME_NODE,
  TRAFFIC_DISTRIBUTION_PREFER_SAME_ZONE,
} from './constants.js';
import { copySlice, type Hints, type Slice, type SliceEndpoint } from './types.js';

interface Heuristic {
  needsUpdate(slice: Slice): boolean;
  update(slice: Slice): void;
}

const CLOSE = new Set([
  TRAFFIC_DISTRIBUTION_PREFER_CLOSE,
  TRAFFIC_DISTRIBUTION_PREFER_SAME_ZONE,
  TRAFFIC_DISTRIBUTION_PREFER_SAME_NODE,
]);

export function reconcileHints(
  trafficDistribution: string | undefined,
  toCreate: Slice[],
  toUpdate: Slice[],
  unchanged: readonly Slice[],
): { toCreate: Slice[]; toUpdate: Slice[]; unchanged: Slice[] } {
  const h: Heuristic =
    trafficDistribution !== undefined && CLOSE.has(trafficDistribution)
      ? preferClose(trafficDistribution === TRAFFIC_DISTRIBUTION_PREFER_SAME_NODE)
      : clearAll;
  const stillUnchanged: Slice[] = [];
  const update = [...toUpdate];
  for (const slice of unchanged) {
    if (h.needsUpdate(slice)) update.push(copySlice(slice));
    else stillUnchanged.push(slice);
  }
  for (const slice of toCreate) h.update(slice);
  for (const slice of update) h.update(slice);
  return { toCreate, toUpdate: update, unchanged: stillUnchanged };
}

const ready = (ep: SliceEndpoint): boolean => ep.conditions?.ready === true;

/** The default heuristic: cluster-wide routing, no hints at all. */
const clearAll: Heuristic = {
  needsUpdate: (slice) => slice.endpoints.some((ep) => ep.hints !== undefined),
  update(slice) {
    slice.endpoints = slice.endpoints.map((ep) => {
      if (ep.hints === undefined) return ep;
      const { hints: _drop, ...rest } = ep;
      return rest;
    });
  },
};

function preferClose(nodeHints: boolean): Heuristic {
  return {
    needsUpdate(slice) {
      for (const ep of slice.endpoints) {
        if (!ready(ep)) continue;
        if (ep.zone !== undefined) {
          const z = ep.hints?.forZones;
          if (!z || z.length !== 1 || z[0]!.name !== ep.zone) return true;
        } else if ((ep.hints?.forZones?.length ?? 0) > 0) {
          return true;
        }
        if (ep.nodeName !== undefined && nodeHints) {
          const n = ep.hints?.forNodes;
          if (!n || n.length !== 1 || n[0]!.name !== ep.nodeName) return true;
        } else if ((ep.hints?.forNodes?.length ?? 0) > 0) {
          return true;
        }
      }
      return false;
    },
    update(slice) {
      slice.endpoints = slice.endpoints.map((ep) => {
        if (!ready(ep)) return ep;
        const hints: Hints = {};
        if (ep.zone !== undefined) hints.forZones = [{ name: ep.zone }];
        if (ep.nodeName !== undefined && nodeHints) hints.forNodes = [{ name: ep.nodeName }];
        if (hints.forZones || hints.forNodes) return { ...ep, hints };
        const { hints: _drop, ...rest } = ep;
        return rest;
      });
    },
  };
}
