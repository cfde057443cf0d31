// Upstream's TestSyncProxyRulesRepeated: a full sync, then partial syncs that write only the chains of
// changed Services and flush + delete (-X) stale ones, then a forced full sync.
import { describe, expect, test } from 'vitest';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { IptablesProxier, ServiceModel, renderIptables } from '../../../src/dataplane/kubeproxy/index.js';
import { TEST_ENV, dedent, ep, makeService, makeSlice, sortDump, testNode } from './helpers.js';

const FILTER = `
  *filter
  :KUBE-NODEPORTS - [0:0]
  :KUBE-SERVICES - [0:0]
  :KUBE-EXTERNAL-SERVICES - [0:0]
  :KUBE-FIREWALL - [0:0]
  :KUBE-FORWARD - [0:0]
  :KUBE-PROXY-FIREWALL - [0:0]`;
const FILTER_TAIL = `
  -A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
  -A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP
  -A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT
  -A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
  COMMIT`;
const NAT_FIXED = `
  -A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000
  -A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN
  -A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000
  -A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE`;
const TAIL_RULE = `
  -A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`;

function clusterIPService(ns: string, name: string, ip: string, portName: string, port: number): Service {
  return makeService(ns, name, (s) => {
    s.spec!.clusterIP = ip;
    s.spec!.ports = [{ name: portName, port, protocol: 'TCP' }];
  });
}

