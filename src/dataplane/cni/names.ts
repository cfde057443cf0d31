// Names and hardware addresses CNI plugins derive for interfaces and chains. Where upstream uses
// randomness (the bridge plugin's veth names, a VTEP's MAC, a sandbox's container ID), kubepath
// derives the value from what identifies the object instead, so renders are byte-identical.
import { createHash } from 'node:crypto';
import type { CniPod } from './types.js';

export function sha1Hex(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/**
 * Calico's host-side veth (libcalico-go VethNameForWorkload): the prefix, then the first 11 hex
 * characters of sha1("<namespace>.<pod>").
 */
export function calicoVethName(namespace: string, pod: string, prefix = 'cali'): string {
  return prefix + sha1Hex(`${namespace}.${pod}`).slice(0, 11);
}

/** The bridge plugin's `veth` + 8 hex characters; upstream draws them at random, kubepath hashes the pod's namespace/name. */
export function bridgeVethName(pod: Pick<CniPod, 'namespace' | 'name'>): string {
  return 'veth' + sha1Hex(`veth/${pod.namespace}/${pod.name}`).slice(0, 8);
}

// Every host render names every other node's VTEP: hash each name once.
const macCache = new Map<string, string>();
const MAC_CACHE_LIMIT = 100_000;

/** A locally administered unicast MAC derived from `salt` and a name (upstream: random, or kernel-chosen). */
export function derivedMac(salt: string, name: string): string {
  const key = `${salt}/${name}`;
  let mac = macCache.get(key);
  if (mac === undefined) {
    const h = createHash('sha1').update(key).digest();
    const bytes = [((h[0]! & 0xfe) | 0x02) & 0xff, h[1]!, h[2]!, h[3]!, h[4]!, h[5]!];
    mac = bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
    if (macCache.size >= MAC_CACHE_LIMIT) macCache.clear();
    macCache.set(key, mac);
  }
  return mac;
}

/** A sandbox (container) ID as a runtime prints it: 64 hex characters; kubepath derives it from the pod UID. */
export function sandboxId(pod: Pick<CniPod, 'uid' | 'namespace' | 'name'>): string {
  return createHash('sha256')
    .update(pod.uid || `${pod.namespace}/${pod.name}`)
    .digest('hex');
}
