// Resource arithmetic the scheduler and kubelet share: exact quantity parsing (Quantity.Value and
// MilliValue round up, as apimachinery does), pod requests (pkg/api/v1/resource PodRequests with
// init containers and sidecars), the scheduler's non-zero defaults, and the QoS class.
import type { Container, Pod } from 'kubernetes-types/core/v1.js';

const QUANTITY = /^([+-]?)(\d*)(?:\.(\d*))?([a-zA-Z]*|[eE][+-]?\d+)$/;
const BINARY: Record<string, bigint> = { Ki: 10n, Mi: 20n, Gi: 30n, Ti: 40n, Pi: 50n, Ei: 60n };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/**
 * ceil(quantity × 10^scale) as a number: scale 0 is Quantity.Value(), 3 is MilliValue().
 * Undefined when the text is not a quantity.
 */
export function scaledQuantity(q: string | number | undefined, scale: number): number | undefined {
  if (q === undefined) return undefined;
  if (typeof q === 'number') return Number.isFinite(q) ? Math.ceil(q * 10 ** scale - 1e-9) : undefined;
  const m = QUANTITY.exec(q);
  if (!m) return undefined;
  const [, sign, int = '', frac = '', suffix = ''] = m;
  if (int === '' && frac === '') return undefined;
  let n = BigInt((int || '0') + frac);
  if (sign === '-') n = -n;
  let exp10 = scale - frac.length;
  let exp2 = 0n;
  if (suffix in BINARY) exp2 = BINARY[suffix]!;
  else if (suffix in DECIMAL) exp10 += DECIMAL[suffix]!;
  else if (/^[eE][+-]?\d+$/.test(suffix)) exp10 += Number(suffix.slice(1));
  else return undefined;
  n <<= exp2;
  if (exp10 >= 0) return Number(n * 10n ** BigInt(exp10));
  const d = 10n ** BigInt(-exp10);
  const quotient = n / d;
  return Number(n % d > 0n ? quotient + 1n : quotient);
}

// Quantities repeat across pods of one template; parsing is BigInt work, so remember results.
const milliMemo = new Map<string, number>();
const valueMemo = new Map<string, number>();
const MEMO_LIMIT = 10_000;

function memoized(memo: Map<string, number>, q: string | number | undefined, scale: number): number {
  if (typeof q !== 'string') return scaledQuantity(q, scale) ?? 0;
  let v = memo.get(q);
  if (v === undefined) {
    v = scaledQuantity(q, scale) ?? 0;
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(q, v);
  }
  return v;
}

/** Quantity.MilliValue (cpu in millicores); 0 when absent or unparsable. */
export function milliValue(q: string | number | undefined): number {
  return memoized(milliMemo, q, 3);
}

/** Quantity.Value (bytes, counts); 0 when absent or unparsable. */
export function value(q: string | number | undefined): number {
  return memoized(valueMemo, q, 0);
}

/** The scheduler's stand-ins for a missing request (schedutil.DefaultMilliCPURequest / DefaultMemoryRequest). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

export interface PodRequests {
  milliCPU: number;
  memory: number;
  /** With missing container requests replaced by the defaults above (for scoring). */
  nonZeroMilliCPU: number;
  nonZeroMemory: number;
}

interface Pair {
  cpu: number;
  mem: number;
}

function containerPair(c: Container, nonZero: boolean): Pair {
  const r = c.resources?.requests;
  const cpu = r?.['cpu'];
  const mem = r?.['memory'];
  return {
    cpu: cpu === undefined && nonZero ? DEFAULT_MILLI_CPU_REQUEST : milliValue(cpu),
    mem: mem === undefined && nonZero ? DEFAULT_MEMORY_REQUEST : value(mem),
  };
}

function podPair(pod: Pod, nonZero: boolean): Pair {
  const reqs: Pair = { cpu: 0, mem: 0 };
  for (const c of pod.spec?.containers ?? []) {
    const p = containerPair(c, nonZero);
    reqs.cpu += p.cpu;
    reqs.mem += p.mem;
  }
  const sidecars: Pair = { cpu: 0, mem: 0 };
  const init: Pair = { cpu: 0, mem: 0 };
  for (const c of pod.spec?.initContainers ?? []) {
    let p = containerPair(c, nonZero);
    if (c.restartPolicy === 'Always') {
      reqs.cpu += p.cpu;
      reqs.mem += p.mem;
      sidecars.cpu += p.cpu;
      sidecars.mem += p.mem;
      p = { ...sidecars };
    } else {
      p = { cpu: p.cpu + sidecars.cpu, mem: p.mem + sidecars.mem };
    }
    init.cpu = Math.max(init.cpu, p.cpu);
    init.mem = Math.max(init.mem, p.mem);
  }
  const overhead = pod.spec?.overhead;
  return {
    cpu: Math.max(reqs.cpu, init.cpu) + milliValue(overhead?.['cpu']),
    mem: Math.max(reqs.mem, init.mem) + value(overhead?.['memory']),
  };
}

// Pods of one template share their containers array: the common case (no init containers, no
// overhead) is computed once per array. The result is shared: callers must not change it.
const requestsByContainers = new WeakMap<object, Readonly<PodRequests>>();

export function podRequests(pod: Pod): Readonly<PodRequests> {
  const spec = pod.spec;
  const containers = spec?.containers;
  const plain = containers !== undefined && spec!.initContainers === undefined && spec!.overhead === undefined;
  if (plain) {
    const hit = requestsByContainers.get(containers);
    if (hit) return hit;
  }
  const actual = podPair(pod, false);
  const nonZero = podPair(pod, true);
  const out = { milliCPU: actual.cpu, memory: actual.mem, nonZeroMilliCPU: nonZero.cpu, nonZeroMemory: nonZero.mem };
  if (plain) requestsByContainers.set(containers, out);
  return out;
}

/** v1qos.GetPodQOS */
export function podQosClass(pod: Pod): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const requests = new Map<string, number>();
  const limits = new Map<string, number>();
  let guaranteed = true;
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  for (const c of all) {
    for (const res of ['cpu', 'memory']) {
      const rq = c.resources?.requests?.[res];
      const lq = c.resources?.limits?.[res];
      const r = res === 'cpu' ? milliValue(rq) : value(rq);
      const l = res === 'cpu' ? milliValue(lq) : value(lq);
      if (rq !== undefined && r !== 0) requests.set(res, (requests.get(res) ?? 0) + r);
      if (lq !== undefined && l !== 0) limits.set(res, (limits.get(res) ?? 0) + l);
    }
    if (c.resources?.limits?.['cpu'] === undefined || c.resources?.limits?.['memory'] === undefined) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  if (guaranteed) for (const [k, v] of requests) if (limits.get(k) !== v) guaranteed = false;
  return guaranteed && requests.size === limits.size ? 'Guaranteed' : 'Burstable';
}