describe('TestSyncProxyRulesRepeated (full, then partial syncs)', () => {
  const svc1 = clusterIPService('ns1', 'svc1', '172.30.0.41', 'p80', 80);
  const svc2 = clusterIPService('ns2', 'svc2', '172.30.0.42', 'p8080', 8080);
  const svc3 = clusterIPService('ns3', 'svc3', '172.30.0.43', 'p80', 80);
  const svc4 = clusterIPService('ns4', 'svc4', '172.30.0.44', 'p80', 80);
  const eps1 = makeSlice('ns1', 'svc1', 1, [ep('10.0.1.1')], [{ name: 'p80', port: 80 }]);
  const eps2 = makeSlice('ns2', 'svc2', 1, [ep('10.0.2.1')], [{ name: 'p8080', port: 8080 }]);
  const eps3 = makeSlice('ns3', 'svc3', 1, [ep('10.0.3.1')], [{ name: 'p80', port: 80 }]);
  const eps3b = makeSlice('ns3', 'svc3', 1, [ep('10.0.3.2')], [{ name: 'p80', port: 80 }]);
  const eps4 = makeSlice('ns4', 'svc4', 1, [ep('10.0.4.1')], [{ name: 'p80', port: 80 }]);
  const eps4b = makeSlice('ns4', 'svc4', 1, [ep('10.0.4.1'), ep('10.0.4.2')], [{ name: 'p80', port: 80 }]);

  const model = new ServiceModel('IPv4');
  const proxier = new IptablesProxier(model, testNode(), TEST_ENV);
  const step = (services: Service[], slices: EndpointSlice[]) => {
    model.update(services, slices);
    return proxier.sync();
  };

  test('1: the first sync is full and writes every chain', () => {
    const r = step([svc1, svc2], [eps1, eps2]);
    expect(r.full).toBe(true);
    expect(sortDump(r.payload.text)).toBe(
      dedent(`${FILTER}${FILTER_TAIL}
        *nat
        :KUBE-NODEPORTS - [0:0]
        :KUBE-SERVICES - [0:0]
        :KUBE-MARK-MASQ - [0:0]
        :KUBE-POSTROUTING - [0:0]
        :KUBE-SEP-SNQ3ZNILQDEJNDQO - [0:0]
        :KUBE-SEP-UHEGFW77JX3KXTOV - [0:0]
        :KUBE-SVC-2VJB64SDSIJUP5T6 - [0:0]
        :KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]
        -A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
        -A KUBE-SERVICES -m comment --comment "ns2/svc2:p8080 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 8080 -j KUBE-SVC-2VJB64SDSIJUP5T6${TAIL_RULE}${NAT_FIXED}
        -A KUBE-SEP-SNQ3ZNILQDEJNDQO -m comment --comment ns1/svc1:p80 -s 10.0.1.1 -j KUBE-MARK-MASQ
        -A KUBE-SEP-SNQ3ZNILQDEJNDQO -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.0.1.1:80
        -A KUBE-SEP-UHEGFW77JX3KXTOV -m comment --comment ns2/svc2:p8080 -s 10.0.2.1 -j KUBE-MARK-MASQ
        -A KUBE-SEP-UHEGFW77JX3KXTOV -m comment --comment ns2/svc2:p8080 -m tcp -p tcp -j DNAT --to-destination 10.0.2.1:8080
        -A KUBE-SVC-2VJB64SDSIJUP5T6 -m comment --comment "ns2/svc2:p8080 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 8080 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
        -A KUBE-SVC-2VJB64SDSIJUP5T6 -m comment --comment "ns2/svc2:p8080 -> 10.0.2.1:8080" -j KUBE-SEP-UHEGFW77JX3KXTOV
        -A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
        -A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.0.1.1:80" -j KUBE-SEP-SNQ3ZNILQDEJNDQO
        COMMIT
      `),
    );
  });

  test('2: adding a service writes only its SVC and SEP chains', () => {
    const r = step([svc1, svc2, svc3], [eps1, eps2, eps3]);
    expect(r.full).toBe(false);
    expect(r.writtenServices).toEqual(['ns3/svc3']);
    expect(sortDump(r.payload.text)).toBe(
      dedent(`${FILTER}${FILTER_TAIL}
        *nat
        :KUBE-NODEPORTS - [0:0]
        :KUBE-SERVICES - [0:0]
        :KUBE-MARK-MASQ - [0:0]
        :KUBE-POSTROUTING - [0:0]
        :KUBE-SEP-BSWRHOQ77KEXZLNL - [0:0]
        :KUBE-SVC-X27LE4BHSL4DOUIK - [0:0]
        -A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
        -A KUBE-SERVICES -m comment --comment "ns2/svc2:p8080 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 8080 -j KUBE-SVC-2VJB64SDSIJUP5T6
        -A KUBE-SERVICES -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 -j KUBE-SVC-X27LE4BHSL4DOUIK${TAIL_RULE}${NAT_FIXED}
        -A KUBE-SEP-BSWRHOQ77KEXZLNL -m comment --comment ns3/svc3:p80 -s 10.0.3.1 -j KUBE-MARK-MASQ
        -A KUBE-SEP-BSWRHOQ77KEXZLNL -m comment --comment ns3/svc3:p80 -m tcp -p tcp -j DNAT --to-destination 10.0.3.1:80
        -A KUBE-SVC-X27LE4BHSL4DOUIK -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
        -A KUBE-SVC-X27LE4BHSL4DOUIK -m comment --comment "ns3/svc3:p80 -> 10.0.3.1:80" -j KUBE-SEP-BSWRHOQ77KEXZLNL
        COMMIT
      `),
    );
  });

  test('3: deleting a service flushes and deletes its chains', () => {
    const r = step([svc1, svc3], [eps1, eps2, eps3]);
    expect(r.deletedChains).toEqual(['KUBE-SEP-UHEGFW77JX3KXTOV', 'KUBE-SVC-2VJB64SDSIJUP5T6']);
    expect(sortDump(r.payload.text)).toBe(
      dedent(`${FILTER}${FILTER_TAIL}
        *nat
        :KUBE-NODEPORTS - [0:0]
        :KUBE-SERVICES - [0:0]
        :KUBE-MARK-MASQ - [0:0]
        :KUBE-POSTROUTING - [0:0]
        :KUBE-SEP-UHEGFW77JX3KXTOV - [0:0]
        :KUBE-SVC-2VJB64SDSIJUP5T6 - [0:0]
        -A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
        -A KUBE-SERVICES -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 -j KUBE-SVC-X27LE4BHSL4DOUIK${TAIL_RULE}${NAT_FIXED}
        -X KUBE-SEP-UHEGFW77JX3KXTOV
        -X KUBE-SVC-2VJB64SDSIJUP5T6
        COMMIT
      `),
    );
  });

  test('4: a service without endpoints only gets a filter REJECT rule', () => {
    const r = step([svc1, svc3, svc4], [eps1, eps3]);
    expect(sortDump(r.payload.text)).toBe(
      dedent(`${FILTER}
        -A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.44 --dport 80 -j REJECT${FILTER_TAIL}
        *nat
        :KUBE-NODEPORTS - [0:0]
        :KUBE-SERVICES - [0:0]
        :KUBE-MARK-MASQ - [0:0]
        :KUBE-POSTROUTING - [0:0]
        -A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
        -A KUBE-SERVICES -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 -j KUBE-SVC-X27LE4BHSL4DOUIK${TAIL_RULE}${NAT_FIXED}
        COMMIT
      `),
    );
  });

  test('5: its endpoints arriving create its chains', () => {
    const r = step([svc1, svc3, svc4], [eps1, eps3, eps4]);
    expect(sortDump(r.payload.text)).toBe(
      dedent(`${FILTER}${FILTER_TAIL}
        *nat
        :KUBE-NODEPORTS - [0:0]
        :KUBE-SERVICES - [0:0]
        :KUBE-MARK-MASQ - [0:0]
        :KUBE-POSTROUTING - [0:0]
        :KUBE-SEP-AYCN5HPXMIRJNJXU - [0:0]
        :KUBE-SVC-4SW47YFZTEDKD3PK - [0:0]
        -A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
        -A KUBE-SERVICES -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 -j KUBE-SVC-X27LE4BHSL4DOUIK
        -A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp -p tcp -d 172.30.0.44 --dport 80 -j KUBE-SVC-4SW47YFZTEDKD3PK${TAIL_RULE}${NAT_FIXED}
        -A KUBE-SEP-AYCN5HPXMIRJNJXU -m comment --comment ns4/svc4:p80 -s 10.0.4.1 -j KUBE-MARK-MASQ
        -A KUBE-SEP-AYCN5HPXMIRJNJXU -m comment --comment ns4/svc4:p80 -m tcp -p tcp -j DNAT --to-destination 10.0.4.1:80
        -A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp -p tcp -d 172.30.0.44 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
        -A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 -> 10.0.4.1:80" -j KUBE-SEP-AYCN5HPXMIRJNJXU
        COMMIT
      `),
    );
  });

  test('6: changing an endpoint rewrites the SVC chain and deletes the old SEP chain', () => {
    const r = step([svc1, svc3, svc4], [eps1, eps3b, eps4]);
    expect(r.writtenServices).toEqual(['ns3/svc3']);
    expect(sortDump(r.payload.text)).toBe(
      dedent(`${FILTER}${FILTER_TAIL}
        *nat
        :KUBE-NODEPORTS - [0:0]
        :KUBE-SERVICES - [0:0]
        :KUBE-MARK-MASQ - [0:0]
        :KUBE-POSTROUTING - [0:0]
        :KUBE-SEP-BSWRHOQ77KEXZLNL - [0:0]
        :KUBE-SEP-DKCFIS26GWF2WLWC - [0:0]
        :KUBE-SVC-X27LE4BHSL4DOUIK - [0:0]
        -A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
        -A KUBE-SERVICES -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 -j KUBE-SVC-X27LE4BHSL4DOUIK
        -A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp -p tcp -d 172.30.0.44 --dport 80 -j KUBE-SVC-4SW47YFZTEDKD3PK${TAIL_RULE}${NAT_FIXED}
        -A KUBE-SEP-DKCFIS26GWF2WLWC -m comment --comment ns3/svc3:p80 -s 10.0.3.2 -j KUBE-MARK-MASQ
        -A KUBE-SEP-DKCFIS26GWF2WLWC -m comment --comment ns3/svc3:p80 -m tcp -p tcp -j DNAT --to-destination 10.0.3.2:80
        -A KUBE-SVC-X27LE4BHSL4DOUIK -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
        -A KUBE-SVC-X27LE4BHSL4DOUIK -m comment --comment "ns3/svc3:p80 -> 10.0.3.2:80" -j KUBE-SEP-DKCFIS26GWF2WLWC
        -X KUBE-SEP-BSWRHOQ77KEXZLNL
        COMMIT
      `),
    );
  });

  test('7: adding an endpoint splits the SVC chain 0.5 / rest', () => {
    const r = step([svc1, svc3, svc4], [eps1, eps3b, eps4b]);
    expect(sortDump(r.payload.text)).toBe(
      dedent(`${FILTER}${FILTER_TAIL}
        *nat
        :KUBE-NODEPORTS - [0:0]
        :KUBE-SERVICES - [0:0]
        :KUBE-MARK-MASQ - [0:0]
        :KUBE-POSTROUTING - [0:0]
        :KUBE-SEP-AYCN5HPXMIRJNJXU - [0:0]
        :KUBE-SEP-SFJZZIO5HMRTFZ3G - [0:0]
        :KUBE-SVC-4SW47YFZTEDKD3PK - [0:0]
        -A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
        -A KUBE-SERVICES -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 -j KUBE-SVC-X27LE4BHSL4DOUIK
        -A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp -p tcp -d 172.30.0.44 --dport 80 -j KUBE-SVC-4SW47YFZTEDKD3PK${TAIL_RULE}${NAT_FIXED}
        -A KUBE-SEP-AYCN5HPXMIRJNJXU -m comment --comment ns4/svc4:p80 -s 10.0.4.1 -j KUBE-MARK-MASQ
        -A KUBE-SEP-AYCN5HPXMIRJNJXU -m comment --comment ns4/svc4:p80 -m tcp -p tcp -j DNAT --to-destination 10.0.4.1:80
        -A KUBE-SEP-SFJZZIO5HMRTFZ3G -m comment --comment ns4/svc4:p80 -s 10.0.4.2 -j KUBE-MARK-MASQ
        -A KUBE-SEP-SFJZZIO5HMRTFZ3G -m comment --comment ns4/svc4:p80 -m tcp -p tcp -j DNAT --to-destination 10.0.4.2:80
        -A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp -p tcp -d 172.30.0.44 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
        -A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 -> 10.0.4.1:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-AYCN5HPXMIRJNJXU
        -A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 -> 10.0.4.2:80" -j KUBE-SEP-SFJZZIO5HMRTFZ3G
        COMMIT
      `),
    );
  });

  test('8: a sync with no changes writes only the top-level chains', () => {
    const r = step([svc1, svc3, svc4], [eps1, eps3b, eps4b]);
    expect(r.writtenServices).toEqual([]);
    expect(r.payload.nat.chains).toEqual(['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ']);
    // The metric still counts every service's rules: 4 fixed, 3 KUBE-SERVICES + the tail rule,
    // svc1 and svc3 (masquerade, 1 dispatch, 2 SEP) and svc4 (masquerade, 2 dispatch, 4 SEP).
    expect(r.natRulesTotal).toBe(4 + 4 + 4 + 4 + 7);
  });

  test('9: a forced full sync writes everything again and equals a fresh render', () => {
    const r = proxier.sync({ full: true });
    expect(r.full).toBe(true);
    const fresh = renderIptables([svc1, svc3, svc4], [eps1, eps3b, eps4b], testNode(), TEST_ENV);
    expect(r.payload.text).toBe(fresh.text);
    expect(proxier.current().text).toBe(fresh.text);
  });
});

