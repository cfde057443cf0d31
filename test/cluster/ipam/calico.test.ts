import fc from 'fast-check';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { describe, expect, it } from 'vitest';
import { CalicoIpam } from '../../../src/cluster/ipam/calico.js';
import { containsIp } from '../../../src/net/cidr.js';

const n = (name: string): Node => ({ metadata: { name } });
const p = (uid: string): Pod => ({ metadata: { name: uid, namespace: 'default', uid } });

function ip(ipam: CalicoIpam, node: string, uid: string): string {
  const r = ipam.allocate(n(node), p(uid));
  if (!r.ok) throw new Error(r.reason);
  return r.ips[0]!;
}

describe('Calico IPAM (reference §4.6)', () => {
  it('IPIP: the tunnel address takes ordinal 0 of the node\'s first /26, the first pod ordinal 1', () => {
    const ipam = new CalicoIpam({ pools: ['10.244.0.0/16'], tunnel: 'ipip' });
    expect(ip(ipam, 'n1', 'a')).toBe('10.244.0.1');
    expect(ipam.tunnelAddress('n1')).toBe('10.244.0.0');
    expect(ipam.affineBlocks('n1')).toEqual(['10.244.0.0/26']);
    expect(ip(ipam, 'n1', 'b')).toBe('10.244.0.2');
  });

  it('without encapsulation there is no tunnel address: the first pod takes ordinal 0 (.0 is usable on Linux)', () => {
    const ipam = new CalicoIpam({ pools: ['10.244.0.0/16'] });
    expect(ip(ipam, 'n1', 'a')).toBe('10.244.0.0');
    expect(ipam.ensureTunnelAddress('n1')).toBeUndefined();
  });

  it('blocks are affine to nodes and claimed on demand, in order: n2 gets the next /26', () => {
    const ipam = new CalicoIpam({ pools: ['10.244.0.0/16'], tunnel: 'vxlan' });
    ip(ipam, 'n1', 'a');
    expect(ip(ipam, 'n2', 'b')).toBe('10.244.0.65');
    expect(ipam.tunnelAddress('n2')).toBe('10.244.0.64');
    expect(ipam.blockAffinities()).toEqual(
      new Map([
        ['10.244.0.0/26', 'n1'],
        ['10.244.0.64/26', 'n2'],
      ]),
    );
  });

  it('C9: the 65th pod on a node (no tunnel) gets a second block; with a tunnel address the 64th already does', () => {
    const plain = new CalicoIpam({ pools: ['10.244.0.0/16'] });
    const got = Array.from({ length: 65 }, (_, i) => ip(plain, 'n1', `p${i}`));
    expect(got[63]).toBe('10.244.0.63');
    expect(got[64]).toBe('10.244.0.64');
    expect(plain.affineBlocks('n1')).toEqual(['10.244.0.0/26', '10.244.0.64/26']);

    const ipip = new CalicoIpam({ pools: ['10.244.0.0/16'], tunnel: 'ipip' });
    const withTunnel = Array.from({ length: 64 }, (_, i) => ip(ipip, 'n1', `p${i}`));
    expect(withTunnel[62]).toBe('10.244.0.63');
    expect(withTunnel[63]).toBe('10.244.0.64');
  });

  it('a released ordinal goes to the back of the queue: it is reused only after the rest of the block', () => {
    const ipam = new CalicoIpam({ pools: ['10.244.0.0/16'] });
    expect(['a', 'b', 'c'].map((u) => ip(ipam, 'n1', u))).toEqual(['10.244.0.0', '10.244.0.1', '10.244.0.2']);
    ipam.release(n('n1'), p('a'));
    expect(ip(ipam, 'n1', 'd')).toBe('10.244.0.3');
    expect(ipam.blockUsage('10.244.0.0/26')!.free.at(-1)).toBe(0);
    // The block stays affine to the node while it is empty.
    ipam.release(n('n1'), p('b'));
    expect(ipam.affineBlocks('n1')).toEqual(['10.244.0.0/26']);
  });

  it('allocating again for the same pod returns what it holds', () => {
    const ipam = new CalicoIpam({ pools: ['10.244.0.0/16'] });
    expect(ip(ipam, 'n1', 'a')).toBe(ip(ipam, 'n1', 'a'));
  });

  it('a node with no free block borrows from another node\'s block (strictAffinity false); with strictAffinity the CNI ADD fails', () => {
    const ipam = new CalicoIpam({ pools: ['10.244.0.0/25'] });
    ip(ipam, 'n1', 'a');
    ip(ipam, 'n2', 'b');
    expect(ip(ipam, 'n3', 'c')).toBe('10.244.0.1');
    expect(ipam.borrowed()).toEqual([{ ip: '10.244.0.1', node: 'n3' }]);
    expect(ipam.affineBlocks('n3')).toEqual([]);
    ipam.release(n('n3'), p('c'));
    expect(ipam.borrowed()).toEqual([]);

    const strict = new CalicoIpam({ pools: ['10.244.0.0/25'], strictAffinity: true });
    ip(strict, 'n1', 'a');
    ip(strict, 'n2', 'b');
    expect(strict.allocate(n('n3'), p('c'))).toEqual({ ok: false, reason: 'failed to request 1 IPv4 addresses. IPAM allocated only 0' });
  });

  it('forgetting a node releases its addresses and block affinities; the block is claimed again by the next node', () => {
    const ipam = new CalicoIpam({ pools: ['10.244.0.0/16'], tunnel: 'ipip' });
    ip(ipam, 'n1', 'a');
    ip(ipam, 'n2', 'b');
    ipam.forgetNode('n1');
    expect(ipam.tunnelAddress('n1')).toBeUndefined();
    expect(ipam.affineBlocks('n1')).toEqual([]);
    expect(ip(ipam, 'n3', 'c')).toBe('10.244.0.1');
    expect(ipam.affineBlocks('n3')).toEqual(['10.244.0.0/26']);
  });

  it('reserve records the addresses of running pods, claiming their block for the node', () => {
    const ipam = new CalicoIpam({ pools: ['10.244.0.0/16'] });
    ipam.reserve(n('n1'), p('a'), ['10.244.1.5']);
    expect(ipam.affineBlocks('n1')).toEqual(['10.244.1.0/26']);
    expect(ipam.blockUsage('10.244.1.0/26')!.used).toEqual([5]);
    expect(ip(ipam, 'n1', 'b')).toBe('10.244.1.0');
    ipam.release(n('n1'), p('a'));
    expect(ipam.blockUsage('10.244.1.0/26')!.used).toEqual([0]);
  });

  it('dual-stack pools: one address per family, IPv4 first, IPv6 from /122 blocks', () => {
    const ipam = new CalicoIpam({ pools: ['10.244.0.0/16', 'fd00:10:244::/56'] });
    const r = ipam.allocate(n('n1'), p('a'));
    expect(r).toEqual({ ok: true, ips: ['10.244.0.0', 'fd00:10:244::'] });
    expect(ipam.affineBlocks('n1')).toEqual(['10.244.0.0/26', 'fd00:10:244::/122']);
  });

  it('property: addresses are unique, inside the pool, and inside a block affine to their node unless borrowed', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.boolean()), { minLength: 1, maxLength: 300 }),
        fc.boolean(),
        (ops, tunnel) => {
          const ipam = new CalicoIpam({ pools: ['10.244.0.0/23'], ...(tunnel ? { tunnel: 'ipip' as const } : {}) });
          const live = new Map<string, { node: string; ip: string }>();
          let k = 0;
          for (const [nodeIx, del] of ops) {
            const node = `n${nodeIx}`;
            if (del && live.size) {
              const [uid, v] = [...live][k % live.size]!;
              ipam.release(n(v.node), p(uid));
              live.delete(uid);
            } else {
              const uid = `u${k}`;
              const r = ipam.allocate(n(node), p(uid));
              if (r.ok) live.set(uid, { node, ip: r.ips[0]! });
            }
            k++;
          }
          const ips = [...live.values()].map((v) => v.ip);
          const tunnels = [0, 1, 2, 3, 4, 5].map((i) => ipam.tunnelAddress(`n${i}`)).filter((x): x is string => !!x);
          expect(new Set([...ips, ...tunnels]).size).toBe(ips.length + tunnels.length);
          const borrowed = new Map(ipam.borrowed().map((b) => [b.ip, b.node]));
          for (const v of live.values()) {
            expect(containsIp('10.244.0.0/23', v.ip)).toBe(true);
            const own = ipam.affineBlocks(v.node).some((b) => containsIp(b, v.ip));
            expect(own || borrowed.get(v.ip) === v.node, `${v.ip} on ${v.node}`).toBe(true);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
