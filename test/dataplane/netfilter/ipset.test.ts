// ipset save / restore text: the set types kube-proxy's IPVS mode and CNIs use.
import { describe, expect, it } from 'vitest';
import { makePacket } from '../../../src/net/packet.js';
import { parseIpsetSave, printIpsetSave } from '../../../src/dataplane/netfilter/index.js';

// Shaped like `ipset save` on an IPVS-mode node.
const SAVE = [
  'create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x2f4c7a11',
  'add KUBE-CLUSTER-IP 10.96.0.1,tcp:443',
  'add KUBE-CLUSTER-IP 10.96.0.10,udp:53',
  'create KUBE-LOOP-BACK hash:ip,port,ip family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x7c21a9b3',
  'add KUBE-LOOP-BACK 10.244.1.5,tcp:8080,10.244.1.5',
  'create KUBE-LOAD-BALANCER-SOURCE-CIDR hash:ip,port,net family inet hashsize 1024 maxelem 65536',
  'add KUBE-LOAD-BALANCER-SOURCE-CIDR 5.6.7.8,tcp:80,203.0.113.0/25',
  'create KUBE-NODE-PORT-TCP bitmap:port range 0-65535',
  'add KUBE-NODE-PORT-TCP 30000-30002',
  'create KUBE-IPVS-IPS hash:ip family inet hashsize 1024 maxelem 65536 timeout 0',
  'add KUBE-IPVS-IPS 10.96.0.1 timeout 0',
  'create CALI-NETS hash:net family inet6 hashsize 1024 maxelem 1048576 comment',
  'add CALI-NETS fd00:10:244::/64 comment "pool one"',
  '',
].join('\n');

describe('ipset save parsing', () => {
  it('reads create and add lines of every supported type, with their options', () => {
    const r = parseIpsetSave(SAVE);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect([...r.store.sets.keys()]).toEqual(['KUBE-CLUSTER-IP', 'KUBE-LOOP-BACK', 'KUBE-LOAD-BALANCER-SOURCE-CIDR', 'KUBE-NODE-PORT-TCP', 'KUBE-IPVS-IPS', 'CALI-NETS']);
    expect(r.store.sets.get('CALI-NETS')!.family).toBe(6);
    expect(printIpsetSave(r.store)).toBe(SAVE);
    const p = (src: string, dst: string, proto: 'tcp' | 'udp', dport: number) => makePacket({ src, dst, proto, sport: 40000, dport });
    expect(r.store.test('KUBE-CLUSTER-IP', p('10.244.1.5', '10.96.0.10', 'udp', 53), ['dst', 'dst'])).toBe('match');
    expect(r.store.test('KUBE-CLUSTER-IP', p('10.244.1.5', '10.96.0.10', 'tcp', 53), ['dst', 'dst'])).toBe('absent');
    expect(r.store.test('KUBE-NODE-PORT-TCP', p('1.1.1.1', '10.0.0.1', 'tcp', 30001), ['dst'])).toBe('match');
    expect(r.store.test('KUBE-LOAD-BALANCER-SOURCE-CIDR', p('203.0.113.7', '5.6.7.8', 'tcp', 80), ['dst', 'dst', 'src'])).toBe('match');
  });

  it('applies del, flush, swap and destroy in order', () => {
    const r = parseIpsetSave(
      [
        'create A hash:ip family inet',
        'create B hash:ip family inet',
        'add A 10.0.0.1',
        'add A 10.0.0.2',
        'del A 10.0.0.1',
        'add B 10.0.0.9',
        'swap A B',
        'flush B',
        'create C hash:ip family inet',
        'destroy C',
      ].join('\n'),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect([...r.store.sets.get('A')!.keys]).toEqual(['10.0.0.9']);
    expect(r.store.sets.get('B')!.keys.size).toBe(0);
    expect(r.store.has('C')).toBe(false);
  });

  it('reports unknown types, bad elements and missing sets with their lines', () => {
    const r = parseIpsetSave(['create X hash:mac', 'create Y hash:ip,port family inet', 'add Y 10.0.0.1,tcp:99999', 'add Z 10.0.0.1'].join('\n'));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.diagnostics.map((d) => d.line)).toEqual([1, 3, 4]);
    expect(r.diagnostics[0]!.message).toContain('unsupported ipset type "hash:mac"');
  });
});
