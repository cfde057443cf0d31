// Which Services select a pod, without walking every Service: each Service is filed under the
// first pair of its selector, which a matching pod must carry.
import type { Service } from 'kubernetes-types/core/v1.js';
import { matchesMap } from '../../labels.js';
import { labelBuckets } from '../../podindex.js';

interface Entry {
  namespace: string;
  selector: Readonly<Record<string, string>>;
  bucket: string;
}

export class ServiceSelectorIndex {
  private readonly entries = new Map<string, Entry>();
  private readonly buckets = new Map<string, Set<string>>();
  /** Bumped whenever a selector appears, changes or goes. */
  generation = 0;

  upsert(key: string, svc: Service): void {
    const sel = svc.spec?.selector;
    const old = this.entries.get(key);
    if (!sel) {
      if (old) this.remove(key);
      return;
    }
    if (old && sameMap(old.selector, sel)) return;
    if (old) this.remove(key);
    const namespace = svc.metadata?.namespace ?? 'default';
    const keys = Object.keys(sel).sort();
    const bucket = keys.length ? `${namespace}/${keys[0]}=${sel[keys[0]!]}` : `${namespace}/`;
    this.entries.set(key, { namespace, selector: sel, bucket });
    let b = this.buckets.get(bucket);
    if (!b) this.buckets.set(bucket, (b = new Set()));
    b.add(key);
    this.generation++;
  }

  remove(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    const b = this.buckets.get(e.bucket);
    b?.delete(key);
    if (b && b.size === 0) this.buckets.delete(e.bucket);
    this.generation++;
  }

  /** Selectors of the Services in `namespace` that select a pod with these labels. */
  selecting(namespace: string, labels: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>>[] {
    const out: Readonly<Record<string, string>>[] = [];
    for (const bucket of labelBuckets(namespace, labels)) {
      const b = this.buckets.get(bucket);
      if (!b) continue;
      for (const k of b) {
        const e = this.entries.get(k)!;
        if (matchesMap(e.selector, labels)) out.push(e.selector);
      }
    }
    return out;
  }
}

function sameMap(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}
