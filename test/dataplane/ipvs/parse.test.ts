// `ipvsadm -Sn` text: what kube-proxy's renderer prints and what ipvsadm 1.31 prints on a real
// node both parse, print back byte for byte, and bad lines are errors that name their line.
import { describe, expect, test } from 'vitest';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { ServiceModel, renderIpvs, type IpvsOptions } from '../../../src/dataplane/kubeproxy/index.js';
import { mustParseIpvsadm, parseIpvsadm, printIpvsadm, SCHED_FLAG_1, SCHED_FLAG_2 } from '../../../src/dataplane/ipvs/index.js';
import { TEST_ENV, ep, makeService, makeSlice, testNode } from '../kubeproxy/helpers.js';

function rendered(services: Service[], slices: EndpointSlice[], opts: IpvsOptions = {}): string {
  const model = new ServiceModel('IPv4');
  model.update(services, slices);
  return renderIpvs(model, testNode(), { ...TEST_ENV, ...opts }).ipvsadmText;
}

const web = makeService('shop', 'web', (s) => {
  s.spec!.type = 'NodePort';
  s.spec!.clusterIP = '172.30.0.41';
  s.spec!.ports = [
    { name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 },
    { name: 'dns', port: 53, protocol: 'UDP' },
  ];
});
const webSlice = makeSlice('shop', 'web', 1, [ep('10.180.0.1'), ep('10.180.0.2'), ep('10.180.1.7')], [
  { name: 'http', port: 8080 },
  { name: 'dns', port: 5353, protocol: 'UDP' },
]);
const sticky = makeService('shop', 'cart', (s) => {
  s.spec!.clusterIP = '172.30.0.42';
  s.spec!.sessionAffinity = 'ClientIP';
  s.spec!.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
  s.spec!.ports = [{ name: 'http', port: 80, protocol: 'TCP' }];
});
const stickySlice = makeSlice('shop', 'cart', 1, [ep('10.180.2.3')], [{ name: 'http', port: 8080 }]);

describe("kube-proxy's rendered ipvsadm -Sn", () => {
  test.each([
    ['rr (the default)', {}],
    ['wlc', { scheduler: 'wlc' }],
    ['sh', { scheduler: 'sh' }],
  ] as const)('%s: parses and prints back byte for byte', (_name, opts) => {
    const text = rendered([web, sticky], [webSlice, stickySlice], opts);
    expect(text).toContain('-A -t 172.30.0.41:80 -s ');
    expect(printIpvsadm(mustParseIpvsadm(text))).toBe(text);
  });

  test('the model: services in order, NodePort virtual servers on each node address, masquerading weight 1', () => {
    const config = mustParseIpvsadm(rendered([web, sticky], [webSlice, stickySlice]));
    // The renderer visits Services in namespace/name order (cart, web) and ports by name (dns, http).
    expect(config.services.map((v) => `${v.protocol} ${v.address}:${v.port} ${v.scheduler} ${v.persistence?.timeout ?? '-'}`)).toEqual([
      'tcp 172.30.0.42:80 rr 10800',
      'udp 172.30.0.41:53 rr -',
      'tcp 172.30.0.41:80 rr -',
      'tcp 192.168.0.2:30080 rr -',
      'tcp 192.168.1.2:30080 rr -',
      'tcp 192.168.99.11:30080 rr -',
    ]);
    expect(config.services[2]!.realServers.map((r) => [r.address, r.port, r.method, r.weight])).toEqual([
      ['10.180.0.1', 8080, 'masq', 1],
      ['10.180.0.2', 8080, 'masq', 1],
      ['10.180.1.7', 8080, 'masq', 1],
    ]);
    expect(config.services[0]!.persistence).toEqual({ timeout: 10800, netmask: 0xffffffff });
  });

  test('mh with ClientIP affinity: the renderer prints -p before -b as ipvsadm does, and it round-trips', () => {
    const text = rendered([sticky], [stickySlice], { scheduler: 'mh' });
    expect(text.split('\n')[0]).toBe('-A -t 172.30.0.42:80 -s mh -p 10800 -b mh-port');
    const config = mustParseIpvsadm(text);
    expect(config.services[0]!.schedFlags).toBe(SCHED_FLAG_2);
    expect(printIpvsadm(config).split('\n')[0]).toBe('-A -t 172.30.0.42:80 -s mh -p 10800 -b mh-port');
    expect(mustParseIpvsadm(printIpvsadm(config))).toEqual(config);
  });
});

// As ipvsadm 1.31 prints on a node with `ipvsadm -Sn --nosort` (print_service_entry, FMT_RULE): -s, then -p [-M], --pe,
// -b, -o; real servers `-a SPEC -r ADDR:PORT -m|-g|-i -w W`, in the kernel's list order.
const NODE_DUMP = `-A -t 10.96.0.1:443 -s rr
-a -t 10.96.0.1:443 -r 192.168.0.2:6443 -m -w 1
-A -t 10.96.0.10:53 -s rr
-a -t 10.96.0.10:53 -r 10.244.0.3:53 -m -w 1
-a -t 10.96.0.10:53 -r 10.244.0.2:53 -m -w 1
-A -u 10.96.0.10:53 -s rr
-a -u 10.96.0.10:53 -r 10.244.0.3:53 -m -w 1
-a -u 10.96.0.10:53 -r 10.244.0.2:53 -m -w 0
-A -t 10.96.120.7:80 -s rr -p 10800
-a -t 10.96.120.7:80 -r 10.244.1.4:8080 -m -w 1
-A -t 192.168.0.2:30080 -s mh -p 10800 -b mh-port
-a -t 192.168.0.2:30080 -r 10.244.1.4:8080 -m -w 1
-A -t [fd00:10:96::a]:53 -s wlc
-a -t [fd00:10:96::a]:53 -r [fd00:10:244::3]:53 -m -w 1
-A -f 100 -s sh -p 300 -M 255.255.255.0 -b sh-fallback,sh-port
-a -f 100 -r 10.244.1.9:0 -m -w 2
-A --sctp-service 10.96.33.3:9999 -s wrr
-a --sctp-service 10.96.33.3:9999 -r 10.244.2.4:9999 -g -w 3
-A -u 10.96.0.50:514 -s rr -o
-a -u 10.96.0.50:514 -r 10.244.2.5:514 -i -w 1 --tun-type ipip
-A -f 7 -6 -s rr -p 60 -M 64
-a -f 7 -6 -r [fd00::7]:0 -g -w 1
`;

