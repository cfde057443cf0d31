// Each scheduler's figures, hand-computed from the kernel algorithms (net/netfilter/ipvs/ip_vs_*.c).
// The sh/dh/mh values were computed with a separate C transcription of ip_vs_sh.c, ip_vs_dh.c,
// ip_vs_mh.c and lib/siphash.c (its SipHash round checked against the SipHash-2-4 reference
// vectors), not with the code under test.
import { describe, expect, test } from 'vitest';
import { makePacket, TCP_SYN } from '../../../src/net/packet.js';
import { formatFraction } from '../../../src/dataplane/netfilter/probability.js';
import {
  dhTable,
  hash32,
  hsiphashU32,
  mhSlot,
  mhTable,
  MH_TAB_SIZE,
  mustParseIpvsadm,
  rrNext,
  scheduleNew,
  shBucket,
  shTable,
  stateAfterConnections,
  wrrNext,
  wrrStateAfterLoad,
  type SchedulerState,
  type VirtualService,
} from '../../../src/dataplane/ipvs/index.js';

/** One service with servers `addr:port:weight` (list order), from ipvsadm text. */
function service(scheduler: string, servers: string[], extra = ''): VirtualService {
  const lines = [`-A -t 10.96.0.10:80 -s ${scheduler}${extra}`];
  for (const s of servers) {
    const [addr, port, w] = s.split(':');
    lines.push(`-a -t 10.96.0.10:80 -r ${addr}:${port} -m -w ${w}`);
  }
  return mustParseIpvsadm(lines.join('\n')).services[0]!;
}

function syn(src: string, sport = 40000, dst = '10.96.0.10') {
  return makePacket({ src, dst, proto: 'tcp', sport, dport: 80, tcpFlags: TCP_SYN });
}

/** The chosen server as `address` (or 'none'), for a deterministic scheduler. */
function pick(vs: VirtualService, src: string, sport = 40000, state?: SchedulerState, dst = '10.96.0.10'): string {
  const b = scheduleNew(vs, syn(src, sport, dst), state);
  expect(b.length).toBe(1);
  return b[0]!.server?.address ?? 'none';
}

function shares(vs: VirtualService, state?: SchedulerState): Record<string, string> {
  return Object.fromEntries(scheduleNew(vs, syn('198.18.1.10'), state).map((b) => [b.server?.address ?? 'none', formatFraction(b.probability)]));
}

const THREE = ['10.244.1.5:8080:1', '10.244.2.5:8080:1', '10.244.3.5:8080:1'];

describe('kernel hash functions', () => {
  test('hash_32 is (val * 0x61C88647) >> (32 - bits) in u32 arithmetic', () => {
    expect(hash32(1, 8)).toBe(0x61);
    expect(hash32(0xc612010a, 8)).toBe(245);
    expect(hash32(0xffffffff, 32)).toBe((0x100000000 - 0x61c88647) >>> 0);
  });

  test('hsiphash of a u32 with the mh key (SipHash-1-3 on 64-bit kernels)', () => {
    expect(hsiphashU32(0xc612010a, [2654435761n, 2654435761n]).toString(16)).toBe('9bcf7ecd');
  });
});

