// Pod state as controllers read it (k8s.io/kubernetes/pkg/api/v1/pod and controller_utils).
import type { Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import { parseRFC3339 } from '../rfc3339.js';

export function isPodTerminal(p: Pod): boolean {
  const phase = p.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** controller.IsPodActive: not terminal and not being deleted. */
export function isPodActive(p: Pod): boolean {
  return !isPodTerminal(p) && !p.metadata?.deletionTimestamp;
}

export function isPodTerminating(p: Pod): boolean {
  return !!p.metadata?.deletionTimestamp;
}

export function podReadyCondition(p: Pod): PodCondition | undefined {
  const cs = p.status?.conditions;
  if (!cs) return undefined;
  for (const c of cs) if (c.type === 'Ready') return c;
  return undefined;
}

export function isPodReady(p: Pod): boolean {
  return podReadyCondition(p)?.status === 'True';
}

export function isPodRunningAndReady(p: Pod): boolean {
  return p.status?.phase === 'Running' && isPodReady(p);
}

/** Milliseconds of an RFC 3339 timestamp; NaN when absent. */
export function timeMs(t: string | undefined): number {
  if (!t) return Number.NaN;
  return parseRFC3339(t);
}

/**
 * podutil.IsPodAvailable: ready, and ready for longer than minReadySeconds
 * (lastTransitionTime + minReadySeconds strictly before now).
 */
export function isPodAvailable(p: Pod, minReadySeconds: number, nowMs: number): boolean {
  const c = podReadyCondition(p);
  if (c?.status !== 'True') return false;
  if (!minReadySeconds) return true;
  const t = timeMs(c.lastTransitionTime);
  return !Number.isNaN(t) && t + minReadySeconds * 1000 < nowMs;
}

/**
 * Seconds until the earliest ready-but-not-yet-available pod becomes available, or undefined.
 * Controllers requeue at that instant (plus a millisecond, since availability needs "strictly
 * after"); upstream requeues after minReadySeconds, which real clocks always land past.
 */
export function secondsUntilAvailable(pods: readonly Pod[], minReadySeconds: number, nowMs: number): number | undefined {
  if (!minReadySeconds) return undefined;
  let best: number | undefined;
  for (const p of pods) {
    const c = podReadyCondition(p);
    if (c?.status !== 'True') continue;
    const t = timeMs(c.lastTransitionTime);
    if (Number.isNaN(t)) continue;
    const at = t + minReadySeconds * 1000;
    if (at < nowMs) continue;
    const wait = (at - nowMs + 1) / 1000;
    if (best === undefined || wait < best) best = wait;
  }
  return best;
}

/** The highest restartCount among regular containers, and among restartable init (sidecar) containers. */
export function maxContainerRestarts(p: Pod): { regular: number; sidecar: number } {
  let regular = 0;
  let sidecar = 0;
  for (const s of p.status?.containerStatuses ?? []) regular = Math.max(regular, s.restartCount ?? 0);
  const initSpecs = p.spec?.initContainers ?? [];
  for (const s of p.status?.initContainerStatuses ?? []) {
    const spec = initSpecs.find((c) => c.name === s.name);
    if (spec?.restartPolicy === 'Always') sidecar = Math.max(sidecar, s.restartCount ?? 0);
  }
  return { regular, sidecar };
}
