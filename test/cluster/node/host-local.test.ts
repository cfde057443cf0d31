import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { HostLocalIpam } from '../../../src/cluster/ipam/host-local.js';
import { containsIp } from '../../../src/net/cidr.js';

const n = (cidrs: string[]): Node => ({ metadata: { name: 'n1' }, spec: { podCIDR: cidrs[0], podCIDRs: cidrs } });
const p = (uid: string): Pod => ({ metadata: { name: uid, namespace: 'default', uid } });

function ips(ipam: HostLocalIpam, node: Node, uid: string): string[] {
  const r = ipam.allocate(node, p(uid));
  if (!r.ok) throw new Error(r.reason);
  return r.ips;
}

describe('host-local IPAM (reference §4.2)', () => {
  it('C4: the first pod on 10.244.1.0/24 gets .2 (gateway .1 skipped)', () => {
    expect(ips(new HostLocalIpam(), n(['10.244.1.0/24']), 'p1')).toEqual(['10.244.1.2']);
  });

  it('C5: p1 .2, p2 .3, p1 deleted, p3 gets .4 (round-robin, no immediate reuse)', () => {
    const ipam = new HostLocalIpam();
    const node = n(['10.244.1.0/24']);
    expect(ips(ipam, node, 'p1')).toEqual(['10.244.1.2']);
    expect(ips(ipam, node, 'p2')).toEqual(['10.244.1.3']);
    ipam.release(node, p('p1'));
    expect(ips(ipam, node, 'p3')).toEqual(['10.244.1.4']);
  });

  it('a /24 holds 253 pods (.2-.254), then wraps to the freed addresses', () => {
    const ipam = new HostLocalIpam();
    const node = n(['10.244.1.0/24']);
    const all = Array.from({ length: 253 }, (_, i) => ips(ipam, node, `p${i}`)[0]);
    expect(all[0]).toBe('10.244.1.2');
    expect(all[252]).toBe('10.244.1.254');
    const full = ipam.allocate(node, p('extra'));
    expect(full).toEqual({ ok: false, reason: 'failed to allocate for range 0: no IP addresses available in range set: 10.244.1.1-10.244.1.254' });
    ipam.release(node, p('p10'));
    ipam.release(node, p('p5'));
    expect(ips(ipam, node, 'q')).toEqual(['10.244.1.7']);
  });

  it('allocation is idempotent per pod and dual-stack gives one address per range', () => {
    const ipam = new HostLocalIpam();
    const node = n(['10.244.1.0/24', 'fd00:10:244:1::/64']);
    expect(ips(ipam, node, 'a')).toEqual(['10.244.1.2', 'fd00:10:244:1::2']);
    expect(ips(ipam, node, 'a')).toEqual(['10.244.1.2', 'fd00:10:244:1::2']);
  });

  it('fails without a podCIDR', () => {
    const r = new HostLocalIpam().allocate({ metadata: { name: 'x' }, spec: {} }, p('a'));
    expect(r.ok).toBe(false);
  });

  it('reserve() records addresses of pods found running', () => {
    const ipam = new HostLocalIpam();
    const node = n(['10.244.1.0/24']);
    ipam.reserve(node, p('old'), ['10.244.1.2']);
    expect(ips(ipam, node, 'new')).toEqual(['10.244.1.3']);
  });

  it('never hands out an address twice, nor the network, gateway or broadcast', () => {
    fc.assert(
      fc.property(fc.integer({ min: 24, max: 30 }), fc.array(fc.boolean(), { maxLength: 150 }), (prefix, ops) => {
        const cidr = `10.244.1.0/${prefix}`;
        const ipam = new HostLocalIpam();
        const node = n([cidr]);
        const held = new Map<string, string>();
        let next = 0;
        const capacity = 2 ** (32 - prefix) - 3;
        for (const take of ops) {
          if (take) {
            const r = ipam.allocate(node, p(`u${next++}`));
            if (!r.ok) {
              expect(held.size).toBe(capacity);
              continue;
            }
            const ip = r.ips[0]!;
            expect([...held.values()].includes(ip)).toBe(false);
            expect(containsIp(cidr, ip)).toBe(true);
            const last = Number(ip.split('.')[3]);
            expect(last).toBeGreaterThanOrEqual(2);
            expect(last).toBeLessThan(2 ** (32 - prefix) - 1);
            held.set(`u${next - 1}`, ip);
          } else if (held.size) {
            const [uid] = held.keys();
            ipam.release(node, p(uid!));
            held.delete(uid!);
          }
        }
        expect(ipam.usedOn('n1').length).toBe(held.size);
      }),
    );
  });
});
