// TriggerTimeTracker: the value of endpoints.kubernetes.io/last-change-trigger-time. It is the
// earliest trigger (a Pod's Ready transition, the Service's creation) that changed since the
// previous sync of the Service; a Service seen for the first time uses its creation time.
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import { podReadyCondition } from './podutil.js';

interface ServiceState {
  lastServiceTriggerTime: number;
  lastPodTriggerTimes: Map<string, number>;
}

// Many Pods share a timestamp (they have second precision): parse each text once.
const parsed = new Map<string, number>();

/** Milliseconds since the epoch, or 0 (Go's zero time) when absent. */
export function parseTime(s: string | undefined): number {
  if (!s) return 0;
  let ms = parsed.get(s);
  if (ms === undefined) {
    ms = Date.parse(s);
    if (Number.isNaN(ms)) ms = 0;
    if (parsed.size >= 1 << 16) parsed.clear();
    parsed.set(s, ms);
  }
  return ms;
}

/** Go's time.RFC3339Nano in UTC: fractional seconds without trailing zeros. */
let lastMs = NaN;
let lastText = '';

export function formatRFC3339Nano(ms: number): string {
  // Many Services share a trigger time: remember the last one formatted.
  if (ms === lastMs) return lastText;
  lastText = formatNano(ms);
  lastMs = ms;
  return lastText;
}

function formatNano(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-01-01T00:00:05.120Z
  const [head, frac] = iso.slice(0, -1).split('.');
  const trimmed = (frac ?? '').replace(/0+$/, '');
  return trimmed ? `${head}.${trimmed}Z` : `${head}Z`;
}

export class TriggerTimeTracker {
  private readonly states = new Map<string, ServiceState>();

  /** The trigger time to publish, or undefined for none (the annotation is then removed). */
  compute(namespace: string, service: Service, pods: readonly Pod[]): number | undefined {
    const key = `${namespace}/${service.metadata?.name ?? ''}`;
    const known = this.states.get(key);
    let minChanged = 0;
    const podTimes = new Map<string, number>();
    for (const pod of pods) {
      const t = parseTime(podReadyCondition(pod)?.lastTransitionTime);
      if (t === 0) continue;
      const name = pod.metadata?.name ?? '';
      podTimes.set(name, t);
      if (t > (known?.lastPodTriggerTimes.get(name) ?? 0)) minChanged = minTime(minChanged, t);
    }
    const svcTime = parseTime(service.metadata?.creationTimestamp);
    if (svcTime > (known?.lastServiceTriggerTime ?? 0)) minChanged = minTime(minChanged, svcTime);
    this.states.set(key, { lastServiceTriggerTime: svcTime, lastPodTriggerTimes: podTimes });
    const result = known ? minChanged : svcTime;
    return result === 0 ? undefined : result;
  }

  deleteService(namespace: string, name: string): void {
    this.states.delete(`${namespace}/${name}`);
  }
}

function minTime(current: number, t: number): number {
  return current === 0 || t < current ? t : current;
}
