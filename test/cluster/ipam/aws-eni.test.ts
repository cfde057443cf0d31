import fc from 'fast-check';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { describe, expect, it } from 'vitest';
import { AWS_NO_IP_MESSAGE, AwsEniIpam, type AwsIpamMode } from '../../../src/cluster/ipam/aws-eni.js';
import { awsPodAddresses, eniLimits, knownInstanceTypes } from '../../../src/dataplane/cni/instance-types.js';
import { containsIp } from '../../../src/net/cidr.js';

const SUBNET = '192.168.96.0/19';

function node(name: string, ip: string, instanceType = 'm5.large'): Node {
  return { metadata: { name, labels: { 'node.kubernetes.io/instance-type': instanceType } }, status: { addresses: [{ type: 'InternalIP', address: ip }] } };
}

function pod(i: number | string): Pod {
  return { metadata: { namespace: 'default', name: `p${i}`, uid: `uid-${i}` } };
}

function ipam(mode: AwsIpamMode = 'secondary-ip', extra: { warmEniTarget?: number; subnet?: string } = {}): AwsEniIpam {
  return new AwsEniIpam({
    mode,
    nodeSubnet: () => extra.subnet ?? SUBNET,
    limits: (t) => eniLimits('aws', t),
    ...(extra.warmEniTarget !== undefined ? { warmEniTarget: extra.warmEniTarget } : {}),
  });
}

function ip(r: ReturnType<AwsEniIpam['allocate']>): string {
  if (!r.ok) throw new Error(r.reason);
  return r.ips[0]!;
}

const N1 = node('n1', '192.168.97.14');

describe('AwsEniIpam secondary-IP mode', () => {
  it('hands out ENIs × (IPs − 1) addresses on an m5.large (27), then refuses as the CNI does', () => {
    const m = ipam();
    const got = Array.from({ length: 27 }, (_, i) => ip(m.allocate(N1, pod(i))));
    expect(new Set(got).size).toBe(27);
    const r = m.allocate(N1, pod(27));
    expect(r).toEqual({ ok: false, reason: AWS_NO_IP_MESSAGE });
    expect(r.ok ? '' : r.reason).toBe('add cmd: failed to assign an IP address to container');
  });

  it('uses the primary ENI’s secondary IPs first, then attached ENIs in device order', () => {
    const m = ipam();
    const got = Array.from({ length: 19 }, (_, i) => ip(m.allocate(N1, pod(i))));
    expect(got.slice(0, 9).map((a) => m.eniOf('n1', a)!.deviceNumber)).toEqual(Array(9).fill(0));
    expect(got.slice(9, 18).map((a) => m.eniOf('n1', a)!.deviceNumber)).toEqual(Array(9).fill(1));
    expect(m.eniOf('n1', got[18]!)!.deviceNumber).toBe(2);
    const enis = m.enis('n1');
    expect(enis.map((e) => [e.name, e.routeTable])).toEqual([
      ['eth0', 254],
      ['eth1', 2],
      ['eth2', 3],
    ]);
    expect(enis[0]!.primaryIp).toBe('192.168.97.14');
  });

  it('keeps one ENI’s worth of addresses warm (WARM_ENI_TARGET=1): the first pod attaches eth1', () => {
    const m = ipam();
    ip(m.allocate(N1, pod(0)));
    expect(m.enis('n1').map((e) => e.podAddresses.length)).toEqual([9, 9]);
    const cold = ipam('secondary-ip', { warmEniTarget: 0 });
    for (let i = 0; i < 9; i++) ip(cold.allocate(N1, pod(i)));
    expect(cold.enis('n1')).toHaveLength(1);
    ip(cold.allocate(N1, pod(9)));
    expect(cold.enis('n1')).toHaveLength(2);
  });

  it('never gives a pod the node address, an ENI primary address or a VPC-reserved address, and stays in the subnet', () => {
    const m = ipam();
    const got = Array.from({ length: 27 }, (_, i) => ip(m.allocate(N1, pod(i))));
    const primaries = m.enis('n1').map((e) => e.primaryIp);
    for (const a of got) {
      expect(containsIp(SUBNET, a)).toBe(true);
      expect(primaries).not.toContain(a);
      expect(['192.168.96.0', '192.168.96.1', '192.168.96.2', '192.168.96.3', '192.168.127.255']).not.toContain(a);
    }
  });

  it('is idempotent per pod and reuses a released address', () => {
    const m = ipam();
    const a = ip(m.allocate(N1, pod('a')));
    expect(ip(m.allocate(N1, pod('a')))).toBe(a);
    ip(m.allocate(N1, pod('b')));
    m.release(N1, pod('a'));
    m.release(N1, pod('a'));
    expect(m.usedOn('n1')).toHaveLength(1);
    expect(ip(m.allocate(N1, pod('c')))).toBe(a);
  });

  it('keeps two nodes in one subnet apart', () => {
    const m = ipam();
    const n2 = node('n2', '192.168.97.15');
    const all = [...Array.from({ length: 27 }, (_, i) => ip(m.allocate(N1, pod(`a${i}`)))), ...Array.from({ length: 27 }, (_, i) => ip(m.allocate(n2, pod(`b${i}`))))];
    const primaries = [...m.enis('n1'), ...m.enis('n2')].map((e) => e.primaryIp);
    expect(new Set([...all, ...primaries]).size).toBe(all.length + primaries.length);
  });

  it('records a running pod’s address (reserve) and does not hand it out again', () => {
    const m = ipam();
    const first = ip(m.allocate(N1, pod(0)));
    m.release(N1, pod(0));
    m.reserve(N1, pod('running'), [first]);
    expect(ip(m.allocate(N1, pod('running')))).toBe(first);
    expect(ip(m.allocate(N1, pod(1)))).not.toBe(first);
  });

  it('refuses with an error value when the instance type or the subnet is unknown', () => {
    const r = ipam().allocate(node('x', '192.168.97.20', 'm9.gigantic'), pod(0));
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.reason).toContain('"m9.gigantic"');
    const noSubnet = new AwsEniIpam({ mode: 'secondary-ip', nodeSubnet: () => undefined, limits: (t) => eniLimits('aws', t) });
    expect(noSubnet.allocate(N1, pod(0)).ok).toBe(false);
  });

  it('gives the subnet its addresses back when the node is forgotten', () => {
    // A /27 has 27 usable addresses: one t3.medium node fills 18 of them (its own, 2 ENIs, 15 pods).
    const m = ipam('secondary-ip', { subnet: '10.0.0.0/27' });
    const n1 = node('n1', '10.0.0.4', 't3.medium');
    const n2 = node('n2', '10.0.0.5', 't3.medium');
    const fill = (n: Node, tag: string) => Array.from({ length: 15 }, (_, i) => m.allocate(n, pod(`${tag}${i}`))).filter((r) => r.ok).length;
    expect(fill(n1, 'a')).toBe(15);
    expect(fill(n2, 'b')).toBeLessThan(15);
    m.forgetNode('n1');
    m.forgetNode('n2');
    expect(m.enis('n1')).toEqual([]);
    expect(fill(n2, 'c')).toBe(15);
  });

  it('stops at the subnet’s end with the same CNI error', () => {
    // A /28 holds 11 usable addresses: the node's, and 10 for ENIs and pods.
    const m = ipam('secondary-ip', { subnet: '10.0.0.0/28' });
    const n = node('n', '10.0.0.4', 'm5.large');
    const got: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = m.allocate(n, pod(i));
      if (!r.ok) {
        expect(r.reason).toBe(AWS_NO_IP_MESSAGE);
        break;
      }
      got.push(r.ips[0]!);
    }
    expect(got.length).toBeLessThanOrEqual(10);
    expect(got.every((a) => containsIp('10.0.0.0/28', a) && a !== '10.0.0.4')).toBe(true);
  });
});