describe('a real node dump', () => {
  const r = parseIpvsadm(NODE_DUMP, { file: 'node.ipvs' });

  test('parses and prints back byte for byte', () => {
    expect(r.ok).toBe(true);
    if (r.ok) expect(printIpvsadm(r.config)).toBe(NODE_DUMP);
  });

  test('reads every kind of service and forwarding method', () => {
    if (!r.ok) throw new Error('did not parse');
    const s = r.config.services;
    expect(s.length).toBe(10);
    expect(s[2]!.realServers[1]).toMatchObject({ address: '10.244.0.2', port: 53, weight: 0, line: 8 });
    expect(s[4]).toMatchObject({ scheduler: 'mh', schedFlags: SCHED_FLAG_2, persistence: { timeout: 10800, netmask: 0xffffffff } });
    expect(s[5]).toMatchObject({ family: 6, protocol: 'tcp', address: 'fd00:10:96::a', port: 53 });
    expect(s[6]).toMatchObject({ fwmark: 100, family: 4, schedFlags: SCHED_FLAG_1 | SCHED_FLAG_2, persistence: { timeout: 300, netmask: 0xffffff00 } });
    expect(s[6]!.realServers[0]).toMatchObject({ port: 0, weight: 2 });
    expect(s[7]).toMatchObject({ protocol: 'sctp', scheduler: 'wrr' });
    expect(s[7]!.realServers[0]!.method).toBe('route');
    expect(s[8]!.onePacket).toBe(true);
    expect(s[8]!.realServers[0]).toMatchObject({ method: 'tunnel', tunnel: { type: 'ipip' } });
    expect(s[9]).toMatchObject({ fwmark: 7, family: 6, persistence: { timeout: 60, netmask: 64 } });
  });

  test('ipvsadm -R input spellings: long options, a bare -p (300 s), no -s (wlc), no method (gatewaying)', () => {
    const c = mustParseIpvsadm('--add-service --tcp-service 10.0.0.1:80 --persistent\n--add-server --tcp-service 10.0.0.1:80 --real-server 10.0.1.1:80 --weight=5 -x 100 -y 10\n');
    expect(c.services[0]).toMatchObject({ scheduler: 'wlc', persistence: { timeout: 300 } });
    expect(c.services[0]!.realServers[0]).toMatchObject({ method: 'route', weight: 5, upperThreshold: 100, lowerThreshold: 10 });
    expect(printIpvsadm(c)).toBe('-A -t 10.0.0.1:80 -s wlc -p 300\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 5\n');
  });
});

describe('errors name their line', () => {
  function errors(text: string) {
    const r = parseIpvsadm(text, { file: 'x.ipvs' });
    expect(r.ok).toBe(false);
    return r.diagnostics.map((d) => `${d.file}:${d.line}: ${d.message}`);
  }

  test('unknown options, unknown schedulers and flags', () => {
    expect(errors('-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 1 --frobnicate\n')).toEqual([
      'x.ipvs:2: unknown option "--frobnicate"',
    ]);
    expect(errors('-A -t 10.0.0.1:80 -s random\n')).toEqual(['x.ipvs:1: unknown scheduler "random"']);
    expect(errors('-A -t 10.0.0.1:80 -s rr -b sh-port\n')).toEqual(['x.ipvs:1: scheduler flag "sh-port" needs scheduler sh, not rr']);
    expect(errors('\n\n-A -t 10.0.0.1:80 -s rr -Z\n')).toEqual(['x.ipvs:3: unknown option "-Z"']);
  });

  test('every bad line is reported, not only the first', () => {
    expect(
      errors(
        [
          '-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m',
          '-A -t 10.0.0.1:80 -s rr',
          '-A -t 10.0.0.1:80 -s wlc',
          '-a -t 10.0.0.1:80 -r web.local:80 -m',
          '-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 70000',
          '-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -g',
          '-E -t 10.0.0.1:80 -s rr',
          '-A -t 10.0.0.2:80 -M 255.255.255.0',
        ].join('\n'),
      ),
    ).toEqual([
      'x.ipvs:1: no virtual service tcp/10.0.0.1:80 was added before this line',
      'x.ipvs:3: virtual service tcp/10.0.0.1:80 is added twice (first on line 2)',
      'x.ipvs:4: real server "web.local" is not a numeric IP address',
      'x.ipvs:5: weight 70000 is out of range 0-65535',
      'x.ipvs:6: more than one forwarding method (-m, -g, -i)',
      'x.ipvs:7: unknown option "-E"',
      'x.ipvs:8: -M (netmask) needs -p (persistence)',
    ]);
  });
});