describe('sh: source hashing (ip_vs_sh.c)', () => {
  const vs = service('sh', THREE);

  test('256 buckets, one server after another when every weight is 1', () => {
    const t = shTable(vs.realServers);
    expect(t.length).toBe(256);
    expect([...t.slice(0, 7)]).toEqual([0, 1, 2, 0, 1, 2, 0]);
  });

  test('each client address maps to one server: bucket hash_32(ntohl(saddr), 8)', () => {
    const expected: [string, number, string][] = [
      ['198.18.1.10', 245, '10.244.3.5'],
      ['198.18.1.11', 87, '10.244.1.5'],
      ['198.18.1.12', 184, '10.244.2.5'],
      ['198.18.1.13', 26, '10.244.3.5'],
      ['198.18.1.14', 124, '10.244.2.5'],
      ['198.18.1.15', 222, '10.244.1.5'],
    ];
    for (const [client, bucket, server] of expected) {
      expect(shBucket(client, 0)).toBe(bucket);
      expect(pick(vs, client)).toBe(server);
      expect(pick(vs, client, 51234)).toBe(server); // the port is not hashed without sh-port
    }
  });

  test('sh-port hashes the client port too', () => {
    const withPort = service('sh', THREE, ' -b sh-port');
    expect(pick(withPort, '198.18.1.20', 40000)).toBe('10.244.3.5');
    expect(pick(withPort, '198.18.1.20', 40001)).toBe('10.244.1.5');
    expect(pick(withPort, '198.18.1.20', 40002)).toBe('10.244.2.5');
  });

  test('weights fill consecutive buckets; a weight-0 server keeps one bucket and its clients get no destination', () => {
    const weighted = service('sh', ['10.244.1.5:8080:3', '10.244.2.5:8080:1', '10.244.3.5:8080:0']);
    expect([...shTable(weighted.realServers).slice(0, 10)]).toEqual([0, 0, 0, 1, 2, 0, 0, 0, 1, 2]);
    expect(pick(weighted, '198.18.1.10')).toBe('10.244.1.5'); // bucket 245 = 0 mod 5
    expect(pick(weighted, '198.18.1.11')).toBe('10.244.1.5'); // bucket 87
    expect(pick(weighted, '198.18.1.12')).toBe('none'); // bucket 184 = 4 mod 5: the weight-0 server
    expect(pick(weighted, '198.18.1.14')).toBe('none'); // bucket 124
  });

  test('sh-fallback rehashes to bucket (2 * ihash + offset) mod 256', () => {
    const weighted = service('sh', ['10.244.1.5:8080:3', '10.244.2.5:8080:1', '10.244.3.5:8080:0'], ' -b sh-fallback');
    expect(pick(weighted, '198.18.1.12')).toBe('10.244.1.5'); // (184 + 184) & 255 = 112 = 2 mod 5
    expect(pick(weighted, '198.18.1.14')).toBe('10.244.2.5'); // (124 + 124) & 255 = 248 = 3 mod 5
  });

  test('an overloaded server counts as unavailable', () => {
    expect(pick(vs, '198.18.1.10', 40000, { overloaded: new Set(['10.244.3.5:8080']) })).toBe('none');
  });
});

describe('dh: destination hashing (ip_vs_dh.c)', () => {
  const vs = service('dh', THREE);

  test('bucket i holds server i mod n, weights ignored', () => {
    expect([...dhTable(service('dh', ['10.0.0.1:80:5', '10.0.0.2:80:1']).realServers).slice(0, 4)]).toEqual([0, 1, 0, 1]);
  });

  test('the destination address picks the server: bucket hash_32(ntohl(daddr), 8)', () => {
    const expected: [string, string][] = [
      ['10.96.0.10', '10.244.3.5'], // bucket 242
      ['10.96.0.11', '10.244.1.5'], // bucket 84
      ['10.96.0.12', '10.244.3.5'], // bucket 182
      ['198.18.200.2', '10.244.2.5'], // bucket 199
    ];
    for (const [dst, server] of expected) {
      expect(pick(vs, '198.18.1.10', 40000, undefined, dst)).toBe(server);
      expect(pick(vs, '203.0.113.9', 40000, undefined, dst)).toBe(server);
    }
  });
});

