import fc from 'fast-check';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { describe, expect, it } from 'vitest';
import { TerwayIpam, type TerwayIpamMode } from '../../../src/cluster/ipam/terway.js';
import { eniLimits, knownInstanceTypes, terwayMaxPods } from '../../../src/dataplane/cni/instance-types.js';
import { containsIp } from '../../../src/net/cidr.js';

const VSWITCH = '192.168.0.0/20';

function node(name: string, ip: string, instanceType = 'ecs.g7.xlarge'): Node {
  return { metadata: { name, labels: { 'node.kubernetes.io/instance-type': instanceType } }, status: { addresses: [{ type: 'InternalIP', address: ip }] } };
}

function pod(i: number | string): Pod {
  return { metadata: { namespace: 'default', name: `p${i}`, uid: `uid-${i}` } };
}

function ipam(mode: TerwayIpamMode = 'shared', vswitch = VSWITCH): TerwayIpam {
  return new TerwayIpam({ mode, nodeSubnet: () => vswitch, limits: (t) => eniLimits('alibaba', t) });
}

function ip(r: ReturnType<TerwayIpam['allocate']>): string {
  if (!r.ok) throw new Error(r.reason);
  return r.ips[0]!;
}

const N1 = node('n1', '192.168.0.2');

describe('TerwayIpam shared ENI', () => {
  it('hands out (ENIs − 1) × IPs per ENI addresses (45 on an ecs.g7.xlarge), all on secondary ENIs, then refuses', () => {
    const m = ipam();
    const got = Array.from({ length: 45 }, (_, i) => ip(m.allocate(N1, pod(i))));
    expect(new Set(got).size).toBe(45);
    expect(m.allocate(N1, pod(45)).ok).toBe(false);
    const enis = m.enis('n1');
    expect(enis.map((e) => e.name)).toEqual(['eth1', 'eth2', 'eth3']);
    expect(enis.every((e) => e.podAddresses.length === 15)).toBe(true);
    // Every address of a secondary ENI serves pods, its primary one included; the node's never does.
    for (const e of enis) expect(got).toContain(e.primaryIp);
    expect(got).not.toContain('192.168.0.2');
    expect(got.every((a) => containsIp(VSWITCH, a))).toBe(true);
  });

  it('numbers ENI tables 1000 + ifindex (lo 1, eth0 2, eth1 3)', () => {
    const m = ipam();
    for (let i = 0; i < 16; i++) ip(m.allocate(N1, pod(i)));
    expect(m.enis('n1').map((e) => [e.name, e.linkIndex, e.routeTable])).toEqual([
      ['eth1', 3, 1003],
      ['eth2', 4, 1004],
    ]);
    expect(m.enis('n1').every((e) => e.mac.startsWith('00:16:3e:'))).toBe(true);
  });

  it('never hands out the vSwitch’s reserved addresses (the first and the last three)', () => {
    const m = ipam('shared', '10.1.0.0/28');
    const n = node('n', '10.1.0.2', 'ecs.g7.xlarge');
    const got: string[] = [];
    for (let i = 0; i < 45; i++) {
      const r = m.allocate(n, pod(i));
      if (!r.ok) break;
      got.push(r.ips[0]!);
    }
    // 16 − 4 reserved − the node's own = 11.
    expect(got).toHaveLength(11);
    for (const reserved of ['10.1.0.0', '10.1.0.13', '10.1.0.14', '10.1.0.15', '10.1.0.2']) expect(got).not.toContain(reserved);
  });

  it('keeps a released address on its ENI and reuses it first', () => {
    const m = ipam();
    const a = ip(m.allocate(N1, pod('a')));
    ip(m.allocate(N1, pod('b')));
    m.release(N1, pod('a'));
    expect(m.eniOf('n1', a)).toBeDefined();
    expect(ip(m.allocate(N1, pod('c')))).toBe(a);
    expect(ip(m.allocate(N1, pod('c')))).toBe(a);
  });

  it('records a running pod’s address (reserve)', () => {
    const m = ipam();
    m.reserve(N1, pod('running'), ['192.168.7.7']);
    expect(m.eniOf('n1', '192.168.7.7')!.name).toBe('eth1');
    expect(ip(m.allocate(N1, pod('running')))).toBe('192.168.7.7');
    expect(ip(m.allocate(N1, pod('new')))).not.toBe('192.168.7.7');
  });

  it('refuses with an error value for an unknown instance type', () => {
    const r = ipam().allocate(node('x', '192.168.0.9', 'ecs.unknown'), pod(0));
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.reason).toContain('"ecs.unknown"');
  });
});

describe('TerwayIpam exclusive ENI', () => {
  it('gives each pod its own ENI, whose primary address is the pod’s, up to ENIs − 1, and deletes it on release', () => {
    const m = ipam('exclusive');
    const got = Array.from({ length: 3 }, (_, i) => ip(m.allocate(N1, pod(i))));
    expect(m.allocate(N1, pod(3)).ok).toBe(false);
    expect(m.enis('n1').map((e) => [e.primaryIp, e.podUid])).toEqual(got.map((a, i) => [a, `uid-${i}`]));
    m.release(N1, pod(1));
    expect(m.enis('n1')).toHaveLength(2);
    expect(m.eniOf('n1', got[1]!)).toBeUndefined();
    expect(m.allocate(N1, pod(4)).ok).toBe(true);
  });
});

describe('TerwayIpam properties', () => {
  it('never exceeds the Terway formula nor hands out one address twice', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...knownInstanceTypes('alibaba')),
        fc.constantFrom<TerwayIpamMode>('shared', 'exclusive'),
        fc.array(fc.oneof(fc.constant(-1), fc.nat()), { maxLength: 150 }),
        (type, mode, ops) => {
          const lim = eniLimits('alibaba', type);
          if (!lim.ok) throw new Error(lim.message);
          const cap = terwayMaxPods(lim.limits, mode);
          const m = ipam(mode);
          const n = node('n1', '192.168.0.2', type);
          const live = new Map<string, string>();
          let next = 0;
          for (const o of ops) {
            if (o === -1 || !live.size) {
              const p = pod(next++);
              const r = m.allocate(n, p);
              expect(r.ok).toBe(live.size < cap);
              if (r.ok) {
                expect([...live.values()]).not.toContain(r.ips[0]);
                live.set(p.metadata!.uid!, r.ips[0]!);
              }
            } else {
              const uid = [...live.keys()][o % live.size]!;
              m.release(n, { metadata: { uid } });
              live.delete(uid);
            }
            expect(live.size).toBeLessThanOrEqual(cap);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
