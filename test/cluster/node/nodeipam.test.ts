import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { NodeIpamController } from '../../../src/cluster/controllers/nodeipam.js';
import { CidrSet } from '../../../src/cluster/ipam/cidr-set.js';
import { cidrCovers, formatCidr, mustParseCidr } from '../../../src/net/cidr.js';
import { getNode, newCluster, node } from './fixtures.js';

function podCIDRs(c: ReturnType<typeof newCluster>['cluster'], name: string): readonly string[] | undefined {
  return getNode(c, name).spec?.podCIDRs;
}

describe('node IPAM (RangeAllocator, reference §4.1)', () => {
  it('C1: n1, n2, n3 get 10.244.0.0/24, 10.244.1.0/24, 10.244.2.0/24 in creation order', () => {
    const { cluster } = newCluster([new NodeIpamController()]);
    for (const n of ['n1', 'n2', 'n3']) cluster.store.create(node(n));
    cluster.settle();
    expect(getNode(cluster, 'n1').spec!.podCIDR).toBe('10.244.0.0/24');
    expect(podCIDRs(cluster, 'n2')).toEqual(['10.244.1.0/24']);
    expect(podCIDRs(cluster, 'n3')).toEqual(['10.244.2.0/24']);
  });

  it('C2: after n2 is deleted, n4 gets 10.244.3.0/24, not the freed 1.0', () => {
    const { cluster } = newCluster([new NodeIpamController()]);
    for (const n of ['n1', 'n2', 'n3']) cluster.store.create(node(n));
    cluster.settle();
    cluster.store.delete('Node', undefined, 'n2');
    cluster.store.create(node('n4'));
    cluster.settle();
    expect(podCIDRs(cluster, 'n4')).toEqual(['10.244.3.0/24']);
  });

  it('C3: a /16 with mask 24 serves 256 nodes; the 257th gets none and a CIDRNotAvailable event', () => {
    const { cluster } = newCluster([new NodeIpamController()]);
    for (let i = 0; i < 257; i++) cluster.store.create(node(`n${i}`));
    cluster.settle();
    expect(podCIDRs(cluster, 'n255')).toEqual(['10.244.255.0/24']);
    expect(podCIDRs(cluster, 'n256')).toBeUndefined();
    expect(cluster.events.filter((e) => e.reason === 'CIDRNotAvailable').map((e) => [e.object, e.message])).toEqual([
      ['Node/n256', 'Node n256 status is now: CIDRNotAvailable'],
    ]);
    // A freed block is taken by the waiting node once the scan wraps to it.
    cluster.store.delete('Node', undefined, 'n7');
    cluster.settle();
    expect(podCIDRs(cluster, 'n256')).toEqual(['10.244.7.0/24']);
  });

  it('occupies podCIDRs nodes already carry, at start and when they are created', () => {
    const first = newCluster([]);
    first.cluster.store.create(node('old', { podCIDR: '10.244.0.0/24' }));
    first.cluster.register(new NodeIpamController());
    first.cluster.store.create(node('pre', { podCIDR: '10.244.1.0/24' }));
    first.cluster.store.create(node('new'));
    first.cluster.settle();
    expect(podCIDRs(first.cluster, 'new')).toEqual(['10.244.2.0/24']);
  });

  it('dual-stack: one block per cluster CIDR, IPv6 /64 from a /56', () => {
    const { cluster } = newCluster([new NodeIpamController()], {
      clusterCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'],
      serviceCIDRs: ['10.96.0.0/12', 'fd00:10:96::/108'],
    });
    cluster.store.create(node('a'));
    cluster.store.create(node('b'));
    cluster.settle();
    expect(podCIDRs(cluster, 'a')).toEqual(['10.244.0.0/24', 'fd00:10:244::/64']);
    expect(podCIDRs(cluster, 'b')).toEqual(['10.244.1.0/24', 'fd00:10:244:1::/64']);
    expect(getNode(cluster, 'b').spec!.podCIDR).toBe('10.244.1.0/24');
  });

  it('never hands out blocks that overlap the Service range', () => {
    const { cluster } = newCluster([new NodeIpamController()], { clusterCIDRs: ['10.0.0.0/22'], serviceCIDRs: ['10.0.1.0/24'] });
    for (const n of ['a', 'b', 'c', 'd']) cluster.store.create(node(n));
    cluster.settle();
    expect(['a', 'b', 'c', 'd'].map((n) => podCIDRs(cluster, n)?.[0])).toEqual(['10.0.0.0/24', '10.0.2.0/24', '10.0.3.0/24', undefined]);
  });

  it('does nothing without --allocate-node-cidrs', () => {
    const { cluster } = newCluster([new NodeIpamController()], { allocateNodeCIDRs: false });
    cluster.store.create(node('a'));
    cluster.settle();
    expect(podCIDRs(cluster, 'a')).toBeUndefined();
  });
});

describe('CidrSet', () => {
  it('scans round-robin from nextCandidate and wraps', () => {
    const set = new CidrSet(mustParseCidr('10.0.0.0/30'), 32);
    const got = [set.allocateNext(), set.allocateNext(), set.allocateNext()].map((c) => formatCidr(c!));
    expect(got).toEqual(['10.0.0.0/32', '10.0.0.1/32', '10.0.0.2/32']);
    set.release(mustParseCidr('10.0.0.1/32'));
    expect(formatCidr(set.allocateNext()!)).toBe('10.0.0.3/32');
    expect(formatCidr(set.allocateNext()!)).toBe('10.0.0.1/32');
    expect(set.allocateNext()).toBeUndefined();
  });

  it('refuses IPv6 sets of more than 2^16 blocks', () => {
    expect(() => new CidrSet(mustParseCidr('fd00::/40'), 64)).toThrow('too big');
  });

  it('never hands out a block twice or outside the cluster CIDR', () => {
    fc.assert(
      fc.property(fc.integer({ min: 16, max: 24 }), fc.integer({ min: 0, max: 6 }), fc.array(fc.boolean(), { maxLength: 200 }), (prefix, extra, ops) => {
        const cluster = mustParseCidr(`10.${prefix}.0.0/${prefix}`);
        const set = new CidrSet(cluster, prefix + extra);
        const held: string[] = [];
        for (const take of ops) {
          if (take) {
            const c = set.allocateNext();
            if (!c) {
              expect(held.length).toBe(set.maxCidrs);
              continue;
            }
            expect(cidrCovers(cluster, c)).toBe(true);
            expect(held.includes(formatCidr(c))).toBe(false);
            held.push(formatCidr(c));
          } else if (held.length) {
            set.release(mustParseCidr(held.shift()!));
          }
        }
        expect(set.allocated).toBe(held.length);
      }),
    );
  });
});