describe('AwsEniIpam prefix mode', () => {
  it('hands out addresses of aligned /28 prefixes, 432 on an m5.large', () => {
    const m = ipam('prefix');
    const got = Array.from({ length: 432 }, (_, i) => ip(m.allocate(N1, pod(i))));
    expect(new Set(got).size).toBe(432);
    expect(m.allocate(N1, pod(432)).ok).toBe(false);
    const enis = m.enis('n1');
    expect(enis.map((e) => e.prefixes.length)).toEqual([9, 9, 9]);
    for (const e of enis)
      for (const p of e.prefixes) {
        expect(p.endsWith('/28')).toBe(true);
        expect(Number(p.split('/')[0]!.split('.')[3]) % 16).toBe(0);
      }
    // Prefixes never cover an ENI primary address or the node address.
    const primaries = new Set(enis.map((e) => e.primaryIp));
    expect(got.some((a) => primaries.has(a))).toBe(false);
  });

  it('keeps one free prefix warm (WARM_PREFIX_TARGET=1)', () => {
    const m = ipam('prefix');
    ip(m.allocate(N1, pod(0)));
    expect(m.enis('n1')[0]!.prefixes).toHaveLength(2);
    expect(m.freeOn('n1')).toBe(31);
  });
});

describe('AwsEniIpam properties', () => {
  const types = knownInstanceTypes('aws').filter((t) => {
    const l = eniLimits('aws', t);
    return l.ok && awsPodAddresses(l.limits, 'secondary-ip') <= 120;
  });

  it('never exceeds the max-pods formula nor hands out one address twice, through allocations and releases', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...types),
        fc.constantFrom<AwsIpamMode>('secondary-ip', 'prefix'),
        fc.array(fc.oneof(fc.record({ op: fc.constant('add' as const) }), fc.record({ op: fc.constant('del' as const), pick: fc.nat() })), { maxLength: 200 }),
        (type, mode, ops) => {
          const lim = eniLimits('aws', type);
          if (!lim.ok) throw new Error(lim.message);
          const cap = awsPodAddresses(lim.limits, mode);
          const m = ipam(mode);
          const n = node('n1', '192.168.97.14', type);
          const live = new Map<string, string>();
          let next = 0;
          for (const o of ops) {
            if (o.op === 'add') {
              const p = pod(next++);
              const r = m.allocate(n, p);
              if (live.size < cap) expect(r.ok).toBe(true);
              if (r.ok) {
                expect([...live.values()]).not.toContain(r.ips[0]);
                live.set(p.metadata!.uid!, r.ips[0]!);
              } else expect(live.size).toBe(cap);
            } else if (live.size) {
              const uid = [...live.keys()][o.pick % live.size]!;
              m.release(n, { metadata: { uid } });
              live.delete(uid);
            }
            expect(live.size).toBeLessThanOrEqual(cap);
            expect(m.enis('n1').length).toBeLessThanOrEqual(lim.limits.enis);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