describe('mh: maglev hashing (ip_vs_mh.c)', () => {
  const vs = service('mh', THREE);

  test('a 4093-slot table split 1365/1364/1364 for three equal servers, in Maglev preference order', () => {
    const t = mhTable(vs.realServers);
    expect(t.length).toBe(MH_TAB_SIZE);
    const counts = [0, 0, 0];
    for (const d of t) counts[d]!++;
    expect(counts).toEqual([1365, 1364, 1364]);
    expect([...t.slice(0, 12)]).toEqual([1, 0, 1, 0, 1, 2, 1, 2, 0, 1, 0, 1]);
  });

  test('weights 2:1:1 give 2047/1023/1023 slots', () => {
    const t = mhTable(service('mh', ['10.244.1.5:8080:2', '10.244.2.5:8080:1', '10.244.3.5:8080:1']).realServers);
    const counts = [0, 0, 0];
    for (const d of t) counts[d]!++;
    expect(counts).toEqual([2047, 1023, 1023]);
  });

  test('each client maps to the server of its slot hsiphash(ntohl(saddr)) % 4093', () => {
    const expected: [string, number, string][] = [
      ['198.18.1.10', 2862, '10.244.3.5'],
      ['198.18.1.11', 3604, '10.244.3.5'],
      ['198.18.1.12', 1587, '10.244.2.5'],
      ['192.168.0.1', 1278, '10.244.1.5'],
      ['10.0.0.1', 3711, '10.244.3.5'],
    ];
    for (const [client, slot, server] of expected) {
      expect(mhSlot(client, 0)).toBe(slot);
      expect(pick(vs, client)).toBe(server);
    }
  });

  test('mh-port hashes the client port too', () => {
    const withPort = service('mh', ['10.244.1.5:80:1', '10.244.2.5:80:1', '10.244.3.5:80:1'], ' -b mh-port');
    expect([40000, 40001, 40002, 40003].map((p) => pick(withPort, '198.18.1.20', p))).toEqual(['10.244.1.5', '10.244.1.5', '10.244.3.5', '10.244.1.5']);
  });

  test('a server set to weight 0 keeps its slots (last_weight): its clients get no destination, others keep theirs', () => {
    const draining = mustParseIpvsadm(
      ['-A -t 10.96.0.10:80 -s mh', ...THREE.map((s) => `-a -t 10.96.0.10:80 -r ${s.split(':').slice(0, 2).join(':')} -m -w 1`)].join('\n'),
    ).services[0]!;
    const quiesced: VirtualService = { ...draining, realServers: draining.realServers.map((r, i) => (i === 2 ? { ...r, weight: 0, lastWeight: 1 } : r)) };
    expect(pick(quiesced, '198.18.1.10')).toBe('none');
    expect(pick(quiesced, '198.18.1.12')).toBe('10.244.2.5');
    const fallback: VirtualService = { ...quiesced, schedFlags: 1 };
    expect(pick(fallback, '198.18.1.10')).toBe('10.244.2.5');
    expect(pick(fallback, '198.18.1.11')).toBe('10.244.1.5');
    expect(pick(fallback, '10.0.0.1')).toBe('10.244.2.5');
  });
});

describe('rr: round robin (ip_vs_rr.c)', () => {
  const vs = service('rr', ['10.0.0.1:80:1', '10.0.0.2:80:0', '10.0.0.3:80:1']);

  test('without a state: uniform over the servers with weight > 0', () => {
    expect(shares(vs)).toEqual({ '10.0.0.1': '1/2', '10.0.0.3': '1/2' });
  });

  test('with a state: the next server after the position, skipping weight 0; a fresh service starts at the head', () => {
    expect(pick(vs, '198.18.1.10', 1, { position: -1 })).toBe('10.0.0.1');
    expect(pick(vs, '198.18.1.10', 1, { position: 0 })).toBe('10.0.0.3');
    expect(pick(vs, '198.18.1.10', 1, { position: 2 })).toBe('10.0.0.1');
    let position = -1;
    const seq: number[] = [];
    for (let k = 0; k < 5; k++) seq.push((position = rrNext(vs, position)));
    expect(seq).toEqual([0, 2, 0, 2, 0]);
  });
});

test('the state after n connections gives the exact next choice (rr: A C A C ..., wrr 3/1 loaded afresh: A B A A A B ...)', () => {
  const rr = service('rr', ['10.0.0.1:80:1', '10.0.0.2:80:0', '10.0.0.3:80:1']);
  expect([0, 1, 2, 3].map((n) => pick(rr, '198.18.1.10', 1, stateAfterConnections(rr, n)))).toEqual(['10.0.0.1', '10.0.0.3', '10.0.0.1', '10.0.0.3']);
  const wrr = service('wrr', ['10.0.0.1:80:3', '10.0.0.2:80:1']);
  expect([0, 1, 2, 3, 4, 5].map((n) => pick(wrr, '198.18.1.10', 1, stateAfterConnections(wrr, n)))).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.1', '10.0.0.1', '10.0.0.1', '10.0.0.2']);
});

