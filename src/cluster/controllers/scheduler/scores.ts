// The default profile's score weights and the per-node resource scores (NodeResourcesFit's
// LeastAllocated and BalancedAllocation), shared by the linear scoring loop and the window index.
import type { PodRequests } from '../../apiserver/resources.js';
import type { NodeColumns } from './cache.js';

/** Default weights of the score plugins (KubeSchedulerConfiguration v1). */
export const WEIGHT = { taint: 3, nodeAffinity: 2, fit: 1, spread: 2, balanced: 1 } as const;
export const MAX_NODE_SCORE = 100;

/**
 * LeastAllocated on the non-zero requests plus BalancedAllocation on the actual requests, with
 * their weights, for a pod with requests `r` on the node in `slot`.
 */
export function resourceScore(c: NodeColumns, slot: number, r: Readonly<PodRequests>): number {
  const allocCpu = c.allocCpu[slot]!;
  const allocMem = c.allocMem[slot]!;
  let sum = 0;
  let weights = 0;
  if (allocCpu > 0) {
    sum += leastRequested(c.nzCpu[slot]! + r.nonZeroMilliCPU, allocCpu);
    weights++;
  }
  if (allocMem > 0) {
    sum += leastRequested(c.nzMem[slot]! + r.nonZeroMemory, allocMem);
    weights++;
  }
  let b = WEIGHT.fit * (weights ? Math.trunc(sum / weights) : 0);
  if (r.milliCPU !== 0 || r.memory !== 0) {
    if (allocCpu > 0 && allocMem > 0) {
      const fc = Math.min(1, (c.reqCpu[slot]! + r.milliCPU) / allocCpu);
      const fm = Math.min(1, (c.reqMem[slot]! + r.memory) / allocMem);
      b += WEIGHT.balanced * Math.trunc((1 - Math.abs(fc - fm) / 2) * MAX_NODE_SCORE);
    } else {
      b += WEIGHT.balanced * MAX_NODE_SCORE;
    }
  }
  return b;
}

function leastRequested(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.trunc(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

/** NodeResourcesFit's filter for a pod with only resource requests (no ports, no taints asked). */
export function fitsResources(c: NodeColumns, slot: number, milliCPU: number, memory: number): boolean {
  return c.freePods[slot]! >= 1 && (milliCPU === 0 || milliCPU <= c.freeCpu[slot]!) && (memory === 0 || memory <= c.freeMem[slot]!);
}