describe('partial sync bookkeeping', () => {
  test('a slice update that changes nothing kube-proxy uses does not rewrite the service', () => {
    const svc = clusterIPService('ns1', 'svc1', '172.30.0.41', 'p80', 80);
    const a = makeSlice('ns1', 'svc1', 1, [ep('10.0.1.1')], [{ name: 'p80', port: 80 }]);
    const b = { ...a, metadata: { ...a.metadata, annotations: { touched: 'yes' } } };
    const model = new ServiceModel('IPv4');
    const proxier = new IptablesProxier(model, testNode(), TEST_ENV);
    model.update([svc], [a]);
    proxier.sync();
    expect(model.update([svc], [b])).toEqual([]);
    expect(proxier.sync().writtenServices).toEqual([]);
  });

  test('an explicit changed set rewrites exactly those services', () => {
    const svc1 = clusterIPService('ns1', 'svc1', '172.30.0.41', 'p80', 80);
    const svc2 = clusterIPService('ns2', 'svc2', '172.30.0.42', 'p80', 80);
    const slices = [
      makeSlice('ns1', 'svc1', 1, [ep('10.0.1.1')], [{ name: 'p80', port: 80 }]),
      makeSlice('ns2', 'svc2', 1, [ep('10.0.2.1')], [{ name: 'p80', port: 80 }]),
    ];
    const model = new ServiceModel('IPv4');
    model.update([svc1, svc2], slices);
    const proxier = new IptablesProxier(model, testNode(), TEST_ENV);
    proxier.sync();
    const r = proxier.sync({ changed: ['ns2/svc2'] });
    expect(r.writtenServices).toEqual(['ns2/svc2']);
    expect(r.payload.nat.chains).toContain('KUBE-SVC-GNZBNJ2PO5MGZ6GT');
    expect(r.payload.nat.chains).not.toContain('KUBE-SVC-XPGD46QRK7WJZT7O');
  });

  test('in large-cluster mode stale chains are deleted at most once per syncPeriod', () => {
    const services: Service[] = [];
    const slices: EndpointSlice[] = [];
    for (let i = 0; i < 12; i++) {
      services.push(clusterIPService('ns', `svc${i}`, `172.30.1.${i}`, 'p80', 80));
      const eps = Array.from({ length: 100 }, (_, j) => ep(`10.1.${i}.${j}`));
      slices.push(makeSlice('ns', `svc${i}`, 1, eps, [{ name: 'p80', port: 80 }]));
    }
    const model = new ServiceModel('IPv4');
    const proxier = new IptablesProxier(model, testNode(), TEST_ENV);
    model.update(services, slices);
    proxier.sync({ now: 0 });
    model.update(services.slice(1), slices);
    const early = proxier.sync({ now: 10 });
    expect(early.deletedChains).toEqual([]);
    expect(proxier.staleChains().length).toBe(101); // the SVC chain and 100 SEP chains of svc0
    const late = proxier.sync({ now: 31 });
    expect(late.deletedChains.length).toBe(101);
    expect(proxier.staleChains()).toEqual([]);
  });
});