describe('wrr: weighted round robin (ip_vs_wrr.c)', () => {
  const vs = service('wrr', ['10.0.0.1:80:3', '10.0.0.2:80:1']);

  test('without a state: proportional to weight, 3/4 and 1/4', () => {
    expect(shares(vs)).toEqual({ '10.0.0.1': '3/4', '10.0.0.2': '1/4' });
  });

  test('from the mark of a freshly loaded service: cw starts at 1 (dest_changed kept it), then cycles A A A B', () => {
    const s0 = wrrStateAfterLoad(vs);
    expect(s0).toEqual({ position: -1, currentWeight: 1 });
    let st = { position: s0.position, currentWeight: s0.currentWeight };
    const seq: string[] = [];
    for (let k = 0; k < 10; k++) {
      const r = wrrNext(vs, st.position, st.currentWeight);
      seq.push(r.index === 0 ? 'A' : 'B');
      st = r;
    }
    expect(seq.join('')).toBe('ABAAABAAAB');
  });

  test('from cw = max weight: A A A B repeating', () => {
    const seq: string[] = [];
    let state: SchedulerState = { position: -1, currentWeight: 3 };
    for (let k = 0; k < 8; k++) {
      const b = scheduleNew(vs, syn('198.18.1.10'), state)[0]!;
      seq.push(b.index === 0 ? 'A' : 'B');
      state = b.nextState!;
    }
    expect(seq.join('')).toBe('AAABAAAB');
  });

  test('gcd steps: weights 4 and 2 go A A B', () => {
    const even = service('wrr', ['10.0.0.1:80:4', '10.0.0.2:80:2']);
    let st = { position: -1, currentWeight: 3 }; // mw = 4 - (2 - 1)
    const seq: number[] = [];
    for (let k = 0; k < 6; k++) {
      const r = wrrNext(even, st.position, st.currentWeight);
      seq.push(r.index);
      st = r;
    }
    expect(seq).toEqual([0, 0, 1, 0, 0, 1]);
  });
});

describe('lc, wlc, sed, nq with no connections: deterministic, not uniform', () => {
  const servers = ['10.0.0.1:80:1', '10.0.0.2:80:2', '10.0.0.3:80:1'];

  test('lc, wlc and nq take the first eligible server in list order; sed the first of the highest weight', () => {
    expect(pick(service('lc', servers), '198.18.1.10')).toBe('10.0.0.1');
    expect(pick(service('wlc', servers), '198.18.1.10')).toBe('10.0.0.1');
    expect(pick(service('nq', servers), '198.18.1.10')).toBe('10.0.0.1');
    expect(pick(service('sed', servers), '198.18.1.10')).toBe('10.0.0.2');
  });

  test('a weight-0 first server is skipped', () => {
    const drained = ['10.0.0.1:80:0', '10.0.0.2:80:1', '10.0.0.3:80:1'];
    for (const s of ['lc', 'wlc', 'sed', 'nq']) expect(pick(service(s, drained), '198.18.1.10')).toBe('10.0.0.2');
  });

  test('with connection counts: activeconns*256+inactconns (lc, wlc) or activeconns+1 (sed, nq), per weight', () => {
    const loads = new Map([
      ['10.0.0.1:80', { active: 2, inactive: 0 }],
      ['10.0.0.2:80', { active: 1, inactive: 0 }],
      ['10.0.0.3:80', { active: 0, inactive: 300 }],
    ]);
    // lc: 512, 256, 300 -> .2; wlc: 512/1, 256/2, 300/1 -> .2; sed: 3/1, 2/2, 1/1 -> .2 (tie with .3, earlier wins); nq: .3 is idle.
    expect(pick(service('lc', servers), '198.18.1.10', 1, { loads })).toBe('10.0.0.2');
    expect(pick(service('wlc', servers), '198.18.1.10', 1, { loads })).toBe('10.0.0.2');
    expect(pick(service('sed', servers), '198.18.1.10', 1, { loads })).toBe('10.0.0.2');
    expect(pick(service('nq', servers), '198.18.1.10', 1, { loads })).toBe('10.0.0.3');
  });
});

test('no server with weight > 0: one branch with no destination', () => {
  for (const s of ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'sh', 'dh', 'mh']) {
    const b = scheduleNew(service(s, ['10.0.0.1:80:0', '10.0.0.2:80:0']), syn('198.18.1.10'));
    expect(b.map((x) => [x.index, formatFraction(x.probability)]), s).toEqual([[-1, '1']]);
  }
  expect(() => scheduleNew(service('lblc', ['10.0.0.1:80:1']), syn('198.18.1.10'))).toThrow(/not modelled/);
});
