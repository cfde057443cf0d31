// TriggerTimeTracker: the value of endpoints.kubernetes.io/last-change-trigger-time. It is the
// earliest trigger (a Pod's Ready transition, the Service's creation) that changed since the
// previous sync of the Service; a Service seen for the first time uses its creation time.
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import { podReadyCondition } from './podutil.js';

interface ServiceState {
  lastServiceTriggerTime: number;
  /** The pods (with a Ready time) of the last sync and their times, in the order seen. */
  names: string[];
  times: number[];
  /** names → times, made only when a pod is not where it was last time. */
  byName: Map<string, number> | undefined;
}

/** The time a pod had at the last sync (0 for none): by position first, as pods keep their order. */
function lastPodTime(known: ServiceState, at: number, name: string): number {
  if (known.names[at] === name) return known.times[at]!;
  if (!known.byName) {
    known.byName = new Map();
    for (let i = 0; i < known.names.length; i++) known.byName.set(known.names[i]!, known.times[i]!);
  }
  return known.byName.get(name) ?? 0;
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
  // Many Services share a trigger time: remember the last one formatted, and the recent others.
  if (ms === lastMs) return lastText;
  let text = formatted.get(ms);
  if (text === undefined) {
    text = formatNano(ms);
    if (formatted.size >= 1 << 12) formatted.clear();
    formatted.set(ms, text);
  }
  lastText = text;
  lastMs = ms;
  return text;
}

const formatted = new Map<number, string>();

function formatNano(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-01-01T00:00:05.120Z
  const dot = iso.lastIndexOf('.');
  if (dot < 0) return iso;
  // The fraction without trailing zeros (none left: no fraction at all).
  let end = iso.length - 1;
  while (end > dot + 1 && iso.charCodeAt(end - 1) === 48) end--;
  return end === dot + 1 ? `${iso.slice(0, dot)}Z` : `${iso.slice(0, end)}Z`;
}

export class TriggerTimeTracker {
  private readonly states = new Map<string, ServiceState>();

  /** The trigger time to publish, or undefined for none (the annotation is then removed). */
  compute(namespace: string, service: Service, pods: readonly Pod[]): number | undefined {
    const key = `${namespace}/${service.metadata?.name ?? ''}`;
    const known = this.states.get(key);
    let minChanged = 0;
    // Parallel lists rather than a map per sync (pod names are unique within a namespace).
    const names: string[] = [];
    const times: number[] = [];
    for (const pod of pods) {
      const t = parseTime(podReadyCondition(pod)?.lastTransitionTime);
      if (t === 0) continue;
      const name = pod.metadata?.name ?? '';
      if (t > (known ? lastPodTime(known, names.length, name) : 0)) minChanged = minTime(minChanged, t);
      names.push(name);
      times.push(t);
    }
    const svcTime = parseTime(service.metadata?.creationTimestamp);
    if (svcTime > (known?.lastServiceTriggerTime ?? 0)) minChanged = minTime(minChanged, svcTime);
    this.states.set(key, { lastServiceTriggerTime: svcTime, names, times, byName: undefined });
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
