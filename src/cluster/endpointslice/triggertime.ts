// TriggerTimeTracker: the value of endpoints.kubernetes.io/last-change-trigger-time. It is the
// earliest trigger (a Pod's Ready transition, the Service's creation) that changed since the
// previous sync of the Service; a Service seen for the first time uses its creation time.
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import { parseRFC3339 } from '../rfc3339.js';
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

/** Milliseconds since the epoch, or 0 (Go's zero time) when absent. */
function parseTime(s: string | undefined): number {
  if (!s) return 0;
  const ms = parseRFC3339(s);
  return Number.isNaN(ms) ? 0 : ms;
}

export class TriggerTimeTracker {
  private readonly states = new Map<string, ServiceState>();

  /** The trigger time to publish, or undefined for none (the annotation is then removed). */
  compute(serviceKey: string, service: Service, pods: readonly Pod[]): number | undefined {
    const known = this.states.get(serviceKey);
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
    if (known) {
      known.lastServiceTriggerTime = svcTime;
      known.names = names;
      known.times = times;
      known.byName = undefined;
    } else {
      this.states.set(serviceKey, { lastServiceTriggerTime: svcTime, names, times, byName: undefined });
    }
    const result = known ? minChanged : svcTime;
    return result === 0 ? undefined : result;
  }

  /** Forget a Service (by its `ns/name` key). */
  deleteService(serviceKey: string): void {
    this.states.delete(serviceKey);
  }
}

function minTime(current: number, t: number): number {
  return current === 0 || t < current ? t : current;
}
